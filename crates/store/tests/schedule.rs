//! The approval scheduler against storage: reminders at most once across
//! runs and concurrent runs, the 容缺 overdue rule applied once and audited,
//! the 待出件 sweep, flagged parts per department. SQLite, or PostgreSQL
//! with `DATABASE_URL`.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use zhengqi_domain::approval::case::{
    Case, CaseStatus, Event, NewPart, NewPendingMaterial, OverdueRule, WarningKind,
};
use zhengqi_domain::calendar::WorkCalendar;
use zhengqi_store::testing::fresh_store;
use zhengqi_store::{Actor, AuditFilter, Store};

const APPLICANT: &str = "91440400192548256N";
const ZJ: &str = "SZJJ";
const HB: &str = "SSTHJJ";

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// 09:00 Beijing time.
fn morning(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(1, 0, 0).unwrap())
}

fn new_case(id: &str, rule: Option<OverdueRule>, day: NaiveDate) -> Case {
    let parts = [(ZJ, "XK-1"), (HB, "XK-2")]
        .iter()
        .map(|(dep, item)| NewPart {
            item_code: (*item).to_owned(),
            department: (*dep).to_owned(),
            promised_days: 5,
        })
        .collect();
    let tolerated: Vec<_> = rule
        .map(|r| NewPendingMaterial {
            key: "eia".into(),
            name: "环评批复".into(),
            supplement_days: 3,
            on_overdue: r,
        })
        .into_iter()
        .collect();
    let signed = !tolerated.is_empty();
    Case::submit(
        id,
        APPLICANT,
        "YJS",
        id,
        parts,
        tolerated,
        signed,
        morning(day),
        &WorkCalendar::official(),
    )
    .unwrap()
}

async fn seeded(rule: Option<OverdueRule>) -> Store {
    let s = fresh_store().await.unwrap();
    let a = Actor::system("测试");
    let cal = WorkCalendar::official();
    // Accepted 2026-02-13 (Fri): 02-14 (Sat, worked) is day 1, then the
    // Spring Festival 02-15..02-23; supplement due 02-25, deadline 02-27.
    s.submit_case(&new_case("C1", rule, d(2026, 2, 12)), &a)
        .await
        .unwrap();
    for dep in [ZJ, HB] {
        s.apply_case_event(
            "C1",
            &Event::Accept {
                department: dep.into(),
            },
            &a,
            morning(d(2026, 2, 13)),
            &cal,
        )
        .await
        .unwrap();
    }
    s
}

fn sched() -> Actor {
    Actor::system("平台调度")
}

async fn outbox_types(s: &Store) -> Vec<String> {
    s.outbox_pending(1000)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, _, n)| n["type"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn reminders_are_sent_once_across_runs_and_concurrent_runs() {
    let s = seeded(Some(OverdueRule::Suspend)).await;
    let cal = WorkCalendar::official();
    let c = s.case("C1").await.unwrap().unwrap();
    assert_eq!(c.tolerance[0].due, Some(d(2026, 2, 25)));
    // On 02-13 three working days are left (02-14, 02-24, 02-25): one reminder.
    let r = s
        .run_schedule(morning(d(2026, 2, 13)), &cal, &sched())
        .await
        .unwrap();
    assert_eq!(r.reminders.len(), 1, "{:?}", r.reminders);
    assert_eq!(r.reminders[0].1.kind(), "supplement_reminder");
    // Inside the festival still within the window, but already sent.
    let again = s
        .run_schedule(morning(d(2026, 2, 20)), &cal, &sched())
        .await
        .unwrap();
    assert!(again.reminders.is_empty());
    assert_eq!(again.cases_checked, 1);
    // 02-26: 4 of 5 used → both parts warned, concurrently from 4 runners.
    let runs = (0..4).map(|_| {
        let s = s.clone();
        let cal = cal.clone();
        tokio::spawn(async move {
            s.run_schedule(morning(d(2026, 2, 26)), &cal, &sched())
                .await
                .unwrap()
        })
    });
    let mut events = 0;
    let mut warnings = 0;
    for h in runs {
        let r = h.await.unwrap();
        events += r.events.len();
        warnings += r
            .reminders
            .iter()
            .filter(|(_, x)| x.kind() == "deadline_warning")
            .count();
    }
    // The material (due 02-25) went overdue once; two parts warned once each.
    assert_eq!(events, 1);
    assert_eq!(warnings, 2);
    let sent = s.case_reminders("C1").await.unwrap();
    assert_eq!(sent.len(), 3);
    let types = outbox_types(&s).await;
    assert_eq!(types.iter().filter(|t| *t == "deadline_warning").count(), 2);
    assert_eq!(
        types.iter().filter(|t| *t == "supplement_reminder").count(),
        1
    );
    assert_eq!(types.iter().filter(|t| *t == "material_overdue").count(), 1);
    let (audit, _) = s
        .audit_entries(&AuditFilter {
            action: Some("case.remind".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 3);
    assert!(audit.iter().all(|e| e.actor_name == "平台调度"));
}

#[tokio::test]
async fn overdue_rule_applied_once_and_audited() {
    let s = seeded(Some(OverdueRule::RevokeAcceptance)).await;
    let cal = WorkCalendar::official();
    // Due 02-25: nothing on the day itself but the reminder.
    let r = s
        .run_schedule(morning(d(2026, 2, 25)), &cal, &sched())
        .await
        .unwrap();
    assert!(r.events.is_empty());
    assert_eq!(
        s.case("C1").await.unwrap().unwrap().status,
        CaseStatus::InProgress
    );
    let actor = sched();
    let (a, b) = tokio::join!(
        s.run_schedule(morning(d(2026, 2, 26)), &cal, &actor),
        s.run_schedule(morning(d(2026, 2, 26)), &cal, &actor)
    );
    assert_eq!(a.unwrap().events.len() + b.unwrap().events.len(), 1);
    let c = s.case("C1").await.unwrap().unwrap();
    assert_eq!(c.status, CaseStatus::Revoked);
    let overdue_events = s
        .case_events("C1")
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.event, Event::ToleranceOverdue { .. }))
        .count();
    assert_eq!(overdue_events, 1);
    let (audit, _) = s
        .audit_entries(&AuditFilter {
            target_id: Some("C1".into()),
            action: Some("case.event".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(audit.iter().any(|e| {
        e.actor_name == "平台调度"
            && e.after
                .as_ref()
                .is_some_and(|v| v["status"] == "已撤销受理")
    }));
    // The snapshot still equals the replay of the stored events.
    let events: Vec<_> = s
        .case_events("C1")
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.at, e.event))
        .collect();
    assert_eq!(Case::replay(&events, &cal).unwrap(), c);
    // A revoked case is closed: later runs do nothing with it.
    let r = s
        .run_schedule(morning(d(2026, 3, 10)), &cal, &sched())
        .await
        .unwrap();
    assert_eq!(r.cases_checked, 0);
}

#[tokio::test]
async fn stuck_ready_cases_are_issued_and_parts_flagged_per_department() {
    let s = seeded(None).await;
    let a = Actor::system("测试");
    let cal = WorkCalendar::official();
    // A second case where both departments approved but issue never ran.
    s.submit_case(&new_case("C2", None, d(2026, 2, 12)), &a)
        .await
        .unwrap();
    for dep in [ZJ, HB] {
        for ev in [
            Event::Accept {
                department: dep.into(),
            },
            Event::Approve {
                department: dep.into(),
                opinion: "同意".into(),
            },
        ] {
            s.apply_case_event("C2", &ev, &a, morning(d(2026, 2, 13)), &cal)
                .await
                .unwrap();
        }
    }
    assert_eq!(
        s.case("C2").await.unwrap().unwrap().status,
        CaseStatus::ReadyToIssue
    );
    // 03-02: C1's parts (deadline 02-27) are two working days over (Sat 02-28 worked).
    let (flags, problems) = s.flagged_parts(d(2026, 3, 2), &cal, None).await.unwrap();
    assert!(problems.is_empty());
    assert_eq!(flags.len(), 2);
    assert!(flags.iter().all(|f| f.case_id == "C1"
        && f.flag.kind == WarningKind::Overdue
        && f.flag.time_left == Some(-2)));
    let (mine, _) = s
        .flagged_parts(d(2026, 3, 2), &cal, Some(ZJ))
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].flag.department, ZJ);
    let r = s
        .run_schedule(morning(d(2026, 3, 2)), &cal, &sched())
        .await
        .unwrap();
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.events[0].0, "C2");
    assert_eq!(
        s.case("C2").await.unwrap().unwrap().status,
        CaseStatus::Issued
    );
    assert_eq!(
        r.reminders
            .iter()
            .filter(|(_, x)| x.kind() == "deadline_overdue")
            .count(),
        2
    );
    assert!(outbox_types(&s).await.contains(&"case_issued".to_owned()));
    // 2027 is not in the holiday data: reported, no panic, no guess.
    let r = s
        .run_schedule(morning(d(2027, 1, 5)), &cal, &sched())
        .await
        .unwrap();
    assert!(
        r.problems.iter().any(|p| p.contains("2027")),
        "{:?}",
        r.problems
    );
    assert!(r.reminders.is_empty(), "overdue notices were already sent");
}
