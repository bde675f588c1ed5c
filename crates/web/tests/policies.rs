//! Policy library over HTTP: search, filters, highlighted articles, tasks.

mod common;

use reqwest::StatusCode;
use serde_json::Value;
use zhengqi_domain::auth::{Role, Username};
use zhengqi_domain::policy::parse_policy;
use zhengqi_store::testing::fresh_store;
use zhengqi_store::{Actor, NewAccount, PolicyRecord, ReferenceDocs};
use zhengqi_web::{AppState, WebConfig, router};

const SEED: &[u8] = include_bytes!("../../../data/policies/policy-000.txt");

async fn app() -> (String, i64) {
    let store = fresh_store().await.unwrap();
    let rd = store
        .reference_or_default(&ReferenceDocs::zhuhai())
        .await
        .unwrap();
    let parsed = parse_policy(SEED, &rd).unwrap();
    let rec = PolicyRecord::from_parsed(
        &parsed,
        String::from_utf8_lossy(SEED).into_owned(),
        "policy-000",
        &rd,
    );
    let sys = Actor::system("测试");
    let id = match store.import_policy(&rec, "published", &sys).await.unwrap() {
        zhengqi_store::PolicyImportOutcome::Created { id } => id,
        o => panic!("{o:?}"),
    };
    let finance = rd.department_by_name("市财政局").unwrap().code.clone();
    store
        .create_account(
            &NewAccount {
                username: Username::parse("czj").unwrap(),
                display_name: "财政局".into(),
                password: "zhengqi2026".into(),
                role: Role::Staff,
                enterprise: None,
                department: Some(finance),
            },
            &sys,
        )
        .await
        .unwrap();
    store
        .create_account(
            &NewAccount {
                username: Username::parse("admin").unwrap(),
                display_name: "管理员".into(),
                password: "zhengqi2026".into(),
                role: Role::Admin,
                enterprise: None,
                department: None,
            },
            &sys,
        )
        .await
        .unwrap();
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
    (format!("http://{addr}"), id)
}

async fn text(url: String) -> (StatusCode, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn public_search_filters_and_detail() {
    let (base, id) = app().await;
    let (s, body) = text(format!("{base}/policies?q=容缺审批")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains(&format!("/policies/{id}")),
        "search should find the seed"
    );
    assert!(body.contains("<mark>"), "snippet highlights the hit");
    // An enterprise in 保税区 sees a policy for 鹤洲新区筹备组 / 珠海市.
    let bonded = "440400-BSQ";
    let (_, body) = text(format!("{base}/policies?area={bonded}&size=小型")).await;
    assert!(body.contains(&format!("/policies/{id}")));
    let (_, body) = text(format!("{base}/policies?size=大型")).await;
    assert!(
        !body.contains(&format!("/policies/{id}")),
        "大型 is not in the seed's sizes"
    );
    let (_, body) = text(format!("{base}/policies?validity=no_expiry")).await;
    assert!(body.contains(&format!("/policies/{id}")));
    let (_, body) = text(format!("{base}/policies?validity=expiring")).await;
    assert!(!body.contains(&format!("/policies/{id}")));
    let (_, body) = text(format!("{base}/policies?q=%22%28%29AND")).await;
    assert!(body.contains("没有找到"), "odd input is just a search");

    let (s, body) = text(format!("{base}/policies/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("<mark>80%</mark>"), "targets highlighted");
    assert!(body.contains("市政务服务数据管理局") && body.contains("第 1 版"));
    assert_eq!(body.matches("class=\"card article\"").count(), 10);
    assert_eq!(
        text(format!("{base}/policies/999999")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        text(format!("{base}/policies/abc")).await.0,
        StatusCode::NOT_FOUND
    );

    let v: Value = reqwest::get(format!("{base}/api/v1/policies?q=并联审批"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["total"], 1);
    let v: Value = reqwest::get(format!("{base}/api/v1/policies/{id}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["policy"]["articles"].as_array().unwrap().len(), 10);

    let r = reqwest::get(format!("{base}/policies/export.xlsx"))
        .await
        .unwrap();
    let t = zhengqi_domain::table::read(
        &r.bytes().await.unwrap(),
        zhengqi_domain::table::Format::Xlsx,
    )
    .unwrap();
    assert_eq!(t.headers[0], "标题");
    assert_eq!(t.rows.len(), 1);
}

#[tokio::test]
async fn tasks_belong_to_lead_departments() {
    let (base, _) = app().await;
    let c = common::browser(&base, "czj").await;
    let body = c
        .get(format!("{base}/tasks"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // 市财政局 leads articles 5, 6, 8 and 9 of the seed.
    for n in [5, 6, 8, 9] {
        assert!(body.contains(&format!("第{n}条")), "article {n} missing");
    }
    assert!(!body.contains("第1条") && !body.contains("第7条"));
    let wb = c
        .get(format!("{base}/workbench"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        wb.contains("id=\"task-count\">4<"),
        "the workbench counts the department's 4 tasks"
    );
    assert_eq!(
        reqwest::get(format!("{base}/tasks"))
            .await
            .unwrap()
            .url()
            .path(),
        "/login"
    );
}

async fn login(base: &str, user: &str) -> reqwest::Client {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let page = c
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let i = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = page[i..].split('"').next().unwrap().to_owned();
    let r = c
        .post(format!("{base}/login"))
        .form(&[
            ("username", user),
            ("password", "zhengqi2026"),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.url().path() != "/login", "login as {user} failed");
    c
}

#[tokio::test]
async fn only_admins_change_policy_status_and_drafts_leave_the_public_list() {
    let (base, id) = app().await;
    // Staff may not change status.
    let staff = login(&base, "czj").await;
    let r = staff
        .post(format!("{base}/policies/{id}/status"))
        .form(&[("csrf", "x"), ("status", "draft")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        text(format!("{base}/policies/{id}")).await.0,
        StatusCode::OK
    );
    // An admin withdraws it to draft: gone from the public list and page, still visible to staff.
    let admin = login(&base, "admin").await;
    let page = admin
        .get(format!("{base}/policies/{id}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let i = page
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("{page}"))
        + 19;
    let csrf = page[i..].split('"').next().unwrap().to_owned();
    let r = admin
        .post(format!("{base}/policies/{id}/status"))
        .form(&[("csrf", csrf.as_str()), ("status", "draft")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "redirected back to the policy page"
    );
    assert_eq!(
        text(format!("{base}/policies/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert!(
        !text(format!("{base}/policies?validity=all"))
            .await
            .1
            .contains(&format!("/policies/{id}\""))
    );
    assert_eq!(
        staff
            .get(format!("{base}/policies/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let ov = admin
        .get(format!("{base}/overview"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        ov.contains("市财政局") && ov.contains("待启动"),
        "supervision view counts tasks per lead department"
    );
    let r = admin
        .post(format!("{base}/policies/{id}/status"))
        .form(&[("csrf", csrf.as_str()), ("status", "bogus")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
