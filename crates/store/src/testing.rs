//! Fresh, isolated databases for tests: a new SQLite file per call, or —
//! when `DATABASE_URL` names a PostgreSQL server — a new database on it.
//! The same test suite thus runs against both backends.

use crate::{Result, Store, StoreError};

fn unique_suffix() -> String {
    let mut b = [0u8; 6];
    crate::random_bytes(&mut b);
    format!("{}_{}", std::process::id(), hex::encode(b))
}

/// The backend the tests run against, for messages.
pub fn target() -> String {
    match std::env::var("DATABASE_URL") {
        Ok(u) if u.starts_with("postgres") => "PostgreSQL".into(),
        _ => "SQLite".into(),
    }
}

/// A migrated, empty store. PostgreSQL test databases are named `zqt_…`
/// so a CI script can drop them afterwards.
pub async fn fresh_store() -> Result<Store> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let admin = Store::connect_raw(&url).await?;
            let name = format!("zqt_{}", unique_suffix());
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin.pool)
                .await?;
            admin.close().await;
            let base = url
                .rsplit_once('/')
                .map(|(b, _)| b.to_owned())
                .ok_or_else(|| StoreError::Invalid("DATABASE_URL 缺少数据库名".into()))?;
            let query = url
                .split_once('?')
                .map(|(_, q)| format!("?{q}"))
                .unwrap_or_default();
            Store::connect(&format!("{base}/{name}{query}")).await
        }
        _ => {
            let dir = std::env::temp_dir().join(format!("zhengqi-test-{}", unique_suffix()));
            std::fs::create_dir_all(&dir).map_err(|e| StoreError::Invalid(e.to_string()))?;
            Store::connect(&format!("sqlite://{}", dir.join("test.db").display())).await
        }
    }
}
