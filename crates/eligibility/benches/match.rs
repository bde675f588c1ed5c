//! Performance targets of the eligibility engine, on the synthetic base
//! (`zhengqi_eligibility::synth`): run with
//! `cargo bench -p zhengqi-eligibility`, and `RAYON_NUM_THREADS=1` for the
//! one-core figures. Prints one line per measurement (best of several
//! runs) and the process's peak resident memory; results in
//! `docs/benchmarks.md`.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use zhengqi_domain::reference::ReferenceData;
use zhengqi_eligibility::synth;
use zhengqi_eligibility::{Context, Population, RuleSet, simulate_rule};

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        last = Some(r);
    }
    (best, last.unwrap_or_else(f))
}

/// The process's peak resident memory so far (Linux), in MB.
fn peak_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let n: usize = std::env::var("ZQ_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400_000);
    let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default();
    let rd = ReferenceData::zhuhai();
    let ctx = Context {
        today,
        reference: &rd,
    };
    println!(
        "threads: {}, enterprises: {n}",
        rayon::current_num_threads()
    );
    let t = Instant::now();
    let pop = Population::build(synth::enterprises(n, 42, today, &rd), &ctx);
    println!(
        "generate and build population: {:?}; peak RSS {:.1} MB",
        t.elapsed(),
        peak_mb()
    );
    let b = pop.bytes();
    println!(
        "population bytes: total {:.1} MB (indicator columns {:.1} MB in {} columns, uscc {:.1} MB, categorical {:.1} MB, founded {:.1} MB, tags+certs {:.1} MB)",
        b.total as f64 / 1e6,
        b.indicator_columns as f64 / 1e6,
        b.indicator_column_count,
        b.uscc as f64 / 1e6,
        b.categorical as f64 / 1e6,
        b.founded as f64 / 1e6,
        b.tags_and_certs as f64 / 1e6
    );

    for policies in [20usize, 2000] {
        let rules = synth::rules(policies, 7, today);
        let t = Instant::now();
        let rs = RuleSet::new(rules.clone(), &ctx);
        let compile = t.elapsed();
        // Streaming first (nothing materialised), so the peak RSS printed
        // after it is the engine's own working set.
        let (ds, (pairs, und, total)) = time(if policies > 100 { 5 } else { 20 }, || {
            let pairs = AtomicUsize::new(0);
            let und = AtomicUsize::new(0);
            let total = AtomicI64::new(0);
            rs.match_all_with(&pop, |p| {
                pairs.fetch_add(p.eligible.len(), Ordering::Relaxed);
                und.fetch_add(p.undetermined.len(), Ordering::Relaxed);
                total.fetch_add(p.amount_total(), Ordering::Relaxed);
            });
            (pairs.into_inner(), und.into_inner(), total.into_inner())
        });
        println!(
            "match_all_with {n} x {policies}: {ds:?} (compile {compile:?}); eligible pairs {pairs}, undetermined pairs {und}, amount total {total} fen; peak RSS {:.1} MB",
            peak_mb()
        );
        let (d, res) = time(if policies > 100 { 5 } else { 20 }, || rs.match_all(&pop));
        println!(
            "match_all {n} x {policies}: {:?}; eligible pairs {}, undetermined pairs {}, result {:.1} MB",
            d,
            res.eligible_pairs(),
            res.undetermined_pairs(),
            res.bytes() as f64 / 1e6
        );
        drop(res);
        if policies == 2000 {
            // One enterprise re-matched against every policy, and explained.
            let sample: Vec<_> = synth::enterprises(200, 42, today, &rd).collect();
            let (d1, _) = time(3, || {
                for (e, ind) in &sample {
                    std::hint::black_box(rs.match_one(e, ind));
                }
            });
            println!(
                "match_one x {policies}: {:?} per enterprise",
                d1 / sample.len() as u32
            );
            let ids: Vec<i64> = rs.policy_ids().take(50).collect();
            let (d2, _) = time(3, || {
                for (e, ind) in &sample {
                    for id in &ids {
                        std::hint::black_box(rs.explain(*id, e, ind));
                    }
                }
            });
            println!(
                "explain: {:?} per explanation",
                d2 / (sample.len() * ids.len()) as u32
            );
            // The draft rule: a typical policy with an amount formula.
            let draft = rules
                .iter()
                .map(|(_, r)| r)
                .find(|r| r.amount.is_some())
                .cloned()
                .unwrap_or_else(|| rules[0].1.clone());
            let (d3, sim) = time(5, || simulate_rule(&draft, &ctx, &pop));
            println!("simulate one rule over {n}: {:?} ({})", d3, sim.summary());
        }
    }
    // USCC lookups (the index is built on the first one).
    let t = Instant::now();
    let first = pop.position(pop.uscc(n / 2));
    let d0 = t.elapsed();
    let (d, _) = time(3, || {
        (0..1000)
            .filter(|i| pop.position(pop.uscc(i * 397 % n.max(1))).is_some())
            .count()
    });
    println!(
        "position: first {d0:?} (builds the index, found {first:?}), then {:?} per lookup",
        d / 1000
    );
    // Building alone, from enterprises already in memory (as the store
    // hands them over).
    let rows: Vec<_> = synth::enterprises(n, 42, today, &rd).collect();
    let (d, p2) = time(3, || Population::build(rows.iter().cloned(), &ctx));
    let (dc, _) = time(3, || {
        let mut n = 0usize;
        for r in &rows {
            n += std::hint::black_box(r.clone()).1.len();
        }
        n
    });
    println!(
        "Population::build {n} from memory: {d:?} (of which cloning the input {dc:?}); {} rows",
        p2.len()
    );
}
