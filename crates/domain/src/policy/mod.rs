//! Policy documents exported from the 惠企政策库: a `key | value |` tag header
//! followed by numbered articles (一、… 二十一、) and a closing paragraph.
//!
//! [`parse_policy`] turns the raw bytes into a [`ParsedPolicy`] with typed
//! tags (size classes, area codes, expiry), articles with their lead units
//! and nested items, and the quantitative targets found in the text. It is
//! pure, never panics, and is fuzzed (see `docs/fuzzing.md`).

mod body;
mod decode;
mod header;
mod numerals;
mod targets;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::money::Amount;
use crate::reference::ReferenceData;
use crate::size::SizeClass;

pub use decode::MAX_BYTES;
pub use numerals::parse_chinese_int;

/// A top-level entry of 适用区域, e.g. `鹤洲新区筹备组(保税区、万山区)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AreaRef {
    /// Canonical name from the reference data.
    pub name: String,
    pub code: String,
    /// Canonical names of the members written in parentheses, in order.
    pub members: Vec<String>,
    pub member_codes: Vec<String>,
    /// The entry as written in the tag.
    pub written: String,
}

/// A numbered item inside an article: `（一）`, `1.`, `（1）`, `①`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Item {
    /// As written, e.g. "（一）" or "1.".
    pub label: String,
    /// 1 = （一）, 2 = 1., 3 = （1）, 4 = ①: the usual nesting of official documents.
    pub level: u8,
    pub number: u32,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Article {
    pub number: u32,
    /// Text up to the first `。` (or the whole first line if it has none).
    pub heading: String,
    /// Canonical department names, in the order written.
    pub lead_units: Vec<String>,
    pub lead_unit_codes: Vec<String>,
    /// Units named as leads but absent from the department reference data.
    pub unknown_lead_units: Vec<String>,
    /// Units written as `…配合`, as written.
    pub cooperating_units: Vec<String>,
    pub items: Vec<Item>,
    /// Full text after the number, lines joined with `\n`.
    pub text: String,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Percent,
    Money,
    Duration,
    Count,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Target {
    /// Article number; 0 for the preamble and the closing paragraph.
    pub article: u32,
    /// "preamble", "article" or "closing".
    pub section: &'static str,
    pub kind: TargetKind,
    /// Ratio for percent (0.8), 元 for money, count of `unit` otherwise.
    /// Approximate; use `exact` for comparisons.
    pub value: f64,
    /// Basis points for percent, 分 for money, `exact_unit`s for durations
    /// and counts.
    pub exact: i64,
    pub exact_unit: &'static str,
    /// False for a bare `限时`/`限期` with no number.
    pub has_value: bool,
    /// The unit as written: "%", "万元", "个工作日", "家"…
    pub unit: String,
    /// The comparison word as written: 以上, 不超过, 最高不超过…
    pub comparison: Option<String>,
    /// `>=`, `<=`, `>`, `<` or `=`; `None` when no comparison word is present.
    pub op: Option<&'static str>,
    /// The matched figure with its comparison words, e.g. "2000万元以上".
    pub matched: String,
    /// The clause around the figure.
    pub text: String,
}

impl Target {
    /// The exact amount for a money target in 元/万元/亿元.
    pub fn amount(&self) -> Option<Amount> {
        (self.kind == TargetKind::Money && self.exact_unit == "分" && self.has_value)
            .then(|| Amount::from_fen(self.exact))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParsedPolicy {
    /// Every tag as written: key → raw value.
    pub tags: BTreeMap<String, String>,
    /// Empty when the record does not restrict sizes.
    pub enterprise_sizes: Vec<SizeClass>,
    pub areas: Vec<AreaRef>,
    /// `None` = no stated expiry (文件中未注明, 长期有效, or no tag).
    pub valid_until: Option<NaiveDate>,
    /// Text between the tag header and the first article.
    pub preamble: String,
    pub articles: Vec<Article>,
    /// Text after the last article.
    pub closing: String,
    pub targets: Vec<Target>,
    /// Non-fatal problems, in Chinese.
    pub warnings: Vec<String>,
    pub title: String,
    /// True when no 标题 tag was present and `title` was made up from the
    /// first article.
    pub title_derived: bool,
    /// SHA-256 (hex) of the normalised text, identical for the same record in
    /// UTF-8 or GB18030, LF or CRLF.
    pub content_hash: String,
}

impl ParsedPolicy {
    /// Every area code the policy applies to: entries and their members,
    /// without duplicates, in tag order.
    pub fn area_codes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for a in &self.areas {
            for c in std::iter::once(&a.code).chain(&a.member_codes) {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyParseError {
    #[error("文件为空")]
    Empty,
    #[error("文件过大（{bytes} 字节），政策文件不应超过 16 MiB")]
    TooLarge { bytes: usize },
    #[error("文件编码无法识别：应为 UTF-8 或 GB18030")]
    Encoding,
    #[error("没有找到编号条款（如“一、”）")]
    NoArticles,
    #[error("无法识别的适用区域{}", quote_list(.names))]
    UnknownArea { names: Vec<String> },
    #[error("适用区域“{entry}”格式错误：{reason}")]
    AreaSyntax { entry: String, reason: &'static str },
    #[error(
        "无法识别的有效期“{value}”：应为日期（如 2025年12月31日、2025-12-31）或“长期有效”“文件中未注明”"
    )]
    InvalidExpiry { value: String },
}

fn quote_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("“{n}”"))
        .collect::<Vec<_>>()
        .join("、")
}

/// Parses one exported policy record. Never panics on any input.
pub fn parse_policy(bytes: &[u8], rd: &ReferenceData) -> Result<ParsedPolicy, PolicyParseError> {
    let text = decode::decode(bytes)?;
    let lines = decode::normalise(&text);
    if lines.is_empty() {
        return Err(PolicyParseError::Empty);
    }
    let normalised = lines.join("\n");
    let content_hash = hex::encode(Sha256::digest(normalised.as_bytes()));

    let mut warnings = Vec::new();
    let split = body::split(&lines);
    let header = header::parse(&split.header, rd, &mut warnings)?;
    if split.articles.is_empty() {
        return Err(PolicyParseError::NoArticles);
    }
    let articles = body::articles(&split.articles, rd, &mut warnings);
    let preamble = split.preamble.join("\n");
    let closing = split.closing.join("\n");

    let mut targets = Vec::new();
    targets::extract(&preamble, 0, "preamble", &mut targets, &mut warnings);
    for a in &articles {
        targets::extract(&a.text, a.number, "article", &mut targets, &mut warnings);
    }
    targets::extract(&closing, 0, "closing", &mut targets, &mut warnings);

    let (title, title_derived) = match header.title.clone() {
        Some(t) => (t, false),
        None => (derive_title(&articles), true),
    };

    Ok(ParsedPolicy {
        tags: header.tags,
        enterprise_sizes: header.sizes,
        areas: header.areas,
        valid_until: header.valid_until,
        preamble,
        articles,
        closing,
        targets,
        warnings,
        title,
        title_derived,
        content_hash,
    })
}

/// Records exported without a title are named after what they do: the first
/// article's heading, how many measures there are, and who leads the first.
fn derive_title(articles: &[Article]) -> String {
    let Some(first) = articles.first() else {
        return String::new();
    };
    let mut t = first.heading.clone();
    if articles.len() > 1 {
        t.push_str(&format!("等{}项措施", articles.len()));
    }
    let leads: Vec<&str> = first
        .lead_units
        .iter()
        .chain(&first.unknown_lead_units)
        .map(String::as_str)
        .collect();
    if !leads.is_empty() {
        t.push_str(&format!("（{}牵头）", leads.join("、")));
    }
    t
}

/// The JSON printed by `zhengqi policy parse FILE`.
pub fn to_json(p: &ParsedPolicy) -> serde_json::Value {
    // Serialising plain structs of strings and numbers cannot fail; should it
    // ever, an explicit error object beats a panic in the CLI.
    serde_json::to_value(p).unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }))
}

/// The record's text as stored and shown: decoded (UTF-8 or GB18030),
/// without BOM, with `\n` line ends.
pub fn decode_text(bytes: &[u8]) -> Result<String, PolicyParseError> {
    decode::decode(bytes).map(|t| t.replace("\r\n", "\n").replace('\r', "\n"))
}
