//! View models shared by pages and the API: domain records with codes
//! resolved to names, so both front ends show the same thing.

use chrono::{Local, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;
use zhengqi_domain::enterprise::{Enterprise, Indicator, SizeBasis};
use zhengqi_domain::reference::ReferenceData;

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CertificationView {
    pub name: String,
    pub valid_from: String,
    pub valid_to: Option<String>,
    /// Valid today.
    pub valid_now: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EnterpriseView {
    /// 统一社会信用代码
    pub uscc: String,
    pub name: String,
    pub legal_rep: String,
    pub founded: Option<String>,
    pub area_code: String,
    /// The area with its ancestors, e.g. 珠海市 › 鹤洲新区筹备组 › 保税区.
    pub area_path: String,
    pub industry_code: String,
    pub industry_name: String,
    /// 大型/中型/小型/微型, when known.
    pub size_class: Option<String>,
    /// How the size class was decided: declared, or the rule that computed it.
    pub size_rule: Option<String>,
    pub tags: Vec<String>,
    pub certifications: Vec<CertificationView>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct IndicatorView {
    pub year: i32,
    /// 指标 key, e.g. `revenue`.
    pub kind: String,
    /// 指标 name, e.g. 营业收入.
    pub kind_label: String,
    /// Integer in the kind's smallest unit: 分 for money, 人, or 0.01 亩.
    pub value: i64,
    /// Human form, e.g. 1,850万元.
    pub display: String,
    pub source_code: String,
    pub source_name: String,
    pub arrived_at: String,
    /// A later figure for the same year and kind replaced this one.
    pub superseded: bool,
}

pub fn today() -> NaiveDate {
    Local::now().date_naive()
}

pub fn area_path(rd: &ReferenceData, code: &str) -> String {
    let mut names: Vec<&str> = rd
        .area_ancestors(code)
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    names.reverse();
    if names.is_empty() {
        code.to_owned()
    } else {
        names.join(" › ")
    }
}

pub fn department_name(rd: &ReferenceData, code: &str) -> String {
    rd.department(code)
        .map(|d| d.name.clone())
        .unwrap_or_else(|| code.to_owned())
}

pub fn enterprise_view(rd: &ReferenceData, e: &Enterprise) -> EnterpriseView {
    let today = today();
    EnterpriseView {
        uscc: e.uscc.to_string(),
        name: e.name.clone(),
        legal_rep: e.legal_rep.clone(),
        founded: e.founded.map(|d| d.to_string()),
        area_code: e.area.clone(),
        area_path: area_path(rd, &e.area),
        industry_code: e.industry.clone(),
        industry_name: rd
            .industry(&e.industry)
            .map(|i| i.name.clone())
            .unwrap_or_default(),
        size_class: e.size_class.map(|c| c.label().to_owned()),
        size_rule: e.size_basis.as_ref().map(|b| match b {
            SizeBasis::Given => "由数据来源申报".to_owned(),
            SizeBasis::Computed(rule) => rule.clone(),
        }),
        tags: e.tags.clone(),
        certifications: e
            .certifications
            .iter()
            .map(|c| CertificationView {
                name: c.name.clone(),
                valid_from: c.valid_from.to_string(),
                valid_to: c.valid_to.map(|d| d.to_string()),
                valid_now: c.valid_on(today),
            })
            .collect(),
    }
}

/// Newest year first; within a year and kind, the current figure first and
/// the superseded ones after it.
pub fn indicator_views(rd: &ReferenceData, items: &[Indicator]) -> Vec<IndicatorView> {
    let mut out: Vec<IndicatorView> = items
        .iter()
        .enumerate()
        .map(|(i, ind)| {
            let superseded = items[i + 1..]
                .iter()
                .any(|later| later.kind == ind.kind && later.year == ind.year);
            IndicatorView {
                year: ind.year,
                kind: ind.kind.key().to_owned(),
                kind_label: ind.kind.label().to_owned(),
                value: ind.value,
                display: ind.kind.format_value(ind.value),
                source_code: ind.source.clone(),
                source_name: department_name(rd, &ind.source),
                arrived_at: ind
                    .arrived_at
                    .with_timezone(&Local)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                superseded,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.year
            .cmp(&a.year)
            .then(kind_order(&a.kind).cmp(&kind_order(&b.kind)))
            .then(a.superseded.cmp(&b.superseded))
            .then(b.arrived_at.cmp(&a.arrived_at))
    });
    out
}

fn kind_order(key: &str) -> usize {
    zhengqi_domain::enterprise::IndicatorKind::ALL
        .iter()
        .position(|k| k.key() == key)
        .unwrap_or(usize::MAX)
}
