//! Storage for zhengqi: one `sqlx` Any pool over embedded SQLite (default)
//! or PostgreSQL (production). SQL is written once in the common dialect
//! (`$n` placeholders, BIGINT, TEXT); only the migrations differ per backend.
//!
//! Invariants kept here:
//! - every write runs in one transaction together with its audit-log row;
//! - the audit log and the indicator history are append-only;
//! - secrets (passwords, session tokens) are stored only as hashes.

mod audit;
mod case_writer;
pub use case_writer::WriterStats;
mod cases;
mod catalogue;
pub use catalogue::{ItemVersion, StoredCatalogue};
mod eligibility;
mod enterprises;
mod holidays;
mod integration;
pub use integration::{
    AttemptOutcome, DeadLetter, DeliveryCounts, DeliveryState, DueDelivery,
    EVENT_TYPES as WEBHOOK_EVENT_TYPES, InboundCallback, InboundRecord, NewSubscription,
    Reservation, RetryPolicy, Subscription,
};
mod policies;
mod reference;
mod schedule;
pub use policies::{
    NewTask, PolicyImportOutcome, PolicyRecord, PolicySummary, PolicyTask, PolicyVersion,
    STATUSES as POLICY_STATUSES, status_label as policy_status_label,
};
pub use reference::ReferenceDocs;
pub use schedule::{FlaggedPart, ScheduleReport, SentReminder};
pub mod testing;
mod users;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Transaction};

pub use audit::{AuditEntry, AuditFilter};
pub use cases::{QueueItem, StoredEvent, SubmitOutcome};
pub use eligibility::{
    Application, ApplyOutcome, Award, AwardList, Objection, PublishedRule, Push, StoredRule,
};
pub use enterprises::{
    EnterpriseFilter, EnterprisePage, IndicatorOutcome, RegistryStats, UpsertOutcome,
};
pub use users::{Account, AuthError, NewAccount, SessionKind};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn label(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("数据库错误：{0}")]
    Db(#[from] sqlx::Error),
    #[error("数据库迁移失败：{0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("未找到：{0}")]
    NotFound(String),
    #[error("数据损坏：{0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Who did a write, as the audit log records it.
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: Option<i64>,
    pub name: String,
    pub role: String,
}

impl Actor {
    /// An operator at the command line or the platform itself.
    pub fn system(name: &str) -> Actor {
        Actor {
            id: None,
            name: name.to_owned(),
            role: "system".to_owned(),
        }
    }
}

impl From<&zhengqi_domain::auth::Principal> for Actor {
    fn from(p: &zhengqi_domain::auth::Principal) -> Actor {
        Actor {
            id: Some(p.user_id),
            name: p.username.clone(),
            role: p.role.key().to_owned(),
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The group-commit writer all case writes go through (`case_writer`).
    writer: std::sync::Arc<case_writer::Writer>,
}

/// Fixed-width UTC text: sorts lexically in time order on both backends.
pub fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::from_str(s).map_err(|_| StoreError::Corrupt(format!("时间戳“{s}”")))
}

impl Store {
    /// Connects and runs the backend's migrations. `sqlite:` URLs create the
    /// file when missing; `postgres://` URLs need an existing database.
    pub async fn connect(url: &str) -> Result<Store> {
        let store = Self::connect_raw(url).await?;
        match store.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&store.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&store.pool).await?,
        }
        Ok(store)
    }

    /// Connects without migrating.
    pub(crate) async fn connect_raw(url: &str) -> Result<Store> {
        install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Invalid(format!(
                "不支持的数据库地址“{url}”：应以 sqlite: 或 postgres:// 开头"
            )));
        };
        let url =
            if backend == Backend::Sqlite && !url.contains("mode=") && !url.contains(":memory:") {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            } else {
                url.to_owned()
            };
        let sqlite = backend == Backend::Sqlite;
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 4 } else { 10 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // Writers queue on the database lock; under load the
                        // default 5 s wait turns a slow queue into errors.
                        // WAL with synchronous=FULL keeps every commit durable.
                        sqlx::query("PRAGMA busy_timeout = 30000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = FULL")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        Ok(Store {
            pool,
            backend,
            writer: Default::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        // The case writer first: it answers the steps it holds and closes
        // its own connection, which is not the pool's.
        self.writer.close().await;
        self.pool.close().await;
    }

    /// Starts a write transaction. On SQLite it takes the write lock up
    /// front (`BEGIN IMMEDIATE`): a deferred transaction that reads first
    /// and writes later fails with "database is locked" under concurrency
    /// instead of waiting its turn.
    async fn begin(&self) -> Result<Transaction<'static, Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub async fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        put_meta(&mut tx, key, value).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Sets a `meta` key inside the caller's transaction.
pub(crate) async fn put_meta(
    tx: &mut Transaction<'static, Any>,
    key: &str,
    value: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM meta WHERE key = $1")
        .bind(key)
        .execute(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2)")
        .bind(key)
        .bind(value)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Fills `buf` from the OS RNG; false when the RNG is unavailable.
pub fn random_bytes(buf: &mut [u8]) -> bool {
    getrandom::fill(buf).is_ok()
}
