//! Demo approval cases: combined matters and single items submitted by demo
//! enterprises over the last weeks, in every state — waiting for
//! acceptance, in review, awaiting correction, owing a 容缺 material, near
//! or past their deadline, issued, rejected, withdrawn — so the queues,
//! deadlines and timelines have something to show.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use zhengqi_domain::approval::case::{Case, Event, NewPart, NewPendingMaterial};
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
    Ok(n)
}
