//! The staff side of the eligibility engine over HTTP: rule parsing with
//! Chinese positioned errors, the text ↔ JSON round trip, preview and
//! sandbox figures against inserted data, the xlsx export, the 免申即享
//! list through 公示 → objection → approval → payment exactly once, the
//! 即申即享 queue, and refusals for enterprises and wrong roles. SQLite, or
//! PostgreSQL when `DATABASE_URL` is set.

mod common;

use chrono::{Datelike, NaiveDate, Utc};
use common::csrf_of;
use reqwest::StatusCode;
use serde_json::{Value, json};
use zhengqi_domain::auth::{Role, Username};
use zhengqi_domain::enterprise::{Enterprise, IndicatorKind, NewIndicator};
use zhengqi_domain::size::SizeClass;
use zhengqi_domain::uscc::Uscc;
use zhengqi_eligibility::award::{ApplicationStatus, AwardAction, BankAccount};
use zhengqi_store::testing::fresh_store;
use zhengqi_store::{Actor, NewAccount, PolicyImportOutcome, PolicyRecord, ReferenceDocs, Store};
use zhengqi_web::{AppState, WebConfig, router};

// Five enterprises; "上年度" is last calendar year.
const E1: &str = "91440400MA4WKF01X2"; // 香洲区, C39, 小型, revenue 3000万, R&D 200万
const E2: &str = "91440400192548256N"; // 香洲区, I65, 中型, revenue 2500万, R&D 50万
const E3: &str = "91350100M000100Y43"; // 斗门区, C39, 小型, revenue 1000万
const E4: &str = "91440400MA4X00000A"; // 金湾区, C39, 微型, no figures → undetermined
const E5: &str = "914404007946222585"; // 保税区, I65, 大型, revenue 5000万, R&D 1000万

/// Eligible: E1 (20万), E2 (5万), E5 (capped at 50万); E4 undetermined.
const RULE_A: &str = "上年度.营业收入 >= 2000万元\n金额 = min(上年度.研发投入 × 10%, 50万元)";
/// Eligible: E1, E2; E4 undetermined; E3 (revenue) and E5 (size) not.
const RULE_B: &str = "企业规模 属于 [中型, 小型, 微型]\n上年度.营业收入 >= 2000万元";

struct App {
    base: String,
    store: Store,
    policy: i64,
}

fn uscc(s: &str) -> Uscc {
    Uscc::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

async fn app() -> App {
    let store = fresh_store().await.unwrap();
    let rd = store
        .reference_or_default(&ReferenceDocs::zhuhai())
        .await
        .unwrap();
    let sys = Actor::system("测试");
    let finance = rd.department_by_name("市财政局").unwrap().code.clone();
    let tax = rd.department_by_name("市税务局").unwrap().code.clone();
    let rec = PolicyRecord {
        key: "珠财〔2026〕9号".into(),
        title: "研发投入后补助".into(),
        title_derived: false,
        issuer: finance.clone(),
        doc_number: "珠财〔2026〕9号".into(),
        published_on: NaiveDate::from_ymd_opt(2026, 1, 5),
        policy_type: "资金扶持".into(),
        valid_until: None,
        sizes: vec![],
        areas: vec!["440400".into()],
        departments: vec![finance.clone()],
        content_hash: "h".into(),
        raw_text: "正文".into(),
        parsed: json!({"articles": []}),
        tasks: vec![],
    };
    let policy = match store.import_policy(&rec, "published", &sys).await.unwrap() {
        PolicyImportOutcome::Created { id } => id,
        o => panic!("{o:?}"),
    };
    let ent = |u: &str, name: &str, area: &str, industry: &str, size: SizeClass| Enterprise {
        uscc: uscc(u),
        name: name.into(),
        legal_rep: "张三".into(),
        founded: NaiveDate::from_ymd_opt(2015, 3, 1),
        area: area.into(),
        industry: industry.into(),
        size_class: Some(size),
        size_basis: None,
        tags: vec![],
        certifications: vec![],
    };
    for e in [
        ent(E1, "珠海甲科技有限公司", "440402", "39", SizeClass::Small),
        ent(E2, "珠海乙软件有限公司", "440402", "65", SizeClass::Medium),
        ent(E3, "珠海丙电子有限公司", "440403", "39", SizeClass::Small),
        ent(E4, "珠海丁制造有限公司", "440404", "39", SizeClass::Micro),
        ent(
            E5,
            "珠海戊信息股份有限公司",
            "440400-BSQ",
            "65",
            SizeClass::Large,
        ),
    ] {
        store.upsert_enterprise(&e, &sys).await.unwrap();
    }
    let year = chrono::Local::now().year() - 1;
    let ind = |u: &str, kind: IndicatorKind, wan: i64| NewIndicator {
        uscc: uscc(u),
        kind,
        year,
        value: wan * 1_000_000,
        source: tax.clone(),
    };
    store
        .add_indicators(
            &[
                ind(E1, IndicatorKind::Revenue, 3000),
                ind(E1, IndicatorKind::RdSpending, 200),
                ind(E2, IndicatorKind::Revenue, 2500),
                ind(E2, IndicatorKind::RdSpending, 50),
                ind(E3, IndicatorKind::Revenue, 1000),
                ind(E3, IndicatorKind::RdSpending, 100),
                ind(E5, IndicatorKind::Revenue, 5000),
                ind(E5, IndicatorKind::RdSpending, 1000),
            ],
            &sys,
            Utc::now(),
        )
        .await
        .unwrap();
    let accounts = [
        ("czj", Role::Staff, Some(finance.clone()), None),
        ("swj", Role::Staff, Some(tax.clone()), None),
        ("ducha", Role::Supervisor, None, None),
        ("admin", Role::Admin, None, None),
        ("qiye", Role::Enterprise, None, Some(uscc(E2))),
    ];
    for (name, role, department, enterprise) in accounts {
        store
            .create_account(
                &NewAccount {
                    username: Username::parse(name).unwrap(),
                    display_name: name.into(),
                    password: "zhengqi2026".into(),
                    role,
                    enterprise,
                    department,
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
        policy,
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

    async fn call(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = reqwest::Client::new()
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, token, path, Some(body))
            .await
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, token, path, None).await
    }

    async fn browser(&self, user: &str) -> reqwest::Client {
        common::browser(&self.base, user).await
    }

    async fn page(&self, c: &reqwest::Client, path: &str) -> (StatusCode, String) {
        let r = c.get(format!("{}{path}", self.base)).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

#[tokio::test]
async fn parse_errors_are_chinese_and_positioned_and_json_round_trips() {
    let a = app().await;
    let t = a.token("czj").await;
    let (s, v) = a
        .post(
            &t,
            "/rules/parse",
            json!({"text": "上年度.营业收入 >= 2000万元\n上年度.营业收人 >= 1万元"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "invalid_rule");
    let e = &v["errors"][0];
    assert_eq!(e["line"], 2, "{v}");
    assert!(e["column"].as_u64().unwrap() >= 1);
    let shown = e["display"].as_str().unwrap();
    assert!(shown.starts_with("第2行第"), "{shown}");
    assert!(
        v["message"].as_str().unwrap().contains("营业收人"),
        "names what was found: {v}"
    );

    // Text → JSON → check → the same canonical text.
    let (s, parsed) = a.post(&t, "/rules/parse", json!({"text": RULE_A})).await;
    assert_eq!(s, StatusCode::OK, "{parsed}");
    assert!(parsed["rule"]["condition"].is_object());
    let (s, checked) = a
        .post(&t, "/rules/check", json!({"rule": parsed["rule"]}))
        .await;
    assert_eq!(s, StatusCode::OK, "{checked}");
    assert_eq!(checked["text"], parsed["text"]);
    assert_eq!(checked["rule"], parsed["rule"]);
    // A JSON rule with a bad field is refused with its path.
    let mut bad = parsed["rule"].clone();
    bad["amount"] = json!({"kind": "nonsense"});
    let (s, v) = a.post(&t, "/rules/check", json!({"rule": bad})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["errors"][0]["path"].is_string(), "{v}");

    // PUT with JSON, GET back as text; a second identical save is no new version.
    let path = format!("/policies/{}/rule", a.policy);
    let (s, v) = a
        .call(
            reqwest::Method::PUT,
            &t,
            &path,
            Some(json!({"rule": parsed["rule"], "mode": "exempt"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["current"]["version"], 1);
    assert_eq!(v["current"]["mode_label"], "免申即享");
    assert_eq!(v["current"]["text"], parsed["text"]);
    assert_eq!(v["tag_conditions"].as_array().unwrap().len(), 1, "{v}");
    let (_, v) = a
        .call(
            reqwest::Method::PUT,
            &t,
            &path,
            Some(json!({"text": parsed["text"], "mode": "免申即享"})),
        )
        .await;
    assert_eq!(v["versions"].as_array().unwrap().len(), 1, "{v}");
    let (s, v) = a.get(&t, &path).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["rule"], parsed["rule"]);
    let (s, v) = a
        .call(
            reqwest::Method::PUT,
            &t,
            &path,
            Some(json!({"text": "上年度.营业收入 >=", "mode": "exempt"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = a
        .call(
            reqwest::Method::PUT,
            &t,
            &path,
            Some(json!({"text": RULE_B, "mode": "sometimes"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn preview_and_sandbox_count_the_inserted_base() {
    let a = app().await;
    let t = a.token("ducha").await;
    let (s, v) = a.post(&t, "/rules/preview", json!({"text": RULE_A})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(
        (
            &v["total"],
            &v["eligible"],
            &v["undetermined"],
            &v["not_eligible"]
        ),
        (&json!(5), &json!(3), &json!(1), &json!(1))
    );
    assert_eq!(v["amount_total"], 75 * 1_000_000, "20万 + 5万 + 50万");
    // With the policy, its tag conditions (全市) apply too: same figures.
    let (_, v) = a
        .post(
            &t,
            "/rules/preview",
            json!({"text": RULE_A, "policy_id": a.policy}),
        )
        .await;
    assert_eq!(v["eligible"], 3);
    // Errors come back for the editor to show.
    let (s, v) = a
        .post(&t, "/rules/preview", json!({"text": "区域 属于 [火星区]"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["ok"], false);
    assert_eq!(v["errors"][0]["line"], 1, "{v}");

    let (s, v) = a
        .post(&t, "/sandbox", json!({"drafts": [RULE_A, RULE_B]}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let sa = &v["drafts"][0]["simulation"];
    let by = |list: &Value, name: &str| -> (i64, i64) {
        let b = list
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {list}"));
        (
            b["eligible"].as_i64().unwrap(),
            b["amount_total"].as_i64().unwrap(),
        )
    };
    assert_eq!(by(&sa["by_area"], "香洲区"), (2, 25 * 1_000_000));
    assert_eq!(by(&sa["by_area"], "保税区"), (1, 50 * 1_000_000));
    assert_eq!(sa["by_area"].as_array().unwrap().len(), 2);
    assert_eq!(by(&sa["by_size"], "大型").0, 1);
    assert_eq!(by(&sa["by_size"], "小型").0, 1);
    assert_eq!(by(&sa["by_section"], "制造业"), (1, 20 * 1_000_000));
    assert_eq!(sa["amount"]["min"], 5 * 1_000_000);
    assert_eq!(sa["amount"]["median"], 20 * 1_000_000);
    assert_eq!(sa["amount"]["max"], 50 * 1_000_000);
    let sb = &v["drafts"][1]["simulation"];
    assert_eq!(
        (&sb["eligible"], &sb["undetermined"]),
        (&json!(2), &json!(1))
    );
    let conds = sb["conditions"].as_array().unwrap();
    assert_eq!(conds.len(), 2);
    assert!(
        conds
            .iter()
            .all(|c| c["not_met"] == 1 && c["sole_blocker"] == 1),
        "E5 only by size, E3 only by revenue: {sb}"
    );
    let (s, _) = a.post(&t, "/sandbox", json!({"drafts": []})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // The printable page and the export carry the same figures.
    let c = a.browser("ducha").await;
    let q = format!("a={}&b={}", urlencoding(RULE_A), urlencoding(RULE_B));
    let (s, html) = a.page(&c, &format!("/sandbox?{q}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("<div class=\"stat sim-eligible\">3</div>"),
        "{html}"
    );
    assert!(html.contains("<div class=\"stat sim-eligible\">2</div>"));
    assert!(html.contains("75万元"), "amount total shown");
    let r = c
        .get(format!("{}/sandbox/export.xlsx?{q}", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let t = zhengqi_domain::table::read(
        &r.bytes().await.unwrap(),
        zhengqi_domain::table::Format::Xlsx,
    )
    .unwrap();
    let find = |plan: &str, cat: &str, item: &str| -> Vec<String> {
        t.rows
            .iter()
            .find(|r| r.cells[0] == plan && r.cells[1] == cat && r.cells[2] == item)
            .unwrap_or_else(|| panic!("{plan}/{cat}/{item}"))
            .cells
            .clone()
    };
    assert_eq!(find("方案A", "总体", "符合")[3], "3");
    assert_eq!(find("方案A", "总体", "符合")[4], "75万元");
    assert_eq!(find("方案A", "总体", "无法判断")[3], "1");
    assert_eq!(find("方案A", "按区域", "香洲区")[3], "2");
    assert_eq!(find("方案B", "总体", "符合")[3], "2");

    // The page's script calls the API with the session cookie and the
    // page's CSRF token; the cookie alone is refused.
    let (_, html) = a.page(&c, &format!("/policies/{}/rule", a.policy)).await;
    let csrf = csrf_of(&html);
    let r = c
        .post(format!("{}/api/v1/rules/preview", a.base))
        .header("x-csrf-token", &csrf)
        .json(&json!({"text": RULE_B}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .post(format!("{}/api/v1/rules/preview", a.base))
        .json(&json!({"text": RULE_B}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/rules/preview", a.base))
        .json(&json!({"text": RULE_B}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (_, js) = a.page(&c, "/static/rules.js").await;
    assert!(js.contains("x-csrf-token"));

    // Every endpoint is in the OpenAPI document.
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", a.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for p in [
        "/rules/parse",
        "/rules/check",
        "/rules/preview",
        "/sandbox",
        "/policies/{id}/rule",
        "/award-lists",
        "/award-lists/{id}",
        "/award-lists/{id}/actions",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} documented");
    }
    assert!(doc["paths"]["/policies/{id}/rule"]["put"].is_object());
    assert!(doc["paths"]["/award-lists"]["post"].is_object());
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn editor_saves_versions_and_refuses_other_roles() {
    let a = app().await;
    let path = format!("/policies/{}/rule", a.policy);
    let c = a.browser("czj").await;
    let (s, html) = a.page(&c, &format!("/policies/{}", a.policy)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains(&format!("href=\"{path}\"")),
        "linked for staff"
    );
    let (s, html) = a.page(&c, &path).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("区域 属于"), "tag condition shown: {html}");
    assert!(html.contains("src=\"/static/rules.js\""));
    let csrf = csrf_of(&html);
    // A broken rule is shown back with its position, nothing saved.
    let r = c
        .post(format!("{}{path}", a.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("text", "上年度.营业收入 >= 2000万元 且"),
            ("mode", "exempt"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("第1行第"), "{body}");
    assert!(a.store.current_rule(a.policy).await.unwrap().is_none());
    // Without the CSRF token nothing is saved either.
    let r = c
        .post(format!("{}{path}", a.base))
        .form(&[("csrf", "x"), ("text", RULE_A), ("mode", "exempt")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    for (version, text, mode) in [(1, RULE_A, "exempt"), (2, RULE_B, "instant")] {
        let r = c
            .post(format!("{}{path}", a.base))
            .form(&[("csrf", csrf.as_str()), ("text", text), ("mode", mode)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.url().query(), Some(format!("saved={version}").as_str()));
        let body = r.text().await.unwrap();
        assert!(body.contains(&format!("已保存为第 {version} 版")), "{body}");
    }
    let (_, html) = a.page(&c, &path).await;
    assert!(html.contains("即申即享") && html.contains("第 1 版"));
    let cur = a.store.current_rule(a.policy).await.unwrap().unwrap();
    assert_eq!((cur.version, cur.text.as_str()), (2, RULE_B));
    // The sandbox starts from the policy's full rule (tags + staff rule).
    let (s, html) = a.page(&c, &format!("/sandbox?policy={}", a.policy)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("区域 属于 [珠海市]"), "{html}");
    assert!(html.contains("<div class=\"stat sim-eligible\">2</div>"));

    // Refusals: enterprise pages and API, other department, supervisor.
    let q = a.browser("qiye").await;
    for p in [path.as_str(), "/sandbox", "/awards", "/applications"] {
        assert_eq!(a.page(&q, p).await.0, StatusCode::FORBIDDEN, "{p}");
    }
    let (_, html) = a.page(&q, &format!("/policies/{}", a.policy)).await;
    assert!(!html.contains(&format!("href=\"{path}\"")));
    let te = a.token("qiye").await;
    for (p, body) in [
        ("/rules/parse", json!({"text": RULE_A})),
        ("/rules/preview", json!({"text": RULE_A})),
        ("/sandbox", json!({"drafts": [RULE_A]})),
    ] {
        assert_eq!(a.post(&te, p, body).await.0, StatusCode::FORBIDDEN, "{p}");
    }
    assert_eq!(a.get(&te, &path).await.0, StatusCode::FORBIDDEN);
    assert_eq!(a.get(&te, "/award-lists").await.0, StatusCode::FORBIDDEN);
    for user in ["swj", "ducha"] {
        let t = a.token(user).await;
        assert_eq!(a.get(&t, &path).await.0, StatusCode::OK, "{user} reads");
        let (s, _) = a
            .call(
                reqwest::Method::PUT,
                &t,
                &path,
                Some(json!({"text": RULE_A, "mode": "exempt"})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{user} may not change the rule");
        let b = a.browser(user).await;
        let (_, html) = a.page(&b, &path).await;
        assert!(!html.contains("id=\"rule-save\""), "{user}: no save button");
        let r = b
            .post(format!("{}{path}", a.base))
            .form(&[
                ("csrf", csrf_of(&html).as_str()),
                ("text", RULE_A),
                ("mode", "exempt"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(
        a.store
            .current_rule(a.policy)
            .await
            .unwrap()
            .unwrap()
            .version,
        2,
        "refused requests change nothing"
    );
}

#[tokio::test]
async fn an_exempt_list_goes_through_notice_objection_approval_and_one_payment() {
    let a = app().await;
    let t = a.token("czj").await;
    let path = format!("/policies/{}/rule", a.policy);
    let (s, _) = a
        .call(
            reqwest::Method::PUT,
            &t,
            &path,
            Some(json!({"text": RULE_A, "mode": "exempt"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // Saving a published policy's rule pushes it to the three eligible
    // enterprises (not the undetermined one), once.
    assert_eq!(a.store.push_count(a.policy).await.unwrap(), 3);

    // Another department's staff and supervisors cannot generate.
    let form = |c: &str| vec![("csrf", c.to_owned()), ("policy", a.policy.to_string())];
    let other = a.browser("swj").await;
    let (_, html) = a.page(&other, "/awards").await;
    assert!(!html.contains("id=\"generate\""));
    let r = other
        .post(format!("{}/awards/generate", a.base))
        .form(&form(&csrf_of(&html)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let c = a.browser("czj").await;
    let (_, html) = a.page(&c, "/awards").await;
    assert!(html.contains("id=\"generate\""));
    let csrf = csrf_of(&html);
    let r = c
        .post(format!("{}/awards/generate", a.base))
        .form(&form(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let list: i64 = r.url().path().rsplit('/').next().unwrap().parse().unwrap();
    let (s, d) = a.get(&t, &format!("/award-lists/{list}")).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["list"]["status"], "review");
    assert_eq!(d["list"]["count"], 3);
    assert_eq!(d["list"]["total"], 75 * 1_000_000);
    assert_eq!(d["list"]["undetermined"], 1);
    let award_of = |d: &Value, u: &str| -> i64 {
        d["awards"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["uscc"] == u)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (a1, a5) = (award_of(&d, E1), award_of(&d, E5));
    assert_eq!(
        d["awards"][0]["name"], "珠海戊信息股份有限公司",
        "largest first"
    );
    // Not public before 公示.
    let anon = reqwest::Client::new();
    let r = anon
        .get(format!("{}/awards/{list}/public", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Publish for 5 working days from the list page.
    let r = c
        .post(format!("{}/awards/{list}/publish", a.base))
        .form(&[("csrf", csrf.as_str()), ("days", "5")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, d) = a.get(&t, &format!("/award-lists/{list}")).await;
    assert_eq!(d["list"]["status"], "publicity");
    assert_eq!(d["list"]["publicity_days"], 5);
    // Cancelling is only for lists under review.
    let (s, v) = a
        .post(
            &t,
            &format!("/award-lists/{list}/actions"),
            json!({"action": "cancel"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // The public notice: names and amounts, codes masked, printable.
    let html = anon
        .get(format!("{}/awards/{list}/public", a.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("珠海甲科技有限公司") && html.contains("50万元"));
    assert!(!html.contains(E1), "full code not shown");
    assert!(html.contains("914404********01X2"));

    // An enterprise objects to E5's award from the public page.
    let q = a.browser("qiye").await;
    let (_, html) = a.page(&q, &format!("/awards/{list}/public")).await;
    let r = q
        .post(format!("{}/awards/{list}/objections", a.base))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("award", a5.to_string().as_str()),
            ("text", "该企业上年度研发投入含非研发支出"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The enterprise sees no staff pages and cannot act.
    let tq = a.token("qiye").await;
    let (s, _) = a
        .post(
            &tq,
            &format!("/award-lists/{list}/actions"),
            json!({"action": "approve", "award_id": a1}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Enterprises confirm their accounts (their own pages; here the store).
    let today = chrono::Local::now().date_naive();
    let sys = Actor::system("企业");
    for (id, name) in [(a1, "珠海甲科技有限公司"), (a5, "珠海戊信息股份有限公司")]
    {
        let acct = BankAccount::parse(name, name, "中国银行珠海分行", "6217000012345678").unwrap();
        a.store
            .award_action(
                id,
                AwardAction::ConfirmAccount,
                Some(&acct),
                None,
                today,
                &sys,
            )
            .await
            .unwrap();
    }
    // No approval during 公示.
    let (s, v) = a
        .post(
            &t,
            &format!("/award-lists/{list}/actions"),
            json!({"action": "approve", "award_id": a1}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().contains("公示期未满"), "{v}");

    // Staff uphold the objection on the list page: E5's award is withdrawn.
    let (_, d) = a.get(&t, &format!("/award-lists/{list}")).await;
    let oid = d["objections"][0]["id"].as_i64().unwrap();
    assert_eq!(d["objections"][0]["uscc"], E5);
    let r = c
        .post(format!("{}/awards/{list}/objections/{oid}", a.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("upheld", "1"),
            ("note", "核实属实"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // The notice period passes.
    zhengqi_store::testing::end_publicity(&a.store, list)
        .await
        .unwrap();
    let r = c
        .post(format!("{}/awards/{list}/awards/{a1}", a.base))
        .form(&[("csrf", csrf.as_str()), ("action", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, v) = a
        .post(
            &t,
            &format!("/award-lists/{list}/actions"),
            json!({"action": "approve", "award_id": a5}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "withdrawn stays withdrawn: {v}");
    // Payment needs a reference and happens once.
    let (s, _) = a
        .post(
            &t,
            &format!("/award-lists/{list}/actions"),
            json!({"action": "pay", "award_id": a1}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, d) = a
        .post(
            &t,
            &format!("/award-lists/{list}/actions"),
            json!({"action": "pay", "award_id": a1, "payment_ref": "ZF2026-0001"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let (s, v) = a
        .post(
            &t,
            &format!("/award-lists/{list}/actions"),
            json!({"action": "pay", "award_id": a1, "payment_ref": "ZF2026-0002"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "paid at most once: {v}");
    assert!(v["message"].as_str().unwrap().contains("已拨付"), "{v}");
    let (_, d) = a.get(&t, &format!("/award-lists/{list}")).await;
    let paid = d["awards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == a1)
        .unwrap();
    assert_eq!(
        (&paid["status"], &paid["payment_ref"]),
        (&json!("paid"), &json!("ZF2026-0001"))
    );
    assert_eq!(d["list"]["total"], 25 * 1_000_000, "E5 withdrawn");
    // Every step is on the list page's trail.
    let steps: Vec<&str> = d["trail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for step in [
        "生成名单",
        "发布公示",
        "提出异议",
        "处理异议",
        "确认收款账户",
        "核准",
        "拨付",
    ] {
        assert!(steps.contains(&step), "{step} in {steps:?}");
    }
    let (s, html) = a.page(&c, &format!("/awards/{list}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("ZF2026-0001") && html.contains("公示期满"));
    // Another department's staff neither see nor open the list.
    let tw = a.token("swj").await;
    assert_eq!(a.get(&tw, "/award-lists").await.1, json!([]));
    assert_eq!(
        a.get(&tw, &format!("/award-lists/{list}")).await.0,
        StatusCode::FORBIDDEN
    );
    // A supervisor sees the list but cannot act.
    let ts = a.token("ducha").await;
    assert_eq!(
        a.get(&ts, "/award-lists").await.1.as_array().unwrap().len(),
        1
    );
    let (s, _) = a
        .post(
            &ts,
            &format!("/award-lists/{list}/actions"),
            json!({"action": "withdraw", "award_id": a1}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A second list, generated over the API, can be cancelled while under review.
    let (s, d) = a
        .post(&t, "/award-lists", json!({"policy_id": a.policy}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    assert_eq!(d["list"]["count"], 3);
    let id2 = d["list"]["id"].as_i64().unwrap();
    let (s, d) = a
        .post(
            &t,
            &format!("/award-lists/{id2}/actions"),
            json!({"action": "cancel"}),
        )
        .await;
    assert_eq!(
        (s, &d["list"]["status"]),
        (StatusCode::OK, &json!("cancelled"))
    );
}

#[tokio::test]
async fn the_instant_queue_is_decided_by_the_owning_department_with_a_reason() {
    let a = app().await;
    let sys = Actor::system("企业");
    let pending = match a
        .store
        .apply_instant(
            E4,
            a.policy,
            1,
            "undetermined",
            None,
            ApplicationStatus::Pending,
            &json!({"verdict": "undetermined"}),
            &sys,
        )
        .await
        .unwrap()
    {
        zhengqi_store::ApplyOutcome::Created(id) => id,
        o => panic!("{o:?}"),
    };
    let c = a.browser("czj").await;
    let (s, html) = a.page(&c, "/applications").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("珠海丁制造有限公司"), "{html}");
    let csrf = csrf_of(&html);
    let url = format!("{}/applications/{pending}", a.base);
    let r = c
        .post(&url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("decision", "reject"),
            ("note", " "),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "a reason is required");
    // Other department: refused.
    let o = a.browser("swj").await;
    let (_, h) = a.page(&o, "/applications").await;
    let r = o
        .post(&url)
        .form(&[
            ("csrf", csrf_of(&h).as_str()),
            ("decision", "approve"),
            ("note", "可"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c
        .post(&url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("decision", "reject"),
            ("note", "营业收入数据未报送，请补报后重新申请"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let app = a.store.application(pending).await.unwrap().unwrap();
    assert_eq!(app.status, ApplicationStatus::ManualRejected);
    assert_eq!(app.decided_by.as_deref(), Some("czj"));
    // Decided once: a second decision is refused.
    let r = c
        .post(&url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("decision", "approve"),
            ("note", "改判"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (_, html) = a.page(&c, "/applications").await;
    assert!(!html.contains("珠海丁制造有限公司"), "no longer queued");
    let (_, html) = a.page(&c, "/applications?all=1").await;
    assert!(html.contains("未通过（人工审核）"));
}
