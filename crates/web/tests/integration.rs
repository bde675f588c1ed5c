//! Integration with other systems over real HTTP: signed webhooks delivered
//! to a real receiver (which verifies the HMAC) with retries, dead letters
//! and requeue; inbound portal submission and department status callbacks
//! with their idempotency and denials; the admin page. Time is driven
//! explicitly through `deliver_due`. SQLite, or PostgreSQL with `DATABASE_URL`.

mod common;

use common::csrf_of;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use sha2::Sha256;
use zhengqi_domain::approval::catalogue::Catalogue;
use zhengqi_domain::auth::{Role, Username};
use zhengqi_domain::enterprise::EnterpriseDraft;
use zhengqi_domain::uscc::Uscc;
use zhengqi_store::testing::fresh_store;
use zhengqi_store::{Actor, NewAccount, NewSubscription, ReferenceDocs, RetryPolicy, Store};
use zhengqi_web::webhooks::{DeliveryReport, WebhookConfig, client, deliver_due};
use zhengqi_web::{AppState, WebConfig, router};

const MATTER: &str = "YJS-440400-0001";
const OWN: &str = "91440400192548256N";
const PW: &str = "zhengqi2026";

struct App {
    base: String,
    store: Store,
    departments: Vec<String>,
}

async fn app() -> App {
    let store = fresh_store().await.unwrap();
    let rd = store
        .reference_or_default(&ReferenceDocs::zhuhai())
        .await
        .unwrap();
    let sys = Actor::system("测试");
    let e = EnterpriseDraft {
        uscc: OWN.into(),
        name: "珠海甲制造有限公司".into(),
        area: "金湾区".into(),
        industry: "34".into(),
        ..Default::default()
    }
    .validate(&rd)
    .unwrap();
    store.upsert_enterprise(&e, &sys).await.unwrap();
    let c = Catalogue::zhuhai();
    let departments = c.combined_matter(MATTER).unwrap().departments(&c);
    let mut accounts: Vec<(String, Role, Option<&str>, Option<String>)> = vec![
        ("qiye".into(), Role::Enterprise, Some(OWN), None),
        (
            "outsider".into(),
            Role::Staff,
            None,
            Some(rd.department_by_name("市税务局").unwrap().code.clone()),
        ),
        ("ducha".into(), Role::Supervisor, None, None),
        ("admin".into(), Role::Admin, None, None),
    ];
    for (i, d) in departments.iter().enumerate() {
        accounts.push((format!("gcxm{i}"), Role::Staff, None, Some(d.clone())));
    }
    for (u, role, ent, dept) in accounts {
        let a = NewAccount {
            username: Username::parse(&u).unwrap(),
            display_name: u.clone(),
            password: PW.into(),
            role,
            enterprise: ent.map(|c| Uscc::parse(c).unwrap()),
            department: dept,
        };
        store.create_account(&a, &sys).await.unwrap();
    }
    let state = AppState::new(
        store.clone(),
        rd,
        WebConfig {
            secure_cookies: false,
            demo: false,
        },
    )
    // Cases are accepted today, so deadlines can fall in a year the shipped
    // notices do not cover yet: tests add synthetic weekday-only years.
    .with_calendar(
        zhengqi_domain::calendar::WorkCalendar::official_with(include_str!(
            "../../../data/test/holidays-after-2026.json"
        ))
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
    App {
        base: format!("http://{addr}"),
        store,
        departments,
    }
}

impl App {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn token(&self, user: &str) -> String {
        let v: Value = reqwest::Client::new()
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": user, "password": PW}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["token"].as_str().unwrap().to_owned()
    }

    async fn post(
        &self,
        token: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Value,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut rb = reqwest::Client::new()
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let r = rb.send().await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        (status, headers, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let r = reqwest::Client::new()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    /// Submits the matter with every material through the portal endpoint.
    async fn submit(&self, key: &str) -> String {
        let q = self.token("qiye").await;
        let (s, _, v) = self
            .post(
                &q,
                "/api/v1/integration/cases",
                &[("Idempotency-Key", key)],
                json!({"matter": MATTER, "materials": all_materials(), "commitment_signed": true}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    async fn subscribe(&self, url: &str) -> (i64, String) {
        let (sub, secret) = self
            .store
            .create_subscription(
                &NewSubscription {
                    name: "工程建设项目审批管理系统".into(),
                    url: url.into(),
                    events: vec![],
                },
                &Actor::system("测试"),
                Utc::now(),
            )
            .await
            .unwrap();
        (sub.id, secret)
    }
}

fn all_materials() -> Vec<String> {
    let c = Catalogue::zhuhai();
    c.combined_matter(MATTER)
        .unwrap()
        .materials(&c)
        .iter()
        .map(|m| m.material.key.clone())
        .collect()
}

fn callback(event_id: &str, decision: &str) -> Value {
    json!({
        "event_id": event_id,
        "decision": decision,
        "external_ref": format!("GC-{event_id}"),
        "decided_at": "2025-10-09T10:00:00+08:00",
        "text": "",
    })
}

// ---- a real webhook receiver -------------------------------------------

#[derive(Default)]
struct Receiver {
    secret: String,
    /// Answer 500 to this many requests first.
    fail_first: usize,
    requests: usize,
    bad_signatures: usize,
    /// Accepted deliveries: (event id header, body).
    accepted: Vec<(String, Value)>,
}

type Shared = Arc<Mutex<Receiver>>;

async fn receive(State(r): State<Shared>, headers: HeaderMap, body: Bytes) -> AxStatus {
    let mut r = r.lock().unwrap();
    r.requests += 1;
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let ts = h("x-zhengqi-timestamp");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(r.secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.").as_bytes());
    mac.update(&body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    if h("x-zhengqi-signature") != expected {
        r.bad_signatures += 1;
        return AxStatus::UNAUTHORIZED;
    }
    if r.requests <= r.fail_first {
        return AxStatus::INTERNAL_SERVER_ERROR;
    }
    let v: Value = serde_json::from_slice(&body).unwrap();
    r.accepted.push((h("x-zhengqi-event-id"), v));
    AxStatus::NO_CONTENT
}

async fn receiver_on(listener: tokio::net::TcpListener, secret: &str, fail_first: usize) -> Shared {
    let shared: Shared = Arc::new(Mutex::new(Receiver {
        secret: secret.to_owned(),
        fail_first,
        ..Default::default()
    }));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(shared.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    shared
}

async fn pass(a: &App, now: DateTime<Utc>) -> DeliveryReport {
    let cfg = WebhookConfig::default();
    deliver_due(&a.store, &client(cfg.timeout), now, &cfg)
        .await
        .unwrap()
}

#[tokio::test]
async fn webhook_retried_after_backoff_and_delivered_once() {
    let a = app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (_, secret) = a.subscribe(&url).await;
    let rx = receiver_on(listener, &secret, 1).await;

    // The department's acceptance produces events.
    let id = a.submit("k1").await;
    let dept = a.token("gcxm0").await;
    let (s, _, v) = a
        .post(
            &dept,
            &format!("/api/v1/integration/cases/{id}/status"),
            &[],
            callback("E1", "受理"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let t0 = Utc::now();
    let r = pass(&a, t0).await;
    assert!(r.attempted >= 2, "{r:?}");
    assert_eq!((r.retrying, r.dead), (1, 0), "the first answer was 500");
    assert_eq!(r.delivered, r.attempted - 1);
    let events = r.attempted;

    // Not before the backoff (30 s) ends; then delivered.
    assert_eq!(pass(&a, t0 + Duration::seconds(29)).await.attempted, 0);
    let r = pass(&a, t0 + Duration::seconds(30)).await;
    assert_eq!((r.attempted, r.delivered), (1, 1));
    assert_eq!(pass(&a, t0 + Duration::days(2)).await.attempted, 0);

    let rx = rx.lock().unwrap();
    assert_eq!(rx.bad_signatures, 0);
    assert_eq!(rx.requests, events + 1);
    assert_eq!(rx.accepted.len(), events, "each event delivered once");
    let mut ids: Vec<&str> = rx.accepted.iter().map(|(i, _)| i.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), events);
    for (hdr, body) in &rx.accepted {
        assert_eq!(body["id"].as_str(), Some(hdr.as_str()));
        assert_eq!(body["case_id"].as_str(), Some(id.as_str()));
        assert_eq!(body["event"], body["data"]["type"]);
        assert!(DateTime::parse_from_rfc3339(body["occurred_at"].as_str().unwrap()).is_ok());
    }
    assert!(
        rx.accepted
            .iter()
            .any(|(_, b)| b["event"] == "part_state_changed" && b["data"]["to"] == "Accepted")
    );
}

#[tokio::test]
async fn unreachable_receiver_goes_dead_then_requeue_delivers() {
    let a = app().await;
    // A port nobody listens on (yet).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/hook");
    let (_, secret) = a.subscribe(&url).await;
    let id = a.submit("k1").await;
    let dept = a.token("gcxm0").await;
    a.post(
        &dept,
        &format!("/api/v1/integration/cases/{id}/status"),
        &[],
        callback("E1", "受理"),
    )
    .await;

    let policy = RetryPolicy::default();
    let mut now = Utc::now();
    let mut events = 0;
    for attempt in 1..=policy.max_attempts {
        let r = pass(&a, now).await;
        assert!(r.attempted > 0 && r.delivered == 0, "{r:?}");
        events = r.attempted;
        if attempt == policy.max_attempts {
            assert_eq!(r.dead, events);
        } else {
            assert_eq!(r.retrying, events);
        }
        now += policy.delay_after(attempt);
    }
    assert_eq!(pass(&a, now + Duration::days(30)).await.attempted, 0);

    // The admin sees the dead letters with the error and requeues one.
    let (c, _) = browser_login(&a, "admin").await;
    let page = c
        .get(a.url("/admin/integration"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("死信列表") && page.contains("无法连接接收地址"),
        "{page}"
    );
    let dead = a.store.dead_letters(100).await.unwrap();
    assert_eq!(dead.len(), events);
    let csrf = csrf_of(&page);
    let target = dead[0].delivery_id;
    let r = c
        .post(a.url(&format!("/admin/integration/deliveries/{target}/requeue")))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .post(a.url(&format!("/admin/integration/deliveries/{target}/requeue")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("已重新排队"));
    let audit = a
        .store
        .audit_entries(&zhengqi_store::AuditFilter {
            action: Some("webhook.requeue".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .0;
    assert_eq!((audit.len(), audit[0].actor_name.as_str()), (1, "admin"));

    // The receiver comes up; the requeued delivery arrives, once.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let rx = receiver_on(listener, &secret, 0).await;
    let r = pass(&a, now).await;
    assert_eq!((r.attempted, r.delivered), (1, 1));
    assert_eq!(pass(&a, now + Duration::days(1)).await.attempted, 0);
    assert_eq!(a.store.dead_letters(100).await.unwrap().len(), events - 1);
    let rx = rx.lock().unwrap();
    assert_eq!((rx.accepted.len(), rx.bad_signatures), (1, 0));
    assert_eq!(rx.accepted[0].0, dead[0].event_id.to_string());
}

#[tokio::test]
async fn portal_submission_is_idempotent_and_enterprise_only() {
    let a = app().await;
    let q = a.token("qiye").await;
    let body = json!({"matter": MATTER, "materials": all_materials(), "commitment_signed": true});
    let path = "/api/v1/integration/cases";
    let (s, _, v) = a
        .post(&q, path, &[("Idempotency-Key", "YWTB-1")], body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let (s, _, v) = a
        .post(&q, path, &[("Idempotency-Key", "YWTB-1")], body.clone())
        .await;
    assert_eq!((s, v["id"].as_str()), (StatusCode::OK, Some(id.as_str())));
    let (s, _, v) = a
        .post(&q, path, &[("Idempotency-Key", "YWTB-2")], body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_ne!(v["id"].as_str(), Some(id.as_str()));
    // Missing key: 400 with a Chinese message.
    let (s, _, v) = a.post(&q, path, &[], body.clone()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid"))
    );
    assert!(v["message"].as_str().unwrap().contains("幂等键"), "{v}");
    // Bad body.
    let (s, _, v) = a
        .post(
            &q,
            path,
            &[("Idempotency-Key", "x")],
            json!({"materials": 3}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().contains("请求体"), "{v}");
    // Government accounts cannot submit for an enterprise.
    for user in ["gcxm0", "ducha", "admin"] {
        let t = a.token(user).await;
        let (s, _, _) = a
            .post(&t, path, &[("Idempotency-Key", "YWTB-9")], body.clone())
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{user}");
    }
    let (s, _, _) = a
        .post("nonsense", path, &[("Idempotency-Key", "k")], body)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn status_callbacks_apply_once_and_deny_others() {
    let a = app().await;
    let id = a.submit("k1").await;
    let path = format!("/api/v1/integration/cases/{id}/status");
    let dept = a.token("gcxm0").await;
    let events_now = |a: &App| {
        let store = a.store.clone();
        let id = id.clone();
        async move { store.case_events(&id).await.unwrap().len() }
    };

    let (s, h, first) = a.post(&dept, &path, &[], callback("E1", "受理")).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert!(h.get("idempotent-replayed").is_none());
    assert_eq!(first["parts"][0]["state"], "审查中");
    let n = events_now(&a).await;
    // The same callback again: same answer, marked as a replay, nothing applied.
    let (s, h, again) = a.post(&dept, &path, &[], callback("E1", "受理")).await;
    assert_eq!((s, &again), (StatusCode::OK, &first));
    assert_eq!(h["idempotent-replayed"], "true");
    assert_eq!(events_now(&a).await, n);
    // The same event id with other content is refused.
    let (s, _, v) = a.post(&dept, &path, &[], callback("E1", "批准")).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("event_id_reused"))
    );
    // A refusal by the state machine is an answer too, kept for repeats.
    let (s, _, refused) = a.post(&dept, &path, &[], callback("E2", "受理")).await;
    assert_eq!(
        (s, refused["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition"))
    );
    let (s, h, v) = a.post(&dept, &path, &[], callback("E2", "受理")).await;
    assert_eq!((s, &v), (StatusCode::CONFLICT, &refused));
    assert_eq!(h["idempotent-replayed"], "true");
    assert_eq!(events_now(&a).await, n);

    // Correction needs a reason (400, Chinese), then with one it applies.
    let (s, _, v) = a.post(&dept, &path, &[], callback("E3", "补正")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().contains("补正要求"), "{v}");
    let mut cb = callback("E4", "补正");
    cb["text"] = json!("请补充施工图审查合格书");
    let (s, _, v) = a.post(&dept, &path, &[], cb).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "待补正");
    // The audit log keeps the external reference.
    let audit = a
        .store
        .audit_entries(&zhengqi_store::AuditFilter {
            action: Some("integration.callback".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .0;
    assert!(
        audit
            .iter()
            .any(|e| e.after.as_ref().unwrap()["external_ref"] == "GC-E1")
    );
    assert_eq!(audit.len(), 3, "E1, E2 (refused) and E4: one entry each");

    // Denials.
    let out = a.token("outsider").await;
    let (s, _, v) = a.post(&out, &path, &[], callback("X1", "受理")).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    for user in ["qiye", "ducha", "admin"] {
        let t = a.token(user).await;
        let (s, _, _) = a.post(&t, &path, &[], callback("X2", "受理")).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{user}");
    }
    let (s, _, v) = a
        .post(
            &dept,
            "/api/v1/integration/cases/NOPE/status",
            &[],
            callback("X3", "受理"),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    assert!(v["message"].as_str().unwrap().contains("未找到"));

    // Bad payloads: Chinese messages, nothing stored.
    let (s, _, v) = a.post(&dept, &path, &[], callback("X4", "同意")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().contains("未知的决定"), "{v}");
    let mut cb = callback("X5", "批准");
    cb["decided_at"] = json!("昨天");
    let (s, _, v) = a.post(&dept, &path, &[], cb).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().contains("RFC 3339"), "{v}");
    let (s, _, v) = a.post(&dept, &path, &[], json!({"decision": "受理"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().contains("请求体"), "{v}");
    let (s, _, _) = a.post(&dept, &path, &[], callback("", "受理")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(events_now(&a).await, n + 1, "only E4 applied since E1");

    // Every department approving through callbacks issues the case.
    let c = a.token("gcxm0").await;
    let q = a.token("qiye").await;
    let (s, _, v) = a
        .post(
            &q,
            &format!("/api/v1/cases/{id}/actions"),
            &[],
            json!({"action": "corrected", "target": a.departments[0]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for i in 1..a.departments.len() {
        let t = a.token(&format!("gcxm{i}")).await;
        let (s, _, v) = a
            .post(&t, &path, &[], callback(&format!("A{i}"), "受理"))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    for i in 0..a.departments.len() {
        let t = if i == 0 {
            c.clone()
        } else {
            a.token(&format!("gcxm{i}")).await
        };
        let (s, _, v) = a
            .post(&t, &path, &[], callback(&format!("P{i}"), "批准"))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (_, v) = a.get(&q, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(v["status"], "已办结");
}

#[tokio::test]
async fn admin_page_manages_subscriptions_and_openapi_documents_it() {
    let a = app().await;
    let (c, _) = browser_login(&a, "admin").await;
    let page = c
        .get(a.url("/admin/integration"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("系统对接") && page.contains("href=\"/admin/integration\""));
    let csrf = csrf_of(&page);
    let r = c
        .post(a.url("/admin/integration"))
        .form(&[
            ("csrf", "forged"),
            ("name", "x"),
            ("url", "https://x.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(a.store.subscriptions().await.unwrap().is_empty());
    // Bad URL: the form again with a Chinese error.
    let r = c
        .post(a.url("/admin/integration"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "门户"),
            ("url", "ftp://x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("接收地址应以"));
    // Created: the secret is shown once.
    let r = c
        .post(a.url("/admin/integration"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "一网通办<门户>"),
            ("url", "https://ywtb.example/hook"),
            ("event", "case_issued"),
            ("event", "case_status_changed"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    assert!(html.contains("一网通办&#60;门户&#62;") || html.contains("一网通办&lt;门户&gt;"));
    let i = html.find("whsec_").expect("secret shown");
    let secret = &html[i..i + 70];
    let again = c
        .get(a.url("/admin/integration"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !again.contains(secret) && !again.contains("whsec_"),
        "shown only once"
    );
    let subs = a.store.subscriptions().await.unwrap();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].events, vec!["case_issued", "case_status_changed"]);
    // Disable (CSRF-checked, audited).
    let r = c
        .post(a.url(&format!(
            "/admin/integration/subscriptions/{}/disable",
            subs[0].id
        )))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!a.store.subscriptions().await.unwrap()[0].active);

    // Other roles are refused.
    for user in ["gcxm0", "ducha", "qiye"] {
        let (c, _) = browser_login(&a, user).await;
        let r = c.get(a.url("/admin/integration")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{user}");
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("href=\"/admin/integration\""),
            "{user} sees no link"
        );
        let r = c
            .post(a.url("/admin/integration/deliveries/1/requeue"))
            .form(&[("csrf", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{user}");
    }

    // The OpenAPI document describes the endpoints and the webhook contract.
    let doc: Value = reqwest::get(a.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/integration/cases/{id}/status"]["post"].is_object());
    assert!(doc["paths"]["/integration/cases"]["post"].is_object());
    assert!(doc["components"]["schemas"]["StatusCallback"].is_object());
    let text = doc.to_string();
    assert!(text.contains("X-Zhengqi-Signature") && text.contains("Idempotency-Key"));
}

/// Logs in through the HTML form, returning a cookie-keeping client.
async fn browser_login(a: &App, user: &str) -> (reqwest::Client, String) {
    let c = reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let page = c
        .get(a.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let r = c
        .post(a.url("/login"))
        .form(&[
            ("username", user),
            ("password", PW),
            ("csrf", &csrf),
            ("next", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let home = r.headers()["location"].to_str().unwrap().to_owned();
    (c, home)
}
