//! `reference load` and `reference show`.

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;

use zhengqi_domain::reference::ReferenceData;
use zhengqi_store::{Actor, ReferenceDocs, StoreError};

use crate::cli::DbArgs;
use crate::{db, fail};

/// File names in a reference directory, with the document each fills.
const FILES: [&str; 4] = [
    "areas.json",
    "departments.json",
    "industries.json",
    "size-classes.json",
];

pub async fn load(dir: &Path, db_args: &DbArgs) -> anyhow::Result<ExitCode> {
    if !dir.is_dir() {
        return Err(fail(2, format!("参考数据目录 {} 不存在", dir.display())));
    }
    let defaults = ReferenceDocs::zhuhai();
    let mut docs = defaults.clone();
    let mut from_dir = Vec::new();
    let mut from_default = Vec::new();
    for file in FILES {
        let path = dir.join(file);
        let slot = match file {
            "areas.json" => &mut docs.areas,
            "departments.json" => &mut docs.departments,
            "industries.json" => &mut docs.industries,
            _ => &mut docs.size_rules,
        };
        if path.exists() {
            *slot = std::fs::read_to_string(&path)
                .map_err(|e| fail(2, format!("无法读取 {}：{e}", path.display())))?;
            from_dir.push(file);
        } else {
            from_default.push(file);
        }
    }
    let (store, _) = db::connect(db_args).await?;
    let rd = store
        .load_reference(&docs, &Actor::system("命令行"))
        .await
        .map_err(|e| match e {
            StoreError::Invalid(m) => fail(2, format!("参考数据无效，未作任何修改：{m}")),
            other => anyhow::Error::new(other),
        })?;
    store.close().await;
    if !from_dir.is_empty() {
        println!("已读取：{}", from_dir.join("、"));
    }
    if !from_default.is_empty() {
        println!("使用内置默认：{}", from_default.join("、"));
    }
    println!("{}", counts(&rd));
    Ok(ExitCode::SUCCESS)
}

fn counts(rd: &ReferenceData) -> String {
    let sections = rd.industries.iter().filter(|i| i.code == i.section).count();
    format!(
        "参考数据已保存：区域 {} 个，部门 {} 个，行业 {} 个（门类 {} 个、大类 {} 个），规模标准 {} 行",
        rd.areas.len(),
        rd.departments.len(),
        rd.industries.len(),
        sections,
        rd.industries.len() - sections,
        rd.size_rules.rows().len()
    )
}

/// The area tree as text lines, e.g. `├─ 香洲区（440402）`.
pub fn area_tree(rd: &ReferenceData) -> Vec<String> {
    let known: HashSet<&str> = rd.areas.iter().map(|a| a.code.as_str()).collect();
    let roots: Vec<usize> = (0..rd.areas.len())
        .filter(|&i| {
            rd.areas[i]
                .parent
                .as_deref()
                .is_none_or(|p| !known.contains(p))
        })
        .collect();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for i in roots {
        walk(rd, i, "", None, &mut seen, &mut out);
    }
    out
}

fn walk(
    rd: &ReferenceData,
    i: usize,
    prefix: &str,
    last: Option<bool>,
    seen: &mut HashSet<usize>,
    out: &mut Vec<String>,
) {
    // A cycle in the data must not loop forever.
    if !seen.insert(i) {
        return;
    }
    let a = &rd.areas[i];
    let branch = match last {
        None => "",
        Some(true) => "└─ ",
        Some(false) => "├─ ",
    };
    out.push(format!("{prefix}{branch}{}（{}）", a.name, a.code));
    let children: Vec<usize> = (0..rd.areas.len())
        .filter(|&c| rd.areas[c].parent.as_deref() == Some(a.code.as_str()))
        .collect();
    let child_prefix = match last {
        None => prefix.to_owned(),
        Some(true) => format!("{prefix}   "),
        Some(false) => format!("{prefix}│  "),
    };
    for (k, &c) in children.iter().enumerate() {
        walk(
            rd,
            c,
            &child_prefix,
            Some(k + 1 == children.len()),
            seen,
            out,
        );
    }
}

pub async fn show(db_args: &DbArgs) -> anyhow::Result<ExitCode> {
    let (store, rd) = db::open(db_args).await?;
    store.close().await;
    for line in area_tree(&rd) {
        println!("{line}");
    }
    println!(
        "共 {} 个区域；部门 {} 个，行业 {} 个",
        rd.areas.len(),
        rd.departments.len(),
        rd.industries.len()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zhuhai_tree_nests_function_zones() {
        let lines = area_tree(&ReferenceData::zhuhai());
        assert!(lines[0].starts_with("珠海市"), "{lines:?}");
        let hz = lines
            .iter()
            .position(|l| l.contains("鹤洲新区筹备组"))
            .unwrap();
        assert!(lines[hz + 1].contains("保税区"), "{lines:?}");
        assert!(lines[hz + 1].starts_with("│  ") || lines[hz + 1].starts_with("   "));
        assert_eq!(lines.len(), ReferenceData::zhuhai().areas.len());
    }
}
