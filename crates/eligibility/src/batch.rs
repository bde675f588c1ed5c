//! The columnar batch evaluator: every policy over a whole [`Population`].
//!
//! Rules are hash-consed into one DAG when the [`RuleSet`] is compiled, so a
//! sub-condition written in many policies (企业规模 属于 [中型, 小型], 区域
//! 属于 [珠海市]) is one node. A three-valued result is two row bitmaps
//! (true, unknown; false is what is left). `match_all`:
//!
//! 1. evaluates the *shared* cheap nodes (categorical sets, and simple
//!    thresholds used by several policies) once over every row, level by
//!    level in parallel;
//! 2. evaluates each distinct policy root in parallel. `And` narrows the
//!    rows still alive (not yet false) child by child, cheapest first, and
//!    later children only look at alive rows: when few remain, leaves visit
//!    just those rows instead of scanning the column;
//! 3. computes amounts on the eligible rows only, column-wise.
//!
//! Threshold comparisons on integer columns are integer range checks whose
//! bounds come from the exact rational literal (floor/ceil); everything else
//! runs the same [`Q`] operations as the row evaluator, per element, so the
//! two evaluators agree exactly (tests/equivalence.rs).

use std::collections::HashMap;

use chrono::Datelike;
use rayon::prelude::*;
use serde::{Serialize, Serializer};
use zhengqi_domain::enterprise::IndicatorKind;

use crate::ast::CmpOp;
use crate::bits;
use crate::exact::{NO_DATE, Q, age_years, int_range};
use crate::population::{Column, Population};
use crate::row::{
    CCond, CExpr, IndustryPat, Policy, RuleSet, SIZE_UNKNOWN, TierPick, Verdict, aggregate, arith,
    compare, growth, tier_index,
};

/// A source of integer values a threshold can be checked against directly.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Src {
    Ind(IndicatorKind, i32),
    /// Sum over `n ≥ 1` years ending at `to`.
    Sum(IndicatorKind, i32, u8),
    Age,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Leaf {
    Size(u8),
    Area(Vec<String>),
    Industry(Vec<IndustryPat>),
    Tag(String),
    Cert(String),
    Const(bool),
    /// `src ∈ [lo, hi]` (or ∉ when `neg`), unknown when `src` is missing.
    Range {
        src: Src,
        lo: i128,
        hi: i128,
        neg: bool,
    },
    Cmp(CmpOp, CExpr, CExpr),
}

impl Leaf {
    fn categorical(&self) -> bool {
        !matches!(self, Leaf::Range { .. } | Leaf::Cmp(..))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Node {
    And(Vec<usize>),
    Or(Vec<usize>),
    Not(usize),
    Leaf(Leaf),
}

/// The hash-consed conditions of a rule set. Children always have smaller
/// ids than their parents.
pub(crate) struct Dag {
    pub nodes: Vec<Node>,
    /// Root node per policy (policy order).
    pub roots: Vec<usize>,
    /// Evaluated once over all rows in step 1.
    pub shared: Vec<bool>,
    /// Longest path to a leaf; shared nodes are evaluated by increasing height.
    pub height: Vec<u32>,
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Ge => CmpOp::Le,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Lt => CmpOp::Gt,
        o => o,
    }
}

/// `src op lit` as an integer range when the source is integer-valued.
fn range_leaf(op: CmpOp, l: &CExpr, r: &CExpr) -> Option<Leaf> {
    let (op, e, lit) = match (l, r) {
        (e, CExpr::Lit(q)) => (op, e, *q),
        (CExpr::Lit(q), e) => (flip(op), e, *q),
        _ => return None,
    };
    if !lit.known() {
        return None;
    }
    let (src, lit) = match e {
        CExpr::Ind(k, y) => (Src::Ind(*k, *y), lit),
        CExpr::Age => (Src::Age, lit),
        CExpr::Agg { kind, avg, to, n } if *n > 0 => {
            // avg = sum / n exactly, so avg op x ⇔ sum op x·n.
            let lit = if *avg {
                lit.mul(Q::int(i64::from(*n)))
            } else {
                lit
            };
            if !lit.known() {
                return None;
            }
            (Src::Sum(*kind, *to, *n), lit)
        }
        _ => return None,
    };
    let (lo, hi, neg) = int_range(op, lit);
    Some(Leaf::Range { src, lo, hi, neg })
}

impl Dag {
    pub fn build(policies: &[Policy]) -> Dag {
        let mut b = Builder {
            nodes: Vec::new(),
            index: HashMap::new(),
        };
        let roots: Vec<usize> = policies.iter().map(|p| b.intern(&p.cond)).collect();
        let nodes = b.nodes;
        let n = nodes.len();
        let mut refs = vec![0u32; n];
        let mut height = vec![0u32; n];
        let mut cheap = vec![false; n];
        let mut categorical = vec![false; n];
        for (i, node) in nodes.iter().enumerate() {
            let kids: &[usize] = match node {
                Node::And(c) | Node::Or(c) => c,
                Node::Not(c) => std::slice::from_ref(c),
                Node::Leaf(l) => {
                    categorical[i] = l.categorical();
                    cheap[i] = !matches!(l, Leaf::Cmp(..));
                    continue;
                }
            };
            for &k in kids {
                refs[k] += 1;
            }
            height[i] = 1 + kids.iter().map(|&k| height[k]).max().unwrap_or(0);
            categorical[i] = kids.iter().all(|&k| categorical[k]);
            cheap[i] = kids.iter().all(|&k| cheap[k]);
        }
        for &r in &roots {
            refs[r] += 1;
        }
        // Sharing pays when one full scan replaces several visits of alive
        // rows: always for bitmap-backed categorical sets, from four uses
        // for threshold scans (a full scan costs about as much as visiting
        // the alive rows of several policies).
        let shared: Vec<bool> = (0..n)
            .map(|i| (refs[i] >= 2 && categorical[i]) || (refs[i] >= 4 && cheap[i]))
            .collect();
        let class = |i: usize| -> u8 {
            if shared[i] {
                0
            } else {
                match &nodes[i] {
                    Node::Leaf(l) if l.categorical() => 1,
                    Node::Leaf(Leaf::Range { .. }) => 2,
                    _ => 3,
                }
            }
        };
        let classes: Vec<u8> = (0..n).map(class).collect();
        let mut nodes = nodes;
        // Cheapest and most selective first: Kleene And/Or do not depend on
        // the order of their parts, only the work does.
        for node in &mut nodes {
            if let Node::And(c) | Node::Or(c) = node {
                c.sort_by_key(|&k| classes[k]);
            }
        }
        Dag {
            nodes,
            roots,
            shared,
            height,
        }
    }
}

struct Builder {
    nodes: Vec<Node>,
    index: HashMap<Node, usize>,
}

impl Builder {
    fn intern(&mut self, c: &CCond) -> usize {
        let node = match c {
            CCond::And(all) => Node::And(all.iter().map(|x| self.intern(x)).collect()),
            CCond::Or(any) => Node::Or(any.iter().map(|x| self.intern(x)).collect()),
            CCond::Not(x) => Node::Not(self.intern(x)),
            CCond::Size(m) => Node::Leaf(Leaf::Size(*m)),
            CCond::Area(a) => Node::Leaf(Leaf::Area(a.clone())),
            CCond::Industry(p) => Node::Leaf(Leaf::Industry(p.clone())),
            CCond::Tag(t) => Node::Leaf(Leaf::Tag(t.clone())),
            CCond::Cert(n) => Node::Leaf(Leaf::Cert(n.clone())),
            CCond::Const(b) => Node::Leaf(Leaf::Const(*b)),
            CCond::Cmp(op, l, r) => Node::Leaf(
                range_leaf(*op, l, r).unwrap_or_else(|| Leaf::Cmp(*op, l.clone(), r.clone())),
            ),
        };
        if let Some(&id) = self.index.get(&node) {
            return id;
        }
        let id = self.nodes.len();
        self.nodes.push(node.clone());
        self.index.insert(node, id);
        id
    }
}

/// A three-valued result over rows: `t` true, `u` unknown, else false.
pub(crate) struct Tri3 {
    pub t: Vec<u64>,
    pub u: Vec<u64>,
}

/// Amount of an eligible row whose formula could not be computed.
const NO_AMOUNT: i64 = i64::MIN;

fn ser_amounts<S: Serializer>(a: &[i64], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(a.iter().map(|&x| (x != NO_AMOUNT).then_some(x)))
}

/// One policy's result over a population: rows (ascending) that are
/// eligible, with their amounts, and rows that are undetermined. Rows in
/// neither list are not eligible.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyMatch {
    pub policy: i64,
    pub eligible: Vec<u32>,
    /// Aligned with `eligible`; empty when the rule has no amount formula.
    #[serde(serialize_with = "ser_amounts")]
    amounts: Vec<i64>,
    pub undetermined: Vec<u32>,
}

impl PolicyMatch {
    /// Amount (分) of the `i`-th eligible row.
    pub fn amount(&self, i: usize) -> Option<i64> {
        self.amounts.get(i).copied().filter(|&a| a != NO_AMOUNT)
    }

    pub fn eligible_count(&self) -> usize {
        self.eligible.len()
    }

    pub fn undetermined_count(&self) -> usize {
        self.undetermined.len()
    }

    /// Sum of the known amounts (saturating).
    pub fn amount_total(&self) -> i64 {
        self.amounts
            .iter()
            .filter(|&&a| a != NO_AMOUNT)
            .fold(0i64, |s, &a| s.saturating_add(a))
    }

    /// The verdict and amount of one row.
    pub fn outcome(&self, row: u32) -> (Verdict, Option<i64>) {
        if let Ok(i) = self.eligible.binary_search(&row) {
            (Verdict::Eligible, self.amount(i))
        } else if self.undetermined.binary_search(&row).is_ok() {
            (Verdict::Undetermined, None)
        } else {
            (Verdict::NotEligible, None)
        }
    }
}

/// One line of a match: who, which policy, the verdict, the amount.
#[derive(Clone, Debug, Serialize)]
pub struct MatchRow<'a> {
    pub uscc: &'a str,
    pub row: u32,
    pub policy: i64,
    pub verdict: Verdict,
    pub amount: Option<i64>,
}

/// Every policy's result over a population, in policy order.
#[derive(Clone, Debug, Serialize)]
pub struct MatchResult {
    pub rows: usize,
    pub policies: Vec<PolicyMatch>,
}

impl MatchResult {
    pub fn policy(&self, id: i64) -> Option<&PolicyMatch> {
        self.policies.iter().find(|p| p.policy == id)
    }

    pub fn eligible_pairs(&self) -> usize {
        self.policies.iter().map(|p| p.eligible.len()).sum()
    }

    pub fn undetermined_pairs(&self) -> usize {
        self.policies.iter().map(|p| p.undetermined.len()).sum()
    }

    /// Eligible and undetermined (enterprise, policy) pairs, policy by
    /// policy; not-eligible pairs are left out (they are the rest).
    pub fn iter<'a>(&'a self, pop: &'a Population) -> impl Iterator<Item = MatchRow<'a>> + 'a {
        self.policies.iter().flat_map(move |p| {
            let elig = p.eligible.iter().enumerate().map(move |(i, &r)| MatchRow {
                uscc: pop.uscc(r as usize),
                row: r,
                policy: p.policy,
                verdict: Verdict::Eligible,
                amount: p.amount(i),
            });
            let und = p.undetermined.iter().map(move |&r| MatchRow {
                uscc: pop.uscc(r as usize),
                row: r,
                policy: p.policy,
                verdict: Verdict::Undetermined,
                amount: None,
            });
            elig.chain(und)
        })
    }

    /// Bytes held by the result lists.
    pub fn bytes(&self) -> usize {
        self.policies
            .iter()
            .map(|p| (p.eligible.len() + p.undetermined.len()) * 4 + p.amounts.len() * 8 + 80)
            .sum()
    }
}

/// Evaluation of DAG nodes over one population.
pub(crate) struct Eval<'a> {
    pub pop: &'a Population,
    pub dag: &'a Dag,
    pub cache: &'a [Option<Tri3>],
    pub today_packed: i32,
    pub today_days: i32,
    pub n: usize,
}

impl Eval<'_> {
    /// Bits outside `care` are zero in the result.
    pub fn node(&self, id: usize, care: &[u64]) -> Tri3 {
        if let Some(c) = &self.cache[id] {
            return Tri3 {
                t: and(&c.t, care),
                u: and(&c.u, care),
            };
        }
        match &self.dag.nodes[id] {
            Node::And(kids) => {
                let mut alive = care.to_vec();
                let mut all_true = care.to_vec();
                for &k in kids {
                    if bits::is_empty(&alive) {
                        break;
                    }
                    let owned;
                    let r = match &self.cache[k] {
                        Some(c) => c,
                        None => {
                            owned = self.node(k, &alive);
                            &owned
                        }
                    };
                    for ((a, t), (rt, ru)) in alive
                        .iter_mut()
                        .zip(all_true.iter_mut())
                        .zip(r.t.iter().zip(&r.u))
                    {
                        *a &= rt | ru;
                        *t &= rt;
                    }
                }
                // Rows never ruled out: all parts true, or some unknown.
                let t = and(&all_true, &alive);
                let u = alive.iter().zip(&t).map(|(a, t)| a & !t).collect();
                Tri3 { t, u }
            }
            Node::Or(kids) => {
                let mut alive = care.to_vec(); // not yet true
                let mut t = vec![0u64; care.len()];
                let mut u = vec![0u64; care.len()];
                for &k in kids {
                    if bits::is_empty(&alive) {
                        break;
                    }
                    let owned;
                    let r = match &self.cache[k] {
                        Some(c) => c,
                        None => {
                            owned = self.node(k, &alive);
                            &owned
                        }
                    };
                    for (((a, t), u), (rt, ru)) in alive
                        .iter_mut()
                        .zip(t.iter_mut())
                        .zip(u.iter_mut())
                        .zip(r.t.iter().zip(&r.u))
                    {
                        *t |= rt & *a;
                        *u |= ru & *a;
                        *a &= !rt;
                    }
                }
                let u = u.iter().zip(&alive).map(|(u, a)| u & a).collect();
                Tri3 { t, u }
            }
            Node::Not(k) => {
                let r = self.node(*k, care);
                let t = care
                    .iter()
                    .zip(r.t.iter().zip(&r.u))
                    .map(|(c, (t, u))| c & !t & !u)
                    .collect();
                Tri3 { t, u: r.u }
            }
            Node::Leaf(l) => self.leaf(l, care),
        }
    }

    fn sparse(&self, care: &[u64]) -> bool {
        bits::count(care) * 4 < self.n
    }

    fn leaf(&self, l: &Leaf, care: &[u64]) -> Tri3 {
        let pop = self.pop;
        let zeros = || vec![0u64; care.len()];
        match l {
            Leaf::Const(b) => Tri3 {
                t: if *b { care.to_vec() } else { zeros() },
                u: zeros(),
            },
            Leaf::Size(mask) => {
                let bm = &pop.size_bitmaps;
                let lut: Vec<bool> = (0..5u8)
                    .map(|c| c != SIZE_UNKNOWN && mask & (1 << c) != 0)
                    .collect();
                Tri3 {
                    t: self.by_lut_bitmaps(&lut, bm, care),
                    u: and(&bm[SIZE_UNKNOWN as usize], care),
                }
            }
            Leaf::Area(codes) => {
                let d = &pop.area;
                let lut: Vec<bool> = d
                    .facts
                    .iter()
                    .map(|chain| codes.iter().any(|c| chain.contains(c)))
                    .collect();
                Tri3 {
                    t: self.by_dict(&lut, &d.ids, d.bitmaps.as_deref(), care),
                    u: zeros(),
                }
            }
            Leaf::Industry(pats) => {
                let d = &pop.industry;
                let lut: Vec<bool> = d
                    .facts
                    .iter()
                    .map(|f| pats.iter().any(|p| p.matches(f)))
                    .collect();
                Tri3 {
                    t: self.by_dict(&lut, &d.ids, d.bitmaps.as_deref(), care),
                    u: zeros(),
                }
            }
            Leaf::Tag(tag) => {
                let mut t = zeros();
                for &r in pop.tags.get(tag).unwrap_or(&[]) {
                    if bits::get(care, r as usize) {
                        bits::set(&mut t, r as usize);
                    }
                }
                Tri3 { t, u: zeros() }
            }
            Leaf::Cert(name) => {
                let mut t = zeros();
                let day = self.today_days;
                for c in pop.certs.get(name).unwrap_or(&[]) {
                    if c.from <= day && day <= c.to && bits::get(care, c.row as usize) {
                        bits::set(&mut t, c.row as usize);
                    }
                }
                Tri3 { t, u: zeros() }
            }
            Leaf::Range { src, lo, hi, neg } => self.range(src, *lo, *hi, *neg, care),
            Leaf::Cmp(op, l, r) => {
                let rows = bits::rows(care);
                let a = self.vexpr(l, &rows);
                let b = self.vexpr(r, &rows);
                let mut t = zeros();
                let mut u = zeros();
                for ((&row, x), y) in rows.iter().zip(a).zip(b) {
                    match compare(*op, x, y) {
                        crate::row::Tri::True => bits::set(&mut t, row as usize),
                        crate::row::Tri::Unknown => bits::set(&mut u, row as usize),
                        crate::row::Tri::False => {}
                    }
                }
                Tri3 { t, u }
            }
        }
    }

    /// OR of the per-value bitmaps the lookup table accepts, within care.
    fn by_lut_bitmaps(&self, lut: &[bool], bm: &[Vec<u64>], care: &[u64]) -> Vec<u64> {
        let mut t = vec![0u64; care.len()];
        for (ok, b) in lut.iter().zip(bm) {
            if *ok {
                for (x, y) in t.iter_mut().zip(b) {
                    *x |= y;
                }
            }
        }
        for (x, c) in t.iter_mut().zip(care) {
            *x &= c;
        }
        t
    }

    fn by_dict(
        &self,
        lut: &[bool],
        ids: &[u32],
        bitmaps: Option<&[Vec<u64>]>,
        care: &[u64],
    ) -> Vec<u64> {
        if !self.sparse(care)
            && let Some(bm) = bitmaps
        {
            return self.by_lut_bitmaps(lut, bm, care);
        }
        let mut t = vec![0u64; care.len()];
        bits::for_each(care, |r| {
            if lut[ids[r] as usize] {
                bits::set(&mut t, r);
            }
        });
        t
    }

    fn range(&self, src: &Src, lo: i128, hi: i128, neg: bool, care: &[u64]) -> Tri3 {
        let mut t = vec![0u64; care.len()];
        let mut u = vec![0u64; care.len()];
        let accept = |v: i128| (lo <= v && v <= hi) != neg;
        match src {
            Src::Ind(k, y) => {
                let Some(col) = self.pop.columns.get(&(*k, *y)) else {
                    return Tri3 {
                        t,
                        u: care.to_vec(),
                    };
                };
                if self.sparse(care) {
                    bits::for_each(care, |r| {
                        if !bits::get(&col.valid, r) {
                            bits::set(&mut u, r);
                        } else if accept(i128::from(col.values[r])) {
                            bits::set(&mut t, r);
                        }
                    });
                } else {
                    dense_range(col, lo, hi, neg, care, &mut t, &mut u);
                }
            }
            Src::Age => {
                let tp = self.today_packed;
                bits::for_each(care, |r| {
                    let f = self.pop.founded[r];
                    if f == NO_DATE {
                        bits::set(&mut u, r);
                    } else if accept(i128::from(tp - f).div_euclid(512)) {
                        bits::set(&mut t, r);
                    }
                });
            }
            Src::Sum(k, to, n) => {
                let cols: Vec<Option<&Column>> = (0..i32::from(*n))
                    .map(|i| self.pop.columns.get(&(*k, to - i)))
                    .collect();
                bits::for_each(care, |r| {
                    let mut sum: i128 = 0;
                    for c in &cols {
                        match c.and_then(|c| c.get(r)) {
                            Some(v) => sum += i128::from(v),
                            None => {
                                bits::set(&mut u, r);
                                return;
                            }
                        }
                    }
                    if accept(sum) {
                        bits::set(&mut t, r);
                    }
                });
            }
        }
        Tri3 { t, u }
    }

    /// An expression for each of `rows`, column-wise, with the row
    /// evaluator's operations in the row evaluator's order.
    pub fn vexpr(&self, e: &CExpr, rows: &[u32]) -> Vec<Q> {
        let pop = self.pop;
        match e {
            CExpr::Lit(q) => vec![*q; rows.len()],
            CExpr::Ind(k, y) => match pop.columns.get(&(*k, *y)) {
                Some(c) => rows.iter().map(|&r| Q::opt(c.get(r as usize))).collect(),
                None => vec![Q::UNKNOWN; rows.len()],
            },
            CExpr::Agg { kind, avg, to, n } => {
                let cols: Vec<Option<&Column>> = (0..i32::from(*n))
                    .map(|i| pop.columns.get(&(*kind, to - i)))
                    .collect();
                rows.iter()
                    .map(|&r| {
                        aggregate(
                            *avg,
                            *n,
                            cols.iter().map(|c| c.and_then(|c| c.get(r as usize))),
                        )
                    })
                    .collect()
            }
            CExpr::Growth(k, y) => {
                let now = pop.columns.get(&(*k, *y));
                let before = pop.columns.get(&(*k, y - 1));
                rows.iter()
                    .map(|&r| {
                        let r = r as usize;
                        growth(now.and_then(|c| c.get(r)), before.and_then(|c| c.get(r)))
                    })
                    .collect()
            }
            CExpr::Age => rows
                .iter()
                .map(|&r| age_years(self.today_packed, pop.founded[r as usize]))
                .collect(),
            CExpr::Arith(op, l, r) => {
                let mut a = self.vexpr(l, rows);
                let b = self.vexpr(r, rows);
                for (x, y) in a.iter_mut().zip(b) {
                    *x = arith(*op, *x, y);
                }
                a
            }
            CExpr::Min(args) | CExpr::Max(args) => {
                let op: fn(Q, Q) -> Q = if matches!(e, CExpr::Min(_)) {
                    Q::min
                } else {
                    Q::max
                };
                let Some((first, rest)) = args.split_first() else {
                    return vec![Q::UNKNOWN; rows.len()];
                };
                let mut acc = self.vexpr(first, rows);
                for a in rest {
                    let b = self.vexpr(a, rows);
                    for (x, y) in acc.iter_mut().zip(b) {
                        *x = op(*x, y);
                    }
                }
                acc
            }
            CExpr::Tiers(basis, bands) => {
                let b = self.vexpr(basis, rows);
                let mut out = vec![Q::UNKNOWN; rows.len()];
                let mut per_band: Vec<Vec<usize>> = vec![Vec::new(); bands.len()];
                for (i, q) in b.into_iter().enumerate() {
                    match tier_index(q, bands) {
                        TierPick::Unknown => {}
                        TierPick::Below => out[i] = Q::ZERO,
                        TierPick::Band(k) => per_band[k].push(i),
                    }
                }
                // Each band's amount only for the rows that fall in it.
                for (k, idx) in per_band.iter().enumerate() {
                    if idx.is_empty() {
                        continue;
                    }
                    let sub: Vec<u32> = idx.iter().map(|&i| rows[i]).collect();
                    let vals = self.vexpr(&bands[k].1, &sub);
                    for (&i, v) in idx.iter().zip(vals) {
                        out[i] = v;
                    }
                }
                out
            }
        }
    }

    /// Final amounts of the given (eligible) rows.
    pub fn amounts(&self, e: &CExpr, rows: &[u32]) -> Vec<i64> {
        self.vexpr(e, rows)
            .into_iter()
            .map(|q| q.payment_fen().unwrap_or(NO_AMOUNT))
            .collect()
    }
}

fn and(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(x, y)| x & y).collect()
}

/// The full-column threshold scan: 64 rows per word, branch-free.
fn dense_range(
    col: &Column,
    lo: i128,
    hi: i128,
    neg: bool,
    care: &[u64],
    t: &mut [u64],
    u: &mut [u64],
) {
    // Clamp the bounds to i64; an empty range accepts nothing.
    let lo64 = lo.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    let hi64 = hi.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    let empty = lo > hi || lo > i128::from(i64::MAX) || hi < i128::from(i64::MIN);
    // v ∈ [lo, hi]  ⇔  (v − lo) as u64 ≤ (hi − lo) as u64, with wrapping.
    let span = hi64.wrapping_sub(lo64) as u64;
    let flipmask = if neg { u64::MAX } else { 0 };
    for (w, c) in care.iter().enumerate() {
        if *c == 0 {
            continue;
        }
        let base = w * 64;
        let vals = &col.values[base..(base + 64).min(col.values.len())];
        let mut m = 0u64;
        if !empty {
            for (j, &v) in vals.iter().enumerate() {
                m |= u64::from((v.wrapping_sub(lo64) as u64) <= span) << j;
            }
        }
        let valid = col.valid[w];
        t[w] = (m ^ flipmask) & valid & c;
        u[w] = !valid & c;
    }
}

impl RuleSet {
    pub(crate) fn eval_ctx<'a>(
        &'a self,
        pop: &'a Population,
        cache: &'a [Option<Tri3>],
    ) -> Eval<'a> {
        Eval {
            pop,
            dag: &self.dag,
            cache,
            today_packed: self.today_packed,
            today_days: self.today.num_days_from_ce(),
            n: pop.len(),
        }
    }

    /// Shared nodes over all rows, by increasing height, each level in
    /// parallel.
    pub(crate) fn shared_cache(
        &self,
        pop: &Population,
        only: Option<&[bool]>,
    ) -> Vec<Option<Tri3>> {
        let dag = &self.dag;
        let mut cache: Vec<Option<Tri3>> = (0..dag.nodes.len()).map(|_| None).collect();
        let all = bits::ones(pop.len());
        let mut todo: Vec<usize> = (0..dag.nodes.len())
            .filter(|&i| dag.shared[i] && only.is_none_or(|o| o[i]))
            .collect();
        todo.sort_by_key(|&i| dag.height[i]);
        let mut start = 0;
        while start < todo.len() {
            let h = dag.height[todo[start]];
            let end = todo[start..]
                .iter()
                .position(|&i| dag.height[i] != h)
                .map_or(todo.len(), |p| start + p);
            let level: Vec<(usize, Tri3)> = {
                let ev = self.eval_ctx(pop, &cache);
                todo[start..end]
                    .par_iter()
                    .map(|&i| (i, ev.node(i, &all)))
                    .collect()
            };
            for (i, r) in level {
                cache[i] = Some(r);
            }
            start = end;
        }
        cache
    }

    /// Every policy over every row of the population (the population must
    /// have been built with the same reference data).
    pub fn match_all(&self, pop: &Population) -> MatchResult {
        let dag = &self.dag;
        // Only nodes reachable from some root matter (all are, by construction).
        let cache = self.shared_cache(pop, None);
        let ev = self.eval_ctx(pop, &cache);
        let all = bits::ones(pop.len());
        // Policies with the same condition share one evaluation.
        let mut first_of_root: HashMap<usize, usize> = HashMap::new();
        let mut distinct: Vec<usize> = Vec::new();
        for &r in &dag.roots {
            first_of_root.entry(r).or_insert_with(|| {
                distinct.push(r);
                distinct.len() - 1
            });
        }
        let verdicts: Vec<(Vec<u32>, Vec<u32>)> = distinct
            .par_iter()
            .map(|&r| {
                let res = ev.node(r, &all);
                (bits::rows(&res.t), bits::rows(&res.u))
            })
            .collect();
        let policies: Vec<PolicyMatch> = self
            .policies
            .par_iter()
            .zip(dag.roots.par_iter())
            .map(|(p, root)| {
                let (elig, und) = &verdicts[first_of_root[root]];
                PolicyMatch {
                    policy: p.id,
                    amounts: match &p.amount {
                        Some(a) => ev.amounts(a, elig),
                        None => Vec::new(),
                    },
                    eligible: elig.clone(),
                    undetermined: und.clone(),
                }
            })
            .collect();
        MatchResult {
            rows: pop.len(),
            policies,
        }
    }
}
