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
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
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
/// Steps waiting for the writer at most; beyond this callers wait to queue
/// theirs (back-pressure instead of an ever-growing queue under overload).
const QUEUE_CAP: usize = 4 * MAX_BATCH;

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
    queue: Mutex<Option<mpsc::Sender<Op>>>,
    /// The writer task, which ends once its queue is closed and drained.
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
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
    /// Queues a step, waiting while the queue is full.
    pub(crate) async fn send(&self, store: &Store, op: Op) -> Result<()> {
        let current = self.queue().clone();
        let op = match current {
            Some(q) => match q.send(op).await {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendError(op)) => op,
            },
            None => op,
        };
        // No writer yet, or it stopped: start one, unless another caller
        // has meanwhile.
        let q = {
            let mut queue = self.queue();
            match queue.as_ref().filter(|q| !q.is_closed()) {
                Some(q) => q.clone(),
                None => {
                    let (q, rx) = mpsc::channel(QUEUE_CAP);
                    // The task gets a store without this queue, so it ends
                    // when the last `Store` handle (and with it the sender)
                    // is dropped.
                    let task = tokio::spawn(run(store.detached(), rx, self.stats.clone()));
                    *self.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
                    *queue = Some(q.clone());
                    q
                }
            }
        };
        q.send(op)
            .await
            .map_err(|_| StoreError::Invalid("办件写入任务未能启动".into()))
    }

    /// Closes the queue and waits until the steps already in it are
    /// committed and answered and the writer's connection is closed. A step
    /// sent afterwards starts a new writer.
    pub(crate) async fn close(&self) {
        drop(self.queue().take());
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Option<mpsc::Sender<Op>>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
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
async fn run(store: Store, rx: mpsc::Receiver<Op>, stats: Arc<Counters>) {
    let epoch = Arc::new(AtomicU64::new(0));
    let (to_persist, persist_rx) = mpsc::channel(1);
    let (done, done_rx) = mpsc::unbounded_channel();
    let persister = tokio::spawn(persist(
        store.clone(),
        persist_rx,
        done,
        stats,
        epoch.clone(),
    ));
    decide(store, rx, to_persist, done_rx, epoch).await;
    // Its queue closed, the persister commits what it holds, answers, and
    // drops (closes) the writer's connection.
    let _ = persister.await;
}

/// The deciding stage of `run`, until the queue closes or the persister stops.
async fn decide(
    store: Store,
    mut rx: mpsc::Receiver<Op>,
    to_persist: mpsc::Sender<Prepared>,
    mut done_rx: mpsc::UnboundedReceiver<(u64, Vec<String>)>,
    epoch: Arc<AtomicU64>,
) {
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
    // The writer's own connection, taken out of the pool (whose connections
    // serve readers and the step-by-step fallback), replaced after any
    // failed batch and closed when the writer ends.
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
            break;
        }
    }
    // Closed rather than dropped: `Store::close` waits for this.
    if let Some(w) = conn {
        let _ = w.conn.close().await;
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

/// The rows one batch appends, as the values bound into its statements.
#[derive(Default)]
struct Rows {
    /// case_id, seq, at, actor, event
    events: Vec<[Val; 5]>,
    /// case_id, notice, created_at
    outbox: Vec<[Val; 3]>,
    /// at, actor_id, actor_name, actor_role, action, target_id, before, after
    audit: Vec<[Val; 8]>,
}

/// A value bound into a batch statement; typed, so that PostgreSQL knows
/// the type of a NULL too.
#[derive(Debug)]
enum Val {
    Text(Option<String>),
    Int(Option<i64>),
}

impl serde::Serialize for Val {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Val::Text(t) => t.serialize(s),
            Val::Int(i) => i.serialize(s),
        }
    }
}

impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::Text(Some(v))
    }
}

impl From<&String> for Val {
    fn from(v: &String) -> Val {
        Val::Text(Some(v.clone()))
    }
}

impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::Text(Some(v.to_owned()))
    }
}

impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Val {
        Val::Text(v)
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::Int(Some(v))
    }
}

impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Val {
        Val::Int(v)
    }
}

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
        elems(self.backend, "$1")
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

        // One statement per table for the whole batch. The case rows, which
        // carry the snapshots, are bound as a `VALUES` list (split only
        // beyond the backends' limit on bound values); the small rows of the
        // other tables as one JSON array each, whose statement text (and so
        // SQLite's parse of it) does not grow with the batch.
        let mut script = Script::new(self.backend);
        let inserts = new_cases
            .iter()
            .filter_map(|id| working.get(id))
            .map(|w| {
                let c = &w.case;
                Ok([
                    (&c.id).into(),
                    (&c.applicant).into(),
                    (&c.matter_code).into(),
                    (&c.idempotency_key).into(),
                    c.status.to_string().into(),
                    json(c)?.into(),
                    w.seq.into(),
                    (&w.created_at).into(),
                    (&w.updated_at).into(),
                ])
            })
            .collect::<Result<Vec<_>>>()?;
        let n = inserts.len();
        script.add_values(
            "INSERT INTO cases (id, applicant, matter_code, idempotency_key, status, snapshot, seq, created_at, updated_at) {values}",
            "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
            inserts,
            n,
        );
        // `seq` must still be what this batch read: the guard against a
        // writer this batch does not know of.
        let updates = working
            .values()
            .filter(|w| w.dirty && w.stored_parts.is_some())
            .map(|w| {
                Ok([
                    (&w.case.id).into(),
                    w.case.status.to_string().into(),
                    json(&w.case)?.into(),
                    w.seq.into(),
                    (&w.updated_at).into(),
                    w.stored_seq.into(),
                ])
            })
            .collect::<Result<Vec<_>>>()?;
        let n = updates.len();
        script.add_values(
            "UPDATE cases SET status = v.column2, snapshot = v.column3, seq = v.column4, updated_at = v.column5 \
             FROM ({values}) AS v WHERE cases.id = v.column1 AND cases.seq = v.column6",
            "(?, ?, ?, ?, ?, ?)",
            updates,
            n,
        );
        let n = rows.events.len();
        script.add_json(
            "INSERT INTO case_events (case_id, seq, at, actor, event) \
             SELECT j.value->>0, CAST(j.value->>1 AS BIGINT), j.value->>2, j.value->>3, j.value->>4 \
             FROM {rows} ORDER BY j.key",
            &rows.events,
            n,
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
                rewrite.push([(&w.case.id).into()]);
                rewritten += before.len();
            }
            for (i, (p, n)) in w.case.parts.iter().zip(now).enumerate() {
                let changed = !same_set || w.stored_parts.as_ref().is_some_and(|b| b[i] != n);
                if changed {
                    parts.push([
                        (&w.case.id).into(),
                        n.0.into(),
                        (&p.item_code).into(),
                        n.1.into(),
                        n.2.into(),
                    ]);
                }
            }
        }
        script.add_json(
            "DELETE FROM case_parts WHERE case_id IN (SELECT j.value->>0 FROM {rows})",
            &rewrite,
            rewritten,
        )?;
        let n = parts.len();
        // `WHERE true` lets SQLite parse the upsert after a SELECT.
        script.add_json(
            "INSERT INTO case_parts (case_id, department, item_code, state, deadline) \
             SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3, j.value->>4 FROM {rows} WHERE true \
             ON CONFLICT (case_id, department) DO UPDATE SET state = excluded.state, deadline = excluded.deadline",
            &parts,
            n,
        )?;
        let n = rows.outbox.len();
        script.add_json(
            "INSERT INTO outbox (case_id, notice, created_at) \
             SELECT j.value->>0, j.value->>1, j.value->>2 FROM {rows} ORDER BY j.key",
            &rows.outbox,
            n,
        )?;
        let n = rows.audit.len();
        script.add_json(
            "INSERT INTO audit_log (at, actor_id, actor_name, actor_role, action, target_type, target_id, before, after) \
             SELECT j.value->>0, CAST(j.value->>1 AS BIGINT), j.value->>2, j.value->>3, j.value->>4, 'case', \
             j.value->>5, j.value->>6, j.value->>7 FROM {rows} ORDER BY j.key",
            &rows.audit,
            n,
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

/// The JSON array bound at `param`, as a table with columns `value` (one
/// element) and `key` (its position).
fn elems(backend: Backend, param: &str) -> String {
    match backend {
        // JSONB elements: `->>` reads them without parsing text again.
        Backend::Sqlite => format!("jsonb_each({param}) AS j"),
        Backend::Postgres => {
            format!("json_array_elements({param}::json) WITH ORDINALITY AS j(value, key)")
        }
    }
}

/// Values bound into one statement at most: SQLite allows 32,766,
/// PostgreSQL 65,535.
const MAX_VALUES: usize = 32_000;

/// The batch's writes. On SQLite they go to the database as one script
/// (one round trip to sqlx's SQLite thread); PostgreSQL takes one statement
/// per round trip. Either way the rows changed must add up to the rows
/// sent, or the batch is abandoned.
///
/// Rows go in one of two ways. Bound as a `VALUES` list, a value reaches
/// the table as it was bound: the snapshot is stored as the text serde
/// made, not parsed into JSONB and printed again, but the statement's text
/// grows with its rows and SQLite parses it anew. As one JSON array, the
/// statement's text is fixed and cheap to parse, and the database parses
/// the array: best for short rows.
struct Script {
    backend: Backend,
    statements: Vec<(String, Vec<Val>)>,
    expected: u64,
}

impl Script {
    fn new(backend: Backend) -> Script {
        Script {
            backend,
            statements: Vec::new(),
            expected: 0,
        }
    }

    /// `sql` takes its rows at `{values}`, as `VALUES row, row, …`; `row`
    /// is a tuple of one `?` per value (and constants). `changes` is how
    /// many rows the statement must change.
    fn add_values<const N: usize>(
        &mut self,
        sql: &str,
        row: &str,
        rows: Vec<[Val; N]>,
        changes: usize,
    ) {
        debug_assert_eq!(row.matches('?').count(), N, "{row}");
        if rows.is_empty() {
            return;
        }
        self.expected += changes as u64;
        let per = (MAX_VALUES / N).max(1);
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<[Val; N]> = rows.by_ref().take(per).collect();
            let values = values_list(self.backend, row, chunk.len());
            let vals = chunk.into_iter().flatten().collect();
            self.statements
                .push((sql.replace("{values}", &values), vals));
        }
    }

    /// `sql` reads its rows from `{rows}`, a table of one JSON array: column
    /// `value` (a row, its values at `->>0`, `->>1` …) and `key` (its place).
    fn add_json<const N: usize>(
        &mut self,
        sql: &str,
        rows: &[[Val; N]],
        changes: usize,
    ) -> Result<()> {
        if !rows.is_empty() {
            let placeholder = match self.backend {
                Backend::Sqlite => "?",
                Backend::Postgres => "$1",
            };
            let sql = sql.replace("{rows}", &elems(self.backend, placeholder));
            let rows: Vec<&[Val]> = rows.iter().map(|r| &r[..]).collect();
            self.statements
                .push((sql, vec![Val::Text(Some(json(&rows)?))]));
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
        for (s, _) in &self.statements {
            sql.push_str(s);
            sql.push_str(";\n");
        }
        // SQLite has no conditional abort outside triggers: when the rows
        // changed do not add up, `json()` of a non-JSON text fails the
        // script here, before its COMMIT.
        sql.push_str(
            "SELECT CASE WHEN total_changes() = ? THEN 1 ELSE json('rows changed do not add up') END;\nCOMMIT;",
        );
        // `?` placeholders: sqlx gives each statement of the script the
        // next values in order.
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (_, vals) in self.statements {
            q = bind_all(q, vals);
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
        for (sql, vals) in self.statements {
            changed += bind_all(sqlx::query(AssertSqlSafe(sql)), vals)
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

/// `VALUES row, row, …` with `n` rows, in the backend's placeholders
/// (PostgreSQL numbers them: `$1`, `$2`, …).
fn values_list(backend: Backend, row: &str, n: usize) -> String {
    let mut s = String::with_capacity(8 + n * (row.len() * 2 + 1));
    s.push_str("VALUES ");
    let mut k = 0;
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        match backend {
            Backend::Sqlite => s.push_str(row),
            Backend::Postgres => {
                for ch in row.chars() {
                    if ch == '?' {
                        k += 1;
                        // Writing to a String cannot fail.
                        let _ = write!(s, "${k}");
                    } else {
                        s.push(ch);
                    }
                }
            }
        }
    }
    s
}

type Query<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>;

fn bind_all(mut q: Query<'_>, vals: Vec<Val>) -> Query<'_> {
    for v in vals {
        q = match v {
            Val::Text(t) => q.bind(t),
            Val::Int(i) => q.bind(i),
        };
    }
    q
}

fn audit_row(
    actor: &Actor,
    action: &'static str,
    id: &str,
    before: Option<serde_json::Value>,
    after: serde_json::Value,
) -> [Val; 8] {
    [
        ts(Utc::now()).into(),
        actor.id.into(),
        (&actor.name).into(),
        (&actor.role).into(),
        action.into(),
        id.into(),
        before.map(|v| v.to_string()).into(),
        after.to_string().into(),
    ]
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
        rows.events.push([
            (&c.id).into(),
            (i as i64 + 1).into(),
            ts(*at).into(),
            who.into(),
            json(ev)?.into(),
        ]);
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
    rows.events.push([
        (&next.id).into(),
        (*seq).into(),
        (&*at).into(),
        event.actor().into(),
        json(event)?.into(),
    ]);
    for n in &notices {
        rows.outbox
            .push([(&next.id).into(), json(n)?.into(), (&*at).into()]);
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

    const INSERT_META: &str = "INSERT INTO meta (key, value) {values}";
    const INSERT_META_JSON: &str =
        "INSERT INTO meta (key, value) SELECT j.value->>0, j.value->>1 FROM {rows} ORDER BY j.key";

    fn meta_rows(rows: &[(&str, &str)]) -> Vec<[Val; 2]> {
        rows.iter()
            .map(|(k, v)| [(*k).into(), (*v).into()])
            .collect()
    }

    /// The changed-rows check is the last guard of a batch: a script whose
    /// rows do not add up must leave nothing behind, and the connection
    /// must go on working.
    #[tokio::test]
    async fn a_script_whose_rows_do_not_add_up_is_rolled_back() {
        let store = crate::testing::fresh_store().await.unwrap();
        let mut conn = Some(writer_connection(&store).await.unwrap());
        let rows = [("k1", "v1"), ("k2", "v2")];
        let mut wrong = Script::new(store.backend);
        wrong.add_values(INSERT_META, "(?, ?)", meta_rows(&rows), 3);
        assert!(store.write_script(&mut conn, wrong).await.is_err());
        assert_eq!(store.meta("k1").await.unwrap(), None);
        let mut right = Script::new(store.backend);
        right
            .add_json(INSERT_META_JSON, &meta_rows(&rows), 2)
            .unwrap();
        store.write_script(&mut conn, right).await.unwrap();
        assert_eq!(store.meta("k2").await.unwrap().as_deref(), Some("v2"));
        let mut next = Script::new(store.backend);
        next.add_json(INSERT_META_JSON, &meta_rows(&[("k4", "v4")]), 1)
            .unwrap();
        next.add_values(INSERT_META, "(?, ?)", meta_rows(&[("k3", "v3")]), 1);
        store.write_script(&mut conn, next).await.unwrap();
        assert_eq!(store.meta("k3").await.unwrap().as_deref(), Some("v3"));
        assert_eq!(store.meta("k4").await.unwrap().as_deref(), Some("v4"));
    }

    /// More rows than one statement may bind are split over statements of
    /// the same transaction, on either backend, and all of them land.
    #[tokio::test]
    async fn rows_beyond_the_binding_limit_are_split_and_all_written() {
        let store = crate::testing::fresh_store().await.unwrap();
        let mut conn = Some(writer_connection(&store).await.unwrap());
        let n = MAX_VALUES / 2 * 2 + 7;
        let keys: Vec<(String, String)> = (0..n)
            .map(|i| (format!("bulk{i}"), format!("v{i}")))
            .collect();
        let rows: Vec<[Val; 2]> = keys.iter().map(|(k, v)| [k.into(), v.into()]).collect();
        let mut script = Script::new(store.backend);
        script.add_values(INSERT_META, "(?, ?)", rows, n);
        assert_eq!(script.statements.len(), 3);
        store.write_script(&mut conn, script).await.unwrap();
        for i in [0, MAX_VALUES / 2, n - 1] {
            let got = store.meta(&format!("bulk{i}")).await.unwrap();
            assert_eq!(got, Some(format!("v{i}")));
        }
    }
}
