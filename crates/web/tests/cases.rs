//! A combined matter end to end over the API: one submission with a 容缺
//! material and a signed commitment, departments acting in parallel on
//! their own parts (one asks for a correction), automatic issue, and the
//! denials. SQLite, or PostgreSQL with `DATABASE_URL`.

mod common;

use common::csrf_of;
use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};
use zhengqi_domain::approval::catalogue::Catalogue;
use zhengqi_domain::auth::{Role, Username};
use zhengqi_domain::enterprise::EnterpriseDraft;
use zhengqi_domain::uscc::Uscc;
use zhengqi_store::testing::fresh_store;
use zhengqi_store::{Actor, NewAccount, ReferenceDocs};
use zhengqi_web::{AppState, WebConfig, router};

const MATTER: &str = "YJS-440400-0001";
const OWN: &str = "91440400192548256N";
const OTHER: &str = "91350100M000100Y43";

struct App {
    base: String,
    departments: Vec<String>,
}

async fn app() -> App {
    let store = fresh_store().await.unwrap();
    let rd = store
        .reference_or_default(&ReferenceDocs::zhuhai())
        .await
        .unwrap();
    let sys = Actor::system("测试");
    for (code, name) in [(OWN, "珠海甲制造有限公司"), (OTHER, "珠海乙制造有限公司")]
    {
        let e = EnterpriseDraft {
            uscc: code.into(),
            name: name.into(),
            area: "金湾区".into(),
            industry: "34".into(),
            ..Default::default()
        }
        .validate(&rd)
        .unwrap();
        store.upsert_enterprise(&e, &sys).await.unwrap();
    }
    let c = Catalogue::zhuhai();
    let departments = c.combined_matter(MATTER).unwrap().departments(&c);
    let mut accounts: Vec<(String, Role, Option<&str>, Option<String>)> = vec![
        ("qiye".into(), Role::Enterprise, Some(OWN), None),
        ("qiye2".into(), Role::Enterprise, Some(OTHER), None),
        (
            "outsider".into(),
            Role::Staff,
            None,
            Some(rd.department_by_name("市税务局").unwrap().code.clone()),
        ),
        ("ducha".into(), Role::Supervisor, None, None),
    ];
    for (i, d) in departments.iter().enumerate() {
        accounts.push((format!("dept{i}"), Role::Staff, None, Some(d.clone())));
    }
    for (u, role, ent, dept) in accounts {
        let a = NewAccount {
            username: Username::parse(&u).unwrap(),
            display_name: u.clone(),
            password: "zhengqi2026".into(),
            role,
            enterprise: ent.map(|c| Uscc::parse(c).unwrap()),
            department: dept,
        };
        store.create_account(&a, &sys).await.unwrap();
    }
    let state = AppState::new(
        store,
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
        departments,
    }
}

impl App {
    async fn token(&self, user: &str) -> String {
        let v: Value = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"username": user, "password": "zhengqi2026"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["token"].as_str().unwrap().to_owned()
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let r = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }
}

/// Every material of the matter except the first tolerable one.
fn materials_with_one_tolerable_missing() -> (Vec<String>, String) {
    let c = Catalogue::zhuhai();
    let m = c.combined_matter(MATTER).unwrap();
    let all = m.materials(&c);
    let missing = all
        .iter()
        .find(|s| {
            m.check_acceptance(
                &c,
                &all.iter()
                    .filter(|o| o.material.key != s.material.key)
                    .map(|o| o.material.key.clone())
                    .collect::<BTreeSet<_>>(),
                true,
                false,
            ) != zhengqi_domain::approval::catalogue::AcceptanceDecision::Accept
                && s.material.tolerable
        })
        .unwrap();
    let provided = all
        .iter()
        .filter(|o| o.material.key != missing.material.key)
        .map(|o| o.material.key.clone())
        .collect();
    (provided, missing.material.key.clone())
}

#[tokio::test]
async fn combined_matter_runs_in_parallel_to_issue() {
    let a = app().await;
    let q = a.token("qiye").await;
    let (provided, missing) = materials_with_one_tolerable_missing();

    // Without the commitment the 容缺 material blocks acceptance.
    let body = json!({"matter": MATTER, "idempotency_key": "k1", "materials": provided});
    let (s, v) = a.post(&q, "/api/v1/cases", body).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("commitment_required")
        ),
        "{v}"
    );
    // Missing a core material is refused with the list.
    let (s, v) = a.post(&q, "/api/v1/cases", json!({"matter": MATTER, "idempotency_key": "k0", "materials": [], "commitment_signed": true})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("materials_missing")),
        "{v}"
    );

    let body = json!({"matter": MATTER, "idempotency_key": "k1", "materials": provided, "commitment_signed": true});
    let (s, v) = a.post(&q, "/api/v1/cases", body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(v["parts"].as_array().unwrap().len(), a.departments.len());
    assert_eq!(v["owed"].as_array().unwrap().len(), 1);
    // A retry is the same case.
    let (s, v) = a.post(&q, "/api/v1/cases", body).await;
    assert_eq!((s, v["id"].as_str()), (StatusCode::OK, Some(id.as_str())));

    // Denials: another enterprise and an outside department see nothing and change nothing.
    let q2 = a.token("qiye2").await;
    assert_eq!(
        a.get(&q2, &format!("/api/v1/cases/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    let out = a.token("outsider").await;
    assert_eq!(
        a.post(
            &out,
            &format!("/api/v1/cases/{id}/actions"),
            json!({"action": "accept"})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let d0 = a.token("dept0").await;
    // The applicant cannot approve; a department cannot withdraw.
    assert_eq!(
        a.post(
            &q,
            &format!("/api/v1/cases/{id}/actions"),
            json!({"action": "approve"})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        a.post(
            &d0,
            &format!("/api/v1/cases/{id}/actions"),
            json!({"action": "withdraw"})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    // Approving before accepting is an invalid transition, not a 500.
    let (s, v) = a
        .post(
            &d0,
            &format!("/api/v1/cases/{id}/actions"),
            json!({"action": "approve"}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition")),
        "{v}"
    );

    // Every department accepts in parallel.
    let mut tokens = Vec::new();
    for i in 0..a.departments.len() {
        tokens.push(a.token(&format!("dept{i}")).await);
    }
    let accepts = tokens.iter().map(|t| {
        post_owned(
            a.base.clone(),
            t.clone(),
            format!("/api/v1/cases/{id}/actions"),
            json!({"action": "accept"}),
        )
    });
    for (s, v) in futures_join(accepts).await {
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // The first department asks for a correction; the applicant supplies it and the owed material.
    let (s, _) = a
        .post(
            &tokens[0],
            &format!("/api/v1/cases/{id}/actions"),
            json!({"action": "request_correction", "text": "图纸缺少签章"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let dept0 = a.departments[0].clone();
    let (s, v) = a
        .post(
            &q,
            &format!("/api/v1/cases/{id}/actions"),
            json!({"action": "corrected", "target": dept0}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = a
        .post(
            &q,
            &format!("/api/v1/cases/{id}/actions"),
            json!({"action": "supply_material", "target": missing}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // All approve in parallel; the last approval issues the results.
    let approvals = tokens.iter().map(|t| {
        post_owned(
            a.base.clone(),
            t.clone(),
            format!("/api/v1/cases/{id}/actions"),
            json!({"action": "approve", "text": "同意"}),
        )
    });
    for (s, v) in futures_join(approvals).await {
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (_, v) = a.get(&q, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(v["status"], "已办结", "{v}");
    assert!(
        v["parts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["state"] == "已批准")
    );
    let timeline: Vec<String> = v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect();
    assert!(
        timeline
            .iter()
            .any(|l| l.contains("图纸缺少签章") || l.contains("补正")),
        "{timeline:?}"
    );
}

async fn post_owned(base: String, token: String, path: String, body: Value) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// Runs the requests concurrently and collects their results.
async fn futures_join<F: std::future::Future<Output = (StatusCode, Value)> + Send + 'static>(
    futs: impl Iterator<Item = F>,
) -> Vec<(StatusCode, Value)> {
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

async fn browser(a: &App, user: &str) -> reqwest::Client {
    common::browser(&a.base, user).await
}

#[tokio::test]
async fn pages_submit_a_matter_and_show_queues_with_time_left() {
    let a = app().await;
    let q = browser(&a, "qiye").await;
    let form = q
        .get(format!("{}/cases/new?matter={MATTER}", a.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("工业项目开工一件事") && form.contains("可容缺"));
    let csrf = csrf_of(&form);
    let key = form
        .split("name=\"idempotency_key\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let (provided, missing) = materials_with_one_tolerable_missing();
    let mut fields: Vec<(String, String)> = vec![
        ("csrf".into(), csrf.clone()),
        ("matter".into(), MATTER.into()),
        ("idempotency_key".into(), key.clone()),
    ];
    fields.extend(provided.iter().map(|m| ("material".to_owned(), m.clone())));
    // No commitment: the form comes back with the reason.
    let r = q
        .post(format!("{}/cases/new", a.base))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let back = r.text().await.unwrap();
    assert!(back.contains("承诺书"));
    // The form keeps the applicant's choices: the omitted material stays unticked.
    assert!(
        back.contains(&format!("value=\"{missing}\" >"))
            && back.contains(&format!("value=\"{}\" checked>", provided[0])),
        "{back}"
    );
    // And it shows the commitment letter the applicant is asked to sign.
    assert!(back.contains("id=\"commitment-letter\"") && back.contains("本单位郑重承诺"));
    fields.push(("commitment".into(), "1".into()));
    let r = q
        .post(format!("{}/cases/new", a.base))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let case_path = r.url().path().to_owned();
    assert!(case_path.starts_with("/cases/ZQ"), "{case_path}");
    let body = r.text().await.unwrap();
    assert!(body.contains("待补交容缺材料") && body.contains("办件进度"));
    // The signed commitment is on the case page, outside any form (printable).
    let commitment = body
        .split("id=\"commitment\"")
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .unwrap_or_default();
    assert!(
        commitment.contains("本单位郑重承诺") && !commitment.contains("<form"),
        "{body}"
    );
    // A double click (same key) lands on the same case.
    let r = q
        .post(format!("{}/cases/new", a.base))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.url().path(), case_path);

    // The department sees it in its queue, accepts it, and sees the time left.
    let d = browser(&a, "dept1").await;
    let queue = d
        .get(format!("{}/cases", a.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(queue.contains(&case_path[7..]), "queued");
    let page = d
        .get(format!("{}{case_path}", a.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = d
        .post(format!("{}{case_path}/act", a.base))
        .form(&[("csrf", csrf_of(&page).as_str()), ("action", "accept")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let queue = d
        .get(format!("{}/cases", a.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        queue.contains("剩余") && queue.contains("个工作日"),
        "time left shown"
    );
    // Approving twice is refused with the reason on the page, not an error page.
    let page = d
        .get(format!("{}{case_path}", a.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = d
        .post(format!("{}{case_path}/act", a.base))
        .form(&[("csrf", csrf_of(&page).as_str()), ("action", "accept")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("act-error"));
    // Another enterprise cannot open it.
    let q2 = browser(&a, "qiye2").await;
    assert_eq!(
        q2.get(format!("{}{case_path}", a.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn supervisors_see_every_case() {
    let a = app().await;
    let q = a.token("qiye").await;
    let (provided, _) = materials_with_one_tolerable_missing();
    let body = json!({"matter": MATTER, "idempotency_key": "s1", "materials": provided, "commitment_signed": true});
    let (s, v) = a.post(&q, "/api/v1/cases", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let sup = browser(&a, "ducha").await;
    let page = sup
        .get(format!("{}/cases", a.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&id) && page.contains("全部办件（超期 0 件）"),
        "supervisors see every case"
    );
    assert_eq!(
        sup.get(format!("{}/cases/{id}", a.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Staff of a department not in the matter see an empty queue, not the case.
    let out = browser(&a, "outsider").await;
    let page = out
        .get(format!("{}/cases", a.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains(&id));
    // The applicant sees it under 我的办件.
    let qb = browser(&a, "qiye").await;
    let page = qb
        .get(format!("{}/cases", a.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&id) && page.contains("我的办件"));
}
