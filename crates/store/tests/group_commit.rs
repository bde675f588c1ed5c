//! The group-commit writer (`case_writer`): many concurrent steps share a
//! transaction, yet each is answered as if alone — refusals and duplicate
//! submissions stay apart, a batch that cannot be written is redone step by
//! step, and two writers on one database (two processes) never act on a
//! stale case. SQLite, or PostgreSQL with `DATABASE_URL`.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use zhengqi_domain::approval::case::{Case, CaseStatus, Event, NewPart};
use zhengqi_domain::calendar::WorkCalendar;
use zhengqi_store::testing::fresh_database_url;
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

fn accept(d: &str) -> Event {
    Event::Accept {
        department: d.to_owned(),
    }
}

fn approve(d: &str) -> Event {
    Event::Approve {
        department: d.to_owned(),
        opinion: "同意".into(),
    }
}

/// The stored case equals the replay of its stored events, and the
/// department index agrees with the snapshot.
async fn consistent(s: &Store, id: &str, cal: &WorkCalendar) -> Case {
    let c = s.case(id).await.unwrap().unwrap();
    let events = s.case_events(id).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=events.len() as i64).collect::<Vec<_>>()
    );
    let replayed = Case::replay(
        &events
            .iter()
            .map(|e| (e.at, e.event.clone()))
            .collect::<Vec<_>>(),
        cal,
    )
    .unwrap();
    assert_eq!(replayed, c, "{id}: snapshot differs from its log");
    for p in &c.parts {
        let queued = s
            .department_queue(&p.department)
            .await
            .unwrap()
            .into_iter()
            .find(|q| q.case_id == id);
        if let Some(q) = queued {
            assert_eq!(q.part_state, p.state.to_string(), "{id} {}", p.department);
            assert_eq!(q.deadline, p.deadline.map(|d| d.to_string()));
        }
    }
    c
}

#[tokio::test]
async fn concurrent_steps_share_commits_and_stay_apart() {
    let s = Store::connect(&fresh_database_url().await.unwrap())
        .await
        .unwrap();
    let cal = WorkCalendar::official();
    const N: usize = 24;
    // A burst of submissions, every third one a retry of its predecessor's key.
    let mut tasks = Vec::new();
    for i in 0..N {
        let s = s.clone();
        let key = format!("k{}", i - i % 3 * usize::from(i % 3 == 2));
        tasks.push(tokio::spawn(async move {
            s.submit_case(&new_case(&format!("G{i:02}"), &key), &Actor::system("测试"))
                .await
                .unwrap()
        }));
    }
    let mut created = Vec::new();
    for task in tasks {
        if let SubmitOutcome::Created(id) = task.await.unwrap() {
            created.push(id);
        }
    }
    // Keys k0..: i % 3 == 2 reuses the key of i - 2 → N/3 retries.
    assert_eq!(created.len(), N - N / 3, "{created:?}");
    // Every department acts on every case at once; one refused step per case
    // (approving before accepting) rides along in the same bursts.
    for round in 0..2 {
        let mut tasks = Vec::new();
        for id in &created {
            for d in DEPTS {
                let (s, id, cal) = (s.clone(), id.clone(), cal.clone());
                tasks.push(tokio::spawn(async move {
                    let ev = if round == 0 { accept(d) } else { approve(d) };
                    s.apply_case_event(&id, &ev, &Actor::system(d), t(30, 2 + round), &cal)
                        .await
                        .map(|_| ())
                }));
            }
            if round == 0 {
                let (s, id, cal) = (s.clone(), id.clone(), cal.clone());
                tasks.push(tokio::spawn(async move {
                    let r = s
                        .apply_case_event(&id, &Event::Issue, &Actor::system("x"), t(30, 2), &cal)
                        .await;
                    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
                    Ok(())
                }));
            }
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
    }
    for id in &created {
        let c = consistent(&s, id, &cal).await;
        assert_eq!(c.status, CaseStatus::ReadyToIssue, "{id}");
        assert_eq!(s.case_events(id).await.unwrap().len(), 1 + 8);
    }
    let stats = s.case_writer_stats();
    let steps = (N + created.len() * 9) as u64;
    assert_eq!(stats.steps, steps, "{stats:?}");
    assert_eq!(stats.fallbacks, 0, "{stats:?}");
    assert!(
        stats.batches < stats.steps,
        "concurrent steps shared no commit: {stats:?}"
    );
    // One audit entry per accepted step, none for the refused ones.
    let (_, audited) = s
        .audit_entries(&zhengqi_store::AuditFilter {
            target_type: Some("case".into()),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audited, created.len() as i64 * 9, "audit rows");
}

/// More callers than the writer's queue holds (1,024 steps): the rest wait
/// for room rather than fail, and every submission lands exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_makes_callers_wait_and_loses_nothing() {
    let s = Store::connect(&fresh_database_url().await.unwrap())
        .await
        .unwrap();
    const N: usize = 3_000;
    let mut tasks = Vec::new();
    for i in 0..N {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.submit_case(
                &new_case(&format!("Q{i:05}"), &format!("q{i}")),
                &Actor::system("测试"),
            )
            .await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let out = t.await.unwrap().unwrap();
        assert_eq!(out, SubmitOutcome::Created(format!("Q{i:05}")));
    }
    for i in [0, N / 2, N - 1] {
        assert!(s.case(&format!("Q{i:05}")).await.unwrap().is_some());
    }
    let stats = s.case_writer_stats();
    assert_eq!(stats.steps, N as u64);
    assert!(stats.batches < N as u64, "{stats:?}");
}

/// `Store::close` ends the writer (after the steps already queued) before
/// closing the pool, so nothing holds the database open: on SQLite the last
/// connection's close checkpoints and removes the WAL file.
#[tokio::test]
async fn closing_the_store_finishes_the_writer_and_releases_the_database() {
    let url = fresh_database_url().await.unwrap();
    let s = Store::connect(&url).await.unwrap();
    let a = Actor::system("测试");
    s.submit_case(&new_case("C1", "c1"), &a).await.unwrap();
    s.close().await;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let wal = format!("{}-wal", path.split('?').next().unwrap());
        assert!(
            !std::path::Path::new(&wal).exists(),
            "a connection is still open: {wal} remains"
        );
    }
    let again = Store::connect(&url).await.unwrap();
    assert!(again.case("C1").await.unwrap().is_some());
}

#[tokio::test]
async fn a_batch_that_cannot_be_written_is_redone_step_by_step() {
    let s = Store::connect(&fresh_database_url().await.unwrap())
        .await
        .unwrap();
    let a = Actor::system("测试");
    s.submit_case(&new_case("D1", "first"), &a).await.unwrap();
    // The same case id under a new key cannot be inserted; whichever batch
    // it lands in fails as a whole, and its neighbours must still succeed.
    let mut tasks = Vec::new();
    for i in 0..12 {
        let s = s.clone();
        let (id, key) = if i == 5 {
            ("D1".to_owned(), "second".to_owned())
        } else {
            (format!("E{i:02}"), format!("e{i}"))
        };
        tasks.push(tokio::spawn(async move {
            (
                id.clone(),
                s.submit_case(&new_case(&id, &key), &Actor::system("测试"))
                    .await,
            )
        }));
    }
    for task in tasks {
        let (id, r) = task.await.unwrap();
        if id == "D1" {
            assert!(r.is_err(), "a taken case id must be refused: {r:?}");
        } else {
            assert_eq!(r.unwrap(), SubmitOutcome::Created(id.clone()));
            assert!(s.case(&id).await.unwrap().is_some());
        }
    }
    assert!(s.case_writer_stats().fallbacks >= 1);
    assert_eq!(
        s.case("D1").await.unwrap().unwrap().idempotency_key,
        "first"
    );
}

/// Two stores on one database are two writers with two caches, as two
/// server processes would be. Each must see the other's steps.
#[tokio::test]
async fn two_writers_never_act_on_a_stale_case() {
    let url = fresh_database_url().await.unwrap();
    let one = Store::connect(&url).await.unwrap();
    let two = Store::connect(&url).await.unwrap();
    let cal = WorkCalendar::official();
    let a = Actor::system("测试");
    one.submit_case(&new_case("S1", "s"), &a).await.unwrap();
    for (i, d) in DEPTS.iter().enumerate() {
        let (first, second) = if i % 2 == 0 {
            (&one, &two)
        } else {
            (&two, &one)
        };
        first
            .apply_case_event("S1", &accept(d), &a, t(30, 2), &cal)
            .await
            .unwrap();
        second
            .apply_case_event("S1", &approve(d), &a, t(30, 3), &cal)
            .await
            .unwrap();
    }
    let (c, _) = two
        .apply_case_event("S1", &Event::Issue, &a, t(30, 4), &cal)
        .await
        .unwrap();
    assert_eq!(c.status, CaseStatus::Issued);
    consistent(&one, "S1", &cal).await;
    assert_eq!(one.case_events("S1").await.unwrap().len(), 10);
}

fn step_event(kind: usize, d: &str) -> Event {
    let department = d.to_owned();
    match kind {
        0 => Event::Accept { department },
        1 => Event::RequestCorrection {
            department,
            reason: "补正".into(),
        },
        2 => Event::Corrected { department },
        3 => Event::Approve {
            department,
            opinion: "同意".into(),
        },
        4 => Event::Reject {
            department,
            reason: "不符合".into(),
        },
        5 => Event::Issue,
        _ => Event::Withdraw,
    }
}

fn issue_when_ready(c: &Case) -> Option<(Event, Actor)> {
    (c.status == CaseStatus::ReadyToIssue).then(|| (Event::Issue, Actor::system("平台出件")))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(12),
        ..ProptestConfig::default()
    })]

    /// Random steps on three cases, sent in concurrent bursts through two
    /// writers on one database: whatever was acknowledged is exactly what
    /// is stored (each case's log holds the acknowledged events, its
    /// snapshot is the replay of that log, its index and audit agree), and
    /// nothing refused left a trace.
    #[test]
    fn acknowledged_steps_are_exactly_what_is_stored(
        steps in proptest::collection::vec((0..3usize, 0..7usize, 0..4usize, any::<bool>(), any::<bool>()), 1..48),
        bursts in 1..5usize,
    ) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let url = fresh_database_url().await.unwrap();
            let stores = [Store::connect(&url).await.unwrap(), Store::connect(&url).await.unwrap()];
            let cal = WorkCalendar::official();
            let ids = ["P0", "P1", "P2"];
            for id in ids {
                stores[0].submit_case(&new_case(id, id), &Actor::system("测试")).await.unwrap();
            }
            let mut expected: Vec<Vec<String>> = vec![Vec::new(); ids.len()];
            let per_burst = steps.len().div_ceil(bursts);
            for burst in steps.chunks(per_burst) {
                let mut tasks = Vec::new();
                for &(case, kind, dept, second, follow) in burst {
                    let s = stores[usize::from(second)].clone();
                    let (cal, ev) = (cal.clone(), step_event(kind, DEPTS[dept]));
                    tasks.push(tokio::spawn(async move {
                        let r = if follow {
                            s.apply_case_event_then(ids[case], &ev, &Actor::system("测试"), t(30, 2), &cal, issue_when_ready).await
                        } else {
                            s.apply_case_event(ids[case], &ev, &Actor::system("测试"), t(30, 2), &cal).await
                        };
                        (case, ev, r)
                    }));
                }
                for task in tasks {
                    let (case, ev, r) = task.await.unwrap();
                    match r {
                        Ok((c, _)) => {
                            let issued_after = ev != Event::Issue
                                && c.history.last().is_some_and(|(_, _, e)| *e == Event::Issue);
                            expected[case].push(serde_json::to_string(&ev).unwrap());
                            if issued_after {
                                expected[case].push(serde_json::to_string(&Event::Issue).unwrap());
                            }
                        }
                        Err(StoreError::Invalid(_)) => {}
                        Err(e) => panic!("unexpected error: {e}"),
                    }
                }
            }
            let mut events_total = 0;
            for (i, id) in ids.iter().enumerate() {
                consistent(&stores[1], id, &cal).await;
                let mut stored: Vec<String> = stores[0]
                    .case_events(id)
                    .await
                    .unwrap()
                    .iter()
                    .skip(1)
                    .map(|e| serde_json::to_string(&e.event).unwrap())
                    .collect();
                events_total += stored.len() + 1;
                stored.sort();
                expected[i].sort();
                assert_eq!(stored, expected[i], "case {id}");
            }
            let (_, audited) = stores[0]
                .audit_entries(&zhengqi_store::AuditFilter {
                    target_type: Some("case".into()),
                    limit: 1,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(audited, events_total as i64, "one audit entry per stored event");
        });
    }
}
