//! Exact money amounts in 分 (fen). Floats are never used: policy thresholds
//! such as "营业收入2000万元及以上" must compare exactly at the boundary.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::reference::half_width;

/// An amount of money in 分 (1 元 = 100 分, 1 万元 = 1,000,000 分).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Amount(i64);

/// Why a text could not be read as an amount. Every message names the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("金额不能为空")]
    Empty,
    #[error("金额“{input}”无法识别：应为数字，可带单位 元/万元/亿元")]
    Invalid { input: String },
    #[error("金额“{input}”不能为负数")]
    Negative { input: String },
    #[error("金额“{input}”精确到分以下，无法精确表示（最小单位为分）")]
    TooPrecise { input: String },
    #[error("金额“{input}”超出可表示范围")]
    Overflow { input: String },
}

const FEN_PER_YUAN: u64 = 100;
const FEN_PER_WAN: u64 = 1_000_000;

/// Unit suffixes, longest first so "万元" is not read as "万" + junk.
/// The second field is the number of 分 per unit as a power of ten.
const UNITS: [(&str, usize); 5] = [("亿元", 10), ("万元", 6), ("亿", 10), ("万", 6), ("元", 2)];

impl Amount {
    pub const ZERO: Amount = Amount(0);

    pub const fn from_fen(fen: i64) -> Amount {
        Amount(fen)
    }

    pub const fn fen(self) -> i64 {
        self.0
    }

    /// Whole 元 → 分.
    ///
    /// # Panics
    /// Only if `|yuan|` exceeds ~9.2×10^16 元, which no real amount does.
    /// Saturating would silently corrupt money, so overflow is treated as a
    /// programming error; use [`Amount::checked_from_yuan`] for untrusted input.
    pub const fn from_yuan(yuan: i64) -> Amount {
        match Self::checked_from_yuan(yuan) {
            Some(a) => a,
            None => panic!("金额超出可表示范围"),
        }
    }

    pub const fn checked_from_yuan(yuan: i64) -> Option<Amount> {
        match yuan.checked_mul(100) {
            Some(f) => Some(Amount(f)),
            None => None,
        }
    }

    /// Whole 万元 → 分 (thresholds in policies are given in 万元).
    pub const fn checked_from_wan(wan: i64) -> Option<Amount> {
        match wan.checked_mul(FEN_PER_WAN as i64) {
            Some(f) => Some(Amount(f)),
            None => None,
        }
    }

    pub fn checked_add(self, o: Amount) -> Option<Amount> {
        self.0.checked_add(o.0).map(Amount)
    }

    pub fn checked_sub(self, o: Amount) -> Option<Amount> {
        self.0.checked_sub(o.0).map(Amount)
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Parses "2000万", "1.5亿元", "3,000,000元", "12.34", full-width digits…
    /// A bare number is in 元. Arithmetic is exact decimal; a value that
    /// would need rounding below 1 分 is rejected rather than rounded.
    pub fn parse(s: &str) -> Result<Amount, AmountError> {
        let original = s.trim();
        if original.is_empty() {
            return Err(AmountError::Empty);
        }
        let invalid = || AmountError::Invalid {
            input: original.to_string(),
        };
        let norm = half_width(original);
        let mut t = norm.trim();
        // A currency sign is redundant with the unit but common in pasted text.
        if let Some(rest) = t.strip_prefix('¥').or_else(|| t.strip_prefix('￥')) {
            t = rest.trim_start();
        }
        if t.starts_with('-') || t.starts_with('−') {
            return Err(AmountError::Negative {
                input: original.to_string(),
            });
        }
        let t = t.strip_prefix('+').unwrap_or(t);
        let (number, exp) = UNITS
            .iter()
            .find_map(|&(u, e)| t.strip_suffix(u).map(|n| (n.trim_end(), e)))
            .unwrap_or((t, 2));

        let (int_part, frac_part) = match number.split_once('.') {
            Some((i, f)) => (i, f),
            None => (number, ""),
        };
        let int_digits = strip_grouping(int_part).ok_or_else(invalid)?;
        if int_digits.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        if !frac_part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        // Trailing zeros add no precision ("12.340元" is exactly 12.34元).
        let frac = frac_part.trim_end_matches('0');
        if frac.len() > exp {
            return Err(AmountError::TooPrecise {
                input: original.to_string(),
            });
        }
        let overflow = || AmountError::Overflow {
            input: original.to_string(),
        };
        let mut fen: i128 = 0;
        // Leading zeros cannot overflow; skipping them keeps the digit cap honest.
        for b in int_digits.trim_start_matches('0').bytes() {
            fen = fen
                .checked_mul(10)
                .and_then(|v| v.checked_add(i128::from(b - b'0')))
                .filter(|&v| v <= i128::from(i64::MAX))
                .ok_or_else(overflow)?;
        }
        for _ in 0..exp {
            fen = fen.checked_mul(10).ok_or_else(overflow)?;
        }
        let mut frac_fen: i128 = 0;
        for i in 0..exp {
            let d = frac.as_bytes().get(i).map_or(0, |b| b - b'0');
            frac_fen = frac_fen * 10 + i128::from(d);
        }
        let total = fen.checked_add(frac_fen).ok_or_else(overflow)?;
        i64::try_from(total).map(Amount).map_err(|_| overflow())
    }

    /// "1,850万元", "0.35万元", "1,234.5678万元": exact, trailing zeros trimmed.
    pub fn wan_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let per = FEN_PER_WAN;
        let whole = group_thousands(abs / per);
        let frac = format!("{:06}", abs % per);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            format!("{sign}{whole}万元")
        } else {
            format!("{sign}{whole}.{frac}万元")
        }
    }

    /// "3,500元", "12.34元", "12.3元": grouped 元 with up to 2 decimals.
    pub fn yuan_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let per = FEN_PER_YUAN;
        let whole = group_thousands(abs / per);
        let frac = format!("{:02}", abs % per);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            format!("{sign}{whole}元")
        } else {
            format!("{sign}{whole}.{frac}元")
        }
    }
}

/// Removes thousands separators; `None` if anything but digits and
/// well-placed commas is present (e.g. "1,,000" or ",100").
fn strip_grouping(s: &str) -> Option<String> {
    if !s.contains(',') {
        return s.bytes().all(|b| b.is_ascii_digit()).then(|| s.to_string());
    }
    let mut groups = s.split(',');
    let first = groups.next()?;
    if first.is_empty() || first.len() > 3 || !first.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut out = first.to_string();
    for g in groups {
        if g.len() != 3 || !g.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        out.push_str(g);
    }
    Some(out)
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Business users read large sums in 万元, small ones in 元.
        if self.0.unsigned_abs() >= FEN_PER_WAN {
            f.write_str(&self.wan_string())
        } else {
            f.write_str(&self.yuan_string())
        }
    }
}

impl std::str::FromStr for Amount {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_examples() {
        let cases: &[(&str, i64)] = &[
            ("2000万", 2_000_000_000),
            ("2000万元", 2_000_000_000),
            ("1.5亿", 15_000_000_000),
            ("1.5亿元", 15_000_000_000),
            ("3000000元", 300_000_000),
            ("3000000", 300_000_000),
            ("3,000,000", 300_000_000),
            ("3,000,000.50元", 300_000_050),
            ("12.34元", 1234),
            ("12.340元", 1234),
            ("0.5万元", 500_000),
            ("0.000001万元", 1),
            ("0.0000000001亿元", 1),
            ("２０００万元", 2_000_000_000),
            ("  12.34 元  ", 1234),
            ("1,850 万元", 1_850_000_000),
            ("￥100", 10_000),
            ("¥100元", 10_000),
            ("+5元", 500),
            (".5元", 50),
            ("5.元", 500),
            ("0", 0),
            ("0元", 0),
            ("00012元", 1200),
            ("92233720368547758.07", i64::MAX),
        ];
        for &(s, fen) in cases {
            assert_eq!(Amount::parse(s), Ok(Amount::from_fen(fen)), "{s}");
        }
    }

    #[test]
    fn parse_errors() {
        assert_eq!(Amount::parse(""), Err(AmountError::Empty));
        assert_eq!(Amount::parse("  "), Err(AmountError::Empty));
        let e = Amount::parse("abc").unwrap_err();
        assert_eq!(
            e.to_string(),
            "金额“abc”无法识别：应为数字，可带单位 元/万元/亿元"
        );
        for s in [
            "万元",
            "元",
            ".",
            "1.2.3",
            "1,00",
            ",100",
            "1,,000",
            "1 000",
            "1e5",
            "12元元",
            "万12",
            "1.5 亿 元",
            "NaN",
            "1.-5",
        ] {
            assert!(
                matches!(Amount::parse(s), Err(AmountError::Invalid { .. })),
                "{s}: {:?}",
                Amount::parse(s)
            );
        }
        assert!(matches!(
            Amount::parse("-5元"),
            Err(AmountError::Negative { .. })
        ));
        assert!(matches!(
            Amount::parse("－5万"),
            Err(AmountError::Negative { .. })
        ));
        let e = Amount::parse("12.345元").unwrap_err();
        assert!(matches!(e, AmountError::TooPrecise { .. }));
        assert!(e.to_string().contains("12.345元"));
        assert!(matches!(
            Amount::parse("0.0000001万"),
            Err(AmountError::TooPrecise { .. })
        ));
        for s in [
            "92233720368547758.08",
            "99999999999999999999999999999999999999999999亿",
            "1000000000亿元",
        ] {
            assert!(
                matches!(Amount::parse(s), Err(AmountError::Overflow { .. })),
                "{s}"
            );
        }
    }

    #[test]
    fn display() {
        assert_eq!(Amount::from_fen(1_850_000_000).to_string(), "1,850万元");
        assert_eq!(Amount::from_fen(350_000).wan_string(), "0.35万元");
        assert_eq!(
            Amount::from_fen(1_234_567_800).to_string(),
            "1,234.5678万元"
        );
        assert_eq!(Amount::from_fen(1_000_000).to_string(), "1万元");
        assert_eq!(Amount::from_fen(999_999).to_string(), "9,999.99元");
        assert_eq!(Amount::from_fen(350_000).to_string(), "3,500元");
        assert_eq!(Amount::from_fen(1234).to_string(), "12.34元");
        assert_eq!(Amount::from_fen(1230).to_string(), "12.3元");
        assert_eq!(Amount::ZERO.to_string(), "0元");
        assert_eq!(Amount::from_fen(-1234).to_string(), "-12.34元");
        assert_eq!(
            Amount::from_fen(i64::MIN).to_string(),
            "-9,223,372,036,854.775808万元"
        );
    }

    #[test]
    fn constructors() {
        assert_eq!(Amount::from_yuan(3500).fen(), 350_000);
        assert_eq!(Amount::checked_from_yuan(i64::MAX), None);
        assert_eq!(
            Amount::checked_from_wan(2000),
            Some(Amount::from_fen(2_000_000_000))
        );
        assert_eq!(
            Amount::from_fen(i64::MAX).checked_add(Amount::from_fen(1)),
            None
        );
        assert_eq!(
            Amount::from_fen(1).checked_add(Amount::from_fen(2)),
            Some(Amount::from_fen(3))
        );
        let json = serde_json::to_string(&Amount::from_fen(1234)).unwrap();
        assert_eq!(json, "1234");
        assert_eq!(serde_json::from_str::<Amount>("1234").unwrap().fen(), 1234);
    }

    proptest! {
        #[test]
        fn yuan_with_two_decimals_roundtrips(fen in 0i64..1_000_000_000_000_000) {
            let s = format!("{}.{:02}元", fen / 100, fen % 100);
            prop_assert_eq!(Amount::parse(&s), Ok(Amount::from_fen(fen)));
            let grouped = format!("{}.{:02}", group_thousands((fen / 100) as u64), fen % 100);
            prop_assert_eq!(Amount::parse(&grouped), Ok(Amount::from_fen(fen)));
        }

        #[test]
        fn wan_is_a_million_fen(x in 0i64..9_000_000_000_000) {
            prop_assert_eq!(Amount::parse(&format!("{x}万")), Ok(Amount::from_fen(x * 1_000_000)));
            prop_assert_eq!(Amount::parse(&format!("{x}万元")), Ok(Amount::from_fen(x * 1_000_000)));
        }

        #[test]
        fn display_parses_back(fen in 0i64..i64::MAX) {
            let a = Amount::from_fen(fen);
            prop_assert_eq!(Amount::parse(&a.to_string()), Ok(a));
            prop_assert_eq!(Amount::parse(&a.wan_string()), Ok(a));
        }

        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            let _ = Amount::parse(&s);
        }

        #[test]
        fn numberish_strings_never_panic(s in "[-+¥０-９0-9.,， 万亿元]{0,30}") {
            let _ = Amount::parse(&s);
        }
    }
}
