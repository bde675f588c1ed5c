//! Approval cases as event logs with snapshots. The domain state machine
//! (`zhengqi_domain::approval::case`) decides every transition; this module
//! makes each accepted event durable in one transaction, serialised per
//! case (row lock on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), so two
//! departments acting at the same instant never lose an update.

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};
use zhengqi_domain::approval::case::{Case, Event, Notice};
use zhengqi_domain::calendar::WorkCalendar;

use std::sync::Arc;

use tokio::sync::oneshot;

use crate::case_writer::Op;
use crate::{Actor, Backend, Result, Store, StoreError, audit, parse_ts, ts};

fn writer_stopped() -> StoreError {
    StoreError::Invalid("办件写入任务意外停止，请重试".into())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum SubmitOutcome {
    Created(String),
    /// The idempotency key was seen before: the earlier case, unchanged.
    Existing(String),
}

#[derive(Clone, Debug, Serialize)]
pub struct QueueItem {
    pub case_id: String,
    pub applicant: String,
    pub matter_code: String,
    pub item_code: String,
    pub part_state: String,
    pub deadline: Option<String>,
    pub case_status: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct StoredEvent {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub event: Event,
}

pub(crate) fn json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Event times are stored as text with microseconds (`ts`), and read back
/// at that precision on both backends. A clock gives nanoseconds, so every
/// time that goes into a case is first cut to microseconds: otherwise the
/// snapshot (JSON, full precision) would differ from the replay of the
/// stored events.
pub(crate) fn storage_precision(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

pub(crate) fn case_from(s: &str) -> Result<Case> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("办件快照：{e}")))
}

async fn write_parts(tx: &mut Transaction<'static, Any>, c: &Case) -> Result<()> {
    sqlx::query("DELETE FROM case_parts WHERE case_id = $1")
        .bind(&c.id)
        .execute(&mut **tx)
        .await?;
    for p in &c.parts {
        sqlx::query(
            "INSERT INTO case_parts (case_id, department, item_code, state, deadline) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&c.id)
        .bind(&p.department)
        .bind(&p.item_code)
        .bind(p.state.to_string())
        .bind(p.deadline.map(|d| d.to_string()))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn write_outbox(
    tx: &mut Transaction<'static, Any>,
    case_id: &str,
    notices: &[Notice],
    now: &str,
) -> Result<()> {
    for n in notices {
        sqlx::query("INSERT INTO outbox (case_id, notice, created_at) VALUES ($1, $2, $3)")
            .bind(case_id)
            .bind(json(n)?)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// A case loaded under its lock, with the stored event count.
pub(crate) struct LockedCase {
    pub case: Case,
    pub seq: i64,
}

/// Applies `event` to a locked case and writes the event, snapshot, parts
/// index, outbox rows and audit entry in `tx`. A refused event changes
/// nothing and comes back as `Invalid` with the domain's Chinese message.
pub(crate) async fn append_event(
    tx: &mut Transaction<'static, Any>,
    locked: &mut LockedCase,
    event: &Event,
    actor: &Actor,
    now: DateTime<Utc>,
    cal: &WorkCalendar,
) -> Result<Vec<Notice>> {
    let case = &mut locked.case;
    let id = case.id.clone();
    let seq = locked.seq;
    // `now` was read before this transaction waited for the case's lock;
    // a concurrent event that committed meanwhile may carry a later time.
    // Events are ordered by the lock, so time never runs backwards here.
    let now = storage_precision(now);
    let now = case
        .history
        .last()
        .map_or(now, |(last, _, _)| now.max(*last));
    let before = case.status.to_string();
    let notices = case
        .apply(event, now, cal)
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let now_s = ts(now);
    sqlx::query(
        "INSERT INTO case_events (case_id, seq, at, actor, event) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(seq + 1)
    .bind(&now_s)
    .bind(event.actor())
    .bind(json(event)?)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE cases SET status = $1, snapshot = $2, seq = $3, updated_at = $4 WHERE id = $5 AND seq = $6")
        .bind(case.status.to_string())
        .bind(json(&*case)?)
        .bind(seq + 1)
        .bind(&now_s)
        .bind(&id)
        .bind(seq)
        .execute(&mut **tx)
        .await?;
    write_parts(tx, case).await?;
    write_outbox(tx, &id, &notices, &now_s).await?;
    audit::record(
        tx,
        actor,
        "case.event",
        "case",
        &id,
        Some(&serde_json::json!({"status": before})),
        Some(&serde_json::json!({"status": case.status.to_string(), "event": event})),
    )
    .await?;
    locked.seq = seq + 1;
    Ok(notices)
}

impl Store {
    /// Stores a newly submitted case, or returns the earlier case when the
    /// applicant already used this idempotency key (a retried submission).
    /// Returns once the case is committed (group commit, `case_writer`).
    pub async fn submit_case(&self, c: &Case, actor: &Actor) -> Result<SubmitOutcome> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(
                self,
                Op::Submit {
                    case: Box::new(c.clone()),
                    actor: actor.clone(),
                    reply,
                },
            )
            .await?;
        answer.await.map_err(|_| writer_stopped())?
    }

    /// `submit_case` in a transaction of its own: the fallback of the
    /// group-commit writer when a batch cannot be written as a whole.
    pub(crate) async fn submit_direct(&self, c: &Case, actor: &Actor) -> Result<SubmitOutcome> {
        // A new case's only times are its submission and its history.
        let mut c = c.clone();
        c.submitted_at = storage_precision(c.submitted_at);
        for (at, _, _) in &mut c.history {
            *at = storage_precision(*at);
        }
        let c = &c;
        let mut tx = self.begin().await?;
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT id FROM cases WHERE applicant = $1 AND idempotency_key = $2",
        )
        .bind(&c.applicant)
        .bind(&c.idempotency_key)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = existing {
            return Ok(SubmitOutcome::Existing(id));
        }
        let now = ts(Utc::now());
        let inserted = sqlx::query(
            "INSERT INTO cases (id, applicant, matter_code, idempotency_key, status, snapshot, seq, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&c.id)
        .bind(&c.applicant)
        .bind(&c.matter_code)
        .bind(&c.idempotency_key)
        .bind(c.status.to_string())
        .bind(json(c)?)
        .bind(c.history.len() as i64)
        .bind(&now)
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            // A concurrent submission with the same key won the race.
            drop(tx);
            let id: Option<String> = sqlx::query_scalar(
                "SELECT id FROM cases WHERE applicant = $1 AND idempotency_key = $2",
            )
            .bind(&c.applicant)
            .bind(&c.idempotency_key)
            .fetch_optional(&self.pool)
            .await?;
            return match id {
                Some(id) => Ok(SubmitOutcome::Existing(id)),
                None => Err(e.into()),
            };
        }
        for (i, (at, who, ev)) in c.history.iter().enumerate() {
            sqlx::query("INSERT INTO case_events (case_id, seq, at, actor, event) VALUES ($1, $2, $3, $4, $5)")
                .bind(&c.id)
                .bind(i as i64 + 1)
                .bind(ts(*at))
                .bind(who)
                .bind(json(ev)?)
                .execute(&mut *tx)
                .await?;
        }
        write_parts(&mut tx, c).await?;
        audit::record(
            &mut tx,
            actor,
            "case.submit",
            "case",
            &c.id,
            None,
            Some(&serde_json::json!({"matter": c.matter_code, "applicant": c.applicant, "parts": c.parts.len()})),
        )
        .await?;
        tx.commit().await?;
        Ok(SubmitOutcome::Created(c.id.clone()))
    }

    /// Applies one event to a case in one transaction. The domain decides;
    /// a refused event changes nothing and comes back as `Invalid` with the
    /// domain's Chinese message.
    pub async fn apply_case_event(
        &self,
        id: &str,
        event: &Event,
        actor: &Actor,
        now: DateTime<Utc>,
        cal: &WorkCalendar,
    ) -> Result<(Case, Vec<Notice>)> {
        self.apply_case_event_then(id, event, actor, now, cal, |_| None)
            .await
    }

    /// Applies `event`, then — in the same transaction — the event
    /// `follow_up` derives from the resulting case, if any (the automatic
    /// issue after the last approval). A crash between two transactions
    /// could otherwise leave a case approved by everyone but never issued,
    /// with nobody left to act on it.
    pub async fn apply_case_event_then(
        &self,
        id: &str,
        event: &Event,
        actor: &Actor,
        now: DateTime<Utc>,
        cal: &WorkCalendar,
        follow_up: impl Fn(&Case) -> Option<(Event, Actor)> + Send + Sync + 'static,
    ) -> Result<(Case, Vec<Notice>)> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(
                self,
                Op::Apply {
                    id: id.to_owned(),
                    event: event.clone(),
                    actor: actor.clone(),
                    now,
                    cal: Arc::new(cal.clone()),
                    follow_up: Box::new(follow_up),
                    reply,
                },
            )
            .await?;
        answer.await.map_err(|_| writer_stopped())?
    }

    /// `apply_case_event_then` in a transaction of its own (the writer's
    /// fallback, see `submit_direct`).
    pub(crate) async fn apply_direct(
        &self,
        id: &str,
        event: &Event,
        actor: &Actor,
        now: DateTime<Utc>,
        cal: &WorkCalendar,
        follow_up: &(dyn Fn(&Case) -> Option<(Event, Actor)> + Send + Sync),
    ) -> Result<(Case, Vec<Notice>)> {
        let mut tx = self.begin().await?;
        let mut locked = self.lock_case(&mut tx, id).await?;
        let mut notices = append_event(&mut tx, &mut locked, event, actor, now, cal).await?;
        if let Some((next, by)) = follow_up(&locked.case) {
            notices.extend(append_event(&mut tx, &mut locked, &next, &by, now, cal).await?);
        }
        tx.commit().await?;
        Ok((locked.case, notices))
    }

    /// Loads a case for writing inside `tx`, holding its lock until commit.
    pub(crate) async fn lock_case(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: &str,
    ) -> Result<LockedCase> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT snapshot, seq FROM cases WHERE id = $1{lock}"
        )))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("办件 {id}")))?;
        Ok(LockedCase {
            case: case_from(&row.try_get::<String, _>("snapshot")?)?,
            seq: row.try_get("seq")?,
        })
    }

    pub async fn case(&self, id: &str) -> Result<Option<Case>> {
        let s: Option<String> = sqlx::query_scalar("SELECT snapshot FROM cases WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        s.as_deref().map(case_from).transpose()
    }

    /// The stored event log, in order.
    pub async fn case_events(&self, id: &str) -> Result<Vec<StoredEvent>> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, event FROM case_events WHERE case_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let ev: String = r.try_get("event")?;
                Ok(StoredEvent {
                    seq: r.try_get("seq")?,
                    at: parse_ts(&r.try_get::<String, _>("at")?)?,
                    actor: r.try_get("actor")?,
                    event: serde_json::from_str(&ev)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }

    /// Every case, newest first (supervision); `limit` caps the list.
    pub async fn all_cases(&self, limit: i64) -> Result<Vec<Case>> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT snapshot FROM cases ORDER BY created_at DESC, id LIMIT $1")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|s| case_from(s)).collect()
    }

    pub async fn cases_of_applicant(&self, applicant: &str) -> Result<Vec<Case>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT snapshot FROM cases WHERE applicant = $1 ORDER BY created_at DESC",
        )
        .bind(applicant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|s| case_from(s)).collect()
    }

    /// A department's open parts, the nearest deadline first.
    pub async fn department_queue(&self, department: &str) -> Result<Vec<QueueItem>> {
        let rows = sqlx::query(
            "SELECT p.case_id, c.applicant, c.matter_code, p.item_code, p.state, p.deadline, c.status \
             FROM case_parts p JOIN cases c ON c.id = p.case_id \
             WHERE p.department = $1 AND p.state NOT IN ('已批准', '不予许可') \
             AND c.status NOT IN ('已撤销受理', '已办结', '不予许可', '已撤回') \
             ORDER BY CASE WHEN p.deadline IS NULL THEN 1 ELSE 0 END, p.deadline, p.case_id",
        )
        .bind(department)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(QueueItem {
                    case_id: r.try_get("case_id")?,
                    applicant: r.try_get("applicant")?,
                    matter_code: r.try_get("matter_code")?,
                    item_code: r.try_get("item_code")?,
                    part_state: r.try_get("state")?,
                    deadline: r.try_get("deadline")?,
                    case_status: r.try_get("status")?,
                })
            })
            .collect()
    }

    pub async fn outbox_pending(
        &self,
        limit: i64,
    ) -> Result<Vec<(i64, String, serde_json::Value)>> {
        let rows = sqlx::query(
            "SELECT id, case_id, notice FROM outbox WHERE delivered_at IS NULL AND dead = 0 ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let n: String = r.try_get("notice")?;
                Ok((
                    r.try_get("id")?,
                    r.try_get("case_id")?,
                    serde_json::from_str(&n).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                ))
            })
            .collect()
    }
}
