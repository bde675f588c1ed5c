//! `enterprise import`: CSV/xlsx files of enterprises or indicators.
//!
//! Every row stands on its own: bad rows are reported with their line
//! number and the good ones are stored anyway. Writes go in chunks through
//! the store's batch methods; a chunk the database rejects is retried row
//! by row so only the offending row is reported.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::ExitCode;

use chrono::Utc;
use indicatif::ProgressBar;
use zhengqi_domain::enterprise::{Enterprise, FieldError, NewIndicator, SizeBasis};
use zhengqi_domain::import::{self, ENTERPRISE_COLUMNS, INDICATOR_COLUMNS, ImportKind};
use zhengqi_domain::reference::ReferenceData;
use zhengqi_domain::table::{self, Format, Table};
use zhengqi_domain::uscc::Uscc;
use zhengqi_store::{Actor, IndicatorOutcome, Store, UpsertOutcome};

use crate::cli::DbArgs;
use crate::progress::{bar, note};
use crate::{db, fail};

const CHUNK: usize = 500;

/// Extra column written by `enterprise export --indicators`; rows marked
/// 历史 are superseded figures and are skipped, so that re-importing an
/// export does not append the old values again.
pub const STATUS_COLUMN: &str = "状态";
pub const STATUS_LATEST: &str = "最新";
pub const STATUS_HISTORY: &str = "历史";
pub const ARRIVED_COLUMN: &str = "接收时间";

/// One problem in one row, as shown to the user: `第N行：字段：消息`.
struct RowError {
    line: usize,
    field: String,
    message: String,
}

#[derive(Default)]
struct Report {
    rows: usize,
    created: usize,
    updated: usize,
    unchanged: usize,
    added: usize,
    skipped_history: usize,
    resized: usize,
    errors: Vec<RowError>,
}

impl Report {
    fn error(&mut self, line: usize, field: &str, message: impl Into<String>) {
        self.errors.push(RowError {
            line,
            field: field.to_owned(),
            message: message.into(),
        });
    }

    fn field_errors(&mut self, line: usize, cols: &[(&str, &[&str])], errs: Vec<FieldError>) {
        for e in errs {
            let label = cols
                .iter()
                .find(|(k, _)| *k == e.field)
                .and_then(|(_, names)| names.first().copied())
                .unwrap_or(e.field.as_str())
                .to_owned();
            self.error(line, &label, e.message);
        }
    }

    fn error_rows(&self) -> usize {
        self.errors
            .iter()
            .map(|e| e.line)
            .collect::<BTreeSet<_>>()
            .len()
    }
}

pub async fn run(file: &Path, db_args: &DbArgs) -> anyhow::Result<ExitCode> {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
    let format = name.as_deref().and_then(Format::from_name).ok_or_else(|| {
        fail(
            2,
            format!(
                "无法识别文件格式：{}（只支持 .csv 和 .xlsx）",
                file.display()
            ),
        )
    })?;
    let bytes = std::fs::read(file)
        .map_err(|e| fail(2, format!("无法读取文件 {}：{e}", file.display())))?;
    let table = table::read(&bytes, format).map_err(|e| fail(2, e.to_string()))?;
    let kind = import::detect(&table).map_err(|e| fail(2, e))?;
    let (store, rd) = db::open(db_args).await?;
    let actor = Actor::system("命令行导入");
    let report = match kind {
        ImportKind::Enterprises => import_enterprises(&store, &rd, &table, &actor).await?,
        ImportKind::Indicators => import_indicators(&store, &rd, &table, &actor).await?,
    };
    store.close().await;

    let mut errors = report.errors.iter().collect::<Vec<_>>();
    errors.sort_by_key(|e| e.line);
    for e in &errors {
        eprintln!("第{}行：{}：{}", e.line, e.field, e.message);
    }
    let error_rows = report.error_rows();
    match kind {
        ImportKind::Enterprises => println!(
            "{}：共 {} 行，新增 {}，更新 {}，未变 {}，错误 {}",
            kind.label(),
            report.rows,
            report.created,
            report.updated,
            report.unchanged,
            error_rows
        ),
        ImportKind::Indicators => {
            let mut line = format!(
                "{}：共 {} 行，新增 {}，未变 {}，错误 {}",
                kind.label(),
                report.rows,
                report.added,
                report.unchanged,
                error_rows
            );
            if report.skipped_history > 0 {
                line.push_str(&format!("，跳过历史记录 {}", report.skipped_history));
            }
            println!("{line}");
            if report.resized > 0 {
                println!("按新指标重新判定规模：{} 家企业", report.resized);
            }
        }
    }
    Ok(if error_rows == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Decides the size class of an imported record against what is stored.
///
/// - No class in the file: computed from the stored indicators.
/// - The stored class equals the file's: the stored basis is kept, so an
///   exported file (which carries computed classes) imports back unchanged.
/// - The indicators give the file's class: kept as computed, with its rule.
/// - Otherwise the file's class is a declaration (`Given`).
fn settle_size(
    e: &mut Enterprise,
    stored: Option<&Enterprise>,
    rd: &ReferenceData,
    indicators: &[zhengqi_domain::enterprise::Indicator],
) {
    let Some(declared) = e.size_class else {
        e.compute_size(rd, indicators);
        return;
    };
    if let Some(s) = stored
        && s.size_class == Some(declared)
    {
        e.size_basis = s.size_basis.clone();
        return;
    }
    let mut probe = e.clone();
    probe.size_class = None;
    probe.size_basis = None;
    if probe.compute_size(rd, indicators).is_some() && probe.size_class == Some(declared) {
        *e = probe;
    } else {
        e.size_basis = Some(SizeBasis::Given);
    }
}

async fn import_enterprises(
    store: &Store,
    rd: &ReferenceData,
    table: &Table,
    actor: &Actor,
) -> anyhow::Result<Report> {
    let drafts = import::enterprise_drafts(table);
    let mut report = Report {
        rows: drafts.len(),
        ..Report::default()
    };
    let pb = bar(drafts.len() as u64 * 2, "校验企业名录");
    let mut checked: Vec<(usize, Enterprise)> = Vec::new();
    for (line, draft) in drafts {
        match draft.validate(rd) {
            Ok(e) => checked.push((line, e)),
            Err(errs) => report.field_errors(line, ENTERPRISE_COLUMNS, errs),
        }
    }
    // Two rows for one enterprise are ambiguous (which one is right?), so
    // all of them are reported rather than letting the last one win.
    let mut lines_of: HashMap<Uscc, Vec<usize>> = HashMap::new();
    for (line, e) in &checked {
        lines_of.entry(e.uscc.clone()).or_default().push(*line);
    }
    // Settling sizes and writing each take one step per valid row.
    pb.set_length(checked.len() as u64 * 2);
    let mut valid: Vec<(usize, Enterprise)> = Vec::new();
    for (line, mut e) in checked {
        pb.inc(1);
        let lines = lines_of.get(&e.uscc).map(Vec::as_slice).unwrap_or_default();
        if lines.len() > 1 {
            let list: Vec<String> = lines.iter().map(|l| format!("第{l}行")).collect();
            report.error(
                line,
                "统一社会信用代码",
                format!(
                    "{} 在文件中出现多次（{}），请只保留一行",
                    e.uscc,
                    list.join("、")
                ),
            );
            continue;
        }
        let stored = store.enterprise(&e.uscc).await?;
        let indicators = match &stored {
            Some(_) => store.indicators(&e.uscc).await?,
            None => Vec::new(),
        };
        settle_size(&mut e, stored.as_ref(), rd, &indicators);
        valid.push((line, e));
    }

    pb.set_message("写入企业名录");
    for chunk in valid.chunks(CHUNK) {
        let records: Vec<Enterprise> = chunk.iter().map(|(_, e)| e.clone()).collect();
        let outcomes = match store.upsert_enterprises(&records, actor).await {
            Ok(o) => o.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(batch_err) => {
                note(&pb, &format!("批量写入失败（{batch_err}），改为逐行写入…"));
                let mut one_by_one = Vec::with_capacity(chunk.len());
                for (_, e) in chunk {
                    one_by_one.push(store.upsert_enterprise(e, actor).await);
                }
                one_by_one
            }
        };
        for ((line, _), outcome) in chunk.iter().zip(outcomes) {
            match outcome {
                Ok(UpsertOutcome::Created) => report.created += 1,
                Ok(UpsertOutcome::Updated) => report.updated += 1,
                Ok(UpsertOutcome::Unchanged) => report.unchanged += 1,
                Err(e) => report.error(*line, "写入数据库", e.to_string()),
            }
        }
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    Ok(report)
}

async fn import_indicators(
    store: &Store,
    rd: &ReferenceData,
    table: &Table,
    actor: &Actor,
) -> anyhow::Result<Report> {
    let drafts = import::indicator_drafts(table);
    let mut report = Report {
        rows: drafts.len(),
        ..Report::default()
    };
    let pb = bar(drafts.len() as u64 * 2, "校验企业指标");
    let status_col = table.column(&[STATUS_COLUMN]);
    let mut registered: HashMap<Uscc, bool> = HashMap::new();
    let mut valid: Vec<(usize, NewIndicator)> = Vec::new();
    // Drafts come from `table.rows` in order, so the row index matches.
    for ((line, draft), row) in drafts.into_iter().zip(&table.rows) {
        pb.inc(1);
        if status_col.is_some() && table.cell(row, status_col) == STATUS_HISTORY {
            report.skipped_history += 1;
            continue;
        }
        let n = match draft.validate(rd) {
            Ok(n) => n,
            Err(errs) => {
                report.field_errors(line, INDICATOR_COLUMNS, errs);
                continue;
            }
        };
        let known = match registered.get(&n.uscc) {
            Some(k) => *k,
            None => {
                let k = store.enterprise(&n.uscc).await?.is_some();
                registered.insert(n.uscc.clone(), k);
                k
            }
        };
        if !known {
            report.error(
                line,
                "统一社会信用代码",
                format!("企业 {} 尚未登记，请先导入企业名录", n.uscc),
            );
            continue;
        }
        valid.push((line, n));
    }

    pb.set_length((report.rows + valid.len()) as u64);
    pb.set_message("写入企业指标");
    let arrived_at = Utc::now();
    let mut touched: BTreeSet<Uscc> = BTreeSet::new();
    for chunk in valid.chunks(CHUNK) {
        let items: Vec<NewIndicator> = chunk.iter().map(|(_, n)| n.clone()).collect();
        let outcomes = match store.add_indicators(&items, actor, arrived_at).await {
            Ok(o) => o.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(batch_err) => {
                note(&pb, &format!("批量写入失败（{batch_err}），改为逐行写入…"));
                let mut one_by_one = Vec::with_capacity(chunk.len());
                for item in &items {
                    one_by_one.push(
                        store
                            .add_indicators(std::slice::from_ref(item), actor, arrived_at)
                            .await
                            .and_then(|o| {
                                o.into_iter().next().ok_or_else(|| {
                                    zhengqi_store::StoreError::Invalid("写入结果缺失".into())
                                })
                            }),
                    );
                }
                one_by_one
            }
        };
        for ((line, n), outcome) in chunk.iter().zip(outcomes) {
            match outcome {
                Ok(IndicatorOutcome::Added) => {
                    report.added += 1;
                    touched.insert(n.uscc.clone());
                }
                Ok(IndicatorOutcome::Unchanged) => report.unchanged += 1,
                Err(e) => report.error(*line, "写入数据库", e.to_string()),
            }
        }
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    report.resized = recompute_sizes(store, rd, &touched, actor).await?;
    Ok(report)
}

/// Re-derives the size class of enterprises whose class is computed (or
/// missing) after new figures arrived. A declared class is left alone, and
/// a class is never cleared just because the newest year is incomplete.
async fn recompute_sizes(
    store: &Store,
    rd: &ReferenceData,
    usccs: &BTreeSet<Uscc>,
    actor: &Actor,
) -> anyhow::Result<usize> {
    let pb: ProgressBar = bar(usccs.len() as u64, "重新判定企业规模");
    let mut changed = 0;
    for uscc in usccs {
        pb.inc(1);
        let Some(current) = store.enterprise(uscc).await? else {
            continue;
        };
        if matches!(current.size_basis, Some(SizeBasis::Given)) {
            continue;
        }
        let indicators = store.indicators(uscc).await?;
        let mut next = current.clone();
        next.size_class = None;
        next.size_basis = None;
        if next.compute_size(rd, &indicators).is_none() || next == current {
            continue;
        }
        if store.upsert_enterprise(&next, actor).await? != UpsertOutcome::Unchanged {
            changed += 1;
        }
    }
    pb.finish_and_clear();
    Ok(changed)
}
