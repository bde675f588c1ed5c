//! The text syntax of the rule language (see `docs/rules.md`): parser,
//! type checker, canonical printer, JSON helpers, the field catalogue and
//! the conditions implied by a policy's header tags.
//!
//! ```text
//! 企业规模 属于 [中型, 小型, 微型]
//! 区域 属于 [香洲区, 横琴]
//! 上年度.营业收入 >= 2000万元 且 成立年限 >= 1 且 非 标签 失信企业
//! 金额 = min(上年度.研发投入 × 10%, 100万元)
//! ```

mod check;
mod error;
mod fields;
mod json;
mod lexer;
mod parser;
mod policy;
mod print;
#[cfg(test)]
mod tests;
mod units;

use zhengqi_domain::reference::ReferenceData;

pub use check::{check_rule, validate_rule};
pub use error::{RuleError, format_errors};
pub use fields::{FieldDoc, fields};
pub use policy::{policy_rule, tag_conditions, tag_conditions_of};
pub use print::{cond_to_text, expr_to_text, to_text};

use crate::ast::{Cond, Expr, Rule};
use check::Checker;
use parser::Parser;

/// Parses and type-checks a rule: condition lines, then optionally
/// `金额 = …`. All syntax errors (one per line) or all type errors.
pub fn parse_rule(text: &str, rd: &ReferenceData) -> Result<Rule, Vec<RuleError>> {
    let toks = lexer::lex(text, true).map_err(|e| vec![e])?;
    let parsed = Parser::new(text, toks, rd).rule(true)?;
    let (condition, cond_sp) = parsed
        .cond
        .unwrap_or_else(|| (Cond::And { all: Vec::new() }, check::Spans::default()));
    let (amount, amount_sp) = match parsed.amount {
        Some((e, sp)) => (Some(e), Some(sp)),
        None => (None, None),
    };
    let rule = Rule { condition, amount };
    let mut c = Checker::new(Some(text), None);
    c.rule(&rule, Some(&cond_sp), amount_sp.as_ref());
    if c.errors.is_empty() {
        Ok(rule)
    } else {
        Err(c.errors)
    }
}

/// Parses and type-checks conditions only (same syntax, no amount line).
pub fn parse_condition(text: &str, rd: &ReferenceData) -> Result<Cond, Vec<RuleError>> {
    let toks = lexer::lex(text, true).map_err(|e| vec![e])?;
    let parsed = Parser::new(text, toks, rd).rule(false)?;
    let Some((cond, sp)) = parsed.cond else {
        return Err(vec![RuleError::at(text, 0..0, "条件为空")]);
    };
    let mut c = Checker::new(Some(text), None);
    c.cond(&cond, Some(&sp), "condition", 0);
    if c.errors.is_empty() {
        Ok(cond)
    } else {
        Err(c.errors)
    }
}

/// Parses and type-checks one formula (any dimension); line breaks are
/// spaces here.
pub fn parse_expr(text: &str, rd: &ReferenceData) -> Result<Expr, Vec<RuleError>> {
    let toks = lexer::lex(text, false).map_err(|e| vec![e])?;
    let (e, sp) = Parser::new(text, toks, rd)
        .whole_expr()
        .map_err(|e| vec![e])?;
    let mut c = Checker::new(Some(text), None);
    c.expr(&e, Some(&sp), "expr", 0);
    if c.errors.is_empty() {
        Ok(e)
    } else {
        Err(c.errors)
    }
}

/// A rule from its JSON form (the API), checked like text: JSON syntax
/// errors carry line/column, rule errors a JSON path such as
/// `condition.all[1].left`.
pub fn rule_from_json(json: &str, rd: &ReferenceData) -> Result<Rule, Vec<RuleError>> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        let mut err = RuleError::at_path("", format!("JSON 格式错误：{e}"));
        err.line = e.line();
        err.column = e.column();
        vec![err]
    })?;
    rule_from_value(&value, rd)
}

/// [`rule_from_json`] for an already parsed JSON value.
pub fn rule_from_value(
    value: &serde_json::Value,
    rd: &ReferenceData,
) -> Result<Rule, Vec<RuleError>> {
    let rule = json::rule(value).map_err(|e| vec![e])?;
    validate_rule(&rule, rd)?;
    Ok(rule)
}

/// The JSON form of a rule (serde on the AST types).
pub fn rule_to_json(rule: &Rule) -> serde_json::Value {
    // Serialising these plain enums and structs cannot fail; keep a visible
    // error object rather than a panic should that ever change.
    serde_json::to_value(rule).unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }))
}
