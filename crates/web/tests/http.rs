//! HTTP tests: the real router on a random port over a fresh database
//! (SQLite, or PostgreSQL when `DATABASE_URL` is set), driven by a real
//! HTTP client. Most tests are denials: each role must be refused what it
//! may not see or change, and nothing may change when it is refused.

mod common;

use common::csrf_of;
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use zhengqi_domain::auth::{Role, Username};
use zhengqi_domain::enterprise::EnterpriseDraft;
use zhengqi_domain::uscc::Uscc;
use zhengqi_store::testing::fresh_store;
use zhengqi_store::{Actor, AuditFilter, NewAccount, ReferenceDocs, Store};
use zhengqi_web::{AppState, WebConfig, router};

const OWN: &str = "91440400192548256N";
const OTHER: &str = "91350100M000100Y43";
const PW: &str = "zhengqi2026";

struct App {
    base: String,
    store: Store,
    tax: String,
}

async fn app() -> App {
    let store = fresh_store().await.unwrap();
    let rd = store
        .reference_or_default(&ReferenceDocs::zhuhai())
        .await
        .unwrap();
    let sys = Actor::system("测试");
    for (code, name) in [
        (OWN, "珠海自家科技有限公司"),
        (OTHER, "珠海别家<script>alert(1)</script>有限公司"),
    ] {
        let e = EnterpriseDraft {
            uscc: code.into(),
            name: name.into(),
            area: "保税区".into(),
            industry: "65".into(),
            ..Default::default()
        }
        .validate(&rd)
        .unwrap();
        store.upsert_enterprise(&e, &sys).await.unwrap();
    }
    let tax = rd.department_by_name("市税务局").unwrap().code.clone();
    let accounts = [
        ("qiye", Role::Enterprise, Some(OWN), None),
        ("swj", Role::Staff, None, Some(tax.clone())),
        ("ducha", Role::Supervisor, None, None),
        ("admin", Role::Admin, None, None),
    ];
    for (u, role, ent, dept) in accounts {
        store
            .create_account(
                &NewAccount {
                    username: Username::parse(u).unwrap(),
                    display_name: format!("{u}用户"),
                    password: PW.into(),
                    role,
                    enterprise: ent.map(|c| Uscc::parse(c).unwrap()),
                    department: dept,
                },
                &sys,
            )
            .await
            .unwrap();
    }
    let state = AppState::new(
        store.clone(),
        rd,
        WebConfig {
            secure_cookies: false,
            demo: false,
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
    App {
        base: format!("http://{addr}"),
        store,
        tax,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

impl App {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn token(&self, user: &str) -> String {
        let r = client()
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": user, "password": PW}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let r = client()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn send(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let r = client()
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn audit_count(&self) -> i64 {
        self.store
            .audit_entries(&AuditFilter::default())
            .await
            .unwrap()
            .1
    }

    async fn indicator_count(&self, code: &str) -> usize {
        self.store
            .indicators(&Uscc::parse(code).unwrap())
            .await
            .unwrap()
            .len()
    }
}

fn assert_json_error(body: &Value, code: &str) {
    assert_eq!(body["code"], code, "{body}");
    let msg = body["message"].as_str().unwrap_or_default();
    assert!(
        msg.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "message should be Chinese: {msg}"
    );
}

#[tokio::test]
async fn health_and_openapi() {
    let a = app().await;
    assert_eq!(
        client()
            .get(a.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let doc: Value = client()
        .get(a.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/auth/login",
        "/enterprises",
        "/enterprises/{uscc}",
        "/enterprises/{uscc}/indicators",
        "/audit",
    ] {
        assert!(
            doc["paths"][p].is_object(),
            "missing {p} in OpenAPI document"
        );
    }
}

#[tokio::test]
async fn bad_input_gets_json_4xx_never_500() {
    let a = app().await;
    let c = client();
    let r = c
        .post(a.url("/api/v1/auth/login"))
        .json(&json!({"username": "qiye", "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_json_error(&r.json().await.unwrap(), "bad_credentials");
    let r = c
        .post(a.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_json_error(&r.json().await.unwrap(), "invalid");
    let r = c
        .post(a.url("/api/v1/auth/login"))
        .json(&json!({"username": "qiye"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c.get(a.url("/api/v1/enterprises")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_json_error(&r.json().await.unwrap(), "unauthenticated");
    let r = c.get(a.url("/api/v1/nothing-here")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_json_error(&r.json().await.unwrap(), "not_found");
    let r = c
        .get(a.url("/api/v1/tools/classify?industry=39&revenue=很多"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_json_error(&r.json().await.unwrap(), "invalid");
    let r = c
        .get(a.url("/api/v1/tools/classify?industry=39&employees=-5"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = c
        .get(a.url("/api/v1/tools/uscc/91350100M000100Y4Z"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains('3'), "{v}");
    let v: Value = c
        .get(a.url("/api/v1/tools/classify?industry=39&employees=250&revenue=1850万"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["size_class"], "小型");
    let t = a.token("admin").await;
    let (s, _) = a.get(&t, "/api/v1/enterprises/%E4%BD%A0%E5%A5%BD").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn enterprise_user_sees_only_its_own_enterprise() {
    let a = app().await;
    let t = a.token("qiye").await;
    let (s, v) = a.get(&t, &format!("/api/v1/enterprises/{OWN}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["name"], "珠海自家科技有限公司");
    assert_eq!(v["area_path"], "珠海市 › 鹤洲新区筹备组 › 保税区");
    let (s, v) = a.get(&t, &format!("/api/v1/enterprises/{OTHER}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(!v.to_string().contains("别家"));
    assert_eq!(
        a.get(&t, &format!("/api/v1/enterprises/{OTHER}/indicators"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    for path in ["/api/v1/enterprises", "/api/v1/audit", "/api/v1/accounts"] {
        assert_eq!(a.get(&t, path).await.0, StatusCode::FORBIDDEN, "{path}");
    }
    let before = a.audit_count().await;
    let (s, _) = a
        .send(
            &t,
            reqwest::Method::PUT,
            &format!("/api/v1/enterprises/{OWN}"),
            json!({"name": "改名", "area": "香洲区", "industry": "65"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = a
        .send(
            &t,
            reqwest::Method::POST,
            &format!("/api/v1/enterprises/{OWN}/indicators"),
            json!({"kind": "营业收入", "year": 2024, "value": "1亿", "source": a.tax}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(a.indicator_count(OWN).await, 0);
    let (s, v) = a.get(&t, &format!("/api/v1/enterprises/{OWN}")).await;
    assert_eq!(
        (s, v["name"].as_str()),
        (StatusCode::OK, Some("珠海自家科技有限公司"))
    );
    // Only the login itself was recorded; the refused writes left nothing.
    assert_eq!(a.audit_count().await, before);
}

#[tokio::test]
async fn staff_share_data_only_in_their_own_departments_name() {
    let a = app().await;
    let t = a.token("swj").await;
    let (s, v) = a.get(&t, "/api/v1/enterprises?q=自家").await;
    assert_eq!((s, v["total"].as_i64()), (StatusCode::OK, Some(1)));
    let path = format!("/api/v1/enterprises/{OWN}/indicators");
    let (s, v) = a
        .send(
            &t,
            reqwest::Method::POST,
            &path,
            json!({"kind": "营业收入", "year": 2024, "value": "1850万"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = a
        .send(
            &t,
            reqwest::Method::POST,
            &path,
            json!({"kind": "营业收入", "year": 2024, "value": "1850万"}),
        )
        .await;
    assert_eq!(
        (s, v["outcome"].as_str()),
        (StatusCode::OK, Some("unchanged"))
    );
    let other_dept = "SFGJ-NOT-MINE";
    let (s, _) = a
        .send(
            &t,
            reqwest::Method::POST,
            &path,
            json!({"kind": "营业收入", "year": 2024, "value": "1", "source": other_dept}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = a
        .send(
            &t,
            reqwest::Method::POST,
            &path,
            json!({"kind": "利润", "year": 24, "value": "很多"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["fields"].as_array().unwrap().len() >= 2, "{v}");
    assert_eq!(a.indicator_count(OWN).await, 1);
    let (_, v) = a.get(&t, &path).await;
    assert_eq!(v[0]["source_name"], "市税务局");
    assert_eq!(v[0]["display"], "1,850万元");
    assert_eq!(a.get(&t, "/api/v1/audit").await.0, StatusCode::FORBIDDEN);
    let (s, _) = a
        .send(
            &t,
            reqwest::Method::PUT,
            &format!("/api/v1/enterprises/{OWN}"),
            json!({"name": "改名", "area": "香洲区", "industry": "65"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn supervisor_reads_everything_and_changes_nothing() {
    let a = app().await;
    let t = a.token("ducha").await;
    assert_eq!(a.get(&t, "/api/v1/enterprises").await.1["total"], 2);
    assert_eq!(
        a.get(&t, &format!("/api/v1/enterprises/{OTHER}")).await.0,
        StatusCode::OK
    );
    let (s, v) = a.get(&t, "/api/v1/audit").await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["total"].as_i64().unwrap() > 0);
    let before = a.audit_count().await;
    let (s, _) = a
        .send(
            &t,
            reqwest::Method::PUT,
            &format!("/api/v1/enterprises/{OWN}"),
            json!({"name": "改名", "area": "香洲区", "industry": "65"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = a
        .send(
            &t,
            reqwest::Method::POST,
            &format!("/api/v1/enterprises/{OWN}/indicators"),
            json!({"kind": "营业收入", "year": 2024, "value": "1", "source": a.tax}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(a.get(&t, "/api/v1/accounts").await.0, StatusCode::FORBIDDEN);
    let (s, _) = a
        .send(&t, reqwest::Method::POST, "/api/v1/accounts",
              json!({"username": "sneaky", "display_name": "x", "password": "zhengqi2026", "role": "admin"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(a.audit_count().await, before);
    assert_eq!(a.indicator_count(OWN).await, 0);
}

#[tokio::test]
async fn admin_edits_registry_and_accounts_with_field_errors() {
    let a = app().await;
    let t = a.token("admin").await;
    let new = Uscc::from_body("91440402MA0000001").unwrap();
    let path = format!("/api/v1/enterprises/{new}");
    let (s, v) = a
        .send(
            &t,
            reqwest::Method::PUT,
            &path,
            json!({"name": "", "area": "火星区", "industry": "C", "founded": "昨天"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    for f in ["name", "area", "industry", "founded"] {
        assert!(fields.contains(&f), "{v}");
    }
    assert_eq!(a.get(&t, &path).await.0, StatusCode::NOT_FOUND);
    let body = json!({"name": "珠海新登记有限公司", "area": "横琴", "industry": "C39", "tags": ["专精特新"],
                      "certifications": ["高新技术企业:2024-01-01:2026-12-31"]});
    let (s, v) = a.send(&t, reqwest::Method::PUT, &path, body.clone()).await;
    assert_eq!(
        (s, v["outcome"].as_str()),
        (StatusCode::OK, Some("created")),
        "{v}"
    );
    let (_, v) = a.send(&t, reqwest::Method::PUT, &path, body).await;
    assert_eq!(v["outcome"], "unchanged");
    let (_, audit) = a.get(&t, &format!("/api/v1/audit?target_id={new}")).await;
    assert_eq!(audit["total"], 1);
    assert_eq!(audit["items"][0]["action"], "enterprise.create");
    assert_eq!(audit["items"][0]["actor"], "admin");

    let acc = json!({"username": "newstaff", "display_name": "新同事", "password": "zhengqi2026", "role": "staff", "department": "市财政局"});
    let (s, v) = a
        .send(&t, reqwest::Method::POST, "/api/v1/accounts", acc.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        a.send(&t, reqwest::Method::POST, "/api/v1/accounts", acc)
            .await
            .0,
        StatusCode::CONFLICT
    );
    let bad = json!({"username": "x", "display_name": "新同事", "password": "zhengqi2026", "role": "staff"});
    let (s, v) = a
        .send(&t, reqwest::Method::POST, "/api/v1/accounts", bad)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_json_error(&v, "invalid");
}

#[tokio::test]
async fn logout_revokes_the_token() {
    let a = app().await;
    let t = a.token("qiye").await;
    assert_eq!(a.get(&t, "/api/v1/me").await.0, StatusCode::OK);
    let r = client()
        .post(a.url("/api/v1/auth/logout"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(a.get(&t, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
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
    let set = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    let session = set
        .iter()
        .find(|c| c.starts_with("zq_session="))
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    let home = r.headers()["location"].to_str().unwrap().to_owned();
    (c, home)
}

#[tokio::test]
async fn pages_require_login_and_csrf() {
    let a = app().await;
    let r = client().get(a.url("/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?next=/me");
    // A login post without the login CSRF cookie is refused and opens no session.
    let r = client()
        .post(a.url("/login"))
        .form(&[
            ("username", "qiye"),
            ("password", PW),
            ("csrf", "0123456789abcdef0123456789abcdef"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.headers()
            .get_all("set-cookie")
            .iter()
            .all(|v| !v.to_str().unwrap().starts_with("zq_session="))
    );
    // Wrong password: the form comes back with the error and the username kept.
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let csrf = csrf_of(
        &c.get(a.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let r = c
        .post(a.url("/login"))
        .form(&[("username", "qiye"), ("password", "wrong"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body = r.text().await.unwrap();
    assert!(body.contains("用户名或密码错误") && body.contains("value=\"qiye\""));
    // An open redirect through `next` is not followed.
    let csrf = csrf_of(
        &c.get(a.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let nc = reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let csrf2 = csrf_of(
        &nc.get(a.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let _ = csrf;
    let r = nc
        .post(a.url("/login"))
        .form(&[
            ("username", "qiye"),
            ("password", PW),
            ("csrf", &csrf2),
            ("next", "//evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/me");
}

#[tokio::test]
async fn enterprise_pages_show_only_own_data_escaped() {
    let a = app().await;
    let (c, home) = browser_login(&a, "qiye").await;
    assert_eq!(home, "/me");
    let me = c.get(a.url("/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.headers()["x-frame-options"], "DENY");
    let body = me.text().await.unwrap();
    assert!(body.contains("珠海自家科技有限公司") && body.contains(OWN));
    let r = c
        .get(a.url(&format!("/enterprises/{OTHER}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(!r.text().await.unwrap().contains("别家"));
    for path in [
        "/enterprises",
        "/workbench",
        "/overview",
        "/audit",
        "/admin/accounts",
        "/admin/reference",
        "/enterprises/export.xlsx",
        "/audit/export.xlsx",
    ] {
        assert_eq!(
            c.get(a.url(path)).send().await.unwrap().status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let r = c
        .post(a.url("/workbench/indicators"))
        .form(&[
            ("csrf", "x"),
            ("uscc", OWN),
            ("kind", "营业收入"),
            ("year", "2024"),
            ("value", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(a.indicator_count(OWN).await, 0);

    // Staff see the other enterprise, with its name escaped.
    let (c, home) = browser_login(&a, "swj").await;
    assert_eq!(home, "/workbench");
    let body = c
        .get(a.url(&format!("/enterprises/{OTHER}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("&#60;script&#62;") && !body.contains("<script>alert"),
        "output must be escaped: {body}"
    );
}

#[tokio::test]
async fn staff_form_checks_csrf_and_shows_errors_beside_fields() {
    let a = app().await;
    let (c, _) = browser_login(&a, "swj").await;
    let page = c
        .get(a.url("/workbench"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let r = c
        .post(a.url("/workbench/indicators"))
        .form(&[
            ("csrf", "forged"),
            ("uscc", OWN),
            ("kind", "营业收入"),
            ("year", "2024"),
            ("value", "100万"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(a.indicator_count(OWN).await, 0);
    let r = c
        .post(a.url("/workbench/indicators"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("uscc", "91440400192548256X"),
            ("kind", "营业收入"),
            ("year", "2024"),
            ("value", "很多"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("class=\"field-error\"") && body.contains("校验码"),
        "{body}"
    );
    let r = c
        .post(a.url("/workbench/indicators"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("uscc", OWN),
            ("kind", "从业人员"),
            ("year", "2024"),
            ("value", "35"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("已提交"));
    assert_eq!(a.indicator_count(OWN).await, 1);
}

#[tokio::test]
async fn audit_and_registry_export_xlsx_for_supervisors() {
    let a = app().await;
    let (c, _) = browser_login(&a, "ducha").await;
    for path in ["/overview", "/enterprises", "/audit"] {
        assert_eq!(
            c.get(a.url(path)).send().await.unwrap().status(),
            StatusCode::OK,
            "{path}"
        );
    }
    let r = c.get(a.url("/audit/export.xlsx")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap();
    let t = zhengqi_domain::table::read(&bytes, zhengqi_domain::table::Format::Xlsx).unwrap();
    assert_eq!(t.headers[0], "时间");
    assert!(!t.rows.is_empty());
    let r = c
        .get(a.url("/enterprises/export.xlsx"))
        .send()
        .await
        .unwrap();
    let t = zhengqi_domain::table::read(
        &r.bytes().await.unwrap(),
        zhengqi_domain::table::Format::Xlsx,
    )
    .unwrap();
    assert_eq!(t.rows.len(), 2);
    assert_eq!(t.headers[0], "统一社会信用代码");
    // Supervisors cannot reach account administration.
    assert_eq!(
        c.get(a.url("/admin/accounts"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
}
