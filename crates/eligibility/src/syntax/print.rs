//! The canonical text of a rule: what the parser reads back to the same
//! AST. Area codes become names, money the shortest exact unit, ratios %.

use zhengqi_domain::reference::ReferenceData;

use super::check::infer_dim;
use super::fields::{agg_text, is_reserved, year_text};
use super::lexer::{Tok, curly_balanced, lex};
use super::units::literal_text;
use crate::ast::{ArithOp, Cond, Dim, Expr, Rule};
use crate::num::Num;

/// The rule as text: one condition per line, then `金额 = …`.
pub fn to_text(rule: &Rule, rd: &ReferenceData) -> String {
    let amount = rule
        .amount
        .as_ref()
        .map(|a| format!("金额 = {}", expr_to_text(a)));
    match (&rule.condition, amount) {
        (Cond::And { all }, Some(a)) if all.is_empty() => a,
        (c, Some(a)) => format!("{}\n{a}", cond_to_text(c, rd)),
        (c, None) => cond_to_text(c, rd),
    }
}

/// A condition as text; a top-level 且 of two or more parts is written one
/// part per line.
pub fn cond_to_text(c: &Cond, rd: &ReferenceData) -> String {
    let p = Printer { rd };
    match c {
        Cond::And { all } if all.len() >= 2 => all
            .iter()
            .map(|x| p.cond(x, Ctx::Line))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => p.cond(c, Ctx::Line),
    }
}

/// A formula as text.
pub fn expr_to_text(e: &Expr) -> String {
    expr(e).0
}

/// Where a condition is printed: decides the parentheses.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Ctx {
    Line,
    OrItem,
    AndItem,
}

struct Printer<'a> {
    rd: &'a ReferenceData,
}

/// A name as a single token: bare when it reads back as the same word,
/// quoted otherwise.
fn name_token(s: &str) -> String {
    let plain = matches!(lex(s, false).as_deref(), Ok([t, e])
        if t.tok == Tok::Ident(s.to_string()) && e.tok == Tok::Eof)
        && !is_reserved(s);
    if plain {
        s.to_string()
    } else if !s.contains('"') || !curly_balanced(s) {
        format!("\"{s}\"")
    } else {
        format!("“{s}”")
    }
}

fn list(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(", "))
}

impl Printer<'_> {
    fn cond(&self, c: &Cond, ctx: Ctx) -> String {
        match c {
            Cond::And { all } if all.len() >= 2 => {
                let s = all
                    .iter()
                    .map(|x| self.cond(x, Ctx::AndItem))
                    .collect::<Vec<_>>()
                    .join(" 且 ");
                if ctx == Ctx::AndItem {
                    format!("({s})")
                } else {
                    s
                }
            }
            Cond::Or { any } if any.len() >= 2 => {
                let s = any
                    .iter()
                    .map(|x| self.cond(x, Ctx::OrItem))
                    .collect::<Vec<_>>()
                    .join(" 或 ");
                if ctx == Ctx::Line {
                    s
                } else {
                    format!("({s})")
                }
            }
            Cond::And { all } => self.group("全部", all),
            Cond::Or { any } => self.group("任一", any),
            Cond::Not { cond } => {
                let inner = match &**cond {
                    Cond::And { all: v } | Cond::Or { any: v } if v.len() >= 2 => {
                        format!("({})", self.cond(cond, Ctx::Line))
                    }
                    other => self.cond(other, Ctx::AndItem),
                };
                format!("非 {inner}")
            }
            Cond::SizeIn { sizes } => format!(
                "企业规模 属于 {}",
                list(sizes.iter().map(|s| s.label().to_string()))
            ),
            Cond::AreaIn { areas } => format!(
                "区域 属于 {}",
                list(areas.iter().map(|code| match self.rd.area(code) {
                    Some(a) if a.code == *code => name_token(&a.name),
                    _ => name_token(code),
                }))
            ),
            Cond::IndustryIn { codes } => format!(
                "行业 属于 {}",
                list(codes.iter().map(|code| match self.rd.industry(code) {
                    Some(i) if i.code == *code && !i.is_section() =>
                        format!("{}{}", i.section, i.code),
                    Some(i) if i.code == *code => i.code.clone(),
                    _ => name_token(code),
                }))
            ),
            Cond::HasTag { tag } => format!("标签 {}", name_token(tag)),
            Cond::CertValid { name } => format!("资质 {} 有效", name_token(name)),
            Cond::InForceUntil { until } => format!("有效期至 {}", until.format("%Y-%m-%d")),
            Cond::Cmp { op, left, right } => {
                format!("{} {} {}", expr(left).0, op.symbol(), expr(right).0)
            }
        }
    }

    fn group(&self, word: &str, items: &[Cond]) -> String {
        let inner: Vec<String> = items.iter().map(|x| self.cond(x, Ctx::Line)).collect();
        format!("{word}({})", inner.join(", "))
    }
}

/// Precedence of a printed formula: 1 `+ -`, 2 `× ÷`, 3 atoms.
fn expr(e: &Expr) -> (String, u8) {
    match e {
        Expr::Lit { value, dim } => (lit(*value, *dim), 3),
        Expr::Indicator { indicator, year } => {
            (format!("{}.{}", year_text(year.0), indicator.label()), 3)
        }
        Expr::Growth { indicator, year } => (
            format!("{}.{}增长率", year_text(year.0), indicator.label()),
            3,
        ),
        Expr::Aggregate {
            indicator,
            agg,
            years,
        } => (
            format!("{}.{}", agg_text(*agg, *years), indicator.label()),
            3,
        ),
        Expr::AgeYears => ("成立年限".to_string(), 3),
        Expr::Arith { op, left, right } => {
            let (sym, prec) = match op {
                ArithOp::Add => ("+", 1),
                ArithOp::Sub => ("-", 1),
                ArithOp::Mul => ("×", 2),
                ArithOp::Div => ("÷", 2),
            };
            let (l, lp) = expr(left);
            let (r, rp) = expr(right);
            // Left-associative: a right operand of equal precedence needs
            // parentheses to keep its grouping.
            let l = if lp < prec { format!("({l})") } else { l };
            let r = if rp <= prec { format!("({r})") } else { r };
            (format!("{l} {sym} {r}"), prec)
        }
        Expr::Min { args } | Expr::Max { args } => {
            let f = if matches!(e, Expr::Min { .. }) {
                "min"
            } else {
                "max"
            };
            let a: Vec<String> = args.iter().map(|x| expr(x).0).collect();
            (format!("{f}({})", a.join(", ")), 3)
        }
        Expr::Tiers { basis, bands } => {
            let dim = infer_dim(basis).unwrap_or(Dim::Count);
            let mut parts = vec![expr(basis).0];
            for b in bands {
                parts.push(format!("{}: {}", lit(b.from, dim), expr(&b.amount).0));
            }
            (format!("阶梯({})", parts.join("; ")), 3)
        }
    }
}

fn lit(value: Num, dim: Dim) -> String {
    // An unprintable literal only occurs in ASTs the checker rejects; show
    // it as a fraction rather than fail.
    literal_text(value, dim).unwrap_or_else(|| format!("{}/{}", value.numer(), value.denom()))
}
