//! 统一社会信用代码 (USCC), GB 32100-2015.
//!
//! A [`Uscc`] can only be built through validation, so holding one proves the
//! code has 18 characters from the standard charset and a correct check char.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use crate::reference::half_width;

/// The 31 characters of the code, in value order (value = index).
/// I, O, Z, S, V are excluded by the standard, so letters cannot be mapped
/// with `ord(c) - 55`; a lookup table is the only correct mapping.
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// W_i = 3^(i-1) mod 31 for positions 1..=17.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A valid 统一社会信用代码 (upper-case, half-width, 18 characters).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Uscc(String);

/// Why a string is not a valid 统一社会信用代码.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    #[error("统一社会信用代码不能为空")]
    Empty,
    #[error("统一社会信用代码应为18位，实际为{got}位")]
    Length { got: usize },
    /// Only from [`Uscc::from_body`], which takes the first 17 characters.
    #[error("统一社会信用代码本体（不含校验码）应为17位，实际为{got}位")]
    BodyLength { got: usize },
    #[error("第{position}位字符“{ch}”不是有效字符（不使用 I、O、Z、S、V）")]
    Charset { position: usize, ch: char },
    #[error("校验码错误：应为“{expected}”，实际为“{found}”")]
    CheckDigit { expected: char, found: char },
}

fn value_of(ch: char) -> Option<u32> {
    CHARSET
        .iter()
        .position(|&c| char::from(c) == ch)
        .and_then(|p| u32::try_from(p).ok())
}

fn char_of(value: u32) -> char {
    // `value` is always reduced mod 31 by the caller; the fallback is unreachable.
    usize::try_from(value)
        .ok()
        .and_then(|v| CHARSET.get(v))
        .map_or('0', |&c| char::from(c))
}

/// Trim, full-width → half-width, upper-case: what people paste from Word or
/// a full-width IME should still be accepted.
fn normalize(s: &str) -> String {
    half_width(s.trim()).trim().to_ascii_uppercase()
}

/// Validates the charset of the 17-char body and returns its check char.
fn check_char(chars: &[char]) -> Result<char, UsccError> {
    let mut sum: u32 = 0;
    for (i, &ch) in chars.iter().enumerate() {
        let v = value_of(ch).ok_or(UsccError::Charset {
            position: i + 1,
            ch,
        })?;
        sum += v * WEIGHTS.get(i).copied().unwrap_or(0);
    }
    Ok(char_of((31 - sum % 31) % 31))
}

impl Uscc {
    /// Parses and validates a code. Leading/trailing spaces, lower-case
    /// letters and full-width characters are tolerated.
    pub fn parse(s: &str) -> Result<Uscc, UsccError> {
        let norm = normalize(s);
        if norm.is_empty() {
            return Err(UsccError::Empty);
        }
        let chars: Vec<char> = norm.chars().collect();
        if chars.len() != 18 {
            return Err(UsccError::Length { got: chars.len() });
        }
        // Only the body is charset-checked: a wrong 18th char (even an excluded
        // letter such as "Z") is reported as a check-digit mismatch, which is
        // what the user needs to fix.
        let (body, check) = chars.split_at(17);
        let expected = check_char(body)?;
        let found = check.first().copied().unwrap_or(' ');
        if expected != found {
            return Err(UsccError::CheckDigit { expected, found });
        }
        Ok(Uscc(norm))
    }

    /// Builds a code from its first 17 characters by computing the check char.
    pub fn from_body(first17: &str) -> Result<Uscc, UsccError> {
        let norm = normalize(first17);
        if norm.is_empty() {
            return Err(UsccError::Empty);
        }
        let chars: Vec<char> = norm.chars().collect();
        if chars.len() != 17 {
            return Err(UsccError::BodyLength { got: chars.len() });
        }
        let check = check_char(&chars)?;
        let mut code = norm;
        code.push(check);
        Ok(Uscc(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// 登记管理机关行政区划码 (positions 3–8, GB/T 2260).
    pub fn region_code(&self) -> &str {
        // Always ASCII and 18 long by construction; `get` keeps this panic-free anyway.
        self.0.get(2..8).unwrap_or("")
    }

    /// 登记管理部门代码 (position 1).
    pub fn registration_dept(&self) -> char {
        self.0.chars().next().unwrap_or('0')
    }

    /// 机构类别代码 (position 2).
    pub fn org_category(&self) -> char {
        self.0.chars().nth(1).unwrap_or('0')
    }
}

impl FromStr for Uscc {
    type Err = UsccError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uscc::parse(s)
    }
}

impl TryFrom<String> for Uscc {
    type Error = UsccError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Uscc::parse(&s)
    }
}

impl TryFrom<&str> for Uscc {
    type Error = UsccError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Uscc::parse(s)
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Uscc {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Uscc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Validate on the way in so stored or posted data cannot smuggle in a bad code.
        let s = String::deserialize(d)?;
        Uscc::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn weights_are_powers_of_three_mod_31() {
        let mut w = 1u32;
        for &expected in &WEIGHTS {
            assert_eq!(w, expected);
            w = w * 3 % 31;
        }
    }

    #[test]
    fn reference_vectors() {
        for code in [
            "91350100M000100Y43",
            "91440400192548256N",
            "91440300708461136T",
            "914403001922038216",
            "91330100716105852F",
            "91110108551385082Q",
        ] {
            let u = Uscc::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
            assert_eq!(u.as_str(), code);
        }
        assert_eq!(
            Uscc::parse("91350100M000100Y4Z"),
            Err(UsccError::CheckDigit {
                expected: '3',
                found: 'Z'
            })
        );
        assert_eq!(
            Uscc::from_body("91350100M000100Y4").unwrap().as_str(),
            "91350100M000100Y43"
        );
    }

    #[test]
    fn worked_example_sum() {
        let chars: Vec<char> = "91350100M000100Y4".chars().collect();
        let sum: u32 = chars
            .iter()
            .zip(WEIGHTS)
            .map(|(&c, w)| value_of(c).unwrap() * w)
            .sum();
        assert_eq!(sum, 1640);
        assert_eq!(sum % 31, 28);
    }

    #[test]
    fn normalisation() {
        let u = Uscc::parse("  ９１４４０４００１９２５４８２５６ｎ　").unwrap();
        assert_eq!(u.as_str(), "91440400192548256N");
        assert_eq!(u.region_code(), "440400");
        assert_eq!(u.registration_dept(), '9');
        assert_eq!(u.org_category(), '1');
        let u: Uscc = "91350100m000100y43".parse().unwrap();
        assert_eq!(u.to_string(), "91350100M000100Y43");
        assert!(Uscc::try_from("91350100M000100Y43".to_string()).is_ok());
    }

    #[test]
    fn errors_and_messages() {
        assert_eq!(Uscc::parse("   "), Err(UsccError::Empty));
        let e = Uscc::parse("91350100M000100Y4").unwrap_err();
        assert_eq!(e, UsccError::Length { got: 17 });
        assert_eq!(e.to_string(), "统一社会信用代码应为18位，实际为17位");
        let e = Uscc::parse("9135I100M000100Y43").unwrap_err();
        assert_eq!(
            e,
            UsccError::Charset {
                position: 5,
                ch: 'I'
            }
        );
        assert_eq!(
            e.to_string(),
            "第5位字符“I”不是有效字符（不使用 I、O、Z、S、V）"
        );
        assert_eq!(
            Uscc::parse("91350100M000100Y4Z").unwrap_err().to_string(),
            "校验码错误：应为“3”，实际为“Z”"
        );
        assert_eq!(
            Uscc::parse("统一社会信用代码统一社会信用代码码码"),
            Err(UsccError::Charset {
                position: 1,
                ch: '统'
            })
        );
        assert_eq!(
            Uscc::from_body("9135"),
            Err(UsccError::BodyLength { got: 4 })
        );
        assert_eq!(Uscc::from_body(""), Err(UsccError::Empty));
        // An excluded letter in the check position is still a check-digit error.
        assert_eq!(
            Uscc::parse("91350100M000100Y4I"),
            Err(UsccError::CheckDigit {
                expected: '3',
                found: 'I'
            })
        );
        assert_eq!(
            Uscc::parse("91350100O000100Y43"),
            Err(UsccError::Charset {
                position: 9,
                ch: 'O'
            })
        );
    }

    #[test]
    fn serde_validates() {
        let u: Uscc = serde_json::from_str("\"91350100M000100Y43\"").unwrap();
        assert_eq!(serde_json::to_string(&u).unwrap(), "\"91350100M000100Y43\"");
        let err = serde_json::from_str::<Uscc>("\"91350100M000100Y4Z\"").unwrap_err();
        assert!(err.to_string().contains("校验码错误"));
    }

    fn valid_char() -> impl Strategy<Value = char> {
        (0usize..31).prop_map(|i| char::from(CHARSET[i]))
    }

    proptest! {
        #[test]
        fn body_roundtrip(body in proptest::collection::vec(valid_char(), 17)) {
            let body: String = body.into_iter().collect();
            let u = Uscc::from_body(&body).unwrap();
            prop_assert_eq!(&u.as_str()[..17], body.as_str());
            prop_assert_eq!(Uscc::parse(u.as_str()), Ok(u.clone()));
            prop_assert_eq!(Uscc::parse(&u.as_str().to_ascii_lowercase()), Ok(u));
        }

        #[test]
        fn single_substitution_is_detected(
            body in proptest::collection::vec(valid_char(), 17),
            pos in 0usize..18,
            shift in 1usize..31,
        ) {
            let body: String = body.into_iter().collect();
            let code = Uscc::from_body(&body).unwrap();
            let mut chars: Vec<char> = code.as_str().chars().collect();
            let old = value_of(chars[pos]).unwrap() as usize;
            chars[pos] = char::from(CHARSET[(old + shift) % 31]);
            let changed: String = chars.into_iter().collect();
            let is_check_digit_error =
                matches!(Uscc::parse(&changed), Err(UsccError::CheckDigit { .. }));
            prop_assert!(is_check_digit_error);
        }

        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            let _ = Uscc::parse(&s);
            let _ = Uscc::from_body(&s);
        }

        #[test]
        fn near_codes_never_panic(s in "[0-9A-Za-z０-９ａ-ｚ　 ]{15,20}") {
            if let Ok(u) = Uscc::parse(&s) {
                prop_assert_eq!(u.as_str().len(), 18);
                prop_assert_eq!(u.region_code().len(), 6);
            }
        }
    }
}
