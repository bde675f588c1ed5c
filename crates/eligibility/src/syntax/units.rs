//! Literals with units: text ↔ the base unit of their dimension (money in
//! 分, land in 0.01 亩, ratios as fractions).

use super::lexer::{Tok, Unit, lex};
use crate::ast::Dim;
use crate::num::Num;

const FEN_PER_YUAN: i128 = 100;
const FEN_PER_WAN: i128 = 1_000_000;
const FEN_PER_YI: i128 = 10_000_000_000;

/// A literal as written → (value in base unit, dimension). The error is a
/// Chinese reason.
pub(crate) fn scale(value: Num, unit: Option<Unit>) -> Result<(Num, Dim), String> {
    let too_big = || format!("数值“{}”过大", value);
    let money = |per: i128| -> Result<(Num, Dim), String> {
        let v = value.checked_mul(Num::ratio(per, 1).ok_or_else(too_big)?);
        let v = v.ok_or_else(too_big)?;
        if !v.is_integer() {
            return Err("金额最小单位为分（0.01元），这里的精度超过了分".to_string());
        }
        Ok((v, Dim::Money))
    };
    match unit {
        None => Ok((value, Dim::Count)),
        Some(Unit::Yuan) => money(FEN_PER_YUAN),
        Some(Unit::Wan) => money(FEN_PER_WAN),
        Some(Unit::Yi) => money(FEN_PER_YI),
        Some(Unit::Percent) => value
            .checked_div(Num::int(100))
            .map(|v| (v, Dim::Ratio))
            .ok_or_else(too_big),
        Some(Unit::Person) => Ok((value, Dim::Persons)),
        Some(Unit::Mu) => value
            .checked_mul(Num::int(100))
            .map(|v| (v, Dim::Land))
            .ok_or_else(too_big),
        Some(Unit::Year) => Ok((value, Dim::Years)),
    }
}

/// `n` in lowest terms with a positive denominator (a `Num` deserialised
/// from JSON may be neither).
pub(crate) fn is_normal(n: Num) -> bool {
    n.denom() > 0 && Num::ratio(n.numer(), n.denom()) == Some(n)
}

/// The exact decimal text of `n`, `None` if it does not terminate within 18
/// places (the most [`Num::parse_decimal`] reads back) or overflows.
pub(crate) fn decimal_text(n: Num) -> Option<String> {
    if !is_normal(n) {
        return None;
    }
    let mut d = n.denom();
    let (mut twos, mut fives) = (0u32, 0u32);
    while d % 2 == 0 {
        d /= 2;
        twos += 1;
    }
    while d % 5 == 0 {
        d /= 5;
        fives += 1;
    }
    let places = twos.max(fives);
    if d != 1 || places > 18 {
        return None;
    }
    let scale = 10i128.checked_pow(places)?;
    let v = n.numer().checked_mul(scale / n.denom())?;
    let sign = if v < 0 { "-" } else { "" };
    let v = v.unsigned_abs();
    let s = scale.unsigned_abs();
    if places == 0 {
        Some(format!("{sign}{v}"))
    } else {
        Some(format!(
            "{sign}{}.{:0width$}",
            v / s,
            v % s,
            width = places as usize
        ))
    }
}

/// Canonical text of a literal: money in the largest unit that keeps it
/// short (亿元, 万元, else 元), ratios as %, land in 亩.
pub(crate) fn literal_text(value: Num, dim: Dim) -> Option<String> {
    let div = |d: i128| value.checked_div(Num::ratio(d, 1)?).and_then(decimal_text);
    match dim {
        Dim::Money => {
            if !is_normal(value) || !value.is_integer() {
                return None;
            }
            let v = value.numer();
            let (num, unit) = if v.abs() >= FEN_PER_YI && v % (FEN_PER_YI / 100) == 0 {
                (div(FEN_PER_YI)?, "亿元")
            } else if v.abs() >= FEN_PER_WAN && v % (FEN_PER_WAN / 100) == 0 {
                (div(FEN_PER_WAN)?, "万元")
            } else {
                (div(FEN_PER_YUAN)?, "元")
            };
            Some(format!("{num}{unit}"))
        }
        Dim::Ratio => Some(format!(
            "{}%",
            decimal_text(value.checked_mul(Num::int(100))?)?
        )),
        Dim::Land => Some(format!("{}亩", div(100)?)),
        Dim::Persons => Some(format!("{}人", decimal_text(value)?)),
        Dim::Years => Some(format!("{}年", decimal_text(value)?)),
        Dim::Count => decimal_text(value),
    }
}

/// Reads back a literal printed by [`literal_text`].
pub(crate) fn read_literal(text: &str) -> Option<(Num, Dim)> {
    let toks = lex(text, false).ok()?;
    let (neg, rest) = match toks.first().map(|t| &t.tok) {
        Some(Tok::Minus) => (true, &toks[1..]),
        _ => (false, &toks[..]),
    };
    match rest {
        [a, b] if b.tok == Tok::Eof => match &a.tok {
            Tok::Number(v, u) => {
                let (v, d) = scale(*v, *u).ok()?;
                let v = if neg { Num::ZERO.checked_sub(v)? } else { v };
                Some((v, d))
            }
            _ => None,
        },
        _ => None,
    }
}

/// True when the literal can be written as text and read back unchanged:
/// finite decimals only, money in whole 分.
pub(crate) fn literal_printable(value: Num, dim: Dim) -> bool {
    literal_text(value, dim)
        .and_then(|t| read_literal(&t))
        .is_some_and(|(v, d)| v == value && d == dim)
}
