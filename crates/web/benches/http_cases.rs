//! Approval engine throughput through the HTTP API (issue 5): complete
//! four-department cases per second through the real router on a random
//! port — submit (`POST /api/v1/cases` with an `idempotency_key`), each of the
//! four departments accepts and approves in parallel
//! (`POST /api/v1/cases/{id}/actions`), and the last approval issues the case
//! in the same transaction. Every request returns only after its transaction
//! committed.
//!
//! Run: `cargo bench -p zhengqi-web --bench http_cases` (SQLite in a temp
//! dir); with `DATABASE_URL=postgres://…` it runs on a fresh PostgreSQL
//! database. `CASES` (default 600) and `WORKERS` (default 16, concurrent
//! clients, each driving one case at a time) tune the load, as in
//! `crates/store/benches/cases.rs`.
//!
//! The shipped combined matters have five and three departments, so the
//! bench stores the Zhuhai catalogue plus one four-department matter built
//! from shipped items of the store bench's departments (市自然资源局,
//! 市生态环境局, 市住房城乡建设局, 市发展改革局). The applicant provides every
//! material, so acceptance needs no 容缺 commitment.
//!
//! A step is one HTTP request: 9 per case (submit, 4 accepts, 4 approvals,
//! the last of which also issues). The store bench counts the issue as a
//! tenth step of its own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use zhengqi_domain::approval::catalogue::{Catalogue, CombinedMatter};
use zhengqi_domain::auth::{Role, Username};
use zhengqi_domain::enterprise::EnterpriseDraft;
use zhengqi_domain::uscc::Uscc;
use zhengqi_store::testing::fresh_store;
use zhengqi_store::{Actor, NewAccount, ReferenceDocs};
use zhengqi_web::{AppState, WebConfig, router};

const MATTER: &str = "YJS-BENCH-0004";
/// One shipped item per department: 市发展改革局, 市自然资源局, 市生态环境局, 市住房城乡建设局.
const ITEMS: [&str; 4] = [
    "BA-440400-0001",
    "XK-440400-0010",
    "XK-440400-0021",
    "XK-440400-0004",
];
const APPLICANT: &str = "91440400192548256N";
const PASSWORD: &str = "zhengqi2026";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

struct Bench {
    base: String,
    client: reqwest::Client,
    applicant: String,
    /// One staff token per department of the matter.
    departments: Vec<String>,
    materials: Vec<String>,
}

/// A fresh store with the catalogue, one enterprise and its accounts, and
/// the real app serving it on a random port.
async fn start(workers: usize) -> Bench {
    let store = fresh_store().await.expect("database");
    let rd = store
        .reference_or_default(&ReferenceDocs::zhuhai())
        .await
        .expect("reference data");
    let sys = Actor::system("基准测试");
    let mut catalogue = Catalogue::zhuhai();
    catalogue.combined_matters.push(CombinedMatter {
        code: MATTER.into(),
        name: "基准测试四部门一件事".into(),
        items: ITEMS.iter().map(|c| (*c).to_owned()).collect(),
    });
    catalogue.validate(&rd).expect("bench catalogue validates");
    let matter = catalogue.combined_matter(MATTER).unwrap();
    let departments = matter.departments(&catalogue);
    assert_eq!(departments.len(), 4, "{departments:?}");
    let materials: Vec<String> = matter
        .materials(&catalogue)
        .into_iter()
        .map(|m| m.material.key)
        .collect();
    assert!(
        store
            .seed_catalogue(&catalogue, &sys)
            .await
            .expect("catalogue")
    );
    let e = EnterpriseDraft {
        uscc: APPLICANT.into(),
        name: "珠海基准制造有限公司".into(),
        area: "金湾区".into(),
        industry: "34".into(),
        ..Default::default()
    }
    .validate(&rd)
    .expect("enterprise");
    store.upsert_enterprise(&e, &sys).await.expect("enterprise");
    let mut accounts = vec![("qiye".to_owned(), Role::Enterprise, None)];
    for (i, d) in departments.iter().enumerate() {
        accounts.push((format!("dept{i}"), Role::Staff, Some(d.clone())));
    }
    for (u, role, department) in &accounts {
        let a = NewAccount {
            username: Username::parse(u).unwrap(),
            display_name: u.clone(),
            password: PASSWORD.into(),
            role: *role,
            enterprise: (*role == Role::Enterprise).then(|| Uscc::parse(APPLICANT).unwrap()),
            department: department.clone(),
        };
        store.create_account(&a, &sys).await.expect("account");
    }
    let state = AppState::new(
        store,
        rd,
        WebConfig {
            secure_cookies: false,
            demo: false,
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
    // One client with a keep-alive pool large enough for every request in flight.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(workers * 4)
        .build()
        .unwrap();
    let base = format!("http://{addr}");
    let mut tokens = Vec::new();
    for (u, _, _) in &accounts {
        let v: Value = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": u, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(v["token"].as_str().expect("token").to_owned());
    }
    let applicant = tokens.remove(0);
    Bench {
        base,
        client,
        applicant,
        departments: tokens,
        materials,
    }
}

/// Posts and returns the status, the body and the request's latency.
async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
) -> (StatusCode, Value, Duration) {
    let t = Instant::now();
    let r = client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request");
    let status = r.status();
    let v = r.json().await.unwrap_or(Value::Null);
    (status, v, t.elapsed())
}

#[tokio::main]
async fn main() {
    let cases = env("CASES", 600);
    let workers = env("WORKERS", 16);
    let backend = zhengqi_store::testing::target();
    let bench = Arc::new(start(workers).await);
    let t0 = Instant::now();
    let mut handles = Vec::new();
    for w in 0..workers {
        let b = bench.clone();
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            for i in (w..cases).step_by(workers) {
                let body = json!({
                    "matter": MATTER,
                    "idempotency_key": format!("bench-{i:07}"),
                    "materials": b.materials,
                });
                let (s, v, l) = post(
                    &b.client,
                    &format!("{}/api/v1/cases", b.base),
                    &b.applicant,
                    &body,
                )
                .await;
                assert_eq!(s, StatusCode::CREATED, "{v}");
                lat.push(l);
                let id = v["id"].as_str().expect("case id").to_owned();
                // The four departments decide in parallel.
                let url = format!("{}/api/v1/cases/{id}/actions", b.base);
                let mut js = Vec::new();
                for d in 0..b.departments.len() {
                    let (b, url) = (b.clone(), url.clone());
                    js.push(tokio::spawn(async move {
                        let token = &b.departments[d];
                        let mut l = Vec::new();
                        let mut last = Value::Null;
                        for action in [
                            json!({"action": "accept"}),
                            json!({"action": "approve", "text": "同意"}),
                        ] {
                            let (s, v, t) = post(&b.client, &url, token, &action).await;
                            assert_eq!(s, StatusCode::OK, "{v}");
                            l.push(t);
                            last = v;
                        }
                        (l, last["status"].as_str() == Some("已办结"))
                    }));
                }
                let mut issued = false;
                for j in js {
                    let (l, done) = j.await.unwrap();
                    lat.extend(l);
                    issued |= done;
                }
                assert!(issued, "case {id} was not issued by its last approval");
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for h in handles {
        lat.extend(h.await.unwrap());
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{backend} via HTTP: {cases} complete cases ({} durable requests) in {secs:.2} s = {:.0} cases/s, {:.0} steps/s; step latency p50 {:.2} ms, p99 {:.2} ms ({workers} clients)",
        lat.len(),
        cases as f64 / secs,
        lat.len() as f64 / secs,
        pct(&mut lat, 0.5),
        pct(&mut lat, 0.99),
    );
}
