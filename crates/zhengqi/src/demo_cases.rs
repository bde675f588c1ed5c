//! Demo approval cases: combined matters and single items submitted by demo
//! enterprises over the last weeks, in every state — waiting for
//! acceptance, in review, awaiting correction, owing a 容缺 material, near
//! or past their deadline, issued, rejected, withdrawn — so the queues,
//! deadlines and timelines have something to show. Four more are timed
//! against today (a part overdue, a part at ≥ 80%, a 容缺 material due in
//! two working days and one past due), so the scheduler's first pass at
//! `serve` start sends reminders and applies the overdue rule.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use zhengqi_domain::approval::case::{Case, Event, NewPart, NewPendingMaterial, local_day};
use zhengqi_domain::approval::catalogue::{AcceptanceDecision, Catalogue, ServiceItem};
use zhengqi_domain::calendar::WorkCalendar;
use zhengqi_store::{Actor, Store};

/// How far each demo case gets, in order of the steps below.
#[derive(Clone, Copy)]
enum Stage {
    Submitted,
    Accepted,
    Correction,
    Approved,
    Issued,
    Rejected,
    Withdrawn,
}

fn parts_of(items: &[&ServiceItem]) -> Vec<NewPart> {
    let mut by_dept: BTreeMap<&str, (Vec<&str>, u32)> = BTreeMap::new();
    for i in items {
        let e = by_dept.entry(&i.department).or_default();
        e.0.push(&i.code);
        e.1 = e.1.max(i.promised_days);
    }
    by_dept
        .into_iter()
        .map(|(d, (codes, days))| NewPart {
            item_code: codes.join("+"),
            department: d.to_owned(),
            promised_days: days,
        })
        .collect()
}

/// The working day `n` working days before `today` (so that
/// `add_workdays(result, n)` is `today`, or the last working day before it).
fn workdays_before(cal: &WorkCalendar, today: NaiveDate, n: i64) -> anyhow::Result<NaiveDate> {
    let mut d = today;
    // On a weekend or holiday count from the last working day, so that
    // "N working days ago" leaves the same time as on that working day.
    while !cal.is_workday(d)? {
        d = d
            .pred_opt()
            .ok_or_else(|| anyhow::anyhow!("日期超出范围"))?;
    }
    let mut left = n;
    while left > 0 {
        d = d
            .pred_opt()
            .ok_or_else(|| anyhow::anyhow!("日期超出范围"))?;
        if cal.is_workday(d)? {
            left -= 1;
        }
    }
    Ok(d)
}

/// Cases timed against today for the scheduler to act on at `serve` start:
/// parts past their deadline and at ≥ 80% of their time, and 容缺 materials
/// two working days before and one past their supplement deadline. Returns
/// how many were stored; a calendar gap (a year not yet in the holiday
/// data) skips them with a message.
async fn seed_deadline_cases(
    store: &Store,
    applicants: &[String],
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let cat = Catalogue::zhuhai();
    let cal = WorkCalendar::official();
    let actor = Actor::system("演示数据");
    let today = local_day(now);
    // A combined matter with a tolerable material.
    let Some((code, items)) = cat
        .combined_matters
        .iter()
        .map(|m| (m.code.clone(), m.service_items(&cat)))
        .find(|(_, items)| {
            items
                .iter()
                .any(|i| i.materials.iter().any(|m| m.tolerable))
        })
    else {
        return Ok(0);
    };
    let parts = parts_of(&items);
    let promised = parts
        .iter()
        .map(|p| i64::from(p.promised_days))
        .min()
        .unwrap_or(1);
    let all: Vec<_> = items.iter().flat_map(|i| i.materials.iter()).collect();
    let missing = all.iter().find(|m| m.tolerable).map(|m| m.key.clone());
    let provided = all
        .iter()
        .map(|m| m.key.clone())
        .filter(|key| Some(key) != missing.as_ref())
        .collect();
    let tolerated: Vec<NewPendingMaterial> =
        match zhengqi_domain::approval::catalogue::check_acceptance(&items, &provided, true, false)
        {
            AcceptanceDecision::AcceptWithTolerance { missing } => missing
                .iter()
                .map(|m| NewPendingMaterial {
                    key: m.key.clone(),
                    name: m.name.clone(),
                    supplement_days: m.supplement_days,
                    on_overdue: m.on_overdue,
                })
                .collect(),
            _ => vec![],
        };
    let supp = tolerated
        .iter()
        .map(|m| i64::from(m.supplement_days))
        .min()
        .unwrap_or(1);
    // (label, working days since acceptance, with the 容缺 material missing)
    let plans = [
        ("超期", promised + 2, false),
        // ≥ 80% used: used = promised − ⌊promised/5⌋.
        ("临近时限", promised - promised / 5, false),
        ("容缺材料临近补正期限", (supp - 2).max(0), true),
        ("容缺材料已过补正期限", supp + 1, true),
    ];
    let mut n = 0;
    for (k, (label, days, with_tolerance)) in plans.iter().enumerate() {
        let accepted = match workdays_before(&cal, today, *days) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("演示办件（{label}）未生成：{e}");
                continue;
            }
        };
        // Accepted at 10:00 Beijing time, submitted the day before.
        let Some(accept_at) = accepted.and_hms_opt(2, 0, 0).map(|t| t.and_utc()) else {
            continue;
        };
        let accept_at = accept_at.min(now);
        let submit_at = accept_at - Duration::days(1);
        let id = format!("ZQDEMO9{:03}", k + 1);
        let applicant = &applicants[k % applicants.len().max(1)];
        let case = match Case::submit(
            &id,
            applicant,
            &code,
            &format!("demo-deadline-{k}"),
            parts.clone(),
            if *with_tolerance {
                tolerated.clone()
            } else {
                vec![]
            },
            true,
            submit_at,
            &cal,
        ) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("演示办件 {id}（{label}）未生成：{e}");
                continue;
            }
        };
        store.submit_case(&case, &actor).await?;
        for p in &parts {
            let ev = Event::Accept {
                department: p.department.clone(),
            };
            if let Err(e) = store
                .apply_case_event(&id, &ev, &actor, accept_at, &cal)
                .await
            {
                eprintln!("演示办件 {id}（{label}）：{e}");
                break;
            }
        }
        n += 1;
    }
    Ok(n)
}

/// Seeds the cases; returns how many were stored.
pub async fn seed(
    store: &Store,
    applicants: &[String],
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let cat = Catalogue::zhuhai();
    let cal = WorkCalendar::official();
    let actor = Actor::system("演示数据");
    let mut matters: Vec<(String, Vec<&ServiceItem>)> = cat
        .combined_matters
        .iter()
        .map(|m| (m.code.clone(), m.service_items(&cat)))
        .collect();
    matters.extend(
        cat.items
            .iter()
            .filter(|i| i.is_licence())
            .take(6)
            .map(|i| (i.code.clone(), vec![i])),
    );
    let stages = [
        Stage::Submitted,
        Stage::Accepted,
        Stage::Correction,
        Stage::Approved,
        Stage::Issued,
        Stage::Accepted,
        Stage::Rejected,
        Stage::Withdrawn,
    ];
    let mut n = 0;
    for (k, (code, items)) in matters.iter().enumerate() {
        let Some(applicant) = applicants.get(k % applicants.len().max(1)) else {
            break;
        };
        let stage = stages[k % stages.len()];
        // Older cases first, so some are near or past their deadline.
        let start = now - Duration::days(24 - 2 * k as i64);
        // Leave the first tolerable material out, with a signed commitment.
        let all: Vec<_> = items.iter().flat_map(|i| i.materials.iter()).collect();
        let missing = all.iter().find(|m| m.tolerable).map(|m| m.key.clone());
        let provided = all
            .iter()
            .map(|m| m.key.clone())
            .filter(|key| Some(key) != missing.as_ref())
            .collect();
        let tolerated = match zhengqi_domain::approval::catalogue::check_acceptance(
            items, &provided, true, false,
        ) {
            AcceptanceDecision::AcceptWithTolerance { missing } => missing,
            _ => vec![],
        };
        let pending = tolerated
            .iter()
            .map(|m| NewPendingMaterial {
                key: m.key.clone(),
                name: m.name.clone(),
                supplement_days: m.supplement_days,
                on_overdue: m.on_overdue,
            })
            .collect();
        let id = format!("ZQDEMO{:04}", k + 1);
        let case = match Case::submit(
            &id,
            applicant,
            code,
            &format!("demo-{k}"),
            parts_of(items),
            pending,
            true,
            start,
            &cal,
        ) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("演示办件 {id} 未生成：{e}");
                continue;
            }
        };
        store.submit_case(&case, &actor).await?;
        let depts: Vec<String> = case.parts.iter().map(|p| p.department.clone()).collect();
        let mut t = start;
        let mut step = |ev: Event| {
            t += Duration::hours(20);
            (ev, t)
        };
        let mut events = Vec::new();
        if matches!(stage, Stage::Withdrawn) {
            events.push(step(Event::Withdraw));
        }
        if !matches!(stage, Stage::Submitted | Stage::Withdrawn) {
            for d in &depts {
                events.push(step(Event::Accept {
                    department: d.clone(),
                }));
            }
        }
        if matches!(stage, Stage::Correction) {
            events.push(step(Event::RequestCorrection {
                department: depts[0].clone(),
                reason: "请补充加盖公章的申请表".into(),
            }));
        }
        if matches!(stage, Stage::Rejected) {
            events.push(step(Event::Reject {
                department: depts[0].clone(),
                reason: "选址不符合国土空间规划".into(),
            }));
        }
        if matches!(stage, Stage::Approved | Stage::Issued) {
            if let Some(key) = &missing
                && !tolerated.is_empty()
            {
                events.push(step(Event::SupplyMaterial { key: key.clone() }));
            }
            for d in &depts {
                events.push(step(Event::Approve {
                    department: d.clone(),
                    opinion: "同意".into(),
                }));
            }
        }
        if matches!(stage, Stage::Issued) {
            events.push(step(Event::Issue));
        }
        for (ev, at) in events {
            if at > now {
                break;
            }
            if let Err(e) = store.apply_case_event(&id, &ev, &actor, at, &cal).await {
                eprintln!("演示办件 {id}：{e}");
                break;
            }
        }
        n += 1;
    }
    n += seed_deadline_cases(store, applicants, now).await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// The deadline-timed demo cases give the scheduler's first pass every
    /// kind of effect, whatever the day (here a Wednesday in June 2026).
    #[tokio::test]
    async fn first_scheduler_pass_on_demo_cases_has_every_effect() {
        let store = zhengqi_store::testing::fresh_store().await.unwrap();
        let now = Utc.with_ymd_and_hms(2026, 6, 10, 2, 0, 0).unwrap();
        let applicants = vec!["91440400192548256N".to_owned()];
        assert!(seed(&store, &applicants, now).await.unwrap() >= 4);
        let r = store
            .run_schedule(now, &WorkCalendar::official(), &Actor::system("平台调度"))
            .await
            .unwrap();
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let kinds: Vec<&str> = r.reminders.iter().map(|(_, x)| x.kind()).collect();
        for k in [
            "supplement_reminder",
            "deadline_warning",
            "deadline_overdue",
        ] {
            assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
        }
        assert!(
            r.events
                .iter()
                .any(|(id, l)| id == "ZQDEMO9004" && l.contains("容缺材料逾期未补")),
            "{:?}",
            r.events
        );
    }
}
