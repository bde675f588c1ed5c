//! The outbound webhook worker: claims due deliveries from the store, POSTs
//! each as signed JSON, and records the outcome (the store applies the
//! retry schedule). `deliver_due` is one pass with an explicit clock, so
//! tests drive retries deterministically; `spawn_worker` polls it.
//!
//! Request: `POST <url>` with body `{"id","event","case_id","occurred_at","data"}`
//! and headers `X-Zhengqi-Event-Id`, `X-Zhengqi-Timestamp` (Unix seconds) and
//! `X-Zhengqi-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
//! Any 2xx answer is delivered; anything else, a redirect or a timeout is
//! retried. Delivery is at least once: receivers deduplicate by event id.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;
use zhengqi_store::{AttemptOutcome, DeliveryState, DueDelivery, RetryPolicy, Store, StoreError};

/// Settings of the delivery worker.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    pub policy: RetryPolicy,
    /// Per-request timeout (connect + answer); shorter than the claim lease.
    pub timeout: Duration,
    /// How often the worker looks for due deliveries.
    pub poll: Duration,
    /// Deliveries claimed per pass.
    pub batch: i64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            policy: RetryPolicy::default(),
            timeout: Duration::from_secs(10),
            poll: Duration::from_secs(5),
            batch: 50,
        }
    }
}

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    pub attempted: usize,
    pub delivered: usize,
    pub retrying: usize,
    pub dead: usize,
}

/// The JSON body receivers get.
#[derive(Serialize)]
pub struct WebhookPayload<'a> {
    /// Stable per event across retries and subscribers: deduplicate on it.
    pub id: String,
    pub event: &'a str,
    pub case_id: &'a str,
    pub occurred_at: String,
    pub data: &'a serde_json::Value,
}

/// An HTTP client for deliveries: no redirects (a 3xx is a failure, so a
/// POST is never silently turned into a GET elsewhere), bounded time.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("zhengqi-webhooks/1")
        .build()
        // Only fails when the TLS backend cannot initialise; then nothing can be sent.
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn body_of(d: &DueDelivery) -> Vec<u8> {
    let p = WebhookPayload {
        id: d.event_id.to_string(),
        event: &d.event,
        case_id: &d.case_id,
        occurred_at: d
            .occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        data: &d.data,
    };
    // Serialising plain strings and an already-parsed JSON value cannot fail.
    serde_json::to_vec(&p).unwrap_or_default()
}

async fn send(client: &reqwest::Client, d: &DueDelivery, now: DateTime<Utc>) -> AttemptOutcome {
    let body = body_of(d);
    let timestamp = now.timestamp();
    let res = client
        .post(&d.url)
        .header("content-type", "application/json")
        .header("x-zhengqi-event-id", d.event_id.to_string())
        .header("x-zhengqi-event", &d.event)
        .header("x-zhengqi-timestamp", timestamp.to_string())
        .header("x-zhengqi-signature", sign(&d.secret, timestamp, &body))
        .header("x-zhengqi-attempt", (d.attempts + 1).to_string())
        .body(body)
        .send()
        .await;
    match res {
        Ok(r) if r.status().is_success() => AttemptOutcome::Delivered {
            status: r.status().as_u16(),
        },
        Ok(r) => {
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            let text: String = text.chars().take(200).collect();
            AttemptOutcome::Failed {
                status: Some(status),
                error: format!("接收方返回 HTTP {status} {}", text.trim()),
            }
        }
        Err(e) => AttemptOutcome::Failed {
            status: None,
            error: if e.is_timeout() {
                "请求超时".to_owned()
            } else if e.is_connect() {
                format!("无法连接接收地址：{e}")
            } else {
                format!("发送失败：{e}")
            },
        },
    }
}

/// One pass: claims the deliveries due at `now`, sends them concurrently and
/// records each outcome at `now`.
pub async fn deliver_due(
    store: &Store,
    client: &reqwest::Client,
    now: DateTime<Utc>,
    config: &WebhookConfig,
) -> Result<DeliveryReport, StoreError> {
    let due = store
        .claim_due_deliveries(now, config.batch, &config.policy)
        .await?;
    let mut set = tokio::task::JoinSet::new();
    for d in due {
        let client = client.clone();
        set.spawn(async move {
            let outcome = send(&client, &d, now).await;
            (d.delivery_id, outcome)
        });
    }
    let mut report = DeliveryReport::default();
    while let Some(joined) = set.join_next().await {
        let Ok((id, outcome)) = joined else {
            // A panicking send leaves its claim to expire and be retried.
            continue;
        };
        report.attempted += 1;
        match store
            .record_attempt(id, &outcome, now, &config.policy)
            .await?
        {
            DeliveryState::Delivered => report.delivered += 1,
            DeliveryState::RetryAt(_) => report.retrying += 1,
            DeliveryState::Dead => report.dead += 1,
            DeliveryState::Unchanged => {}
        }
    }
    Ok(report)
}

/// Runs `deliver_due` every `config.poll` until the runtime stops. Passes
/// that find work run again at once, so a backlog drains quickly.
pub fn spawn_worker(store: Store, config: WebhookConfig) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = client(config.timeout);
        loop {
            match deliver_due(&store, &client, Utc::now(), &config).await {
                Ok(r) if r.attempted > 0 => {
                    tracing::info!(
                        attempted = r.attempted,
                        delivered = r.delivered,
                        retrying = r.retrying,
                        dead = r.dead,
                        "webhook 投递"
                    );
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook 投递轮询失败"),
            }
            tokio::time::sleep(config.poll).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_vector() {
        // Python: hmac.new(b"key", b"1700000000.{}", hashlib.sha256).hexdigest()
        assert_eq!(
            sign("key", 1_700_000_000, b"{}"),
            "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
        assert_ne!(sign("key", 1, b"{}"), sign("key", 2, b"{}"));
        assert_ne!(sign("key", 1, b"{}"), sign("kez", 1, b"{}"));
    }
}
