//! Group commit for approval cases. Every case write of this process goes
//! to one writer, which takes whatever steps are waiting, applies them in
//! order through the domain, writes all their rows in ONE transaction with
//! one set-based statement per table, commits, and only then answers each
//! caller. A step is therefore never acknowledged before it is durable, but
//! many steps share one commit (one fsync). The writer is a pipeline: the
//! next batch is decided while the previous one commits.
//!
//! Invariants:
//! - replies are sent only after the commit that contains the step;
//! - a step the domain refuses changes nothing and does not disturb the
//!   other steps of its batch;
//! - when the batch's SQL fails (a case id taken, a case changed by another
//!   writer, a lost connection), nothing of it is kept: every step is
//!   retried alone through the per-case transaction in `cases.rs`, which
//!   reports its own error, and the decider's cache is dropped;
//! - the in-memory snapshots are only a cache: a batch writes a case only
//!   if its stored `seq` is still the one the batch started from (and
//!   `UNIQUE (case_id, seq)` holds), so another writer's change (the
//!   scheduler, another process) is never overwritten; a refusal decided on
//!   a cached case is decided again on the stored case before it is given.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use sqlx::{Any, AnyConnection, AssertSqlSafe, Connection, Row, Transaction};
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

// Each op moves once through a channel; boxing the larger variant buys nothing.
#[allow(clippy::large_enum_variant)]
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

/// The writer is a pipeline of two tasks: this one decides (loads, applies
/// through the domain, builds the batch's statements) while `persist`
/// writes and commits the batch before it. Deciding runs ahead on its
/// cache, which therefore holds the state every batch in flight will have
/// made; it reads the database only when no batch is in flight, and a
/// failed batch (`epoch` moves on) makes it drop the cache.
async fn run(store: Store, mut rx: mpsc::UnboundedReceiver<Op>, stats: Arc<Counters>) {
    let epoch = Arc::new(AtomicU64::new(0));
    let (to_persist, persist_rx) = mpsc::channel(1);
    let (done, mut done_rx) = mpsc::unbounded_channel();
    tokio::spawn(persist(
        store.clone(),
        persist_rx,
        done,
        stats,
        epoch.clone(),
    ));
    let mut d = Decider::default();
    while let Some(op) = rx.recv().await {
        let mut ops = vec![op];
        while ops.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => ops.push(op),
                Err(_) => break,
            }
        }
        while let Ok(no) = done_rx.try_recv() {
            d.finished(no);
        }
        if d.needs_database(&ops) && !d.drain(&mut done_rx).await {
            return;
        }
        let seen = epoch.load(Ordering::Acquire);
        if seen != d.epoch {
            d.cache.clear();
            d.epoch = seen;
            // Cases of the failed batches may be in flight again (redone
            // step by step); wait for them before reading the database.
            if !d.drain(&mut done_rx).await {
                return;
            }
        }
        let plan = store.prepare(&mut d, &ops).await.ok();
        d.next += 1;
        let batch = Prepared {
            no: d.next,
            epoch: d.epoch,
            ops,
            plan,
        };
        if to_persist.send(batch).await.is_err() {
            return;
        }
    }
}

/// (applicant, idempotency key) → case id, of the cases a batch creates.
type CreatedKeys = Vec<((String, String), String)>;

/// The deciding task's state.
#[derive(Default)]
struct Decider {
    /// Each case as it will be once every batch in flight has committed.
    cache: HashMap<String, (Case, i64)>,
    epoch: u64,
    next: u64,
    /// Batches handed to `persist` and not yet done, with the idempotency
    /// keys they create: (applicant, key) → case id.
    in_flight: VecDeque<(u64, CreatedKeys)>,
}

impl Decider {
    /// Batch `no` is done; `evict` are cases changed outside the batch.
    fn finished(&mut self, (no, evict): (u64, Vec<String>)) {
        self.in_flight.retain(|(n, _)| *n > no);
        for id in evict {
            self.cache.remove(&id);
        }
    }

    /// Waits until no batch is in flight; false when the persister stopped.
    async fn drain(&mut self, done: &mut mpsc::UnboundedReceiver<(u64, Vec<String>)>) -> bool {
        while !self.in_flight.is_empty() {
            match done.recv().await {
                Some(no) => self.finished(no),
                None => return false,
            }
        }
        true
    }

    fn needs_database(&self, ops: &[Op]) -> bool {
        ops.iter().any(|op| match op {
            Op::Apply { id, .. } => !self.cache.contains_key(id),
            Op::Submit { .. } => false,
        })
    }
}

/// A batch decided in memory: the steps' answers and the statements that
/// make them durable (`None` when deciding failed: each step then goes
/// alone).
struct Prepared {
    no: u64,
    epoch: u64,
    ops: Vec<Op>,
    plan: Option<(Vec<Result<Outcome>>, Script)>,
}

/// Writes and commits each decided batch in order, then answers its steps;
/// a batch that cannot be written is redone step by step.
async fn persist(
    store: Store,
    mut rx: mpsc::Receiver<Prepared>,
    done: mpsc::UnboundedSender<(u64, Vec<String>)>,
    stats: Arc<Counters>,
    epoch: Arc<AtomicU64>,
) {
    // The writer's own connection, taken out of the pool (so `Store::close`
    // does not wait for it) and replaced after any failed batch.
    let mut conn = None;
    let mut checkpoint = Checkpointer::default();
    while let Some(batch) = rx.recv().await {
        let mut evict = Vec::new();
        let current = batch.epoch == epoch.load(Ordering::Acquire);
        let written = match batch.plan {
            Some((outcomes, script)) if current => {
                match store.write_script(&mut conn, script).await {
                    Ok(()) => Some(outcomes),
                    Err(_) => {
                        conn = None;
                        None
                    }
                }
            }
            _ => None,
        };
        match written {
            Some(outcomes) => {
                stats.batches.fetch_add(1, Ordering::Relaxed);
                stats
                    .steps
                    .fetch_add(batch.ops.len() as u64, Ordering::Relaxed);
                checkpoint.after_commit(&store);
                let recheck = answer(batch.ops, outcomes);
                evict = recheck
                    .iter()
                    .filter_map(|op| match op {
                        Op::Apply { id, .. } => Some(id.clone()),
                        Op::Submit { .. } => None,
                    })
                    .collect();
                store.one_by_one(recheck).await;
            }
            None => {
                // Nothing of the batch was kept; each step on its own, and
                // the decider's cache is no longer to be trusted.
                if current {
                    epoch.fetch_add(1, Ordering::AcqRel);
                }
                stats.fallbacks.fetch_add(1, Ordering::Relaxed);
                store.one_by_one(batch.ops).await;
            }
        }
        if done.send((batch.no, evict)).is_err() {
            return;
        }
    }
}

/// Answers each step; returns the steps to decide again alone.
fn answer(ops: Vec<Op>, outcomes: Vec<Result<Outcome>>) -> Vec<Op> {
    let mut recheck = Vec::new();
    for (op, outcome) in ops.into_iter().zip(outcomes) {
        match (op, outcome) {
            (op, Ok(Outcome::Recheck)) => recheck.push(op),
            (Op::Submit { reply, .. }, r) => {
                let _ = reply.send(r.map(|o| match o {
                    Outcome::Submitted(s) => s,
                    Outcome::Applied(..) | Outcome::Recheck => {
                        unreachable!("submit answered as apply")
                    }
                }));
            }
            (Op::Apply { reply, .. }, r) => {
                let _ = reply.send(r.map(|o| match o {
                    Outcome::Applied(c, n) => (c, n),
                    Outcome::Submitted(_) | Outcome::Recheck => {
                        unreachable!("apply answered as submit")
                    }
                }));
            }
        }
    }
    recheck
}

/// SQLite copies the write-ahead log back into the database (a checkpoint)
/// when a commit finds the log long (1,000 pages by default); done inside
/// the writer's commit that stalls every step of the batch for tens of
/// milliseconds. So every `EVERY` batches a passive checkpoint runs on
/// another connection, beside the writer, and the writer's own connection
/// checkpoints only at `WRITER_LIMIT` pages: by then nearly everything is
/// copied already, its checkpoint is short, and the log starts over from
/// the beginning (a log that only ever grows is what passive checkpoints
/// alone would give under steady load).
#[derive(Default)]
struct Checkpointer {
    batches: u32,
    running: Arc<std::sync::atomic::AtomicBool>,
}

impl Checkpointer {
    const EVERY: u32 = 16;
    const WRITER_LIMIT: u32 = 4000;

    fn after_commit(&mut self, store: &Store) {
        if store.backend != Backend::Sqlite {
            return;
        }
        self.batches += 1;
        if self.batches < Self::EVERY || self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        self.batches = 0;
        let (pool, running) = (store.pool.clone(), self.running.clone());
        tokio::spawn(async move {
            // A failed checkpoint is retried with the next one; the log
            // only grows meanwhile.
            let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await;
            running.store(false, Ordering::Release);
        });
    }
}

/// The writer's connection: out of the pool, rarely checkpointing itself.
struct WriterConn {
    conn: AnyConnection,
    /// SQLite's `total_changes()` on this connection after its last batch:
    /// a script's own count of changed rows is the difference. (sqlx's
    /// per-statement count is `sqlite3_changes()`, which statements that
    /// change nothing, such as `BEGIN`, report from the statement before.)
    total_changes: i64,
}

async fn writer_connection(store: &Store) -> Result<WriterConn> {
    let mut conn = store.pool.acquire().await?.detach();
    let mut total_changes = 0;
    if store.backend == Backend::Sqlite {
        sqlx::query(AssertSqlSafe(format!(
            "PRAGMA wal_autocheckpoint = {}",
            Checkpointer::WRITER_LIMIT
        )))
        .execute(&mut conn)
        .await?;
        total_changes = sqlx::query_scalar("SELECT total_changes()")
            .fetch_one(&mut conn)
            .await?;
    }
    Ok(WriterConn {
        conn,
        total_changes,
    })
}

/// A case as the batch sees it: its stored form, and what the batch made.
struct Working {
    case: Case,
    seq: i64,
    /// `seq` as read at the start of the batch.
    stored_seq: i64,
    /// Read from the decider's cache rather than the database.
    cached: bool,
    /// Parts as stored before the batch (None for a case the batch created).
    stored_parts: Option<Vec<(String, String, Option<String>)>>,
    dirty: bool,
    created_at: String,
    updated_at: String,
}

impl Working {
    /// A case as stored (or as the batches in flight will store it).
    fn stored(case: Case, seq: i64) -> Working {
        Working {
            stored_parts: Some(part_rows(&case)),
            case,
            seq,
            stored_seq: seq,
            cached: false,
            dirty: false,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }
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
    /// Refused on the cached case, which another writer may have changed:
    /// decided again after the batch, alone, on the stored case.
    Recheck,
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
    fn elems(&self) -> String {
        elems(self.backend, 1)
    }

    /// Each step in a transaction of its own (`cases.rs`).
    async fn one_by_one(&self, ops: Vec<Op>) {
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
                    let _ = reply.send(r);
                }
            }
        }
    }

    /// One transaction holding the batch's statements.
    async fn write_script(&self, conn: &mut Option<WriterConn>, script: Script) -> Result<()> {
        let conn = match conn {
            Some(c) => c,
            None => conn.insert(writer_connection(self).await?),
        };
        match self.backend {
            Backend::Sqlite => script.run_sqlite(conn).await,
            Backend::Postgres => {
                let mut tx = conn.conn.begin().await?;
                script.run_postgres(&mut tx).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    }

    /// Decides a batch in memory: the steps' answers and the statements
    /// that make them durable. Updates the decider's cache as if the batch
    /// commits. An error means nothing was decided.
    async fn prepare(&self, d: &mut Decider, ops: &[Op]) -> Result<(Vec<Result<Outcome>>, Script)> {
        let elems = self.elems();
        let cache = &mut d.cache;

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
        // Cached cases first; the rest from the database (the caller saw
        // to it that no batch is in flight then). Anything another writer
        // changes meanwhile fails the `seq` guard at write time.
        let missing: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| !cache.contains_key(*id))
            .collect();
        for id in &ids {
            if let Some((case, seq)) = cache.remove(*id) {
                let w = Working {
                    cached: true,
                    ..Working::stored(case, seq)
                };
                working.insert((*id).to_owned(), w);
            }
        }
        if !missing.is_empty() {
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT c.id, c.seq, c.snapshot FROM cases c JOIN {elems} ON c.id = j.value->>0"
            )))
            .bind(json(&missing.iter().map(|id| (id,)).collect::<Vec<_>>())?)
            .fetch_all(&self.pool)
            .await?;
            for r in rows {
                let case = case_from(&r.try_get::<String, _>(2)?)?;
                working.insert(r.try_get(0)?, Working::stored(case, r.try_get(1)?));
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
        // Keys of submissions still in flight, then those committed.
        let mut used: HashMap<(String, String), String> = d
            .in_flight
            .iter()
            .flat_map(|(_, keys)| keys.iter().cloned())
            .collect();
        if !keys.is_empty() {
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT c.applicant, c.idempotency_key, c.id FROM cases c JOIN {elems} \
                 ON c.applicant = j.value->>0 AND c.idempotency_key = j.value->>1"
            )))
            .bind(json(&keys)?)
            .fetch_all(&self.pool)
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
                        match r {
                            Err(StoreError::Invalid(_)) if w.cached => {
                                rows.truncate(mark);
                                Ok(Outcome::Recheck)
                            }
                            Err(e) => {
                                rows.truncate(mark);
                                Err(e)
                            }
                            ok => ok,
                        }
                    }
                },
            });
        }

        // One statement per table for the whole batch, each reading its
        // rows from one JSON array parameter.
        let mut script = Script::default();
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
                    raw(c)?,
                    w.seq,
                    &w.created_at,
                    &w.updated_at,
                ))
            })
            .collect::<Result<_>>()?;
        script.add(
            "INSERT INTO cases (id, applicant, matter_code, idempotency_key, status, snapshot, seq, created_at, updated_at) \
             SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3, j.value->>4, CAST(j.value->5 AS TEXT), \
             CAST(j.value->>6 AS BIGINT), j.value->>7, j.value->>8 FROM {rows} ORDER BY j.key",
            &inserts,
            inserts.len(),
        )?;
        // `seq` must still be what this batch read: the guard against a
        // writer this batch does not know of.
        let updates: Vec<_> = working
            .values()
            .filter(|w| w.dirty && w.stored_parts.is_some())
            .map(|w| {
                Ok((
                    &w.case.id,
                    w.case.status.to_string(),
                    raw(&w.case)?,
                    w.seq,
                    &w.updated_at,
                    w.stored_seq,
                ))
            })
            .collect::<Result<_>>()?;
        script.add(
            "UPDATE cases SET status = j.value->>1, snapshot = CAST(j.value->2 AS TEXT), \
             seq = CAST(j.value->>3 AS BIGINT), updated_at = j.value->>4 \
             FROM {rows} WHERE cases.id = j.value->>0 AND cases.seq = CAST(j.value->>5 AS BIGINT)",
            &updates,
            updates.len(),
        )?;
        script.add(
            "INSERT INTO case_events (case_id, seq, at, actor, event) \
             SELECT j.value->>0, CAST(j.value->>1 AS BIGINT), j.value->>2, j.value->>3, j.value->>4 \
             FROM {rows} ORDER BY j.key",
            &rows.events,
            rows.events.len(),
        )?;
        // Parts: all of a new case's; of an existing case only those whose
        // state or deadline changed (a changed set of parts is rewritten).
        let mut parts = Vec::new();
        let mut rewrite = Vec::new();
        let mut rewritten = 0;
        for w in working.values().filter(|w| w.dirty) {
            let now = part_rows(&w.case);
            let same_set = w.stored_parts.as_ref().is_some_and(|before| {
                before.len() == now.len() && before.iter().zip(&now).all(|(b, n)| b.0 == n.0)
            });
            if let Some(before) = w.stored_parts.as_ref().filter(|_| !same_set) {
                rewrite.push(&w.case.id);
                rewritten += before.len();
            }
            for (i, (p, n)) in w.case.parts.iter().zip(now).enumerate() {
                let changed = !same_set || w.stored_parts.as_ref().is_some_and(|b| b[i] != n);
                if changed {
                    parts.push((&w.case.id, n.0, &p.item_code, n.1, n.2));
                }
            }
        }
        script.add(
            "DELETE FROM case_parts WHERE case_id IN (SELECT j.value->>0 FROM {rows})",
            &rewrite.iter().map(|id| (id,)).collect::<Vec<_>>(),
            rewritten,
        )?;
        // `WHERE true` lets SQLite parse the upsert after a SELECT.
        script.add(
            "INSERT INTO case_parts (case_id, department, item_code, state, deadline) \
             SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3, j.value->>4 FROM {rows} WHERE true \
             ON CONFLICT (case_id, department) DO UPDATE SET state = excluded.state, deadline = excluded.deadline",
            &parts,
            parts.len(),
        )?;
        script.add(
            "INSERT INTO outbox (case_id, notice, created_at) \
             SELECT j.value->>0, j.value->>1, j.value->>2 FROM {rows} ORDER BY j.key",
            &rows.outbox,
            rows.outbox.len(),
        )?;
        script.add(
            "INSERT INTO audit_log (at, actor_id, actor_name, actor_role, action, target_type, target_id, before, after) \
             SELECT j.value->>0, CAST(j.value->>1 AS BIGINT), j.value->>2, j.value->>3, j.value->>4, 'case', \
             j.value->>5, j.value->>6, j.value->>7 FROM {rows} ORDER BY j.key",
            &rows.audit,
            rows.audit.len(),
        )?;
        // The cache now holds what this batch will have made.
        let mut created = Vec::new();
        for (id, w) in working {
            if w.stored_parts.is_none() && w.dirty {
                created.push((
                    (w.case.applicant.clone(), w.case.idempotency_key.clone()),
                    id.clone(),
                ));
            }
            if w.case.status.is_terminal() {
                continue;
            }
            if cache.len() >= CACHE_CAP {
                cache.clear();
            }
            cache.insert(id, (w.case, w.seq));
        }
        d.in_flight.push_back((d.next + 1, created));
        Ok((outcomes, script))
    }
}

/// The JSON array bound as `$n`, as a table with columns `value` (one
/// element) and `key` (its position).
fn elems(backend: Backend, n: usize) -> String {
    match backend {
        // JSONB elements: `->>` reads them without parsing text again.
        Backend::Sqlite => format!("jsonb_each(${n}) AS j"),
        Backend::Postgres => {
            format!("json_array_elements(${n}::json) WITH ORDINALITY AS j(value, key)")
        }
    }
}

/// The batch's writes. On SQLite they go to the database as one script
/// (one round trip to sqlx's SQLite thread); PostgreSQL takes one statement
/// per round trip. Either way the rows changed must add up to the rows
/// sent, or the batch is abandoned.
#[derive(Default)]
struct Script {
    statements: Vec<(&'static str, String)>,
    expected: u64,
}

impl Script {
    /// `sql` reads its rows from `{rows}`; `changes` is how many rows it
    /// must change.
    fn add<T: serde::Serialize>(
        &mut self,
        sql: &'static str,
        rows: &[T],
        changes: usize,
    ) -> Result<()> {
        if !rows.is_empty() {
            self.statements.push((sql, json(&rows)?));
            self.expected += changes as u64;
        }
        Ok(())
    }

    /// SQLite: `BEGIN IMMEDIATE` and every statement in one round trip to
    /// sqlx's SQLite thread, then `COMMIT` once the changed rows add up.
    /// The connection is the writer's alone, so the transaction is managed
    /// in SQL rather than through sqlx's `Transaction`.
    async fn run_sqlite(self, w: &mut WriterConn) -> Result<()> {
        let total = w.total_changes + self.expected as i64;
        let mut sql = String::from("BEGIN IMMEDIATE;\n");
        for (i, (s, _)) in self.statements.iter().enumerate() {
            sql.push_str(&s.replace("{rows}", &elems(Backend::Sqlite, i + 1)));
            sql.push_str(";\n");
        }
        // SQLite has no conditional abort outside triggers: when the rows
        // changed do not add up, `json()` of a non-JSON text fails the
        // script here, before its COMMIT.
        let n = self.statements.len() + 1;
        sql.push_str(&format!(
            "SELECT CASE WHEN total_changes() = ${n} THEN 1 ELSE json('rows changed do not add up') END;\nCOMMIT;"
        ));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (_, rows) in self.statements {
            q = q.bind(rows);
        }
        match q.bind(total).execute(&mut w.conn).await {
            Ok(_) => {
                w.total_changes = total;
                Ok(())
            }
            Err(e) => {
                // Nothing may stay half-written (no transaction open is fine);
                // the counter also counted the statements rolled back.
                let _ = sqlx::query("ROLLBACK").execute(&mut w.conn).await;
                w.total_changes = sqlx::query_scalar("SELECT total_changes()")
                    .fetch_one(&mut w.conn)
                    .await?;
                Err(StoreError::Conflict(format!("办件批量写入未提交：{e}")))
            }
        }
    }

    async fn run_postgres(self, tx: &mut Transaction<'_, Any>) -> Result<()> {
        let mut changed = 0;
        for (s, rows) in self.statements {
            let sql = s.replace("{rows}", &elems(Backend::Postgres, 1));
            changed += sqlx::query(AssertSqlSafe(sql))
                .bind(rows)
                .execute(&mut **tx)
                .await?
                .rows_affected();
        }
        Self::check(self.expected, changed)
    }

    fn check(expected: u64, changed: u64) -> Result<()> {
        if changed != expected {
            return Err(StoreError::Conflict(format!(
                "办件批量写入应改 {expected} 行，实改 {changed} 行"
            )));
        }
        Ok(())
    }
}

/// A value as JSON embedded unquoted in the batch's array: the snapshot
/// is stored as text without being escaped into a string and back.
fn raw<T: serde::Serialize>(v: &T) -> Result<Box<RawValue>> {
    serde_json::value::to_raw_value(v).map_err(|e| StoreError::Corrupt(e.to_string()))
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
            stored_seq: 0,
            case: c,
            stored_parts: None,
            cached: false,
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
    let mut seq = w.seq;
    let mut last = String::new();
    let (mut case, mut notices) = step(&w.case, &mut seq, event, actor, now, cal, rows, &mut last)?;
    if let Some((next, by)) = follow_up(&case) {
        let (after, more) = step(&case, &mut seq, &next, &by, now, cal, rows, &mut last)?;
        case = after;
        notices.extend(more);
    }
    w.case = case;
    w.seq = seq;
    w.dirty = true;
    w.updated_at = last;
    Ok(Outcome::Applied(w.case.clone(), notices))
}

/// One event, as `cases::append_event` does it, into the batch's rows: the
/// case it makes (the given one is left as it was).
#[allow(clippy::too_many_arguments)]
fn step(
    case: &Case,
    seq: &mut i64,
    event: &Event,
    actor: &Actor,
    now: DateTime<Utc>,
    cal: &WorkCalendar,
    rows: &mut Rows,
    at: &mut String,
) -> Result<(Case, Vec<Notice>)> {
    let now = storage_precision(now);
    let now = case
        .history
        .last()
        .map_or(now, |(last, _, _)| now.max(*last));
    let (next, notices) = case
        .applied(event, now, cal)
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    *seq += 1;
    *at = ts(now);
    rows.events.push((
        next.id.clone(),
        *seq,
        at.clone(),
        event.actor(),
        json(event)?,
    ));
    for n in &notices {
        rows.outbox.push((next.id.clone(), json(n)?, at.clone()));
    }
    rows.audit.push(audit_row(
        actor,
        "case.event",
        &next.id,
        Some(serde_json::json!({"status": case.status.to_string()})),
        serde_json::json!({"status": next.status.to_string(), "event": event}),
    ));
    Ok((next, notices))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INSERT_META: &str =
        "INSERT INTO meta (key, value) SELECT j.value->>0, j.value->>1 FROM {rows} ORDER BY j.key";

    /// The changed-rows check is the last guard of a batch: a script whose
    /// rows do not add up must leave nothing behind, and the connection
    /// must go on working.
    #[tokio::test]
    async fn a_script_whose_rows_do_not_add_up_is_rolled_back() {
        let store = crate::testing::fresh_store().await.unwrap();
        let mut conn = Some(writer_connection(&store).await.unwrap());
        let rows = [("k1", "v1"), ("k2", "v2")];
        let mut wrong = Script::default();
        wrong.add(INSERT_META, &rows, 3).unwrap();
        assert!(store.write_script(&mut conn, wrong).await.is_err());
        assert_eq!(store.meta("k1").await.unwrap(), None);
        let mut right = Script::default();
        right.add(INSERT_META, &rows, 2).unwrap();
        store.write_script(&mut conn, right).await.unwrap();
        assert_eq!(store.meta("k2").await.unwrap().as_deref(), Some("v2"));
        let mut next = Script::default();
        next.add(INSERT_META, &[("k3", "v3")], 1).unwrap();
        store.write_script(&mut conn, next).await.unwrap();
        assert_eq!(store.meta("k3").await.unwrap().as_deref(), Some("v3"));
    }
}
