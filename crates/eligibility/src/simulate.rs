//! The sandbox: what a (draft) rule would do over the whole base — how many
//! enterprises qualify, where they are, what it would cost, and which
//! condition rules out or leaves undecided how many enterprises.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;
use zhengqi_domain::money::Amount;
use zhengqi_domain::size::SizeClass;

use crate::ast::{Cond, Rule};
use crate::bits;
use crate::explain::describe;
use crate::population::Population;
use crate::row::{Context, RuleSet, SIZE_UNKNOWN};

/// Eligible enterprises and their amount total in one group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Breakdown {
    /// Area code, size label or industry section letter.
    pub key: String,
    pub name: String,
    pub eligible: usize,
    /// 分, known amounts only.
    pub amount_total: i64,
}

/// Eligible enterprises by amount band.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AmountBand {
    pub label: String,
    /// 分, inclusive.
    pub from: i64,
    /// 分, exclusive; `None` = no upper bound.
    pub to: Option<i64>,
    pub count: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AmountStats {
    /// 分, saturating.
    pub total: i64,
    /// Eligible enterprises with a computed amount / without one.
    pub known: usize,
    pub unknown: usize,
    pub min: Option<i64>,
    /// The lower median.
    pub median: Option<i64>,
    pub max: Option<i64>,
    pub bands: Vec<AmountBand>,
}

/// One top-level condition's effect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConditionImpact {
    pub text: String,
    /// Enterprises for which this condition is false.
    pub not_met: usize,
    /// …of which it is the only false condition: dropping it would let them
    /// through (eligible or undetermined).
    pub sole_blocker: usize,
    /// Enterprises for which it cannot be decided.
    pub unknown: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Simulation {
    pub total: usize,
    pub eligible: usize,
    pub undetermined: usize,
    pub not_eligible: usize,
    pub by_area: Vec<Breakdown>,
    pub by_size: Vec<Breakdown>,
    pub by_section: Vec<Breakdown>,
    pub amount: AmountStats,
    pub conditions: Vec<ConditionImpact>,
}

/// Band edges in 万元.
const BANDS_WAN: [i64; 7] = [0, 1, 5, 10, 50, 100, 500];

fn band_label(from: i64, to: Option<i64>) -> String {
    match (from, to) {
        (0, Some(t)) => format!("{t}万元以下"),
        (f, Some(t)) => format!("{f}万–{t}万元"),
        (f, None) => format!("{f}万元及以上"),
    }
}

impl RuleSet {
    /// Simulates one of the set's policies; `None` for an unknown id.
    pub fn simulate(&self, id: i64, pop: &Population) -> Option<Simulation> {
        let rule = self.rule(id)?;
        let ctx = Context {
            today: self.today,
            reference: &self.reference,
        };
        Some(simulate_rule(rule, &ctx, pop))
    }
}

/// Simulates a standalone (draft) rule over the population.
pub fn simulate_rule(rule: &Rule, ctx: &Context<'_>, pop: &Population) -> Simulation {
    let parts: Vec<Cond> = match &rule.condition {
        Cond::And { all } => all.clone(),
        c => vec![c.clone()],
    };
    // Each top-level part as its own policy: hash-consing makes them the
    // nodes of the rule, and each is evaluated over every row.
    let rs = RuleSet::new(
        parts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    i as i64,
                    Rule {
                        condition: c.clone(),
                        amount: None,
                    },
                )
            })
            .collect(),
        ctx,
    );
    let cache = rs.shared_cache(pop, None);
    let ev = rs.eval_ctx(pop, &cache);
    let all = bits::ones(pop.len());
    let results: Vec<_> = rs.dag.roots.par_iter().map(|&r| ev.node(r, &all)).collect();

    // Kleene And over the parts, and which parts are false where.
    let mut alive = all.clone();
    let mut all_true = all.clone();
    let mut once = vec![0u64; all.len()];
    let mut twice = vec![0u64; all.len()];
    let falses: Vec<Vec<u64>> = results
        .iter()
        .map(|r| {
            all.iter()
                .zip(r.t.iter().zip(&r.u))
                .map(|(a, (t, u))| a & !t & !u)
                .collect()
        })
        .collect();
    for (r, f) in results.iter().zip(&falses) {
        for w in 0..all.len() {
            alive[w] &= r.t[w] | r.u[w];
            all_true[w] &= r.t[w];
            twice[w] |= once[w] & f[w];
            once[w] |= f[w];
        }
    }
    let t: Vec<u64> = all_true.iter().zip(&alive).map(|(t, a)| t & a).collect();
    let u: Vec<u64> = alive.iter().zip(&t).map(|(a, t)| a & !t).collect();
    let exactly_one: Vec<u64> = once.iter().zip(&twice).map(|(o, t)| o & !t).collect();
    let conditions = parts
        .iter()
        .zip(results.iter().zip(&falses))
        .map(|(c, (r, f))| ConditionImpact {
            text: describe(c, ctx),
            not_met: bits::count(f),
            sole_blocker: f
                .iter()
                .zip(&exactly_one)
                .map(|(f, e)| (f & e).count_ones() as usize)
                .sum(),
            unknown: bits::count(&r.u),
        })
        .collect();

    let eligible_rows = bits::rows(&t);
    let amounts: Vec<i64> = match &rule.amount {
        Some(a) => {
            let c = crate::row::Compiler {
                today: ctx.today,
                year0: chrono::Datelike::year(&ctx.today),
            };
            ev.amounts(&c.expr(a), &eligible_rows)
        }
        None => Vec::new(),
    };
    let amount_of = |i: usize| amounts.get(i).copied().filter(|&a| a != i64::MIN);

    let mut by_area: BTreeMap<u32, (usize, i64)> = BTreeMap::new();
    let mut by_size: BTreeMap<u8, (usize, i64)> = BTreeMap::new();
    let mut by_section: BTreeMap<Option<String>, (usize, i64)> = BTreeMap::new();
    let mut known: Vec<i64> = Vec::with_capacity(amounts.len());
    for (i, &row) in eligible_rows.iter().enumerate() {
        let row = row as usize;
        let a = amount_of(i);
        if let Some(a) = a {
            known.push(a);
        }
        let add = |e: &mut (usize, i64)| {
            e.0 += 1;
            e.1 = e.1.saturating_add(a.unwrap_or(0));
        };
        add(by_area.entry(pop.area.ids[row]).or_default());
        add(by_size.entry(pop.size[row]).or_default());
        let sec = &pop.industry.facts[pop.industry.ids[row] as usize].section;
        add(by_section.entry(sec.clone()).or_default());
    }
    let rd = ctx.reference;
    let by_area = by_area
        .into_iter()
        .map(|(id, (n, amt))| {
            let code = pop.area.values[id as usize].clone();
            Breakdown {
                name: rd
                    .area(&code)
                    .map_or_else(|| code.clone(), |a| a.name.clone()),
                key: code,
                eligible: n,
                amount_total: amt,
            }
        })
        .collect();
    let by_size = by_size
        .into_iter()
        .map(|(code, (n, amt))| {
            let label = if code == SIZE_UNKNOWN {
                "未划型"
            } else {
                SizeClass::ALL
                    .into_iter()
                    .find(|s| crate::row::size_code(*s) == code)
                    .map_or("未划型", SizeClass::label)
            };
            Breakdown {
                key: label.into(),
                name: label.into(),
                eligible: n,
                amount_total: amt,
            }
        })
        .collect();
    let by_section = by_section
        .into_iter()
        .map(|(sec, (n, amt))| Breakdown {
            name: sec
                .as_deref()
                .and_then(|s| rd.industry(s))
                .map_or_else(|| "未知行业".into(), |i| i.name.clone()),
            key: sec.unwrap_or_default(),
            eligible: n,
            amount_total: amt,
        })
        .collect();

    known.sort_unstable();
    let mut bands: Vec<AmountBand> = BANDS_WAN
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            let to = BANDS_WAN.get(i + 1).copied();
            AmountBand {
                label: band_label(w, to),
                from: w * 1_000_000,
                to: to.map(|t| t * 1_000_000),
                count: 0,
            }
        })
        .collect();
    for &a in &known {
        if let Some(b) = bands.iter_mut().rev().find(|b| a >= b.from) {
            b.count += 1;
        }
    }
    let amount = AmountStats {
        total: known.iter().fold(0i64, |s, &a| s.saturating_add(a)),
        known: known.len(),
        unknown: if rule.amount.is_some() {
            eligible_rows.len() - known.len()
        } else {
            0
        },
        min: known.first().copied(),
        median: (!known.is_empty()).then(|| known[(known.len() - 1) / 2]),
        max: known.last().copied(),
        bands,
    };
    let eligible = eligible_rows.len();
    let undetermined = bits::count(&u);
    Simulation {
        total: pop.len(),
        eligible,
        undetermined,
        not_eligible: pop.len() - eligible - undetermined,
        by_area,
        by_size,
        by_section,
        amount,
        conditions,
    }
}

impl Simulation {
    /// One line for a list: "符合 1,234 家，无法判断 56 家，预计兑现 1,850万元".
    pub fn summary(&self) -> String {
        format!(
            "符合 {} 家，无法判断 {} 家，不符合 {} 家，预计兑现 {}",
            self.eligible,
            self.undetermined,
            self.not_eligible,
            Amount::from_fen(self.amount.total)
        )
    }
}
