//! The columnar batch evaluator: every policy over a whole [`Population`].
//!
//! Rules are hash-consed into one DAG when the [`RuleSet`] is compiled, so a
//! sub-condition written in many policies (企业规模 属于 [中型, 小型], 区域
//! 属于 [珠海市]) is one node. A three-valued result is two row bitmaps
//! (true, unknown; false is what is left). `match_all`:
//!
//! 1. evaluates the *shared* nodes (categorical sets, and thresholds used by
//!    several policies) once over every row, level by level in parallel;
//! 2. evaluates each distinct policy root in parallel. `And` starts with its
//!    shared parts, most selective first, as whole-word bitmap operations;
//!    once fewer than 1/16 of the rows are alive it switches to a row list
//!    (a selection vector) and evaluates the remaining parts for those rows
//!    only, dropping each row as soon as a part is false;
//! 3. computes amounts on the eligible rows only; a formula many policies
//!    share is computed once for every row and then looked up.
//!
//! Threshold comparisons on integer columns are integer range checks whose
//! bounds come from the exact rational literal (floor/ceil); general
//! comparisons and amount formulas run the row evaluator's helpers in its
//! order (`RExpr` mirrors `row::eval_expr` with the columns looked up once),
//! so the two evaluators agree exactly (tests/equivalence.rs checks both strategies).

use std::collections::HashMap;

use chrono::Datelike;
use rayon::prelude::*;
use serde::{Serialize, Serializer};
use zhengqi_domain::enterprise::IndicatorKind;

use crate::ast::ArithOp;
use crate::ast::CmpOp;
use crate::bits;
use crate::exact::{NO_DATE, Q, age_years, int_range};
use crate::population::{Column, Population};
use crate::row::{
    CCond, CExpr, IndustryPat, Policy, RuleSet, SIZE_UNKNOWN, TierPick, Tri, Verdict, aggregate,
    arith, compare, growth, tier_index,
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
        let mut categorical = vec![false; n];
        for (i, node) in nodes.iter().enumerate() {
            let kids: &[usize] = match node {
                Node::And(c) | Node::Or(c) => c,
                Node::Not(c) => std::slice::from_ref(c),
                Node::Leaf(l) => {
                    categorical[i] = l.categorical();
                    continue;
                }
            };
            for &k in kids {
                refs[k] += 1;
            }
            height[i] = 1 + kids.iter().map(|&k| height[k]).max().unwrap_or(0);
            categorical[i] = kids.iter().all(|&k| categorical[k]);
        }
        for &r in &roots {
            refs[r] += 1;
        }
        // Sharing pays when one full scan replaces several visits of alive
        // rows: always for bitmap-backed categorical sets, from four uses
        // for thresholds and general comparisons (a full scan costs about
        // as much as visiting the alive rows of a few policies, and the
        // shared bitmap also orders the And parts by selectivity).
        let shared: Vec<bool> = (0..n)
            .map(|i| (refs[i] >= 2 && categorical[i]) || refs[i] >= 4)
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

/// Three-valued results per row in the row-by-row phase.
const F: u8 = 0;
const U: u8 = 1;
const T: u8 = 2;

/// How `match_all` trades full-width bitmaps for row lists, and when it
/// computes an amount formula once for every row.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Tuning {
    /// An `And` continues row by row once fewer rows than this are alive;
    /// `None`: 1/16 of the population before a part evaluated on the spot,
    /// 1/512 before a precomputed one.
    pub sparse_below: Option<usize>,
    /// An amount formula used by at least this many policies is computed
    /// once for every row and then looked up.
    pub formula_uses: usize,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            sparse_below: None,
            formula_uses: 32,
        }
    }
}

/// A node's result, as bitmaps or (once few rows are alive) as row lists.
enum Res {
    Bits(Tri3),
    Rows { t: Vec<u32>, u: Vec<u32> },
}

impl Res {
    fn into_bits(self, words: usize) -> Tri3 {
        match self {
            Res::Bits(b) => b,
            Res::Rows { t, u } => {
                let mut tb = vec![0u64; words];
                let mut ub = vec![0u64; words];
                for r in t {
                    bits::set(&mut tb, r as usize);
                }
                for r in u {
                    bits::set(&mut ub, r as usize);
                }
                Tri3 { t: tb, u: ub }
            }
        }
    }

    fn into_rows(self) -> (Vec<u32>, Vec<u32>) {
        match self {
            Res::Bits(b) => (bits::rows(&b.t), bits::rows(&b.u)),
            Res::Rows { t, u } => (t, u),
        }
    }
}

/// An expression with its columns looked up once, evaluated per row with
/// the row evaluator's helpers in the row evaluator's order (see
/// `row::eval_expr`, which it mirrors case by case).
enum RExpr<'a> {
    Lit(Q),
    Ind(Option<&'a Column>),
    Agg {
        avg: bool,
        n: u8,
        cols: Vec<Option<&'a Column>>,
    },
    Growth(Option<&'a Column>, Option<&'a Column>),
    Age,
    Arith(ArithOp, Box<RExpr<'a>>, Box<RExpr<'a>>),
    Min(Vec<RExpr<'a>>),
    Max(Vec<RExpr<'a>>),
    Tiers(Box<RExpr<'a>>, Vec<(Q, RExpr<'a>)>),
}

impl<'a> RExpr<'a> {
    fn new(e: &CExpr, pop: &'a Population) -> RExpr<'a> {
        match e {
            CExpr::Lit(q) => RExpr::Lit(*q),
            CExpr::Ind(k, y) => RExpr::Ind(pop.col(*k, *y)),
            CExpr::Agg { kind, avg, to, n } => RExpr::Agg {
                avg: *avg,
                n: *n,
                cols: (0..i32::from(*n)).map(|i| pop.col(*kind, to - i)).collect(),
            },
            CExpr::Growth(k, y) => RExpr::Growth(pop.col(*k, *y), pop.col(*k, y - 1)),
            CExpr::Age => RExpr::Age,
            CExpr::Arith(op, l, r) => RExpr::Arith(
                *op,
                Box::new(RExpr::new(l, pop)),
                Box::new(RExpr::new(r, pop)),
            ),
            CExpr::Min(a) => RExpr::Min(a.iter().map(|x| RExpr::new(x, pop)).collect()),
            CExpr::Max(a) => RExpr::Max(a.iter().map(|x| RExpr::new(x, pop)).collect()),
            CExpr::Tiers(b, bands) => RExpr::Tiers(
                Box::new(RExpr::new(b, pop)),
                bands
                    .iter()
                    .map(|(q, x)| (*q, RExpr::new(x, pop)))
                    .collect(),
            ),
        }
    }

    fn eval(&self, r: usize, founded: &[i32], tp: i32) -> Q {
        let get = |c: &Option<&Column>| c.and_then(|c| c.get(r));
        match self {
            RExpr::Lit(q) => *q,
            RExpr::Ind(c) => Q::opt(get(c)),
            RExpr::Agg { avg, n, cols } => aggregate(*avg, *n, cols.iter().map(get)),
            RExpr::Growth(now, before) => growth(get(now), get(before)),
            RExpr::Age => age_years(tp, founded[r]),
            RExpr::Arith(op, a, b) => arith(*op, a.eval(r, founded, tp), b.eval(r, founded, tp)),
            RExpr::Min(args) | RExpr::Max(args) => {
                let op: fn(Q, Q) -> Q = if matches!(self, RExpr::Min(_)) {
                    Q::min
                } else {
                    Q::max
                };
                let Some((first, rest)) = args.split_first() else {
                    return Q::UNKNOWN;
                };
                rest.iter().fold(first.eval(r, founded, tp), |acc, a| {
                    op(acc, a.eval(r, founded, tp))
                })
            }
            RExpr::Tiers(basis, bands) => {
                let b = basis.eval(r, founded, tp);
                match tier_index(b, bands) {
                    TierPick::Unknown => Q::UNKNOWN,
                    TierPick::Below => Q::ZERO,
                    TierPick::Band(i) => bands[i].1.eval(r, founded, tp),
                }
            }
        }
    }
}

/// Evaluation of DAG nodes over one population.
pub(crate) struct Eval<'a> {
    pub pop: &'a Population,
    pub dag: &'a Dag,
    pub cache: &'a [Option<Tri3>],
    /// Rows true or unknown per cached node (0 for the others).
    live: Vec<usize>,
    all: Vec<u64>,
    pub today_packed: i32,
    pub today_days: i32,
    pub n: usize,
    /// Fixed row-list switch (tests); `None`: by the kind of part.
    tuned_sparse: Option<usize>,
}

#[inline]
fn tri_of(t: &[u64], u: &[u64], r: usize) -> u8 {
    if bits::get(t, r) {
        T
    } else if bits::get(u, r) {
        U
    } else {
        F
    }
}

#[inline]
fn tri_bool(b: bool) -> u8 {
    if b { T } else { F }
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
            Node::And(kids) => self.and(kids, Some(care)).into_bits(care.len()),
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

    /// A policy root over every row: (eligible rows, undetermined rows).
    pub fn root(&self, id: usize) -> (Vec<u32>, Vec<u32>) {
        if let Some(c) = &self.cache[id] {
            return (bits::rows(&c.t), bits::rows(&c.u));
        }
        match &self.dag.nodes[id] {
            Node::And(kids) => self.and(kids, None).into_rows(),
            _ => {
                let r = self.node(id, &self.all);
                (bits::rows(&r.t), bits::rows(&r.u))
            }
        }
    }

    /// Kleene And of `kids` within `care` (`None`: every row). Precomputed
    /// parts go first, most selective first, as whole-word operations;
    /// once few rows are alive the rest is evaluated for those rows only.
    fn and(&self, kids: &[usize], care: Option<&[u64]>) -> Res {
        let mut order: Vec<usize> = kids.to_vec();
        // Children are already sorted by cost class; among the cached ones
        // (class 0) the most selective first. Kleene And does not depend on
        // the order of its parts, only the work does.
        let cached = order
            .iter()
            .position(|&k| self.cache[k].is_none())
            .unwrap_or(order.len());
        order[..cached].sort_by_key(|&k| self.live[k]);

        let care = care.unwrap_or(&self.all);
        let mut alive: Vec<u64> = Vec::new();
        let mut all_true: Vec<u64> = Vec::new();
        let mut started = false;
        let mut count = usize::MAX;
        for (i, &k) in order.iter().enumerate() {
            // A word operation covers 64 rows, so a precomputed part stays
            // with bitmaps until very few rows are alive; a part evaluated
            // here switches at 1/16.
            let below = match (self.tuned_sparse, self.cache[k].is_some()) {
                (Some(b), _) => b,
                (None, true) => self.n / 512,
                (None, false) => self.n / 16,
            };
            if started && count < below {
                return self.and_rows_from(&order[i..], &alive, &all_true);
            }
            let owned;
            let r = match &self.cache[k] {
                Some(c) => c,
                None => {
                    owned = self.node(k, if started { &alive } else { care });
                    &owned
                }
            };
            let mut c = 0usize;
            if started {
                for ((a, t), (rt, ru)) in alive
                    .iter_mut()
                    .zip(all_true.iter_mut())
                    .zip(r.t.iter().zip(&r.u))
                {
                    *a &= rt | ru;
                    *t &= rt;
                    c += a.count_ones() as usize;
                }
            } else {
                alive = Vec::with_capacity(care.len());
                all_true = Vec::with_capacity(care.len());
                for (cw, (rt, ru)) in care.iter().zip(r.t.iter().zip(&r.u)) {
                    let a = cw & (rt | ru);
                    alive.push(a);
                    all_true.push(cw & rt);
                    c += a.count_ones() as usize;
                }
                started = true;
            }
            count = c;
            if count == 0 {
                break;
            }
        }
        if !started {
            // No parts: true wherever cared for.
            return Res::Bits(Tri3 {
                t: care.to_vec(),
                u: vec![0u64; care.len()],
            });
        }
        // Rows never ruled out: all parts true, or some unknown.
        let t = and(&all_true, &alive);
        let u = alive.iter().zip(&t).map(|(a, t)| a & !t).collect();
        Res::Bits(Tri3 { t, u })
    }

    /// The rest of an And for the alive rows, row by row.
    fn and_rows_from(&self, kids: &[usize], alive: &[u64], all_true: &[u64]) -> Res {
        let mut rows = bits::rows(alive);
        let mut out: Vec<u8> = rows
            .iter()
            .map(|&r| {
                if bits::get(all_true, r as usize) {
                    T
                } else {
                    U
                }
            })
            .collect();
        self.narrow(kids, true, &mut rows, &mut out, None);
        let mut t = Vec::with_capacity(rows.len());
        let mut u = Vec::new();
        for (r, v) in rows.into_iter().zip(out) {
            if v == T {
                t.push(r);
            } else {
                u.push(r);
            }
        }
        Res::Rows { t, u }
    }

    /// Evaluates `kids` (And when `is_and`, else Or) over `rows`, dropping
    /// the rows a part decides (false for And, true for Or) and recording
    /// unknowns in `out`. With `decided = (pos, full)`, where `pos` maps
    /// each row to its place in an outer list, a decided row's value is
    /// written to `full` instead of being lost.
    fn narrow(
        &self,
        kids: &[usize],
        is_and: bool,
        rows: &mut Vec<u32>,
        out: &mut Vec<u8>,
        mut decided: Option<(&mut Vec<u32>, &mut [u8])>,
    ) {
        let decide = if is_and { F } else { T };
        for &k in kids {
            if rows.is_empty() {
                break;
            }
            let r = self.tri_rows(k, rows);
            let mut w = 0;
            for j in 0..rows.len() {
                let v = r[j];
                if v == decide {
                    if let Some((pos, full)) = decided.as_mut() {
                        full[pos[j] as usize] = decide;
                    }
                    continue;
                }
                let o = if v == U { U } else { out[j] };
                rows[w] = rows[j];
                out[w] = o;
                if let Some((pos, _)) = decided.as_mut() {
                    pos[w] = pos[j];
                }
                w += 1;
            }
            rows.truncate(w);
            out.truncate(w);
            if let Some((pos, _)) = decided.as_mut() {
                pos.truncate(w);
            }
        }
    }

    /// A node's value for each of the ascending `rows`.
    fn tri_rows(&self, id: usize, rows: &[u32]) -> Vec<u8> {
        if let Some(c) = &self.cache[id] {
            return rows
                .iter()
                .map(|&r| tri_of(&c.t, &c.u, r as usize))
                .collect();
        }
        match &self.dag.nodes[id] {
            Node::And(kids) | Node::Or(kids) => {
                let is_and = matches!(self.dag.nodes[id], Node::And(_));
                let start = if is_and { T } else { F };
                let mut full = vec![start; rows.len()];
                let mut pos: Vec<u32> = (0..rows.len() as u32).collect();
                let mut sub = rows.to_vec();
                let mut out = vec![start; rows.len()];
                self.narrow(
                    kids,
                    is_and,
                    &mut sub,
                    &mut out,
                    Some((&mut pos, &mut full)),
                );
                for (p, v) in pos.into_iter().zip(out) {
                    full[p as usize] = v;
                }
                full
            }
            Node::Not(k) => {
                let mut v = self.tri_rows(*k, rows);
                for x in &mut v {
                    *x = T - *x;
                }
                v
            }
            Node::Leaf(l) => self.leaf_rows(l, rows),
        }
    }

    fn leaf_rows(&self, l: &Leaf, rows: &[u32]) -> Vec<u8> {
        let pop = self.pop;
        match l {
            Leaf::Const(b) => vec![tri_bool(*b); rows.len()],
            Leaf::Size(mask) => {
                let lut: Vec<u8> = (0..5u8)
                    .map(|c| {
                        if c == SIZE_UNKNOWN {
                            U
                        } else {
                            tri_bool(mask & (1 << c) != 0)
                        }
                    })
                    .collect();
                rows.iter()
                    .map(|&r| lut[pop.size[r as usize] as usize])
                    .collect()
            }
            Leaf::Area(codes) => {
                let d = &pop.area;
                let lut: Vec<u8> = d
                    .facts
                    .iter()
                    .map(|chain| tri_bool(codes.iter().any(|c| chain.contains(c))))
                    .collect();
                rows.iter()
                    .map(|&r| lut[d.ids[r as usize] as usize])
                    .collect()
            }
            Leaf::Industry(pats) => {
                let d = &pop.industry;
                let lut: Vec<u8> = d
                    .facts
                    .iter()
                    .map(|f| tri_bool(pats.iter().any(|p| p.matches(f))))
                    .collect();
                rows.iter()
                    .map(|&r| lut[d.ids[r as usize] as usize])
                    .collect()
            }
            Leaf::Tag(tag) => {
                let list = pop.tags.get(tag).unwrap_or(&[]);
                let mut lo = 0;
                rows.iter()
                    .map(|&r| {
                        lo += list[lo..].partition_point(|&x| x < r);
                        tri_bool(list.get(lo) == Some(&r))
                    })
                    .collect()
            }
            Leaf::Cert(name) => {
                let list = pop.certs.get(name).unwrap_or(&[]);
                let day = self.today_days;
                let mut lo = 0;
                rows.iter()
                    .map(|&r| {
                        lo += list[lo..].partition_point(|c| c.row < r);
                        let ok = list[lo..]
                            .iter()
                            .take_while(|c| c.row == r)
                            .any(|c| c.from <= day && day <= c.to);
                        tri_bool(ok)
                    })
                    .collect()
            }
            Leaf::Range { src, lo, hi, neg } => {
                let (lo, hi, neg) = (*lo, *hi, *neg);
                let accept = |v: i128| tri_bool((lo <= v && v <= hi) != neg);
                match src {
                    Src::Ind(k, y) => {
                        let Some(col) = pop.col(*k, *y) else {
                            return vec![U; rows.len()];
                        };
                        rows.iter()
                            .map(|&r| match col.get(r as usize) {
                                Some(v) => accept(i128::from(v)),
                                None => U,
                            })
                            .collect()
                    }
                    Src::Age => {
                        let tp = self.today_packed;
                        rows.iter()
                            .map(|&r| {
                                let f = pop.founded[r as usize];
                                if f == NO_DATE {
                                    U
                                } else {
                                    accept(i128::from(tp - f).div_euclid(512))
                                }
                            })
                            .collect()
                    }
                    Src::Sum(k, to, n) => {
                        let cols: Vec<Option<&Column>> =
                            (0..i32::from(*n)).map(|i| pop.col(*k, to - i)).collect();
                        rows.iter()
                            .map(|&r| match sum_of(&cols, r as usize) {
                                Some(s) => accept(s),
                                None => U,
                            })
                            .collect()
                    }
                }
            }
            Leaf::Cmp(op, l, r) => {
                let (l, r) = (RExpr::new(l, pop), RExpr::new(r, pop));
                let (f, tp) = (&pop.founded, self.today_packed);
                rows.iter()
                    .map(|&row| {
                        let row = row as usize;
                        match compare(*op, l.eval(row, f, tp), r.eval(row, f, tp)) {
                            Tri::True => T,
                            Tri::Unknown => U,
                            Tri::False => F,
                        }
                    })
                    .collect()
            }
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
            Leaf::Cmp(..) => {
                let rows = bits::rows(care);
                let v = self.leaf_rows(l, &rows);
                let mut t = zeros();
                let mut u = zeros();
                for (&row, x) in rows.iter().zip(v) {
                    if x == T {
                        bits::set(&mut t, row as usize);
                    } else if x == U {
                        bits::set(&mut u, row as usize);
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
                let Some(col) = self.pop.col(*k, *y) else {
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
                    .map(|i| self.pop.col(*k, to - i))
                    .collect();
                bits::for_each(care, |r| match sum_of(&cols, r) {
                    Some(s) => {
                        if accept(s) {
                            bits::set(&mut t, r);
                        }
                    }
                    None => bits::set(&mut u, r),
                });
            }
        }
        Tri3 { t, u }
    }

    /// Final amounts of the given (eligible) rows: the row evaluator's
    /// formula evaluation and rounding, on the population's columns.
    pub fn amounts(&self, e: &CExpr, rows: &[u32]) -> Vec<i64> {
        if let CExpr::Lit(q) = e {
            return vec![q.payment_fen().unwrap_or(NO_AMOUNT); rows.len()];
        }
        let x = RExpr::new(e, self.pop);
        let (f, tp) = (&self.pop.founded, self.today_packed);
        rows.iter()
            .map(|&r| x.eval(r as usize, f, tp).payment_fen().unwrap_or(NO_AMOUNT))
            .collect()
    }

    /// A formula's amount for every row, in parallel.
    fn amount_column(&self, e: &CExpr) -> Vec<i64> {
        let x = RExpr::new(e, self.pop);
        let (f, tp) = (&self.pop.founded, self.today_packed);
        let mut out = vec![0i64; self.n];
        out.par_chunks_mut(8192).enumerate().for_each(|(c, chunk)| {
            let base = c * 8192;
            for (i, a) in chunk.iter_mut().enumerate() {
                *a = x.eval(base + i, f, tp).payment_fen().unwrap_or(NO_AMOUNT);
            }
        });
        out
    }
}

/// Sum of a row's figures over the columns; `None` if one is missing.
#[inline]
fn sum_of(cols: &[Option<&Column>], r: usize) -> Option<i128> {
    let mut sum: i128 = 0;
    for c in cols {
        sum += i128::from(c.and_then(|c| c.get(r))?);
    }
    Some(sum)
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

/// One policy's rows, lent to the callback of [`RuleSet::match_all_with`].
#[derive(Clone, Copy, Debug)]
pub struct PolicyRows<'a> {
    pub policy: i64,
    /// Ascending.
    pub eligible: &'a [u32],
    /// Aligned with `eligible`; empty when the rule has no amount formula.
    amounts: &'a [i64],
    /// Ascending.
    pub undetermined: &'a [u32],
}

impl PolicyRows<'_> {
    /// Amount (分) of the `i`-th eligible row.
    pub fn amount(&self, i: usize) -> Option<i64> {
        self.amounts.get(i).copied().filter(|&a| a != NO_AMOUNT)
    }

    /// Sum of the known amounts (saturating).
    pub fn amount_total(&self) -> i64 {
        self.amounts
            .iter()
            .filter(|&&a| a != NO_AMOUNT)
            .fold(0i64, |s, &a| s.saturating_add(a))
    }

    /// An owned copy.
    pub fn to_match(&self) -> PolicyMatch {
        PolicyMatch {
            policy: self.policy,
            eligible: self.eligible.to_vec(),
            amounts: self.amounts.to_vec(),
            undetermined: self.undetermined.to_vec(),
        }
    }
}

impl RuleSet {
    pub(crate) fn eval_ctx<'a>(
        &'a self,
        pop: &'a Population,
        cache: &'a [Option<Tri3>],
    ) -> Eval<'a> {
        self.eval_tuned(pop, cache, Tuning::default())
    }

    fn eval_tuned<'a>(
        &'a self,
        pop: &'a Population,
        cache: &'a [Option<Tri3>],
        tuning: Tuning,
    ) -> Eval<'a> {
        let live = cache
            .iter()
            .map(|c| {
                c.as_ref().map_or(0, |c| {
                    c.t.iter()
                        .zip(&c.u)
                        .map(|(t, u)| (t | u).count_ones() as usize)
                        .sum()
                })
            })
            .collect();
        Eval {
            pop,
            dag: &self.dag,
            cache,
            live,
            all: bits::ones(pop.len()),
            today_packed: self.today_packed,
            today_days: self.today.num_days_from_ce(),
            n: pop.len(),
            tuned_sparse: tuning.sparse_below,
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
                    .map(|&i| (i, ev.node(i, &ev.all)))
                    .collect()
            };
            for (i, r) in level {
                cache[i] = Some(r);
            }
            start = end;
        }
        cache
    }

    /// Runs every distinct policy condition over the population in
    /// parallel and hands each policy's rows to `sink` (on a worker thread,
    /// in no particular order); returns what `sink` returned, by policy.
    fn run<R: Send>(
        &self,
        pop: &Population,
        tuning: Tuning,
        sink: impl Fn(usize, PolicyRows<'_>) -> R + Sync,
    ) -> Vec<(usize, R)> {
        let dag = &self.dag;
        let cache = self.shared_cache(pop, None);
        let ev = self.eval_tuned(pop, &cache, tuning);
        // Policies with the same condition share one evaluation.
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut group_of: HashMap<usize, usize> = HashMap::new();
        for (p, &r) in dag.roots.iter().enumerate() {
            let g = *group_of.entry(r).or_insert_with(|| {
                groups.push((r, Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push(p);
        }
        // Amount formulas many policies use are computed once per row.
        let mut uses: HashMap<&CExpr, usize> = HashMap::new();
        for p in &self.policies {
            if let Some(a) = &p.amount
                && !matches!(a, CExpr::Lit(_))
            {
                *uses.entry(a).or_default() += 1;
            }
        }
        let common: Vec<&CExpr> = uses
            .into_iter()
            .filter(|&(_, n)| n >= tuning.formula_uses)
            .map(|(e, _)| e)
            .collect();
        let columns: HashMap<&CExpr, Vec<i64>> = common
            .into_iter()
            .map(|e| (e, ev.amount_column(e)))
            .collect();
        groups
            .par_iter()
            .flat_map_iter(|(root, members)| {
                let (elig, und) = ev.root(*root);
                members
                    .iter()
                    .map(|&p| {
                        let amounts = match &self.policies[p].amount {
                            None => Vec::new(),
                            Some(e) => match columns.get(e) {
                                Some(col) => elig.iter().map(|&r| col[r as usize]).collect(),
                                None => ev.amounts(e, &elig),
                            },
                        };
                        let rows = PolicyRows {
                            policy: self.policies[p].id,
                            eligible: &elig,
                            amounts: &amounts,
                            undetermined: &und,
                        };
                        (p, sink(p, rows))
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Every policy over every row of the population (the population must
    /// have been built with the same reference data).
    pub fn match_all(&self, pop: &Population) -> MatchResult {
        self.match_all_tuned(pop, Tuning::default())
    }

    pub(crate) fn match_all_tuned(&self, pop: &Population, tuning: Tuning) -> MatchResult {
        let mut out: Vec<Option<PolicyMatch>> = (0..self.policies.len()).map(|_| None).collect();
        for (p, m) in self.run(pop, tuning, |_, rows| rows.to_match()) {
            out[p] = Some(m);
        }
        MatchResult {
            rows: pop.len(),
            policies: out.into_iter().flatten().collect(),
        }
    }

    /// Test hook: `match_all` with the row-by-row switch at `sparse_below`
    /// alive rows and formulas shared from `formula_uses` policies, so both
    /// strategies can be checked on small populations.
    #[doc(hidden)]
    pub fn match_all_with_tuning(
        &self,
        pop: &Population,
        sparse_below: usize,
        formula_uses: usize,
    ) -> MatchResult {
        self.match_all_tuned(
            pop,
            Tuning {
                sparse_below: Some(sparse_below),
                formula_uses,
            },
        )
    }

    /// Every policy over every row without keeping the whole result:
    /// `f` sees each policy's eligible rows (with amounts) and undetermined
    /// rows once, on a worker thread, in no particular order. Use it when
    /// the result is counted, summed or written out rather than kept (the
    /// full result of 2,000 policies over 400,000 enterprises is ~100 MB).
    pub fn match_all_with(&self, pop: &Population, f: impl Fn(PolicyRows<'_>) + Sync) {
        self.run(pop, Tuning::default(), |_, rows| f(rows));
    }
}
