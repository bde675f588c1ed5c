//! Outbound webhook bookkeeping and inbound callback idempotency in storage:
//! fan-out per subscription, claims with leases, backoff, dead letters,
//! requeue (audited), concurrent claimers, and inbound event reservations.
//! SQLite, or PostgreSQL with `DATABASE_URL`.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use zhengqi_domain::approval::case::{Case, Event, NewPart};
use zhengqi_domain::calendar::WorkCalendar;
use zhengqi_store::testing::fresh_store;
use zhengqi_store::{
    Actor, AttemptOutcome, AuditFilter, DeliveryState, InboundCallback, InboundRecord,
    NewSubscription, Reservation, RetryPolicy, Store,
};

const APPLICANT: &str = "91440400192548256N";
const DEPTS: [&str; 2] = ["SZRJ", "SZJJ"];

fn t(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 9, day, hour, 0, 0).unwrap()
}

fn admin() -> Actor {
    Actor::system("测试管理员")
}

/// A case submitted on the 29th and accepted by the first department, which
/// writes its notices to the outbox. Returns how many notices.
async fn case_with_events(s: &Store, id: &str) -> usize {
    case_at(s, id, 3).await
}

/// The same, accepted at `hour` on the 29th (outbox rows carry the event time).
async fn case_at(s: &Store, id: &str, hour: u32) -> usize {
    let parts = DEPTS
        .iter()
        .enumerate()
        .map(|(i, d)| NewPart {
            item_code: format!("XK-{i}"),
            department: (*d).to_owned(),
            promised_days: 5,
        })
        .collect();
    let cal = WorkCalendar::official();
    let c = Case::submit(
        id,
        APPLICANT,
        "GYXMKG",
        id,
        parts,
        vec![],
        false,
        t(29, 2),
        &cal,
    )
    .unwrap();
    s.submit_case(&c, &admin()).await.unwrap();
    let ev = Event::Accept {
        department: DEPTS[0].into(),
    };
    let (_, notices) = s
        .apply_case_event(id, &ev, &admin(), t(29, hour), &cal)
        .await
        .unwrap();
    notices.len()
}

async fn subscribe(s: &Store, name: &str, events: &[&str], at: DateTime<Utc>) -> i64 {
    let (sub, secret) = s
        .create_subscription(
            &NewSubscription {
                name: name.into(),
                url: "https://receiver.example/hook".into(),
                events: events.iter().map(|e| e.to_string()).collect(),
            },
            &admin(),
            at,
        )
        .await
        .unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() > 40);
    sub.id
}

#[tokio::test]
async fn deliveries_fan_out_back_off_die_and_requeue() {
    let s = fresh_store().await.unwrap();
    let all = subscribe(&s, "工程审批系统", &[], t(1, 0)).await;
    let issued_only = subscribe(&s, "一网通办", &["case_issued"], t(1, 0)).await;
    let n = case_with_events(&s, "C1").await;
    assert!(n >= 2, "acceptance writes several notices");
    let p = RetryPolicy::default();
    let now = Utc::now();

    let claimed = s.claim_due_deliveries(now, 100, &p).await.unwrap();
    assert_eq!(
        claimed.len(),
        n,
        "only the unfiltered subscription wants these"
    );
    assert!(claimed.iter().all(|d| d.subscription_id == all));
    assert!(claimed.iter().all(|d| d.case_id == "C1" && d.attempts == 0));
    assert!(claimed.iter().any(|d| d.event == "part_state_changed"));
    assert_eq!(s.outbox_backlog().await.unwrap(), 0);
    // Claimed deliveries are leased: nobody else gets them meanwhile.
    assert!(
        s.claim_due_deliveries(now, 100, &p)
            .await
            .unwrap()
            .is_empty()
    );

    let (first, rest) = claimed.split_first().unwrap();
    for d in rest {
        let st = s
            .record_attempt(
                d.delivery_id,
                &AttemptOutcome::Delivered { status: 200 },
                now,
                &p,
            )
            .await
            .unwrap();
        assert_eq!(st, DeliveryState::Delivered);
    }
    // A late duplicate report changes nothing.
    assert_eq!(
        s.record_attempt(
            rest[0].delivery_id,
            &AttemptOutcome::Delivered { status: 200 },
            now,
            &p
        )
        .await
        .unwrap(),
        DeliveryState::Unchanged
    );

    // Failures back off along the schedule, then the delivery dies.
    let fail = AttemptOutcome::Failed {
        status: Some(500),
        error: "HTTP 500".into(),
    };
    let mut at = now;
    for attempt in 1..=p.max_attempts {
        let st = s
            .record_attempt(first.delivery_id, &fail, at, &p)
            .await
            .unwrap();
        if attempt == p.max_attempts {
            assert_eq!(st, DeliveryState::Dead);
            break;
        }
        let next = at + p.delay_after(attempt);
        assert_eq!(st, DeliveryState::RetryAt(next));
        assert!(
            s.claim_due_deliveries(next - Duration::seconds(1), 100, &p)
                .await
                .unwrap()
                .is_empty(),
            "not due before the backoff ends"
        );
        let again = s.claim_due_deliveries(next, 100, &p).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, attempt);
        at = next;
    }
    assert_eq!(p.delay_after(1), Duration::seconds(30));
    assert_eq!(p.delay_after(2), Duration::minutes(2));
    assert_eq!(p.delay_after(99), Duration::hours(24));

    let dead = s.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].delivery_id, first.delivery_id);
    assert_eq!(dead[0].attempts, p.max_attempts);
    assert_eq!(dead[0].last_status, Some(500));
    assert_eq!(dead[0].last_error.as_deref(), Some("HTTP 500"));
    let counts = s.delivery_counts().await.unwrap();
    let c_all = counts.iter().find(|c| c.subscription_id == all).unwrap();
    assert_eq!(
        (c_all.pending, c_all.delivered, c_all.dead),
        (0, n as i64 - 1, 1)
    );
    let c_issued = counts
        .iter()
        .find(|c| c.subscription_id == issued_only)
        .unwrap();
    assert_eq!(
        (c_issued.pending, c_issued.delivered, c_issued.dead),
        (0, 0, 0)
    );

    // Requeue: audited, a fresh set of attempts, delivered once.
    s.requeue_delivery(first.delivery_id, &admin(), at)
        .await
        .unwrap();
    assert!(
        s.requeue_delivery(first.delivery_id, &admin(), at)
            .await
            .is_err(),
        "only dead deliveries can be requeued"
    );
    let audit = s
        .audit_entries(&AuditFilter {
            action: Some("webhook.requeue".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .0;
    assert_eq!(audit.len(), 1);
    assert!(s.dead_letters(10).await.unwrap().is_empty());
    let again = s.claim_due_deliveries(at, 100, &p).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].delivery_id, again[0].attempts),
        (first.delivery_id, 0)
    );
    assert_eq!(
        again[0].event_id, first.event_id,
        "the event id never changes"
    );
    s.record_attempt(
        first.delivery_id,
        &AttemptOutcome::Delivered { status: 204 },
        at,
        &p,
    )
    .await
    .unwrap();
    let counts = s.delivery_counts().await.unwrap();
    let c_all = counts.iter().find(|c| c.subscription_id == all).unwrap();
    assert_eq!(
        (c_all.pending, c_all.delivered, c_all.dead),
        (0, n as i64, 0)
    );
}

#[tokio::test]
async fn later_and_disabled_subscriptions() {
    let s = fresh_store().await.unwrap();
    let p = RetryPolicy::default();
    // Created after the events were written: gets none of them.
    case_with_events(&s, "C1").await;
    let late = subscribe(&s, "迟到的订阅", &[], t(29, 4)).await;
    assert!(
        s.claim_due_deliveries(Utc::now(), 100, &p)
            .await
            .unwrap()
            .is_empty()
    );
    // Disabled: its waiting deliveries are not sent.
    let sub = subscribe(&s, "将停用", &[], t(1, 0)).await;
    case_at(&s, "C2", 5).await;
    s.disable_subscription(sub, &admin(), Utc::now())
        .await
        .unwrap();
    s.disable_subscription(sub, &admin(), Utc::now())
        .await
        .unwrap();
    assert!(
        s.disable_subscription(9999, &admin(), Utc::now())
            .await
            .is_err()
    );
    let claimed = s
        .claim_due_deliveries(Utc::now() + Duration::seconds(5), 100, &p)
        .await
        .unwrap();
    assert!(claimed.iter().all(|d| d.subscription_id == late));
    assert!(
        !claimed.is_empty(),
        "the later subscription gets the later case"
    );
    let subs = s.subscriptions().await.unwrap();
    assert!(!subs.iter().find(|x| x.id == sub).unwrap().active);
    let audit = s
        .audit_entries(&AuditFilter {
            action: Some("webhook.disable".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .0;
    assert_eq!(audit.len(), 1, "disabling twice is audited once");
    // Bad input is refused with a Chinese message.
    let bad = NewSubscription {
        name: "x".into(),
        url: "ftp://x".into(),
        events: vec![],
    };
    assert!(
        s.create_subscription(&bad, &admin(), Utc::now())
            .await
            .is_err()
    );
    let bad = NewSubscription {
        name: "x".into(),
        url: "https://x".into(),
        events: vec!["no_such_event".into()],
    };
    let e = s
        .create_subscription(&bad, &admin(), Utc::now())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("未知的事件类型"), "{e}");
}

#[tokio::test]
async fn concurrent_claimers_never_share_a_delivery() {
    let s = fresh_store().await.unwrap();
    subscribe(&s, "甲", &[], t(1, 0)).await;
    subscribe(&s, "乙", &[], t(1, 0)).await;
    let mut total = 0;
    for i in 0..3 {
        total += 2 * case_with_events(&s, &format!("C{i}")).await;
    }
    let now = Utc::now();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = s
                    .claim_due_deliveries(now, 2, &RetryPolicy::default())
                    .await
                    .unwrap();
                if batch.is_empty() {
                    break;
                }
                got.extend(batch.into_iter().map(|d| d.delivery_id));
            }
            got
        }));
    }
    let mut seen = BTreeSet::new();
    let mut count = 0;
    for task in tasks {
        for id in task.await.unwrap() {
            count += 1;
            assert!(seen.insert(id), "delivery {id} claimed twice");
        }
    }
    assert_eq!(count, total);
}

#[tokio::test]
async fn inbound_event_ids_are_reserved_once() {
    let s = fresh_store().await.unwrap();
    case_with_events(&s, "C1").await;
    let cb = InboundCallback {
        source: "gcxm-zj".into(),
        event_id: "EXT-1".into(),
        case_id: "C1".into(),
        request_hash: "h1".into(),
        external_ref: "GC-2025-001".into(),
        external_at: t(29, 4),
    };
    let now = Utc::now();
    let Reservation::Reserved { case_seq } = s.reserve_inbound(&cb, now).await.unwrap() else {
        panic!("first reservation");
    };
    assert_eq!(case_seq, 2, "submission and acceptance");
    match s.reserve_inbound(&cb, now).await.unwrap() {
        Reservation::Existing(InboundRecord::Pending { request_hash, .. }) => {
            assert_eq!(request_hash, "h1")
        }
        other => panic!("{other:?}"),
    }
    // Another caller may use the same external id independently.
    let other = InboundCallback {
        source: "other".into(),
        ..cb.clone()
    };
    assert!(matches!(
        s.reserve_inbound(&other, now).await.unwrap(),
        Reservation::Reserved { .. }
    ));
    // A stale reservation can be taken over once.
    let stale = s
        .retake_inbound("gcxm-zj", "EXT-1", now, now + Duration::minutes(5))
        .await;
    assert!(stale.unwrap());
    assert!(
        !s.retake_inbound("gcxm-zj", "EXT-1", now, now)
            .await
            .unwrap()
    );

    let body = serde_json::json!({"id": "C1", "status": "办理中"});
    s.complete_inbound("gcxm-zj", "EXT-1", 200, &body, &admin(), now)
        .await
        .unwrap();
    assert!(
        s.complete_inbound("gcxm-zj", "EXT-1", 200, &body, &admin(), now)
            .await
            .is_err(),
        "completed once"
    );
    assert_eq!(
        s.reserve_inbound(&cb, now).await.unwrap(),
        Reservation::Existing(InboundRecord::Done {
            request_hash: "h1".into(),
            status: 200,
            response: body.clone()
        })
    );
    let audit = s
        .audit_entries(&AuditFilter {
            action: Some("integration.callback".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .0;
    assert_eq!(audit.len(), 1);
    assert!(audit[0].after.as_ref().unwrap()["external_ref"] == "GC-2025-001");
    // Unknown case.
    let missing = InboundCallback {
        event_id: "EXT-2".into(),
        case_id: "NOPE".into(),
        ..cb
    };
    assert!(s.reserve_inbound(&missing, now).await.is_err());
}
