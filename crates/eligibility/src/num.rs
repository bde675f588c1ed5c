//! Exact rational numbers for rule arithmetic.
//!
//! Thresholds and payments must never be decided by a float: 10% of
//! 1,234,567 分 is kept as the exact fraction 1234567/10 until the final
//! amount is rounded to whole 分 by one explicit rule ([`Num::round_fen`]).

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// `num / den` in lowest terms with `den > 0`. Overflow is reported as
/// `None` by the checked operations, never wrapped.
///
/// Serialised as `{"num": i64, "den": i64}`: serde cannot buffer `i128`
/// inside the internally tagged `Cond`/`Expr`, and literals in rules fit
/// an `i64` anyway.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Num {
    num: i128,
    den: i128,
}

#[derive(Serialize, Deserialize)]
struct NumRepr {
    num: i64,
    den: i64,
}

impl Serialize for Num {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (Ok(num), Ok(den)) = (i64::try_from(self.num), i64::try_from(self.den)) else {
            return Err(serde::ser::Error::custom("数值超出可保存的范围"));
        };
        NumRepr { num, den }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Num, D::Error> {
        let r = NumRepr::deserialize(d)?;
        Num::ratio(r.num.into(), r.den.into())
            .ok_or_else(|| serde::de::Error::custom("分母不能为0"))
    }
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

impl Num {
    pub const ZERO: Num = Num { num: 0, den: 1 };
    pub const ONE: Num = Num { num: 1, den: 1 };

    pub const fn int(n: i64) -> Num {
        Num {
            num: n as i128,
            den: 1,
        }
    }

    /// `None` when `den == 0`.
    pub fn ratio(num: i128, den: i128) -> Option<Num> {
        if den == 0 {
            return None;
        }
        let g = gcd(num, den).max(1);
        let (mut n, mut d) = (num / g, den / g);
        if d < 0 {
            n = -n;
            d = -d;
        }
        Some(Num { num: n, den: d })
    }

    pub fn numer(self) -> i128 {
        self.num
    }

    pub fn denom(self) -> i128 {
        self.den
    }

    pub fn is_integer(self) -> bool {
        self.den == 1
    }

    /// Parses a plain non-negative or negative decimal such as `2000`,
    /// `12.5`, `-0.25` exactly. No units, no separators.
    pub fn parse_decimal(s: &str) -> Option<Num> {
        let (neg, s) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.is_empty() || frac.len() > 18 || (s.contains('.') && frac.is_empty()) {
            return None;
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = format!("{int}{frac}");
        let n: i128 = digits.parse().ok()?;
        let d = 10i128.checked_pow(frac.len() as u32)?;
        Num::ratio(if neg { -n } else { n }, d)
    }

    pub fn checked_add(self, o: Num) -> Option<Num> {
        let n = self
            .num
            .checked_mul(o.den)?
            .checked_add(o.num.checked_mul(self.den)?)?;
        Num::ratio(n, self.den.checked_mul(o.den)?)
    }

    pub fn checked_sub(self, o: Num) -> Option<Num> {
        self.checked_add(Num {
            num: o.num.checked_neg()?,
            den: o.den,
        })
    }

    pub fn checked_mul(self, o: Num) -> Option<Num> {
        Num::ratio(self.num.checked_mul(o.num)?, self.den.checked_mul(o.den)?)
    }

    /// `None` on division by zero or overflow.
    pub fn checked_div(self, o: Num) -> Option<Num> {
        if o.num == 0 {
            return None;
        }
        Num::ratio(self.num.checked_mul(o.den)?, self.den.checked_mul(o.num)?)
    }

    /// The payment rounding rule: to the nearest whole unit, halves away
    /// from zero (四舍五入). Used once, on a final amount in 分.
    pub fn round_half_away(self) -> i128 {
        let q = self.num / self.den;
        let r = self.num % self.den;
        if 2 * r.abs() >= self.den {
            q + self.num.signum()
        } else {
            q
        }
    }

    /// Whole 分 of an amount held in 分, by [`Num::round_half_away`];
    /// `None` if it does not fit an `i64`.
    pub fn round_fen(self) -> Option<i64> {
        i64::try_from(self.round_half_away()).ok()
    }

    /// Whole units towards negative infinity (used for ages in full years).
    pub fn floor(self) -> i128 {
        self.num.div_euclid(self.den)
    }
}

impl Ord for Num {
    fn cmp(&self, o: &Num) -> Ordering {
        if self.den == o.den {
            return self.num.cmp(&o.num);
        }
        // Exact cross-multiplication; values in rules stay far below the
        // i128 range (money in 分 < 2^63, denominators small), but fall
        // back to a widening comparison rather than overflow silently.
        match (self.num.checked_mul(o.den), o.num.checked_mul(self.den)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => {
                let a = self.num as f64 / self.den as f64;
                let b = o.num as f64 / o.den as f64;
                a.partial_cmp(&b).unwrap_or(Ordering::Equal)
            }
        }
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, o: &Num) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl fmt::Display for Num {
    /// Decimal when the fraction terminates within 6 places, `a/b` otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            return write!(f, "{}", self.num);
        }
        for places in 1..=6u32 {
            let scale = 10i128.pow(places);
            if (self.num * scale) % self.den == 0 {
                let v = self.num * scale / self.den;
                let sign = if v < 0 { "-" } else { "" };
                let v = v.abs();
                return write!(
                    f,
                    "{sign}{}.{:0width$}",
                    v / scale,
                    v % scale,
                    width = places as usize
                );
            }
        }
        write!(f, "{}/{}", self.num, self.den)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_decimals_exactly() {
        assert_eq!(Num::parse_decimal("12.5"), Num::ratio(25, 2));
        assert_eq!(Num::parse_decimal("-0.25").unwrap().to_string(), "-0.25");
        assert_eq!(Num::parse_decimal("2000").unwrap(), Num::int(2000));
        assert_eq!(Num::parse_decimal("1."), None);
        assert_eq!(Num::parse_decimal("1e3"), None);
        assert_eq!(Num::ratio(1, 3).unwrap().to_string(), "1/3");
    }

    #[test]
    fn rules_with_literals_round_trip_through_serde_json() {
        use crate::ast::{CmpOp, Cond, Dim, Expr, Rule, YearBack};
        use zhengqi_domain::enterprise::IndicatorKind;
        let rule = Rule {
            condition: Cond::Cmp {
                op: CmpOp::Ge,
                left: Expr::Indicator {
                    indicator: IndicatorKind::Revenue,
                    year: YearBack(1),
                },
                right: Expr::Lit {
                    value: Num::ratio(25, 2).unwrap(),
                    dim: Dim::Money,
                },
            },
            amount: None,
        };
        let json = serde_json::to_string(&rule).unwrap();
        assert!(json.contains(r#"{"num":25,"den":2}"#), "{json}");
        assert_eq!(serde_json::from_str::<Rule>(&json).unwrap(), rule);
        assert!(serde_json::from_str::<Num>(r#"{"num":1,"den":0}"#).is_err());
    }

    #[test]
    fn rounds_halves_away_from_zero() {
        assert_eq!(Num::ratio(5, 2).unwrap().round_half_away(), 3);
        assert_eq!(Num::ratio(-5, 2).unwrap().round_half_away(), -3);
        assert_eq!(Num::ratio(7, 3).unwrap().round_half_away(), 2);
        assert_eq!(Num::ratio(1234567, 10).unwrap().round_fen(), Some(123457));
    }

    #[test]
    fn compares_exactly_at_the_boundary() {
        let ten_percent = Num::ratio(1, 10).unwrap();
        let growth = Num::ratio(2200 - 2000, 2000).unwrap();
        assert_eq!(growth.cmp(&ten_percent), Ordering::Equal);
        assert!(Num::ratio(1, 3).unwrap() > Num::ratio(333333, 1000000).unwrap());
    }
}
