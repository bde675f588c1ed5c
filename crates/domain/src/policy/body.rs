//! The body: preamble, numbered articles with items and lead units, closing.

use super::header::is_pipe;
use super::numerals::{is_chinese_numeral, parse_chinese_int};
use super::{Article, Item};
use crate::reference::{ReferenceData, half_width};

pub struct RawArticle {
    pub number: u32,
    /// The first line is the text after `一、`, possibly empty.
    pub lines: Vec<String>,
}

pub struct Split {
    pub header: Vec<String>,
    pub preamble: Vec<String>,
    pub articles: Vec<RawArticle>,
    pub closing: Vec<String>,
}

/// `二十一、…` at the start of a line → (21, "…"). Article numbers stop at
/// 999; a longer numeral run is prose, not numbering.
pub fn article_start(line: &str) -> Option<(u32, &str)> {
    let end = line
        .char_indices()
        .find(|&(_, c)| !is_chinese_numeral(c))
        .map_or(line.len(), |(i, _)| i);
    let numeral = line.get(..end)?;
    if numeral.is_empty() || numeral.chars().count() > 5 {
        return None;
    }
    let rest = line.get(end..)?.strip_prefix('、')?;
    let n = parse_chinese_int(numeral)?;
    if !(1..=999).contains(&n) {
        return None;
    }
    Some((u32::try_from(n).ok()?, rest.trim_start()))
}

/// `（一）` → level 1, `1.`/`1、` → 2, `（1）` → 3, `①` → 4, with the number
/// and the text after the label.
pub fn item_label(line: &str) -> Option<(String, u8, u32, &str)> {
    let mut chars = line.char_indices();
    let (_, first) = chars.next()?;
    if let Some(n) = circled(first) {
        let rest = line.get(first.len_utf8()..)?;
        return Some((first.to_string(), 4, n, rest.trim_start()));
    }
    let hw = |c: char| half_width(&c.to_string()).chars().next().unwrap_or(c);
    if first == '(' || first == '（' {
        let close = line
            .char_indices()
            .skip(1)
            .take(6)
            .find(|&(_, c)| c == ')' || c == '）')?;
        let inner = line.get(first.len_utf8()..close.0)?;
        let after = close.0 + close.1.len_utf8();
        let label = line.get(..after)?.to_string();
        let rest = line.get(after..)?.trim_start();
        if let Some(n) = parse_chinese_int(inner) {
            return Some((label, 1, u32::try_from(n).ok()?, rest));
        }
        let digits: String = inner.chars().map(hw).collect();
        if !digits.is_empty() && digits.len() <= 3 && digits.bytes().all(|b| b.is_ascii_digit()) {
            return Some((label, 3, digits.parse().ok()?, rest));
        }
        return None;
    }
    // `1.` / `1．` / `1、`, but not a decimal such as `1.5亿元`.
    let mut digits = String::new();
    let mut end = 0;
    for (i, c) in line.char_indices() {
        let h = hw(c);
        if h.is_ascii_digit() && digits.len() < 3 {
            digits.push(h);
            end = i + c.len_utf8();
        } else {
            break;
        }
    }
    if digits.is_empty() {
        return None;
    }
    let rest = line.get(end..)?;
    let mut rc = rest.chars();
    let sep = rc.next()?;
    if !matches!(sep, '.' | '．' | '、') {
        return None;
    }
    if rc.next().is_some_and(|c| hw(c).is_ascii_digit()) {
        return None;
    }
    let label = line.get(..end + sep.len_utf8())?.to_string();
    Some((
        label,
        2,
        digits.parse().ok()?,
        rest.get(sep.len_utf8()..)?.trim_start(),
    ))
}

fn circled(c: char) -> Option<u32> {
    let v = u32::from(c);
    (0x2460..=0x2473).contains(&v).then(|| v - 0x2460 + 1)
}

/// Closing paragraphs of Chinese policy documents open with these phrases.
const CLOSING_OPENERS: [&str; 22] = [
    "本措施",
    "本政策",
    "本办法",
    "本细则",
    "本方案",
    "本通知",
    "本规定",
    "本意见",
    "本实施",
    "本若干",
    "本文件",
    "本条款",
    "各牵头单位",
    "各有关单位",
    "各责任单位",
    "各单位",
    "各区",
    "以上",
    "此前",
    "附件",
    "特此",
    "自印发之日",
];

pub fn split(lines: &[String]) -> Split {
    let first = lines.iter().position(|l| article_start(l).is_some());
    let before = first.map_or(lines, |f| lines.get(..f).unwrap_or(&[]));
    let (header, preamble): (Vec<String>, Vec<String>) =
        before.iter().cloned().partition(|l| l.contains(is_pipe));
    let mut articles: Vec<RawArticle> = Vec::new();
    for line in first.map_or(&[][..], |f| lines.get(f..).unwrap_or(&[])) {
        match (article_start(line), articles.last_mut()) {
            (Some((n, rest)), _) => articles.push(RawArticle {
                number: n,
                lines: vec![rest.to_string()],
            }),
            (None, Some(a)) => a.lines.push(line.clone()),
            (None, None) => {}
        }
    }
    let mut closing = Vec::new();
    if let Some(last) = articles.last_mut() {
        let start = closing_start(&last.lines);
        if start < last.lines.len() {
            closing = last.lines.split_off(start);
        }
    }
    Split {
        header,
        preamble,
        articles,
        closing,
    }
}

/// Where the closing paragraph begins inside the last article's lines: after
/// the line carrying the lead units, or at a typical opening phrase; never
/// before an item line, which still belongs to the article.
fn closing_start(lines: &[String]) -> usize {
    let n = lines.len();
    let last_item = lines
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| item_label(l).is_some())
        .map(|(i, _)| i)
        .next_back()
        .unwrap_or(0);
    if let Some(k) = lines.iter().rposition(|l| find_lead(l).is_some()) {
        return (k + 1).max(last_item + 1).min(n);
    }
    lines
        .iter()
        .enumerate()
        .skip(last_item + 1)
        .find(|(_, l)| CLOSING_OPENERS.iter().any(|p| l.starts_with(p)))
        .map_or(n, |(i, _)| i)
}

pub struct Lead {
    /// Byte offset of the opening parenthesis.
    pub start: usize,
    pub leads: Vec<String>,
    pub cooperating: Vec<String>,
}

const TRAILING_PUNCT: [char; 7] = ['。', '；', ';', '，', ',', '.', '、'];

/// A trailing `(市财政局、市发展改革局牵头)` / `（牵头单位：…）` / `（责任单位：…）`.
pub fn find_lead(text: &str) -> Option<Lead> {
    let t = text.trim_end_matches(|c: char| c.is_whitespace() || TRAILING_PUNCT.contains(&c));
    let last = t.chars().next_back()?;
    if last != ')' && last != '）' {
        return None;
    }
    let close = t.len() - last.len_utf8();
    let mut depth = 0usize;
    let mut open = None;
    for (i, c) in t.char_indices().rev() {
        if c == ')' || c == '）' {
            depth += 1;
        } else if c == '(' || c == '（' {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                open = Some((i, c.len_utf8()));
                break;
            }
        }
    }
    let (start, open_len) = open?;
    let inner = t.get(start + open_len..close)?.trim();
    let (leads, cooperating) = classify_lead(inner)?;
    Some(Lead {
        start,
        leads,
        cooperating,
    })
}

fn split_units(s: &str) -> Vec<String> {
    s.split(['、', ',', '，'])
        .map(|u| u.trim().trim_end_matches('等').trim())
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect()
}

fn classify_lead(inner: &str) -> Option<(Vec<String>, Vec<String>)> {
    let mut leads = Vec::new();
    let mut coop = Vec::new();
    let mut found = false;
    for seg in inner.split(['；', ';', '，', ',']) {
        let seg = seg.trim();
        let label = ["牵头单位", "责任单位", "牵头部门", "责任部门"]
            .iter()
            .find_map(|p| seg.strip_prefix(p))
            .and_then(|r| r.trim_start().strip_prefix([':', '：']));
        if let Some(rest) = label {
            leads.extend(split_units(rest));
            found = true;
        } else if let Some(rest) = seg
            .strip_prefix("配合单位")
            .and_then(|r| r.trim_start().strip_prefix([':', '：']))
        {
            coop.extend(split_units(rest));
        } else if let Some(rest) = seg
            .strip_suffix("牵头")
            .or_else(|| seg.strip_suffix("负责"))
        {
            leads.extend(split_units(
                rest.trim_end_matches("共同").trim_end_matches("分别"),
            ));
            found = true;
        } else if let Some(rest) = seg.strip_suffix("配合") {
            coop.extend(split_units(rest.trim_end_matches("按职责")));
        }
    }
    // Units are separated by 、 so the comma split above cannot break one;
    // only a parenthesis that names leads counts, else it is ordinary prose.
    found.then_some((leads, coop))
}

pub fn articles(
    raw: &[RawArticle],
    rd: &ReferenceData,
    warnings: &mut Vec<String>,
) -> Vec<Article> {
    let mut out: Vec<Article> = Vec::new();
    for r in raw {
        match out.last() {
            None if r.number != 1 => {
                warnings.push(format!("第一个条款的编号是{}而不是一", r.number))
            }
            Some(prev) if r.number != prev.number.saturating_add(1) => warnings.push(format!(
                "条款编号不连续：第{}条之后是第{}条",
                prev.number, r.number
            )),
            _ => {}
        }
        out.push(article(r, rd, warnings));
    }
    out
}

fn article(r: &RawArticle, rd: &ReferenceData, warnings: &mut Vec<String>) -> Article {
    let lines: Vec<&str> = r
        .lines
        .iter()
        .map(String::as_str)
        .filter(|l| !l.is_empty())
        .collect();
    let text = lines.join("\n");
    let first = lines.first().copied().unwrap_or("");
    // A heading without `。` may end in the lead units: `十、加强组织保障（市财政局牵头）`.
    let heading_line = find_lead(first).map_or(first, |l| first.get(..l.start).unwrap_or(first));
    let heading = heading_line
        .split('。')
        .next()
        .unwrap_or("")
        .trim_end_matches(['：', ':', '，', ',', '；', ';'])
        .trim()
        .to_string();

    let mut items: Vec<Item> = Vec::new();
    for line in lines.iter().skip(1) {
        if let Some((label, level, number, rest)) = item_label(line) {
            items.push(Item {
                label,
                level,
                number,
                text: rest.to_string(),
            });
        } else if let Some(it) = items.last_mut() {
            it.text.push('\n');
            it.text.push_str(line);
        }
    }

    let mut a = Article {
        number: r.number,
        heading,
        lead_units: Vec::new(),
        lead_unit_codes: Vec::new(),
        unknown_lead_units: Vec::new(),
        cooperating_units: Vec::new(),
        items,
        text,
    };
    // The lead units close the article; in multi-line articles they may sit
    // on the last line or on a line of their own.
    if let Some(lead) = lines.iter().rev().find_map(|l| find_lead(l)) {
        for u in lead.leads {
            match rd.department_by_name(&u) {
                Some(d) => {
                    if !a.lead_unit_codes.contains(&d.code) {
                        a.lead_units.push(d.name.clone());
                        a.lead_unit_codes.push(d.code.clone());
                    }
                }
                None => {
                    warnings.push(format!(
                        "第{}条牵头单位“{u}”不在部门参考数据中，按原文保留",
                        r.number
                    ));
                    if !a.unknown_lead_units.contains(&u) {
                        a.unknown_lead_units.push(u);
                    }
                }
            }
        }
        a.cooperating_units = lead.cooperating;
        if let Some(it) = a.items.last_mut()
            && let Some(l) = find_lead(&it.text)
        {
            it.text.truncate(l.start);
            let kept = it.text.trim_end().len();
            it.text.truncate(kept);
        }
    }
    a
}
