//! The policy eligibility engine (mechanisms 3 and 8): rules as code over
//! the data departments share.
//!
//! - [`ast`]: what a rule means (three-valued logic, exact numbers).
//! - [`num`]: exact rationals; the one rounding rule for payments.
//! - [`syntax`]: the text form of rules (parser, checker, printer), their
//!   JSON form, and the conditions implied by a policy's tags.
//!
//! Pure: no IO. The store loads enterprises and rules; the web layer shows
//! verdicts and explanations.

pub mod ast;
pub mod num;
pub mod syntax;

pub use syntax::{
    FieldDoc, RuleError, check_rule, cond_to_text, expr_to_text, fields, parse_condition,
    parse_expr, parse_rule, rule_from_json, rule_from_value, rule_to_json, tag_conditions, to_text,
    validate_rule,
};
