//! The policy eligibility engine (mechanisms 3 and 8): rules as code over
//! the data departments share.
//!
//! - [`ast`]: what a rule means (three-valued logic, exact numbers).
//! - [`num`]: exact rationals; the one rounding rule for payments.
//! - [`award`]: 免申即享 award and 即申即享 application states.
//! - [`row`]: the row evaluator ([`RuleSet::match_one`], [`RuleSet::evaluate`]).
//! - [`explain`]: why an enterprise does or does not qualify, in Chinese.
//! - [`population`] and [`batch`]: the columnar base and the batch
//!   evaluator ([`RuleSet::match_all`]).
//! - [`simulate`]: a draft rule's effect over the whole base (sandbox).
//! - [`synth`]: a deterministic synthetic base and rule mix for benchmarks.
//! - [`syntax`]: the text form of rules (parser, checker, printer), their
//!   JSON form, and the conditions implied by a policy's tags.
//!
//! Pure: no IO. The store loads enterprises and rules; the web layer shows
//! verdicts and explanations.

pub mod ast;
pub mod award;
pub mod batch;
mod bits;
mod exact;
pub mod explain;
pub mod num;
pub mod population;
pub mod row;
pub mod simulate;
pub mod syntax;
pub mod synth;

pub use batch::{MatchResult, MatchRow, PolicyMatch, PolicyRows};
pub use explain::{CondExplanation, Explanation, ValueUsed};
pub use population::{Population, PopulationBytes};
pub use row::{Context, Outcome, RuleSet, Verdict};
pub use simulate::{Simulation, simulate_rule};
pub use syntax::{
    FieldDoc, RuleError, check_rule, cond_to_text, expr_to_text, fields, parse_condition,
    parse_expr, parse_rule, policy_rule, rule_from_json, rule_from_value, rule_to_json,
    tag_conditions, tag_conditions_of, to_text, validate_rule,
};
