//! `catalogue export|import`: the service item catalogue as the workbook the
//! web pages use (sheets 事项, 材料, 表单字段, 一件事). An import prints a
//! report per row and writes nothing unless every row is valid; then it
//! writes everything in one transaction with audit entries.

use std::path::Path;
use std::process::ExitCode;

use zhengqi_domain::approval::catalogue::Catalogue;
use zhengqi_domain::approval::catalogue_sheet::{self, ChangeKind, ImportRights};
use zhengqi_store::Actor;

use crate::cli::DbArgs;
use crate::{db, fail};

fn actor() -> Actor {
    Actor::system("命令行 catalogue import")
}

pub async fn export(file: &Path, args: &DbArgs) -> anyhow::Result<ExitCode> {
    let (store, rd) = db::open(args).await?;
    let stored = store
        .catalogue_or_seed(&Catalogue::zhuhai(), &actor())
        .await?;
    let bytes = catalogue_sheet::export(&stored.catalogue, &rd)?;
    std::fs::write(file, bytes)
        .map_err(|e| fail(2, format!("无法写入 {}：{e}", file.display())))?;
    println!(
        "已导出服务事项清单（第 {} 版）：事项 {} 项，一件事 {} 项，到 {}",
        stored.version,
        stored.catalogue.items.len(),
        stored.catalogue.combined_matters.len(),
        file.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn import(file: &Path, args: &DbArgs) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(file).map_err(|e| fail(2, format!("无法读取 {}：{e}", file.display())))?;
    let (store, rd) = db::open(args).await?;
    let stored = store
        .catalogue_or_seed(&Catalogue::zhuhai(), &actor())
        .await?;
    // The operator at the console acts for every department.
    let rights = ImportRights {
        item: &|_| true,
        matters: true,
    };
    let plan = catalogue_sheet::plan_import(&bytes, &rd, &stored.catalogue, &rights)
        .map_err(|e| fail(2, format!("{}：{e}", file.display())))?;
    for r in plan
        .rows
        .iter()
        .filter(|r| r.change != ChangeKind::Unchanged)
    {
        println!(
            "{} 第{}行  {}  {}  {}",
            r.sheet,
            r.line,
            r.change.label(),
            r.code,
            r.name
        );
    }
    let summary = format!(
        "新增 {} 项，修改 {} 项，无变化 {} 项",
        plan.count(ChangeKind::Added),
        plan.count(ChangeKind::Changed),
        plan.count(ChangeKind::Unchanged)
    );
    if !plan.is_valid() {
        for e in &plan.errors {
            if e.line == 0 {
                eprintln!("{}：{}", e.sheet, e.message);
            } else {
                eprintln!("{} 第{}行：{}", e.sheet, e.line, e.message);
            }
        }
        return Err(fail(
            1,
            format!(
                "共 {} 处错误，未导入任何内容（若无错误将会：{summary}）",
                plan.errors.len()
            ),
        ));
    }
    let version = store
        .save_catalogue(stored.version, &plan.changes(&stored.catalogue), &actor())
        .await?;
    println!("导入完成（第 {version} 版）：{summary}");
    Ok(ExitCode::SUCCESS)
}
