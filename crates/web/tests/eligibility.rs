//! The enterprise side of the eligibility engine over HTTP: ranked matches
//! with reasons and amounts, explanations, pushes at most once per rule
//! version (also across a restart), re-evaluation after new data, 即申即享
//! decided or queued, award accounts and objections, and the denials.
//! SQLite, or PostgreSQL with `DATABASE_URL`.

mod common;

use chrono::{Datelike, Duration};
use common::csrf_of;
use reqwest::StatusCode;
use serde_json::{Value, json};
use zhengqi_domain::auth::{Role, Username};
use zhengqi_domain::enterprise::{EnterpriseDraft, IndicatorKind, NewIndicator};
use zhengqi_domain::policy::parse_policy;
use zhengqi_domain::reference::ReferenceData;
use zhengqi_domain::uscc::Uscc;
use zhengqi_eligibility::award::Mode;
use zhengqi_eligibility::parse_rule;
use zhengqi_store::testing::fresh_store;
use zhengqi_store::{Actor, NewAccount, PolicyRecord, ReferenceDocs, Store};
use zhengqi_web::{AppState, WebConfig, router};

const OWN: &str = "91440400192548256N";
const OTHER: &str = "91350100M000100Y43";
const OWN_NAME: &str = "珠海甲制造有限公司";

/// The policies of the test, by what they exercise.
struct Ids {
    /// 免申即享: revenue ≥ 1,000万, 1% of revenue.
    exempt: i64,
    /// 即申即享: employees ≥ 10, 5万元.
    instant: i64,
    /// 依申请: revenue ≥ 2,000万 (OWN misses by 150万).
    standard: i64,
    /// 依申请: R&D ≥ 100万 (nobody has R&D figures at first).
    rnd: i64,
    /// 依申请: tagged 专精特新.
    tagged: i64,
}

struct App {
    base: String,
    store: Store,
    rd: ReferenceData,
    ids: Ids,
}

fn state(store: &Store, rd: &ReferenceData) -> AppState {
    AppState::new(
        store.clone(),
        rd.clone(),
        WebConfig {
            secure_cookies: false,
            demo: false,
        },
    )
}

fn last_year() -> i32 {
    chrono::Local::now().date_naive().year() - 1
}

async fn policy(store: &Store, rd: &ReferenceData, key: &str, article: &str) -> i64 {
    let text = format!(
        "发文单位 | 珠海市科技创新局 | 企业规模 | 大型,中型,小型,微型 | 适用区域 | 珠海市 | 有效期至 | 长期有效 |\n\
         一、{article}（市科技创新局牵头）\n"
    );
    let parsed = parse_policy(text.as_bytes(), rd).unwrap();
    let rec = PolicyRecord::from_parsed(&parsed, text.clone(), key, rd);
    match store
        .import_policy(&rec, "draft", &Actor::system("测试"))
        .await
        .unwrap()
    {
        zhengqi_store::PolicyImportOutcome::Created { id } => id,
        o => panic!("{o:?}"),
    }
}

async fn save_rule(store: &Store, rd: &ReferenceData, id: i64, text: &str, mode: Mode) {
    let rule = parse_rule(text, rd).unwrap_or_else(|e| panic!("{text}: {e:?}"));
    store
        .save_rule(id, text, &rule, mode, &Actor::system("测试"))
        .await
        .unwrap();
}

async fn app() -> App {
    let store = fresh_store().await.unwrap();
    let rd = store
        .reference_or_default(&ReferenceDocs::zhuhai())
        .await
        .unwrap();
    let sys = Actor::system("测试");
    for (code, name) in [(OWN, OWN_NAME), (OTHER, "珠海乙制造有限公司")] {
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
    let tax = rd.department_by_name("市税务局").unwrap().code.clone();
    let hr = rd
        .department_by_name("市人力资源社会保障局")
        .unwrap()
        .code
        .clone();
    let y = last_year();
    let figures = [
        (OWN, IndicatorKind::Revenue, 1_850_000_000i64, &tax),
        (OWN, IndicatorKind::Employees, 30, &hr),
        (OTHER, IndicatorKind::Revenue, 3_000_000_000, &tax),
    ];
    let items: Vec<NewIndicator> = figures
        .iter()
        .map(|(u, kind, value, src)| NewIndicator {
            uscc: Uscc::parse(u).unwrap(),
            kind: *kind,
            year: y,
            value: *value,
            source: (*src).clone(),
        })
        .collect();
    store
        .add_indicators(&items, &sys, chrono::Utc::now() - Duration::days(3))
        .await
        .unwrap();

    let ids = Ids {
        exempt: policy(&store, &rd, "t-exempt", "规模以上企业按营业收入给予奖励。").await,
        instant: policy(&store, &rd, "t-instant", "吸纳就业补贴。").await,
        standard: policy(
            &store,
            &rd,
            "t-standard",
            "营业收入2000万元以上的企业可申报。",
        )
        .await,
        rnd: policy(&store, &rd, "t-rnd", "研发投入奖励。").await,
        tagged: policy(&store, &rd, "t-tagged", "专精特新企业奖励。").await,
    };
    save_rule(
        &store,
        &rd,
        ids.exempt,
        "上年度.营业收入 >= 1000万元\n金额 = 上年度.营业收入 × 1%",
        Mode::Exempt,
    )
    .await;
    save_rule(
        &store,
        &rd,
        ids.instant,
        "上年度.从业人员 >= 10人\n金额 = 5万元",
        Mode::Instant,
    )
    .await;
    save_rule(
        &store,
        &rd,
        ids.standard,
        "上年度.营业收入 >= 2000万元",
        Mode::Standard,
    )
    .await;
    save_rule(
        &store,
        &rd,
        ids.rnd,
        "上年度.研发投入 >= 100万元\n金额 = 10万元",
        Mode::Standard,
    )
    .await;
    save_rule(&store, &rd, ids.tagged, "标签 专精特新", Mode::Standard).await;

    let science = rd.department_by_name("市科技创新局").unwrap().code.clone();
    let accounts: Vec<(&str, Role, Option<&str>, Option<String>)> = vec![
        ("qiye", Role::Enterprise, Some(OWN), None),
        ("qiye2", Role::Enterprise, Some(OTHER), None),
        ("kjj", Role::Staff, None, Some(science)),
        ("admin", Role::Admin, None, None),
    ];
    for (u, role, ent, dept) in accounts {
        store
            .create_account(
                &NewAccount {
                    username: Username::parse(u).unwrap(),
                    display_name: u.into(),
                    password: "zhengqi2026".into(),
                    role,
                    enterprise: ent.map(|c| Uscc::parse(c).unwrap()),
                    department: dept,
                },
                &sys,
            )
            .await
            .unwrap();
    }
    let st = state(&store, &rd);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(st)).await });
    App {
        base: format!("http://{addr}"),
        store,
        rd,
        ids,
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

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
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

    async fn browser(&self, user: &str) -> reqwest::Client {
        common::browser(&self.base, user).await
    }

    async fn page(&self, c: &reqwest::Client, path: &str) -> (StatusCode, String) {
        let r = c.get(format!("{}{path}", self.base)).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// Sets a policy's status as the administrator would on its page.
    async fn set_status(&self, admin: &reqwest::Client, id: i64, status: &str) {
        let (_, page) = self.page(admin, &format!("/policies/{id}")).await;
        let r = admin
            .post(format!("{}/policies/{id}/status", self.base))
            .form(&[("csrf", csrf_of(&page).as_str()), ("status", status)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    }

    async fn publish_all(&self, admin: &reqwest::Client) {
        let i = &self.ids;
        for id in [i.exempt, i.instant, i.standard, i.rnd, i.tagged] {
            self.set_status(admin, id, "published").await;
        }
    }

    /// (policy, rule version) of an enterprise's pushes, sorted.
    async fn pushes(&self, uscc: &str) -> Vec<(i64, i64)> {
        let mut v: Vec<(i64, i64)> = self
            .store
            .pushes_of(uscc)
            .await
            .unwrap()
            .iter()
            .map(|p| (p.policy_id, p.rule_version))
            .collect();
        v.sort();
        v
    }
}

#[tokio::test]
async fn ranked_matches_explanations_and_pushes_at_most_once() {
    let a = app().await;
    let i = &a.ids;
    let admin = a.browser("admin").await;
    // Draft policies are not matched.
    let own = a.token("qiye").await;
    let (s, v) = a.get(&own, "/api/v1/me/policies").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v, json!([]));
    a.publish_all(&admin).await;

    // Ranking: eligible by amount (18.5万 before 5万), then undetermined,
    // then not eligible.
    let (_, v) = a.get(&own, "/api/v1/me/policies").await;
    let order: Vec<(i64, &str)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["policy_id"].as_i64().unwrap(),
                m["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        order,
        vec![
            (i.exempt, "eligible"),
            (i.instant, "eligible"),
            (i.rnd, "undetermined"),
            (i.standard, "not_eligible"),
            (i.tagged, "not_eligible"),
        ]
    );
    let first = &v[0];
    assert_eq!(first["amount"], 18_500_000);
    assert_eq!(first["amount_yuan"], "185,000元（18.5万元）");
    assert_eq!(first["mode_label"], "免申即享");
    let reasons = first["reasons"].as_array().unwrap();
    assert!(
        reasons
            .iter()
            .any(|r| r.as_str().unwrap().contains("营业收入"))
    );
    assert_eq!(v[1]["mode_label"], "即申即享");
    assert!(
        v[2]["gaps"][0].as_str().unwrap().contains("研发投入"),
        "{}",
        v[2]
    );

    // The explanation: verdicts, the value used with year, source and
    // arrival, and the gap hint.
    let (s, x) = a
        .get(&own, &format!("/api/v1/me/policies/{}", i.standard))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(x["policy"]["verdict"], "not_eligible");
    let cond = x["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["text"].as_str().unwrap().contains("营业收入"))
        .unwrap();
    assert_eq!(cond["mark"], "✗");
    assert!(
        cond["hint"]
            .as_str()
            .unwrap()
            .contains("差 150万元 达到 2,000万元"),
        "{cond}"
    );
    let used = &cond["values"][0];
    assert_eq!(used["value"], "1,850万元");
    assert_eq!(used["year"], last_year());
    assert_eq!(used["source"], "市税务局");
    assert!(used["arrived_at"].as_str().unwrap().len() >= 16);
    assert_eq!(x["can_apply"], false);
    let (_, x) = a
        .get(&own, &format!("/api/v1/me/policies/{}", i.exempt))
        .await;
    assert!(x["amount_formula"].as_str().unwrap().contains("1%"), "{x}");
    assert_eq!(x["explanation"]["verdict"], "eligible");
    let (s, _) = a.get(&own, "/api/v1/me/policies/999999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The pages: ranked list with amounts, explanation with ✓/✗ and hint.
    let q = a.browser("qiye").await;
    let (s, html) = a.page(&q, "/me/policies").await;
    assert_eq!(s, StatusCode::OK);
    let p_exempt = html.find(&format!("/me/policies/{}\"", i.exempt)).unwrap();
    let p_instant = html.find(&format!("/me/policies/{}\"", i.instant)).unwrap();
    let p_rnd = html.find(&format!("/me/policies/{}\"", i.rnd)).unwrap();
    let p_collapsed = html.find("id=\"not-eligible\"").unwrap();
    assert!(p_exempt < p_instant && p_instant < p_rnd && p_rnd < p_collapsed);
    assert!(html.contains("185,000元") && html.contains("50,000元"));
    assert!(html.contains("免申即享") && html.contains("即申即享"));
    let (_, html) = a.page(&q, &format!("/me/policies/{}", i.standard)).await;
    assert!(html.contains("✗") && html.contains("差 150万元 达到 2,000万元"));
    assert!(html.contains("来源：市税务局"));
    // Undetermined: the missing figure is named, no amount is promised.
    let (_, html) = a.page(&q, &format!("/me/policies/{}", i.rnd)).await;
    assert!(html.contains("无法判断") && html.contains("缺失"), "{html}");
    assert!(!html.contains("id=\"amount\""));

    // Pushes: the eligible only, once per rule version.
    assert_eq!(a.pushes(OWN).await, vec![(i.exempt, 1), (i.instant, 1)]);
    assert_eq!(a.pushes(OTHER).await, vec![(i.exempt, 1), (i.standard, 1)]);
    // Publishing again changes nothing: same rule version.
    a.set_status(&admin, i.exempt, "draft").await;
    a.set_status(&admin, i.exempt, "published").await;
    assert_eq!(a.store.push_count(i.exempt).await.unwrap(), 2);
    // A restart (a new AppState on the same database) re-runs the full
    // match and pushes nothing twice.
    let restarted = state(&a.store, &a.rd);
    assert_eq!(restarted.match_and_push_all().await.unwrap(), 0);
    assert_eq!(a.pushes(OWN).await, vec![(i.exempt, 1), (i.instant, 1)]);
    // A new rule version is news again.
    save_rule(
        &a.store,
        &a.rd,
        i.exempt,
        "上年度.营业收入 >= 1000万元\n金额 = 上年度.营业收入 × 2%",
        Mode::Exempt,
    )
    .await;
    assert_eq!(restarted.match_and_push_all().await.unwrap(), 2);
    assert_eq!(
        a.pushes(OWN).await,
        vec![(i.exempt, 1), (i.exempt, 2), (i.instant, 1)]
    );

    // Inbox: the badge counts unread pushes; viewing the inbox reads them.
    let (_, html) = a.page(&q, "/me/policies").await;
    assert!(
        html.contains("id=\"unread-count\" title=\"未读消息\">3<"),
        "badge"
    );
    let (_, inbox) = a.get(&own, "/api/v1/me/inbox").await;
    assert_eq!(inbox.as_array().unwrap().len(), 3);
    assert!(inbox[0]["read"] == false);
    let (s, html) = a.page(&q, "/me/inbox").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(html.matches("class=\"card push unread\"").count(), 3);
    assert!(html.contains("370,000元"), "the v2 amount (2%)");
    assert!(!html.contains("id=\"unread-count\""));
    let (_, html) = a.page(&q, "/me/inbox").await;
    assert_eq!(html.matches("class=\"card push unread\"").count(), 0);
    assert_eq!(a.store.unread_push_count(OWN).await.unwrap(), 0);
    assert_eq!(a.store.unread_push_count(OTHER).await.unwrap(), 3);
}

#[tokio::test]
async fn new_data_pushes_only_what_newly_qualifies() {
    let a = app().await;
    let i = &a.ids;
    let admin = a.browser("admin").await;
    a.publish_all(&admin).await;
    assert_eq!(a.pushes(OWN).await, vec![(i.exempt, 1), (i.instant, 1)]);
    // The sandbox reads the engine's population, which follows changes
    // made here at once (not a copy refreshed now and then).
    let adm = a.token("admin").await;
    let sandbox_rnd = || async {
        let (s, v) = a
            .post(
                &adm,
                "/api/v1/sandbox",
                json!({"drafts": ["上年度.研发投入 >= 110万元\n金额 = 10万元"]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["drafts"][0]["simulation"]["eligible"].as_i64().unwrap()
    };
    let before = sandbox_rnd().await;

    // 科技局 shares OWN's R&D figure: only the R&D policy is pushed.
    let kjj = a.token("kjj").await;
    let (s, v) = a
        .post(
            &kjj,
            &format!("/api/v1/enterprises/{OWN}/indicators"),
            json!({"kind": "研发投入", "year": last_year(), "value": "120万"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        a.pushes(OWN).await,
        vec![(i.exempt, 1), (i.instant, 1), (i.rnd, 1)]
    );
    assert_eq!(a.pushes(OTHER).await, vec![(i.exempt, 1), (i.standard, 1)]);
    assert_eq!(sandbox_rnd().await, before + 1);
    let own = a.token("qiye").await;
    let (_, v) = a.get(&own, "/api/v1/me/policies").await;
    // 10万 ranks between 18.5万 and 5万.
    assert_eq!(v[1]["policy_id"], i.rnd);
    assert_eq!(v[1]["verdict"], "eligible");

    // The population followed: a new R&D rule version, matched over the
    // whole base, finds OWN.
    save_rule(
        &a.store,
        &a.rd,
        i.rnd,
        "上年度.研发投入 >= 110万元\n金额 = 10万元",
        Mode::Standard,
    )
    .await;
    a.set_status(&admin, i.rnd, "draft").await;
    a.set_status(&admin, i.rnd, "published").await;
    assert!(a.pushes(OWN).await.contains(&(i.rnd, 2)));

    // A registry update through the API (tags) re-evaluates that one
    // enterprise.
    let r = reqwest::Client::new()
        .put(format!("{}/api/v1/enterprises/{OTHER}", a.base))
        .bearer_auth(&adm)
        .json(
            &json!({"name": "珠海乙制造有限公司", "area": "金湾区", "industry": "34",
            "tags": ["专精特新"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    assert_eq!(
        a.pushes(OTHER).await,
        vec![(i.exempt, 1), (i.standard, 1), (i.tagged, 1)]
    );
    assert_eq!(
        a.pushes(OWN).await,
        vec![(i.exempt, 1), (i.instant, 1), (i.rnd, 1), (i.rnd, 2)]
    );
}

#[tokio::test]
async fn instant_applications_are_decided_or_queued() {
    let a = app().await;
    let i = &a.ids;
    let admin = a.browser("admin").await;
    a.publish_all(&admin).await;

    // OWN applies on the page: eligible, approved at once.
    let q = a.browser("qiye").await;
    let (_, html) = a.page(&q, &format!("/me/policies/{}", i.instant)).await;
    assert!(html.contains("立即申请"));
    let r = q
        .post(format!("{}/me/policies/{}/apply", a.base, i.instant))
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = q
        .post(format!("{}/me/policies/{}/apply", a.base, i.instant))
        .form(&[("csrf", csrf_of(&html).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("已通过（系统即时核准）"), "status shown");
    assert!(!html.contains("id=\"apply-btn\""), "no second application");

    // The API answers with the same application, not a new one.
    let own = a.token("qiye").await;
    let (s, v) = a
        .post(
            &own,
            &format!("/api/v1/policies/{}/applications", i.instant),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["created"], false);
    assert_eq!(v["application"]["status"], "auto_approved");
    assert_eq!(v["application"]["amount"], 5_000_000);

    // OTHER has no employee figure: queued for a person.
    let other = a.token("qiye2").await;
    let (s, v) = a
        .post(
            &other,
            &format!("/api/v1/policies/{}/applications", i.instant),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["application"]["status"], "pending");
    assert_eq!(v["application"]["status_label"], "待人工审核");
    let (_, x) = a
        .get(&other, &format!("/api/v1/me/policies/{}", i.instant))
        .await;
    assert_eq!(x["applications"][0]["status"], "pending");
    assert_eq!(x["can_apply"], false);

    // Not a 即申即享 policy; unknown policy; staff cannot apply.
    let (s, v) = a
        .post(
            &own,
            &format!("/api/v1/policies/{}/applications", i.exempt),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().contains("免申即享"));
    let (s, _) = a
        .post(&own, "/api/v1/policies/999999/applications", json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let kjj = a.token("kjj").await;
    let (s, _) = a
        .post(
            &kjj,
            &format!("/api/v1/policies/{}/applications", i.instant),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        a.store
            .applications(Some(i.instant), None)
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn award_accounts_objections_and_denials() {
    let a = app().await;
    let i = &a.ids;
    let admin = a.browser("admin").await;
    a.publish_all(&admin).await;
    let sys = Actor::system("测试");
    let list = a
        .store
        .create_award_list(
            i.exempt,
            1,
            &[(OWN.into(), 18_500_000), (OTHER.into(), 30_000_000)],
            0,
            &sys,
        )
        .await
        .unwrap();
    let awards = a.store.awards(list).await.unwrap();
    let own_award = awards.iter().find(|w| w.uscc == OWN).unwrap().id;
    let other_award = awards.iter().find(|w| w.uscc == OTHER).unwrap().id;

    // Under review the list is internal.
    let q = a.browser("qiye").await;
    let (_, html) = a.page(&q, "/me/awards").await;
    assert!(!html.contains(&format!("award-{own_award}")));
    let today = chrono::Local::now().date_naive();
    a.store
        .publish_award_list(list, 5, today, today + Duration::days(7), &sys)
        .await
        .unwrap();
    let (s, html) = a.page(&q, "/me/awards").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains(&format!("id=\"award-{own_award}\"")));
    assert!(!html.contains(&format!("award-{other_award}")), "own only");
    assert!(html.contains("185,000元") && html.contains("公示中"));
    let csrf = csrf_of(&html);

    let post = |path: String, form: Vec<(&'static str, String)>| {
        let q = q.clone();
        async move {
            let r = q.post(path).form(&form).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let account = |holder: &str, number: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("holder", holder.to_owned()),
            ("bank", "中国银行珠海分行".to_owned()),
            ("number", number.to_owned()),
        ]
    };
    let url = format!("{}/me/awards/{own_award}/account", a.base);
    let (s, html) = post(url.clone(), account("张三", "6217857000012345")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("与企业名称") && html.contains("不一致"));
    let (s, html) = post(url.clone(), account(OWN_NAME, "12ab")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("8至32位数字"));
    let (s, html) = post(url.clone(), account(OWN_NAME, "6217 8570-0001 2345")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("收款账户已确认") && html.contains("****2345"));
    let w = a.store.award(own_award).await.unwrap().unwrap();
    assert_eq!(w.account.unwrap().number, "6217857000012345");
    // Another enterprise's award: 404, nothing changed.
    let (s, _) = post(
        format!("{}/me/awards/{other_award}/account", a.base),
        account(OWN_NAME, "6217857000012345"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(
        a.store
            .award(other_award)
            .await
            .unwrap()
            .unwrap()
            .account
            .is_none()
    );

    // Objections during 公示.
    let url = format!("{}/me/awards/{own_award}/objection", a.base);
    let (s, html) = post(
        url.clone(),
        vec![("csrf", csrf.clone()), ("text", " ".into())],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("异议内容不能为空"));
    let (s, html) = post(
        url,
        vec![
            ("csrf", csrf.clone()),
            ("text", "金额应按审计后的营业收入计算".into()),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("异议已提交") && html.contains("金额应按审计后的营业收入计算"));
    let (s, _) = post(
        format!("{}/me/awards/{other_award}/objection", a.base),
        vec![("csrf", csrf.clone()), ("text", "x".into())],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(a.store.objections(list).await.unwrap().len(), 1);

    // Denials: enterprises do not reach staff endpoints or other records;
    // staff and admins have no /me policy pages or API.
    let own = a.token("qiye").await;
    assert_eq!(
        a.get(&own, "/api/v1/enterprises").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        a.get(&own, &format!("/api/v1/enterprises/{OTHER}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(a.page(&q, "/workbench").await.0, StatusCode::FORBIDDEN);
    assert_eq!(a.page(&q, "/enterprises").await.0, StatusCode::FORBIDDEN);
    let r = q
        .post(format!("{}/policies/{}/status", a.base, i.exempt))
        .form(&[("csrf", csrf.as_str()), ("status", "repealed")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let kjj = a.token("kjj").await;
    for path in ["/api/v1/me/policies", "/api/v1/me/inbox"] {
        assert_eq!(a.get(&kjj, path).await.0, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        a.get(&kjj, &format!("/api/v1/me/policies/{}", i.exempt))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    for path in ["/me/policies", "/me/inbox", "/me/awards"] {
        assert_eq!(
            a.page(&admin, path).await.0,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    assert_eq!(
        a.get("bogus", "/api/v1/me/policies").await.0,
        StatusCode::UNAUTHORIZED
    );
    // The OpenAPI document lists the new endpoints.
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", a.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for p in [
        "/me/policies",
        "/me/policies/{id}",
        "/policies/{id}/applications",
        "/me/inbox",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p}");
    }
}
