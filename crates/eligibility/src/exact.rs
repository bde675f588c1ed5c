//! The arithmetic both evaluators run, element by element.
//!
//! [`Num`] keeps every value in lowest terms, which costs a gcd per
//! operation; the batch evaluator does millions of operations per match, so
//! the evaluators work on [`Q`], a fraction that is *not* kept reduced. The
//! value is the same rational either way, so comparisons and the final
//! rounding give identical results. When an unreduced operation would
//! overflow, the operands are reduced and the operation retried; only if
//! that overflows too is the result unknown (never wrapped). The row and the
//! batch evaluator call exactly these functions in the same order, so they
//! agree even at the overflow boundary.
//!
//! Comparisons are exact: cross-multiplication when it fits `i128`, else a
//! continued-fraction comparison that cannot overflow. No float decides a
//! threshold or a payment.

use std::cmp::Ordering;

use crate::num::Num;

/// `n / d` with `d > 0`, or unknown (`d == 0`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Q {
    pub n: i128,
    pub d: i128,
}

fn gcd_u(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

impl Q {
    pub const UNKNOWN: Q = Q { n: 0, d: 0 };
    pub const ZERO: Q = Q { n: 0, d: 1 };

    #[inline]
    pub fn int(v: i64) -> Q {
        Q {
            n: i128::from(v),
            d: 1,
        }
    }

    #[inline]
    pub fn opt(v: Option<i64>) -> Q {
        v.map_or(Q::UNKNOWN, Q::int)
    }

    #[inline]
    pub fn known(self) -> bool {
        self.d != 0
    }

    pub fn from_num(v: Num) -> Q {
        Q {
            n: v.numer(),
            d: v.denom(),
        }
    }

    /// The reduced value as a [`Num`] (for display), `None` when unknown.
    pub fn to_num(self) -> Option<Num> {
        if !self.known() {
            return None;
        }
        let r = self.reduced();
        Num::ratio(r.n, r.d)
    }

    /// Lowest terms. `d > 0` so the gcd is ≥ 1 and the signs stay put.
    fn reduced(self) -> Q {
        let g = gcd_u(self.n.unsigned_abs(), self.d.unsigned_abs());
        if g <= 1 {
            return self;
        }
        // g divides both, and g ≤ |d| ≤ i128::MAX, so the cast is exact.
        let g = g as i128;
        Q {
            n: self.n / g,
            d: self.d / g,
        }
    }

    /// Runs `f` on the operands as given, then reduced, else unknown.
    #[inline]
    fn with_retry(self, o: Q, f: impl Fn(Q, Q) -> Option<Q>) -> Q {
        if !self.known() || !o.known() {
            return Q::UNKNOWN;
        }
        f(self, o)
            .or_else(|| f(self.reduced(), o.reduced()))
            .unwrap_or(Q::UNKNOWN)
    }

    pub fn add(self, o: Q) -> Q {
        self.with_retry(o, |a, b| {
            if a.d == b.d {
                return Some(Q {
                    n: a.n.checked_add(b.n)?,
                    d: a.d,
                });
            }
            Some(Q {
                n: a.n.checked_mul(b.d)?.checked_add(b.n.checked_mul(a.d)?)?,
                d: a.d.checked_mul(b.d)?,
            })
        })
    }

    pub fn sub(self, o: Q) -> Q {
        self.with_retry(o, |a, b| {
            if a.d == b.d {
                return Some(Q {
                    n: a.n.checked_sub(b.n)?,
                    d: a.d,
                });
            }
            Some(Q {
                n: a.n.checked_mul(b.d)?.checked_sub(b.n.checked_mul(a.d)?)?,
                d: a.d.checked_mul(b.d)?,
            })
        })
    }

    pub fn mul(self, o: Q) -> Q {
        self.with_retry(o, |a, b| {
            Some(Q {
                n: a.n.checked_mul(b.n)?,
                d: a.d.checked_mul(b.d)?,
            })
        })
    }

    /// Division by zero is unknown (a growth over a zero base is not infinite).
    pub fn div(self, o: Q) -> Q {
        if o.known() && o.n == 0 {
            return Q::UNKNOWN;
        }
        self.with_retry(o, |a, b| {
            let n = a.n.checked_mul(b.d)?;
            let d = a.d.checked_mul(b.n)?;
            if d < 0 {
                Some(Q {
                    n: n.checked_neg()?,
                    d: d.checked_neg()?,
                })
            } else {
                Some(Q { n, d })
            }
        })
    }

    /// Exact order of two known values.
    pub fn cmp(self, o: Q) -> Ordering {
        cmp_frac(self.n, self.d, o.n, o.d)
    }

    /// The smaller; on a tie the first operand (so both evaluators keep the
    /// same representation). Unknown if either is unknown.
    pub fn min(self, o: Q) -> Q {
        if !self.known() || !o.known() {
            return Q::UNKNOWN;
        }
        if o.cmp(self) == Ordering::Less {
            o
        } else {
            self
        }
    }

    pub fn max(self, o: Q) -> Q {
        if !self.known() || !o.known() {
            return Q::UNKNOWN;
        }
        if o.cmp(self) == Ordering::Greater {
            o
        } else {
            self
        }
    }

    /// Whole units by 四舍五入, keeping the sign (for display).
    pub fn payment_fen_signed(self) -> Option<i64> {
        if !self.known() {
            return None;
        }
        let q = self.n / self.d;
        // |r| ≥ d − |r| is 2|r| ≥ d without the overflow of 2|r|.
        let r = (self.n % self.d).abs();
        let rounded = if r >= self.d - r {
            q.checked_add(self.n.signum())?
        } else {
            q
        };
        i64::try_from(rounded).ok()
    }

    /// The final amount in whole 分: 四舍五入 (halves away from zero, the
    /// rule of [`Num::round_half_away`]), negative → 0, `None` when unknown
    /// or beyond `i64`.
    pub fn payment_fen(self) -> Option<i64> {
        if !self.known() {
            return None;
        }
        if self.n <= 0 {
            return Some(0);
        }
        // The same rule in 64 bits when it fits (i128 division is a slow
        // library call and this runs once per eligible pair).
        if let (Ok(n), Ok(d)) = (i64::try_from(self.n), i64::try_from(self.d)) {
            let (q, r) = (n / d, n % d);
            return Some(if r >= d - r { q + 1 } else { q });
        }
        let q = self.n / self.d;
        let r = self.n % self.d;
        // r ≥ d − r is 2r ≥ d without the overflow of 2r.
        let rounded = if r >= self.d - r { q + 1 } else { q };
        i64::try_from(rounded).ok()
    }
}

/// `a/b` vs `c/d` for `b, d > 0`, exactly and without overflow.
pub(crate) fn cmp_frac(mut a: i128, mut b: i128, mut c: i128, mut d: i128) -> Ordering {
    if b == d {
        return a.cmp(&c);
    }
    let mut flip = false;
    loop {
        if let (Some(x), Some(y)) = (a.checked_mul(d), c.checked_mul(b)) {
            let o = x.cmp(&y);
            return if flip { o.reverse() } else { o };
        }
        // Compare the integer parts, then the fractional parts by their
        // reciprocals (a continued-fraction expansion; the denominators
        // shrink each round, so this terminates).
        let (qa, ra) = (a.div_euclid(b), a.rem_euclid(b));
        let (qc, rc) = (c.div_euclid(d), c.rem_euclid(d));
        let o = match qa.cmp(&qc) {
            Ordering::Equal => match (ra == 0, rc == 0) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                (false, false) => {
                    // ra/b vs rc/d  ⇔  reverse of  b/ra vs d/rc
                    (a, b, c, d) = (b, ra, d, rc);
                    flip = !flip;
                    continue;
                }
            },
            o => o,
        };
        return if flip { o.reverse() } else { o };
    }
}

/// A date as `year·512 + month·32 + day`: full years between two packed
/// dates are `(later − earlier).div_euclid(512)`, the birthday rule
/// (founded 2020-03-01 is 1 year old on 2021-03-01, still 0 on 2021-02-28).
pub(crate) fn pack_date(d: chrono::NaiveDate) -> i32 {
    use chrono::Datelike;
    d.year() * 512 + (d.month() as i32) * 32 + d.day() as i32
}

/// Missing founding date in the packed column.
pub(crate) const NO_DATE: i32 = i32::MIN;

#[inline]
pub(crate) fn age_years(today_packed: i32, founded_packed: i32) -> Q {
    if founded_packed == NO_DATE {
        return Q::UNKNOWN;
    }
    Q::int(i64::from(today_packed - founded_packed).div_euclid(512))
}

/// The integer range `[lo, hi]` that `v op x` accepts for integer `v` and
/// rational `x`; `None` for `!=` (handled as the negated `=` range).
pub(crate) fn int_range(op: crate::ast::CmpOp, x: Q) -> (i128, i128, bool) {
    use crate::ast::CmpOp::*;
    let floor = x.n.div_euclid(x.d);
    let ceil = if x.n.rem_euclid(x.d) == 0 {
        floor
    } else {
        floor + 1
    };
    let whole = x.n.rem_euclid(x.d) == 0;
    match op {
        Ge => (ceil, i128::MAX, false),
        Gt => (floor.saturating_add(1), i128::MAX, false),
        Le => (i128::MIN, floor, false),
        Lt => (i128::MIN, ceil.saturating_sub(1), false),
        // An integer never equals a proper fraction: the empty range.
        Eq if whole => (floor, floor, false),
        Eq => (1, 0, false),
        Ne if whole => (floor, floor, true),
        Ne => (1, 0, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: i128, d: i128) -> Q {
        Q { n, d }
    }

    #[test]
    fn exact_compare_never_overflows() {
        let big = i128::MAX / 3;
        assert_eq!(cmp_frac(big, big - 1, big - 1, big - 2), Ordering::Less);
        assert_eq!(cmp_frac(2 * big, 2 * big, 1, 1), Ordering::Equal);
        assert_eq!(cmp_frac(-big, big - 7, -1, 1), Ordering::Less);
        assert_eq!(q(1, 3).cmp(q(333_333, 1_000_000)), Ordering::Greater);
        assert_eq!(q(2, 4).cmp(q(1, 2)), Ordering::Equal);
    }

    #[test]
    fn overflow_is_unknown_not_wrapped() {
        let huge = Q::int(i64::MAX);
        let p = huge.mul(huge).mul(huge);
        assert!(!p.known());
        assert!(!Q::int(5).div(Q::ZERO).known());
        // Reduction rescues what the unreduced form cannot hold.
        let a = q(i128::MAX / 2, i128::MAX / 2);
        assert_eq!(a.mul(a).cmp(Q::int(1)), Ordering::Equal);
    }

    #[test]
    fn payment_rounding_matches_num() {
        for (n, d) in [
            (5, 2),
            (7, 3),
            (1_234_567, 10),
            (-5, 2),
            (49, 100),
            (50, 100),
        ] {
            let num = Num::ratio(n, d).unwrap();
            let expect = num.round_half_away().max(0) as i64;
            assert_eq!(q(n * 3, d * 3).payment_fen(), Some(expect), "{n}/{d}");
        }
    }

    #[test]
    fn integer_ranges() {
        use crate::ast::CmpOp::*;
        let x = q(21, 2); // 10.5
        assert_eq!(int_range(Ge, x), (11, i128::MAX, false));
        assert_eq!(int_range(Gt, x), (11, i128::MAX, false));
        assert_eq!(int_range(Le, x), (i128::MIN, 10, false));
        assert_eq!(int_range(Lt, x), (i128::MIN, 10, false));
        assert_eq!(int_range(Lt, Q::int(10)), (i128::MIN, 9, false));
        assert_eq!(int_range(Eq, x), (1, 0, false));
        assert_eq!(int_range(Ne, Q::int(3)), (3, 3, true));
    }

    #[test]
    fn ages_follow_the_birthday_rule() {
        let d = |y, m, dd| pack_date(chrono::NaiveDate::from_ymd_opt(y, m, dd).unwrap());
        assert_eq!(age_years(d(2021, 3, 1), d(2020, 3, 1)), Q::int(1));
        assert_eq!(age_years(d(2021, 2, 28), d(2020, 3, 1)), Q::int(0));
        assert_eq!(age_years(d(2021, 2, 28), d(2020, 2, 29)), Q::int(0));
        assert_eq!(age_years(d(2021, 3, 1), d(2020, 2, 29)), Q::int(1));
        assert!(!age_years(d(2021, 3, 1), NO_DATE).known());
    }
}
