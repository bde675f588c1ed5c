//! Approval engine throughput (issue 5): complete four-department cases per
//! second through the domain and the storage layer — submit, four parallel
//! department decisions, issue — every step committed before it returns.
//! Run: `cargo bench -p zhengqi-store --bench cases` (SQLite in a temp dir);
//! with `DATABASE_URL=postgres://…` it runs on a fresh PostgreSQL database.
//! `CASES` (default 2000) and `WORKERS` (default 16) tune the load.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use zhengqi_domain::approval::case::{Case, Event, NewPart};
use zhengqi_domain::calendar::WorkCalendar;
use zhengqi_store::Actor;
use zhengqi_store::testing::fresh_store;

const DEPTS: [&str; 4] = ["SZRJ", "SZJJ", "SSTHJJ", "SFGJ"];

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let cases = env("CASES", 2000);
    let workers = env("WORKERS", 16);
    let store = fresh_store().await.expect("database");
    let cal = Arc::new(WorkCalendar::official());
    let backend = zhengqi_store::testing::target();
    let t0 = Instant::now();
    let mut handles = Vec::new();
    for w in 0..workers {
        let store = store.clone();
        let cal = cal.clone();
        handles.push(tokio::spawn(async move {
            let actor = Actor::system("bench");
            let mut lat = Vec::new();
            let at = Utc.with_ymd_and_hms(2025, 9, 30, 2, 0, 0).unwrap();
            for i in (w..cases).step_by(workers) {
                let id = format!("B{i:07}");
                let parts = DEPTS
                    .iter()
                    .map(|d| NewPart {
                        item_code: format!("XK-{d}"),
                        department: (*d).to_owned(),
                        promised_days: 5,
                    })
                    .collect();
                let t = Instant::now();
                let c = Case::submit(
                    &id,
                    "91440400192548256N",
                    "BENCH",
                    &id,
                    parts,
                    vec![],
                    false,
                    at,
                    &cal,
                )
                .unwrap();
                store.submit_case(&c, &actor).await.unwrap();
                lat.push(t.elapsed());
                // The four departments decide in parallel.
                let mut js = Vec::new();
                for d in DEPTS {
                    let (store, cal, id, actor) =
                        (store.clone(), cal.clone(), id.clone(), actor.clone());
                    js.push(tokio::spawn(async move {
                        let mut l = Vec::new();
                        for ev in [
                            Event::Accept {
                                department: d.into(),
                            },
                            Event::Approve {
                                department: d.into(),
                                opinion: "同意".into(),
                            },
                        ] {
                            let t = Instant::now();
                            store
                                .apply_case_event(&id, &ev, &actor, at, &cal)
                                .await
                                .unwrap();
                            l.push(t.elapsed());
                        }
                        l
                    }));
                }
                for j in js {
                    lat.extend(j.await.unwrap());
                }
                let t = Instant::now();
                store
                    .apply_case_event(&id, &Event::Issue, &actor, at, &cal)
                    .await
                    .unwrap();
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for h in handles {
        lat.extend(h.await.unwrap());
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{backend}: {cases} complete cases ({} durable steps) in {secs:.2} s = {:.0} cases/s, {:.0} steps/s; step latency p50 {:.2} ms, p99 {:.2} ms ({workers} workers)",
        lat.len(),
        cases as f64 / secs,
        lat.len() as f64 / secs,
        pct(&mut lat, 0.5),
        pct(&mut lat, 0.99),
    );
}
