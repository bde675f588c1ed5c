//! The row evaluator: one enterprise against compiled rules, the reference
//! semantics the batch evaluator is tested against.
//!
//! A [`RuleSet`] is compiled once for a [`Context`] (evaluation date and
//! reference data): literals become exact fractions, area and industry sets
//! are resolved, `InForceUntil` becomes a constant. Matching one enterprise
//! first resolves its facts (the winning indicator per kind and year, its
//! area's ancestors, its industry's section) and then walks each rule with
//! Kleene short-circuiting.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use zhengqi_domain::enterprise::{Enterprise, Indicator, IndicatorKind};
use zhengqi_domain::reference::ReferenceData;
use zhengqi_domain::size::SizeClass;

use crate::ast::{Aggregate, ArithOp, CmpOp, Cond, Expr, Rule};
use crate::batch::Dag;
use crate::exact::{NO_DATE, Q, age_years, pack_date};

/// What a rule set is evaluated against.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub today: NaiveDate,
    pub reference: &'a ReferenceData,
}

/// A policy's verdict for one enterprise.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Eligible,
    NotEligible,
    Undetermined,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Eligible => "符合",
            Verdict::NotEligible => "不符合",
            Verdict::Undetermined => "无法判断",
        }
    }
}

/// Three-valued truth inside the evaluators.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tri {
    False,
    Unknown,
    True,
}

impl Tri {
    pub fn verdict(self) -> Verdict {
        match self {
            Tri::True => Verdict::Eligible,
            Tri::False => Verdict::NotEligible,
            Tri::Unknown => Verdict::Undetermined,
        }
    }

    fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }

    fn of(b: bool) -> Tri {
        if b { Tri::True } else { Tri::False }
    }
}

/// A verdict and, for eligible enterprises whose formula could be computed,
/// the amount in 分.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub verdict: Verdict,
    pub amount: Option<i64>,
}

/// An industry pattern of `IndustryIn`, normalised once.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum IndustryPat {
    /// 门类 letter, e.g. `C`.
    Section(String),
    /// Digits matched as a prefix of the enterprise's code, e.g. `39`.
    Digits(String),
    /// Not a code: matches nothing.
    Never,
}

impl IndustryPat {
    pub fn parse(code: &str) -> IndustryPat {
        let c = zhengqi_domain::reference::half_width(code)
            .trim()
            .to_ascii_uppercase();
        let mut chars = c.chars();
        match chars.next() {
            Some(l) if l.is_ascii_uppercase() => {
                let rest = chars.as_str();
                if rest.is_empty() {
                    IndustryPat::Section(c)
                } else if rest.bytes().all(|b| b.is_ascii_digit()) {
                    IndustryPat::Digits(rest.to_owned())
                } else {
                    IndustryPat::Never
                }
            }
            Some(_) if c.bytes().all(|b| b.is_ascii_digit()) => IndustryPat::Digits(c),
            _ => IndustryPat::Never,
        }
    }

    pub fn matches(&self, ind: &IndustryFacts) -> bool {
        match self {
            IndustryPat::Section(s) => ind.section.as_deref() == Some(s.as_str()),
            IndustryPat::Digits(p) => ind.digits.starts_with(p.as_str()),
            IndustryPat::Never => false,
        }
    }
}

/// An enterprise industry code resolved for matching.
#[derive(Clone, Debug, Default)]
pub(crate) struct IndustryFacts {
    pub digits: String,
    pub section: Option<String>,
}

impl IndustryFacts {
    pub fn resolve(code: &str, rd: &ReferenceData) -> IndustryFacts {
        let c = zhengqi_domain::reference::half_width(code)
            .trim()
            .to_ascii_uppercase();
        let digits: String = c
            .trim_start_matches(|ch: char| ch.is_ascii_uppercase())
            .into();
        let digits = if digits.bytes().all(|b| b.is_ascii_digit()) {
            digits
        } else {
            String::new()
        };
        IndustryFacts {
            digits,
            section: rd.industry_section(code).map(|i| i.code.clone()),
        }
    }
}

/// The area codes an enterprise's area lies within (itself first), as
/// `ReferenceData::area_within` sees them: an unknown code lies nowhere.
pub(crate) fn area_chain(code: &str, rd: &ReferenceData) -> Vec<String> {
    rd.area_ancestors(code)
        .into_iter()
        .map(|a| a.code.clone())
        .collect()
}

/// Position of a size class in the size bit mask / column code.
pub(crate) fn size_code(s: SizeClass) -> u8 {
    match s {
        SizeClass::Large => 0,
        SizeClass::Medium => 1,
        SizeClass::Small => 2,
        SizeClass::Micro => 3,
    }
}

/// Size column code for an enterprise whose class is not known.
pub(crate) const SIZE_UNKNOWN: u8 = 4;

/// A condition with its leaves resolved for the context.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum CCond {
    And(Vec<CCond>),
    Or(Vec<CCond>),
    Not(Box<CCond>),
    /// Bit `size_code` set for each accepted class.
    Size(u8),
    /// Trimmed area codes; true when the enterprise's chain contains one.
    Area(Vec<String>),
    Industry(Vec<IndustryPat>),
    Tag(String),
    Cert(String),
    Const(bool),
    Cmp(CmpOp, CExpr, CExpr),
}

/// An expression with literals as fractions and years made absolute.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum CExpr {
    Lit(Q),
    /// Indicator of an absolute year.
    Ind(IndicatorKind, i32),
    /// Sum or average over the absolute years `to-n+1 ..= to`.
    Agg {
        kind: IndicatorKind,
        avg: bool,
        to: i32,
        n: u8,
    },
    /// Growth of `year` over `year - 1`.
    Growth(IndicatorKind, i32),
    Age,
    Arith(ArithOp, Box<CExpr>, Box<CExpr>),
    Min(Vec<CExpr>),
    Max(Vec<CExpr>),
    Tiers(Box<CExpr>, Vec<(Q, CExpr)>),
}

impl std::hash::Hash for Q {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.n.hash(h);
        self.d.hash(h);
    }
}

pub(crate) struct Compiler {
    pub today: NaiveDate,
    pub year0: i32,
}

impl Compiler {
    pub fn cond(&self, c: &Cond) -> CCond {
        match c {
            Cond::And { all } => CCond::And(all.iter().map(|x| self.cond(x)).collect()),
            Cond::Or { any } => CCond::Or(any.iter().map(|x| self.cond(x)).collect()),
            Cond::Not { cond } => CCond::Not(Box::new(self.cond(cond))),
            Cond::SizeIn { sizes } => {
                CCond::Size(sizes.iter().fold(0u8, |m, s| m | (1 << size_code(*s))))
            }
            Cond::AreaIn { areas } => {
                CCond::Area(areas.iter().map(|a| a.trim().to_owned()).collect())
            }
            Cond::IndustryIn { codes } => {
                CCond::Industry(codes.iter().map(|c| IndustryPat::parse(c)).collect())
            }
            Cond::HasTag { tag } => CCond::Tag(tag.clone()),
            Cond::CertValid { name } => CCond::Cert(name.clone()),
            Cond::InForceUntil { until } => CCond::Const(self.today <= *until),
            Cond::Cmp { op, left, right } => CCond::Cmp(*op, self.expr(left), self.expr(right)),
        }
    }

    pub fn year(&self, back: u16) -> i32 {
        self.year0 - i32::from(back)
    }

    pub fn expr(&self, e: &Expr) -> CExpr {
        match e {
            Expr::Lit { value, .. } => CExpr::Lit(Q::from_num(*value)),
            Expr::Indicator { indicator, year } => {
                CExpr::Ind(*indicator, self.year(u16::from(year.0)))
            }
            Expr::Aggregate {
                indicator,
                agg,
                years,
            } => CExpr::Agg {
                kind: *indicator,
                avg: *agg == Aggregate::Avg,
                to: self.year(1),
                n: *years,
            },
            Expr::Growth { indicator, year } => {
                CExpr::Growth(*indicator, self.year(u16::from(year.0)))
            }
            Expr::AgeYears => CExpr::Age,
            Expr::Arith { op, left, right } => {
                CExpr::Arith(*op, Box::new(self.expr(left)), Box::new(self.expr(right)))
            }
            Expr::Min { args } => CExpr::Min(args.iter().map(|a| self.expr(a)).collect()),
            Expr::Max { args } => CExpr::Max(args.iter().map(|a| self.expr(a)).collect()),
            Expr::Tiers { basis, bands } => CExpr::Tiers(
                Box::new(self.expr(basis)),
                bands
                    .iter()
                    .map(|b| (Q::from_num(b.from), self.expr(&b.amount)))
                    .collect(),
            ),
        }
    }
}

/// Where a row evaluation reads its figures from.
pub(crate) trait Facts {
    fn value(&self, kind: IndicatorKind, year: i32) -> Option<i64>;
    fn founded(&self) -> i32;
}

/// Evaluates an expression for one enterprise. The batch evaluator applies
/// the same [`Q`] operations in the same order, column-wise.
pub(crate) fn eval_expr(e: &CExpr, f: &impl Facts, today_packed: i32) -> Q {
    match e {
        CExpr::Lit(q) => *q,
        CExpr::Ind(k, y) => Q::opt(f.value(*k, *y)),
        CExpr::Agg { kind, avg, to, n } => {
            aggregate(*avg, *n, (0..i32::from(*n)).map(|i| f.value(*kind, to - i)))
        }
        CExpr::Growth(k, y) => growth(f.value(*k, *y), f.value(*k, y - 1)),
        CExpr::Age => age_years(today_packed, f.founded()),
        CExpr::Arith(op, l, r) => arith(
            *op,
            eval_expr(l, f, today_packed),
            eval_expr(r, f, today_packed),
        ),
        CExpr::Min(args) => fold_args(args, f, today_packed, Q::min),
        CExpr::Max(args) => fold_args(args, f, today_packed, Q::max),
        CExpr::Tiers(basis, bands) => {
            let b = eval_expr(basis, f, today_packed);
            match tier_index(b, bands) {
                TierPick::Unknown => Q::UNKNOWN,
                TierPick::Below => Q::ZERO,
                TierPick::Band(i) => eval_expr(&bands[i].1, f, today_packed),
            }
        }
    }
}

fn fold_args(args: &[CExpr], f: &impl Facts, tp: i32, op: fn(Q, Q) -> Q) -> Q {
    let mut it = args.iter();
    let Some(first) = it.next() else {
        return Q::UNKNOWN;
    };
    it.fold(eval_expr(first, f, tp), |acc, a| {
        op(acc, eval_expr(a, f, tp))
    })
}

pub(crate) fn arith(op: ArithOp, l: Q, r: Q) -> Q {
    match op {
        ArithOp::Add => l.add(r),
        ArithOp::Sub => l.sub(r),
        ArithOp::Mul => l.mul(r),
        ArithOp::Div => l.div(r),
    }
}

/// 近N年合计/平均: unknown if any year is missing or N is 0.
pub(crate) fn aggregate(avg: bool, n: u8, values: impl Iterator<Item = Option<i64>>) -> Q {
    if n == 0 {
        return Q::UNKNOWN;
    }
    let mut sum: i128 = 0;
    for v in values {
        match v {
            // ≤ 255 terms of i64 cannot overflow i128.
            Some(v) => sum += i128::from(v),
            None => return Q::UNKNOWN,
        }
    }
    Q {
        n: sum,
        d: if avg { i128::from(n) } else { 1 },
    }
}

/// (now − before) ÷ before; unknown over a missing or zero base.
pub(crate) fn growth(now: Option<i64>, before: Option<i64>) -> Q {
    match (now, before) {
        (Some(a), Some(b)) if b != 0 => {
            let diff = i128::from(a) - i128::from(b);
            let b = i128::from(b);
            if b < 0 {
                Q { n: -diff, d: -b }
            } else {
                Q { n: diff, d: b }
            }
        }
        _ => Q::UNKNOWN,
    }
}

pub(crate) enum TierPick {
    Unknown,
    Below,
    Band(usize),
}

/// The last band whose lower bound (inclusive) is ≤ the basis.
pub(crate) fn tier_index<T>(basis: Q, bands: &[(Q, T)]) -> TierPick {
    if !basis.known() {
        return TierPick::Unknown;
    }
    match bands
        .iter()
        .rposition(|(from, _)| from.cmp(basis) != std::cmp::Ordering::Greater)
    {
        Some(i) => TierPick::Band(i),
        None => TierPick::Below,
    }
}

pub(crate) fn compare(op: CmpOp, l: Q, r: Q) -> Tri {
    if !l.known() || !r.known() {
        return Tri::Unknown;
    }
    let o = l.cmp(r);
    Tri::of(match op {
        CmpOp::Ge => o.is_ge(),
        CmpOp::Gt => o.is_gt(),
        CmpOp::Le => o.is_le(),
        CmpOp::Lt => o.is_lt(),
        CmpOp::Eq => o.is_eq(),
        CmpOp::Ne => o.is_ne(),
    })
}

/// One enterprise's facts, resolved once for all rules.
pub(crate) struct RowFacts<'a> {
    pub e: &'a Enterprise,
    pub ind: &'a [Indicator],
    /// (kind, year, index into `ind`) of the winning figure, sorted.
    chosen: Vec<(IndicatorKind, i32, usize)>,
    pub size: u8,
    pub founded: i32,
    pub area_chain: Vec<String>,
    pub industry: IndustryFacts,
    pub today: NaiveDate,
}

impl<'a> RowFacts<'a> {
    pub fn new(
        e: &'a Enterprise,
        ind: &'a [Indicator],
        rd: &ReferenceData,
        today: NaiveDate,
    ) -> RowFacts<'a> {
        RowFacts {
            today,
            e,
            ind,
            chosen: winners(ind),
            size: e.size_class.map_or(SIZE_UNKNOWN, size_code),
            founded: e.founded.map_or(NO_DATE, pack_date),
            area_chain: area_chain(&e.area, rd),
            industry: IndustryFacts::resolve(&e.industry, rd),
        }
    }

    /// The indicator row a figure came from (for provenance).
    pub fn source(&self, kind: IndicatorKind, year: i32) -> Option<&'a Indicator> {
        let i = self
            .chosen
            .binary_search_by(|(k, y, _)| (*k, *y).cmp(&(kind, year)))
            .ok()?;
        self.ind.get(self.chosen[i].2)
    }
}

/// For each (kind, year) the figure that counts: the latest arrival; on
/// equal arrival times the later row in the slice (a correction loaded in
/// the same batch comes after the figure it corrects).
pub(crate) fn winners(ind: &[Indicator]) -> Vec<(IndicatorKind, i32, usize)> {
    zhengqi_domain::enterprise::current_figures(ind)
        .into_iter()
        .map(|i| (ind[i].kind, ind[i].year, i))
        .collect()
}

impl Facts for RowFacts<'_> {
    fn value(&self, kind: IndicatorKind, year: i32) -> Option<i64> {
        self.source(kind, year).map(|i| i.value)
    }

    fn founded(&self) -> i32 {
        self.founded
    }
}

pub(crate) fn eval_cond(c: &CCond, f: &RowFacts<'_>, tp: i32) -> Tri {
    match c {
        CCond::And(all) => {
            let mut acc = Tri::True;
            for x in all {
                match eval_cond(x, f, tp) {
                    Tri::False => return Tri::False,
                    Tri::Unknown => acc = Tri::Unknown,
                    Tri::True => {}
                }
            }
            acc
        }
        CCond::Or(any) => {
            let mut acc = Tri::False;
            for x in any {
                match eval_cond(x, f, tp) {
                    Tri::True => return Tri::True,
                    Tri::Unknown => acc = Tri::Unknown,
                    Tri::False => {}
                }
            }
            acc
        }
        CCond::Not(x) => eval_cond(x, f, tp).not(),
        CCond::Size(mask) => {
            if f.size == SIZE_UNKNOWN {
                Tri::Unknown
            } else {
                Tri::of(mask & (1 << f.size) != 0)
            }
        }
        CCond::Area(codes) => Tri::of(codes.iter().any(|c| f.area_chain.contains(c))),
        CCond::Industry(pats) => Tri::of(pats.iter().any(|p| p.matches(&f.industry))),
        CCond::Tag(t) => Tri::of(f.e.tags.iter().any(|x| x == t)),
        CCond::Cert(name) => Tri::of(
            f.e.certifications
                .iter()
                .any(|c| &c.name == name && c.valid_on(f.today)),
        ),
        CCond::Const(b) => Tri::of(*b),
        CCond::Cmp(op, l, r) => compare(*op, eval_expr(l, f, tp), eval_expr(r, f, tp)),
    }
}

/// A compiled policy.
pub(crate) struct Policy {
    pub id: i64,
    pub rule: Rule,
    pub cond: CCond,
    pub amount: Option<CExpr>,
}

/// Rules compiled once for a context; evaluates single enterprises
/// ([`RuleSet::match_one`]) and whole populations ([`RuleSet::match_all`]).
pub struct RuleSet {
    pub(crate) today: NaiveDate,
    pub(crate) year0: i32,
    pub(crate) today_packed: i32,
    pub(crate) reference: ReferenceData,
    pub(crate) policies: Vec<Policy>,
    pub(crate) by_id: HashMap<i64, usize>,
    pub(crate) dag: Dag,
}

impl RuleSet {
    /// Compiles the rules. A policy id given twice keeps its last rule.
    pub fn new(rules: Vec<(i64, Rule)>, ctx: &Context<'_>) -> RuleSet {
        let comp = Compiler {
            today: ctx.today,
            year0: ctx.today.year(),
        };
        let mut policies: Vec<Policy> = Vec::with_capacity(rules.len());
        let mut by_id = HashMap::with_capacity(rules.len());
        for (id, rule) in rules {
            let p = Policy {
                id,
                cond: comp.cond(&rule.condition),
                amount: rule.amount.as_ref().map(|a| comp.expr(a)),
                rule,
            };
            match by_id.get(&id) {
                Some(&i) => policies[i] = p,
                None => {
                    by_id.insert(id, policies.len());
                    policies.push(p);
                }
            }
        }
        let dag = Dag::build(&policies);
        RuleSet {
            today: ctx.today,
            year0: comp.year0,
            today_packed: pack_date(ctx.today),
            reference: ctx.reference.clone(),
            policies,
            by_id,
            dag,
        }
    }

    pub fn today(&self) -> NaiveDate {
        self.today
    }

    pub fn len(&self) -> usize {
        self.policies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Policy ids in the order given.
    pub fn policy_ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.policies.iter().map(|p| p.id)
    }

    pub fn rule(&self, id: i64) -> Option<&Rule> {
        self.by_id.get(&id).map(|&i| &self.policies[i].rule)
    }

    pub(crate) fn outcome(&self, p: &Policy, f: &RowFacts<'_>) -> Outcome {
        let v = eval_cond(&p.cond, f, self.today_packed);
        let amount = match (v, &p.amount) {
            (Tri::True, Some(a)) => eval_expr(a, f, self.today_packed).payment_fen(),
            _ => None,
        };
        Outcome {
            verdict: v.verdict(),
            amount,
        }
    }

    /// Every policy's outcome for one enterprise, in policy order.
    pub fn match_one(&self, e: &Enterprise, ind: &[Indicator]) -> Vec<(i64, Outcome)> {
        let f = RowFacts::new(e, ind, &self.reference, self.today);
        self.policies
            .iter()
            .map(|p| (p.id, self.outcome(p, &f)))
            .collect()
    }

    /// One policy's outcome; `None` for an unknown policy id.
    pub fn evaluate(&self, id: i64, e: &Enterprise, ind: &[Indicator]) -> Option<Outcome> {
        let p = &self.policies[*self.by_id.get(&id)?];
        let f = RowFacts::new(e, ind, &self.reference, self.today);
        Some(self.outcome(p, &f))
    }
}
