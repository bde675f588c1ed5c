//! The tag header: `key | value | key | value |` over one or more lines.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::NaiveDate;

use super::numerals::{chinese_digit, is_chinese_numeral, parse_chinese_int};
use super::{AreaRef, PolicyParseError};
use crate::reference::{ReferenceData, half_width};
use crate::size::SizeClass;

pub fn is_pipe(c: char) -> bool {
    c == '|' || c == '｜'
}

pub struct Header {
    pub tags: BTreeMap<String, String>,
    pub sizes: Vec<SizeClass>,
    pub areas: Vec<AreaRef>,
    pub valid_until: Option<NaiveDate>,
    pub title: Option<String>,
}

#[derive(Copy, Clone, PartialEq, Eq)]
enum Known {
    Size,
    Area,
    Expiry,
    Title,
}

/// Exporters and hand edits use a few synonyms for the same tag.
fn known(key: &str) -> Option<Known> {
    Some(match key {
        "企业规模" | "适用企业规模" | "适用规模" => Known::Size,
        "适用区域" | "适用地区" | "适用范围区域" => Known::Area,
        "有效期至" | "有效期" | "有效期限" | "截止日期" | "失效日期" => {
            Known::Expiry
        }
        "标题" | "政策标题" | "政策名称" | "文件标题" => Known::Title,
        _ => return None,
    })
}

/// Whitespace inside a key is layout, and `企业规模：` means `企业规模`.
fn clean_key(k: &str) -> String {
    let k: String = half_width(k)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    k.trim_end_matches(':').to_string()
}

/// Tokens of all header lines. A leading or trailing pipe on a line is
/// framing, not an empty value; pairs may continue across lines.
fn tokens(lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for line in lines {
        let mut parts: Vec<&str> = line.split(is_pipe).map(str::trim).collect();
        if parts.last().is_some_and(|p| p.is_empty()) {
            parts.pop();
        }
        if parts.first().is_some_and(|p| p.is_empty()) {
            parts.remove(0);
        }
        out.extend(parts.into_iter().map(str::to_owned));
    }
    out
}

pub fn parse(
    lines: &[String],
    rd: &ReferenceData,
    warnings: &mut Vec<String>,
) -> Result<Header, PolicyParseError> {
    let mut h = Header {
        tags: BTreeMap::new(),
        sizes: Vec::new(),
        areas: Vec::new(),
        valid_until: None,
        title: None,
    };
    if lines.is_empty() {
        warnings.push("没有找到标签行（如“企业规模 | 中型,小型 |”）".to_string());
        return Ok(h);
    }
    let toks = tokens(lines);
    let mut pairs = Vec::new();
    let mut it = toks.chunks(2);
    for pair in it.by_ref() {
        let key = clean_key(pair.first().map_or("", String::as_str));
        let value = pair.get(1).cloned();
        if key.is_empty() {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                warnings.push(format!("标签值“{v}”缺少标签名，已忽略"));
            }
            continue;
        }
        let value = value.unwrap_or_else(|| {
            warnings.push(format!("标签“{key}”没有值"));
            String::new()
        });
        if h.tags.contains_key(&key) {
            warnings.push(format!("标签“{key}”重复出现，保留第一次的值"));
            continue;
        }
        h.tags.insert(key.clone(), value.clone());
        pairs.push((key, value));
    }

    for (key, value) in &pairs {
        match known(key) {
            Some(Known::Size) => h.sizes = parse_sizes(value, warnings),
            Some(Known::Area) => h.areas = parse_areas(value, rd, warnings)?,
            Some(Known::Expiry) => h.valid_until = parse_expiry(value, warnings)?,
            Some(Known::Title) => {
                let t = value.trim();
                if !t.is_empty() {
                    h.title = Some(t.to_string());
                }
            }
            None => {}
        }
    }
    Ok(h)
}

fn split_values(s: &str) -> impl Iterator<Item = &str> {
    s.split([',', '，', '、', ';', '；', '/', '／'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn parse_sizes(value: &str, warnings: &mut Vec<String>) -> Vec<SizeClass> {
    use SizeClass::*;
    let mut out = Vec::new();
    for v in split_values(value).flat_map(|v| v.split_whitespace()) {
        let found: Vec<SizeClass> = match SizeClass::from_str(v) {
            Ok(c) => vec![c],
            Err(_) => match v.trim_end_matches("企业") {
                "中小微" | "中小" | "中小型" => vec![Medium, Small, Micro],
                "小微" => vec![Small, Micro],
                "大中小微" | "不限" | "全部" | "所有" | "各类" => {
                    SizeClass::ALL.to_vec()
                }
                _ => {
                    warnings.push(format!("企业规模“{v}”无法识别，已忽略"));
                    Vec::new()
                }
            },
        };
        for c in found {
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out
}

fn is_open(c: char) -> bool {
    c == '(' || c == '（'
}
fn is_close(c: char) -> bool {
    c == ')' || c == '）'
}
fn is_area_sep(c: char) -> bool {
    matches!(c, ',' | '，' | '、' | ';' | '；')
}

/// Splits at separators outside parentheses, so `鹤洲新区筹备组(保税区、万山区)`
/// stays one entry. Nesting deeper than one level is refused: no real tag
/// has it, and refusing keeps the parser free of recursion.
fn split_top(value: &str) -> Result<Vec<String>, PolicyParseError> {
    let syntax = |reason| PolicyParseError::AreaSyntax {
        entry: value.trim().to_string(),
        reason,
    };
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    for c in value.chars() {
        if is_open(c) {
            depth += 1;
            if depth > 2 {
                return Err(syntax("括号嵌套过深"));
            }
        } else if is_close(c) {
            depth = depth.checked_sub(1).ok_or_else(|| syntax("多余的右括号"))?;
        } else if depth == 0 && is_area_sep(c) {
            out.push(std::mem::take(&mut cur));
            continue;
        }
        cur.push(c);
    }
    if depth != 0 {
        return Err(syntax("括号没有闭合"));
    }
    out.push(cur);
    Ok(out
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect())
}

fn parse_areas(
    value: &str,
    rd: &ReferenceData,
    warnings: &mut Vec<String>,
) -> Result<Vec<AreaRef>, PolicyParseError> {
    let mut out: Vec<AreaRef> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut note_unknown = |n: &str| {
        if !unknown.iter().any(|u| u == n) {
            unknown.push(n.to_string());
        }
    };
    for entry in split_top(value)? {
        // Some aliases contain parentheses themselves, e.g. 鹤洲新区（筹）.
        if let Some(a) = rd.area_by_name(&entry) {
            out.push(AreaRef {
                name: a.name.clone(),
                code: a.code.clone(),
                members: Vec::new(),
                member_codes: Vec::new(),
                written: entry.clone(),
            });
            continue;
        }
        let Some(open) = entry.find(is_open) else {
            note_unknown(&entry);
            continue;
        };
        let syntax = |reason| PolicyParseError::AreaSyntax {
            entry: entry.clone(),
            reason,
        };
        let name = entry.get(..open).unwrap_or("").trim();
        let rest = entry.get(open..).unwrap_or("");
        let close = rest.rfind(is_close).ok_or_else(|| syntax("括号没有闭合"))?;
        let open_len = rest.chars().next().map_or(1, char::len_utf8);
        let inner = rest.get(open_len..close).unwrap_or("");
        let close_len = rest
            .get(close..)
            .and_then(|r| r.chars().next())
            .map_or(1, char::len_utf8);
        let after = rest.get(close + close_len..).unwrap_or("").trim();
        if name.is_empty() {
            return Err(syntax("括号前缺少区域名称"));
        }
        if !after.is_empty() {
            return Err(syntax("右括号后还有多余内容"));
        }
        let group = rd.area_by_name(name);
        if group.is_none() {
            note_unknown(name);
        }
        let mut members = Vec::new();
        let mut member_codes = Vec::new();
        for m in split_top(inner)? {
            match rd.area_by_name(&m) {
                Some(ma) => {
                    if let Some(g) = group
                        && !rd.area_within(&ma.code, &g.code)
                    {
                        warnings.push(format!(
                            "适用区域“{}”括号内的“{}”不是它的下级区域",
                            g.name, ma.name
                        ));
                    }
                    if !member_codes.contains(&ma.code) {
                        members.push(ma.name.clone());
                        member_codes.push(ma.code.clone());
                    }
                }
                None if m.contains(is_open) => return Err(syntax("不支持两层以上的区域嵌套")),
                None => note_unknown(&m),
            }
        }
        if let Some(g) = group {
            out.push(AreaRef {
                name: g.name.clone(),
                code: g.code.clone(),
                members,
                member_codes,
                written: entry.clone(),
            });
        }
    }
    if !unknown.is_empty() {
        return Err(PolicyParseError::UnknownArea { names: unknown });
    }
    Ok(out)
}

/// `None` for 文件中未注明, 长期有效 and similar; a date otherwise. Anything
/// else is an error: reading an unknown value as "no expiry" would keep an
/// expired policy alive.
fn parse_expiry(
    value: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<NaiveDate>, PolicyParseError> {
    let v: String = half_width(value)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if v.is_empty() {
        warnings.push("有效期为空，按未注明处理".to_string());
        return Ok(None);
    }
    const OPEN_ENDED: [&str; 9] = [
        "未注明",
        "未明确",
        "未规定",
        "未标明",
        "长期",
        "永久",
        "无期限",
        "不限",
        "暂无",
    ];
    if OPEN_ENDED.iter().any(|p| v.contains(p))
        || matches!(
            v.as_str(),
            "无" | "空" | "-" | "--" | "—" | "——" | "/" | "N/A"
        )
    {
        return Ok(None);
    }
    match parse_date_loose(&v) {
        Some((d, month_only)) => {
            if month_only {
                warnings.push(format!(
                    "有效期“{}”只写到月份，按该月最后一天处理",
                    value.trim()
                ));
            }
            Ok(Some(d))
        }
        None => Err(PolicyParseError::InvalidExpiry {
            value: value.trim().to_string(),
        }),
    }
}

/// `2025年12月31日`, `2025-12-31`, `2025/12/31`, `2025.12.31`, `二〇二五年十二月三十一日`,
/// optionally followed by 止/前; `2025年12月` means the month's last day.
fn parse_date_loose(v: &str) -> Option<(NaiveDate, bool)> {
    let mut s = v;
    for suffix in ["(含)", "（含)", "为止", "止", "前", "(含)"] {
        s = s.strip_suffix(suffix).unwrap_or(s);
    }
    let chars: Vec<char> = s.chars().collect();
    let mut nums: Vec<u32> = Vec::new();
    let mut has_year_char = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars.get(i).copied()?;
        if c.is_ascii_digit() {
            let start = i;
            while chars.get(i).is_some_and(char::is_ascii_digit) {
                i += 1;
            }
            let run: String = chars.get(start..i)?.iter().collect();
            if run.len() > 4 {
                return None;
            }
            nums.push(run.parse().ok()?);
        } else if is_chinese_numeral(c) {
            let start = i;
            while chars.get(i).is_some_and(|&c| is_chinese_numeral(c)) {
                i += 1;
            }
            let run: String = chars.get(start..i)?.iter().collect();
            // A year is spelt digit by digit (二〇二五); months and days as numbers.
            let n = if run.chars().count() == 4 && run.chars().all(|c| chinese_digit(c).is_some()) {
                run.chars().try_fold(0u32, |acc, c| {
                    Some(acc * 10 + u32::try_from(chinese_digit(c)?).ok()?)
                })?
            } else {
                u32::try_from(parse_chinese_int(&run)?).ok()?
            };
            nums.push(n);
        } else {
            if !matches!(c, '年' | '月' | '日' | '号' | '-' | '/' | '.') {
                return None;
            }
            has_year_char |= c == '年';
            i += 1;
        }
    }
    let year = i32::try_from(*nums.first()?).ok()?;
    if !(1900..=2200).contains(&year) {
        return None;
    }
    match nums.as_slice() {
        [_, m, d] => NaiveDate::from_ymd_opt(year, *m, *d).map(|d| (d, false)),
        [_, m] if has_year_char => {
            let first = NaiveDate::from_ymd_opt(year, *m, 1)?;
            let next = first.checked_add_months(chrono::Months::new(1))?;
            next.pred_opt().map(|d| (d, true))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_expiry_formats() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day);
        let mut w = Vec::new();
        for (s, want) in [
            ("2025年12月31日", d(2025, 12, 31)),
            ("2025-12-31", d(2025, 12, 31)),
            ("2025/12/31", d(2025, 12, 31)),
            ("2025.1.5", d(2025, 1, 5)),
            ("２０２６年６月３０日", d(2026, 6, 30)),
            ("2027年12月31日止", d(2027, 12, 31)),
            ("二〇二五年十二月三十一日", d(2025, 12, 31)),
            ("2026年2月", d(2026, 2, 28)),
            ("文件中未注明", None),
            ("长期有效", None),
            ("无", None),
        ] {
            assert_eq!(parse_expiry(s, &mut w).unwrap(), want, "{s}");
        }
        for s in [
            "明年",
            "2025-13-01",
            "2025-02-30",
            "12/31",
            "2025年12月31日前后",
        ] {
            assert!(parse_expiry(s, &mut w).is_err(), "{s}");
        }
    }

    #[test]
    fn policy_area_split_respects_parentheses() {
        let v = split_top("珠海市,鹤洲新区筹备组(保税区、万山区),金湾区（高栏港）、横琴").unwrap();
        assert_eq!(
            v,
            [
                "珠海市",
                "鹤洲新区筹备组(保税区、万山区)",
                "金湾区（高栏港）",
                "横琴"
            ]
        );
        assert!(split_top("香洲区(").is_err());
        assert!(split_top("香洲区)").is_err());
        assert!(split_top("a(b(c(d)))").is_err());
    }
}
