//! Tokens of the rule language. Full-width and ASCII punctuation are the
//! same token; spans are byte ranges of the original text.

use std::ops::Range;

use chrono::NaiveDate;

use super::error::RuleError;
use crate::ast::CmpOp;
use crate::num::Num;

/// Units a number may carry, as written.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    Yuan,
    Wan,
    Yi,
    Percent,
    Person,
    Mu,
    Year,
}

pub(crate) const UNITS: &[(&str, Unit)] = &[
    ("亿元", Unit::Yi),
    ("万元", Unit::Wan),
    ("元", Unit::Yuan),
    ("%", Unit::Percent),
    ("人", Unit::Person),
    ("亩", Unit::Mu),
    ("年", Unit::Year),
];

pub(crate) const UNIT_NAMES: [&str; 7] = ["元", "万元", "亿元", "%", "人", "亩", "年"];

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// A word (field, keyword, name), half-width.
    Ident(String),
    /// A quoted name ("…" or “…”), verbatim.
    Str(String),
    /// A non-negative decimal as written, with its unit.
    Number(Num, Option<Unit>),
    /// `3年前`: a relative year.
    YearsAgo(u32),
    Date(NaiveDate),
    Cmp(CmpOp),
    Plus,
    Minus,
    Star,
    Slash,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Colon,
    Semi,
    Dot,
    And,
    Or,
    /// A line break outside any brackets (inside brackets it is a space).
    Newline,
    Eof,
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Range<usize>,
}

/// Normalises one character: full-width ASCII to half-width, and the CJK
/// punctuation the language accepts to its ASCII equivalent.
fn norm(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        '【' | '〔' => '[',
        '】' | '〕' => ']',
        '、' => ',',
        _ => c,
    }
}

/// Characters that end a word even without a space: the connectives.
fn is_hard_delim(c: char) -> bool {
    c == '且' || c == '或'
}

pub(crate) fn is_word_start(c: char) -> bool {
    (c.is_alphabetic() || c == '_') && !is_hard_delim(c)
}

pub(crate) fn is_word_char(c: char) -> bool {
    (c.is_alphanumeric() || c == '_') && !is_hard_delim(c)
}

struct Lexer<'a> {
    src: &'a str,
    /// (byte offset in `src`, normalised char).
    chars: Vec<(usize, char)>,
    i: usize,
    depth: usize,
    out: Vec<Token>,
    /// Newlines are significant only in rules (top-level line = 且).
    newlines: bool,
}

impl Lexer<'_> {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).map(|&(_, c)| c)
    }

    fn off(&self, i: usize) -> usize {
        self.chars.get(i).map_or(self.src.len(), |&(o, _)| o)
    }

    fn push(&mut self, tok: Tok, from: usize, to: usize) {
        let span = self.off(from)..self.off(to);
        self.out.push(Token { tok, span });
    }

    fn err(&self, from: usize, to: usize, msg: impl Into<String>) -> RuleError {
        RuleError::at(self.src, self.off(from)..self.off(to), msg)
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(k, c)| self.peek(k) == Some(c))
    }

    fn digits(&self, from: usize) -> usize {
        let mut k = from;
        while self.chars.get(k).is_some_and(|&(_, c)| c.is_ascii_digit()) {
            k += 1;
        }
        k - from
    }

    fn text(&self, from: usize, to: usize) -> String {
        self.chars[from..to].iter().map(|&(_, c)| c).collect()
    }

    fn run(mut self) -> Result<Vec<Token>, RuleError> {
        while let Some(c) = self.peek(0) {
            let start = self.i;
            match c {
                '\n' => {
                    self.i += 1;
                    let last_is_nl = matches!(self.out.last(), Some(t) if t.tok == Tok::Newline);
                    if self.newlines && self.depth == 0 && !last_is_nl {
                        self.push(Tok::Newline, start, self.i);
                    }
                }
                c if c.is_whitespace() => self.i += 1,
                '#' => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.i += 1;
                    }
                }
                '0'..='9' => self.number()?,
                '"' | '“' => self.string(if c == '"' { '"' } else { '”' })?,
                '且' => {
                    self.i += 1;
                    self.push(Tok::And, start, self.i);
                }
                '或' => {
                    // 或者 is one connective.
                    self.i += if self.peek(1) == Some('者') { 2 } else { 1 };
                    self.push(Tok::Or, start, self.i);
                }
                c if is_word_start(c) => self.word(),
                _ => self.punct(c)?,
            }
        }
        let end = self.chars.len();
        self.push(Tok::Eof, end, end);
        Ok(self.out)
    }

    fn word(&mut self) {
        let start = self.i;
        while self.peek(0).is_some_and(is_word_char) {
            self.i += 1;
        }
        let mut end = self.i;
        // 并且: the 并 before a hard 且 belongs to the connective.
        let mut and_after = false;
        if self.peek(0) == Some('且') && self.chars[end - 1].1 == '并' {
            end -= 1;
            self.i += 1;
            and_after = true;
        }
        if end > start {
            let w = self.text(start, end);
            let n = w.chars().count();
            // 企业规模属于[…] without a space: split off 属于 / 不属于.
            let suffix = ["不属于", "属于"]
                .into_iter()
                .find(|s| w.ends_with(s) && n > s.chars().count());
            if w.eq_ignore_ascii_case("and") {
                self.push(Tok::And, start, end);
            } else if w.eq_ignore_ascii_case("or") {
                self.push(Tok::Or, start, end);
            } else if let Some(s) = suffix {
                let cut = end - s.chars().count();
                self.push(Tok::Ident(self.text(start, cut)), start, cut);
                self.push(Tok::Ident(s.to_string()), cut, end);
            } else {
                self.push(Tok::Ident(w), start, end);
            }
        }
        if and_after {
            self.push(Tok::And, end, self.i);
        }
    }

    fn string(&mut self, close: char) -> Result<(), RuleError> {
        let start = self.i;
        self.i += 1;
        let from = self.i;
        // “…” may nest: 专精特新“小巨人”企业 inside “…”.
        let mut inner = 0usize;
        loop {
            match self.peek(0) {
                Some('“') if close == '”' => {
                    inner += 1;
                    self.i += 1;
                }
                Some(c) if c == close && inner > 0 => {
                    inner -= 1;
                    self.i += 1;
                }
                Some(c) if c == close => break,
                None | Some('\n') => {
                    return Err(self
                        .err(start, self.i, "引号没有闭合：名称应写在同一行的一对引号内")
                        .expecting([close.to_string()]));
                }
                Some(_) => self.i += 1,
            }
        }
        // Quoted names are kept verbatim (no width normalisation).
        let a = self.off(from);
        let b = self.off(self.i);
        let s = self.src[a..b].to_string();
        self.i += 1;
        self.push(Tok::Str(s), start, self.i);
        Ok(())
    }

    fn date(&mut self) -> Result<bool, RuleError> {
        let start = self.i;
        let y = self.digits(start);
        if y != 4 {
            return Ok(false);
        }
        let sep = self.chars.get(start + 4).map(|&(_, c)| c);
        // The second separator must match the first: 2026-12-31, 2026/12/31,
        // 2026年12月31日.
        let (s2, s3) = match sep {
            Some('-') => ('-', None),
            Some('/') => ('/', None),
            Some('年') => ('月', Some('日')),
            _ => return Ok(false),
        };
        let m_at = start + 5;
        let m = self.digits(m_at);
        if !(1..=2).contains(&m) || self.chars.get(m_at + m).map(|&(_, c)| c) != Some(s2) {
            return Ok(false);
        }
        let d_at = m_at + m + 1;
        let d = self.digits(d_at);
        if !(1..=2).contains(&d) {
            return Ok(false);
        }
        let mut end = d_at + d;
        if let Some(s3) = s3 {
            if self.chars.get(end).map(|&(_, c)| c) != Some(s3) {
                return Ok(false);
            }
            end += 1;
        }
        let num = |a: usize, n: usize| self.text(a, a + n).parse::<u32>().ok();
        let date = match (num(start, 4), num(m_at, m), num(d_at, d)) {
            (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y as i32, m, d),
            _ => None,
        };
        let Some(date) = date else {
            return Err(self
                .err(start, end, format!("日期“{}”不存在", self.text(start, end)))
                .expecting(["有效日期，如 2026-12-31"]));
        };
        self.i = end;
        self.push(Tok::Date(date), start, end);
        Ok(true)
    }

    fn number(&mut self) -> Result<(), RuleError> {
        if self.date()? {
            return Ok(());
        }
        let start = self.i;
        self.i += self.digits(self.i);
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
            self.i += self.digits(self.i);
        }
        let text = self.text(start, self.i);
        let Some(value) = Num::parse_decimal(&text) else {
            return Err(self
                .err(start, self.i, format!("数字“{text}”过长或格式不对"))
                .expecting(["最多18位小数的数字"]));
        };
        if self.starts_with("年前") {
            let n = text.parse::<u32>().ok().filter(|_| value.is_integer());
            let Some(n) = n else {
                return Err(self
                    .err(start, self.i + 2, format!("“{text}年前”应为整数年"))
                    .expecting(["如 3年前"]));
            };
            self.i += 2;
            self.push(Tok::YearsAgo(n), start, self.i);
            return Ok(());
        }
        let mut unit = None;
        for &(s, u) in UNITS {
            if self.starts_with(s) {
                unit = Some(u);
                self.i += s.chars().count();
                break;
            }
        }
        if let Some(c) = self.peek(0).filter(|&c| is_word_char(c) || c == '%') {
            // Something glued to the number that is not a unit, e.g. 2000万.
            let mut k = self.i;
            while self.chars.get(k).is_some_and(|&(_, c)| is_word_char(c)) {
                k += 1;
            }
            let glued = self.text(self.i, k.max(self.i + 1));
            let hint = match c {
                '万' | '亿' => format!("，金额请写 {c}元"),
                _ => String::new(),
            };
            return Err(self
                .err(
                    start,
                    k.max(self.i + 1),
                    format!("数字后面的“{glued}”不是可用的单位{hint}"),
                )
                .expecting(UNIT_NAMES));
        }
        self.push(Tok::Number(value, unit), start, self.i);
        Ok(())
    }

    fn punct(&mut self, c: char) -> Result<(), RuleError> {
        let start = self.i;
        let next = self.peek(1);
        let (tok, len) = match (c, next) {
            ('>', Some('=')) => (Tok::Cmp(CmpOp::Ge), 2),
            ('<', Some('=')) => (Tok::Cmp(CmpOp::Le), 2),
            ('<', Some('>')) => (Tok::Cmp(CmpOp::Ne), 2),
            ('!', Some('=')) => (Tok::Cmp(CmpOp::Ne), 2),
            ('=', Some('=')) => (Tok::Cmp(CmpOp::Eq), 2),
            ('>', _) => (Tok::Cmp(CmpOp::Gt), 1),
            ('<', _) => (Tok::Cmp(CmpOp::Lt), 1),
            ('=', _) => (Tok::Cmp(CmpOp::Eq), 1),
            ('≥', _) => (Tok::Cmp(CmpOp::Ge), 1),
            ('≤', _) => (Tok::Cmp(CmpOp::Le), 1),
            ('≠', _) => (Tok::Cmp(CmpOp::Ne), 1),
            ('+', _) => (Tok::Plus, 1),
            ('-' | '−', _) => (Tok::Minus, 1),
            ('*' | '×', _) => (Tok::Star, 1),
            ('/' | '÷', _) => (Tok::Slash, 1),
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('[', _) => (Tok::LBracket, 1),
            (']', _) => (Tok::RBracket, 1),
            (',', _) => (Tok::Comma, 1),
            (':', _) => (Tok::Colon, 1),
            (';', _) => (Tok::Semi, 1),
            ('.', _) => (Tok::Dot, 1),
            _ => {
                let msg = if c == '%' {
                    "“%”应紧跟在数字后面，如 10%".to_string()
                } else {
                    format!("无法识别的字符“{c}”")
                };
                return Err(self.err(start, start + 1, msg));
            }
        };
        match tok {
            Tok::LParen | Tok::LBracket => self.depth += 1,
            Tok::RParen | Tok::RBracket => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        self.i += len;
        self.push(tok, start, self.i);
        Ok(())
    }
}

/// Splits `src` into tokens ending with [`Tok::Eof`]. With `newlines`, line
/// breaks outside brackets become [`Tok::Newline`] (collapsed).
pub(crate) fn lex(src: &str, newlines: bool) -> Result<Vec<Token>, RuleError> {
    let chars = src.char_indices().map(|(o, c)| (o, norm(c))).collect();
    Lexer {
        src,
        chars,
        i: 0,
        depth: 0,
        out: Vec::new(),
        newlines,
    }
    .run()
}

/// True when every ” closes an earlier “ and all are closed: such a name can
/// be written inside “…”.
pub(crate) fn curly_balanced(s: &str) -> bool {
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '“' => depth += 1,
            '”' => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => {}
        }
    }
    depth == 0
}
