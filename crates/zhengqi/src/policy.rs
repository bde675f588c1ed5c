//! `zhengqi policy …`: parse policy records, import them into the library
//! (new policy, new version, or unchanged by content hash), export the list.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use zhengqi_domain::policy::{parse_policy, to_json};
use zhengqi_domain::reference::ReferenceData;
use zhengqi_domain::table;
use zhengqi_store::{Actor, PolicyImportOutcome, PolicyRecord, Store};

use crate::cli::DbArgs;
use crate::{db, fail, progress};

include!(concat!(env!("OUT_DIR"), "/demo_policies.rs"));

/// Prints the parsed record as JSON (the CLI contract of issue 3).
pub fn parse(file: &Path) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(file).map_err(|e| fail(2, format!("无法读取 {}：{e}", file.display())))?;
    let rd = ReferenceData::zhuhai();
    let p = parse_policy(&bytes, &rd).map_err(|e| fail(2, format!("{}：{e}", file.display())))?;
    for w in &p.warnings {
        eprintln!("提示：{w}");
    }
    println!("{}", serde_json::to_string_pretty(&to_json(&p))?);
    Ok(ExitCode::SUCCESS)
}

/// Files given directly, and the `.txt` files of given folders (recursively).
fn collect(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
                .unwrap_or_default();
            entries.sort();
            let (dirs, files): (Vec<_>, Vec<_>) = entries.into_iter().partition(|e| e.is_dir());
            out.extend(
                files
                    .into_iter()
                    .filter(|f| f.extension().is_some_and(|x| x == "txt")),
            );
            out.extend(collect(&dirs));
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// Parses and stores one document; the file stem is its key when it has no
/// 发文字号.
pub async fn import_bytes(
    store: &Store,
    rd: &ReferenceData,
    key: &str,
    bytes: &[u8],
    status: &str,
    actor: &Actor,
) -> anyhow::Result<PolicyImportOutcome> {
    let p = parse_policy(bytes, rd)?;
    let text = zhengqi_domain::policy::decode_text(bytes)?;
    let rec = PolicyRecord::from_parsed(&p, text, key, rd);
    Ok(store.import_policy(&rec, status, actor).await?)
}

pub async fn import(paths: &[PathBuf], status: &str, args: &DbArgs) -> anyhow::Result<ExitCode> {
    let (store, rd) = db::open(args).await?;
    let files = collect(paths);
    if files.is_empty() {
        return Err(fail(2, "没有找到要导入的政策文件（.txt）"));
    }
    let actor = Actor::system("命令行导入");
    let pb = progress::bar(files.len() as u64, "导入政策");
    let (mut created, mut versions, mut same, mut failed) = (0, 0, 0, 0);
    for f in &files {
        let key = f
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("policy")
            .to_owned();
        let line = match std::fs::read(f) {
            Err(e) => {
                failed += 1;
                format!("{}：错误：无法读取（{e}）", f.display())
            }
            Ok(bytes) => match import_bytes(&store, &rd, &key, &bytes, status, &actor).await {
                Ok(PolicyImportOutcome::Created { id }) => {
                    created += 1;
                    format!("{}：新增（编号 {id}）", f.display())
                }
                Ok(PolicyImportOutcome::NewVersion { id, version }) => {
                    versions += 1;
                    format!(
                        "{}：内容有变化，已存为第 {version} 版（编号 {id}）",
                        f.display()
                    )
                }
                Ok(PolicyImportOutcome::Unchanged { id }) => {
                    same += 1;
                    format!("{}：未变（编号 {id}）", f.display())
                }
                Err(e) => {
                    failed += 1;
                    format!("{}：错误：{e}", f.display())
                }
            },
        };
        pb.suspend(|| eprintln!("{line}"));
        pb.inc(1);
    }
    pb.finish_and_clear();
    println!(
        "政策导入：共 {} 个文件，新增 {created}，新版本 {versions}，未变 {same}，错误 {failed}",
        files.len()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub async fn export(file: &Path, args: &DbArgs) -> anyhow::Result<ExitCode> {
    let (store, rd) = db::open(args).await?;
    let today = chrono::Local::now().date_naive();
    let rows: Vec<Vec<String>> = store
        .policies()
        .await?
        .iter()
        .map(|p| {
            vec![
                p.title.clone(),
                p.doc_number.clone(),
                rd.department(&p.issuer)
                    .map(|d| d.name.clone())
                    .unwrap_or_else(|| p.issuer.clone()),
                p.sizes.join("、"),
                p.areas
                    .iter()
                    .map(|c| {
                        rd.area(c)
                            .map(|a| a.name.clone())
                            .unwrap_or_else(|| c.clone())
                    })
                    .collect::<Vec<_>>()
                    .join("、"),
                p.valid_until
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "未注明（长期）".into()),
                zhengqi_store::policy_status_label(p.effective_status(today)).to_owned(),
                format!("/policies/{}", p.id),
            ]
        })
        .collect();
    let bytes = table::write_xlsx("政策清单", &LIST_HEADERS, &rows)?;
    std::fs::write(file, bytes)
        .map_err(|e| fail(2, format!("无法写入 {}：{e}", file.display())))?;
    println!("已导出政策清单 {} 项到 {}", rows.len(), file.display());
    Ok(ExitCode::SUCCESS)
}

/// The list layout staff expect, one row per policy; `import-list` reads it back.
pub const LIST_HEADERS: [&str; 8] = [
    "标题",
    "发文字号",
    "发文单位",
    "企业规模",
    "适用区域",
    "有效期至",
    "状态",
    "链接",
];

/// Reads a policy list (the export layout) and applies its 状态 column:
/// 已发布 / 草稿 / 已废止 (已失效 is derived from the date and left alone).
/// Rows are matched by 发文字号, else by title; unmatched rows are reported.
pub async fn import_list(file: &Path, args: &DbArgs) -> anyhow::Result<ExitCode> {
    let format = table::Format::from_name(&file.to_string_lossy())
        .ok_or_else(|| fail(2, "政策清单应为 .xlsx 或 .csv 文件"))?;
    let bytes =
        std::fs::read(file).map_err(|e| fail(2, format!("无法读取 {}：{e}", file.display())))?;
    let t = table::read(&bytes, format).map_err(|e| fail(2, e.to_string()))?;
    let (title_col, doc_col, status_col) = (
        t.column(&["标题"]),
        t.column(&["发文字号"]),
        t.column(&["状态"]),
    );
    if title_col.is_none() || status_col.is_none() {
        return Err(fail(2, "政策清单缺少列：标题、状态（发文字号可选）"));
    }
    let (store, _) = db::open(args).await?;
    let actor = Actor::system("命令行导入清单");
    let today = chrono::Local::now().date_naive();
    let (mut changed, mut same, mut failed) = (0, 0, 0);
    for r in &t.rows {
        let (title, doc, status) = (
            t.cell(r, title_col),
            t.cell(r, doc_col),
            t.cell(r, status_col),
        );
        let wanted = match status {
            "已发布" | "published" => Some("published"),
            "草稿" | "draft" => Some("draft"),
            "已废止" | "repealed" => Some("repealed"),
            "已失效" | "expired" => None,
            other => {
                failed += 1;
                eprintln!(
                    "第{}行：状态：“{other}”无效，应为 已发布、草稿、已废止 或 已失效",
                    r.line
                );
                continue;
            }
        };
        let Some(p) = store.find_policy(doc, title).await? else {
            failed += 1;
            eprintln!(
                "第{}行：未找到政策“{title}”（请先用 policy import 导入原文）",
                r.line
            );
            continue;
        };
        match wanted {
            Some(w) if w != p.status => {
                store.set_policy_status(p.id, w, &actor).await?;
                changed += 1;
            }
            // 已失效 only restates the date; a repealed or draft policy is not revived by it.
            None if p.effective_status(today) != "expired" => {
                failed += 1;
                eprintln!(
                    "第{}行：状态：政策“{title}”未过有效期，不能标为已失效",
                    r.line
                );
            }
            _ => same += 1,
        }
    }
    println!(
        "政策清单：共 {} 行，更新 {changed}，未变 {same}，错误 {failed}",
        t.rows.len()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Loads the sample records shipped with the binary (demo mode).
pub async fn seed_demo(store: &Store, rd: &ReferenceData) -> anyhow::Result<usize> {
    let actor = Actor::system("演示数据");
    let mut n = 0;
    let mut ids = Vec::new();
    for (key, bytes) in DEMO_POLICIES {
        match import_bytes(store, rd, key, bytes, "published", &actor).await {
            Ok(
                PolicyImportOutcome::Created { id }
                | PolicyImportOutcome::NewVersion { id, .. }
                | PolicyImportOutcome::Unchanged { id },
            ) => {
                n += 1;
                ids.push(((*key).to_owned(), id));
            }
            Err(e) => eprintln!("演示政策 {key} 未导入：{e}"),
        }
    }
    crate::matching::seed_demo_rules(store, rd, &ids).await?;
    Ok(n)
}
