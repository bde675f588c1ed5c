//! The vocabulary: keywords, field names with their English aliases, and the
//! field catalogue shown in the docs and the web form.

use serde::Serialize;
use zhengqi_domain::enterprise::IndicatorKind;
use zhengqi_domain::policy::parse_chinese_int;

use crate::ast::{Aggregate, Dim, Expr, YearBack};

pub(crate) const KW_NOT: &[&str] = &["非", "不", "not"];
pub(crate) const KW_IN: &[&str] = &["属于", "in"];
pub(crate) const KW_NOT_IN: &[&str] = &["不属于"];
pub(crate) const KW_VALID: &[&str] = &["有效", "valid"];
pub(crate) const KW_TAG: &[&str] = &["标签", "有标签", "tag"];
pub(crate) const KW_CERT: &[&str] = &["资质", "cert"];
pub(crate) const KW_UNTIL: &[&str] = &["有效期至", "valid_until"];
pub(crate) const KW_SIZE: &[&str] = &["企业规模", "规模", "size"];
pub(crate) const KW_AREA: &[&str] = &["区域", "所在区域", "area"];
pub(crate) const KW_INDUSTRY: &[&str] = &["行业", "所属行业", "industry"];
pub(crate) const KW_AMOUNT: &[&str] = &["金额", "amount"];
pub(crate) const KW_ALL: &[&str] = &["全部", "all"];
pub(crate) const KW_ANY: &[&str] = &["任一", "any"];
pub(crate) const KW_MIN: &[&str] = &["min", "最小", "最小值"];
pub(crate) const KW_MAX: &[&str] = &["max", "最大", "最大值"];
pub(crate) const KW_TIERS: &[&str] = &["阶梯", "tiers"];
pub(crate) const KW_AGE: &[&str] = &["成立年限", "成立年数", "企业年龄", "age"];

const ALL_KEYWORDS: &[&[&str]] = &[
    KW_NOT,
    KW_IN,
    KW_NOT_IN,
    KW_VALID,
    KW_TAG,
    KW_CERT,
    KW_UNTIL,
    KW_SIZE,
    KW_AREA,
    KW_INDUSTRY,
    KW_AMOUNT,
    KW_ALL,
    KW_ANY,
    KW_MIN,
    KW_MAX,
    KW_TIERS,
    KW_AGE,
];

/// `word` is one of `list`; ASCII letters compare case-insensitively.
pub(crate) fn is_kw(word: &str, list: &[&str]) -> bool {
    list.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// Reserved words: a tag or certification with such a name must be quoted.
pub(crate) fn is_reserved(word: &str) -> bool {
    ALL_KEYWORDS.iter().any(|l| is_kw(word, l))
        || ["and", "or", "并且", "或者"]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(word))
        || parse_period(word).is_some()
        || resolve_numeric(word).is_ok()
        || IndicatorKind::parse(word).is_some()
}

/// The year part of `上年度.营业收入`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Period {
    Year(u8),
    Agg(Aggregate, u8),
}

const YEAR_WORDS: &[(&str, u8)] = &[
    ("本年度", 0),
    ("本年", 0),
    ("当年", 0),
    ("今年", 0),
    ("this_year", 0),
    ("上一年度", 1),
    ("上年度", 1),
    ("上年", 1),
    ("去年", 1),
    ("last_year", 1),
    ("上上年度", 2),
    ("前年", 2),
    ("year_before_last", 2),
];

fn small_int(s: &str) -> Option<u8> {
    if s.is_empty() {
        return None;
    }
    let n = if s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse::<u64>().ok()?
    } else {
        parse_chinese_int(s)?
    };
    u8::try_from(n).ok()
}

/// `上年度`, `前年`, `y3`, `近三年平均`, `avg3`, `sum3` … (not `3年前`, a token).
pub(crate) fn parse_period(s: &str) -> Option<Period> {
    let lower = s.to_ascii_lowercase();
    if let Some(&(_, b)) = YEAR_WORDS.iter().find(|(w, _)| *w == lower) {
        return Some(Period::Year(b));
    }
    if let Some(n) = lower.strip_prefix('y').and_then(small_int) {
        return Some(Period::Year(n));
    }
    for (p, agg) in [("avg", Aggregate::Avg), ("sum", Aggregate::Sum)] {
        if let Some(n) = lower.strip_prefix(p).and_then(small_int) {
            return Some(Period::Agg(agg, n));
        }
    }
    let rest = s.strip_prefix('近')?;
    for (suffix, agg) in [
        ("年平均", Aggregate::Avg),
        ("年合计", Aggregate::Sum),
        ("年累计", Aggregate::Sum),
    ] {
        if let Some(n) = rest.strip_suffix(suffix).and_then(small_int) {
            return Some(Period::Agg(agg, n));
        }
    }
    None
}

/// Why a numeric field name was not understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FieldError {
    Unknown,
    UnknownPeriod(String),
    UnknownIndicator(String),
    MissingYear(IndicatorKind),
    GrowthOfAggregate,
}

fn indicator(name: &str) -> Option<(IndicatorKind, bool)> {
    let (base, growth) = match name
        .strip_suffix("增长率")
        .or_else(|| name.strip_suffix("_growth"))
    {
        Some(b) => (b, true),
        None => (name, false),
    };
    let lower = base.to_ascii_lowercase();
    IndicatorKind::parse(&lower).map(|k| (k, growth))
}

fn with_period(p: Period, name: &str) -> Result<Expr, FieldError> {
    let Some((indicator, growth)) = indicator(name) else {
        return Err(FieldError::UnknownIndicator(name.to_string()));
    };
    Ok(match (p, growth) {
        (Period::Year(b), false) => Expr::Indicator {
            indicator,
            year: YearBack(b),
        },
        (Period::Year(b), true) => Expr::Growth {
            indicator,
            year: YearBack(b),
        },
        (Period::Agg(agg, years), false) => Expr::Aggregate {
            indicator,
            agg,
            years,
        },
        (Period::Agg(..), true) => return Err(FieldError::GrowthOfAggregate),
    })
}

/// `成立年限`, `上年度.营业收入`, `上年度营业收入`, `avg3.revenue`,
/// `last_year.revenue_growth` … → the expression.
pub(crate) fn resolve_numeric(s: &str) -> Result<Expr, FieldError> {
    if is_kw(s, KW_AGE) {
        return Ok(Expr::AgeYears);
    }
    if let Some((p, name)) = s.split_once('.') {
        let period = parse_period(p).ok_or_else(|| FieldError::UnknownPeriod(p.to_string()))?;
        return with_period(period, name);
    }
    // Without the dot: 上年度营业收入, 近三年平均研发投入.
    for (i, _) in s.char_indices().skip(1) {
        let (p, name) = s.split_at(i);
        if let Some(period) = parse_period(p)
            && indicator(name).is_some()
        {
            return with_period(period, name);
        }
    }
    if let Some((k, _)) = indicator(s) {
        return Err(FieldError::MissingYear(k));
    }
    Err(FieldError::Unknown)
}

pub(crate) fn year_text(back: u8) -> String {
    match back {
        0 => "本年度".to_string(),
        1 => "上年度".to_string(),
        2 => "前年".to_string(),
        n => format!("{n}年前"),
    }
}

const CN_DIGITS: [&str; 11] = [
    "零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十",
];

pub(crate) fn agg_text(agg: Aggregate, years: u8) -> String {
    let n = CN_DIGITS
        .get(usize::from(years))
        .filter(|_| years > 0)
        .map_or_else(|| years.to_string(), |s| s.to_string());
    let what = match agg {
        Aggregate::Avg => "平均",
        Aggregate::Sum => "合计",
    };
    format!("近{n}年{what}")
}

/// Names offered when a numeric field is unknown.
pub(crate) fn numeric_field_names() -> Vec<String> {
    let mut v: Vec<String> = IndicatorKind::ALL
        .iter()
        .map(|k| format!("上年度.{}", k.label()))
        .collect();
    v.push("成立年限".to_string());
    v
}

/// Condition keywords offered where a condition is expected.
pub(crate) fn condition_starts() -> Vec<String> {
    [
        "企业规模 属于 […]",
        "区域 属于 […]",
        "行业 属于 […]",
        "标签 名称",
        "资质 名称 有效",
        "有效期至 日期",
        "上年度.营业收入 >= 金额",
        "成立年限 >= 年数",
        "非",
        "(",
    ]
    .map(String::from)
    .to_vec()
}

/// One entry of the field catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldDoc {
    /// The Chinese name as written in rules.
    pub name: String,
    /// Other accepted spellings, English first.
    pub aliases: Vec<String>,
    /// What it is: 金额、人数、面积、年数、比例、集合、标签、资质、日期.
    pub kind: String,
    pub description: String,
    /// A condition using it; every example parses.
    pub example: String,
}

fn doc(name: &str, aliases: &[&str], kind: &str, description: &str, example: &str) -> FieldDoc {
    FieldDoc {
        name: name.to_string(),
        aliases: aliases.iter().map(|s| s.to_string()).collect(),
        kind: kind.to_string(),
        description: description.to_string(),
        example: example.to_string(),
    }
}

/// Every field and condition form, for help texts and the web form.
pub fn fields() -> Vec<FieldDoc> {
    let mut v = vec![
        doc(
            "企业规模",
            &["size", "规模"],
            "集合",
            "大型、中型、小型、微型；规模未知时无法判断",
            "企业规模 属于 [中型, 小型, 微型]",
        ),
        doc(
            "区域",
            &["area", "所在区域"],
            "集合",
            "区域名称或编码；写上级区域（如 珠海市、鹤洲新区筹备组）即包含其下所有区域",
            "区域 属于 [香洲区, 横琴]",
        ),
        doc(
            "行业",
            &["industry", "所属行业"],
            "集合",
            "国民经济行业分类：门类字母（C 制造业）或两位大类代码（39、C39）",
            "行业 属于 [C, 65]",
        ),
        doc(
            "标签",
            &["tag", "有标签"],
            "标签",
            "企业带有某个标签（如 链主企业、失信企业）",
            "非 标签 失信企业",
        ),
        doc(
            "资质",
            &["cert"],
            "资质",
            "企业持有在评估日有效的某项资质",
            "资质 高新技术企业 有效",
        ),
        doc(
            "有效期至",
            &["valid_until"],
            "日期",
            "政策在评估日仍在有效期内",
            "有效期至 2026-12-31",
        ),
        doc(
            "成立年限",
            &["age", "成立年数", "企业年龄"],
            Dim::Years.label(),
            "自成立日期起满几周年；成立日期未知时无法判断",
            "成立年限 >= 3年",
        ),
    ];
    for k in IndicatorKind::ALL {
        let dim = Dim::of_indicator(k);
        let threshold = match dim {
            Dim::Persons => "50人",
            Dim::Land => "30亩",
            _ => "2000万元",
        };
        v.push(doc(
            k.label(),
            &[k.key()],
            dim.label(),
            &format!(
                "需加年度：本年度、上年度、前年、N年前，或 近N年平均、近N年合计；单位：{}",
                k.unit()
            ),
            &format!("上年度.{} >= {threshold}", k.label()),
        ));
        v.push(doc(
            &format!("{}增长率", k.label()),
            &[&format!("{}_growth", k.key())],
            Dim::Ratio.label(),
            "该年度比上一年度的增长率；上一年度为 0 或缺失时无法判断",
            &format!("上年度.{}增长率 >= 10%", k.label()),
        ));
    }
    v
}
