//! The scheduler's effects over HTTP: the supervisors' overdue list and its
//! xlsx export (denied to staff and enterprises), staff queues flagging only
//! their own department's parts, overview counts, and reminders in the
//! applicant's timeline. SQLite, or PostgreSQL with `DATABASE_URL`.

mod common;

use chrono::{DateTime, NaiveDate, Utc};
use common::browser;
use reqwest::StatusCode;
use zhengqi_domain::approval::case::{Case, Event, NewPart, NewPendingMaterial, OverdueRule};
use zhengqi_domain::auth::{Role, Username};
use zhengqi_domain::calendar::WorkCalendar;
use zhengqi_domain::enterprise::EnterpriseDraft;
use zhengqi_domain::table::{self, Format};
use zhengqi_domain::uscc::Uscc;
use zhengqi_store::testing::fresh_store;
use zhengqi_store::{Actor, NewAccount, ReferenceDocs, Store};
use zhengqi_web::{AppState, WebConfig, router};

const OWN: &str = "91440400192548256N";
const ZJ: &str = "SZJJ";
const ZR: &str = "SZRJ";

fn morning(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(1, 0, 0)
        .unwrap()
        .and_utc()
}

fn part(dep: &str, item: &str) -> NewPart {
    NewPart {
        item_code: item.into(),
        department: dep.into(),
        promised_days: 5,
    }
}

/// C1: 住建 + 自然资源 with a 容缺 material; C2: 自然资源 only. Both
/// accepted 2026-02-13 (deadline 02-27, supplement due 02-25); the
/// scheduler ran on 02-13 and 02-26.
async fn seed(store: &Store) {
    let a = Actor::system("测试");
    let cal = WorkCalendar::official();
    let c1 = Case::submit(
        "ZQT0001",
        OWN,
        "YJS-440400-0001",
        "k1",
        vec![part(ZJ, "XK-JS"), part(ZR, "XK-ZR")],
        vec![NewPendingMaterial {
            key: "eia".into(),
            name: "环评批复".into(),
            supplement_days: 3,
            on_overdue: OverdueRule::Suspend,
        }],
        true,
        morning(2026, 2, 12),
        &cal,
    )
    .unwrap();
    let c2 = Case::submit(
        "ZQT0002",
        OWN,
        "YJS-440400-0001",
        "k2",
        vec![part(ZR, "XK-ZR")],
        vec![],
        false,
        morning(2026, 2, 12),
        &cal,
    )
    .unwrap();
    for (c, deps) in [(c1, vec![ZJ, ZR]), (c2, vec![ZR])] {
        store.submit_case(&c, &a).await.unwrap();
        for d in deps {
            let ev = Event::Accept {
                department: d.into(),
            };
            store
                .apply_case_event(&c.id, &ev, &a, morning(2026, 2, 13), &cal)
                .await
                .unwrap();
        }
    }
    let sched = Actor::system("平台调度");
    for day in [13, 26] {
        store
            .run_schedule(morning(2026, 2, day), &cal, &sched)
            .await
            .unwrap();
    }
}

async fn app() -> String {
    app_with(WorkCalendar::official()).await
}

async fn app_with(calendar: WorkCalendar) -> String {
    serve(Some(calendar)).await.0
}

/// The app on a random port; `calendar` fixes the working-day calendar,
/// None leaves the shipped one that administrators may extend.
async fn serve(calendar: Option<WorkCalendar>) -> (String, Store) {
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
    for (u, role, ent, dept) in [
        ("qiye", Role::Enterprise, Some(OWN), None),
        ("zhujian", Role::Staff, None, Some(ZJ)),
        ("ziran", Role::Staff, None, Some(ZR)),
        ("ducha", Role::Supervisor, None, None),
        ("admin", Role::Admin, None, None),
    ] {
        let a = NewAccount {
            username: Username::parse(u).unwrap(),
            display_name: u.into(),
            password: "zhengqi2026".into(),
            role,
            enterprise: ent.map(|c| Uscc::parse(c).unwrap()),
            department: dept.map(str::to_owned),
        };
        store.create_account(&a, &sys).await.unwrap();
    }
    seed(&store).await;
    let mut state = AppState::new(
        store.clone(),
        rd,
        WebConfig {
            secure_cookies: false,
            demo: false,
        },
    );
    if let Some(calendar) = calendar {
        state = state.with_calendar(calendar);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
    (format!("http://{addr}"), store)
}

async fn get(c: &reqwest::Client, url: String) -> (StatusCode, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn supervisors_list_overdue_parts_and_export_them() {
    let base = app().await;
    let sup = browser(&base, "ducha").await;
    let (st, page) = get(&sup, format!("{base}/supervision/overdue?date=2026-03-02")).await;
    assert_eq!(st, StatusCode::OK);
    // ZQT0001 was suspended on 02-26 (环评批复 overdue, 暂停办理): its
    // departments' clocks stopped at 80%, so only ZQT0002 is overdue.
    // Per department: 自然资源 1 overdue and 1 warned, 住建 1 warned.
    let by = &page[page.find("overdue-by-department").unwrap()..page.find("overdue-list").unwrap()];
    let zr = by.find("市自然资源局").unwrap();
    let zj = by.find("市住房城乡建设局").unwrap();
    assert!(zr < zj, "{by}");
    assert!(
        by.contains("<td>市自然资源局</td><td class=\"num\">1</td><td class=\"num\">1</td>"),
        "{by}"
    );
    assert!(
        by.contains("<td>市住房城乡建设局</td><td class=\"num\">0</td><td class=\"num\">1</td>"),
        "{by}"
    );
    let list = &page[page.find("overdue-list").unwrap()..];
    assert_eq!(list.matches("<tr class=\"overdue\">").count(), 1, "{list}");
    assert_eq!(list.matches("<tr class=\"warn\">").count(), 2, "{list}");
    assert!(list.contains("ZQT0001") && list.contains("ZQT0002"));
    // Deadline 02-27; Sat 02-28 worked and Mon 03-02: two working days over.
    assert!(list.contains("超期 2 个工作日") && list.contains("2026-02-27"));
    // The suspended case still has the day it had when it stopped.
    assert_eq!(list.matches("剩余 1 个工作日").count(), 2, "{list}");
    assert!(list.contains(OWN));
    // On 02-26 the parts were at 80%: warnings, not overdue.
    let (_, page) = get(&sup, format!("{base}/supervision/overdue?date=2026-02-26")).await;
    assert_eq!(page.matches("<tr class=\"warn\">").count(), 3);
    assert!(page.contains("剩余 1 个工作日") && page.contains("80%"));
    // A bad date is a Chinese 400, not a 500.
    let (st, page) = get(&sup, format!("{base}/supervision/overdue?date=2026-02-30")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(page.contains("日期“2026-02-30”无效"));
    // The export has the same rows.
    let r = sup
        .get(format!("{base}/supervision/overdue.xlsx?date=2026-03-02"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let t = table::read(&r.bytes().await.unwrap(), Format::Xlsx).unwrap();
    assert_eq!(t.rows.len(), 3);
    let col = t.column(&["办件编号"]);
    let ids: Vec<&str> = t.rows.iter().map(|r| t.cell(r, col)).collect();
    assert!(ids.contains(&"ZQT0001") && ids.contains(&"ZQT0002"));
    let days = t.column(&["超期/剩余"]);
    let mut days: Vec<&str> = t.rows.iter().map(|r| t.cell(r, days)).collect();
    days.sort();
    assert_eq!(
        days,
        ["剩余 1 个工作日", "剩余 1 个工作日", "超期 2 个工作日"]
    );
    // The overview counts (as of today, ZQT0002's part is long overdue; the
    // suspended case's clocks still stand).
    let (_, page) = get(&sup, format!("{base}/overview")).await;
    assert!(page.contains("id=\"stat-overdue\">1<"), "{page}");
}

#[tokio::test]
async fn staff_and_enterprises_are_denied_and_staff_see_only_their_flags() {
    let base = app().await;
    for user in ["zhujian", "qiye"] {
        let c = browser(&base, user).await;
        for path in [
            "/supervision/overdue",
            "/supervision/overdue.xlsx",
            "/overview",
        ] {
            let (st, body) = get(&c, format!("{base}{path}")).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{user} {path}");
            assert!(!body.contains("ZQT000"), "{user} {path} leaks cases");
        }
    }
    // 住建's queue: its own part flagged (at 80% when the case was
    // suspended); 自然资源-only ZQT0002 absent.
    let zj = browser(&base, "zhujian").await;
    let (_, page) = get(&zj, format!("{base}/cases")).await;
    assert!(page.contains("ZQT0001"));
    assert!(!page.contains("ZQT0002"));
    assert!(
        page.contains("<tr class=\"warn\"><td><a href=\"/cases/ZQT0001\">"),
        "{page}"
    );
    // On the case page staff see their own department's warning, not the other's.
    let (_, page) = get(&zj, format!("{base}/cases/ZQT0001")).await;
    assert!(
        page.contains("预警：市住房城乡建设局办理时限已用80%"),
        "{page}"
    );
    assert!(!page.contains("预警：市自然资源局"));
    let (st, _) = get(&zj, format!("{base}/cases/ZQT0002")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_applicant_sees_reminders_and_the_material_deadline() {
    let base = app().await;
    let q = browser(&base, "qiye").await;
    let (st, page) = get(&q, format!("{base}/cases/ZQT0001")).await;
    assert_eq!(st, StatusCode::OK);
    let timeline = &page[page.find("id=\"timeline\"").unwrap()..];
    let remind = timeline
        .find("2026-02-13 平台 提醒：容缺材料“环评批复”须于 2026-02-25 前补交（剩余3个工作日）")
        .expect(timeline);
    let overdue = timeline
        .find("容缺材料逾期未补：环评批复（暂停办理）")
        .unwrap();
    assert!(remind < overdue, "reminder before the overdue event");
    // Internal deadline warnings are not the applicant's.
    assert!(!timeline.contains("预警："));
    assert!(page.contains("环评批复（补正期限 2026-02-25 已过，暂停办理）"));
    assert!(page.contains("已中止"));
}

/// Weekday-only years `years` (synthetic, like data/test/holidays-after-2026.json).
fn weekday_years(years: std::ops::RangeInclusive<i32>) -> WorkCalendar {
    let body: Vec<String> = years
        .map(|y| format!(r#""{y}": {{"holidays": [], "workdays": []}}"#))
        .collect();
    WorkCalendar::from_json(&format!("{{{}}}", body.join(","))).unwrap()
}

/// While deadlines may reach a year whose holiday notice is not loaded,
/// every page tells staff and supervisors (acceptances would be refused);
/// enterprises are not shown it; with the year loaded it is gone.
#[tokio::test]
async fn government_users_are_warned_while_next_years_holidays_are_missing() {
    use chrono::Datelike;
    let year = zhengqi_domain::approval::case::local_day(Utc::now()).year();
    let base = app_with(weekday_years(year - 1..=year - 1)).await;
    let warning = format!("工作日日历只载入到 {} 年：受理期限落入 {year} 年", year - 1);
    for user in ["zhujian", "ducha"] {
        let c = browser(&base, user).await;
        let (status, page) = get(&c, format!("{base}/policies")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("id=\"calendar-notice\""), "{user}");
        assert!(page.contains(&warning), "{user}: {page}");
    }
    let c = browser(&base, "qiye").await;
    let (status, page) = get(&c, format!("{base}/policies")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("calendar-notice"));

    let base = app_with(weekday_years(year - 1..=year + 1)).await;
    let c = browser(&base, "zhujian").await;
    let (status, page) = get(&c, format!("{base}/policies")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("calendar-notice"));
}

/// Administrators load next year's holiday notice on /admin/calendar: it is
/// checked as a whole calendar (bad input is refused with the reason and
/// nothing stored), stored and audited, used at once (the warning goes), and
/// nobody else may load one.
#[tokio::test]
async fn administrators_load_a_holiday_notice_and_deadlines_use_it() {
    use chrono::Datelike;
    let year = zhengqi_domain::approval::case::local_day(Utc::now()).year();
    let (base, store) = serve(None).await;
    let url = format!("{base}/admin/calendar");
    for user in ["zhujian", "ducha", "qiye"] {
        let c = browser(&base, user).await;
        assert_eq!(
            get(&c, url.clone()).await.0,
            StatusCode::FORBIDDEN,
            "{user}"
        );
        let r = c
            .post(&url)
            .form(&[("csrf", "x"), ("notice", "{}")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{user}");
    }
    let admin = browser(&base, "admin").await;
    let (status, page) = get(&admin, url.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("2024–2026"), "{page}");
    let csrf = common::csrf_of(&page);
    let post = |notice: String, csrf: String| {
        let admin = admin.clone();
        let url = url.clone();
        async move {
            let r = admin
                .post(&url)
                .form(&[("csrf", csrf.as_str()), ("notice", notice.as_str())])
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    // Refused, with the reason, and nothing stored.
    let bad_date = r#"{"2027": {"holidays": ["2028-01-01"], "workdays": []}}"#;
    let (status, page) = post(bad_date.into(), csrf.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("2028-01-01 不属于 2027 年"), "{page}");
    let (status, page) = post("明年放假".into(), csrf.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("格式有误"), "{page}");
    let gap = r#"{"2028": {"holidays": [], "workdays": []}}"#;
    assert_eq!(
        post(gap.into(), csrf.clone()).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post("{}".into(), "stale".into()).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(store.holiday_notices().await.unwrap(), None);

    // Every year from 2027 to next year (weekday-only, synthetic), with
    // 2027-01-01 (a Friday) a holiday and 2027-01-09 (a Saturday) worked.
    let mut years =
        vec![r#""2027": {"holidays": ["2027-01-01"], "workdays": ["2027-01-09"]}"#.to_owned()];
    for y in 2028..=year + 1 {
        years.push(format!(r#""{y}": {{"holidays": [], "workdays": []}}"#));
    }
    let notice = format!("{{{}}}", years.join(","));
    let (status, page) = post(notice, csrf.clone()).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"calendar-saved\""), "{page}");
    assert!(
        page.contains(&format!("2024–{}", (year + 1).max(2027))),
        "{page}"
    );
    assert!(page.contains("1月1日") && page.contains("1月9日"), "{page}");
    assert!(store.holiday_notices().await.unwrap().is_some());
    let (entries, _) = store
        .audit_entries(&zhengqi_store::AuditFilter {
            action: Some("calendar.notices".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);

    // Used at once: the warning is gone for staff.
    let staff = browser(&base, "zhujian").await;
    let (_, page) = get(&staff, format!("{base}/policies")).await;
    assert!(!page.contains("calendar-notice"), "{page}");
}
