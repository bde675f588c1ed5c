//! `enterprise export`: the registry (and optionally the indicator history)
//! in the import layout, so an exported file can be edited and imported
//! back; unchanged rows then import as 未变.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use zhengqi_domain::enterprise::{Enterprise, Indicator, IndicatorKind};
use zhengqi_domain::import::{self, ENTERPRISE_COLUMNS, INDICATOR_COLUMNS};
use zhengqi_domain::reference::ReferenceData;
use zhengqi_domain::table::{self, Format};
use zhengqi_store::{EnterpriseFilter, Store};

use crate::cli::DbArgs;
use crate::import::{ARRIVED_COLUMN, STATUS_COLUMN, STATUS_HISTORY, STATUS_LATEST};
use crate::progress::bar;
use crate::{db, fail};

const PAGE: i64 = 5_000;

/// One registry row in the order of [`ENTERPRISE_COLUMNS`].
pub fn enterprise_row(e: &Enterprise, rd: &ReferenceData) -> Vec<String> {
    ENTERPRISE_COLUMNS
        .iter()
        .map(|(field, _)| match *field {
            "uscc" => e.uscc.as_str().to_owned(),
            "name" => e.name.clone(),
            "legal_rep" => e.legal_rep.clone(),
            "founded" => e.founded.map(|d| d.to_string()).unwrap_or_default(),
            // The name reads better and imports back to the same code.
            "area" => rd
                .area(&e.area)
                .map(|a| a.name.clone())
                .unwrap_or_else(|| e.area.clone()),
            "industry" => e.industry.clone(),
            "size_class" => e
                .size_class
                .map(|c| c.label().to_owned())
                .unwrap_or_default(),
            "tags" => e.tags.join("、"),
            "certifications" => e.certifications_text(),
            _ => String::new(),
        })
        .collect()
}

/// Indicator rows for one enterprise: newest year first, each figure's
/// history in arrival order, the last arrival per source marked 最新.
pub fn indicator_rows(
    e: &Enterprise,
    indicators: &[Indicator],
    rd: &ReferenceData,
) -> Vec<Vec<String>> {
    // The store keeps figures in arrival order; the last one per
    // (kind, year, source) is the one an import compares against.
    let mut last: HashMap<(IndicatorKind, i32, &str), usize> = HashMap::new();
    for (i, ind) in indicators.iter().enumerate() {
        last.insert((ind.kind, ind.year, ind.source.as_str()), i);
    }
    let mut order: Vec<usize> = (0..indicators.len()).collect();
    order.sort_by_key(|&i| {
        let ind = &indicators[i];
        (std::cmp::Reverse(ind.year), ind.kind, i)
    });
    order
        .into_iter()
        .map(|i| {
            let ind = &indicators[i];
            let latest = last.get(&(ind.kind, ind.year, ind.source.as_str())) == Some(&i);
            let mut row: Vec<String> = INDICATOR_COLUMNS
                .iter()
                .map(|(field, _)| match *field {
                    "uscc" => e.uscc.as_str().to_owned(),
                    "year" => ind.year.to_string(),
                    "kind" => ind.kind.label().to_owned(),
                    "value" => ind.kind.format_value(ind.value),
                    "source" => rd
                        .department(&ind.source)
                        .map(|d| d.name.clone())
                        .unwrap_or_else(|| ind.source.clone()),
                    _ => String::new(),
                })
                .collect();
            row.push(
                ind.arrived_at
                    .with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string(),
            );
            row.push(
                if latest {
                    STATUS_LATEST
                } else {
                    STATUS_HISTORY
                }
                .to_owned(),
            );
            row
        })
        .collect()
}

async fn all_enterprises(store: &Store) -> anyhow::Result<Vec<Enterprise>> {
    let mut out = Vec::new();
    loop {
        let page = store
            .enterprises(&EnterpriseFilter {
                limit: PAGE,
                offset: out.len() as i64,
                ..EnterpriseFilter::default()
            })
            .await?;
        let n = page.items.len();
        out.extend(page.items);
        if n == 0 || out.len() as i64 >= page.total {
            return Ok(out);
        }
    }
}

fn output_format(path: &Path) -> anyhow::Result<Format> {
    path.file_name()
        .and_then(|n| Format::from_name(&n.to_string_lossy()))
        .ok_or_else(|| {
            fail(
                2,
                format!("输出文件 {} 应以 .xlsx 或 .csv 结尾", path.display()),
            )
        })
}

fn write(path: &Path, sheet: &str, headers: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let bytes = match output_format(path)? {
        Format::Xlsx => table::write_xlsx(sheet, headers, rows)?,
        Format::Csv => table::write_csv(headers, rows),
    };
    std::fs::write(path, bytes).with_context(|| format!("无法写入文件 {}", path.display()))
}

pub async fn run(
    file: &Path,
    indicators_file: Option<&Path>,
    db_args: &DbArgs,
) -> anyhow::Result<ExitCode> {
    // Check both names before the (possibly long) export.
    output_format(file)?;
    if let Some(f) = indicators_file {
        output_format(f)?;
    }
    let (store, rd) = db::open(db_args).await?;
    let enterprises = all_enterprises(&store).await?;
    let rows: Vec<Vec<String>> = enterprises.iter().map(|e| enterprise_row(e, &rd)).collect();
    write(
        file,
        "企业名录",
        &import::headers(ENTERPRISE_COLUMNS),
        &rows,
    )?;
    println!("已导出企业名录：{} 家企业 → {}", rows.len(), file.display());

    if let Some(ind_file) = indicators_file {
        let pb = bar(enterprises.len() as u64, "读取企业指标");
        let mut ind_rows = Vec::new();
        for e in &enterprises {
            let inds = store.indicators(&e.uscc).await?;
            ind_rows.extend(indicator_rows(e, &inds, &rd));
            pb.inc(1);
        }
        pb.finish_and_clear();
        let mut headers = import::headers(INDICATOR_COLUMNS);
        headers.push(ARRIVED_COLUMN);
        headers.push(STATUS_COLUMN);
        write(ind_file, "企业指标", &headers, &ind_rows)?;
        println!(
            "已导出企业指标：{} 条（含历史记录）→ {}",
            ind_rows.len(),
            ind_file.display()
        );
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
