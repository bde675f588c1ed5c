//! The type checker: dimensions (金额、人数…) must fit together, lists must
//! be non-empty, tiers increasing, literals exact. Text rules are checked
//! with the spans the parser recorded; JSON rules with a path.

use std::ops::Range;

use zhengqi_domain::reference::ReferenceData;

use super::error::RuleError;
use super::lexer::curly_balanced;
use super::units::{is_normal, literal_printable};
use crate::ast::{ArithOp, Cond, Dim, Expr, Rule};
use crate::num::Num;

/// Deeper rules are rejected rather than risking the stack.
pub(crate) const MAX_DEPTH: usize = 64;
/// Relative years and 近N年 are bounded: data goes back no further.
pub(crate) const MAX_YEARS: u8 = 20;

/// Source positions of an AST node and its children, in the order the
/// checker visits them (see [`Checker`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct Spans {
    pub span: Range<usize>,
    pub kids: Vec<Spans>,
}

impl Spans {
    pub fn leaf(span: Range<usize>) -> Spans {
        Spans {
            span,
            kids: Vec::new(),
        }
    }
    fn kid(this: Option<&Spans>, i: usize) -> Option<&Spans> {
        this.and_then(|s| s.kids.get(i))
    }
}

/// The dimension of `op` applied to `l` and `r`, or why it does not fit.
/// Same dimensions divide to a Ratio; a Count or Ratio factor keeps the
/// other side's dimension (Count first, so Ratio × 2 is a Ratio).
pub(crate) fn combine(op: ArithOp, l: Dim, r: Dim) -> Result<Dim, String> {
    let scalar = |d: Dim| matches!(d, Dim::Count | Dim::Ratio);
    match op {
        ArithOp::Add | ArithOp::Sub if l == r => Ok(l),
        ArithOp::Add | ArithOp::Sub => Err(format!(
            "不能把{}和{}相{}，加减两边应是同一类数值",
            l.label(),
            r.label(),
            if op == ArithOp::Add { "加" } else { "减" }
        )),
        ArithOp::Mul if l == Dim::Count => Ok(r),
        ArithOp::Mul if r == Dim::Count => Ok(l),
        ArithOp::Mul if l == Dim::Ratio => Ok(r),
        ArithOp::Mul if r == Dim::Ratio => Ok(l),
        ArithOp::Mul => Err(format!(
            "不能把{}和{}相乘，乘数之一应是百分比或不带单位的数",
            l.label(),
            r.label()
        )),
        ArithOp::Div if l == r => Ok(Dim::Ratio),
        ArithOp::Div if scalar(r) => Ok(l),
        ArithOp::Div => Err(format!(
            "不能用{}除以{}，除数应是同类数值、百分比或不带单位的数",
            l.label(),
            r.label()
        )),
    }
}

/// Best-effort dimension, `None` when ill-typed (used by the parser for unit
/// hints and by the printer for tier bounds).
pub(crate) fn infer_dim(e: &Expr) -> Option<Dim> {
    infer(e, 0)
}

fn infer(e: &Expr, depth: usize) -> Option<Dim> {
    if depth > MAX_DEPTH {
        return None;
    }
    match e {
        Expr::Lit { dim, .. } => Some(*dim),
        Expr::Indicator { indicator, .. } | Expr::Aggregate { indicator, .. } => {
            Some(Dim::of_indicator(*indicator))
        }
        Expr::Growth { .. } => Some(Dim::Ratio),
        Expr::AgeYears => Some(Dim::Years),
        Expr::Arith { op, left, right } => {
            combine(*op, infer(left, depth + 1)?, infer(right, depth + 1)?).ok()
        }
        Expr::Min { args } | Expr::Max { args } => {
            let first = infer(args.first()?, depth + 1)?;
            args.iter()
                .all(|a| infer(a, depth + 1) == Some(first))
                .then_some(first)
        }
        Expr::Tiers { bands, .. } => infer(&bands.first()?.amount, depth + 1),
    }
}

pub(crate) struct Checker<'a> {
    /// Source text when checking a parsed rule (errors get positions).
    src: Option<&'a str>,
    rd: Option<&'a ReferenceData>,
    pub errors: Vec<RuleError>,
}

impl<'a> Checker<'a> {
    pub fn new(src: Option<&'a str>, rd: Option<&'a ReferenceData>) -> Checker<'a> {
        Checker {
            src,
            rd,
            errors: Vec::new(),
        }
    }

    fn err(&mut self, sp: Option<&Spans>, path: &str, msg: String, expected: Vec<String>) {
        let e = match (self.src, sp) {
            (Some(src), Some(sp)) => RuleError::at(src, sp.span.clone(), msg),
            _ => RuleError::at_path(path, msg),
        };
        self.errors.push(e.expecting(expected));
    }

    pub fn rule(&mut self, r: &Rule, cond_sp: Option<&Spans>, amount_sp: Option<&Spans>) {
        self.cond(&r.condition, cond_sp, "condition", 0);
        if let Some(a) = &r.amount
            && let Some(d) = self.expr(a, amount_sp, "amount", 0)
            && d != Dim::Money
        {
            self.err(
                amount_sp,
                "amount",
                format!("金额公式的结果应是金额，这里是{}", d.label()),
                vec![Dim::Money.label().to_string()],
            );
        }
    }

    fn name(&mut self, sp: Option<&Spans>, path: &str, what: &str, name: &str) {
        let bad = name.trim().is_empty()
            || name.trim() != name
            || name.chars().any(char::is_control)
            || (name.contains('"') && !curly_balanced(name));
        if bad {
            self.err(
                sp,
                path,
                format!("{what}名称“{name}”无效：不能为空、首尾不能有空格、不能含换行；含 \" 时其中的“”须成对"),
                vec![format!("{what}名称")],
            );
        }
    }

    pub fn cond(&mut self, c: &Cond, sp: Option<&Spans>, path: &str, depth: usize) {
        if depth > MAX_DEPTH {
            self.err(
                sp,
                path,
                format!("条件嵌套过深（超过{MAX_DEPTH}层）"),
                Vec::new(),
            );
            return;
        }
        match c {
            Cond::And { all: items } | Cond::Or { any: items } => {
                let key = if matches!(c, Cond::And { .. }) {
                    "all"
                } else {
                    "any"
                };
                for (i, x) in items.iter().enumerate() {
                    self.cond(
                        x,
                        Spans::kid(sp, i),
                        &format!("{path}.{key}[{i}]"),
                        depth + 1,
                    );
                }
            }
            Cond::Not { cond } => {
                self.cond(cond, Spans::kid(sp, 0), &format!("{path}.cond"), depth + 1)
            }
            Cond::SizeIn { sizes } => {
                if sizes.is_empty() {
                    self.empty_list(sp, path, "企业规模");
                }
            }
            Cond::AreaIn { areas } => {
                if areas.is_empty() {
                    self.empty_list(sp, path, "区域");
                }
                if let Some(rd) = self.rd {
                    for (i, a) in areas.iter().enumerate() {
                        if rd.area(a).is_none_or(|x| x.code != *a) {
                            let names = rd.areas.iter().map(|a| a.code.clone()).collect();
                            self.err(
                                sp,
                                &format!("{path}.areas[{i}]"),
                                format!("未知区域编码“{a}”"),
                                names,
                            );
                        }
                    }
                }
            }
            Cond::IndustryIn { codes } => {
                if codes.is_empty() {
                    self.empty_list(sp, path, "行业");
                }
                if let Some(rd) = self.rd {
                    for (i, code) in codes.iter().enumerate() {
                        if rd.industry(code).is_none_or(|x| x.code != *code) {
                            self.err(
                                sp,
                                &format!("{path}.codes[{i}]"),
                                format!("行业代码“{code}”无效：应为门类字母或两位大类代码"),
                                vec!["C".into(), "39".into()],
                            );
                        }
                    }
                }
            }
            Cond::HasTag { tag } => self.name(sp, &format!("{path}.tag"), "标签", tag),
            Cond::CertValid { name } => self.name(sp, &format!("{path}.name"), "资质", name),
            Cond::InForceUntil { .. } => {}
            Cond::Cmp { op, left, right } => {
                let l = self.expr(left, Spans::kid(sp, 0), &format!("{path}.left"), depth + 1);
                let r = self.expr(
                    right,
                    Spans::kid(sp, 1),
                    &format!("{path}.right"),
                    depth + 1,
                );
                if let (Some(l), Some(r)) = (l, r)
                    && l != r
                {
                    self.err(
                        sp,
                        path,
                        format!(
                            "“{}”两边类型不一致：左边是{}，右边是{}",
                            op.symbol(),
                            l.label(),
                            r.label()
                        ),
                        vec![l.label().to_string()],
                    );
                }
            }
        }
    }

    fn empty_list(&mut self, sp: Option<&Spans>, path: &str, what: &str) {
        self.err(
            sp,
            path,
            format!("{what}列表不能为空"),
            vec![format!("至少一个{what}")],
        );
    }

    fn years(&mut self, sp: Option<&Spans>, path: &str, n: u8, min: u8) {
        if n < min || n > MAX_YEARS {
            self.err(
                sp,
                path,
                format!("年数 {n} 超出范围：应在 {min} 到 {MAX_YEARS} 之间"),
                vec![format!("{min}–{MAX_YEARS}")],
            );
        }
    }

    fn literal(&mut self, sp: Option<&Spans>, path: &str, value: Num, dim: Dim) -> bool {
        if !is_normal(value) {
            self.err(
                sp,
                path,
                "数值无效：分母应为正数且为最简分数".to_string(),
                Vec::new(),
            );
            return false;
        }
        if dim == Dim::Money && !value.is_integer() {
            self.err(
                sp,
                path,
                "金额最小单位为分，不能有不足一分的零头".to_string(),
                vec!["整数分".to_string()],
            );
            return false;
        }
        if !literal_printable(value, dim) {
            self.err(
                sp,
                path,
                format!("数值 {value} 无法写成有限小数（或过大）"),
                vec!["有限小数".to_string()],
            );
            return false;
        }
        true
    }

    /// The dimension of `e`, `None` after reporting an error inside it.
    pub fn expr(&mut self, e: &Expr, sp: Option<&Spans>, path: &str, depth: usize) -> Option<Dim> {
        if depth > MAX_DEPTH {
            self.err(
                sp,
                path,
                format!("公式嵌套过深（超过{MAX_DEPTH}层）"),
                Vec::new(),
            );
            return None;
        }
        match e {
            Expr::Lit { value, dim } => self.literal(sp, path, *value, *dim).then_some(*dim),
            Expr::Indicator { indicator, year } => {
                self.years(sp, &format!("{path}.year"), year.0, 0);
                Some(Dim::of_indicator(*indicator))
            }
            Expr::Growth { year, .. } => {
                self.years(sp, &format!("{path}.year"), year.0, 0);
                Some(Dim::Ratio)
            }
            Expr::Aggregate {
                indicator, years, ..
            } => {
                self.years(sp, &format!("{path}.years"), *years, 1);
                Some(Dim::of_indicator(*indicator))
            }
            Expr::AgeYears => Some(Dim::Years),
            Expr::Arith { op, left, right } => {
                let l = self.expr(left, Spans::kid(sp, 0), &format!("{path}.left"), depth + 1);
                let r = self.expr(
                    right,
                    Spans::kid(sp, 1),
                    &format!("{path}.right"),
                    depth + 1,
                );
                match combine(*op, l?, r?) {
                    Ok(d) => Some(d),
                    Err(msg) => {
                        self.err(sp, path, msg, Vec::new());
                        None
                    }
                }
            }
            Expr::Min { args } | Expr::Max { args } => {
                let f = if matches!(e, Expr::Min { .. }) {
                    "min"
                } else {
                    "max"
                };
                if args.is_empty() {
                    self.err(
                        sp,
                        path,
                        format!("{f}(…) 至少需要一个参数"),
                        vec!["参数".to_string()],
                    );
                    return None;
                }
                let dims: Vec<Option<Dim>> = args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        self.expr(
                            a,
                            Spans::kid(sp, i),
                            &format!("{path}.args[{i}]"),
                            depth + 1,
                        )
                    })
                    .collect();
                let dims: Option<Vec<Dim>> = dims.into_iter().collect();
                let dims = dims?;
                let first = dims[0];
                if let Some((i, d)) = dims.iter().enumerate().find(|(_, d)| **d != first) {
                    self.err(
                        Spans::kid(sp, i),
                        &format!("{path}.args[{i}]"),
                        format!(
                            "{f}(…) 的参数应是同一类数值：第1个是{}，第{}个是{}",
                            first.label(),
                            i + 1,
                            d.label()
                        ),
                        vec![first.label().to_string()],
                    );
                    return None;
                }
                Some(first)
            }
            Expr::Tiers { basis, bands } => {
                let bd = self.expr(
                    basis,
                    Spans::kid(sp, 0),
                    &format!("{path}.basis"),
                    depth + 1,
                );
                if bands.is_empty() {
                    self.err(
                        sp,
                        path,
                        "阶梯至少需要一档".to_string(),
                        vec!["起点: 金额".to_string()],
                    );
                    return None;
                }
                let mut amount_dim: Option<Dim> = None;
                let mut ok = bd.is_some();
                for (i, b) in bands.iter().enumerate() {
                    let from_sp = Spans::kid(sp, 1 + 2 * i);
                    let from_path = format!("{path}.bands[{i}].from");
                    if let Some(bd) = bd {
                        ok &= self.literal(from_sp, &from_path, b.from, bd);
                    }
                    if i > 0
                        && is_normal(b.from)
                        && is_normal(bands[i - 1].from)
                        && b.from <= bands[i - 1].from
                    {
                        self.err(
                            from_sp,
                            &from_path,
                            format!(
                                "阶梯的起点应从小到大排列：第{}档的起点不大于第{}档",
                                i + 1,
                                i
                            ),
                            vec!["递增的起点".to_string()],
                        );
                        ok = false;
                    }
                    let amt_sp = Spans::kid(sp, 2 + 2 * i);
                    let amt_path = format!("{path}.bands[{i}].amount");
                    match (
                        self.expr(&b.amount, amt_sp, &amt_path, depth + 1),
                        amount_dim,
                    ) {
                        (None, _) => ok = false,
                        (Some(d), None) => amount_dim = Some(d),
                        (Some(d), Some(first)) if d != first => {
                            self.err(
                                amt_sp,
                                &amt_path,
                                format!(
                                    "阶梯各档的金额应是同一类数值：第1档是{}，第{}档是{}",
                                    first.label(),
                                    i + 1,
                                    d.label()
                                ),
                                vec![first.label().to_string()],
                            );
                            ok = false;
                        }
                        _ => {}
                    }
                }
                if ok { amount_dim } else { None }
            }
        }
    }
}

/// Checks a rule that did not come from text (e.g. JSON from the API):
/// dimensions, non-empty lists, increasing tiers, exact literals, bounded
/// years and depth. Errors carry a JSON path.
pub fn check_rule(rule: &Rule) -> Result<(), Vec<RuleError>> {
    let mut c = Checker::new(None, None);
    c.rule(rule, None, None);
    if c.errors.is_empty() {
        Ok(())
    } else {
        Err(c.errors)
    }
}

/// [`check_rule`] plus reference checks: area codes exist and industry
/// codes are canonical (a section letter or a two-digit division).
pub fn validate_rule(rule: &Rule, rd: &ReferenceData) -> Result<(), Vec<RuleError>> {
    let mut c = Checker::new(None, Some(rd));
    c.rule(rule, None, None);
    if c.errors.is_empty() {
        Ok(())
    } else {
        Err(c.errors)
    }
}
