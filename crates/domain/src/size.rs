//! 企业规模划型 by 《统计上大中小微型企业划分办法（2017）》.
//!
//! The thresholds are data (`data/national/size-classes.json`), so a revised
//! standard only needs a new file. All money comparisons are exact in 分.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::money::Amount;
use crate::reference::half_width;

const NATIONAL_JSON: &str = include_str!("../../../data/national/size-classes.json");

/// 分 per 万元: thresholds for Y and Z are in 万元.
const FEN_PER_WAN: i128 = 1_000_000;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SizeClass {
    #[serde(rename = "大型")]
    Large,
    #[serde(rename = "中型")]
    Medium,
    #[serde(rename = "小型")]
    Small,
    #[serde(rename = "微型")]
    Micro,
}

impl SizeClass {
    pub const ALL: [SizeClass; 4] = [
        SizeClass::Large,
        SizeClass::Medium,
        SizeClass::Small,
        SizeClass::Micro,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SizeClass::Large => "大型",
            SizeClass::Medium => "中型",
            SizeClass::Small => "小型",
            SizeClass::Micro => "微型",
        }
    }

    /// 0 = 微型 … 3 = 大型; the derived `Ord` runs the other way (大型 first).
    pub fn rank(self) -> u8 {
        match self {
            SizeClass::Micro => 0,
            SizeClass::Small => 1,
            SizeClass::Medium => 2,
            SizeClass::Large => 3,
        }
    }

    /// 中型、小型、微型 together are 中小微企业 (SMEs).
    pub fn is_sme(self) -> bool {
        self != SizeClass::Large
    }
}

impl fmt::Display for SizeClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("企业规模“{input}”无法识别：应为 大型、中型、小型 或 微型")]
pub struct ParseSizeClassError {
    pub input: String,
}

impl FromStr for SizeClass {
    type Err = ParseSizeClassError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = half_width(s.trim());
        let t = t.trim();
        let c = match t.to_ascii_lowercase().as_str() {
            "大型" | "大" | "大型企业" | "large" => SizeClass::Large,
            "中型" | "中" | "中型企业" | "medium" => SizeClass::Medium,
            "小型" | "小" | "小型企业" | "small" => SizeClass::Small,
            "微型" | "微" | "微型企业" | "micro" => SizeClass::Micro,
            _ => {
                return Err(ParseSizeClassError {
                    input: s.trim().to_string(),
                });
            }
        };
        Ok(c)
    }
}

/// The three indicators of the standard.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Indicator {
    /// X 从业人员（人）
    #[serde(rename = "X")]
    Employees,
    /// Y 营业收入（万元）
    #[serde(rename = "Y")]
    Revenue,
    /// Z 资产总额（万元）
    #[serde(rename = "Z")]
    Assets,
}

impl Indicator {
    pub fn label(self) -> &'static str {
        match self {
            Indicator::Employees => "从业人员",
            Indicator::Revenue => "营业收入",
            Indicator::Assets => "资产总额",
        }
    }

    pub fn letter(self) -> &'static str {
        match self {
            Indicator::Employees => "X",
            Indicator::Revenue => "Y",
            Indicator::Assets => "Z",
        }
    }

    /// Unit of the thresholds in the data file.
    pub fn unit(self) -> &'static str {
        match self {
            Indicator::Employees => "人",
            Indicator::Revenue | Indicator::Assets => "万元",
        }
    }
}

/// Lower bounds of 大型/中型/小型 for one indicator (人 or 万元).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub code: Indicator,
    pub large: u64,
    pub medium: u64,
    pub small: u64,
}

impl Threshold {
    /// Bounds in comparison units: persons, or 分 for money.
    fn bounds(&self) -> [i128; 3] {
        let scale = match self.code {
            Indicator::Employees => 1,
            Indicator::Revenue | Indicator::Assets => FEN_PER_WAN,
        };
        [self.large, self.medium, self.small].map(|b| i128::from(b) * scale)
    }

    fn tier(&self, value: i128) -> SizeClass {
        let [l, m, s] = self.bounds();
        if value >= l {
            SizeClass::Large
        } else if value >= m {
            SizeClass::Medium
        } else if value >= s {
            SizeClass::Small
        } else {
            SizeClass::Micro
        }
    }

    /// "小型 20≤X<300"
    fn range_text(&self, tier: SizeClass) -> String {
        let x = self.code.letter();
        let (l, m, s) = (self.large, self.medium, self.small);
        match tier {
            SizeClass::Large => format!("大型 {x}≥{l}"),
            SizeClass::Medium => format!("中型 {m}≤{x}<{l}"),
            SizeClass::Small => format!("小型 {s}≤{x}<{m}"),
            SizeClass::Micro => format!("微型 {x}<{s}"),
        }
    }
}

/// One row of the standard's table, e.g. 工业.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SizeRow {
    pub name: String,
    pub indicators: Vec<Threshold>,
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    source: String,
    #[serde(default)]
    #[allow(dead_code)]
    note: String,
    fallback: String,
    rows: Vec<RawRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    name: String,
    #[serde(default)]
    divisions: Vec<String>,
    #[serde(default)]
    classes: Vec<String>,
    #[serde(default)]
    bare_divisions: Vec<String>,
    #[serde(default)]
    note: Option<String>,
    indicators: Vec<Threshold>,
}

/// The classification table plus indexes from industry codes to rows.
#[derive(Clone, Debug)]
pub struct SizeRules {
    rows: Vec<SizeRow>,
    source: String,
    fallback: usize,
    by_division: HashMap<u8, usize>,
    by_bare_division: HashMap<u8, usize>,
    by_class: HashMap<String, usize>,
}

/// What the enterprise reported. Revenue and assets are exact amounts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizeInput {
    /// GB/T 4754 code: "39", "C39", "3911", "7020".
    pub industry: String,
    pub employees: Option<u64>,
    pub revenue: Option<Amount>,
    pub assets: Option<Amount>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SizeDecision {
    pub class: SizeClass,
    /// Row of the table used, e.g. "工业".
    pub row: String,
    /// Chinese explanation with values and bounds.
    pub rule: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error(
        "行业代码“{0}”无法识别：应为国民经济行业分类（GB/T 4754-2017）门类字母、两位大类或四位小类代码，如 C39、3911"
    )]
    UnknownIndustry(String),
    #[error("按“{row}”划型需要{indicator}，但未提供")]
    MissingIndicator {
        row: String,
        indicator: &'static str,
    },
}

/// GB/T 4754-2017 section of a division. The structure is fixed by the
/// standard, so it is code rather than data.
pub fn section_of_division(division: u8) -> Option<char> {
    let s = match division {
        1..=5 => 'A',
        6..=12 => 'B',
        13..=43 => 'C',
        44..=46 => 'D',
        47..=50 => 'E',
        51..=52 => 'F',
        53..=60 => 'G',
        61..=62 => 'H',
        63..=65 => 'I',
        66..=69 => 'J',
        70 => 'K',
        71..=72 => 'L',
        73..=75 => 'M',
        76..=79 => 'N',
        80..=82 => 'O',
        83 => 'P',
        84..=85 => 'Q',
        86..=90 => 'R',
        91..=96 => 'S',
        97 => 'T',
        _ => return None,
    };
    Some(s)
}

/// A parsed industry code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndustryCode {
    /// 门类 only, e.g. "C".
    Section(char),
    /// 大类 with optional 小类 (4 digits; a 3-digit 中类 is padded with 0).
    Division { division: u8, class: Option<String> },
}

impl IndustryCode {
    /// Accepts "C", "c", "39", "C39", "391", "3911", "C3911", full-width too.
    /// A letter that contradicts the division ("A39") is rejected.
    pub fn parse(code: &str) -> Option<IndustryCode> {
        let t = half_width(code.trim()).trim().to_ascii_uppercase();
        let mut chars = t.chars();
        let first = chars.next()?;
        let (letter, digits) = if first.is_ascii_uppercase() {
            (Some(first), chars.as_str())
        } else {
            (None, t.as_str())
        };
        if digits.is_empty() {
            let l = letter?;
            return ('A'..='T').contains(&l).then_some(IndustryCode::Section(l));
        }
        if !(2..=4).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let division: u8 = digits.get(..2)?.parse().ok()?;
        let section = section_of_division(division)?;
        if letter.is_some_and(|l| l != section) {
            return None;
        }
        let class = match digits.len() {
            // In GB/T 4754 a 中类 with a single 小类 numbers it with a trailing 0.
            3 => Some(format!("{digits}0")),
            4 => Some(digits.to_string()),
            _ => None,
        };
        Some(IndustryCode::Division { division, class })
    }
}

fn parse_division(s: &str) -> Result<u8, String> {
    let t = s.trim();
    let d = (t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| t.parse::<u8>().ok())
        .flatten()
        .filter(|&d| section_of_division(d).is_some());
    d.ok_or_else(|| format!("大类代码“{s}”无效：应为01至97的两位数字"))
}

fn parse_division_range(s: &str) -> Result<Vec<u8>, String> {
    match s.split_once(['-', '–', '~']) {
        Some((a, b)) => {
            let (a, b) = (parse_division(a)?, parse_division(b)?);
            if a > b {
                return Err(format!("大类区间“{s}”起点大于终点"));
            }
            Ok((a..=b).collect())
        }
        None => Ok(vec![parse_division(s)?]),
    }
}

impl SizeRules {
    /// Loads and validates a table. The error (Chinese) names the bad entry.
    pub fn from_json(s: &str) -> Result<SizeRules, String> {
        let raw: RawRules = serde_json::from_str(s).map_err(|e| format!("JSON格式错误：{e}"))?;
        let mut rows = Vec::with_capacity(raw.rows.len());
        let mut by_division = HashMap::new();
        let mut by_bare_division = HashMap::new();
        let mut by_class = HashMap::new();
        for (i, r) in raw.rows.into_iter().enumerate() {
            let name = r.name.trim().to_string();
            if name.is_empty() {
                return Err(format!("第{}行的行业名称为空", i + 1));
            }
            if rows.iter().any(|x: &SizeRow| x.name == name) {
                return Err(format!("行业“{name}”重复"));
            }
            if r.indicators.is_empty() {
                return Err(format!("行业“{name}”没有任何划型指标"));
            }
            for (k, t) in r.indicators.iter().enumerate() {
                if r.indicators[..k].iter().any(|o| o.code == t.code) {
                    return Err(format!("行业“{name}”的指标{}重复", t.code.letter()));
                }
                if !(t.large > t.medium && t.medium > t.small) {
                    return Err(format!(
                        "行业“{name}”的指标{}下限应满足 大型>中型>小型",
                        t.code.letter()
                    ));
                }
                // Keeps every bound representable as an Amount in 分.
                if i128::from(t.large) * FEN_PER_WAN > i128::from(i64::MAX) {
                    return Err(format!("行业“{name}”的指标{}数值过大", t.code.letter()));
                }
            }
            for d in &r.divisions {
                for div in parse_division_range(d).map_err(|e| format!("行业“{name}”：{e}"))?
                {
                    if by_division.insert(div, i).is_some() {
                        return Err(format!("大类{div:02}被多个行业重复引用"));
                    }
                }
            }
            for d in &r.bare_divisions {
                for div in parse_division_range(d).map_err(|e| format!("行业“{name}”：{e}"))?
                {
                    if by_bare_division.insert(div, i).is_some() {
                        return Err(format!("大类{div:02}被多个行业重复引用"));
                    }
                }
            }
            for c in &r.classes {
                let ok = matches!(
                    IndustryCode::parse(c),
                    Some(IndustryCode::Division { class: Some(_), .. })
                ) && c.trim().len() == 4;
                if !ok {
                    return Err(format!("行业“{name}”：小类代码“{c}”无效：应为四位数字"));
                }
                if by_class.insert(c.trim().to_string(), i).is_some() {
                    return Err(format!("小类{c}被多个行业重复引用"));
                }
            }
            rows.push(SizeRow {
                name,
                indicators: r.indicators,
                note: r.note,
            });
        }
        let fallback = rows
            .iter()
            .position(|r| r.name == raw.fallback.trim())
            .ok_or_else(|| format!("兜底行业“{}”不在表中", raw.fallback))?;
        Ok(SizeRules {
            rows,
            source: raw.source,
            fallback,
            by_division,
            by_bare_division,
            by_class,
        })
    }

    /// The embedded national table.
    pub fn national() -> SizeRules {
        static NATIONAL: LazyLock<SizeRules> = LazyLock::new(|| {
            // The embedded file is checked by tests; failing here is a build defect.
            SizeRules::from_json(NATIONAL_JSON)
                .unwrap_or_else(|e| panic!("内置企业规模标准数据无效：{e}"))
        });
        NATIONAL.clone()
    }

    pub fn rows(&self) -> &[SizeRow] {
        &self.rows
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    fn row_index_of(&self, code: &IndustryCode) -> usize {
        match code {
            IndustryCode::Division { division, class } => class
                .as_ref()
                .and_then(|c| self.by_class.get(c))
                .or_else(|| self.by_division.get(division))
                .or_else(|| {
                    class
                        .is_none()
                        .then(|| self.by_bare_division.get(division))
                        .flatten()
                })
                .copied()
                .unwrap_or(self.fallback),
            IndustryCode::Section(_) => self.fallback,
        }
    }

    fn row_index(&self, industry: &str) -> Option<usize> {
        match IndustryCode::parse(industry)? {
            IndustryCode::Section(s) => {
                // A bare 门类 is only usable when all its 大类 share one row.
                let mut found = None;
                for d in (1..=97u8).filter(|&d| section_of_division(d) == Some(s)) {
                    let idx = self.row_index_of(&IndustryCode::Division {
                        division: d,
                        class: None,
                    });
                    match found {
                        None => found = Some(idx),
                        Some(f) if f != idx => return None,
                        Some(_) => {}
                    }
                }
                found
            }
            code => Some(self.row_index_of(&code)),
        }
    }

    /// Name of the table row used for an industry code, e.g. "39" → "工业".
    pub fn row_for(&self, industry: &str) -> Option<&str> {
        self.row_index(industry)
            .and_then(|i| self.rows.get(i))
            .map(|r| r.name.as_str())
    }

    pub fn classify(&self, input: &SizeInput) -> Result<SizeDecision, SizeError> {
        let row = self
            .row_index(&input.industry)
            .and_then(|i| self.rows.get(i))
            .ok_or_else(|| SizeError::UnknownIndustry(input.industry.trim().to_string()))?;

        // (threshold, value text, tier) for every indicator the row uses.
        let evals: Vec<(&Threshold, Option<(String, SizeClass)>)> = row
            .indicators
            .iter()
            .map(|t| {
                let v = match t.code {
                    Indicator::Employees => {
                        input.employees.map(|n| (format!("{n}人"), i128::from(n)))
                    }
                    Indicator::Revenue => {
                        input.revenue.map(|a| (a.to_string(), i128::from(a.fen())))
                    }
                    Indicator::Assets => input.assets.map(|a| (a.to_string(), i128::from(a.fen()))),
                };
                (t, v.map(|(text, v)| (text, t.tier(v))))
            })
            .collect();

        let part = |t: &Threshold, e: &Option<(String, SizeClass)>| match e {
            Some((text, tier)) => format!("{}{}（{}）", t.code.label(), text, t.range_text(*tier)),
            None => format!("{}未提供", t.code.label()),
        };
        let parts: Vec<String> = evals.iter().map(|(t, e)| part(t, e)).collect();
        let parts = parts.join("，");

        // 微型 needs only one condition, so it is decided even with gaps.
        let micro: Vec<&str> = evals
            .iter()
            .filter(|(_, e)| matches!(e, Some((_, SizeClass::Micro))))
            .map(|(t, _)| t.code.label())
            .collect();
        if !micro.is_empty() {
            return Ok(SizeDecision {
                class: SizeClass::Micro,
                row: row.name.clone(),
                rule: format!(
                    "{}：{}；{}低于小型下限，微型只需满足一项条件，定为微型",
                    row.name,
                    parts,
                    micro.join("、")
                ),
            });
        }
        if let Some((t, _)) = evals.iter().find(|(_, e)| e.is_none()) {
            return Err(SizeError::MissingIndicator {
                row: row.name.clone(),
                indicator: t.code.label(),
            });
        }
        let class = evals
            .iter()
            .filter_map(|(_, e)| e.as_ref().map(|(_, c)| *c))
            .min_by_key(|c| c.rank())
            .unwrap_or(SizeClass::Micro);
        let rule = if evals.len() > 1 {
            format!(
                "{}：{}；大型、中型、小型须同时满足各项下限，按最低档定为{}",
                row.name,
                parts,
                class.label()
            )
        } else {
            format!("{}：{}，定为{}", row.name, parts, class.label())
        };
        Ok(SizeDecision {
            class,
            row: row.name.clone(),
            rule,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SizeClass::*;
    use proptest::prelude::*;

    fn wan(w: u64) -> Amount {
        Amount::from_fen(i64::try_from(w).unwrap() * 1_000_000)
    }

    /// reference.md §3, transcribed independently of the JSON file:
    /// (row, sample division/class, [(indicator, large, medium, small)]).
    #[allow(clippy::type_complexity)]
    const TABLE: &[(&str, &str, &[(Indicator, u64, u64, u64)])] = {
        use Indicator::*;
        &[
            ("农、林、牧、渔业", "03", &[(Revenue, 20000, 500, 50)]),
            (
                "工业",
                "39",
                &[(Employees, 1000, 300, 20), (Revenue, 40000, 2000, 300)],
            ),
            (
                "建筑业",
                "48",
                &[(Revenue, 80000, 6000, 300), (Assets, 80000, 5000, 300)],
            ),
            (
                "批发业",
                "51",
                &[(Employees, 200, 20, 5), (Revenue, 40000, 5000, 1000)],
            ),
            (
                "零售业",
                "52",
                &[(Employees, 300, 50, 10), (Revenue, 20000, 500, 100)],
            ),
            (
                "交通运输业",
                "54",
                &[(Employees, 1000, 300, 20), (Revenue, 30000, 3000, 200)],
            ),
            (
                "仓储业",
                "59",
                &[(Employees, 200, 100, 20), (Revenue, 30000, 1000, 100)],
            ),
            (
                "邮政业",
                "60",
                &[(Employees, 1000, 300, 20), (Revenue, 30000, 2000, 100)],
            ),
            (
                "住宿业",
                "61",
                &[(Employees, 300, 100, 10), (Revenue, 10000, 2000, 100)],
            ),
            (
                "餐饮业",
                "62",
                &[(Employees, 300, 100, 10), (Revenue, 10000, 2000, 100)],
            ),
            (
                "信息传输业",
                "64",
                &[(Employees, 2000, 100, 10), (Revenue, 100000, 1000, 100)],
            ),
            (
                "软件和信息技术服务业",
                "6513",
                &[(Employees, 300, 100, 10), (Revenue, 10000, 1000, 50)],
            ),
            (
                "房地产开发经营",
                "7010",
                &[(Revenue, 200000, 1000, 100), (Assets, 10000, 5000, 2000)],
            ),
            (
                "物业管理",
                "7020",
                &[(Employees, 1000, 300, 100), (Revenue, 5000, 1000, 500)],
            ),
            (
                "租赁和商务服务业",
                "72",
                &[(Employees, 300, 100, 10), (Assets, 120000, 8000, 100)],
            ),
            ("其他未列明行业", "73", &[(Employees, 300, 100, 10)]),
        ]
    };

    #[test]
    fn national_matches_reference_table() {
        let rules = SizeRules::national();
        assert_eq!(rules.rows().len(), TABLE.len());
        for &(name, code, inds) in TABLE {
            assert_eq!(rules.row_for(code), Some(name), "{code}");
            let row = rules.rows().iter().find(|r| r.name == name).unwrap();
            let got: Vec<_> = row
                .indicators
                .iter()
                .map(|t| (t.code, t.large, t.medium, t.small))
                .collect();
            assert_eq!(got, inds.to_vec(), "{name}");
        }
    }

    #[test]
    fn every_division_maps_to_the_documented_row() {
        let rules = SizeRules::national();
        let expected = |d: u8| match d {
            1..=5 => "农、林、牧、渔业",
            6..=46 => "工业",
            47..=50 => "建筑业",
            51 => "批发业",
            52 => "零售业",
            54..=58 => "交通运输业",
            59 => "仓储业",
            60 => "邮政业",
            61 => "住宿业",
            62 => "餐饮业",
            63..=64 => "信息传输业",
            65 => "软件和信息技术服务业",
            70 => "房地产开发经营",
            71..=72 => "租赁和商务服务业",
            _ => "其他未列明行业",
        };
        for d in 1..=97u8 {
            let code = format!("{d:02}");
            assert_eq!(rules.row_for(&code), Some(expected(d)), "{code}");
            let sec = section_of_division(d).unwrap();
            assert_eq!(rules.row_for(&format!("{sec}{code}")), Some(expected(d)));
        }
        for (code, row) in [
            ("53", "其他未列明行业"),
            ("5311", "其他未列明行业"),
            ("C39", "工业"),
            ("c3911", "工业"),
            ("３９", "工业"),
            (" 3911 ", "工业"),
            ("391", "工业"),
            ("7010", "房地产开发经营"),
            ("K70", "房地产开发经营"),
            ("701", "房地产开发经营"),
            ("7020", "物业管理"),
            ("702", "物业管理"),
            ("7030", "其他未列明行业"),
            ("7040", "其他未列明行业"),
            ("C", "工业"),
            ("B", "工业"),
            ("A", "农、林、牧、渔业"),
            ("P", "其他未列明行业"),
            ("K", "房地产开发经营"),
        ] {
            assert_eq!(rules.row_for(code), Some(row), "{code}");
        }
        for bad in [
            "", "F", "G", "A39", "Z", "98", "00", "1", "39111", "C-39", "工业", "U",
        ] {
            assert_eq!(rules.row_for(bad), None, "{bad:?}");
        }
    }

    /// Input that puts every indicator of a row at the given class bound
    /// (a large value for "no constraint").
    fn input_with(code: &str, emp: u64, rev: Amount, assets: Amount) -> SizeInput {
        SizeInput {
            industry: code.to_string(),
            employees: Some(emp),
            revenue: Some(rev),
            assets: Some(assets),
        }
    }

    #[test]
    fn boundaries_for_every_row_and_indicator() {
        let rules = SizeRules::national();
        let huge_emp = 1_000_000u64;
        let huge_money = wan(10_000_000);
        for &(name, code, inds) in TABLE {
            for &(ind, l, m, s) in inds {
                for (bound, at, below) in
                    [(l, Large, Medium), (m, Medium, Small), (s, Small, Micro)]
                {
                    for (value_is_bound, expect) in [(true, at), (false, below)] {
                        let mut input = input_with(code, huge_emp, huge_money, huge_money);
                        match ind {
                            Indicator::Employees => {
                                input.employees =
                                    Some(if value_is_bound { bound } else { bound - 1 });
                            }
                            Indicator::Revenue | Indicator::Assets => {
                                let fen = wan(bound).fen() - i64::from(!value_is_bound);
                                if ind == Indicator::Revenue {
                                    input.revenue = Some(Amount::from_fen(fen));
                                } else {
                                    input.assets = Some(Amount::from_fen(fen));
                                }
                            }
                        }
                        let d = rules.classify(&input).unwrap();
                        assert_eq!(
                            d.class, expect,
                            "{name} {ind:?} {bound} {value_is_bound}: {}",
                            d.rule
                        );
                        assert_eq!(d.row, name);
                    }
                }
            }
        }
    }

    #[test]
    fn rule_text_matches_the_example() {
        let rules = SizeRules::national();
        let d = rules
            .classify(&SizeInput {
                industry: "C39".into(),
                employees: Some(250),
                revenue: Some(wan(1850)),
                assets: None,
            })
            .unwrap();
        assert_eq!(d.class, Small);
        assert_eq!(
            d.rule,
            "工业：从业人员250人（小型 20≤X<300），营业收入1,850万元（小型 300≤Y<2000）；大型、中型、小型须同时满足各项下限，按最低档定为小型"
        );
        // Employees say 中型, revenue says 小型: the minimum wins.
        let d = rules
            .classify(&input_with("39", 500, wan(1999), Amount::ZERO))
            .unwrap();
        assert_eq!(d.class, Small);
        let d = rules
            .classify(&SizeInput {
                industry: "73".into(),
                employees: Some(100),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(d.class, Medium);
        assert_eq!(
            d.rule,
            "其他未列明行业：从业人员100人（中型 100≤X<300），定为中型"
        );
    }

    #[test]
    fn missing_indicators() {
        let rules = SizeRules::national();
        let e = rules
            .classify(&SizeInput {
                industry: "39".into(),
                employees: Some(250),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(
            e,
            SizeError::MissingIndicator {
                row: "工业".into(),
                indicator: "营业收入"
            }
        );
        assert_eq!(e.to_string(), "按“工业”划型需要营业收入，但未提供");
        // A known below-small indicator decides 微型 despite the gap.
        let d = rules
            .classify(&SizeInput {
                industry: "39".into(),
                employees: Some(19),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(d.class, Micro);
        assert_eq!(
            d.rule,
            "工业：从业人员19人（微型 X<20），营业收入未提供；从业人员低于小型下限，微型只需满足一项条件，定为微型"
        );
        // Extra indicators the row does not use are ignored.
        let d = rules
            .classify(&SizeInput {
                industry: "70".into(),
                revenue: Some(wan(1000)),
                assets: Some(wan(5000)),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(d.class, Medium);
    }

    #[test]
    fn unknown_industry() {
        let rules = SizeRules::national();
        let e = rules
            .classify(&SizeInput {
                industry: "abc".into(),
                employees: Some(1),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(e, SizeError::UnknownIndustry("abc".into()));
        assert!(e.to_string().contains("行业代码“abc”无法识别"));
    }

    #[test]
    fn size_class_parse_and_labels() {
        for c in SizeClass::ALL {
            assert_eq!(c.label().parse::<SizeClass>(), Ok(c));
            assert_eq!(c.to_string(), c.label());
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.label()));
        }
        assert_eq!("微".parse::<SizeClass>(), Ok(Micro));
        assert_eq!(" Large ".parse::<SizeClass>(), Ok(Large));
        assert_eq!("MEDIUM".parse::<SizeClass>(), Ok(Medium));
        assert_eq!("small".parse::<SizeClass>(), Ok(Small));
        let e = "巨型".parse::<SizeClass>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "企业规模“巨型”无法识别：应为 大型、中型、小型 或 微型"
        );
        assert!(Large < Micro);
        assert!(Large.rank() > Micro.rank());
        assert!(!Large.is_sme() && Micro.is_sme());
    }

    #[test]
    fn from_json_rejects_bad_tables() {
        let ok = r#"{"fallback":"其他","rows":[{"name":"其他","indicators":[{"code":"X","large":3,"medium":2,"small":1}]}]}"#;
        assert!(SizeRules::from_json(ok).is_ok());
        for (bad, needle) in [
            ("not json", "JSON格式错误"),
            (
                r#"{"fallback":"无","rows":[{"name":"其他","indicators":[{"code":"X","large":3,"medium":2,"small":1}]}]}"#,
                "兜底行业",
            ),
            (
                r#"{"fallback":"其他","rows":[{"name":"其他","indicators":[{"code":"X","large":1,"medium":2,"small":3}]}]}"#,
                "大型>中型>小型",
            ),
            (
                r#"{"fallback":"其他","rows":[{"name":"其他","indicators":[]}]}"#,
                "没有任何划型指标",
            ),
            (
                r#"{"fallback":"其他","rows":[{"name":"其他","divisions":["99"],"indicators":[{"code":"X","large":3,"medium":2,"small":1}]}]}"#,
                "大类代码“99”无效",
            ),
            (
                r#"{"fallback":"其他","rows":[{"name":"其他","divisions":["10-05"],"indicators":[{"code":"X","large":3,"medium":2,"small":1}]}]}"#,
                "起点大于终点",
            ),
            (
                r#"{"fallback":"其他","rows":[{"name":"其他","divisions":["01-05"],"indicators":[{"code":"X","large":3,"medium":2,"small":1}]},{"name":"农","divisions":["05"],"indicators":[{"code":"X","large":3,"medium":2,"small":1}]}]}"#,
                "重复引用",
            ),
            (
                r#"{"fallback":"其他","rows":[{"name":"其他","indicators":[{"code":"X","large":3,"medium":2,"small":1}]},{"name":"其他","indicators":[{"code":"X","large":3,"medium":2,"small":1}]}]}"#,
                "重复",
            ),
            (
                r#"{"fallback":"其他","rows":[{"name":"其他","classes":["701"],"indicators":[{"code":"X","large":3,"medium":2,"small":1}]}]}"#,
                "小类代码",
            ),
            (
                r#"{"fallback":"其他","rows":[{"name":"其他","divison":["01"],"indicators":[{"code":"X","large":3,"medium":2,"small":1}]}]}"#,
                "JSON格式错误",
            ),
            (
                r#"{"fallback":"其他","rows":[{"name":"其他","indicators":[{"code":"Y","large":99999999999999,"medium":2,"small":1}]}]}"#,
                "数值过大",
            ),
        ] {
            let e = SizeRules::from_json(bad).unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }

    fn industry_code() -> impl Strategy<Value = String> {
        prop_oneof![
            (1u8..=97).prop_map(|d| format!("{d:02}")),
            Just("7010".to_string()),
            Just("7020".to_string()),
            Just("7030".to_string()),
        ]
    }

    proptest! {
        #[test]
        fn classification_is_monotone(
            code in industry_code(),
            emp in 0u64..5_000,
            rev in 0i64..3_000_000_000_000,
            assets in 0i64..3_000_000_000_000,
            d_emp in 0u64..5_000,
            d_rev in 0i64..3_000_000_000_000,
            d_assets in 0i64..3_000_000_000_000,
        ) {
            let rules = SizeRules::national();
            let base = input_with(&code, emp, Amount::from_fen(rev), Amount::from_fen(assets));
            let more = input_with(&code, emp + d_emp, Amount::from_fen(rev + d_rev), Amount::from_fen(assets + d_assets));
            let a = rules.classify(&base).unwrap();
            let b = rules.classify(&more).unwrap();
            prop_assert!(b.class.rank() >= a.class.rank(), "{} vs {}", a.rule, b.rule);
        }

        #[test]
        fn arbitrary_input_never_panics(
            code in any::<String>(),
            emp in proptest::option::of(any::<u64>()),
            rev in proptest::option::of(any::<i64>()),
            assets in proptest::option::of(any::<i64>()),
        ) {
            let rules = SizeRules::national();
            let _ = rules.row_for(&code);
            let _ = rules.classify(&SizeInput {
                industry: code,
                employees: emp,
                revenue: rev.map(Amount::from_fen),
                assets: assets.map(Amount::from_fen),
            });
        }

        #[test]
        fn arbitrary_json_never_panics(s in any::<String>()) {
            let _ = SizeRules::from_json(&s);
        }
    }
}
