//! The rule AST: what a policy's conditions and amount *mean*, shared by the
//! text syntax (`syntax`), the JSON form (serde on these types), the row
//! evaluator (`row`) and the columnar batch evaluator (`batch`).
//!
//! Semantics (both evaluators must agree exactly; a property test checks it):
//! - Logic is three-valued (Kleene): a condition is 符合 / 不符合 / 无法判断.
//!   A missing figure is never 0 and never false: it makes a comparison
//!   unknown. `And` is false if any part is false, else unknown if any part
//!   is unknown, else true; `Or` dually; `Not` swaps true/false and keeps
//!   unknown. An empty `And` is true, an empty `Or` false.
//! - Known-by-construction facts: area, industry, tags and certifications
//!   are always known (an enterprise without a tag does not have it). The
//!   size class and the founding date may be missing → unknown.
//! - Numbers are exact rationals ([`Num`]) in the dimension's base unit:
//!   money in 分, persons, land in 0.01 亩 (as indicators are stored),
//!   years, ratios as fractions (10% = 1/10). Arithmetic with an unknown
//!   operand is unknown; division by zero is unknown (a growth rate over a
//!   zero base year is undetermined, not infinite).
//! - Relative years count back from the evaluation date's calendar year:
//!   `back = 1` is 上年度, `2` is 前年, `0` 本年度.
//! - The rule evaluated for an enterprise is `And([policy tag conditions…,
//!   staff conditions])`; amounts are computed only for eligible (true)
//!   enterprises, and an amount that evaluates to unknown makes the
//!   enterprise's amount unknown (its verdict stays eligible).
//! - The final amount is rounded to whole 分 with [`Num::round_fen`]
//!   (四舍五入) and a negative amount is treated as 0.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use zhengqi_domain::enterprise::IndicatorKind;
use zhengqi_domain::size::SizeClass;

use crate::num::Num;

/// What a number measures. Comparisons and `+`/`-` need equal dimensions;
/// `×`/`÷` by a [`Dim::Ratio`] or [`Dim::Count`] keep the other side's
/// dimension; `Money ÷ Money` (and any same-dimension quotient) is a Ratio.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    /// 分 (literals written in 元/万元/亿元).
    Money,
    /// 人.
    Persons,
    /// 0.01 亩 (literals written in 亩).
    Land,
    /// 年 (ages).
    Years,
    /// A pure fraction; literals written with `%` (10% = 1/10).
    Ratio,
    /// A plain number without unit (multipliers such as `× 2`).
    Count,
}

impl Dim {
    /// The dimension an indicator's stored integer is in.
    pub fn of_indicator(kind: IndicatorKind) -> Dim {
        match kind {
            IndicatorKind::Employees => Dim::Persons,
            IndicatorKind::LandArea => Dim::Land,
            _ => Dim::Money,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Dim::Money => "金额",
            Dim::Persons => "人数",
            Dim::Land => "面积",
            Dim::Years => "年数",
            Dim::Ratio => "比例",
            Dim::Count => "数值",
        }
    }
}

/// A year relative to the evaluation date.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct YearBack(pub u8);

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// 近N年合计: the sum over years back 1..=N; unknown if any year is missing.
    Sum,
    /// 近N年平均: the sum ÷ N (exact); unknown if any year is missing.
    Avg,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// A numeric expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Expr {
    /// A literal in `dim`'s base unit (`2000万元` → 2,000,000,000 分).
    Lit { value: Num, dim: Dim },
    /// One indicator of one relative year, e.g. 上年度.营业收入.
    Indicator {
        indicator: IndicatorKind,
        year: YearBack,
    },
    /// 近N年合计/平均 over years back 1..=years (years ≥ 1).
    Aggregate {
        indicator: IndicatorKind,
        agg: Aggregate,
        years: u8,
    },
    /// Growth rate (v(y) − v(y+1 back)) ÷ v(y+1 back), a Ratio, e.g.
    /// 上年度.营业收入增长率 compares 上年度 with 前年. Unknown if either
    /// figure is missing or the earlier one is 0.
    Growth {
        indicator: IndicatorKind,
        year: YearBack,
    },
    /// 成立年限: full years from the founding date to the evaluation date
    /// (a birthday-style count: founded 2020-03-01 is 1 on 2021-03-01).
    AgeYears,
    Arith {
        op: ArithOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// Smallest of the arguments (≥ 1, all of one dimension); unknown if
    /// any argument is unknown.
    Min { args: Vec<Expr> },
    /// Largest of the arguments; unknown if any is unknown.
    Max { args: Vec<Expr> },
    /// 阶梯: the amount of the last band whose lower bound (inclusive) is
    /// ≤ `basis`; below the first band → 0 of the bands' dimension. Bands are
    /// sorted by strictly increasing `from`, all `from` of the basis's
    /// dimension and all `amount` of one dimension. Unknown basis → unknown.
    Tiers { basis: Box<Expr>, bands: Vec<Band> },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Band {
    pub from: Num,
    pub amount: Expr,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CmpOp {
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Ge => ">=",
            CmpOp::Gt => ">",
            CmpOp::Le => "<=",
            CmpOp::Lt => "<",
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
        }
    }
}

/// A condition.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cond {
    And {
        all: Vec<Cond>,
    },
    Or {
        any: Vec<Cond>,
    },
    Not {
        cond: Box<Cond>,
    },
    /// 企业规模 属于 [...]; unknown when the size class is not known.
    SizeIn {
        sizes: Vec<SizeClass>,
    },
    /// 区域 属于 [...]: area codes (resolved from names when parsing); true
    /// when the enterprise's area is one of them or lies within one
    /// (ReferenceData::area_within), so 珠海市 covers every district.
    AreaIn {
        areas: Vec<String>,
    },
    /// 行业 属于 [...]: GB/T 4754 codes as prefixes: a section letter `C`
    /// (制造业) or a division `39` / `C39` (stored as "39").
    IndustryIn {
        codes: Vec<String>,
    },
    /// 标签 X: the enterprise carries tag X (e.g. 链主企业, 失信企业).
    HasTag {
        tag: String,
    },
    /// 资质 X 有效: a certification named X valid on the evaluation date.
    CertValid {
        name: String,
    },
    /// The policy is still in force on the evaluation date (from the
    /// 有效期至 tag): evaluation date ≤ until. Known for every enterprise.
    InForceUntil {
        until: NaiveDate,
    },
    Cmp {
        op: CmpOp,
        left: Expr,
        right: Expr,
    },
}

/// A policy's machine-readable rule: the conditions staff wrote and the
/// amount formula (absent for policies that grant no money, e.g. 认定).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rule {
    pub condition: Cond,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Expr>,
}
