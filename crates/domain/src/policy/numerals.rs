//! Chinese numerals (一 … 九千九百九十九) and exact decimals.

pub fn chinese_digit(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

fn chinese_unit(c: char) -> Option<u64> {
    match c {
        '十' => Some(10),
        '百' => Some(100),
        '千' => Some(1000),
        _ => None,
    }
}

pub fn is_chinese_numeral(c: char) -> bool {
    chinese_digit(c).is_some() || chinese_unit(c).is_some()
}

/// "十" = 10, "二十一" = 21, "一百零五" = 105, "一百五" = 150 (colloquial).
/// Returns `None` for anything that is not a well-formed number, e.g. "十十"
/// or "二五", so stray runs of numeral characters are not misread.
pub fn parse_chinese_int(s: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut digit: Option<u64> = None;
    let mut last_unit: u64 = u64::MAX;
    let mut zero_since_unit = false;
    let mut any = false;
    for c in s.chars() {
        any = true;
        if let Some(d) = chinese_digit(c) {
            if d == 0 {
                if digit.is_some() {
                    return None;
                }
                zero_since_unit = true;
                continue;
            }
            if digit.is_some() {
                return None;
            }
            digit = Some(d);
        } else if let Some(u) = chinese_unit(c) {
            if u >= last_unit {
                return None;
            }
            // A bare leading 十 means 一十; elsewhere a unit needs its digit.
            let d = match digit.take() {
                Some(d) => d,
                None if u == 10 && total == 0 && !zero_since_unit => 1,
                None => return None,
            };
            total += d * u;
            last_unit = u;
            zero_since_unit = false;
        } else {
            return None;
        }
    }
    if !any {
        return None;
    }
    if let Some(d) = digit {
        // "一百五" is 150: a final digit right after 百/千 scales to the next unit down.
        let scale = if !zero_since_unit && last_unit != u64::MAX && last_unit > 10 {
            last_unit / 10
        } else {
            1
        };
        total += d * scale;
    }
    Some(total)
}

/// An exact non-negative decimal as written: `mantissa / 10^scale`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Decimal {
    pub mantissa: u128,
    pub scale: u32,
}

impl Decimal {
    /// ASCII digits with at most one '.'; at most 30 significant characters
    /// so the mantissa cannot overflow.
    pub fn parse(s: &str) -> Option<Decimal> {
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if int.is_empty() || s.len() > 30 {
            return None;
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let frac = frac.trim_end_matches('0');
        let mut mantissa: u128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            mantissa = mantissa
                .checked_mul(10)?
                .checked_add(u128::from(b - b'0'))?;
        }
        Some(Decimal {
            mantissa,
            scale: u32::try_from(frac.len()).ok()?,
        })
    }

    pub fn from_int(n: u64) -> Decimal {
        Decimal {
            mantissa: u128::from(n),
            scale: 0,
        }
    }

    /// `self × factor` as an exact integer, or `None` if it has a fraction
    /// left over or does not fit in `i64`.
    pub fn times_exact(self, factor: u64) -> Option<i64> {
        let p = self.mantissa.checked_mul(u128::from(factor))?;
        let div = 10u128.checked_pow(self.scale)?;
        if p % div != 0 {
            return None;
        }
        i64::try_from(p / div).ok()
    }

    /// Display only; exact values are kept separately.
    pub fn to_f64(self) -> f64 {
        // Precision loss is acceptable here: the exact integer travels alongside.
        let m = self.mantissa as f64;
        m / 10f64.powi(i32::try_from(self.scale).unwrap_or(i32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_chinese_numerals() {
        let cases = [
            ("一", 1),
            ("九", 9),
            ("十", 10),
            ("十一", 11),
            ("二十", 20),
            ("二十一", 21),
            ("九十九", 99),
            ("一百", 100),
            ("一百零五", 105),
            ("一百五", 150),
            ("一千二百", 1200),
            ("两千", 2000),
            ("零", 0),
        ];
        for (s, n) in cases {
            assert_eq!(parse_chinese_int(s), Some(n), "{s}");
        }
        for s in ["", "十十", "二五", "百", "一零", "十百", "x"] {
            assert_eq!(parse_chinese_int(s), None, "{s}");
        }
    }

    #[test]
    fn policy_decimal_exact() {
        let d = Decimal::parse("1.5").unwrap();
        assert_eq!(d.times_exact(10), Some(15));
        assert_eq!(d.times_exact(1), None);
        assert_eq!(
            Decimal::parse("12.50").unwrap().times_exact(100),
            Some(1250)
        );
        assert_eq!(Decimal::parse(".5"), None);
        assert_eq!(Decimal::parse("1.2.3"), None);
        assert_eq!(
            Decimal::parse("99999999999999999999999999999"),
            Some(Decimal {
                mantissa: 99999999999999999999999999999,
                scale: 0
            })
        );
        assert_eq!(
            Decimal::parse("99999999999999999999999999999")
                .unwrap()
                .times_exact(10),
            None
        );
    }
}
