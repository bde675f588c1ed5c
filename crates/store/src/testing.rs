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
    Store::connect(&fresh_database_url().await?).await
}

/// The URL of a new, empty database (not yet migrated): a new SQLite file,
/// or a new `zqt_…` database on the PostgreSQL server named by
/// `DATABASE_URL`. For tests that hand the database to another process,
/// such as the `zhengqi` binary.
pub async fn fresh_database_url() -> Result<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let admin = Store::connect_raw(&url).await?;
            // A run tag (scripts/test sets one) lets a script drop only its
            // own databases, not those of a run beside it.
            let tag = std::env::var("ZHENGQI_TEST_DB_TAG")
                .ok()
                .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric()))
                .map(|t| format!("{}_", t.to_ascii_lowercase()))
                .unwrap_or_default();
            let name = format!("zqt_{tag}{}", unique_suffix());
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
            Ok(format!("{base}/{name}{query}"))
        }
        _ => {
            let dir = std::env::temp_dir().join(format!("zhengqi-test-{}", unique_suffix()));
            std::fs::create_dir_all(&dir).map_err(|e| StoreError::Invalid(e.to_string()))?;
            Ok(format!("sqlite://{}", dir.join("test.db").display()))
        }
    }
}

/// Bulk-inserts generated enterprises, indicators and their figures in force with multi-row
/// statements in one transaction, bypassing the audit log: only for
/// benchmarks and tests that need a large base quickly, never for real data.
pub async fn bulk_insert_subjects(
    store: &Store,
    rows: &[(
        zhengqi_domain::enterprise::Enterprise,
        Vec<zhengqi_domain::enterprise::Indicator>,
    )],
) -> Result<()> {
    use sqlx::AssertSqlSafe;
    let mut tx = store.begin().await?;
    let now = crate::ts(chrono::Utc::now());
    for chunk in rows.chunks(50) {
        let mut sql = String::from(
            "INSERT INTO enterprises (uscc, name, legal_rep, founded, area, industry, size_class, size_basis, \
             tags, certifications, created_at, updated_at) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 11;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${},${},${},${},${},${},${},${},${},${},${},${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9,
                b + 10,
                b + 11,
                b + 11
            ));
        }
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (e, _) in chunk {
            q = q
                .bind(e.uscc.as_str().to_owned())
                .bind(e.name.clone())
                .bind(e.legal_rep.clone())
                .bind(e.founded.map(|d| d.to_string()))
                .bind(e.area.clone())
                .bind(e.industry.clone())
                .bind(e.size_class.map(|c| c.label().to_owned()))
                .bind(Option::<String>::None)
                .bind(serde_json::to_string(&e.tags).unwrap_or_default())
                .bind(serde_json::to_string(&e.certifications).unwrap_or_default())
                .bind(now.clone());
        }
        q.execute(&mut *tx).await?;
    }
    let inds: Vec<(&str, &zhengqi_domain::enterprise::Indicator)> = rows
        .iter()
        .flat_map(|(e, ind)| ind.iter().map(move |i| (e.uscc.as_str(), i)))
        .collect();
    // Small statements: SQLite resolves each `$n` by scanning the parameter
    // names, so a statement's cost grows with the square of its parameters.
    for chunk in inds.chunks(100) {
        let mut sql = String::from(
            "INSERT INTO indicators (uscc, kind, year, value, source, arrived_at) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 6;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${},${},${},${},${},${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6
            ));
        }
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (u, i) in chunk {
            q = q
                .bind((*u).to_owned())
                .bind(i.kind.label().to_owned())
                .bind(i.year as i64)
                .bind(i.value)
                .bind(i.source.clone())
                .bind(crate::ts(i.arrived_at));
        }
        q.execute(&mut *tx).await?;
    }
    for (e, ind) in rows.iter().filter(|(_, ind)| !ind.is_empty()) {
        crate::enterprises::write_figures(&mut tx, e.uscc.as_str(), ind).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Moves a published award list's notice period into the past, as if its
/// 公示 days had gone by; only for tests of what happens after 公示.
pub async fn end_publicity(store: &Store, list_id: i64) -> Result<()> {
    let today = chrono::Local::now().date_naive();
    let to = today - chrono::Days::new(1);
    let from = today - chrono::Days::new(10);
    sqlx::query("UPDATE award_lists SET publicity_from = $1, publicity_to = $2 WHERE id = $3")
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(list_id)
        .execute(&store.pool)
        .await?;
    Ok(())
}

/// Empties `enterprise_figures` and fills it again with migration 0010's
/// backfill, as a database that had indicators before the migration got
/// it: for tests that the migration and `add_indicators` agree.
pub async fn refill_figures_as_migrated(store: &Store) -> Result<()> {
    use sqlx::AssertSqlSafe;
    let file = match store.backend {
        crate::Backend::Sqlite => include_str!("../migrations/sqlite/0010_enterprise_figures.sql"),
        crate::Backend::Postgres => {
            include_str!("../migrations/postgres/0010_enterprise_figures.sql")
        }
    };
    let start = file
        .find("INSERT INTO enterprise_figures")
        .ok_or_else(|| crate::StoreError::Corrupt("migration 0010 has no backfill".into()))?;
    let backfill = file[start..].trim_end().trim_end_matches(';');
    let mut tx = store.begin().await?;
    sqlx::query("DELETE FROM enterprise_figures")
        .execute(&mut *tx)
        .await?;
    sqlx::query(AssertSqlSafe(backfill.to_owned()))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
