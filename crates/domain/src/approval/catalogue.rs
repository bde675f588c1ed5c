//! Service item catalogue (政务服务事项清单): items with their 受理条件,
//! materials, time limits and fees; which materials may be missing at
//! acceptance (容缺); combined matters (一件事) with one form and one set of
//! materials; the 容缺 share report; and the acceptance decision.
//!
//! Codes are opaque strings (reference 1.1: layouts differ by province).
//! Time limits are working days; dates are computed with
//! [`WorkCalendar`] only when a caller asks for one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::LazyLock;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarError, WorkCalendar};
use crate::money::Amount;
use crate::reference::{DeptLevel, ReferenceData};

const ZHUHAI_ITEMS: &str = include_str!("../../../../data/zhuhai/service-items.json");

/// The city's target: at least 80% of 行政许可 items allow 容缺.
pub const TARGET_BP: u32 = 8000;

/// 事项类型 (reference 1.2).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ItemKind {
    #[serde(rename = "行政许可")]
    Licence,
    #[serde(rename = "行政确认")]
    Confirmation,
    #[serde(rename = "行政给付")]
    Payment,
    #[serde(rename = "行政奖励")]
    Award,
    #[serde(rename = "行政裁决")]
    Adjudication,
    #[serde(rename = "行政备案")]
    Filing,
    #[serde(rename = "公共服务")]
    PublicService,
    #[serde(rename = "其他行政权力")]
    OtherPower,
}

impl ItemKind {
    pub fn label(self) -> &'static str {
        match self {
            ItemKind::Licence => "行政许可",
            ItemKind::Confirmation => "行政确认",
            ItemKind::Payment => "行政给付",
            ItemKind::Award => "行政奖励",
            ItemKind::Adjudication => "行政裁决",
            ItemKind::Filing => "行政备案",
            ItemKind::PublicService => "公共服务",
            ItemKind::OtherPower => "其他行政权力",
        }
    }
}

/// 事权层级 of an item; must match its department's level.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ItemLevel {
    #[serde(rename = "市级")]
    City,
    #[serde(rename = "区级")]
    District,
}

impl ItemLevel {
    pub fn label(self) -> &'static str {
        match self {
            ItemLevel::City => "市级",
            ItemLevel::District => "区级",
        }
    }

    fn matches(self, dept: DeptLevel) -> bool {
        matches!(
            (self, dept),
            (ItemLevel::City, DeptLevel::City) | (ItemLevel::District, DeptLevel::District)
        )
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MaterialForm {
    #[serde(rename = "原件")]
    Original,
    #[serde(rename = "复印件")]
    Copy,
    #[serde(rename = "电子件")]
    Electronic,
}

impl MaterialForm {
    pub fn label(self) -> &'static str {
        match self {
            MaterialForm::Original => "原件",
            MaterialForm::Copy => "复印件",
            MaterialForm::Electronic => "电子件",
        }
    }
}

/// What happens when a tolerated material is not supplied in time.
/// Declared from mildest to most severe: a combined matter applies the most
/// severe rule among the items that need the material.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum OverdueRule {
    #[default]
    #[serde(rename = "暂停办理")]
    Suspend,
    #[serde(rename = "记录信用")]
    CreditMark,
    #[serde(rename = "撤销受理")]
    RevokeAcceptance,
}

impl OverdueRule {
    pub fn label(self) -> &'static str {
        match self {
            OverdueRule::Suspend => "暂停办理",
            OverdueRule::CreditMark => "记录信用",
            OverdueRule::RevokeAcceptance => "撤销受理",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Material {
    /// Stable id shared across items, so a combined matter asks it once.
    pub key: String,
    pub name: String,
    pub form: MaterialForm,
    pub required: bool,
    /// 容缺: may be missing at acceptance against a signed commitment.
    #[serde(default)]
    pub tolerable: bool,
    /// 承诺书模板; `{期限}` and `{材料名称}` are filled in when printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment_template: Option<String>,
    /// Working days after acceptance to supply the material.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplement_days: Option<u32>,
    #[serde(default)]
    pub on_overdue: OverdueRule,
}

impl Material {
    /// 主要申请材料: must be present at acceptance, whoever applies.
    pub fn is_core(&self) -> bool {
        self.required && !self.tolerable
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    Text,
    Number,
    Date,
    Amount,
    Choice,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    /// Only for `choice`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    pub required: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceItem {
    pub code: String,
    pub name: String,
    /// Department code from the reference data.
    pub department: String,
    pub kind: ItemKind,
    pub level: ItemLevel,
    /// 受理条件.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// 法定办结时限, working days.
    pub legal_days: u32,
    /// 承诺办结时限, working days (≤ legal).
    pub promised_days: u32,
    /// `None` = 不收费.
    #[serde(default)]
    pub fee: Option<Amount>,
    pub materials: Vec<Material>,
    #[serde(default)]
    pub fields: Vec<FormField>,
}

impl ServiceItem {
    pub fn is_licence(&self) -> bool {
        self.kind == ItemKind::Licence
    }

    /// Whether the item appears on the public 容缺 list.
    pub fn allows_tolerance(&self) -> bool {
        self.materials.iter().any(|m| m.required && m.tolerable)
    }

    pub fn tolerable_materials(&self) -> impl Iterator<Item = &Material> {
        self.materials.iter().filter(|m| m.required && m.tolerable)
    }

    pub fn material(&self, key: &str) -> Option<&Material> {
        self.materials.iter().find(|m| m.key == key)
    }
}

/// 一件事: several items from several departments, one entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CombinedMatter {
    pub code: String,
    pub name: String,
    /// Item codes.
    pub items: Vec<String>,
}

/// A material of a combined matter, uploaded once for every item needing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedMaterial {
    /// Merged over the items: required if any item requires it; tolerable
    /// only if every item requiring it tolerates it; the shortest supplement
    /// period and the most severe overdue rule.
    pub material: Material,
    pub needed_by: Vec<String>,
}

impl CombinedMatter {
    /// The matter's items in order; unknown codes are skipped (a validated
    /// catalogue has none).
    pub fn service_items<'a>(&self, catalogue: &'a Catalogue) -> Vec<&'a ServiceItem> {
        self.items
            .iter()
            .filter_map(|c| catalogue.item(c))
            .collect()
    }

    /// Department codes taking part, in first-occurrence order.
    pub fn departments(&self, catalogue: &Catalogue) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for it in self.service_items(catalogue) {
            if !out.contains(&it.department) {
                out.push(it.department.clone());
            }
        }
        out
    }

    /// One form: the union of the items' fields, each key asked once, in
    /// first-occurrence order. A field is required if any item requires it.
    pub fn form(&self, catalogue: &Catalogue) -> Vec<FormField> {
        let mut out: Vec<FormField> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        for it in self.service_items(catalogue) {
            for f in &it.fields {
                match at.get(&f.key).and_then(|&i| out.get_mut(i)) {
                    Some(existing) => existing.required |= f.required,
                    None => {
                        at.insert(f.key.clone(), out.len());
                        out.push(f.clone());
                    }
                }
            }
        }
        out
    }

    /// One set of materials: each key once, with every item that needs it.
    pub fn materials(&self, catalogue: &Catalogue) -> Vec<SharedMaterial> {
        merge_materials(&self.service_items(catalogue))
    }

    pub fn check_acceptance(
        &self,
        catalogue: &Catalogue,
        provided: &BTreeSet<String>,
        commitment_signed: bool,
        applicant_barred: bool,
    ) -> AcceptanceDecision {
        check_acceptance(
            &self.service_items(catalogue),
            provided,
            commitment_signed,
            applicant_barred,
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// Where the items come from (provenance note).
    #[serde(default)]
    pub source: String,
    pub items: Vec<ServiceItem>,
    #[serde(default)]
    pub combined_matters: Vec<CombinedMatter>,
}

/// One validation finding; the message names the item and the material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueProblem {
    #[error("{place}的{what}不能为空")]
    Blank { place: String, what: &'static str },
    #[error("事项编码“{code}”重复")]
    DuplicateItemCode { code: String },
    #[error("事项“{item}”的实施部门“{department}”不在部门清单中")]
    UnknownDepartment { item: String, department: String },
    #[error("事项“{item}”为{level}事项，但实施部门“{department}”为{dept_level}部门")]
    LevelMismatch {
        item: String,
        level: &'static str,
        department: String,
        dept_level: &'static str,
    },
    #[error("事项“{item}”的法定办结时限和承诺办结时限必须大于0个工作日")]
    ZeroDays { item: String },
    #[error("事项“{item}”的承诺办结时限（{promised}个工作日）超过法定办结时限（{legal}个工作日）")]
    PromisedExceedsLegal {
        item: String,
        promised: u32,
        legal: u32,
    },
    #[error("事项“{item}”的收费金额必须大于0；不收费请留空")]
    FeeNotPositive { item: String },
    #[error("事项“{item}”中材料“{key}”重复")]
    DuplicateMaterial { item: String, key: String },
    #[error("事项“{item}”中表单字段“{key}”重复")]
    DuplicateField { item: String, key: String },
    #[error("事项“{item}”的材料“{key}”为非必需材料，无需设为容缺")]
    TolerableNotRequired { item: String, key: String },
    #[error("事项“{item}”的容缺材料“{key}”缺少承诺书模板")]
    MissingTemplate { item: String, key: String },
    #[error("事项“{item}”的容缺材料“{key}”缺少补交期限（至少1个工作日）")]
    MissingSupplementDays { item: String, key: String },
    #[error(
        "事项“{item}”的容缺材料“{key}”补交期限（{days}个工作日）超过承诺办结时限（{promised}个工作日）"
    )]
    SupplementExceedsPromised {
        item: String,
        key: String,
        days: u32,
        promised: u32,
    },
    #[error("事项“{item}”的材料“{key}”不是容缺材料，不应设置承诺书模板或补交期限")]
    TermsOnNonTolerable { item: String, key: String },
    #[error("事项“{item}”的必需材料全部设为容缺，至少应保留一项主要申请材料")]
    NoCoreMaterial { item: String },
    #[error(
        "材料“{key}”在事项“{first_item}”中名为“{first_name}”，在事项“{item}”中名为“{name}”；同一材料编码的名称必须一致"
    )]
    MaterialNameConflict {
        key: String,
        first_item: String,
        first_name: String,
        item: String,
        name: String,
    },
    #[error("表单字段“{key}”在事项“{first_item}”与“{item}”中的名称、类型或选项不一致")]
    FieldConflict {
        key: String,
        first_item: String,
        item: String,
    },
    #[error("事项“{item}”的选择字段“{key}”没有选项")]
    ChoiceWithoutOptions { item: String, key: String },
    #[error("事项“{item}”的字段“{key}”不是选择类型，不应设置选项")]
    OptionsOnNonChoice { item: String, key: String },
    #[error("一件事编码“{code}”重复")]
    DuplicateMatterCode { code: String },
    #[error("一件事“{matter}”引用的事项“{item}”不存在")]
    MatterUnknownItem { matter: String, item: String },
    #[error("一件事“{matter}”重复引用事项“{item}”")]
    MatterDuplicateItem { matter: String, item: String },
    #[error("一件事“{matter}”只涉及{count}个部门，至少应涉及2个部门")]
    MatterTooFewDepartments { matter: String, count: usize },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("服务事项清单格式错误：{message}")]
    Json { message: String },
    #[error("服务事项清单校验未通过，共{}处问题：{}", .problems.len(), JoinedProblems(.problems))]
    Invalid { problems: Vec<CatalogueProblem> },
}

struct JoinedProblems<'a>(&'a [CatalogueProblem]);

impl fmt::Display for JoinedProblems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("；")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl Catalogue {
    /// The embedded demo catalogue for Zhuhai.
    pub fn zhuhai() -> Catalogue {
        static ZHUHAI: LazyLock<Catalogue> = LazyLock::new(|| {
            // The embedded file is checked by tests; failing here is a build defect.
            Catalogue::from_json(ZHUHAI_ITEMS, &ReferenceData::zhuhai())
                .unwrap_or_else(|e| panic!("内置珠海服务事项清单无效：{e}"))
        });
        ZHUHAI.clone()
    }

    /// Parses `{"source", "items", "combined_matters"}` and validates it.
    pub fn from_json(json: &str, reference: &ReferenceData) -> Result<Catalogue, CatalogueError> {
        let catalogue: Catalogue =
            serde_json::from_str(json).map_err(|e| CatalogueError::Json {
                message: e.to_string(),
            })?;
        catalogue.validate(reference)?;
        Ok(catalogue)
    }

    pub fn item(&self, code: &str) -> Option<&ServiceItem> {
        self.items.iter().find(|i| i.code == code)
    }

    pub fn combined_matter(&self, code: &str) -> Option<&CombinedMatter> {
        self.combined_matters.iter().find(|m| m.code == code)
    }

    /// Every problem at once, so an editor can fix a file in one pass.
    pub fn validate(&self, reference: &ReferenceData) -> Result<(), CatalogueError> {
        let mut problems = Vec::new();
        let mut codes: BTreeSet<&str> = BTreeSet::new();
        // key → (first item, name) / (first item, field) for cross-item consistency.
        let mut material_names: HashMap<&str, (&str, &str)> = HashMap::new();
        let mut field_defs: HashMap<&str, (&str, &FormField)> = HashMap::new();

        for (n, it) in self.items.iter().enumerate() {
            let place = if it.code.trim().is_empty() {
                format!("第{}个事项", n + 1)
            } else {
                format!("事项“{}”", it.code)
            };
            for (value, what) in [
                (&it.code, "事项编码"),
                (&it.name, "事项名称"),
                (&it.department, "实施部门"),
            ] {
                if value.trim().is_empty() {
                    problems.push(CatalogueProblem::Blank {
                        place: place.clone(),
                        what,
                    });
                }
            }
            if !it.code.trim().is_empty() && !codes.insert(&it.code) {
                problems.push(CatalogueProblem::DuplicateItemCode {
                    code: it.code.clone(),
                });
            }
            let code = it.code.clone();
            match reference.department(&it.department) {
                None if !it.department.trim().is_empty() => {
                    problems.push(CatalogueProblem::UnknownDepartment {
                        item: code.clone(),
                        department: it.department.clone(),
                    });
                }
                Some(d) if !it.level.matches(d.level) => {
                    problems.push(CatalogueProblem::LevelMismatch {
                        item: code.clone(),
                        level: it.level.label(),
                        department: d.name.clone(),
                        dept_level: d.level.label(),
                    });
                }
                _ => {}
            }
            if it.legal_days == 0 || it.promised_days == 0 {
                problems.push(CatalogueProblem::ZeroDays { item: code.clone() });
            }
            if it.promised_days > it.legal_days {
                problems.push(CatalogueProblem::PromisedExceedsLegal {
                    item: code.clone(),
                    promised: it.promised_days,
                    legal: it.legal_days,
                });
            }
            if it.fee.is_some_and(|f| f.fen() <= 0) {
                problems.push(CatalogueProblem::FeeNotPositive { item: code.clone() });
            }

            let mut keys: BTreeSet<&str> = BTreeSet::new();
            for m in &it.materials {
                let mplace = format!("{place}的材料“{}”", m.key);
                if m.key.trim().is_empty() {
                    problems.push(CatalogueProblem::Blank {
                        place: place.clone(),
                        what: "材料编码",
                    });
                }
                if m.name.trim().is_empty() {
                    problems.push(CatalogueProblem::Blank {
                        place: mplace,
                        what: "材料名称",
                    });
                }
                if !keys.insert(&m.key) {
                    problems.push(CatalogueProblem::DuplicateMaterial {
                        item: code.clone(),
                        key: m.key.clone(),
                    });
                }
                validate_tolerance(it, m, &mut problems);
                match material_names.get(m.key.as_str()) {
                    Some(&(first_item, first_name)) if first_name != m.name => {
                        problems.push(CatalogueProblem::MaterialNameConflict {
                            key: m.key.clone(),
                            first_item: first_item.to_string(),
                            first_name: first_name.to_string(),
                            item: code.clone(),
                            name: m.name.clone(),
                        });
                    }
                    Some(_) => {}
                    None => {
                        material_names.insert(&m.key, (&it.code, &m.name));
                    }
                }
            }
            let has_tolerable = it.materials.iter().any(|m| m.required && m.tolerable);
            if has_tolerable && !it.materials.iter().any(Material::is_core) {
                // Reference 1.4: 容缺 presupposes the main materials are complete.
                problems.push(CatalogueProblem::NoCoreMaterial { item: code.clone() });
            }

            let mut fkeys: BTreeSet<&str> = BTreeSet::new();
            for f in &it.fields {
                if f.key.trim().is_empty() || f.label.trim().is_empty() {
                    problems.push(CatalogueProblem::Blank {
                        place: format!("{place}的表单字段“{}”", f.key),
                        what: "字段编码或名称",
                    });
                }
                if !fkeys.insert(&f.key) {
                    problems.push(CatalogueProblem::DuplicateField {
                        item: code.clone(),
                        key: f.key.clone(),
                    });
                }
                if f.kind == FieldKind::Choice && f.options.is_empty() {
                    problems.push(CatalogueProblem::ChoiceWithoutOptions {
                        item: code.clone(),
                        key: f.key.clone(),
                    });
                }
                if f.kind != FieldKind::Choice && !f.options.is_empty() {
                    problems.push(CatalogueProblem::OptionsOnNonChoice {
                        item: code.clone(),
                        key: f.key.clone(),
                    });
                }
                match field_defs.get(f.key.as_str()) {
                    // `required` may differ per item; the shape may not, or
                    // one combined form could not ask the field once.
                    Some(&(first_item, first))
                        if first.label != f.label
                            || first.kind != f.kind
                            || first.options != f.options =>
                    {
                        problems.push(CatalogueProblem::FieldConflict {
                            key: f.key.clone(),
                            first_item: first_item.to_string(),
                            item: code.clone(),
                        });
                    }
                    Some(_) => {}
                    None => {
                        field_defs.insert(&f.key, (&it.code, f));
                    }
                }
            }
        }

        let mut matter_codes: BTreeSet<&str> = BTreeSet::new();
        for (n, cm) in self.combined_matters.iter().enumerate() {
            let place = format!("第{}个一件事", n + 1);
            if cm.code.trim().is_empty() {
                problems.push(CatalogueProblem::Blank {
                    place: place.clone(),
                    what: "编码",
                });
            }
            if cm.name.trim().is_empty() {
                problems.push(CatalogueProblem::Blank {
                    place,
                    what: "名称",
                });
            }
            if !cm.code.trim().is_empty() && !matter_codes.insert(&cm.code) {
                problems.push(CatalogueProblem::DuplicateMatterCode {
                    code: cm.code.clone(),
                });
            }
            let mut seen: BTreeSet<&str> = BTreeSet::new();
            let mut depts: BTreeSet<&str> = BTreeSet::new();
            for code in &cm.items {
                if !seen.insert(code) {
                    problems.push(CatalogueProblem::MatterDuplicateItem {
                        matter: cm.code.clone(),
                        item: code.clone(),
                    });
                }
                match self.item(code) {
                    Some(it) => {
                        depts.insert(&it.department);
                    }
                    None => problems.push(CatalogueProblem::MatterUnknownItem {
                        matter: cm.code.clone(),
                        item: code.clone(),
                    }),
                }
            }
            if depts.len() < 2 {
                problems.push(CatalogueProblem::MatterTooFewDepartments {
                    matter: cm.code.clone(),
                    count: depts.len(),
                });
            }
        }

        if problems.is_empty() {
            Ok(())
        } else {
            Err(CatalogueError::Invalid { problems })
        }
    }
}

/// 容缺 terms of one material (reference 1.4).
fn validate_tolerance(it: &ServiceItem, m: &Material, problems: &mut Vec<CatalogueProblem>) {
    let item = || it.code.clone();
    let key = || m.key.clone();
    if !m.tolerable {
        if m.commitment_template.is_some() || m.supplement_days.is_some() {
            problems.push(CatalogueProblem::TermsOnNonTolerable {
                item: item(),
                key: key(),
            });
        }
        return;
    }
    if !m.required {
        // An optional material may always be missing; marking it 容缺 would
        // ask for a commitment about nothing.
        problems.push(CatalogueProblem::TolerableNotRequired {
            item: item(),
            key: key(),
        });
    }
    if m.commitment_template
        .as_deref()
        .is_none_or(|t| t.trim().is_empty())
    {
        problems.push(CatalogueProblem::MissingTemplate {
            item: item(),
            key: key(),
        });
    }
    match m.supplement_days {
        None | Some(0) => problems.push(CatalogueProblem::MissingSupplementDays {
            item: item(),
            key: key(),
        }),
        // The supplement deadline may not exceed the promised time limit.
        Some(d) if d > it.promised_days => {
            problems.push(CatalogueProblem::SupplementExceedsPromised {
                item: item(),
                key: key(),
                days: d,
                promised: it.promised_days,
            })
        }
        Some(_) => {}
    }
}

/// Accumulates one key across items before the merged material is built.
struct Merge {
    material: Material,
    needed_by: Vec<String>,
    any_required: bool,
    all_requiring_tolerate: bool,
    min_days: Option<u32>,
    template: Option<String>,
    overdue: OverdueRule,
}

fn merge_materials(items: &[&ServiceItem]) -> Vec<SharedMaterial> {
    let mut order: Vec<Merge> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for it in items {
        for m in &it.materials {
            let idx = match at.get(m.key.as_str()) {
                Some(&i) => i,
                None => {
                    at.insert(&m.key, order.len());
                    order.push(Merge {
                        material: m.clone(),
                        needed_by: Vec::new(),
                        any_required: false,
                        all_requiring_tolerate: true,
                        min_days: None,
                        template: None,
                        overdue: OverdueRule::Suspend,
                    });
                    order.len() - 1
                }
            };
            let Some(acc) = order.get_mut(idx) else {
                continue;
            };
            if !acc.needed_by.contains(&it.code) {
                acc.needed_by.push(it.code.clone());
            }
            if !m.required {
                continue;
            }
            if !acc.any_required {
                // The first requiring item decides the form shown.
                acc.material.form = m.form;
            }
            acc.any_required = true;
            if m.tolerable {
                if let Some(d) = m.supplement_days {
                    acc.min_days = Some(acc.min_days.map_or(d, |x| x.min(d)));
                }
                if acc.template.is_none() {
                    acc.template = m.commitment_template.clone();
                }
                acc.overdue = acc.overdue.max(m.on_overdue);
            } else {
                acc.all_requiring_tolerate = false;
            }
        }
    }
    order
        .into_iter()
        .map(|acc| {
            let tolerable = acc.any_required && acc.all_requiring_tolerate;
            let mut material = acc.material;
            material.required = acc.any_required;
            material.tolerable = tolerable;
            material.supplement_days = if tolerable { acc.min_days } else { None };
            material.commitment_template = if tolerable { acc.template } else { None };
            material.on_overdue = if tolerable {
                acc.overdue
            } else {
                OverdueRule::default()
            };
            SharedMaterial {
                material,
                needed_by: acc.needed_by,
            }
        })
        .collect()
}

/// A tolerated material with its terms, as printed on the 容缺受理通知书.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MissingMaterial {
    pub key: String,
    pub name: String,
    /// Working days after acceptance.
    pub supplement_days: u32,
    pub on_overdue: OverdueRule,
    pub commitment_template: String,
    /// Item codes needing the material.
    pub needed_by: Vec<String>,
}

impl MissingMaterial {
    /// The commitment text with the period and the material filled in.
    pub fn commitment_text(&self) -> String {
        self.commitment_template
            .replace("{期限}", &self.supplement_days.to_string())
            .replace("{材料名称}", &self.name)
    }

    /// Last day to supply the material when accepted on `accepted`
    /// (the acceptance day itself does not count).
    pub fn deadline(
        &self,
        calendar: &WorkCalendar,
        accepted: NaiveDate,
    ) -> Result<NaiveDate, CalendarError> {
        calendar.add_workdays(accepted, i64::from(self.supplement_days))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum AcceptanceDecision {
    /// Every required material present.
    Accept,
    /// Only 容缺 materials missing; commitment signed; applicant not barred.
    AcceptWithTolerance { missing: Vec<MissingMaterial> },
    /// Only 容缺 materials missing, but the commitment is not signed yet.
    NeedsCommitment { missing: Vec<MissingMaterial> },
    /// Cannot be accepted. `missing_core` lists the 主要申请材料 missing;
    /// `missing_tolerable` the 容缺 ones also missing (a barred applicant
    /// must supply those too); `reason` says it all in one sentence.
    Blocked {
        missing_core: Vec<(String, String)>,
        missing_tolerable: Vec<(String, String)>,
        barred: bool,
        reason: String,
    },
}

/// Acceptance of one item or of a combined matter's items. A material
/// needed by several items counts once; it is tolerable only if every item
/// requiring it tolerates it, with the shortest supplement period.
pub fn check_acceptance(
    items: &[&ServiceItem],
    provided: &BTreeSet<String>,
    commitment_signed: bool,
    applicant_barred: bool,
) -> AcceptanceDecision {
    let mut core = Vec::new();
    let mut tolerable = Vec::new();
    for shared in merge_materials(items) {
        let m = shared.material;
        if !m.required || provided.contains(&m.key) {
            continue;
        }
        match (m.tolerable, m.supplement_days, m.commitment_template) {
            (true, Some(days), Some(template)) => tolerable.push(MissingMaterial {
                key: m.key,
                name: m.name,
                supplement_days: days,
                on_overdue: m.on_overdue,
                commitment_template: template,
                needed_by: shared.needed_by,
            }),
            // Incomplete 容缺 terms (an unvalidated item) cannot be promised.
            _ => core.push((m.key, m.name)),
        }
    }
    if core.is_empty() && tolerable.is_empty() {
        return AcceptanceDecision::Accept;
    }
    if core.is_empty() && !applicant_barred {
        return if commitment_signed {
            AcceptanceDecision::AcceptWithTolerance { missing: tolerable }
        } else {
            AcceptanceDecision::NeedsCommitment { missing: tolerable }
        };
    }
    let missing_tolerable: Vec<(String, String)> =
        tolerable.into_iter().map(|m| (m.key, m.name)).collect();
    let names = |v: &[(String, String)]| {
        v.iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>()
            .join("、")
    };
    let mut parts = Vec::new();
    if !core.is_empty() {
        parts.push(format!(
            "缺少主要申请材料（不适用容缺受理）：{}",
            names(&core)
        ));
    }
    if applicant_barred {
        if missing_tolerable.is_empty() {
            parts.push("申请人存在失信或虚假承诺记录，信用修复前不适用容缺受理".to_string());
        } else {
            parts.push(format!(
                "申请人存在失信或虚假承诺记录，信用修复前不适用容缺受理，以下材料也须补齐：{}",
                names(&missing_tolerable)
            ));
        }
    } else if !missing_tolerable.is_empty() {
        parts.push(format!(
            "补齐主要材料后，以下材料可签署承诺书容缺受理：{}",
            names(&missing_tolerable)
        ));
    }
    AcceptanceDecision::Blocked {
        reason: format!("不予受理：{}。", parts.join("；")),
        missing_core: core,
        missing_tolerable,
        barred: applicant_barred,
    }
}

/// Share of 行政许可 items allowing 容缺.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Share {
    pub licence_items: usize,
    pub tolerant_items: usize,
    /// tolerant / licence in basis points, rounded down; 0 when there are
    /// no licence items.
    pub ratio_bp: u32,
    /// Compared exactly (not on the rounded ratio).
    pub meets_target: bool,
}

impl Share {
    pub fn new(licence_items: usize, tolerant_items: usize) -> Share {
        let (l, t) = (licence_items as u128, tolerant_items as u128);
        let ratio_bp = (t * 10_000).checked_div(l).unwrap_or(0);
        Share {
            licence_items,
            tolerant_items,
            ratio_bp: u32::try_from(ratio_bp).unwrap_or(u32::MAX),
            // No licence items means nothing to meet: reported as not met so
            // an empty department never looks compliant.
            meets_target: l > 0 && t * 10_000 >= l * u128::from(TARGET_BP),
        }
    }

    /// "85.71%" (rounded down, like `ratio_bp`).
    pub fn percent(&self) -> String {
        format!("{}.{:02}%", self.ratio_bp / 100, self.ratio_bp % 100)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ToleranceReport {
    pub overall: Share,
    /// Departments with at least one 行政许可 item, by department code.
    pub by_department: Vec<(String, Share)>,
}

pub fn tolerance_report(catalogue: &Catalogue) -> ToleranceReport {
    let mut per: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let (mut licence, mut tolerant) = (0, 0);
    for it in catalogue.items.iter().filter(|i| i.is_licence()) {
        let e = per.entry(&it.department).or_default();
        e.0 += 1;
        licence += 1;
        if it.allows_tolerance() {
            e.1 += 1;
            tolerant += 1;
        }
    }
    ToleranceReport {
        overall: Share::new(licence, tolerant),
        by_department: per
            .into_iter()
            .map(|(d, (l, t))| (d.to_string(), Share::new(l, t)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn zh() -> Catalogue {
        Catalogue::zhuhai()
    }

    fn item_named<'a>(c: &'a Catalogue, name: &str) -> &'a ServiceItem {
        c.items
            .iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("no item {name}"))
    }

    fn mat(key: &str, required: bool, tolerable: bool, days: Option<u32>) -> Material {
        Material {
            key: key.into(),
            name: format!("{key}材料"),
            form: MaterialForm::Electronic,
            required,
            tolerable,
            commitment_template: tolerable.then(|| "承诺{期限}个工作日内补交{材料名称}".into()),
            supplement_days: days,
            on_overdue: OverdueRule::Suspend,
        }
    }

    fn item(code: &str, dept: &str, materials: Vec<Material>) -> ServiceItem {
        ServiceItem {
            code: code.into(),
            name: format!("{code}事项"),
            department: dept.into(),
            kind: ItemKind::Licence,
            level: ItemLevel::City,
            conditions: vec![],
            legal_days: 20,
            promised_days: 10,
            fee: None,
            materials,
            fields: vec![],
        }
    }

    fn problems_of(c: &Catalogue) -> Vec<CatalogueProblem> {
        match c.validate(&ReferenceData::zhuhai()) {
            Ok(()) => vec![],
            Err(CatalogueError::Invalid { problems }) => problems,
            Err(e) => panic!("{e}"),
        }
    }

    fn small() -> Catalogue {
        Catalogue {
            source: "测试".into(),
            items: vec![
                item(
                    "A",
                    "SZRJ",
                    vec![mat("lic", true, false, None), mat("x", true, true, Some(5))],
                ),
                item(
                    "B",
                    "SZJJ",
                    vec![mat("lic", true, false, None), mat("x", true, true, Some(3))],
                ),
            ],
            combined_matters: vec![],
        }
    }

    #[test]
    fn shipped_catalogue_loads_and_validates() {
        let c = Catalogue::from_json(ZHUHAI_ITEMS, &ReferenceData::zhuhai())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(c.items.len() >= 36, "{}", c.items.len());
        assert!(c.source.contains("非官方"));
        assert_eq!(c.combined_matters.len(), 2);
        let depts: BTreeSet<&str> = c.items.iter().map(|i| i.department.as_str()).collect();
        assert!(depts.len() >= 15, "{depts:?}");
        for it in &c.items {
            for m in it.tolerable_materials() {
                assert!(
                    m.commitment_template.as_deref().is_some_and(|t| {
                        t.contains("{期限}") && t.contains("{材料名称}")
                    })
                );
            }
        }
        // Round trip: what we export reads back the same.
        let json = serde_json::to_string(&c).unwrap_or_default();
        assert_eq!(
            Catalogue::from_json(&json, &ReferenceData::zhuhai()).ok(),
            Some(c)
        );
    }

    #[test]
    fn report_on_shipped_catalogue_meets_target() {
        let r = tolerance_report(&zh());
        assert_eq!(r.overall.licence_items, 35);
        assert_eq!(r.overall.tolerant_items, 30);
        assert_eq!(r.overall.ratio_bp, 8571);
        assert!(r.overall.meets_target);
        assert_eq!(r.overall.percent(), "85.71%");
        let (_, zj) = r
            .by_department
            .iter()
            .find(|(d, _)| d == "SZJJ")
            .cloned()
            .unwrap_or_else(|| panic!("SZJJ"));
        assert_eq!(
            (zj.licence_items, zj.tolerant_items, zj.ratio_bp),
            (5, 5, 10000)
        );
        let sum: usize = r.by_department.iter().map(|(_, s)| s.licence_items).sum();
        assert_eq!(sum, 35);
        // Not every licence item tolerates: the report shows a real figure.
        assert!(r.by_department.iter().any(|(_, s)| !s.meets_target));
    }

    #[test]
    fn share_boundaries_are_exact() {
        assert!(Share::new(5, 4).meets_target); // exactly 80%
        assert_eq!(Share::new(5, 4).ratio_bp, 8000);
        let s = Share::new(10_000, 7_999);
        assert!(!s.meets_target);
        assert_eq!(s.ratio_bp, 7999);
        assert_eq!(Share::new(3, 2).ratio_bp, 6666);
        assert!(!Share::new(0, 0).meets_target);
        assert_eq!(Share::new(0, 0).ratio_bp, 0);
    }

    #[test]
    fn acceptance_table() {
        let c = zh();
        let food = item_named(&c, "食品经营许可");
        let all: Vec<&str> = food
            .materials
            .iter()
            .filter(|m| m.required)
            .map(|m| m.key.as_str())
            .collect();
        let without = |drop: &[&str]| {
            keys(
                &all.iter()
                    .copied()
                    .filter(|k| !drop.contains(k))
                    .collect::<Vec<_>>(),
            )
        };
        struct Case {
            name: &'static str,
            missing: &'static [&'static str],
            signed: bool,
            barred: bool,
            expect: &'static str,
            days: &'static [(&'static str, u32)],
            core: &'static [&'static str],
        }
        let cases = [
            Case {
                name: "全部齐全",
                missing: &[],
                signed: false,
                barred: false,
                expect: "accept",
                days: &[],
                core: &[],
            },
            Case {
                name: "失信但材料齐全仍可受理",
                missing: &[],
                signed: false,
                barred: true,
                expect: "accept",
                days: &[],
                core: &[],
            },
            Case {
                name: "缺容缺材料并已承诺",
                missing: &["food_safety_manager", "premises_layout"],
                signed: true,
                barred: false,
                expect: "tolerance",
                days: &[("premises_layout", 3), ("food_safety_manager", 5)],
                core: &[],
            },
            Case {
                name: "缺容缺材料未承诺",
                missing: &["food_safety_rules"],
                signed: false,
                barred: false,
                expect: "commitment",
                days: &[("food_safety_rules", 3)],
                core: &[],
            },
            Case {
                name: "缺主要材料即使另缺容缺材料",
                missing: &["premises_proof", "food_safety_rules"],
                signed: true,
                barred: false,
                expect: "blocked",
                days: &[],
                core: &["premises_proof"],
            },
            Case {
                name: "失信申请人不得容缺",
                missing: &["food_safety_rules"],
                signed: true,
                barred: true,
                expect: "blocked",
                days: &[],
                core: &[],
            },
        ];
        for case in &cases {
            let d = check_acceptance(&[food], &without(case.missing), case.signed, case.barred);
            let got_days = |missing: &[MissingMaterial]| {
                missing
                    .iter()
                    .map(|m| (m.key.as_str().to_string(), m.supplement_days))
                    .collect::<Vec<_>>()
            };
            let want_days: Vec<(String, u32)> =
                case.days.iter().map(|(k, d)| (k.to_string(), *d)).collect();
            match (case.expect, &d) {
                ("accept", AcceptanceDecision::Accept) => {}
                ("tolerance", AcceptanceDecision::AcceptWithTolerance { missing })
                | ("commitment", AcceptanceDecision::NeedsCommitment { missing }) => {
                    assert_eq!(got_days(missing), want_days, "{}", case.name);
                    for m in missing {
                        let text = m.commitment_text();
                        assert!(text.contains(&m.name), "{}: {text}", case.name);
                        assert!(!text.contains("{期限}"), "{}", case.name);
                    }
                }
                (
                    "blocked",
                    AcceptanceDecision::Blocked {
                        missing_core,
                        missing_tolerable,
                        barred,
                        reason,
                    },
                ) => {
                    let core: Vec<&str> = missing_core.iter().map(|(k, _)| k.as_str()).collect();
                    assert_eq!(core, case.core, "{}", case.name);
                    for (_, n) in missing_core {
                        assert!(reason.contains(n.as_str()), "{}: {reason}", case.name);
                    }
                    assert_eq!(*barred, case.barred);
                    assert_eq!(reason.contains("失信"), case.barred, "{}", case.name);
                    if case.barred {
                        for (_, n) in missing_tolerable {
                            assert!(reason.contains(n.as_str()), "{reason}");
                        }
                    }
                }
                _ => panic!("{}: unexpected {d:?}", case.name),
            }
        }
    }

    #[test]
    fn blocked_lists_every_missing_core_material() {
        let c = zh();
        let permit = item_named(&c, "建筑工程施工许可证核发");
        let d = check_acceptance(&[permit], &BTreeSet::new(), true, false);
        let AcceptanceDecision::Blocked {
            missing_core,
            reason,
            ..
        } = d
        else {
            panic!("{d:?}")
        };
        let core: Vec<&str> = permit
            .materials
            .iter()
            .filter(|m| m.is_core())
            .map(|m| m.key.as_str())
            .collect();
        assert_eq!(
            missing_core
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>(),
            core
        );
        for (_, n) in &missing_core {
            assert!(reason.contains(n.as_str()));
        }
        assert!(!reason.contains("失信"));
    }

    #[test]
    fn supplement_deadline_on_the_official_calendar() {
        let c = zh();
        let food = item_named(&c, "食品经营许可");
        let provided: BTreeSet<String> = food
            .materials
            .iter()
            .filter(|m| m.key != "food_safety_manager")
            .map(|m| m.key.clone())
            .collect();
        let AcceptanceDecision::AcceptWithTolerance { missing } =
            check_acceptance(&[food], &provided, true, false)
        else {
            panic!("expected 容缺受理")
        };
        let cal = WorkCalendar::official();
        // Accepted on 2025-09-30: 国庆 (10-01..10-08) does not count and
        // 10-11 (Sat) is a 调休 working day: 10-09, 10-10, 10-11, 10-13, 10-14.
        let accepted = NaiveDate::from_ymd_opt(2025, 9, 30).unwrap_or_default();
        let due = missing
            .first()
            .map(|m| m.deadline(&cal, accepted))
            .unwrap_or_else(|| panic!("no missing"));
        assert_eq!(due, cal.add_workdays(accepted, 5));
        assert_eq!(
            due,
            Ok(NaiveDate::from_ymd_opt(2025, 10, 14).unwrap_or_default())
        );
    }

    #[test]
    fn combined_material_tolerable_only_if_every_item_allows_and_minimum_days() {
        let mut c = small();
        let a = c.items.first().cloned().unwrap_or_else(|| panic!());
        let b = c.items.get(1).cloned().unwrap_or_else(|| panic!());
        let d = check_acceptance(&[&a, &b], &keys(&["lic"]), true, false);
        let AcceptanceDecision::AcceptWithTolerance { missing } = d else {
            panic!("{d:?}")
        };
        assert_eq!(missing.len(), 1);
        assert_eq!(missing.first().map(|m| m.supplement_days), Some(3));
        assert_eq!(
            missing.first().map(|m| m.needed_by.clone()),
            Some(vec!["A".to_string(), "B".to_string()])
        );
        // B now requires x as core: the shared material is no longer 容缺.
        if let Some(m) = c.items.get_mut(1).and_then(|i| i.materials.get_mut(1)) {
            *m = mat("x", true, false, None);
        }
        let a = c.items.first().cloned().unwrap_or_else(|| panic!());
        let b = c.items.get(1).cloned().unwrap_or_else(|| panic!());
        let d = check_acceptance(&[&a, &b], &keys(&["lic"]), true, false);
        assert!(
            matches!(&d, AcceptanceDecision::Blocked { missing_core, .. } if missing_core.len() == 1),
            "{d:?}"
        );
        // An item listing x as optional does not veto tolerance.
        let mut b2 = b.clone();
        if let Some(m) = b2.materials.get_mut(1) {
            *m = mat("x", false, false, None);
        }
        let d = check_acceptance(&[&a, &b2], &keys(&["lic"]), false, false);
        assert!(
            matches!(d, AcceptanceDecision::NeedsCommitment { .. }),
            "{d:?}"
        );
    }

    #[test]
    fn combined_matter_form_and_materials_share() {
        let c = zh();
        for cm in &c.combined_matters {
            let form = cm.form(&c);
            let fkeys: Vec<&str> = form.iter().map(|f| f.key.as_str()).collect();
            let unique: BTreeSet<&str> = fkeys.iter().copied().collect();
            assert_eq!(fkeys.len(), unique.len(), "{}", cm.name);
            let all: BTreeSet<&str> = cm
                .service_items(&c)
                .iter()
                .flat_map(|i| i.fields.iter().map(|f| f.key.as_str()))
                .collect();
            assert_eq!(unique, all);
            // First-occurrence order: the first item's fields lead.
            let first = cm.service_items(&c).first().map(|i| i.fields.clone());
            let lead: Vec<FormField> = form
                .iter()
                .take(first.as_ref().map_or(0, Vec::len))
                .cloned()
                .collect();
            assert_eq!(
                lead.iter().map(|f| &f.key).collect::<Vec<_>>(),
                first
                    .unwrap_or_default()
                    .iter()
                    .map(|f| &f.key)
                    .collect::<Vec<_>>()
            );
        }
        let food = c
            .combined_matters
            .iter()
            .find(|m| m.name == "开办餐饮店一件事")
            .unwrap_or_else(|| panic!("开办餐饮店"));
        assert_eq!(food.items.len(), 3);
        assert!(food.departments(&c).len() >= 2);
        let form = food.form(&c);
        assert_eq!(form.iter().filter(|f| f.key == "uscc").count(), 1);
        assert_eq!(
            form.iter().filter(|f| f.key == "business_address").count(),
            1
        );
        let mats = food.materials(&c);
        let licence: Vec<&SharedMaterial> = mats
            .iter()
            .filter(|m| m.material.key == "business_licence")
            .collect();
        assert_eq!(licence.len(), 1);
        assert_eq!(
            licence.first().map(|m| m.needed_by.clone()),
            Some(food.items.clone())
        );

        let works = c
            .combined_matters
            .iter()
            .find(|m| m.name == "工业项目开工一件事")
            .unwrap_or_else(|| panic!("工业项目"));
        assert!(works.departments(&c).len() >= 3);
        let mats = works.materials(&c);
        let approval = mats
            .iter()
            .find(|m| m.material.key == "project_approval")
            .unwrap_or_else(|| panic!("project_approval"));
        assert!(approval.needed_by.len() >= 3);
        assert!(approval.material.tolerable);
        // The shortest period wins (5 everywhere here).
        assert_eq!(approval.material.supplement_days, Some(5));
        // All materials present → the whole matter is accepted.
        let all: BTreeSet<String> = mats.iter().map(|m| m.material.key.clone()).collect();
        assert_eq!(
            works.check_acceptance(&c, &all, false, false),
            AcceptanceDecision::Accept
        );
    }

    #[test]
    fn validation_rejects_bad_catalogues() {
        type Breaker = fn(&mut Catalogue);
        type Want = fn(&CatalogueProblem) -> bool;
        let cases: [(&str, Breaker, Want); 9] = [
            (
                "重复编码",
                |c| {
                    if let Some(b) = c.items.get_mut(1) {
                        b.code = "A".into();
                    }
                },
                |p| matches!(p, CatalogueProblem::DuplicateItemCode { .. }),
            ),
            (
                "未知部门",
                |c| {
                    if let Some(b) = c.items.get_mut(1) {
                        b.department = "NOPE".into();
                    }
                },
                |p| matches!(p, CatalogueProblem::UnknownDepartment { .. }),
            ),
            (
                "容缺材料无承诺书模板",
                |c| {
                    if let Some(m) = c.items.get_mut(0).and_then(|i| i.materials.get_mut(1)) {
                        m.commitment_template = None;
                    }
                },
                |p| matches!(p, CatalogueProblem::MissingTemplate { .. }),
            ),
            (
                "补交期限超过承诺时限",
                |c| {
                    if let Some(m) = c.items.get_mut(0).and_then(|i| i.materials.get_mut(1)) {
                        m.supplement_days = Some(11);
                    }
                },
                |p| {
                    matches!(
                        p,
                        CatalogueProblem::SupplementExceedsPromised { days: 11, .. }
                    )
                },
            ),
            (
                "承诺时限超过法定时限",
                |c| {
                    if let Some(i) = c.items.get_mut(0) {
                        i.promised_days = 21;
                    }
                },
                |p| matches!(p, CatalogueProblem::PromisedExceedsLegal { .. }),
            ),
            (
                "承诺时限为0",
                |c| {
                    if let Some(i) = c.items.get_mut(0) {
                        i.promised_days = 0;
                    }
                },
                |p| matches!(p, CatalogueProblem::ZeroDays { .. }),
            ),
            (
                "同一材料名称不一致",
                |c| {
                    if let Some(m) = c.items.get_mut(1).and_then(|i| i.materials.get_mut(0)) {
                        m.name = "别的名字".into();
                    }
                },
                |p| matches!(p, CatalogueProblem::MaterialNameConflict { .. }),
            ),
            (
                "必需材料全部容缺",
                |c| {
                    if let Some(i) = c.items.get_mut(0) {
                        i.materials.remove(0);
                    }
                },
                |p| matches!(p, CatalogueProblem::NoCoreMaterial { .. }),
            ),
            (
                "一件事只涉及一个部门",
                |c| {
                    if let Some(b) = c.items.get_mut(1) {
                        b.department = "SZRJ".into();
                    }
                    c.combined_matters.push(CombinedMatter {
                        code: "M".into(),
                        name: "测试".into(),
                        items: vec!["A".into(), "B".into()],
                    });
                },
                |p| {
                    matches!(
                        p,
                        CatalogueProblem::MatterTooFewDepartments { count: 1, .. }
                    )
                },
            ),
        ];
        assert!(
            problems_of(&small()).is_empty(),
            "{:?}",
            problems_of(&small())
        );
        for (name, brk, want) in cases {
            let mut c = small();
            brk(&mut c);
            let problems = problems_of(&c);
            assert!(problems.iter().any(want), "{name}: {problems:?}");
            // Messages are Chinese and name the offender.
            assert!(problems.iter().all(|p| !p.to_string().is_empty()));
        }
    }

    #[test]
    fn validation_field_and_matter_rules() {
        let mut c = small();
        let f = |label: &str, kind: FieldKind| FormField {
            key: "f".into(),
            label: label.into(),
            kind,
            options: if kind == FieldKind::Choice {
                vec!["是".into()]
            } else {
                vec![]
            },
            required: true,
        };
        if let Some(i) = c.items.get_mut(0) {
            i.fields.push(f("字段", FieldKind::Text));
        }
        if let Some(i) = c.items.get_mut(1) {
            i.fields.push(f("字段", FieldKind::Number));
        }
        c.combined_matters.push(CombinedMatter {
            code: "M".into(),
            name: "测试".into(),
            items: vec!["A".into(), "Z".into()],
        });
        let p = problems_of(&c);
        assert!(
            p.iter()
                .any(|p| matches!(p, CatalogueProblem::FieldConflict { .. }))
        );
        assert!(
            p.iter()
                .any(|p| matches!(p, CatalogueProblem::MatterUnknownItem { .. }))
        );
        let err = Catalogue::from_json(
            &serde_json::to_string(&c).unwrap_or_default(),
            &ReferenceData::zhuhai(),
        );
        let msg = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("服务事项清单校验未通过"), "{msg}");
        assert!(msg.contains("“Z”不存在"), "{msg}");
    }

    #[test]
    fn bad_json_is_an_error_not_a_panic() {
        let r = ReferenceData::zhuhai();
        for s in [
            "",
            "[]",
            "{\"items\": 3}",
            "{\"items\": [{\"code\": \"A\"}]}",
            "{\"items\": [], \"extra\": 1}",
        ] {
            assert!(
                matches!(
                    Catalogue::from_json(s, &r),
                    Err(CatalogueError::Json { .. })
                ),
                "{s}"
            );
        }
        let kinds = "{\"items\": [{\"code\":\"A\",\"name\":\"n\",\"department\":\"SZRJ\",\"kind\":\"许可\",\"level\":\"市级\",\"legal_days\":1,\"promised_days\":1,\"materials\":[]}]}";
        assert!(Catalogue::from_json(kinds, &r).is_err());
    }

    fn arb_case() -> impl Strategy<Value = (Vec<usize>, Vec<bool>, bool, bool)> {
        let n = Catalogue::zhuhai().items.len();
        (
            prop::collection::vec(0..n, 1..4),
            prop::collection::vec(any::<bool>(), 0..40),
            any::<bool>(),
            any::<bool>(),
        )
    }

    proptest! {
        #[test]
        fn decision_never_contradicts_the_materials((picks, bits, signed, barred) in arb_case()) {
            let c = zh();
            let items: Vec<&ServiceItem> = picks.iter().filter_map(|&i| c.items.get(i)).collect();
            let all: Vec<&str> = {
                let mut v: Vec<&str> = Vec::new();
                for it in &items {
                    for m in &it.materials {
                        if !v.contains(&m.key.as_str()) {
                            v.push(&m.key);
                        }
                    }
                }
                v
            };
            let provided: BTreeSet<String> = all
                .iter()
                .enumerate()
                .filter(|(i, _)| bits.get(*i).copied().unwrap_or(true))
                .map(|(_, k)| k.to_string())
                .collect();
            // Oracle straight from the definition.
            let missing_required: Vec<&Material> = items
                .iter()
                .flat_map(|i| i.materials.iter())
                .filter(|m| m.required && !provided.contains(&m.key))
                .collect();
            let only_tolerable = missing_required.iter().all(|m| {
                items
                    .iter()
                    .flat_map(|i| i.materials.iter())
                    .filter(|x| x.key == m.key && x.required)
                    .all(|x| x.tolerable)
            });
            let d = check_acceptance(&items, &provided, signed, barred);
            if !missing_required.is_empty() {
                prop_assert!(d != AcceptanceDecision::Accept);
            } else {
                prop_assert_eq!(&d, &AcceptanceDecision::Accept);
            }
            if only_tolerable && signed && !barred {
                let blocked = matches!(d, AcceptanceDecision::Blocked { .. });
                prop_assert!(!blocked);
            }
            if !only_tolerable {
                let blocked = matches!(d, AcceptanceDecision::Blocked { .. });
                prop_assert!(blocked);
            }
            if let AcceptanceDecision::AcceptWithTolerance { missing } = &d {
                prop_assert!(signed && !barred);
                for m in missing {
                    let min = items
                        .iter()
                        .filter_map(|i| i.material(&m.key))
                        .filter(|x| x.required)
                        .filter_map(|x| x.supplement_days)
                        .min();
                    prop_assert_eq!(Some(m.supplement_days), min);
                }
            }
        }
    }
}
