// Amounts are written as 元_分 (e.g. 320_000_00 is 320,000.00 元), so the last group has two digits.
#![allow(clippy::inconsistent_digit_grouping)]
//! Eligibility storage: versioned rules, pushes at most once, the 免申即享
//! award life cycle through to paid exactly once, 即申即享 applications, and
//! loading the whole base for the engine. SQLite, or PostgreSQL when
//! `DATABASE_URL` is set.

use chrono::{NaiveDate, TimeZone, Utc};
use zhengqi_domain::enterprise::{Enterprise, IndicatorKind, NewIndicator};
use zhengqi_domain::size::SizeClass;
use zhengqi_domain::uscc::Uscc;
use zhengqi_eligibility::ast::{Cond, Rule};
use zhengqi_eligibility::award::{ApplicationStatus, AwardAction, AwardStatus, BankAccount, Mode};
use zhengqi_store::testing::fresh_store;
use zhengqi_store::{Actor, ApplyOutcome, PolicyImportOutcome, PolicyRecord, Store, StoreError};

const U1: &str = "91440400MA4WKF01X2";
const U2: &str = "91440400192548256N";

async fn policy(s: &Store) -> i64 {
    let rec = PolicyRecord {
        key: "珠科〔2026〕1号".into(),
        title: "研发补助".into(),
        title_derived: false,
        issuer: "SKJJ".into(),
        doc_number: "珠科〔2026〕1号".into(),
        published_on: NaiveDate::from_ymd_opt(2026, 1, 5),
        policy_type: "资金扶持".into(),
        valid_until: None,
        sizes: vec![],
        areas: vec!["440400".into()],
        departments: vec!["SKJJ".into()],
        content_hash: "h".into(),
        raw_text: "正文".into(),
        parsed: serde_json::json!({"articles": []}),
        tasks: vec![],
    };
    match s
        .import_policy(&rec, "published", &Actor::system("测试"))
        .await
        .unwrap()
    {
        PolicyImportOutcome::Created { id } => id,
        other => panic!("{other:?}"),
    }
}

fn rule(tag: &str) -> Rule {
    Rule {
        condition: Cond::HasTag { tag: tag.into() },
        amount: None,
    }
}

fn ent(uscc: &str, name: &str) -> Enterprise {
    Enterprise {
        uscc: Uscc::parse(uscc).unwrap(),
        name: name.into(),
        legal_rep: "张三".into(),
        founded: NaiveDate::from_ymd_opt(2019, 3, 1),
        area: "440402".into(),
        industry: "39".into(),
        size_class: Some(SizeClass::Small),
        size_basis: None,
        tags: vec!["链主企业".into()],
        certifications: vec![],
    }
}

#[tokio::test]
async fn rules_are_versioned_and_identical_saves_are_no_ops() {
    let s = fresh_store().await.unwrap();
    let a = Actor::system("测试");
    let p = policy(&s).await;
    let v1 = s
        .save_rule(p, "标签 甲", &rule("甲"), Mode::Exempt, &a)
        .await
        .unwrap();
    assert_eq!(v1.version, 1);
    let again = s
        .save_rule(p, "标签 甲", &rule("甲"), Mode::Exempt, &a)
        .await
        .unwrap();
    assert_eq!(again.version, 1);
    let v2 = s
        .save_rule(p, "标签 乙", &rule("乙"), Mode::Instant, &a)
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    let cur = s.current_rule(p).await.unwrap().unwrap();
    assert_eq!(
        (cur.version, cur.mode, cur.rule),
        (2, Mode::Instant, rule("乙"))
    );
    assert_eq!(s.current_rules().await.unwrap().len(), 1);
    assert_eq!(s.rule_versions(p).await.unwrap().len(), 2);
    assert!(matches!(
        s.save_rule(9999, "x", &rule("x"), Mode::Standard, &a).await,
        Err(StoreError::NotFound(_))
    ));
    let (audit, _) = s
        .audit_entries(&zhengqi_store::AuditFilter {
            action: Some("policy.rule".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 2, "one audit entry per saved version");
}

#[tokio::test]
async fn a_push_happens_once_per_enterprise_and_rule_version() {
    let s = fresh_store().await.unwrap();
    let p = policy(&s).await;
    let now = Utc::now();
    let items = vec![(U1.to_owned(), Some(100)), (U2.to_owned(), None)];
    let fresh = s.record_pushes(p, 1, &items, now).await.unwrap();
    assert_eq!(fresh.len(), 2);
    // Re-running the same match (e.g. after a restart) pushes nothing new.
    assert!(s.record_pushes(p, 1, &items, now).await.unwrap().is_empty());
    // Concurrent re-matches race on the unique key, never double-push.
    let (a, b) = tokio::join!(
        s.record_pushes(p, 2, &items[..1], now),
        s.record_pushes(p, 2, &items[..1], now)
    );
    assert_eq!(a.unwrap().len() + b.unwrap().len(), 1);
    let inbox = s.pushes_of(U1).await.unwrap();
    assert_eq!(inbox.len(), 2);
    assert_eq!(inbox[0].rule_version, 2);
    assert_eq!(s.push_count(p).await.unwrap(), 3);
    let outbox = s.outbox_pending(100).await.unwrap();
    assert_eq!(outbox.len(), 3, "each new push has one outbox notice");
    assert_eq!(s.mark_pushes_read(U1).await.unwrap(), 2);
    assert!(
        s.pushes_of(U1)
            .await
            .unwrap()
            .iter()
            .all(|p| p.read_at.is_some())
    );
    assert!(
        s.pushes_of(U2)
            .await
            .unwrap()
            .iter()
            .all(|p| p.read_at.is_none())
    );
}

#[tokio::test]
async fn an_award_goes_from_list_to_paid_exactly_once() {
    let s = fresh_store().await.unwrap();
    let staff = Actor::system("科技局");
    let p = policy(&s).await;
    let list = s
        .create_award_list(
            p,
            1,
            &[
                (U1.into(), 320_000_00),
                (U2.into(), 100_000_00),
                ("91440400MA4X00000X".into(), 0),
            ],
            3,
            &staff,
        )
        .await
        .unwrap();
    let l = s.award_list(list).await.unwrap().unwrap();
    assert_eq!(
        (l.count, l.total, l.undetermined),
        (2, 420_000_00, 3),
        "zero amounts are not listed"
    );
    let awards = s.awards(list).await.unwrap();
    let a1 = awards.iter().find(|a| a.uscc == U1).unwrap().id;
    let a2 = awards.iter().find(|a| a.uscc == U2).unwrap().id;
    let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    let acct = BankAccount::parse("甲", "甲", "中国银行", "62170000123456").unwrap();
    // Not yet published: no account confirmation.
    assert!(
        s.award_action(
            a1,
            AwardAction::ConfirmAccount,
            Some(&acct),
            None,
            d("2026-12-01"),
            &staff
        )
        .await
        .is_err()
    );
    s.publish_award_list(list, 5, d("2026-12-01"), d("2026-12-07"), &staff)
        .await
        .unwrap();
    assert!(
        s.publish_award_list(list, 5, d("2026-12-01"), d("2026-12-07"), &staff)
            .await
            .is_err()
    );
    let a = s
        .award_action(
            a1,
            AwardAction::ConfirmAccount,
            Some(&acct),
            None,
            d("2026-12-02"),
            &staff,
        )
        .await
        .unwrap();
    assert_eq!(a.status, AwardStatus::AccountConfirmed);
    s.award_action(
        a2,
        AwardAction::ConfirmAccount,
        Some(&acct),
        None,
        d("2026-12-02"),
        &staff,
    )
    .await
    .unwrap();
    // An objection against U2 during the notice period blocks its approval.
    let obj = s
        .add_objection(list, Some(U2), "该企业已迁出珠海", d("2026-12-03"), &staff)
        .await
        .unwrap();
    assert!(
        s.add_objection(list, Some(U2), "晚了", d("2026-12-08"), &staff)
            .await
            .is_err()
    );
    // During the notice period nothing is approved.
    assert!(
        s.award_action(
            a1,
            AwardAction::Approve,
            None,
            None,
            d("2026-12-07"),
            &staff
        )
        .await
        .is_err()
    );
    let a = s
        .award_action(
            a1,
            AwardAction::Approve,
            None,
            None,
            d("2026-12-08"),
            &staff,
        )
        .await
        .unwrap();
    assert_eq!(a.status, AwardStatus::Approved);
    let err = s
        .award_action(
            a2,
            AwardAction::Approve,
            None,
            None,
            d("2026-12-08"),
            &staff,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("异议"), "{err}");
    s.resolve_objection(obj, true, "核实属实，撤销", &staff)
        .await
        .unwrap();
    assert_eq!(
        s.award(a2).await.unwrap().unwrap().status,
        AwardStatus::Withdrawn
    );
    // Paid exactly once, even when two clerks press the button together.
    let (x, y) = tokio::join!(
        s.award_action(
            a1,
            AwardAction::Pay,
            None,
            Some("ZF2026-0001"),
            d("2026-12-09"),
            &staff
        ),
        s.award_action(
            a1,
            AwardAction::Pay,
            None,
            Some("ZF2026-0002"),
            d("2026-12-09"),
            &staff
        )
    );
    assert_eq!(x.is_ok() as u8 + y.is_ok() as u8, 1, "{x:?} {y:?}");
    let paid = s.award(a1).await.unwrap().unwrap();
    assert_eq!(paid.status, AwardStatus::Paid);
    assert!(
        s.award_action(
            a1,
            AwardAction::Pay,
            None,
            Some("ZF2026-0003"),
            d("2026-12-09"),
            &staff
        )
        .await
        .is_err()
    );
    let l = s.award_list(list).await.unwrap().unwrap();
    assert_eq!((l.count, l.total), (1, 320_000_00));
    let (trail, _) = s
        .audit_entries(&zhengqi_store::AuditFilter {
            target_type: Some("award".into()),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(trail.len(), 4, "confirm×2, approve, pay");
}

#[tokio::test]
async fn instant_applications_are_idempotent_and_decided_once() {
    let s = fresh_store().await.unwrap();
    let a = Actor::system("企业");
    let p = policy(&s).await;
    let expl = serde_json::json!({"verdict": "undetermined"});
    let id = match s
        .apply_instant(
            U1,
            p,
            1,
            "undetermined",
            None,
            ApplicationStatus::Pending,
            &expl,
            &a,
        )
        .await
        .unwrap()
    {
        ApplyOutcome::Created(id) => id,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        s.apply_instant(
            U1,
            p,
            1,
            "undetermined",
            None,
            ApplicationStatus::Pending,
            &expl,
            &a
        )
        .await
        .unwrap(),
        ApplyOutcome::Existing(id)
    );
    assert!(
        s.decide_application(id, ApplicationStatus::Paid, "", &a)
            .await
            .is_err()
    );
    let app = s
        .decide_application(id, ApplicationStatus::ManualApproved, "补充材料核实", &a)
        .await
        .unwrap();
    assert_eq!(app.status, ApplicationStatus::ManualApproved);
    assert!(
        s.decide_application(id, ApplicationStatus::ManualRejected, "", &a)
            .await
            .is_err()
    );
    let app = s
        .decide_application(id, ApplicationStatus::Paid, "", &a)
        .await
        .unwrap();
    assert_eq!(app.status, ApplicationStatus::Paid);
    assert_eq!(s.applications(Some(p), None).await.unwrap().len(), 1);
    assert!(s.applications(None, Some(U2)).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_whole_base_loads_with_its_indicators() {
    let s = fresh_store().await.unwrap();
    let a = Actor::system("测试");
    s.upsert_enterprise(&ent(U1, "甲"), &a).await.unwrap();
    s.upsert_enterprise(&ent(U2, "乙"), &a).await.unwrap();
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    s.add_indicators(
        &[NewIndicator {
            uscc: Uscc::parse(U1).unwrap(),
            kind: IndicatorKind::Revenue,
            year: 2025,
            value: 18_500_000_00,
            source: "SSWJ".into(),
        }],
        &a,
        at,
    )
    .await
    .unwrap();
    let subjects = s.load_subjects().await.unwrap();
    assert_eq!(subjects.len(), 2);
    let one = subjects
        .iter()
        .find(|(e, _)| e.uscc.as_str() == U1)
        .unwrap();
    assert_eq!(one.1.len(), 1);
    assert_eq!((one.1[0].value, one.1[0].arrived_at), (18_500_000_00, at));
    assert!(
        subjects
            .iter()
            .find(|(e, _)| e.uscc.as_str() == U2)
            .unwrap()
            .1
            .is_empty()
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(12),
        ..Default::default()
    })]

    /// Whatever order figures arrive in (corrections, repeats, an import
    /// dated before the previous one, two imports at the same instant), the
    /// base the engine loads holds for each enterprise, kind and year
    /// exactly the figure the full history says is in force; and the
    /// migration's backfill of an existing database agrees.
    #[test]
    fn the_loaded_base_holds_the_figures_in_force(
        batches in proptest::collection::vec(
            (0..3u32, proptest::collection::vec((0..2usize, 0..2usize, 0..2i32, 0..2usize, 0..3i64), 1..6)),
            1..8,
        ),
    ) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let s = fresh_store().await.unwrap();
            let a = Actor::system("测试");
            let usccs = [U1, U2];
            for u in usccs {
                s.upsert_enterprise(&ent(u, "甲"), &a).await.unwrap();
            }
            for (day, items) in &batches {
                let items: Vec<NewIndicator> = items
                    .iter()
                    .map(|(u, k, y, src, v)| NewIndicator {
                        uscc: Uscc::parse(usccs[*u]).unwrap(),
                        kind: [IndicatorKind::Revenue, IndicatorKind::Employees][*k],
                        year: 2024 + y,
                        value: *v,
                        source: ["SSWJ", "STJJ"][*src].into(),
                    })
                    .collect();
                let at = Utc.with_ymd_and_hms(2026, 3, 1 + day, 0, 0, 0).unwrap();
                s.add_indicators(&items, &a, at).await.unwrap();
            }
            let in_force = |ind: Vec<zhengqi_domain::enterprise::Indicator>| {
                let mut v: Vec<_> = zhengqi_domain::enterprise::current_figures(&ind)
                    .into_iter()
                    .map(|i| ind[i].clone())
                    .collect();
                v.sort_by_key(|i| (i.kind, i.year));
                v
            };
            let mut expected = Vec::new();
            for u in usccs {
                expected.push((u, in_force(s.indicators(&Uscc::parse(u).unwrap()).await.unwrap())));
            }
            let loaded = |subjects: Vec<(Enterprise, Vec<zhengqi_domain::enterprise::Indicator>)>| {
                let mut out: Vec<(&str, Vec<_>)> = Vec::new();
                for u in usccs {
                    let (_, ind) = subjects.iter().find(|(e, _)| e.uscc.as_str() == u).unwrap();
                    let mut ind = ind.clone();
                    ind.sort_by_key(|i| (i.kind, i.year));
                    out.push((u, ind));
                }
                out
            };
            assert_eq!(loaded(s.load_subjects().await.unwrap()), expected);
            zhengqi_store::testing::refill_figures_as_migrated(&s).await.unwrap();
            assert_eq!(loaded(s.load_subjects().await.unwrap()), expected);
        });
    }
}
