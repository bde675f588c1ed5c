//! The policy eligibility engine (mechanisms 3 and 8): rules as code over
//! the data departments share.
//!
//! - [`ast`]: what a rule means (three-valued logic, exact numbers).
//! - [`num`]: exact rationals; the one rounding rule for payments.
//!
//! Pure: no IO. The store loads enterprises and rules; the web layer shows
//! verdicts and explanations.

pub mod ast;
pub mod award;
pub mod num;
