//! Enterprise records: the registry row, certifications, tags and yearly
//! indicators with provenance.
//!
//! Validation turns loosely typed drafts (form fields, import rows) into
//! records that can only hold valid values; every problem is reported per
//! field, in Chinese, so a form can show it beside the input.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::money::Amount;
use crate::reference::ReferenceData;
use crate::size::{SizeClass, SizeInput};
use crate::uscc::Uscc;

/// One problem with one input field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The yearly figures departments share. Each kind fixes its unit, so a
/// value is always an integer in that unit's smallest step.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum IndicatorKind {
    #[serde(rename = "营业收入")]
    Revenue,
    #[serde(rename = "纳税总额")]
    TaxPaid,
    #[serde(rename = "从业人员")]
    Employees,
    #[serde(rename = "研发投入")]
    RdSpending,
    #[serde(rename = "资产总额")]
    TotalAssets,
    #[serde(rename = "工业增加值")]
    IndustrialValueAdded,
    #[serde(rename = "用地面积")]
    LandArea,
}

impl IndicatorKind {
    pub const ALL: [IndicatorKind; 7] = [
        IndicatorKind::Revenue,
        IndicatorKind::TaxPaid,
        IndicatorKind::Employees,
        IndicatorKind::RdSpending,
        IndicatorKind::TotalAssets,
        IndicatorKind::IndustrialValueAdded,
        IndicatorKind::LandArea,
    ];

    pub fn label(self) -> &'static str {
        match self {
            IndicatorKind::Revenue => "营业收入",
            IndicatorKind::TaxPaid => "纳税总额",
            IndicatorKind::Employees => "从业人员",
            IndicatorKind::RdSpending => "研发投入",
            IndicatorKind::TotalAssets => "资产总额",
            IndicatorKind::IndustrialValueAdded => "工业增加值",
            IndicatorKind::LandArea => "用地面积",
        }
    }

    /// Stable ASCII key used in storage and the API.
    pub fn key(self) -> &'static str {
        match self {
            IndicatorKind::Revenue => "revenue",
            IndicatorKind::TaxPaid => "tax_paid",
            IndicatorKind::Employees => "employees",
            IndicatorKind::RdSpending => "rd_spending",
            IndicatorKind::TotalAssets => "total_assets",
            IndicatorKind::IndustrialValueAdded => "industrial_value_added",
            IndicatorKind::LandArea => "land_area",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            IndicatorKind::Employees => "人",
            IndicatorKind::LandArea => "亩",
            _ => "元",
        }
    }

    /// Accepts the Chinese label or the ASCII key.
    pub fn parse(s: &str) -> Option<IndicatorKind> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.label() == s || k.key() == s)
    }

    fn is_money(self) -> bool {
        !matches!(self, IndicatorKind::Employees | IndicatorKind::LandArea)
    }

    /// Parses a figure in this kind's unit into its integer storage form:
    /// 分 for money, persons for headcount, 0.01 亩 for land.
    pub fn parse_value(self, raw: &str) -> Result<i64, String> {
        let raw = raw.trim();
        if self.is_money() {
            return Amount::parse(raw)
                .map(Amount::fen)
                .map_err(|e| e.to_string());
        }
        let (digits, unit) = match self {
            IndicatorKind::Employees => (raw.trim_end_matches('人').trim(), "人"),
            _ => (raw.trim_end_matches('亩').trim(), "亩"),
        };
        let scale = if self == IndicatorKind::LandArea {
            2
        } else {
            0
        };
        parse_decimal(digits, scale).ok_or_else(|| {
            format!(
                "{}“{raw}”无法识别：应为不小于0的数字{}，单位为{unit}",
                self.label(),
                if scale == 0 {
                    "（整数）"
                } else {
                    "（最多两位小数）"
                }
            )
        })
    }

    /// Human form of a stored value, e.g. "1,850万元", "35人", "12.5亩".
    pub fn format_value(self, value: i64) -> String {
        match self {
            IndicatorKind::Employees => format!("{value}人"),
            IndicatorKind::LandArea => {
                let whole = value / 100;
                let frac = value % 100;
                if frac == 0 {
                    format!("{whole}亩")
                } else {
                    format!("{whole}.{}亩", format!("{frac:02}").trim_end_matches('0'))
                }
            }
            _ => Amount::from_fen(value).to_string(),
        }
    }
}

/// Parses a non-negative decimal with at most `scale` fraction digits into an
/// integer of 10^-scale units; rejects anything else rather than rounding.
fn parse_decimal(s: &str, scale: u32) -> Option<i64> {
    let s: String = s.chars().filter(|c| *c != ',').collect();
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > scale as usize || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: i64 = int.parse().ok()?;
    v = v.checked_mul(10i64.pow(scale))?;
    if !frac.is_empty() {
        let f: i64 = frac.parse().ok()?;
        v = v.checked_add(f * 10i64.pow(scale - frac.len() as u32))?;
    }
    Some(v)
}

/// A certification such as 高新技术企业, valid over a date range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certification {
    pub name: String,
    pub number: Option<String>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

impl Certification {
    pub fn valid_on(&self, day: NaiveDate) -> bool {
        self.valid_from <= day && self.valid_to.is_none_or(|to| day <= to)
    }
}

/// How the size class was obtained: declared by the source, or computed
/// from indicators by the statistical rules (with the rule that decided).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", content = "rule")]
pub enum SizeBasis {
    #[serde(rename = "given")]
    Given,
    #[serde(rename = "computed")]
    Computed(String),
}

/// A registry record that can only hold valid values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enterprise {
    pub uscc: Uscc,
    pub name: String,
    pub legal_rep: String,
    pub founded: Option<NaiveDate>,
    pub area: String,
    pub industry: String,
    pub size_class: Option<SizeClass>,
    pub size_basis: Option<SizeBasis>,
    pub tags: Vec<String>,
    pub certifications: Vec<Certification>,
}

/// Loosely typed input for an enterprise, as a form or an import row gives it.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct EnterpriseDraft {
    pub uscc: String,
    pub name: String,
    #[serde(default)]
    pub legal_rep: String,
    #[serde(default)]
    pub founded: String,
    #[serde(default)]
    pub area: String,
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub size_class: String,
    /// Comma/、-separated tags such as 链主企业.
    #[serde(default)]
    pub tags: String,
    /// `名称:起始日期:截止日期` items separated by `;`, e.g.
    /// `高新技术企业:2023-01-01:2025-12-31`.
    #[serde(default)]
    pub certifications: String,
}

pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    for fmt in ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y.%m.%d", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return Some(d);
        }
    }
    None
}

pub fn split_list(s: &str) -> Vec<String> {
    s.split([',', '，', '、', ';', '；'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

impl EnterpriseDraft {
    /// Checks every field and resolves names to reference codes. The size
    /// class is left `None` when not given; [`Enterprise::compute_size`]
    /// fills it from indicators.
    pub fn validate(&self, rd: &ReferenceData) -> Result<Enterprise, Vec<FieldError>> {
        let mut errs = Vec::new();
        let uscc = match Uscc::parse(&self.uscc) {
            Ok(u) => Some(u),
            Err(e) => {
                errs.push(FieldError::new("uscc", e.to_string()));
                None
            }
        };
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            errs.push(FieldError::new("name", "企业名称不能为空"));
        } else if name.chars().count() > 100 {
            errs.push(FieldError::new("name", "企业名称不能超过100个字"));
        }
        let legal_rep = self.legal_rep.trim().to_owned();
        if legal_rep.chars().count() > 50 {
            errs.push(FieldError::new("legal_rep", "法定代表人不能超过50个字"));
        }
        let founded = if self.founded.trim().is_empty() {
            None
        } else {
            match parse_date(&self.founded) {
                Some(d) => Some(d),
                None => {
                    errs.push(FieldError::new(
                        "founded",
                        format!(
                            "成立日期“{}”无法识别，应为 2020-01-31 格式",
                            self.founded.trim()
                        ),
                    ));
                    None
                }
            }
        };
        let area = match rd
            .area(self.area.trim())
            .or_else(|| rd.area_by_name(&self.area))
        {
            Some(a) => a.code.clone(),
            None => {
                errs.push(FieldError::new(
                    "area",
                    if self.area.trim().is_empty() {
                        "请选择所在区域".to_owned()
                    } else {
                        format!("区域“{}”不在参考数据中", self.area.trim())
                    },
                ));
                String::new()
            }
        };
        let industry = match rd.industry(&self.industry) {
            Some(i) if i.code != i.section => i.code.clone(),
            Some(_) => {
                errs.push(FieldError::new(
                    "industry",
                    format!(
                        "行业代码“{}”是门类，请填写到大类（两位数字，如 39）",
                        self.industry.trim()
                    ),
                ));
                String::new()
            }
            None => {
                errs.push(FieldError::new(
                    "industry",
                    format!(
                        "行业代码“{}”不是有效的国民经济行业分类（GB/T 4754-2017）大类代码",
                        self.industry.trim()
                    ),
                ));
                String::new()
            }
        };
        let size_class = if self.size_class.trim().is_empty() {
            None
        } else {
            match self.size_class.trim().parse::<SizeClass>() {
                Ok(c) => Some(c),
                Err(e) => {
                    errs.push(FieldError::new("size_class", e.to_string()));
                    None
                }
            }
        };
        let tags = split_list(&self.tags);
        if tags.iter().any(|t| t.chars().count() > 30) {
            errs.push(FieldError::new("tags", "单个标签不能超过30个字"));
        }
        let mut certifications = Vec::new();
        for item in self.certifications.split([';', '；']).map(str::trim) {
            if item.is_empty() {
                continue;
            }
            match parse_certification(item) {
                Ok(c) => certifications.push(c),
                Err(m) => errs.push(FieldError::new("certifications", m)),
            }
        }
        match (errs.is_empty(), uscc) {
            (true, Some(uscc)) => Ok(Enterprise {
                uscc,
                name,
                legal_rep,
                founded,
                area,
                industry,
                size_basis: size_class.map(|_| SizeBasis::Given),
                size_class,
                tags,
                certifications,
            }),
            _ => Err(errs),
        }
    }
}

fn parse_certification(item: &str) -> Result<Certification, String> {
    let parts: Vec<&str> = item.split([':', '：']).map(str::trim).collect();
    let bad = || format!("资质“{item}”格式应为 名称:起始日期:截止日期（截止日期可空）");
    let (name, from, to) = match parts.as_slice() {
        [n, f] => (*n, *f, ""),
        [n, f, t] => (*n, *f, *t),
        _ => return Err(bad()),
    };
    if name.is_empty() {
        return Err(bad());
    }
    let valid_from = parse_date(from).ok_or_else(bad)?;
    let valid_to = if to.is_empty() {
        None
    } else {
        Some(parse_date(to).ok_or_else(bad)?)
    };
    if valid_to.is_some_and(|t| t < valid_from) {
        return Err(format!("资质“{name}”的截止日期早于起始日期"));
    }
    Ok(Certification {
        name: name.to_owned(),
        number: None,
        valid_from,
        valid_to,
    })
}

impl Enterprise {
    /// Renders the certification list back into the draft text form.
    pub fn certifications_text(&self) -> String {
        self.certifications
            .iter()
            .map(|c| {
                format!(
                    "{}:{}:{}",
                    c.name,
                    c.valid_from,
                    c.valid_to.map(|d| d.to_string()).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    /// Computes the size class from the latest year's indicators when the
    /// source did not declare one. Returns the decision's rule text.
    pub fn compute_size(&mut self, rd: &ReferenceData, indicators: &[Indicator]) -> Option<String> {
        if self.size_class.is_some() {
            return None;
        }
        let year = indicators.iter().map(|i| i.year).max()?;
        let latest = |k: IndicatorKind| {
            indicators
                .iter()
                .filter(|i| i.kind == k && i.year == year)
                .max_by_key(|i| i.arrived_at)
                .map(|i| i.value)
        };
        let input = SizeInput {
            industry: self.industry.clone(),
            employees: latest(IndicatorKind::Employees).map(|v| v.max(0) as u64),
            revenue: latest(IndicatorKind::Revenue).map(Amount::from_fen),
            assets: latest(IndicatorKind::TotalAssets).map(Amount::from_fen),
        };
        let d = rd.size_rules.classify(&input).ok()?;
        let rule = format!("{year}年数据，{}", d.rule);
        self.size_class = Some(d.class);
        self.size_basis = Some(SizeBasis::Computed(rule.clone()));
        Some(rule)
    }
}

/// One yearly figure with its provenance. Rows are never updated in place:
/// a corrected figure arrives as a new row, and the latest arrival wins
/// while the older ones stay visible as history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicator {
    pub kind: IndicatorKind,
    pub year: i32,
    pub value: i64,
    /// Department code of the source.
    pub source: String,
    pub arrived_at: DateTime<Utc>,
}

/// The figures in force among `ind` (in the order they were stored): for
/// each kind and year the latest arrival, and of equal arrivals the later
/// one. As positions into `ind`, sorted by kind and year.
pub fn current_figures(ind: &[Indicator]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..ind.len()).collect();
    idx.sort_by_key(|&i| (ind[i].kind, ind[i].year, ind[i].arrived_at, i));
    let mut out: Vec<usize> = Vec::with_capacity(idx.len());
    for i in idx {
        match out.last_mut() {
            Some(last) if (ind[*last].kind, ind[*last].year) == (ind[i].kind, ind[i].year) => {
                *last = i
            }
            _ => out.push(i),
        }
    }
    out
}

/// Loosely typed indicator input.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct IndicatorDraft {
    pub uscc: String,
    pub kind: String,
    pub year: String,
    pub value: String,
    pub source: String,
}

/// A validated indicator not yet stamped with its arrival time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewIndicator {
    pub uscc: Uscc,
    pub kind: IndicatorKind,
    pub year: i32,
    pub value: i64,
    pub source: String,
}

impl IndicatorDraft {
    pub fn validate(&self, rd: &ReferenceData) -> Result<NewIndicator, Vec<FieldError>> {
        let mut errs = Vec::new();
        let uscc = Uscc::parse(&self.uscc)
            .map_err(|e| errs.push(FieldError::new("uscc", e.to_string())))
            .ok();
        let kind = IndicatorKind::parse(&self.kind);
        if kind.is_none() {
            let names: Vec<_> = IndicatorKind::ALL.iter().map(|k| k.label()).collect();
            errs.push(FieldError::new(
                "kind",
                format!(
                    "指标“{}”不认识，可用：{}",
                    self.kind.trim(),
                    names.join("、")
                ),
            ));
        }
        let year = match self.year.trim().trim_end_matches('年').parse::<i32>() {
            Ok(y) if (1949..=2100).contains(&y) => Some(y),
            _ => {
                errs.push(FieldError::new(
                    "year",
                    format!("年度“{}”无效，应为四位年份如 2024", self.year.trim()),
                ));
                None
            }
        };
        let value = kind.and_then(|k| {
            k.parse_value(&self.value)
                .map_err(|m| errs.push(FieldError::new("value", m)))
                .ok()
        });
        let source = match rd
            .department(self.source.trim())
            .or_else(|| rd.department_by_name(&self.source))
        {
            Some(d) => Some(d.code.clone()),
            None => {
                errs.push(FieldError::new(
                    "source",
                    format!("来源部门“{}”不在部门参考数据中", self.source.trim()),
                ));
                None
            }
        };
        match (uscc, kind, year, value, source) {
            (Some(uscc), Some(kind), Some(year), Some(value), Some(source)) if errs.is_empty() => {
                Ok(NewIndicator {
                    uscc,
                    kind,
                    year,
                    value,
                    source,
                })
            }
            _ => Err(errs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rd() -> ReferenceData {
        ReferenceData::zhuhai()
    }

    fn draft() -> EnterpriseDraft {
        EnterpriseDraft {
            uscc: "91440400192548256N".into(),
            name: "珠海测试科技有限公司".into(),
            legal_rep: "张三".into(),
            founded: "2015-06-01".into(),
            area: "保税区".into(),
            industry: "C39".into(),
            size_class: String::new(),
            tags: "链主企业、专精特新".into(),
            certifications: "高新技术企业:2023-01-01:2025-12-31".into(),
        }
    }

    #[test]
    fn valid_draft_resolves_names_to_codes() {
        let e = draft().validate(&rd()).unwrap();
        assert_eq!(e.uscc.as_str(), "91440400192548256N");
        assert_eq!(rd().area(&e.area).unwrap().name, "保税区");
        assert_eq!(e.industry, "39");
        assert_eq!(e.tags, vec!["链主企业", "专精特新"]);
        let c = &e.certifications[0];
        assert!(c.valid_on(NaiveDate::from_ymd_opt(2024, 5, 1).unwrap()));
        assert!(!c.valid_on(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()));
        assert_eq!(e.size_class, None);
    }

    #[test]
    fn every_bad_field_is_reported() {
        let d = EnterpriseDraft {
            uscc: "91440400192548256X".into(),
            name: " ".into(),
            founded: "昨天".into(),
            area: "火星区".into(),
            industry: "99".into(),
            size_class: "巨型".into(),
            certifications: "高企".into(),
            ..Default::default()
        };
        let errs = d.validate(&rd()).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "uscc",
            "name",
            "founded",
            "area",
            "industry",
            "size_class",
            "certifications",
        ] {
            assert!(fields.contains(&f), "missing error for {f}: {errs:?}");
        }
        assert!(errs.iter().any(|e| e.message.contains("火星区")));
    }

    #[test]
    fn section_code_is_not_enough() {
        let d = EnterpriseDraft {
            industry: "C".into(),
            ..draft()
        };
        let errs = d.validate(&rd()).unwrap_err();
        assert_eq!(errs[0].field, "industry");
    }

    #[test]
    fn indicator_values_parse_in_their_unit() {
        assert_eq!(
            IndicatorKind::Revenue.parse_value("1850万").unwrap(),
            1_850_000_000
        );
        assert_eq!(IndicatorKind::Employees.parse_value("35人").unwrap(), 35);
        assert!(IndicatorKind::Employees.parse_value("3.5").is_err());
        assert_eq!(IndicatorKind::LandArea.parse_value("12.5亩").unwrap(), 1250);
        assert!(IndicatorKind::LandArea.parse_value("12.555").is_err());
        assert!(IndicatorKind::LandArea.parse_value("-1").is_err());
        assert_eq!(IndicatorKind::LandArea.format_value(1250), "12.5亩");
        assert_eq!(IndicatorKind::Employees.format_value(35), "35人");
    }

    #[test]
    fn indicator_draft_validation() {
        let ok = IndicatorDraft {
            uscc: "91440400192548256N".into(),
            kind: "营业收入".into(),
            year: "2024".into(),
            value: "1,850万元".into(),
            source: "市税务局".into(),
        }
        .validate(&rd())
        .unwrap();
        assert_eq!(ok.value, 1_850_000_000);
        let bad = IndicatorDraft {
            uscc: "x".into(),
            kind: "利润".into(),
            year: "24".into(),
            value: "很多".into(),
            source: "外星局".into(),
        }
        .validate(&rd())
        .unwrap_err();
        assert_eq!(bad.len(), 4, "{bad:?}"); // value is not checked without a kind
    }

    #[test]
    fn size_is_computed_from_latest_year_and_latest_arrival() {
        let mut e = draft().validate(&rd()).unwrap();
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let t1 = DateTime::from_timestamp(1_700_100_000, 0).unwrap();
        let ind = |kind, year, value, at| Indicator {
            kind,
            year,
            value,
            source: "SSWJ".into(),
            arrived_at: at,
        };
        let inds = vec![
            ind(IndicatorKind::Employees, 2024, 250, t0),
            ind(IndicatorKind::Revenue, 2024, 10_000_000_000, t0),
            // A correction that arrived later replaces the figure for the decision.
            ind(IndicatorKind::Revenue, 2024, 1_850_000_000, t1),
            ind(IndicatorKind::Employees, 2023, 5000, t1),
        ];
        let rule = e.compute_size(&rd(), &inds).unwrap();
        assert_eq!(e.size_class, Some(SizeClass::Small));
        assert!(rule.starts_with("2024年"), "{rule}");
    }
}
