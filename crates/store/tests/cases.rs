//! Approval cases in storage: idempotent submission, concurrent department
//! decisions without lost updates, refused events change nothing, the event
//! log replays to the snapshot. SQLite, or PostgreSQL with `DATABASE_URL`.

use chrono::{DateTime, TimeZone, Timelike, Utc};
use zhengqi_domain::approval::case::{Case, CaseStatus, Event, NewPart};
use zhengqi_domain::calendar::WorkCalendar;
use zhengqi_store::testing::fresh_store;
use zhengqi_store::{Actor, Store, StoreError, SubmitOutcome};

const APPLICANT: &str = "91440400192548256N";
const DEPTS: [&str; 4] = ["SZRJ", "SZJJ", "SSTHJJ", "SFGJ"];

fn t(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 9, day, hour, 0, 0).unwrap()
}

fn new_case(id: &str, key: &str) -> Case {
    let parts = DEPTS
        .iter()
        .enumerate()
        .map(|(i, d)| NewPart {
            item_code: format!("XK-{i}"),
            department: (*d).to_owned(),
            promised_days: 5,
        })
        .collect();
    Case::submit(
        id,
        APPLICANT,
        "GYXMKG",
        key,
        parts,
        vec![],
        false,
        t(29, 2),
        &WorkCalendar::official(),
    )
    .unwrap()
}

async fn store() -> Store {
    fresh_store().await.unwrap()
}

#[tokio::test]
async fn submission_is_idempotent() {
    let s = store().await;
    let a = Actor::system("测试");
    assert_eq!(
        s.submit_case(&new_case("C1", "k1"), &a).await.unwrap(),
        SubmitOutcome::Created("C1".into())
    );
    // A retry with the same key returns the first case, whatever id it proposes.
    assert_eq!(
        s.submit_case(&new_case("C2", "k1"), &a).await.unwrap(),
        SubmitOutcome::Existing("C1".into())
    );
    assert!(s.case("C2").await.unwrap().is_none());
    // Concurrent retries: exactly one case.
    let mut tasks = Vec::new();
    for i in 0..6 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.submit_case(&new_case(&format!("R{i}"), "k2"), &Actor::system("测试"))
                .await
        }));
    }
    let mut created = 0;
    for task in tasks {
        if let SubmitOutcome::Created(_) = task.await.unwrap().unwrap() {
            created += 1;
        }
    }
    assert_eq!(created, 1);
}

#[tokio::test]
async fn parallel_departments_never_lose_an_update() {
    let s = store().await;
    let cal = WorkCalendar::official();
    s.submit_case(&new_case("C1", "k"), &Actor::system("测试"))
        .await
        .unwrap();
    // All four departments accept, then approve, at the same instant.
    for (round, make) in [
        (
            0,
            (|d: &str| Event::Accept {
                department: d.to_owned(),
            }) as fn(&str) -> Event,
        ),
        (1, |d: &str| Event::Approve {
            department: d.to_owned(),
            opinion: "同意".into(),
        }),
    ] {
        let mut tasks = Vec::new();
        for d in DEPTS {
            let s = s.clone();
            let cal = cal.clone();
            tasks.push(tokio::spawn(async move {
                s.apply_case_event("C1", &make(d), &Actor::system(d), t(30, 2 + round), &cal)
                    .await
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
    }
    let c = s.case("C1").await.unwrap().unwrap();
    assert_eq!(c.status, CaseStatus::ReadyToIssue, "{c:?}");
    let events = s.case_events("C1").await.unwrap();
    assert_eq!(events.len(), 1 + 4 + 4);
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=9).collect::<Vec<_>>()
    );
    // The snapshot is what the log replays to.
    let replayed = Case::replay(
        &events
            .iter()
            .map(|e| (e.at, e.event.clone()))
            .collect::<Vec<_>>(),
        &cal,
    )
    .unwrap();
    assert_eq!(replayed, c);
    let (issued, notices) = s
        .apply_case_event("C1", &Event::Issue, &Actor::system("平台"), t(30, 9), &cal)
        .await
        .unwrap();
    assert_eq!(issued.status, CaseStatus::Issued);
    assert!(!notices.is_empty());
    assert!(
        !s.outbox_pending(100).await.unwrap().is_empty(),
        "notices wait in the outbox"
    );
    assert!(
        s.department_queue("SZRJ").await.unwrap().is_empty(),
        "issued cases leave the queue"
    );
}

#[tokio::test]
async fn refused_events_change_nothing_and_queues_sort_by_deadline() {
    let s = store().await;
    let cal = WorkCalendar::official();
    let a = Actor::system("测试");
    s.submit_case(&new_case("C1", "k1"), &a).await.unwrap();
    s.submit_case(&new_case("C2", "k2"), &a).await.unwrap();
    let before = s.case("C1").await.unwrap().unwrap();
    let err = s
        .apply_case_event(
            "C1",
            &Event::Approve {
                department: "SZRJ".into(),
                opinion: "同意".into(),
            },
            &a,
            t(30, 3),
            &cal,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    let err = s
        .apply_case_event(
            "C1",
            &Event::Accept {
                department: "NOPE".into(),
            },
            &a,
            t(30, 3),
            &cal,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert_eq!(s.case("C1").await.unwrap().unwrap(), before);
    assert_eq!(s.case_events("C1").await.unwrap().len(), 1);
    assert!(matches!(
        s.apply_case_event("NOPE", &Event::Issue, &a, t(30, 3), &cal)
            .await,
        Err(StoreError::NotFound(_))
    ));
    // C2 accepted first gets the earlier deadline and leads the queue.
    s.apply_case_event(
        "C2",
        &Event::Accept {
            department: "SZRJ".into(),
        },
        &a,
        t(30, 2),
        &cal,
    )
    .await
    .unwrap();
    let later = Utc.with_ymd_and_hms(2025, 10, 9, 2, 0, 0).unwrap();
    s.apply_case_event(
        "C1",
        &Event::Accept {
            department: "SZRJ".into(),
        },
        &a,
        later,
        &cal,
    )
    .await
    .unwrap();
    let q = s.department_queue("SZRJ").await.unwrap();
    assert_eq!(
        q.iter().map(|i| i.case_id.as_str()).collect::<Vec<_>>(),
        vec!["C2", "C1"]
    );
    assert_eq!(q[0].deadline.as_deref(), Some("2025-10-14"));
    assert_eq!(s.cases_of_applicant(APPLICANT).await.unwrap().len(), 2);
}

/// Clock times carry nanoseconds; the stored events carry microseconds
/// (text on SQLite and PostgreSQL alike). The snapshot must still equal the
/// replay of what was stored, and read back identically.
#[tokio::test]
async fn clock_times_round_trip_so_snapshot_equals_replay() {
    let s = store().await;
    let cal = WorkCalendar::official();
    let at = |h: u32, nanos: u32| {
        Utc.with_ymd_and_hms(2025, 9, 30, h, 0, 7)
            .unwrap()
            .with_nanosecond(nanos)
            .unwrap()
    };
    let c = Case::submit(
        "N1",
        APPLICANT,
        "GYXMKG",
        "nanos",
        DEPTS
            .iter()
            .enumerate()
            .map(|(i, d)| NewPart {
                item_code: format!("XK-{i}"),
                department: (*d).to_owned(),
                promised_days: 5,
            })
            .collect(),
        vec![],
        false,
        at(1, 123_456_789),
        &cal,
    )
    .unwrap();
    s.submit_case(&c, &Actor::system("测试")).await.unwrap();
    for (i, d) in DEPTS.iter().enumerate() {
        let ev = Event::Accept {
            department: (*d).to_owned(),
        };
        s.apply_case_event(
            "N1",
            &ev,
            &Actor::system(d),
            at(2, 999_999_999 - i as u32),
            &cal,
        )
        .await
        .unwrap();
    }
    let snapshot = s.case("N1").await.unwrap().unwrap();
    let events = s.case_events("N1").await.unwrap();
    assert_eq!(events[0].at.nanosecond(), 123_456_000);
    assert_eq!(snapshot.submitted_at, events[0].at);
    let replayed = Case::replay(
        &events
            .iter()
            .map(|e| (e.at, e.event.clone()))
            .collect::<Vec<_>>(),
        &cal,
    )
    .unwrap();
    assert_eq!(replayed, snapshot);
    // Times stay ordered even though the later events were cut to the same microsecond.
    assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
}

/// The follow-up event (the automatic issue) commits with the event that
/// made it due, or not at all.
#[tokio::test]
async fn follow_up_event_commits_with_its_cause() {
    let s = store().await;
    let cal = WorkCalendar::official();
    let a = Actor::system("测试");
    s.submit_case(&new_case("F1", "f"), &a).await.unwrap();
    let issue_when_ready = |c: &Case| {
        (c.status == CaseStatus::ReadyToIssue).then(|| (Event::Issue, Actor::system("平台出件")))
    };
    for (i, d) in DEPTS.iter().enumerate() {
        for ev in [
            Event::Accept {
                department: (*d).to_owned(),
            },
            Event::Approve {
                department: (*d).to_owned(),
                opinion: "同意".into(),
            },
        ] {
            let (c, _) = s
                .apply_case_event_then("F1", &ev, &a, t(30, 2), &cal, issue_when_ready)
                .await
                .unwrap();
            let last = i == DEPTS.len() - 1 && matches!(ev, Event::Approve { .. });
            assert_eq!(c.status == CaseStatus::Issued, last, "{:?}", c.status);
        }
    }
    let events = s.case_events("F1").await.unwrap();
    assert_eq!(events.len(), 1 + 2 * DEPTS.len() + 1);
    assert_eq!(events.last().unwrap().event, Event::Issue);
    let stored = s.case("F1").await.unwrap().unwrap();
    assert_eq!(stored.status, CaseStatus::Issued);
    let replayed = Case::replay(
        &events
            .iter()
            .map(|e| (e.at, e.event.clone()))
            .collect::<Vec<_>>(),
        &cal,
    )
    .unwrap();
    assert_eq!(replayed, stored);
    // A refused event takes no follow-up with it: nothing changes.
    let refused = s
        .apply_case_event_then("F1", &Event::Withdraw, &a, t(30, 3), &cal, |_| {
            Some((Event::Issue, Actor::system("平台出件")))
        })
        .await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    assert_eq!(s.case_events("F1").await.unwrap().len(), events.len());
}
