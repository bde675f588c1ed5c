//! The append-only audit log: who, in which role, did what to which record,
//! when, with the record before and after.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use sqlx::{Any, Row, Transaction};

use crate::{Actor, Result, Store, parse_ts, ts};

#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub actor_role: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// Appends one entry inside the caller's transaction, so the change and its
/// record commit or roll back together.
pub(crate) async fn record(
    tx: &mut Transaction<'static, Any>,
    actor: &Actor,
    action: &str,
    target_type: &str,
    target_id: &str,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, actor_name, actor_role, action, target_type, target_id, before, after) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(ts(Utc::now()))
    .bind(actor.id)
    .bind(&actor.name)
    .bind(&actor.role)
    .bind(action)
    .bind(target_type)
    .bind(target_id)
    .bind(before.map(|v| v.to_string()))
    .bind(after.map(|v| v.to_string()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn json(s: Option<String>) -> Option<serde_json::Value> {
    s.and_then(|s| serde_json::from_str(&s).ok())
}

impl Store {
    /// Records an event that changes no other table (e.g. a login).
    pub async fn audit_event(
        &self,
        actor: &Actor,
        action: &str,
        target_type: &str,
        target_id: &str,
        after: Option<&serde_json::Value>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        record(&mut tx, actor, action, target_type, target_id, None, after).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Newest first, with the total count matching the filter.
    pub async fn audit_entries(&self, f: &AuditFilter) -> Result<(Vec<AuditEntry>, i64)> {
        // Empty filter values match everything; this keeps one static SQL text.
        let cond = "($1 = '' OR target_type = $1) AND ($2 = '' OR target_id = $2) \
                    AND ($3 = '' OR actor_name = $3) AND ($4 = '' OR action = $4)";
        let arg = |o: &Option<String>| o.clone().unwrap_or_default();
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM audit_log WHERE {cond}"
        )))
        .bind(arg(&f.target_type))
        .bind(arg(&f.target_id))
        .bind(arg(&f.actor))
        .bind(arg(&f.action))
        .fetch_one(&self.pool)
        .await?;
        let limit = if f.limit <= 0 {
            100
        } else {
            f.limit.min(100_000)
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT id, at, actor_id, actor_name, actor_role, action, target_type, target_id, before, after \
             FROM audit_log WHERE {cond} ORDER BY id DESC LIMIT $5 OFFSET $6"
        )))
        .bind(arg(&f.target_type))
        .bind(arg(&f.target_id))
        .bind(arg(&f.actor))
        .bind(arg(&f.action))
        .bind(limit)
        .bind(f.offset.max(0))
        .fetch_all(&self.pool)
        .await?;
        let entries = rows
            .into_iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    at: parse_ts(&r.try_get::<String, _>("at")?)?,
                    actor_id: r.try_get("actor_id")?,
                    actor_name: r.try_get("actor_name")?,
                    actor_role: r.try_get("actor_role")?,
                    action: r.try_get("action")?,
                    target_type: r.try_get("target_type")?,
                    target_id: r.try_get("target_id")?,
                    before: json(r.try_get("before")?),
                    after: json(r.try_get("after")?),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((entries, total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_log_cannot_be_rewritten() {
        let s = crate::testing::fresh_store().await.unwrap();
        s.audit_event(&Actor::system("测试"), "test", "t", "1", None)
            .await
            .unwrap();
        let upd = sqlx::query("UPDATE audit_log SET actor_name = 'x'")
            .execute(&s.pool)
            .await;
        assert!(upd.is_err(), "update must be refused");
        let del = sqlx::query("DELETE FROM audit_log").execute(&s.pool).await;
        assert!(del.is_err(), "delete must be refused");
        assert_eq!(s.audit_entries(&AuditFilter::default()).await.unwrap().1, 1);
    }
}
