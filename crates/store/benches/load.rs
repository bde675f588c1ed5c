//! Loading the enterprise base from the database into the eligibility
//! engine (issue 4: 400,000 enterprises ≤ 3 s on SQLite), timed separately
//! from generating and inserting the data; then the one-off backfill of
//! migration 0010 on that history.
//! Run: `cargo bench -p zhengqi-store --bench load` (SQLite in a temp dir;
//! `DATABASE_URL=postgres://…` for PostgreSQL). `N` sets the base size.

use std::time::Instant;

use chrono::NaiveDate;
use zhengqi_domain::reference::ReferenceData;
use zhengqi_eligibility::{Context, Population, synth};
use zhengqi_store::testing::{
    bulk_insert_subjects, fresh_store, refill_figures_as_migrated, target,
};

/// CPU seconds (user + system, all threads) this process has used, from
/// /proc (Linux): on a shared machine wall time includes waiting for a core.
fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400_000);
    let rd = ReferenceData::zhuhai();
    let today = NaiveDate::from_ymd_opt(2026, 11, 28).expect("date");
    let store = fresh_store().await.expect("database");
    let t = Instant::now();
    let rows: Vec<_> = synth::enterprises(n, 7, today, &rd).collect();
    let indicators: usize = rows.iter().map(|r| r.1.len()).sum();
    for chunk in rows.chunks(50_000) {
        bulk_insert_subjects(&store, chunk).await.expect("insert");
    }
    println!(
        "{}: generated and inserted {n} enterprises, {indicators} indicators in {:.1} s",
        target(),
        t.elapsed().as_secs_f64()
    );
    drop(rows);
    for run in 1..=3 {
        let t = Instant::now();
        let c0 = cpu_s();
        let subjects = store.load_subjects().await.expect("load");
        let t_load = t.elapsed();
        let t = Instant::now();
        let ctx = Context {
            today,
            reference: &rd,
        };
        let pop = Population::build(subjects, &ctx);
        let t_build = t.elapsed();
        println!(
            "run {run}: read {} enterprises in {:.2} s, built the population in {:.2} s, total {:.2} s (CPU {:.2} s)",
            pop.len(),
            t_load.as_secs_f64(),
            t_build.as_secs_f64(),
            (t_load + t_build).as_secs_f64(),
            cpu_s() - c0
        );
    }
    // What upgrading a database with this history costs once: migration
    // 0010's backfill of the figures in force.
    let t = Instant::now();
    refill_figures_as_migrated(&store).await.expect("backfill");
    println!(
        "migration 0010 backfill of the figures in force: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}
