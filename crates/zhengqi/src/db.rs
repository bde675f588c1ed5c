//! Opening the database the same way for every subcommand.

use std::path::Path;

use anyhow::Context;
use zhengqi_domain::reference::ReferenceData;
use zhengqi_store::{ReferenceDocs, Store};

use crate::cli::DbArgs;

/// `DATABASE_URL` when set, else an SQLite file in the data directory
/// (created if missing).
pub fn database_url(data_dir: &Path) -> anyhow::Result<String> {
    if let Ok(url) = std::env::var("DATABASE_URL")
        && !url.trim().is_empty()
    {
        return Ok(url.trim().to_owned());
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("无法创建数据目录 {}", data_dir.display()))?;
    Ok(format!(
        "sqlite://{}",
        data_dir.join("zhengqi.db").to_string_lossy()
    ))
}

/// A printable form of the URL without the password.
pub fn describe_url(url: &str) -> String {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        return format!("SQLite（{}）", path.split('?').next().unwrap_or(path));
    }
    // postgres://user:secret@host/db → postgres://user:***@host/db
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let cred = &url[s + 3..at];
            let shown = match cred.split_once(':') {
                Some((user, _)) => format!("{user}:***"),
                None => cred.to_owned(),
            };
            format!("PostgreSQL（{}{}{}）", &url[..s + 3], shown, &url[at..])
        }
        _ => format!("PostgreSQL（{url}）"),
    }
}

pub async fn connect(args: &DbArgs) -> anyhow::Result<(Store, String)> {
    let url = database_url(&args.data_dir)?;
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("无法打开数据库 {}", describe_url(&url)))?;
    Ok((store, url))
}

/// Connects and loads the reference data (storing the shipped Zhuhai set
/// on first use).
pub async fn open(args: &DbArgs) -> anyhow::Result<(Store, ReferenceData)> {
    let (store, _) = connect(args).await?;
    let rd = store
        .reference_or_default(&ReferenceDocs::zhuhai())
        .await
        .context("无法载入参考数据")?;
    Ok((store, rd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        let d = describe_url("postgres://app:geheim@db.local:5432/zhengqi");
        assert!(!d.contains("geheim"), "{d}");
        assert!(d.contains("app:***@db.local"), "{d}");
        assert_eq!(
            describe_url("sqlite:///var/lib/z/zhengqi.db?mode=rwc"),
            "SQLite（/var/lib/z/zhengqi.db）"
        );
    }
}
