//! Integration with other systems: outbound webhooks fed by the outbox, and
//! the bookkeeping that makes inbound status callbacks idempotent.
//!
//! Outbound: every outbox row (written in the transaction of the case event
//! that caused it) is fanned out to the active subscriptions as one delivery
//! row each; deliveries are claimed, sent by the web layer's worker and
//! recorded with exponential backoff until delivered or dead. Delivery is
//! at least once: a server that dies between sending and recording sends
//! again after the claim lease, so receivers deduplicate by event id.
//!
//! Delivery attempts are machine bookkeeping recorded on the delivery row
//! itself; the audit log gets the human actions (subscriptions, requeues)
//! and the inbound callbacks.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::{AssertSqlSafe, Row};

use crate::{Actor, Backend, Result, Store, StoreError, audit, parse_ts, ts};

/// The notice types a subscription may filter on (`Notice`'s tags).
pub const EVENT_TYPES: [&str; 14] = [
    "part_state_changed",
    "case_status_changed",
    "deadline_set",
    "correction_needed",
    "supplement_due",
    "material_supplied",
    "material_overdue",
    "credit_mark",
    "case_issued",
    "case_revoked",
    "case_withdrawn",
    // The scheduler's reminders (`approval::schedule::Reminder`).
    "supplement_reminder",
    "deadline_warning",
    "deadline_overdue",
];

#[derive(Clone, Debug)]
pub struct NewSubscription {
    pub name: String,
    pub url: String,
    /// Notice types to send; empty means all.
    pub events: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Subscription {
    pub id: i64,
    pub name: String,
    pub url: String,
    /// Empty means all event types.
    pub events: Vec<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

impl Subscription {
    pub fn wants(&self, event: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == event)
    }
}

/// When to retry a failed delivery and when to give up.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Wait after the 1st, 2nd, … failure; the last entry repeats.
    pub schedule: Vec<Duration>,
    /// After this many failed attempts the delivery is dead (dead-letter list).
    pub max_attempts: i64,
    /// How long a claimed delivery is reserved for its sender; longer than
    /// the HTTP timeout, so only a sender that died gives it up.
    pub lease: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            schedule: vec![
                Duration::seconds(30),
                Duration::minutes(2),
                Duration::minutes(10),
                Duration::hours(1),
                Duration::hours(6),
                Duration::hours(12),
                Duration::hours(24),
            ],
            max_attempts: 8,
            lease: Duration::minutes(2),
        }
    }
}

impl RetryPolicy {
    /// The wait after `failures` failed attempts (1-based).
    pub fn delay_after(&self, failures: i64) -> Duration {
        let i = usize::try_from(failures.max(1) - 1).unwrap_or(0);
        self.schedule
            .get(i)
            .or(self.schedule.last())
            .copied()
            .unwrap_or(Duration::minutes(1))
    }
}

/// A delivery claimed for sending, with everything the request needs.
#[derive(Clone, Debug)]
pub struct DueDelivery {
    pub delivery_id: i64,
    pub subscription_id: i64,
    pub url: String,
    pub secret: String,
    /// The event id receivers deduplicate on (the outbox row's id).
    pub event_id: i64,
    pub event: String,
    pub case_id: String,
    pub occurred_at: DateTime<Utc>,
    /// The notice as stored (tagged JSON).
    pub data: serde_json::Value,
    /// Attempts made before this one.
    pub attempts: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered { status: u16 },
    Failed { status: Option<u16>, error: String },
}

/// Where a delivery stands after an attempt was recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    Delivered,
    RetryAt(DateTime<Utc>),
    Dead,
    /// Already delivered or dead (a late duplicate report): nothing changed.
    Unchanged,
}

#[derive(Clone, Debug, Serialize)]
pub struct DeliveryCounts {
    pub subscription_id: i64,
    pub name: String,
    pub active: bool,
    pub pending: i64,
    pub delivered: i64,
    pub dead: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct DeadLetter {
    pub delivery_id: i64,
    pub subscription: String,
    pub url: String,
    pub event_id: i64,
    pub event: String,
    pub case_id: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
}

/// An inbound status callback as first received.
#[derive(Clone, Debug)]
pub struct InboundCallback {
    /// The calling account (event ids are unique per caller).
    pub source: String,
    pub event_id: String,
    pub case_id: String,
    /// Digest of the request, so a reused event id with other content is caught.
    pub request_hash: String,
    pub external_ref: String,
    pub external_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum InboundRecord {
    /// Answered before: the same answer again.
    Done {
        request_hash: String,
        status: u16,
        response: serde_json::Value,
    },
    /// Reserved by a request that has not finished (or died).
    Pending {
        request_hash: String,
        case_seq: i64,
        reserved_at: DateTime<Utc>,
    },
}

/// The outcome of reserving an inbound event id.
#[derive(Clone, Debug, PartialEq)]
pub enum Reservation {
    /// This request owns the event id now.
    Reserved { case_seq: i64 },
    /// Someone had it already.
    Existing(InboundRecord),
}

fn clean_events(events: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for e in events.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        if e == "*" {
            return Ok(vec![]);
        }
        if !EVENT_TYPES.contains(&e) {
            return Err(StoreError::Invalid(format!("未知的事件类型“{e}”")));
        }
        if !out.iter().any(|o| o == e) {
            out.push(e.to_owned());
        }
    }
    Ok(out)
}

fn events_from(s: &str) -> Vec<String> {
    if s == "*" {
        vec![]
    } else {
        s.split(',').map(str::to_owned).collect()
    }
}

fn subscription_from(r: &sqlx::any::AnyRow) -> Result<Subscription> {
    Ok(Subscription {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        url: r.try_get("url")?,
        events: events_from(&r.try_get::<String, _>("events")?),
        active: r.try_get::<i64, _>("active")? == 1,
        created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
        created_by: r.try_get("created_by")?,
    })
}

fn notice_type(v: &serde_json::Value) -> String {
    v.get("type")
        .and_then(|t| t.as_str())
        .unwrap_or("unknown")
        .to_owned()
}

fn parse_notice(s: &str) -> Result<serde_json::Value> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("外发事件：{e}")))
}

impl Store {
    /// Creates a subscription with a fresh random secret; returns both (the
    /// secret is shown once).
    pub async fn create_subscription(
        &self,
        n: &NewSubscription,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Subscription, String)> {
        let name = n.name.trim();
        let url = n.url.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(StoreError::Invalid("名称应为1–100个字符".into()));
        }
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 {
            return Err(StoreError::Invalid(
                "接收地址应以 https:// 或 http:// 开头".into(),
            ));
        }
        let events = clean_events(&n.events)?;
        let mut raw = [0u8; 32];
        if !crate::random_bytes(&mut raw) {
            return Err(StoreError::Invalid("系统随机数不可用，无法生成密钥".into()));
        }
        let secret = format!("whsec_{}", hex::encode(raw));
        let events_s = if events.is_empty() {
            "*".to_owned()
        } else {
            events.join(",")
        };
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO webhook_subscriptions (name, url, secret, events, active, created_at, created_by) \
             VALUES ($1, $2, $3, $4, 1, $5, $6) RETURNING id",
        )
        .bind(name)
        .bind(url)
        .bind(&secret)
        .bind(&events_s)
        .bind(ts(now))
        .bind(&actor.name)
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            "webhook.subscribe",
            "webhook_subscription",
            &id.to_string(),
            None,
            // Never the secret.
            Some(&serde_json::json!({"name": name, "url": url, "events": events_s})),
        )
        .await?;
        tx.commit().await?;
        let sub = Subscription {
            id,
            name: name.to_owned(),
            url: url.to_owned(),
            events,
            active: true,
            created_at: parse_ts(&ts(now))?,
            created_by: actor.name.clone(),
        };
        Ok((sub, secret))
    }

    pub async fn subscriptions(&self) -> Result<Vec<Subscription>> {
        let rows = sqlx::query(
            "SELECT id, name, url, events, active, created_at, created_by FROM webhook_subscriptions ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(subscription_from).collect()
    }

    /// Stops sending to a subscription. Its undelivered deliveries stay as
    /// they are (visible in the counts); it gets no new events.
    pub async fn disable_subscription(
        &self,
        id: i64,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let changed = sqlx::query(
            "UPDATE webhook_subscriptions SET active = 0, disabled_at = $1 WHERE id = $2 AND active = 1",
        )
        .bind(ts(now))
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT id FROM webhook_subscriptions WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            // Disabling twice is a no-op and leaves no audit entry.
            return match exists {
                Some(_) => Ok(()),
                None => Err(StoreError::NotFound(format!("订阅 {id}"))),
            };
        }
        audit::record(
            &mut tx,
            actor,
            "webhook.disable",
            "webhook_subscription",
            &id.to_string(),
            Some(&serde_json::json!({"active": true})),
            Some(&serde_json::json!({"active": false})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Fans new outbox rows out to the subscriptions that existed when the
    /// row was written and want its type, then claims up to `limit` due
    /// deliveries, all in one transaction. A claimed delivery's next attempt
    /// moves to `now + lease`, so no other server sends it meanwhile; on
    /// PostgreSQL rows another server is claiming are skipped, not waited for.
    pub async fn claim_due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: i64,
        policy: &RetryPolicy,
    ) -> Result<Vec<DueDelivery>> {
        let now_s = ts(now);
        let skip_locked = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.begin().await?;

        let subs: Vec<Subscription> = sqlx::query(
            "SELECT id, name, url, events, active, created_at, created_by FROM webhook_subscriptions WHERE active = 1",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(subscription_from)
        .collect::<Result<_>>()?;
        let fresh = sqlx::query(AssertSqlSafe(format!(
            "SELECT id, notice, created_at FROM outbox WHERE fanned_out_at IS NULL ORDER BY id LIMIT 500{skip_locked}"
        )))
        .fetch_all(&mut *tx)
        .await?;
        for r in &fresh {
            let outbox_id: i64 = r.try_get("id")?;
            let created: String = r.try_get("created_at")?;
            let event = notice_type(&parse_notice(&r.try_get::<String, _>("notice")?)?);
            for s in subs
                .iter()
                .filter(|s| s.wants(&event) && ts(s.created_at) <= created)
            {
                sqlx::query(
                    "INSERT INTO webhook_deliveries (outbox_id, subscription_id, next_attempt_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (outbox_id, subscription_id) DO NOTHING",
                )
                .bind(outbox_id)
                .bind(s.id)
                .bind(&now_s)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("UPDATE outbox SET fanned_out_at = $1 WHERE id = $2")
                .bind(&now_s)
                .bind(outbox_id)
                .execute(&mut *tx)
                .await?;
        }

        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE OF d SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let ids: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT d.id FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id \
             WHERE d.delivered_at IS NULL AND d.dead = 0 AND d.next_attempt_at <= $1 AND s.active = 1 \
             ORDER BY d.next_attempt_at, d.id LIMIT $2{lock}"
        )))
        .bind(&now_s)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let lease_until = ts(now + policy.lease);
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE id = $2")
                .bind(&lease_until)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let r = sqlx::query(
                "SELECT d.id, d.subscription_id, d.attempts, s.url, s.secret, o.id AS outbox_id, o.case_id, o.notice, o.created_at \
                 FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id \
                 JOIN outbox o ON o.id = d.outbox_id WHERE d.id = $1",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            let data = parse_notice(&r.try_get::<String, _>("notice")?)?;
            out.push(DueDelivery {
                delivery_id: r.try_get("id")?,
                subscription_id: r.try_get("subscription_id")?,
                url: r.try_get("url")?,
                secret: r.try_get("secret")?,
                event_id: r.try_get("outbox_id")?,
                event: notice_type(&data),
                case_id: r.try_get("case_id")?,
                occurred_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
                data,
                attempts: r.try_get("attempts")?,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Records one attempt: delivered, or failed with the next attempt after
    /// the policy's backoff, or dead after the last allowed attempt.
    pub async fn record_attempt(
        &self,
        delivery_id: i64,
        outcome: &AttemptOutcome,
        now: DateTime<Utc>,
        policy: &RetryPolicy,
    ) -> Result<DeliveryState> {
        let now_s = ts(now);
        let mut tx = self.begin().await?;
        let attempts: Option<i64> = sqlx::query_scalar(
            "SELECT attempts FROM webhook_deliveries WHERE id = $1 AND delivered_at IS NULL AND dead = 0",
        )
        .bind(delivery_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(attempts) = attempts else {
            return Ok(DeliveryState::Unchanged);
        };
        let attempts = attempts + 1;
        let state = match outcome {
            AttemptOutcome::Delivered { status } => {
                sqlx::query(
                    "UPDATE webhook_deliveries SET attempts = $1, delivered_at = $2, last_attempt_at = $2, \
                     last_status = $3, last_error = NULL WHERE id = $4",
                )
                .bind(attempts)
                .bind(&now_s)
                .bind(i64::from(*status))
                .bind(delivery_id)
                .execute(&mut *tx)
                .await?;
                DeliveryState::Delivered
            }
            AttemptOutcome::Failed { status, error } => {
                let dead = attempts >= policy.max_attempts;
                let next = now + policy.delay_after(attempts);
                // Long receiver error pages are cut; the start says enough.
                let error: String = error.chars().take(500).collect();
                sqlx::query(
                    "UPDATE webhook_deliveries SET attempts = $1, last_attempt_at = $2, last_status = $3, \
                     last_error = $4, dead = $5, next_attempt_at = $6 WHERE id = $7",
                )
                .bind(attempts)
                .bind(&now_s)
                .bind(status.map(i64::from))
                .bind(&error)
                .bind(i64::from(dead))
                .bind(ts(next))
                .bind(delivery_id)
                .execute(&mut *tx)
                .await?;
                if dead {
                    DeliveryState::Dead
                } else {
                    DeliveryState::RetryAt(next)
                }
            }
        };
        tx.commit().await?;
        Ok(state)
    }

    /// Dead deliveries, the most recently failed first.
    pub async fn dead_letters(&self, limit: i64) -> Result<Vec<DeadLetter>> {
        let rows = sqlx::query(
            "SELECT d.id, s.name, s.url, o.id AS outbox_id, o.case_id, o.notice, d.attempts, d.last_status, \
             d.last_error, d.last_attempt_at FROM webhook_deliveries d \
             JOIN webhook_subscriptions s ON s.id = d.subscription_id JOIN outbox o ON o.id = d.outbox_id \
             WHERE d.dead = 1 ORDER BY d.last_attempt_at DESC, d.id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeadLetter {
                    delivery_id: r.try_get("id")?,
                    subscription: r.try_get("name")?,
                    url: r.try_get("url")?,
                    event_id: r.try_get("outbox_id")?,
                    event: notice_type(&parse_notice(&r.try_get::<String, _>("notice")?)?),
                    case_id: r.try_get("case_id")?,
                    attempts: r.try_get("attempts")?,
                    last_status: r.try_get("last_status")?,
                    last_error: r.try_get("last_error")?,
                    last_attempt_at: r
                        .try_get::<Option<String>, _>("last_attempt_at")?
                        .as_deref()
                        .map(parse_ts)
                        .transpose()?,
                })
            })
            .collect()
    }

    /// Puts a dead delivery back in the queue with a fresh set of attempts.
    pub async fn requeue_delivery(
        &self,
        delivery_id: i64,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "SELECT attempts, last_error FROM webhook_deliveries WHERE id = $1 AND dead = 1",
        )
        .bind(delivery_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("死信投递 {delivery_id}")))?;
        let attempts: i64 = row.try_get("attempts")?;
        let last_error: Option<String> = row.try_get("last_error")?;
        sqlx::query(
            "UPDATE webhook_deliveries SET dead = 0, attempts = 0, next_attempt_at = $1 WHERE id = $2",
        )
        .bind(ts(now))
        .bind(delivery_id)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            "webhook.requeue",
            "webhook_delivery",
            &delivery_id.to_string(),
            Some(
                &serde_json::json!({"dead": true, "attempts": attempts, "last_error": last_error}),
            ),
            Some(&serde_json::json!({"dead": false, "attempts": 0})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Per subscription: deliveries waiting, delivered and dead.
    pub async fn delivery_counts(&self) -> Result<Vec<DeliveryCounts>> {
        let rows = sqlx::query(
            "SELECT s.id, s.name, s.active, \
             COALESCE(SUM(CASE WHEN d.id IS NOT NULL AND d.delivered_at IS NULL AND d.dead = 0 THEN 1 ELSE 0 END), 0) AS pending, \
             COALESCE(SUM(CASE WHEN d.delivered_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS delivered, \
             COALESCE(SUM(CASE WHEN d.dead = 1 THEN 1 ELSE 0 END), 0) AS dead \
             FROM webhook_subscriptions s LEFT JOIN webhook_deliveries d ON d.subscription_id = s.id \
             GROUP BY s.id, s.name, s.active ORDER BY s.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryCounts {
                    subscription_id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    active: r.try_get::<i64, _>("active")? == 1,
                    pending: r.try_get("pending")?,
                    delivered: r.try_get("delivered")?,
                    dead: r.try_get("dead")?,
                })
            })
            .collect()
    }

    /// Outbox rows not yet fanned out to the subscriptions.
    pub async fn outbox_backlog(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE fanned_out_at IS NULL")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    // ---- inbound callbacks ---------------------------------------------

    pub async fn inbound_event(
        &self,
        source: &str,
        event_id: &str,
    ) -> Result<Option<InboundRecord>> {
        let row = sqlx::query(
            "SELECT request_hash, state, case_seq, status_code, response, created_at FROM inbound_events \
             WHERE source = $1 AND event_id = $2",
        )
        .bind(source)
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(inbound_from).transpose()
    }

    /// Claims an external event id for this request before the case event is
    /// applied. Returns the earlier record when the id was seen before.
    pub async fn reserve_inbound(
        &self,
        cb: &InboundCallback,
        now: DateTime<Utc>,
    ) -> Result<Reservation> {
        let mut tx = self.begin().await?;
        if let Some(r) = sqlx::query(
            "SELECT request_hash, state, case_seq, status_code, response, created_at FROM inbound_events \
             WHERE source = $1 AND event_id = $2",
        )
        .bind(&cb.source)
        .bind(&cb.event_id)
        .fetch_optional(&mut *tx)
        .await?
        {
            return Ok(Reservation::Existing(inbound_from(&r)?));
        }
        let seq: i64 = sqlx::query_scalar("SELECT seq FROM cases WHERE id = $1")
            .bind(&cb.case_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("办件 {}", cb.case_id)))?;
        let inserted = sqlx::query(
            "INSERT INTO inbound_events (source, event_id, case_id, request_hash, external_ref, external_at, state, case_seq, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8)",
        )
        .bind(&cb.source)
        .bind(&cb.event_id)
        .bind(&cb.case_id)
        .bind(&cb.request_hash)
        .bind(&cb.external_ref)
        .bind(ts(cb.external_at))
        .bind(seq)
        .bind(ts(now))
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            // A concurrent request with the same id won (PostgreSQL); it is
            // that request's record now.
            drop(tx);
            return match self.inbound_event(&cb.source, &cb.event_id).await? {
                Some(r) => Ok(Reservation::Existing(r)),
                None => Err(e.into()),
            };
        }
        tx.commit().await?;
        Ok(Reservation::Reserved { case_seq: seq })
    }

    /// Takes over a reservation whose request died (reserved at `reserved_at`
    /// and never completed). False when another request took it first.
    pub async fn retake_inbound(
        &self,
        source: &str,
        event_id: &str,
        reserved_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE inbound_events SET created_at = $1 WHERE source = $2 AND event_id = $3 \
             AND state = 'pending' AND created_at = $4",
        )
        .bind(ts(now))
        .bind(source)
        .bind(event_id)
        .bind(ts(reserved_at))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Stores the answer given to an inbound callback, with its audit entry.
    pub async fn complete_inbound(
        &self,
        source: &str,
        event_id: &str,
        status: u16,
        response: &serde_json::Value,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "SELECT case_id, external_ref, external_at FROM inbound_events WHERE source = $1 AND event_id = $2 AND state = 'pending'",
        )
        .bind(source)
        .bind(event_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::Conflict(format!("回调 {event_id} 已处理")))?;
        let case_id: String = row.try_get("case_id")?;
        let external_ref: String = row.try_get("external_ref")?;
        let external_at: String = row.try_get("external_at")?;
        sqlx::query(
            "UPDATE inbound_events SET state = 'done', status_code = $1, response = $2, completed_at = $3 \
             WHERE source = $4 AND event_id = $5",
        )
        .bind(i64::from(status))
        .bind(response.to_string())
        .bind(ts(now))
        .bind(source)
        .bind(event_id)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            "integration.callback",
            "case",
            &case_id,
            None,
            Some(&serde_json::json!({
                "event_id": event_id,
                "external_ref": external_ref,
                "external_at": external_at,
                "status": status,
                "code": response.get("code"),
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn inbound_from(r: &sqlx::any::AnyRow) -> Result<InboundRecord> {
    let request_hash: String = r.try_get("request_hash")?;
    let state: String = r.try_get("state")?;
    if state == "done" {
        let status: i64 = r.try_get::<Option<i64>, _>("status_code")?.unwrap_or(200);
        let response: Option<String> = r.try_get("response")?;
        Ok(InboundRecord::Done {
            request_hash,
            status: u16::try_from(status)
                .map_err(|_| StoreError::Corrupt(format!("回调状态码 {status}")))?,
            response: response
                .as_deref()
                .map(serde_json::from_str::<serde_json::Value>)
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?
                .unwrap_or(serde_json::Value::Null),
        })
    } else {
        Ok(InboundRecord::Pending {
            request_hash,
            case_seq: r.try_get("case_seq")?,
            reserved_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
        })
    }
}
