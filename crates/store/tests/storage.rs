//! The storage suite. Runs on a fresh SQLite file per test, or on a fresh
//! PostgreSQL database per test when `DATABASE_URL=postgres://…` is set.

use chrono::{Duration, Utc};
use zhengqi_domain::auth::{Role, Username};
use zhengqi_domain::enterprise::{EnterpriseDraft, IndicatorKind, NewIndicator};
use zhengqi_domain::reference::ReferenceData;
use zhengqi_domain::uscc::Uscc;
use zhengqi_store::testing::fresh_store;
use zhengqi_store::{
    Actor, AuditFilter, AuthError, EnterpriseFilter, IndicatorOutcome, NewAccount, ReferenceDocs,
    SessionKind, Store, StoreError, UpsertOutcome,
};

const GREE: &str = "91440400192548256N";
const OTHER: &str = "91350100M000100Y43";

async fn store() -> (Store, ReferenceData) {
    let s = fresh_store().await.expect("test database");
    let rd = s
        .reference_or_default(&ReferenceDocs::zhuhai())
        .await
        .expect("reference");
    (s, rd)
}

fn enterprise(
    rd: &ReferenceData,
    uscc: &str,
    name: &str,
    area: &str,
) -> zhengqi_domain::enterprise::Enterprise {
    EnterpriseDraft {
        uscc: uscc.into(),
        name: name.into(),
        legal_rep: "张三".into(),
        founded: "2010-03-01".into(),
        area: area.into(),
        industry: "38".into(),
        size_class: String::new(),
        tags: "链主企业".into(),
        certifications: "高新技术企业:2023-01-01:2025-12-31".into(),
    }
    .validate(rd)
    .expect("valid draft")
}

fn actor() -> Actor {
    Actor::system("测试")
}

fn ind(uscc: &str, kind: IndicatorKind, year: i32, value: i64, source: &str) -> NewIndicator {
    NewIndicator {
        uscc: Uscc::parse(uscc).unwrap(),
        kind,
        year,
        value,
        source: source.into(),
    }
}

fn tax_dept(rd: &ReferenceData) -> String {
    rd.department_by_name("市税务局")
        .expect("tax department")
        .code
        .clone()
}

#[tokio::test]
async fn reference_is_seeded_once_and_invalid_sets_change_nothing() {
    let (s, rd) = store().await;
    assert!(rd.area_by_name("保税区").is_some());
    let again = s
        .reference_or_default(&ReferenceDocs::zhuhai())
        .await
        .unwrap();
    assert_eq!(again.areas.len(), rd.areas.len());
    let mut bad = ReferenceDocs::zhuhai();
    bad.areas = "{not json".into();
    assert!(matches!(
        s.load_reference(&bad, &actor()).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        s.reference_docs().await.unwrap(),
        Some(ReferenceDocs::zhuhai())
    );
}

#[tokio::test]
async fn enterprise_upsert_is_idempotent_and_audited() {
    let (s, rd) = store().await;
    let e = enterprise(&rd, GREE, "珠海格力电器股份有限公司", "香洲区");
    assert_eq!(
        s.upsert_enterprise(&e, &actor()).await.unwrap(),
        UpsertOutcome::Created
    );
    assert_eq!(
        s.upsert_enterprise(&e, &actor()).await.unwrap(),
        UpsertOutcome::Unchanged
    );
    let mut changed = e.clone();
    changed.legal_rep = "李四".into();
    assert_eq!(
        s.upsert_enterprise(&changed, &actor()).await.unwrap(),
        UpsertOutcome::Updated
    );
    assert_eq!(s.enterprise(&e.uscc).await.unwrap(), Some(changed));

    let (entries, total) = s
        .audit_entries(&AuditFilter {
            target_type: Some("enterprise".into()),
            target_id: Some(GREE.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(total, 2, "create and update, not the unchanged write");
    assert_eq!(entries[0].action, "enterprise.update");
    assert_eq!(entries[0].before.as_ref().unwrap()["legal_rep"], "张三");
    assert_eq!(entries[0].after.as_ref().unwrap()["legal_rep"], "李四");
    assert_eq!(entries[0].actor_name, "测试");
}

#[tokio::test]
async fn indicators_keep_history_and_provenance() {
    let (s, rd) = store().await;
    s.upsert_enterprise(&enterprise(&rd, GREE, "格力", "香洲区"), &actor())
        .await
        .unwrap();
    let tax = tax_dept(&rd);
    let t0 = Utc::now() - Duration::days(30);
    let first = ind(GREE, IndicatorKind::Revenue, 2024, 1_850_000_000, &tax);
    assert_eq!(
        s.add_indicators(std::slice::from_ref(&first), &actor(), t0)
            .await
            .unwrap(),
        vec![IndicatorOutcome::Added]
    );
    // Re-sending the same figure stores nothing.
    assert_eq!(
        s.add_indicators(std::slice::from_ref(&first), &actor(), Utc::now())
            .await
            .unwrap(),
        vec![IndicatorOutcome::Unchanged]
    );
    // A correction is a new row; the old one stays.
    let corrected = ind(GREE, IndicatorKind::Revenue, 2024, 1_900_000_000, &tax);
    s.add_indicators(&[corrected], &actor(), Utc::now())
        .await
        .unwrap();
    let all = s.indicators(&Uscc::parse(GREE).unwrap()).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].value, 1_850_000_000);
    assert_eq!(all[1].value, 1_900_000_000);
    assert_eq!(all[1].source, tax);
    assert!(all[0].arrived_at < all[1].arrived_at);
}

#[tokio::test]
async fn a_bad_indicator_batch_stores_nothing() {
    let (s, rd) = store().await;
    s.upsert_enterprise(&enterprise(&rd, GREE, "格力", "香洲区"), &actor())
        .await
        .unwrap();
    let tax = tax_dept(&rd);
    let batch = vec![
        ind(GREE, IndicatorKind::Employees, 2024, 300, &tax),
        ind(OTHER, IndicatorKind::Employees, 2024, 10, &tax),
    ];
    let err = s
        .add_indicators(&batch, &actor(), Utc::now())
        .await
        .unwrap_err();
    assert!(err.to_string().contains(OTHER), "{err}");
    assert!(
        s.indicators(&Uscc::parse(GREE).unwrap())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn registry_filters_and_pages() {
    let (s, rd) = store().await;
    let codes: Vec<Uscc> = (0..12)
        .map(|i| Uscc::from_body(&format!("914404000000000{i:02}")).unwrap())
        .collect();
    let list: Vec<_> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let area = if i % 3 == 0 { "保税区" } else { "香洲区" };
            enterprise(&rd, c.as_str(), &format!("珠海测试{i}号有限公司"), area)
        })
        .collect();
    let out = s.upsert_enterprises(&list, &actor()).await.unwrap();
    assert!(out.iter().all(|o| *o == UpsertOutcome::Created));
    let bonded = rd.area_by_name("保税区").unwrap().code.clone();
    let page = s
        .enterprises(&EnterpriseFilter {
            area: bonded,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 4);
    let page = s
        .enterprises(&EnterpriseFilter {
            q: "测试1".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 3, "测试1, 测试10, 测试11");
    let page = s
        .enterprises(&EnterpriseFilter {
            limit: 5,
            offset: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len()), (12, 2));
    let page = s
        .enterprises(&EnterpriseFilter {
            industry: "65".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 0);
    // LIKE wildcards typed by a user match literally nothing special.
    let page = s
        .enterprises(&EnterpriseFilter {
            q: "%".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 12);
}

fn account(
    username: &str,
    role: Role,
    enterprise: Option<&str>,
    department: Option<&str>,
) -> NewAccount {
    NewAccount {
        username: Username::parse(username).unwrap(),
        display_name: format!("{username} 用户"),
        password: "zhengqi2026".into(),
        role,
        enterprise: enterprise.map(|u| Uscc::parse(u).unwrap()),
        department: department.map(str::to_owned),
    }
}

#[tokio::test]
async fn accounts_validate_their_binding_and_usernames_are_unique() {
    let (s, rd) = store().await;
    // An enterprise user for an unregistered enterprise is refused, and nothing is stored.
    let err = s
        .create_account(
            &account("qiye", Role::Enterprise, Some(GREE), None),
            &actor(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert!(s.accounts().await.unwrap().is_empty());
    s.upsert_enterprise(&enterprise(&rd, GREE, "格力", "香洲区"), &actor())
        .await
        .unwrap();
    let a = s
        .create_account(
            &account("qiye", Role::Enterprise, Some(GREE), None),
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(a.enterprise.as_deref(), Some(GREE));
    let dup = s
        .create_account(&account("QIYE", Role::Admin, None, None), &actor())
        .await
        .unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)), "{dup}");
    let weak = NewAccount {
        password: "123".into(),
        ..account("weak", Role::Admin, None, None)
    };
    assert!(matches!(
        s.create_account(&weak, &actor()).await,
        Err(StoreError::Invalid(_))
    ));
    let staff = account("nodept", Role::Staff, None, None);
    assert!(matches!(
        s.create_account(&staff, &actor()).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(s.accounts().await.unwrap().len(), 1);
}

#[tokio::test]
async fn login_sessions_and_denials() {
    let (s, rd) = store().await;
    let tax = tax_dept(&rd);
    s.create_account(&account("swj", Role::Staff, None, Some(&tax)), &actor())
        .await
        .unwrap();

    let p = s.authenticate("SWJ", "zhengqi2026").await.unwrap();
    assert_eq!(
        (p.role, p.department.as_deref()),
        (Role::Staff, Some(tax.as_str()))
    );
    assert!(matches!(
        s.authenticate("swj", "wrong-password1").await,
        Err(AuthError::Invalid)
    ));
    assert!(matches!(
        s.authenticate("nobody", "zhengqi2026").await,
        Err(AuthError::Invalid)
    ));
    let (failed, _) = s
        .audit_entries(&AuditFilter {
            action: Some("login.failed".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 2);

    let (token, csrf) = s
        .create_session(&p, SessionKind::Browser, Duration::hours(1))
        .await
        .unwrap();
    let (sp, scsrf) = s
        .session(&token, SessionKind::Browser)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((sp.user_id, scsrf), (p.user_id, csrf));
    // A browser session is not an API token, and vice versa.
    assert!(s.session(&token, SessionKind::Api).await.unwrap().is_none());
    assert!(
        s.session("0".repeat(64).as_str(), SessionKind::Browser)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.session("short", SessionKind::Browser)
            .await
            .unwrap()
            .is_none()
    );

    let (expired, _) = s
        .create_session(&p, SessionKind::Api, Duration::seconds(-1))
        .await
        .unwrap();
    assert!(
        s.session(&expired, SessionKind::Api)
            .await
            .unwrap()
            .is_none()
    );

    // Disabling ends sessions and blocks login.
    s.set_account_active("swj", false, &actor()).await.unwrap();
    assert!(
        s.session(&token, SessionKind::Browser)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        s.authenticate("swj", "zhengqi2026").await,
        Err(AuthError::Disabled)
    ));
    s.set_account_active("swj", true, &actor()).await.unwrap();

    // A new password ends sessions; the old password stops working.
    let (t2, _) = s
        .create_session(&p, SessionKind::Api, Duration::hours(1))
        .await
        .unwrap();
    s.set_password("swj", "newpassword9", &actor())
        .await
        .unwrap();
    assert!(s.session(&t2, SessionKind::Api).await.unwrap().is_none());
    assert!(s.authenticate("swj", "zhengqi2026").await.is_err());
    assert!(s.authenticate("swj", "newpassword9").await.is_ok());

    s.end_session(&t2).await.unwrap();
}

#[tokio::test]
async fn concurrent_writers_do_not_lose_updates() {
    let (s, rd) = store().await;
    s.upsert_enterprise(&enterprise(&rd, GREE, "格力", "香洲区"), &actor())
        .await
        .unwrap();
    let tax = tax_dept(&rd);
    let mut tasks = Vec::new();
    for year in 2000..2016 {
        let s = s.clone();
        let tax = tax.clone();
        tasks.push(tokio::spawn(async move {
            s.add_indicators(
                &[ind(GREE, IndicatorKind::Employees, year, 100, &tax)],
                &actor(),
                Utc::now(),
            )
            .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        s.indicators(&Uscc::parse(GREE).unwrap())
            .await
            .unwrap()
            .len(),
        16
    );
}

#[tokio::test]
async fn health_and_meta() {
    let (s, _) = store().await;
    assert!(s.ping().await);
    assert_eq!(s.meta("demo").await.unwrap(), None);
    s.set_meta("demo", "1").await.unwrap();
    s.set_meta("demo", "2").await.unwrap();
    assert_eq!(s.meta("demo").await.unwrap().as_deref(), Some("2"));
    eprintln!("storage suite ran on {}", zhengqi_store::testing::target());
}
