//! Quantitative targets and amounts in the text: 80%, 百分之八十, 2000万元以上,
//! 不超过100万元, 3个工作日, 限时…, with their comparison words and context.

use super::numerals::{Decimal, is_chinese_numeral, parse_chinese_int};
use super::{Target, TargetKind};
use crate::money::Amount;
use crate::reference::half_width;

/// Comparison words written before a figure, longest first, with their meaning.
const PREFIXES: [(&str, &str); 26] = [
    ("最高不超过", "<="),
    ("最多不超过", "<="),
    ("累计不超过", "<="),
    ("不超过", "<="),
    ("不高于", "<="),
    ("不多于", "<="),
    ("不大于", "<="),
    ("最高", "<="),
    ("最多", "<="),
    ("不低于", ">="),
    ("不少于", ">="),
    ("不小于", ">="),
    ("最低", ">="),
    ("至少", ">="),
    ("达到", ">="),
    ("突破", ">="),
    ("超过", ">"),
    ("高于", ">"),
    ("大于", ">"),
    ("多于", ">"),
    ("低于", "<"),
    ("少于", "<"),
    ("小于", "<"),
    ("未满", "<"),
    ("不足", "<"),
    ("达", ">="),
];

/// Written after the unit; in Chinese legal usage 以上/以下 include the figure.
const SUFFIXES: [(&str, &str); 7] = [
    ("及以上", ">="),
    ("以上", ">="),
    ("及以下", "<="),
    ("以下", "<="),
    ("以内", "<="),
    ("之内", "<="),
    ("内", "<="),
];

#[derive(Copy, Clone)]
struct Unit {
    text: &'static str,
    kind: TargetKind,
    /// Multiplier from the written figure to `exact`.
    factor: u64,
    exact_unit: &'static str,
}

const fn u(text: &'static str, kind: TargetKind, factor: u64, exact_unit: &'static str) -> Unit {
    Unit {
        text,
        kind,
        factor,
        exact_unit,
    }
}

use TargetKind::{Count, Duration, Money, Percent};

/// Longest first, so 个工作日 wins over 个 and 万元 over 元.
const UNITS: [Unit; 28] = [
    u("%", Percent, 100, "基点"),
    u("万美元", Money, 1_000_000, "美分"),
    u("亿美元", Money, 10_000_000_000, "美分"),
    u("美元", Money, 100, "美分"),
    u("亿元", Money, 10_000_000_000, "分"),
    u("万元", Money, 1_000_000, "分"),
    u("千元", Money, 100_000, "分"),
    u("元", Money, 100, "分"),
    u("个工作日", Duration, 1, "工作日"),
    u("工作日", Duration, 1, "工作日"),
    u("个自然日", Duration, 1, "天"),
    u("自然日", Duration, 1, "天"),
    u("个小时", Duration, 1, "小时"),
    u("小时", Duration, 1, "小时"),
    u("个月", Duration, 1, "月"),
    u("天", Duration, 1, "天"),
    u("日", Duration, 1, "天"),
    u("周", Duration, 7, "天"),
    u("年", Duration, 12, "月"),
    u("万人次", Count, 10_000, "人次"),
    u("万人", Count, 10_000, "人"),
    u("万家", Count, 10_000, "家"),
    u("人次", Count, 1, "人次"),
    u("家", Count, 1, "家"),
    u("人", Count, 1, "人"),
    u("项", Count, 1, "项"),
    u("个", Count, 1, "个"),
    u("件", Count, 1, "件"),
];

/// Characters that, written just before 一/二/…, make a word rather than a
/// number: 统一, 唯一, 第一, 同一, 逐一, 之一, 进一步…
const WORD_BEFORE_NUMERAL: &str = "统唯第同逐单专合划之进万不周星礼某初每";

struct Scanner<'a> {
    /// The text as written, for snippets.
    orig: &'a [char],
    /// Half-width, same length as `orig`, for matching.
    h: &'a [char],
}

impl Scanner<'_> {
    fn at(&self, i: usize, pat: &str) -> bool {
        (i..)
            .zip(pat.chars())
            .all(|(k, c)| self.h.get(k) == Some(&c))
    }

    fn ch(&self, i: usize) -> Option<char> {
        self.h.get(i).copied()
    }

    fn collect(&self, from: usize, to: usize) -> String {
        self.orig
            .get(from..to.min(self.orig.len()))
            .unwrap_or(&[])
            .iter()
            .collect()
    }

    fn prefix_before(&self, start: usize) -> Option<(usize, &'static str, &'static str)> {
        PREFIXES.iter().find_map(|&(w, op)| {
            let n = w.chars().count();
            let from = start.checked_sub(n)?;
            self.at(from, w).then_some((from, w, op))
        })
    }

    fn suffix_after(
        &self,
        end: usize,
        kind: TargetKind,
    ) -> Option<(usize, &'static str, &'static str)> {
        let mut k = end;
        // "2000万元（含）以上": the parenthesis only stresses the boundary.
        for inc in ["(含)", "（含）"] {
            if self.at(k, inc) {
                k += inc.chars().count();
            }
        }
        SUFFIXES.iter().find_map(|&(w, op)| {
            if w == "内" && kind != Duration {
                return None;
            }
            self.at(k, w).then(|| (k + w.chars().count(), w, op))
        })
    }

    /// The clause around `[from, to)`, bounded by sentence punctuation.
    fn context(&self, from: usize, to: usize) -> String {
        const STOP: [char; 6] = ['。', '；', ';', '！', '？', '\n'];
        const MAX: usize = 40;
        const COMMA: [char; 2] = ['，', ','];
        let mut s = from;
        while s > 0 && from - s < MAX && self.orig.get(s - 1).is_some_and(|c| !STOP.contains(c)) {
            s -= 1;
        }
        // A clause cut off mid-way reads better from its last comma.
        if s > 0
            && self.orig.get(s - 1).is_some_and(|c| !STOP.contains(c))
            && let Some(k) =
                (s..from).find(|&k| self.orig.get(k).is_some_and(|c| COMMA.contains(c)))
        {
            s = k + 1;
        }
        let mut e = to;
        while e < self.orig.len()
            && e - to < MAX
            && self.orig.get(e).is_some_and(|c| !STOP.contains(c))
        {
            e += 1;
        }
        if e < self.orig.len()
            && self.orig.get(e).is_some_and(|c| !STOP.contains(c))
            && let Some(k) = (to..e)
                .rev()
                .find(|&k| self.orig.get(k).is_some_and(|c| COMMA.contains(c)))
        {
            e = k;
        }
        self.collect(s, e).trim().to_string()
    }
}

struct Found {
    start: usize,
    end: usize,
    kind: TargetKind,
    value: f64,
    exact: i64,
    exact_unit: &'static str,
    has_value: bool,
    unit: String,
}

pub fn extract(
    text: &str,
    article: u32,
    section: &'static str,
    out: &mut Vec<Target>,
    warnings: &mut Vec<String>,
) {
    let orig: Vec<char> = text.chars().collect();
    // half_width maps one char to one char, so indices line up.
    let h: Vec<char> = orig
        .iter()
        .map(|&c| half_width(&c.to_string()).chars().next().unwrap_or(c))
        .collect();
    let sc = Scanner { orig: &orig, h: &h };
    let mut i = 0;
    while i < h.len() {
        let found = match scan_at(&sc, i, warnings) {
            Some(f) => f,
            None => {
                i += 1;
                continue;
            }
        };
        // A bare 限时 has no figure to compare; 限期内 is not a bound.
        let (prefix, suffix) = if found.has_value {
            (
                sc.prefix_before(found.start),
                sc.suffix_after(found.end, found.kind),
            )
        } else {
            (None, None)
        };
        let m_start = prefix.map_or(found.start, |p| p.0);
        let m_end = suffix.map_or(found.end, |s| s.0);
        let comparison = match (prefix, suffix) {
            (Some(p), Some(s)) => Some(format!("{}…{}", p.1, s.1)),
            (Some(p), None) => Some(p.1.to_string()),
            (None, Some(s)) => Some(s.1.to_string()),
            (None, None) => None,
        };
        // The word after the figure is the more precise one: 达到…以上 is >=.
        let op = suffix.map(|s| s.2).or(prefix.map(|p| p.2));
        out.push(Target {
            article,
            section,
            kind: found.kind,
            value: found.value,
            exact: found.exact,
            exact_unit: found.exact_unit,
            has_value: found.has_value,
            unit: found.unit,
            comparison,
            op,
            matched: sc.collect(m_start, m_end),
            text: sc.context(m_start, m_end),
        });
        i = m_end.max(i + 1);
    }
}

fn scan_at(sc: &Scanner, i: usize, warnings: &mut Vec<String>) -> Option<Found> {
    if sc.at(i, "百分之") {
        return percent_words(sc, i);
    }
    for w in ["限时", "限期"] {
        // A bare time limit without a figure is still a supervision point;
        // "限时3个工作日" is reported once, by its figure.
        let next = sc.ch(i + 2);
        if sc.at(i, w) && !next.is_some_and(|c| c.is_ascii_digit() || is_chinese_numeral(c)) {
            return Some(Found {
                start: i,
                end: i + 2,
                kind: Duration,
                value: 0.0,
                exact: 0,
                exact_unit: "",
                has_value: false,
                unit: w.to_string(),
            });
        }
    }
    let c = sc.ch(i)?;
    let prev = i.checked_sub(1).and_then(|p| sc.ch(p));
    if c.is_ascii_digit() {
        // Continuing "V2.0" or a broken "1,00" group; a full-width ， is a list.
        let orig_prev = i.checked_sub(1).and_then(|p| sc.orig.get(p));
        if prev.is_some_and(|p| p.is_ascii_alphanumeric() || p == '.') || orig_prev == Some(&',') {
            return None;
        }
        let (num, end) = arabic_number(sc, i);
        let d = Decimal::parse(&num)?;
        return with_unit(sc, i, end, d, &num, true, warnings);
    }
    if is_chinese_numeral(c) {
        if prev.is_some_and(|p| is_chinese_numeral(p) || WORD_BEFORE_NUMERAL.contains(p)) {
            return None;
        }
        let mut end = i;
        while sc.ch(end).is_some_and(is_chinese_numeral) && end - i < 12 {
            end += 1;
        }
        let run = sc.collect(i, end);
        let n = parse_chinese_int(&run).filter(|&n| n > 0)?;
        return with_unit(
            sc,
            i,
            end,
            Decimal::from_int(n),
            &n.to_string(),
            false,
            warnings,
        );
    }
    None
}

/// Digits with optional `,` thousands groups and one decimal point.
fn arabic_number(sc: &Scanner, i: usize) -> (String, usize) {
    let mut s = String::new();
    let mut k = i;
    let digit = |k: usize| sc.ch(k).is_some_and(|c| c.is_ascii_digit());
    while s.len() < 24 {
        if digit(k) {
            s.push(sc.ch(k).unwrap_or('0'));
            k += 1;
        } else if sc.orig.get(k) == Some(&',')
            && (1..=3).all(|d| digit(k + d))
            && !digit(k + 4)
            && !s.contains('.')
        {
            // Only an ASCII comma followed by exactly three digits groups
            // thousands; "100，200万元" is a list.
            k += 1;
        } else if sc.ch(k) == Some('.') && !s.contains('.') && digit(k + 1) {
            s.push('.');
            k += 1;
        } else {
            break;
        }
    }
    (s, k)
}

fn with_unit(
    sc: &Scanner,
    start: usize,
    end: usize,
    d: Decimal,
    num: &str,
    arabic: bool,
    warnings: &mut Vec<String>,
) -> Option<Found> {
    let unit = UNITS.iter().find(|un| sc.at(end, un.text))?;
    let unit_end = end + unit.text.chars().count();
    let after = sc.ch(unit_end);
    match unit.text {
        // Counts in Chinese numerals are mostly prose: 一个入口、五个标准化要求.
        _ if unit.kind == Count && !arabic => return None,
        "%" if !arabic => return None,
        // A four-digit figure before 年 is a year, not a duration.
        "年" if num.len() == 4 || after.is_some_and(|c| "度级份初底末代".contains(c)) => {
            return None;
        }
        // 12月31日 is a date.
        "日" | "天" if start.checked_sub(1).and_then(|p| sc.ch(p)) == Some('月') => return None,
        "周" if after == Some('岁') => return None,
        "人" if after == Some('民') => return None,
        _ => {}
    }
    let figure = sc.collect(start, unit_end);
    let exact = if unit.kind == Money && unit.exact_unit == "分" && unit.text != "千元" {
        // CNY goes through the one exact money parser of the crate.
        Amount::parse(&format!("{num}{}", unit.text))
            .ok()
            .map(Amount::fen)
    } else {
        d.times_exact(unit.factor)
    };
    let Some(exact) = exact else {
        warnings.push(format!("数值“{figure}”无法精确表示，未作为指标提取"));
        return None;
    };
    let value = match unit.kind {
        Percent => exact as f64 / 10_000.0,
        Money => exact as f64 / 100.0,
        Duration | Count => d.to_f64(),
    };
    Some(Found {
        start,
        end: unit_end,
        kind: unit.kind,
        value,
        exact,
        exact_unit: unit.exact_unit,
        has_value: true,
        unit: unit.text.to_string(),
    })
}

/// 百分之八十, 百分之百, 百分之12.5, 百分之五点五.
fn percent_words(sc: &Scanner, i: usize) -> Option<Found> {
    let start = i + 3;
    let (d, end) =
        if sc.ch(start) == Some('百') && !sc.ch(start + 1).is_some_and(is_chinese_numeral) {
            (Decimal::from_int(100), start + 1)
        } else if sc.ch(start).is_some_and(|c| c.is_ascii_digit()) {
            let (num, end) = arabic_number(sc, start);
            (Decimal::parse(&num)?, end)
        } else {
            let mut end = start;
            while sc.ch(end).is_some_and(is_chinese_numeral) && end - start < 8 {
                end += 1;
            }
            let int = parse_chinese_int(&sc.collect(start, end))?;
            let mut s = int.to_string();
            if sc.ch(end) == Some('点') {
                let mut k = end + 1;
                let mut frac = String::new();
                while let Some(dg) = sc.ch(k).and_then(super::numerals::chinese_digit) {
                    frac.push(char::from_digit(u32::try_from(dg).ok()?, 10)?);
                    k += 1;
                }
                if !frac.is_empty() {
                    s.push('.');
                    s.push_str(&frac);
                    end = k;
                }
            }
            (Decimal::parse(&s)?, end)
        };
    let exact = d.times_exact(100)?;
    Some(Found {
        start: i,
        end,
        kind: Percent,
        value: exact as f64 / 10_000.0,
        exact,
        exact_unit: "基点",
        has_value: true,
        unit: "%".to_string(),
    })
}
