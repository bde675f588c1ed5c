//! Group commit for approval cases. Every case write of this process goes
//! to one writer task, which takes whatever requests are waiting, applies
//! them in order through the domain, writes all their rows in ONE
//! transaction with one set-based statement per table, commits, and only
//! then answers each caller. A step is therefore never acknowledged before
//! it is durable, but many steps share one commit (one fsync).
//!
//! Invariants:
//! - replies are sent only after the commit that contains the step;
//! - a step the domain refuses changes nothing and does not disturb the
//!   other steps of its batch;
//! - when the batch's SQL fails (a case id taken, another process holding a
//!   row, a lost connection), nothing of it is kept: every step is retried
//!   alone through the per-case transaction in `cases.rs`, which reports
//!   its own error;
//! - the in-memory snapshots are only a cache: each batch reads the stored
//!   `seq` of its cases under the write lock and reloads any case another
//!   writer (the scheduler, another process) has changed since.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};
use tokio::sync::{mpsc, oneshot};
use zhengqi_domain::approval::case::{Case, Event, Notice};
use zhengqi_domain::calendar::WorkCalendar;

use crate::cases::{SubmitOutcome, case_from, json, storage_precision};
use crate::{Actor, Backend, Result, Store, StoreError, ts};

/// Steps per transaction at most; a bigger queue is split over batches.
const MAX_BATCH: usize = 256;
/// Snapshots kept in memory; beyond this the cache starts over.
const CACHE_CAP: usize = 50_000;

pub(crate) type FollowUp = Box<dyn Fn(&Case) -> Option<(Event, Actor)> + Send + Sync>;

pub(crate) enum Op {
    Submit {
        case: Box<Case>,
        actor: Actor,
        reply: oneshot::Sender<Result<SubmitOutcome>>,
    },
    Apply {
        id: String,
        event: Event,
        actor: Actor,
        now: DateTime<Utc>,
        cal: Arc<WorkCalendar>,
        follow_up: FollowUp,
        reply: oneshot::Sender<Result<(Case, Vec<Notice>)>>,
    },
}

/// The handle every clone of a `Store` shares: the queue of the writer
/// task, started on first use (inside the caller's Tokio runtime) and
/// started again if it ever stopped.
#[derive(Default)]
pub(crate) struct Writer {
    queue: Mutex<Option<mpsc::UnboundedSender<Op>>>,
    stats: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    steps: AtomicU64,
    fallbacks: AtomicU64,
}

/// What the writer has done since the store was connected: for tests and
/// operators (a growing `fallbacks` means batches keep failing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions committed by the group writer.
    pub batches: u64,
    /// Steps (submissions and events) those transactions carried.
    pub steps: u64,
    /// Batches that failed as a whole and were redone step by step.
    pub fallbacks: u64,
}

impl Writer {
    pub(crate) fn send(&self, store: &Store, op: Op) -> Result<()> {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let op = match queue.as_ref() {
            Some(q) => match q.send(op) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendError(op)) => op,
            },
            None => op,
        };
        let (q, rx) = mpsc::unbounded_channel();
        // The task gets a store without this queue, so it ends when the
        // last `Store` handle (and with it the sender) is dropped.
        tokio::spawn(run(store.detached(), rx, self.stats.clone()));
        q.send(op)
            .map_err(|_| StoreError::Invalid("办件写入任务未能启动".into()))?;
        *queue = Some(q);
        Ok(())
    }

    pub(crate) fn stats(&self) -> WriterStats {
        WriterStats {
            batches: self.stats.batches.load(Ordering::Relaxed),
            steps: self.stats.steps.load(Ordering::Relaxed),
            fallbacks: self.stats.fallbacks.load(Ordering::Relaxed),
        }
    }
}

async fn run(store: Store, mut rx: mpsc::UnboundedReceiver<Op>, stats: Arc<Counters>) {
    let mut cache = HashMap::new();
    while let Some(op) = rx.recv().await {
        let mut batch = vec![op];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        store.commit_batch(&mut cache, batch, &stats).await;
    }
}

/// A case as the batch sees it: its stored form, and what the batch made.
struct Working {
    case: Case,
    seq: i64,
    /// Parts as stored before the batch (None for a case the batch created).
    stored_parts: Option<Vec<(String, String, Option<String>)>>,
    dirty: bool,
    created_at: String,
    updated_at: String,
}

fn part_rows(c: &Case) -> Vec<(String, String, Option<String>)> {
    c.parts
        .iter()
        .map(|p| {
            (
                p.department.clone(),
                p.state.to_string(),
                p.deadline.map(|d| d.to_string()),
            )
        })
        .collect()
}

enum Outcome {
    Submitted(SubmitOutcome),
    Applied(Case, Vec<Notice>),
}

/// The rows one batch appends, each serialised as a JSON array element.
#[derive(Default)]
struct Rows {
    events: Vec<(String, i64, String, String, String)>,
    outbox: Vec<(String, String, String)>,
    audit: Vec<AuditRow>,
}

type AuditRow = (
    String,
    Option<i64>,
    String,
    String,
    &'static str,
    String,
    Option<String>,
    String,
);

impl Rows {
    fn lens(&self) -> (usize, usize, usize) {
        (self.events.len(), self.outbox.len(), self.audit.len())
    }

    fn truncate(&mut self, (e, o, a): (usize, usize, usize)) {
        self.events.truncate(e);
        self.outbox.truncate(o);
        self.audit.truncate(a);
    }
}

impl Store {
    /// Counters of the group-commit writer of this store.
    pub fn case_writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }

    /// A handle on the same pool with its own (unstarted) writer.
    fn detached(&self) -> Store {
        Store {
            pool: self.pool.clone(),
            backend: self.backend,
            writer: Arc::default(),
        }
    }

    /// The JSON array bound as `$1`, as a table with columns `value` (one
    /// element) and `key` (its position).
    fn elems(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "json_each($1) AS j",
            Backend::Postgres => "json_array_elements($1::json) WITH ORDINALITY AS j(value, key)",
        }
    }

    async fn commit_batch(
        &self,
        cache: &mut HashMap<String, (Case, i64)>,
        ops: Vec<Op>,
        stats: &Counters,
    ) {
        match self.write_batch(cache, &ops).await {
            Ok((outcomes, working)) => {
                stats.batches.fetch_add(1, Ordering::Relaxed);
                stats.steps.fetch_add(ops.len() as u64, Ordering::Relaxed);
                for (id, w) in working {
                    if w.case.status.is_terminal() {
                        cache.remove(&id);
                    } else {
                        if cache.len() >= CACHE_CAP {
                            cache.clear();
                        }
                        cache.insert(id, (w.case, w.seq));
                    }
                }
                for (op, outcome) in ops.into_iter().zip(outcomes) {
                    match (op, outcome) {
                        (Op::Submit { reply, .. }, r) => {
                            let _ = reply.send(r.map(|o| match o {
                                Outcome::Submitted(s) => s,
                                Outcome::Applied(..) => unreachable!("submit answered as apply"),
                            }));
                        }
                        (Op::Apply { reply, .. }, r) => {
                            let _ = reply.send(r.map(|o| match o {
                                Outcome::Applied(c, n) => (c, n),
                                Outcome::Submitted(_) => unreachable!("apply answered as submit"),
                            }));
                        }
                    }
                }
            }
            Err(_) => {
                // Nothing of the batch was kept; each step on its own.
                stats.fallbacks.fetch_add(1, Ordering::Relaxed);
                for op in ops {
                    match op {
                        Op::Submit { case, actor, reply } => {
                            let _ = reply.send(self.submit_direct(&case, &actor).await);
                        }
                        Op::Apply {
                            id,
                            event,
                            actor,
                            now,
                            cal,
                            follow_up,
                            reply,
                        } => {
                            let r = self
                                .apply_direct(&id, &event, &actor, now, &cal, &*follow_up)
                                .await;
                            if let Ok((c, _)) = &r {
                                cache.remove(&c.id);
                            }
                            let _ = reply.send(r);
                        }
                    }
                }
            }
        }
    }

    /// Runs one batch in one transaction. The outer error means nothing was
    /// committed; the inner results are the steps' own answers.
    async fn write_batch(
        &self,
        cache: &mut HashMap<String, (Case, i64)>,
        ops: &[Op],
    ) -> Result<(Vec<Result<Outcome>>, HashMap<String, Working>)> {
        let mut tx = self.begin().await?;
        let elems = self.elems();

        // The batch's existing cases, from the cache when still current.
        let mut ids: Vec<&str> = ops
            .iter()
            .filter_map(|op| match op {
                Op::Apply { id, .. } => Some(id.as_str()),
                Op::Submit { .. } => None,
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut working: HashMap<String, Working> = HashMap::new();
        if !ids.is_empty() {
            let wanted: Vec<(&str, i64)> = ids
                .iter()
                .map(|id| (*id, cache.get(*id).map_or(-1, |(_, seq)| *seq)))
                .collect();
            let lock = match self.backend {
                Backend::Postgres => " FOR UPDATE OF c",
                Backend::Sqlite => "",
            };
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT c.id, c.seq, c.updated_at, \
                 CASE WHEN c.seq = CAST(j.value->>1 AS BIGINT) THEN NULL ELSE c.snapshot END AS snapshot \
                 FROM cases c JOIN {elems} ON c.id = j.value->>0 ORDER BY c.id{lock}"
            )))
            .bind(json(&wanted)?)
            .fetch_all(&mut *tx)
            .await?;
            for r in rows {
                let id: String = r.try_get(0)?;
                let seq: i64 = r.try_get(1)?;
                let case = match r.try_get::<Option<String>, _>(3)? {
                    Some(s) => case_from(&s)?,
                    None => match cache.remove(&id) {
                        Some((c, _)) => c,
                        None => return Err(StoreError::Corrupt(format!("办件缓存缺少 {id}"))),
                    },
                };
                working.insert(
                    id,
                    Working {
                        stored_parts: Some(part_rows(&case)),
                        case,
                        seq,
                        dirty: false,
                        created_at: String::new(),
                        updated_at: r.try_get(2)?,
                    },
                );
            }
        }

        // Idempotency keys already used, by applicant.
        let keys: Vec<(&str, &str)> = ops
            .iter()
            .filter_map(|op| match op {
                Op::Submit { case, .. } => {
                    Some((case.applicant.as_str(), case.idempotency_key.as_str()))
                }
                Op::Apply { .. } => None,
            })
            .collect();
        let mut used: HashMap<(String, String), String> = HashMap::new();
        if !keys.is_empty() {
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT c.applicant, c.idempotency_key, c.id FROM cases c JOIN {elems} \
                 ON c.applicant = j.value->>0 AND c.idempotency_key = j.value->>1"
            )))
            .bind(json(&keys)?)
            .fetch_all(&mut *tx)
            .await?;
            for r in rows {
                used.insert((r.try_get(0)?, r.try_get(1)?), r.try_get(2)?);
            }
        }

        // The steps, in arrival order, in memory.
        let mut rows = Rows::default();
        let mut new_cases: Vec<String> = Vec::new();
        let mut outcomes = Vec::with_capacity(ops.len());
        for op in ops {
            outcomes.push(match op {
                Op::Submit { case, actor, .. } => {
                    submit_in(case, actor, &mut used, &mut working, &mut rows).inspect(|o| {
                        if let Outcome::Submitted(SubmitOutcome::Created(id)) = o {
                            new_cases.push(id.clone());
                        }
                    })
                }
                Op::Apply {
                    id,
                    event,
                    actor,
                    now,
                    cal,
                    follow_up,
                    ..
                } => match working.get_mut(id) {
                    None => Err(StoreError::NotFound(format!("办件 {id}"))),
                    Some(w) => {
                        let mark = rows.lens();
                        let r = apply_in(w, event, actor, *now, cal, &**follow_up, &mut rows);
                        if r.is_err() {
                            rows.truncate(mark);
                        }
                        r
                    }
                },
            });
        }

        // One statement per table for the whole batch.
        let inserts: Vec<_> = new_cases
            .iter()
            .filter_map(|id| working.get(id))
            .map(|w| {
                let c = &w.case;
                Ok((
                    &c.id,
                    &c.applicant,
                    &c.matter_code,
                    &c.idempotency_key,
                    c.status.to_string(),
                    json(c)?,
                    w.seq,
                    &w.created_at,
                    &w.updated_at,
                ))
            })
            .collect::<Result<_>>()?;
        if !inserts.is_empty() {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO cases (id, applicant, matter_code, idempotency_key, status, snapshot, seq, created_at, updated_at) \
                 SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3, j.value->>4, j.value->>5, \
                 CAST(j.value->>6 AS BIGINT), j.value->>7, j.value->>8 FROM {elems} ORDER BY j.key"
            )))
            .bind(json(&inserts)?)
            .execute(&mut *tx)
            .await?;
        }
        let updates: Vec<_> = working
            .values()
            .filter(|w| w.dirty && w.stored_parts.is_some())
            .map(|w| {
                Ok((
                    &w.case.id,
                    w.case.status.to_string(),
                    json(&w.case)?,
                    w.seq,
                    &w.updated_at,
                ))
            })
            .collect::<Result<_>>()?;
        if !updates.is_empty() {
            let done = sqlx::query(AssertSqlSafe(format!(
                "UPDATE cases SET status = j.value->>1, snapshot = j.value->>2, \
                 seq = CAST(j.value->>3 AS BIGINT), updated_at = j.value->>4 \
                 FROM {elems} WHERE cases.id = j.value->>0"
            )))
            .bind(json(&updates)?)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != updates.len() as u64 {
                return Err(StoreError::Conflict("办件已被并发修改".into()));
            }
        }
        if !rows.events.is_empty() {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO case_events (case_id, seq, at, actor, event) \
                 SELECT j.value->>0, CAST(j.value->>1 AS BIGINT), j.value->>2, j.value->>3, j.value->>4 \
                 FROM {elems} ORDER BY j.key"
            )))
            .bind(json(&rows.events)?)
            .execute(&mut *tx)
            .await?;
        }
        // Parts: all of a new case's; of an existing case only those whose
        // state or deadline changed (a changed set of parts is rewritten).
        let mut part_inserts = Vec::new();
        let mut part_updates = Vec::new();
        let mut rewrite = Vec::new();
        for w in working.values().filter(|w| w.dirty) {
            let now = part_rows(&w.case);
            let all = |into: &mut Vec<_>| {
                for (p, (dept, state, deadline)) in w.case.parts.iter().zip(&now) {
                    into.push((
                        &w.case.id,
                        dept.clone(),
                        &p.item_code,
                        state.clone(),
                        deadline.clone(),
                    ));
                }
            };
            match &w.stored_parts {
                None => all(&mut part_inserts),
                Some(before)
                    if before.len() == now.len()
                        && before.iter().zip(&now).all(|(b, n)| b.0 == n.0) =>
                {
                    for (b, n) in before.iter().zip(&now) {
                        if b != n {
                            part_updates.push((&w.case.id, n.0.clone(), n.1.clone(), n.2.clone()));
                        }
                    }
                }
                Some(_) => {
                    rewrite.push(&w.case.id);
                    all(&mut part_inserts);
                }
            }
        }
        if !rewrite.is_empty() {
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM case_parts WHERE case_id IN (SELECT j.value FROM {elems})"
            )))
            .bind(json(&rewrite)?)
            .execute(&mut *tx)
            .await?;
        }
        if !part_inserts.is_empty() {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO case_parts (case_id, department, item_code, state, deadline) \
                 SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3, j.value->>4 FROM {elems}"
            )))
            .bind(json(&part_inserts)?)
            .execute(&mut *tx)
            .await?;
        }
        if !part_updates.is_empty() {
            let done = sqlx::query(AssertSqlSafe(format!(
                "UPDATE case_parts SET state = j.value->>2, deadline = j.value->>3 FROM {elems} \
                 WHERE case_parts.case_id = j.value->>0 AND case_parts.department = j.value->>1"
            )))
            .bind(json(&part_updates)?)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != part_updates.len() as u64 {
                return Err(StoreError::Conflict("办件部门索引与快照不一致".into()));
            }
        }
        if !rows.outbox.is_empty() {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO outbox (case_id, notice, created_at) \
                 SELECT j.value->>0, j.value->>1, j.value->>2 FROM {elems} ORDER BY j.key"
            )))
            .bind(json(&rows.outbox)?)
            .execute(&mut *tx)
            .await?;
        }
        if !rows.audit.is_empty() {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO audit_log (at, actor_id, actor_name, actor_role, action, target_type, target_id, before, after) \
                 SELECT j.value->>0, CAST(j.value->>1 AS BIGINT), j.value->>2, j.value->>3, j.value->>4, 'case', \
                 j.value->>5, j.value->>6, j.value->>7 FROM {elems} ORDER BY j.key"
            )))
            .bind(json(&rows.audit)?)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok((outcomes, working))
    }
}

fn audit_row(
    actor: &Actor,
    action: &'static str,
    id: &str,
    before: Option<serde_json::Value>,
    after: serde_json::Value,
) -> AuditRow {
    (
        ts(Utc::now()),
        actor.id,
        actor.name.clone(),
        actor.role.clone(),
        action,
        id.to_owned(),
        before.map(|v| v.to_string()),
        after.to_string(),
    )
}

/// A submission inside a batch: the earlier case for a used idempotency
/// key, otherwise a new case with its history as events.
fn submit_in(
    case: &Case,
    actor: &Actor,
    used: &mut HashMap<(String, String), String>,
    working: &mut HashMap<String, Working>,
    rows: &mut Rows,
) -> Result<Outcome> {
    let key = (case.applicant.clone(), case.idempotency_key.clone());
    if let Some(id) = used.get(&key) {
        return Ok(Outcome::Submitted(SubmitOutcome::Existing(id.clone())));
    }
    if working.contains_key(&case.id) {
        return Err(StoreError::Conflict(format!("办件编号 {} 已存在", case.id)));
    }
    let mut c = case.clone();
    c.submitted_at = storage_precision(c.submitted_at);
    for (at, _, _) in &mut c.history {
        *at = storage_precision(*at);
    }
    for (i, (at, who, ev)) in c.history.iter().enumerate() {
        rows.events
            .push((c.id.clone(), i as i64 + 1, ts(*at), who.clone(), json(ev)?));
    }
    rows.audit.push(audit_row(
        actor,
        "case.submit",
        &c.id,
        None,
        serde_json::json!({"matter": c.matter_code, "applicant": c.applicant, "parts": c.parts.len()}),
    ));
    used.insert(key, c.id.clone());
    let id = c.id.clone();
    let now = ts(Utc::now());
    working.insert(
        id.clone(),
        Working {
            seq: c.history.len() as i64,
            case: c,
            stored_parts: None,
            dirty: true,
            created_at: now.clone(),
            updated_at: now,
        },
    );
    Ok(Outcome::Submitted(SubmitOutcome::Created(id)))
}

/// An event (and its follow-up) inside a batch. On error the working case
/// is left as it was; the caller drops the rows this step added.
fn apply_in(
    w: &mut Working,
    event: &Event,
    actor: &Actor,
    now: DateTime<Utc>,
    cal: &WorkCalendar,
    follow_up: &(dyn Fn(&Case) -> Option<(Event, Actor)> + Send + Sync),
    rows: &mut Rows,
) -> Result<Outcome> {
    let mut case = w.case.clone();
    let mut seq = w.seq;
    let mut last = String::new();
    let mut notices = step(&mut case, &mut seq, event, actor, now, cal, rows, &mut last)?;
    if let Some((next, by)) = follow_up(&case) {
        notices.extend(step(
            &mut case, &mut seq, &next, &by, now, cal, rows, &mut last,
        )?);
    }
    w.case = case;
    w.seq = seq;
    w.dirty = true;
    w.updated_at = last;
    Ok(Outcome::Applied(w.case.clone(), notices))
}

/// One event, as `cases::append_event` does it, into the batch's rows.
#[allow(clippy::too_many_arguments)]
fn step(
    case: &mut Case,
    seq: &mut i64,
    event: &Event,
    actor: &Actor,
    now: DateTime<Utc>,
    cal: &WorkCalendar,
    rows: &mut Rows,
    at: &mut String,
) -> Result<Vec<Notice>> {
    let now = storage_precision(now);
    let now = case
        .history
        .last()
        .map_or(now, |(last, _, _)| now.max(*last));
    let before = case.status.to_string();
    let notices = case
        .apply(event, now, cal)
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    *seq += 1;
    *at = ts(now);
    rows.events.push((
        case.id.clone(),
        *seq,
        at.clone(),
        event.actor(),
        json(event)?,
    ));
    for n in &notices {
        rows.outbox.push((case.id.clone(), json(n)?, at.clone()));
    }
    rows.audit.push(audit_row(
        actor,
        "case.event",
        &case.id,
        Some(serde_json::json!({"status": before})),
        serde_json::json!({"status": case.status.to_string(), "event": event}),
    ));
    Ok(notices)
}
