//! Why an enterprise does or does not qualify, in Chinese: each condition
//! with its verdict, the figures it used (with year, source department and
//! arrival time) and, when it fails or cannot be decided, what would
//! satisfy it or which data is missing.
//!
//! Verdicts come from the row evaluator, so an explanation never disagrees
//! with `evaluate`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhengqi_domain::enterprise::{Enterprise, Indicator, IndicatorKind};
use zhengqi_domain::money::Amount;
use zhengqi_domain::reference::ReferenceData;

use crate::ast::{Aggregate, ArithOp, CmpOp, Cond, Dim, Expr, Rule};
use crate::exact::Q;
use crate::num::Num;
use crate::row::{
    Compiler, RowFacts, RuleSet, SIZE_UNKNOWN, TierPick, Tri, Verdict, eval_cond, eval_expr,
    tier_index,
};

/// A figure a condition or formula used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ValueUsed {
    /// e.g. "2025年营业收入", "企业规模".
    pub label: String,
    /// Formatted ("1,850万元"); `None` = 缺失.
    pub value: Option<String>,
    pub year: Option<i32>,
    /// Department code of the source.
    pub source: Option<String>,
    pub arrived_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CondExplanation {
    /// The condition, e.g. "上年度（2025年）营业收入 ≥ 2,000万元".
    pub text: String,
    pub verdict: Verdict,
    pub values: Vec<ValueUsed>,
    /// What would satisfy a failed condition, or what data is missing.
    pub hint: Option<String>,
    pub children: Vec<CondExplanation>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    pub policy: i64,
    pub verdict: Verdict,
    pub amount: Option<i64>,
    /// e.g. "min(2025年研发投入 320万元 × 10% = 32万元, 100万元) = 32万元".
    pub amount_text: Option<String>,
    /// The top-level conditions (the parts of the rule's `And`).
    pub conditions: Vec<CondExplanation>,
}

impl RuleSet {
    /// Explains one policy for one enterprise; `None` for an unknown id.
    pub fn explain(&self, id: i64, e: &Enterprise, ind: &[Indicator]) -> Option<Explanation> {
        let p = &self.policies[*self.by_id.get(&id)?];
        let f = RowFacts::new(e, ind, &self.reference, self.today);
        let out = self.outcome(p, &f);
        let x = Explainer {
            comp: Compiler {
                today: self.today,
                year0: self.year0,
            },
            rd: &self.reference,
            f: &f,
            tp: self.today_packed,
        };
        let conditions = match &p.rule.condition {
            Cond::And { all } => all.iter().map(|c| x.cond(c)).collect(),
            c => vec![x.cond(c)],
        };
        let amount_text = match (&p.rule.amount, out.verdict) {
            (Some(a), Verdict::Eligible) => Some(x.amount_text(a, out.amount)),
            _ => None,
        };
        Some(Explanation {
            policy: id,
            verdict: out.verdict,
            amount: out.amount,
            amount_text,
            conditions,
        })
    }
}

/// Describes a condition without an enterprise (for simulations and lists).
pub fn describe(c: &Cond, ctx: &crate::row::Context<'_>) -> String {
    use chrono::Datelike;
    Texts {
        year0: ctx.today.year(),
        rd: ctx.reference,
    }
    .cond(c)
}

struct Texts<'a> {
    year0: i32,
    rd: &'a ReferenceData,
}

fn money(v: Q) -> String {
    match v.to_num() {
        Some(n) if n.is_integer() => match i64::try_from(n.numer()) {
            Ok(f) => Amount::from_fen(f).to_string(),
            Err(_) => format!("{}分", n.numer()),
        },
        // Not a whole 分: show the rounded figure, marked as approximate.
        Some(_) => match v.payment_fen_signed() {
            Some(f) => format!("约{}", Amount::from_fen(f)),
            None => "（超出范围）".into(),
        },
        None => "缺失".into(),
    }
}

/// A value in its dimension's usual form.
fn fmt_value(v: Q, dim: Dim) -> String {
    let Some(n) = v.to_num() else {
        return "缺失".into();
    };
    match dim {
        Dim::Money => money(v),
        Dim::Persons => format!("{n}人"),
        Dim::Land => match n.checked_div(Num::int(100)) {
            Some(m) => format!("{m}亩"),
            None => format!("{n}（0.01亩）"),
        },
        Dim::Years => format!("{n}年"),
        Dim::Ratio => match n.checked_mul(Num::int(100)) {
            Some(p) => format!("{p}%"),
            None => n.to_string(),
        },
        Dim::Count => n.to_string(),
    }
}

fn fmt_num(n: Num, dim: Dim) -> String {
    fmt_value(Q::from_num(n), dim)
}

pub(crate) fn dim_of(e: &Expr) -> Dim {
    match e {
        Expr::Lit { dim, .. } => *dim,
        Expr::Indicator { indicator, .. } | Expr::Aggregate { indicator, .. } => {
            Dim::of_indicator(*indicator)
        }
        Expr::Growth { .. } => Dim::Ratio,
        Expr::AgeYears => Dim::Years,
        Expr::Arith { op, left, right } => {
            let (l, r) = (dim_of(left), dim_of(right));
            match op {
                ArithOp::Add | ArithOp::Sub => l,
                ArithOp::Mul if matches!(l, Dim::Ratio | Dim::Count) => r,
                ArithOp::Mul => l,
                ArithOp::Div if l == r => Dim::Ratio,
                ArithOp::Div => l,
            }
        }
        Expr::Min { args } | Expr::Max { args } => args.first().map_or(Dim::Count, dim_of),
        Expr::Tiers { bands, .. } => bands.first().map_or(Dim::Money, |b| dim_of(&b.amount)),
    }
}

fn op_text(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Ge => "≥",
        CmpOp::Gt => ">",
        CmpOp::Le => "≤",
        CmpOp::Lt => "<",
        CmpOp::Eq => "=",
        CmpOp::Ne => "≠",
    }
}

/// Which departments usually share a figure (for "需…部门共享" hints).
fn sharing_departments(kind: IndicatorKind) -> &'static str {
    match kind {
        IndicatorKind::Revenue => "税务/统计",
        IndicatorKind::TaxPaid => "税务",
        IndicatorKind::Employees => "人力资源社会保障/统计",
        IndicatorKind::RdSpending => "科技创新/统计",
        IndicatorKind::TotalAssets => "统计/市场监管",
        IndicatorKind::IndustrialValueAdded => "统计/工业和信息化",
        IndicatorKind::LandArea => "自然资源",
    }
}

impl Texts<'_> {
    fn year_label(&self, back: u8) -> String {
        let y = self.year0 - i32::from(back);
        match back {
            0 => format!("本年度（{y}年）"),
            1 => format!("上年度（{y}年）"),
            2 => format!("前年（{y}年）"),
            _ => format!("{y}年"),
        }
    }

    fn expr(&self, e: &Expr) -> String {
        match e {
            Expr::Lit { value, dim } => fmt_num(*value, *dim),
            Expr::Indicator { indicator, year } => {
                format!("{}{}", self.year_label(year.0), indicator.label())
            }
            Expr::Aggregate {
                indicator,
                agg,
                years,
            } => format!(
                "近{years}年{}{}",
                indicator.label(),
                if *agg == Aggregate::Sum {
                    "合计"
                } else {
                    "平均"
                }
            ),
            Expr::Growth { indicator, year } => {
                format!("{}{}增长率", self.year_label(year.0), indicator.label())
            }
            Expr::AgeYears => "成立年限".into(),
            Expr::Arith { op, left, right } => {
                let sym = match op {
                    ArithOp::Add => "+",
                    ArithOp::Sub => "−",
                    ArithOp::Mul => "×",
                    ArithOp::Div => "÷",
                };
                format!("{} {sym} {}", self.paren(left), self.paren(right))
            }
            Expr::Min { args } => format!("min({})", self.list(args)),
            Expr::Max { args } => format!("max({})", self.list(args)),
            Expr::Tiers { basis, bands } => {
                let bands: Vec<String> = bands
                    .iter()
                    .map(|b| {
                        format!(
                            "≥{} 得 {}",
                            fmt_num(b.from, dim_of(basis)),
                            self.expr(&b.amount)
                        )
                    })
                    .collect();
                format!("按{}分档（{}）", self.expr(basis), bands.join("；"))
            }
        }
    }

    fn paren(&self, e: &Expr) -> String {
        match e {
            Expr::Arith { .. } => format!("({})", self.expr(e)),
            _ => self.expr(e),
        }
    }

    fn list(&self, args: &[Expr]) -> String {
        args.iter()
            .map(|a| self.expr(a))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn area_names(&self, codes: &[String]) -> String {
        codes
            .iter()
            .map(|c| {
                self.rd
                    .area(c)
                    .map_or_else(|| c.clone(), |a| a.name.clone())
            })
            .collect::<Vec<_>>()
            .join("、")
    }

    fn industry_name(&self, code: &str) -> String {
        match self.rd.industry(code) {
            Some(i) if i.is_section() => format!("{} {}", i.code, i.name),
            Some(i) => match self.rd.industry_section(code) {
                Some(s) => format!("{} {}（{} {}）", i.code, i.name, s.code, s.name),
                None => format!("{} {}", i.code, i.name),
            },
            None => code.to_owned(),
        }
    }

    fn cond(&self, c: &Cond) -> String {
        match c {
            Cond::And { .. } => "同时满足以下全部条件".into(),
            Cond::Or { .. } => "满足以下任一条件".into(),
            Cond::Not { cond } => format!("不得：{}", self.cond(cond)),
            Cond::SizeIn { sizes } => format!(
                "企业规模属于 {}",
                sizes
                    .iter()
                    .map(|s| s.label())
                    .collect::<Vec<_>>()
                    .join("、")
            ),
            Cond::AreaIn { areas } => format!("所在区域属于 {}", self.area_names(areas)),
            Cond::IndustryIn { codes } => format!(
                "所属行业属于 {}",
                codes
                    .iter()
                    .map(|c| self.industry_name(c))
                    .collect::<Vec<_>>()
                    .join("、")
            ),
            Cond::HasTag { tag } => format!("具有“{tag}”标签"),
            Cond::CertValid { name } => format!("“{name}”资质在有效期内"),
            Cond::InForceUntil { until } => format!("政策在有效期内（至 {until}）"),
            Cond::Cmp { op, left, right } => {
                format!("{} {} {}", self.expr(left), op_text(*op), self.expr(right))
            }
        }
    }
}

struct Explainer<'a, 'f> {
    comp: Compiler,
    rd: &'a ReferenceData,
    f: &'a RowFacts<'f>,
    tp: i32,
}

impl Explainer<'_, '_> {
    fn texts(&self) -> Texts<'_> {
        Texts {
            year0: self.comp.year0,
            rd: self.rd,
        }
    }

    fn verdict(&self, c: &Cond) -> Tri {
        eval_cond(&self.comp.cond(c), self.f, self.tp)
    }

    fn value(&self, e: &Expr) -> Q {
        eval_expr(&self.comp.expr(e), self.f, self.tp)
    }

    fn indicator_used(&self, kind: IndicatorKind, year: i32) -> ValueUsed {
        let src = self.f.source(kind, year);
        ValueUsed {
            label: format!("{year}年{}", kind.label()),
            value: src.map(|i| kind.format_value(i.value)),
            year: Some(year),
            source: src.map(|i| i.source.clone()),
            arrived_at: src.map(|i| i.arrived_at),
        }
    }

    fn plain(label: &str, value: Option<String>) -> ValueUsed {
        ValueUsed {
            label: label.into(),
            value,
            year: None,
            source: None,
            arrived_at: None,
        }
    }

    /// The figures an expression reads, in order, without repeats.
    fn values_of(&self, e: &Expr, out: &mut Vec<ValueUsed>) {
        let mut push = |v: ValueUsed| {
            if !out.contains(&v) {
                out.push(v);
            }
        };
        match e {
            Expr::Lit { .. } => {}
            Expr::Indicator { indicator, year } => {
                push(self.indicator_used(*indicator, self.comp.year(u16::from(year.0))))
            }
            Expr::Aggregate {
                indicator, years, ..
            } => {
                for back in 1..=u16::from(*years) {
                    push(self.indicator_used(*indicator, self.comp.year(back)));
                }
            }
            Expr::Growth { indicator, year } => {
                let y = self.comp.year(u16::from(year.0));
                push(self.indicator_used(*indicator, y));
                push(self.indicator_used(*indicator, y - 1));
            }
            Expr::AgeYears => push(Self::plain(
                "成立日期",
                self.f.e.founded.map(|d| d.to_string()),
            )),
            Expr::Arith { left, right, .. } => {
                self.values_of(left, out);
                self.values_of(right, out);
            }
            Expr::Min { args } | Expr::Max { args } => {
                for a in args {
                    self.values_of(a, out);
                }
            }
            Expr::Tiers { basis, bands } => {
                self.values_of(basis, out);
                for b in bands {
                    self.values_of(&b.amount, out);
                }
            }
        }
    }

    /// What is missing for an undetermined comparison.
    fn missing(&self, exprs: &[&Expr]) -> Vec<String> {
        let mut vals = Vec::new();
        for e in exprs {
            self.values_of(e, &mut vals);
        }
        let mut out = Vec::new();
        for v in vals.iter().filter(|v| v.value.is_none()) {
            match v.year {
                Some(_) => {
                    let kind = IndicatorKind::ALL
                        .into_iter()
                        .find(|k| v.label.ends_with(k.label()));
                    out.push(format!(
                        "缺少{}数据（需{}部门共享）",
                        v.label,
                        kind.map_or("相关", sharing_departments)
                    ));
                }
                None => out.push(format!("缺少{}", v.label)),
            }
        }
        if out.is_empty() {
            // Every figure is present, yet the result is unknown: a division
            // by zero (e.g. a growth rate over a base year of 0) or overflow.
            out.push("除数为零（如增长率的基期数为0）或数值超出范围，无法判断".into());
        }
        out
    }

    fn cond(&self, c: &Cond) -> CondExplanation {
        let t = self.texts();
        let v = self.verdict(c);
        let mut values = Vec::new();
        let mut children = Vec::new();
        let mut hint = None;
        let e = self.f.e;
        match c {
            Cond::And { all } => children = all.iter().map(|x| self.cond(x)).collect(),
            Cond::Or { any } => children = any.iter().map(|x| self.cond(x)).collect(),
            Cond::Not { cond } => {
                let inner = self.cond(cond);
                if v == Tri::False {
                    hint = Some(format!("“{}”成立，本条要求其不成立", inner.text));
                }
                children.push(inner);
            }
            Cond::SizeIn { sizes } => {
                let have = e.size_class.map(|s| s.label().to_owned());
                values.push(Self::plain("企业规模", have.clone()));
                let want: Vec<_> = sizes.iter().map(|s| s.label()).collect();
                hint = match (v, have) {
                    (Tri::Unknown, _) => Some(
                        "企业规模未划型（缺少从业人员、营业收入等划型数据，需统计部门共享）".into(),
                    ),
                    (Tri::False, Some(h)) => {
                        Some(format!("企业规模为{h}，要求 {}", want.join("、")))
                    }
                    _ => None,
                };
                debug_assert!(v != Tri::Unknown || self.f.size == SIZE_UNKNOWN);
            }
            Cond::AreaIn { areas } => {
                let name = self
                    .rd
                    .area(&e.area)
                    .map_or_else(|| e.area.clone(), |a| a.name.clone());
                values.push(Self::plain("所在区域", Some(name.clone())));
                if v == Tri::False {
                    hint = Some(format!(
                        "企业所在区域为{name}，不在 {} 范围内",
                        t.area_names(areas)
                    ));
                }
            }
            Cond::IndustryIn { codes } => {
                let name = t.industry_name(&e.industry);
                values.push(Self::plain("所属行业", Some(name.clone())));
                if v == Tri::False {
                    let want: Vec<_> = codes.iter().map(|c| t.industry_name(c)).collect();
                    hint = Some(format!("企业所属行业为 {name}，要求 {}", want.join("、")));
                }
            }
            Cond::HasTag { tag } => {
                values.push(Self::plain(
                    "标签",
                    Some(if e.tags.is_empty() {
                        "无".into()
                    } else {
                        e.tags.join("、")
                    }),
                ));
                if v == Tri::False {
                    hint = Some(format!("企业没有“{tag}”标签"));
                }
            }
            Cond::CertValid { name } => {
                let mine: Vec<_> = e
                    .certifications
                    .iter()
                    .filter(|c| &c.name == name)
                    .collect();
                for c in &mine {
                    values.push(Self::plain(
                        &format!("{}有效期", c.name),
                        Some(format!(
                            "{} 至 {}",
                            c.valid_from,
                            c.valid_to.map_or("长期".into(), |d| d.to_string())
                        )),
                    ));
                }
                if v == Tri::False {
                    hint = Some(if mine.is_empty() {
                        format!("未取得“{name}”资质")
                    } else {
                        format!("“{name}”资质在评估日 {} 不在有效期内", self.comp.today)
                    });
                }
            }
            Cond::InForceUntil { until } => {
                if v == Tri::False {
                    hint = Some(format!(
                        "政策已于 {until} 到期（评估日 {}）",
                        self.comp.today
                    ));
                }
            }
            Cond::Cmp { op, left, right } => {
                self.values_of(left, &mut values);
                self.values_of(right, &mut values);
                hint = match v {
                    Tri::Unknown => Some(self.missing(&[left, right]).join("；")),
                    Tri::False => Some(self.cmp_hint(*op, left, right)),
                    Tri::True => None,
                };
            }
        }
        CondExplanation {
            text: t.cond(c),
            verdict: v.verdict(),
            values,
            hint,
            children,
        }
    }

    /// "上年度营业收入 1,850万元，差 150万元 达到 2,000万元".
    fn cmp_hint(&self, op: CmpOp, left: &Expr, right: &Expr) -> String {
        let t = self.texts();
        let (lv, rv) = (self.value(left), self.value(right));
        let dim = dim_of(left);
        let name = t.expr(left);
        let have = fmt_value(lv, dim);
        let want = fmt_value(rv, dim);
        let gap = fmt_value(rv.sub(lv), dim);
        let over = fmt_value(lv.sub(rv), dim);
        match op {
            CmpOp::Ge => format!("{name} {have}，差 {gap} 达到 {want}"),
            CmpOp::Gt => format!("{name} {have}，需超过 {want}（差 {gap} 以上）"),
            CmpOp::Le => format!("{name} {have}，超出上限 {want} {over}"),
            CmpOp::Lt => format!("{name} {have}，需低于 {want}（超出 {over}）"),
            CmpOp::Eq => format!("{name} {have}，要求等于 {want}"),
            CmpOp::Ne => format!("{name} {have}，要求不等于 {want}"),
        }
    }

    /// The formula with the figures put in and intermediate results shown.
    fn amount_text(&self, a: &Expr, amount: Option<i64>) -> String {
        if let Expr::Lit { value, dim } = a {
            return format!("定额 {}", fmt_num(*value, *dim));
        }
        let body = self.render(a);
        match amount {
            Some(f) => format!("{body} = {}", Amount::from_fen(f)),
            None => format!("{body} = 无法计算"),
        }
    }

    fn render(&self, e: &Expr) -> String {
        let t = self.texts();
        let dim = dim_of(e);
        match e {
            Expr::Lit { value, dim } => fmt_num(*value, *dim),
            Expr::Indicator { indicator, year } => {
                let y = self.comp.year(u16::from(year.0));
                format!(
                    "{y}年{} {}",
                    indicator.label(),
                    fmt_value(self.value(e), dim)
                )
            }
            Expr::Aggregate { .. } | Expr::Growth { .. } | Expr::AgeYears => {
                format!("{} {}", t.expr(e), fmt_value(self.value(e), dim))
            }
            Expr::Arith { op, left, right } => {
                let sym = match op {
                    ArithOp::Add => "+",
                    ArithOp::Sub => "−",
                    ArithOp::Mul => "×",
                    ArithOp::Div => "÷",
                };
                let side = |x: &Expr| match x {
                    Expr::Arith { .. } => format!("({})", self.render(x)),
                    _ => self.render(x),
                };
                format!("{} {sym} {}", side(left), side(right))
            }
            Expr::Min { args } | Expr::Max { args } => {
                let f = if matches!(e, Expr::Min { .. }) {
                    "min"
                } else {
                    "max"
                };
                let parts: Vec<String> = args
                    .iter()
                    .map(|x| match x {
                        Expr::Lit { .. } | Expr::Indicator { .. } => self.render(x),
                        _ => format!(
                            "{} = {}",
                            self.render(x),
                            fmt_value(self.value(x), dim_of(x))
                        ),
                    })
                    .collect();
                format!("{f}({})", parts.join(", "))
            }
            Expr::Tiers { basis, bands } => {
                let b = self.value(basis);
                let compiled: Vec<(Q, crate::row::CExpr)> = bands
                    .iter()
                    .map(|x| (Q::from_num(x.from), self.comp.expr(&x.amount)))
                    .collect();
                let pick = match tier_index(b, &compiled) {
                    TierPick::Unknown => "档位无法确定".to_owned(),
                    TierPick::Below => "低于最低档，得 0".to_owned(),
                    TierPick::Band(i) => format!(
                        "落在 ≥{} 档，得 {}",
                        fmt_num(bands[i].from, dim_of(basis)),
                        self.render(&bands[i].amount)
                    ),
                };
                format!("{}（{pick}）", self.render(basis))
            }
        }
    }
}

impl RuleSet {
    /// The Chinese text of a rule's top-level conditions (for lists and the
    /// sandbox), without evaluating anything.
    pub fn describe_rule(rule: &Rule, ctx: &crate::row::Context<'_>) -> Vec<String> {
        match &rule.condition {
            Cond::And { all } => all.iter().map(|c| describe(c, ctx)).collect(),
            c => vec![describe(c, ctx)],
        }
    }
}
