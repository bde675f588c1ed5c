//! Staff maintain the service item catalogue over HTTP: an edit shows on the
//! public pages and in the 容缺 share report, survives a restart, and is
//! audited; invalid edits show Chinese errors beside the fields and write
//! nothing; the workbook exports and imports back; enterprises and staff of
//! other departments are refused. SQLite, or PostgreSQL with `DATABASE_URL`.

mod common;

use reqwest::StatusCode;
use zhengqi_domain::approval::catalogue::{Catalogue, ServiceItem, Share, tolerance_report};
use zhengqi_domain::approval::catalogue_edit::{ItemDraft, parse_bool};
use zhengqi_domain::approval::catalogue_sheet;
use zhengqi_domain::auth::{Role, Username};
use zhengqi_domain::enterprise::EnterpriseDraft;
use zhengqi_domain::reference::ReferenceData;
use zhengqi_domain::uscc::Uscc;
use zhengqi_store::testing::fresh_store;
use zhengqi_store::{Actor, AuditFilter, NewAccount, ReferenceDocs, Store};
use zhengqi_web::{AppState, WebConfig, router};

const OWN: &str = "91440400192548256N";

struct App {
    base: String,
    store: Store,
    rd: ReferenceData,
    /// A 行政许可 item that allows 容缺; "own" staff belong to its department.
    item: ServiceItem,
}

async fn serve(store: Store, rd: ReferenceData) -> String {
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
    format!("http://{addr}")
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
    let item = c
        .items
        .iter()
        .find(|i| i.is_licence() && i.allows_tolerance())
        .unwrap()
        .clone();
    let other = rd
        .departments
        .iter()
        .find(|d| d.code != item.department)
        .unwrap()
        .code
        .clone();
    let accounts: Vec<(&str, Role, Option<&str>, Option<String>)> = vec![
        ("own", Role::Staff, None, Some(item.department.clone())),
        ("other", Role::Staff, None, Some(other)),
        ("ducha", Role::Supervisor, None, None),
        ("admin", Role::Admin, None, None),
        ("qiye", Role::Enterprise, Some(OWN), None),
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
    let base = serve(store.clone(), rd.clone()).await;
    App {
        base,
        store,
        rd,
        item,
    }
}

async fn login(base: &str, user: &str) -> reqwest::Client {
    common::browser(base, user).await
}

fn hidden(page: &str, name: &str) -> String {
    let pat = format!("name=\"{name}\" value=\"");
    let i = page.find(&pat).unwrap_or_else(|| panic!("no {name}")) + pat.len();
    page[i..].split('"').next().unwrap().to_owned()
}

async fn get(c: &reqwest::Client, url: String) -> (StatusCode, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The edit form for `d`, with the CSRF token and fingerprint of `page`.
fn form(d: &ItemDraft, page: &str) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = vec![
        ("csrf".into(), hidden(page, "csrf")),
        ("original".into(), hidden(page, "original")),
        ("action".into(), "save".into()),
        ("code".into(), d.code.clone()),
        ("name".into(), d.name.clone()),
        ("department".into(), d.department.clone()),
        ("kind".into(), d.kind.clone()),
        ("level".into(), d.level.clone()),
        ("conditions".into(), d.conditions.clone()),
        ("legal_days".into(), d.legal_days.clone()),
        ("promised_days".into(), d.promised_days.clone()),
        ("fee".into(), d.fee.clone()),
    ];
    for (i, m) in d.materials.iter().enumerate() {
        for (k, v) in [
            ("key", &m.key),
            ("name", &m.name),
            ("form", &m.form),
            ("required", &m.required),
            ("tolerable", &m.tolerable),
            ("commitment_template", &m.commitment_template),
            ("supplement_days", &m.supplement_days),
            ("on_overdue", &m.on_overdue),
        ] {
            f.push((format!("m{i}.{k}"), v.clone()));
        }
    }
    f
}

async fn item_audits(store: &Store) -> i64 {
    store
        .audit_entries(&AuditFilter {
            target_type: Some("service_item".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .1
}

fn overall(c: &Catalogue) -> String {
    tolerance_report(c).overall.percent()
}

#[tokio::test]
async fn staff_edit_changes_public_pages_and_report_and_survives_restart() {
    let a = app().await;
    let anon = reqwest::Client::new();
    let before = Catalogue::zhuhai();
    let (_, report) = get(&anon, format!("{}/services/report", a.base)).await;
    assert!(report.contains(&format!("id=\"overall-share\">{}<", overall(&before))));

    let own = login(&a.base, "own").await;
    let (s, page) = get(&own, format!("{}/services/{}/edit", a.base, a.item.code)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("id=\"save\"") && page.contains("申请材料"));
    // The public page offers the editor to the item's own department.
    let (_, public) = get(&own, format!("{}/services/{}", a.base, a.item.code)).await;
    assert!(public.contains("id=\"edit-link\""));

    // No more 容缺 on this item, a new name, one material removed.
    let mut d = ItemDraft::from_item(&a.item);
    d.name = format!("{}（修订）", a.item.name);
    for m in &mut d.materials {
        if parse_bool(&m.tolerable) == Some(true) {
            m.tolerable = "否".into();
            m.commitment_template.clear();
            m.supplement_days.clear();
            m.on_overdue.clear();
        }
    }
    let optional = d
        .materials
        .iter()
        .position(|m| parse_bool(&m.required) == Some(false));
    let mut f = form(&d, &page);
    if let Some(i) = optional {
        f.push((format!("m{i}.remove"), "1".into()));
    }
    let r = own
        .post(format!("{}/services/{}/edit", a.base, a.item.code))
        .form(&f)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.url()
            .path()
            .ends_with(&format!("/services/{}", a.item.code))
    );

    let (_, public) = get(&anon, format!("{}/services/{}", a.base, a.item.code)).await;
    assert!(public.contains(&d.name));
    assert!(!public.contains("容缺受理承诺书"));
    let mut after = before.clone();
    let stored = a.store.catalogue().await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    let edited = stored.catalogue.item(&a.item.code).unwrap();
    assert_eq!(edited.name, d.name);
    assert!(!edited.allows_tolerance());
    assert_eq!(
        edited.materials.len(),
        a.item.materials.len() - usize::from(optional.is_some())
    );
    if let Some(slot) = after.items.iter_mut().find(|i| i.code == a.item.code) {
        *slot = edited.clone();
    }
    let share = tolerance_report(&after).overall;
    assert_eq!(
        share,
        Share::new(
            tolerance_report(&before).overall.licence_items,
            tolerance_report(&before).overall.tolerant_items - 1
        )
    );
    let (_, report) = get(&anon, format!("{}/services/report", a.base)).await;
    assert!(
        report.contains(&format!("id=\"overall-share\">{}<", share.percent())),
        "report follows the edit"
    );
    let (_, list) = get(&anon, format!("{}/services?rongque=1", a.base)).await;
    assert!(!list.contains(&d.name));

    // The editor lists the item's versions.
    let (_, page) = get(&own, format!("{}/services/{}/edit", a.base, a.item.code)).await;
    let history = page.split("id=\"item-history\"").nth(1).unwrap_or("");
    assert!(
        history.contains("第 2 版") && history.contains("own"),
        "{page}"
    );
    assert!(history.contains("第 1 版"));

    // One audit entry, with the old and new item.
    let (entries, n) = a
        .store
        .audit_entries(&AuditFilter {
            target_type: Some("service_item".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(entries[0].action, "catalogue.item.update");
    assert_eq!(entries[0].actor_name, "own");
    assert_eq!(
        entries[0].before.as_ref().unwrap()["name"].as_str(),
        Some(a.item.name.as_str())
    );

    // A restart (a new app on the same database) serves the edited item.
    let again = serve(a.store.clone(), a.rd.clone()).await;
    let (_, public) = get(&anon, format!("{again}/services/{}", a.item.code)).await;
    assert!(public.contains(&d.name));

    // A new item for the department, with a blank row left empty.
    let (_, page) = get(&own, format!("{}/services/new", a.base)).await;
    let mut n = ItemDraft::from_item(&a.item);
    n.code = "XK-440400-9100".into();
    n.name = "新增测试事项".into();
    let mut f = form(&n, &page);
    f.push(("m40.name".into(), String::new()));
    let r = own
        .post(format!("{}/services/new", a.base))
        .form(&f)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, public) = get(&anon, format!("{}/services/XK-440400-9100", a.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(public.contains("新增测试事项"));
    assert_eq!(item_audits(&a.store).await, 2);
}

#[tokio::test]
async fn invalid_edit_shows_chinese_errors_beside_fields_and_writes_nothing() {
    let a = app().await;
    let own = login(&a.base, "own").await;
    let (_, page) = get(&own, format!("{}/services/{}/edit", a.base, a.item.code)).await;
    let mut d = ItemDraft::from_item(&a.item);
    d.name = "保留我输入的名称".into();
    d.promised_days = (a.item.legal_days + 5).to_string();
    d.fee = "很多钱".into();
    let tol = d
        .materials
        .iter()
        .position(|m| parse_bool(&m.tolerable) == Some(true))
        .unwrap();
    d.materials[tol].supplement_days.clear();
    let r = own
        .post(format!("{}/services/{}/edit", a.base, a.item.code))
        .form(&form(&d, &page))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("id=\"edit-errors\""));
    assert!(body.contains("value=\"保留我输入的名称\""), "input kept");
    assert!(body.contains("value=\"很多钱\""), "input kept");
    assert!(body.contains("id=\"err-fee\">收费金额无法识别"), "{body}");
    // Parse errors come first; fix the fee and the rule errors show.
    d.fee = "不收费".into();
    let r = own
        .post(format!("{}/services/{}/edit", a.base, a.item.code))
        .form(&form(&d, &page))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    let promised = body.split("id=\"err-promised_days\">").nth(1).unwrap_or("");
    assert!(promised.starts_with("事项") && promised.contains("超过法定办结时限"));
    let supp = body
        .split(&format!("id=\"err-m{tol}.supplement_days\">"))
        .nth(1)
        .unwrap_or("");
    assert!(supp.contains("缺少补交期限"), "{body}");

    // Marking every required material 容缺 leaves no core material.
    let mut d = ItemDraft::from_item(&a.item);
    let template = d.materials[tol].commitment_template.clone();
    for m in &mut d.materials {
        if parse_bool(&m.required) == Some(true) {
            m.tolerable = "是".into();
            m.commitment_template = template.clone();
            m.supplement_days = "1".into();
        }
    }
    let r = own
        .post(format!("{}/services/{}/edit", a.base, a.item.code))
        .form(&form(&d, &page))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("id=\"err-materials\">"), "{body}");
    assert!(body.contains("主要申请材料"));

    // A stale form (the item changed since it was opened) is refused.
    let mut f = form(&ItemDraft::from_item(&a.item), &page);
    if let Some(o) = f.iter_mut().find(|(k, _)| k == "original") {
        o.1 = "0".repeat(64);
    }
    let r = own
        .post(format!("{}/services/{}/edit", a.base, a.item.code))
        .form(&f)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("已被他人修改"));

    // Nothing was written: version 1 (the seed), no item audit entries.
    assert_eq!(a.store.catalogue().await.unwrap().unwrap().version, 1);
    assert_eq!(item_audits(&a.store).await, 0);
    let (_, public) = get(
        &reqwest::Client::new(),
        format!("{}/services/{}", a.base, a.item.code),
    )
    .await;
    assert!(public.contains(&a.item.name));
}

#[tokio::test]
async fn enterprises_other_departments_and_supervisors_are_refused() {
    let a = app().await;
    let own = login(&a.base, "own").await;
    let (_, page) = get(&own, format!("{}/services/{}/edit", a.base, a.item.code)).await;
    let mut d = ItemDraft::from_item(&a.item);
    d.name = "越权修改".into();

    for user in ["qiye", "other", "ducha"] {
        let c = login(&a.base, user).await;
        let (s, mine) = get(&c, format!("{}/services/{}/edit", a.base, a.item.code)).await;
        if user == "qiye" {
            assert_eq!(s, StatusCode::FORBIDDEN);
            let (s, _) = get(&c, format!("{}/services/export.xlsx", a.base)).await;
            assert_eq!(s, StatusCode::FORBIDDEN);
            let (s, _) = get(&c, format!("{}/services/new", a.base)).await;
            assert_eq!(s, StatusCode::FORBIDDEN);
        } else {
            // Readable, but without a save button.
            assert_eq!(s, StatusCode::OK, "{user}");
            assert!(
                mine.contains("只读") && !mine.contains("id=\"save\""),
                "{user}"
            );
        }
        // Their own session's token, so only the permission can refuse.
        let (_, any) = get(&c, format!("{}/services", a.base)).await;
        let _ = any;
        let (_, me) = get(&c, format!("{}/services/{}", a.base, a.item.code)).await;
        assert!(!me.contains("id=\"edit-link\""), "{user}");
        let csrf = {
            let (_, p) = get(&c, format!("{}/cases", a.base)).await;
            hidden(&p, "csrf")
        };
        let mut f = form(&d, &page);
        if let Some(x) = f.iter_mut().find(|(k, _)| k == "csrf") {
            x.1 = csrf;
        }
        let r = c
            .post(format!("{}/services/{}/edit", a.base, a.item.code))
            .form(&f)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{user}");
        if user == "other" {
            // Creating an item in someone else's department is refused too.
            let mut n = d.clone();
            n.code = "XK-440400-9200".into();
            let mut f = form(&n, &page);
            if let Some(x) = f.iter_mut().find(|(k, _)| k == "csrf") {
                x.1 = hidden(&mine, "csrf");
            }
            let r = c
                .post(format!("{}/services/new", a.base))
                .form(&f)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.text().await.unwrap().contains("只能选择本部门"));
        }
    }
    // A forged form without the session's token is refused as well.
    let r = own
        .post(format!("{}/services/{}/edit", a.base, a.item.code))
        .form(&[("csrf", "x"), ("code", a.item.code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(a.store.catalogue().await.unwrap().unwrap().version, 1);
    assert_eq!(item_audits(&a.store).await, 0);
}

fn upload_body(csrf: &str, file: &[u8]) -> (String, Vec<u8>) {
    let b = "----zqtestboundary";
    let mut body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"清单.xlsx\"\r\nContent-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), body)
}

async fn upload(c: &reqwest::Client, base: &str, file: &[u8]) -> (StatusCode, String) {
    let (_, page) = get(c, format!("{base}/services/import")).await;
    let (ct, body) = upload_body(&hidden(&page, "csrf"), file);
    let r = c
        .post(format!("{base}/services/import"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn workbook_export_import_round_trip() {
    let a = app().await;
    let admin = login(&a.base, "admin").await;
    let r = admin
        .get(format!("{}/services/export.xlsx", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap().to_vec();
    let sheets = zhengqi_domain::table::read_xlsx_sheets(&bytes).unwrap();
    let names: Vec<&str> = sheets.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["事项", "材料", "表单字段", "一件事"]);
    assert_eq!(sheets[0].1.headers[0], "事项编码");

    // Unchanged file: a preview with nothing to change.
    let (s, page) = upload(&admin, &a.base, &bytes).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("新增 0 项，修改 0 项"), "{page}");

    // An edited workbook: one item renamed, one new item.
    let mut c = Catalogue::zhuhai();
    c.items[0].name = "导入修改的名称".into();
    let mut extra = a.item.clone();
    extra.code = "XK-440400-9300".into();
    extra.name = "导入新增的事项".into();
    c.items.push(extra);
    let file = catalogue_sheet::export(&c, &a.rd).unwrap();
    let (s, page) = upload(&admin, &a.base, &file).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("新增 1 项，修改 1 项"), "{page}");
    assert_eq!(
        a.store.catalogue().await.unwrap().unwrap().version,
        1,
        "preview writes nothing"
    );
    let r = admin
        .post(format!("{}/services/import/confirm", a.base))
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("file", hidden(&page, "file")),
            ("version", hidden(&page, "version")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("已导入：新增 1 项，修改 1 项")
    );
    let stored = a.store.catalogue().await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.catalogue, c);
    assert_eq!(item_audits(&a.store).await, 2);
    let (_, public) = get(&reqwest::Client::new(), format!("{}/services", a.base)).await;
    assert!(public.contains("导入修改的名称") && public.contains("导入新增的事项"));
    // The same confirm again is stale now.
    let r = admin
        .post(format!("{}/services/import/confirm", a.base))
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("file", hidden(&page, "file")),
            ("version", hidden(&page, "version")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // Export after import gives back the imported catalogue.
    let again = admin
        .get(format!("{}/services/export.xlsx", a.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let plan = catalogue_sheet::plan_import(
        &again,
        &a.rd,
        &c,
        &catalogue_sheet::ImportRights {
            item: &|_| true,
            matters: true,
        },
    )
    .unwrap();
    assert!(plan.is_valid() && plan.changes(&c).is_empty());
}

#[tokio::test]
async fn invalid_or_unauthorised_imports_write_nothing() {
    let a = app().await;
    let mut c = Catalogue::zhuhai();
    c.items[0].promised_days = c.items[0].legal_days + 1;
    c.items[1].department = "NOPE".into();
    c.items[2].name = "本应导入的修改".into();
    let file = catalogue_sheet::export(&c, &a.rd).unwrap();
    let admin = login(&a.base, "admin").await;
    let (s, page) = upload(&admin, &a.base, &file).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"import-errors\""));
    assert!(
        page.contains("第2行") && page.contains("超过法定办结时限"),
        "{page}"
    );
    assert!(
        page.contains("第3行") && page.contains("不在部门清单中"),
        "{page}"
    );
    assert!(!page.contains("id=\"confirm\""));

    // Staff of another department may not change this department's item.
    let mut c = Catalogue::zhuhai();
    if let Some(i) = c.items.iter_mut().find(|i| i.code == a.item.code) {
        i.name = "别的部门改的".into();
    }
    let file = catalogue_sheet::export(&c, &a.rd).unwrap();
    let other = login(&a.base, "other").await;
    let (s, page) = upload(&other, &a.base, &file).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("无权修改事项"), "{page}");
    // Garbage is a Chinese error, not a 500.
    let (s, page) = upload(&admin, &a.base, b"not a workbook").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("id=\"import-error\""));
    // Enterprises cannot import at all.
    let qiye = login(&a.base, "qiye").await;
    let (s, _) = get(&qiye, format!("{}/services/import", a.base)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    assert_eq!(a.store.catalogue().await.unwrap().unwrap().version, 1);
    assert_eq!(item_audits(&a.store).await, 0);
}

async fn api(
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (StatusCode, serde_json::Value) {
    let mut r = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    (
        r.status(),
        r.json().await.unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn submitted_cases_keep_their_terms_new_ones_follow_the_edit() {
    let a = app().await;
    let v: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", a.base))
        .json(&serde_json::json!({"username": "qiye", "password": "zhengqi2026"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = v["token"].as_str().unwrap().to_owned();
    // Everything required except one 容缺 material, with the commitment signed.
    let tolerated = a.item.tolerable_materials().next().unwrap().key.clone();
    let provided: Vec<String> = a
        .item
        .materials
        .iter()
        .filter(|m| m.required && m.key != tolerated)
        .map(|m| m.key.clone())
        .collect();
    let submit = |key: &str| {
        serde_json::json!({"matter": a.item.code, "idempotency_key": key,
            "materials": provided, "commitment_signed": true})
    };
    let (s, case) = api(
        &a.base,
        &token,
        reqwest::Method::POST,
        "/api/v1/cases",
        Some(submit("k1")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    let id = case["id"].as_str().unwrap().to_owned();
    assert_eq!(case["owed"].as_array().map(Vec::len), Some(1), "{case}");

    // The department withdraws 容缺 and shortens the promised time limit.
    let own = login(&a.base, "own").await;
    let (_, page) = get(&own, format!("{}/services/{}/edit", a.base, a.item.code)).await;
    let mut d = ItemDraft::from_item(&a.item);
    d.promised_days = "1".into();
    for m in &mut d.materials {
        if parse_bool(&m.tolerable) == Some(true) {
            m.tolerable = "否".into();
            m.commitment_template.clear();
            m.supplement_days.clear();
            m.on_overdue.clear();
        }
    }
    let r = own
        .post(format!("{}/services/{}/edit", a.base, a.item.code))
        .form(&form(&d, &page))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // The accepted case is unchanged: same parts, deadline and owed material.
    let (s, again) = api(
        &a.base,
        &token,
        reqwest::Method::GET,
        &format!("/api/v1/cases/{id}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again["parts"], case["parts"]);
    assert_eq!(again["owed"], case["owed"]);
    // A new submission with the same materials is now refused.
    let (s, v) = api(
        &a.base,
        &token,
        reqwest::Method::POST,
        "/api/v1/cases",
        Some(submit("k2")),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}
