//! Performance targets of the eligibility engine, on the synthetic base
//! (`zhengqi_eligibility::synth`): run with
//! `cargo bench -p zhengqi-eligibility`, and `RAYON_NUM_THREADS=1` for the
//! one-core figures. Prints one line per measurement.

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
    println!("build population: {:?}", t.elapsed());
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
        let (d, res) = time(if policies > 100 { 3 } else { 10 }, || rs.match_all(&pop));
        println!(
            "match_all {n} x {policies}: {:?} (compile {:?}); eligible pairs {}, undetermined pairs {}, result {:.1} MB",
            d,
            compile,
            res.eligible_pairs(),
            res.undetermined_pairs(),
            res.bytes() as f64 / 1e6
        );
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
}
