//! Editing the service item catalogue: a draft of one item (from the web
//! form or from spreadsheet rows, every value still text) becomes a
//! validated [`ServiceItem`], and the catalogue with the edit applied must
//! still pass [`Catalogue::validate`]. Errors name the field they belong to
//! so the form can show each one beside its input.
//!
//! The whole-catalogue rules stay in `catalogue.rs`; this module parses the
//! text, adds the rules only an editor can break (duplicate names, an
//! existing code on create), and maps each [`CatalogueProblem`] back to the
//! field that caused it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::money::Amount;
use crate::reference::{DeptLevel, ReferenceData};

use super::catalogue::{
    Catalogue, CatalogueError, CatalogueProblem, CombinedMatter, FormField, ItemKind, ItemLevel,
    Material, MaterialForm, OverdueRule, ServiceItem,
};

/// The longest 时限 an editor may enter; anything longer is a typo.
pub const MAX_DAYS: u32 = 3650;

pub const KINDS: [ItemKind; 8] = [
    ItemKind::Licence,
    ItemKind::Confirmation,
    ItemKind::Payment,
    ItemKind::Award,
    ItemKind::Adjudication,
    ItemKind::Filing,
    ItemKind::PublicService,
    ItemKind::OtherPower,
];
pub const FORMS: [MaterialForm; 3] = [
    MaterialForm::Original,
    MaterialForm::Copy,
    MaterialForm::Electronic,
];
pub const OVERDUE_RULES: [OverdueRule; 3] = [
    OverdueRule::Suspend,
    OverdueRule::CreditMark,
    OverdueRule::RevokeAcceptance,
];

/// One material row as typed: every value is text ("是"/"否" for flags).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaterialDraft {
    /// Blank on a new row: reused from a same-named material elsewhere in
    /// the catalogue, else generated from the item code.
    pub key: String,
    pub name: String,
    pub form: String,
    pub required: String,
    pub tolerable: String,
    pub commitment_template: String,
    pub supplement_days: String,
    pub on_overdue: String,
}

impl MaterialDraft {
    pub fn from_material(m: &Material) -> MaterialDraft {
        MaterialDraft {
            key: m.key.clone(),
            name: m.name.clone(),
            form: m.form.label().to_owned(),
            required: yes_no(m.required).to_owned(),
            tolerable: yes_no(m.tolerable).to_owned(),
            commitment_template: m.commitment_template.clone().unwrap_or_default(),
            supplement_days: m.supplement_days.map(|d| d.to_string()).unwrap_or_default(),
            on_overdue: if m.tolerable {
                m.on_overdue.label().to_owned()
            } else {
                String::new()
            },
        }
    }

    /// A row the user left empty (the form always offers a few).
    pub fn is_blank(&self) -> bool {
        [
            &self.key,
            &self.name,
            &self.commitment_template,
            &self.supplement_days,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
    }
}

/// One item as typed. `fields` (the application form) is not edited on the
/// item page: `None` keeps the current item's fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemDraft {
    pub code: String,
    pub name: String,
    /// Department code (a department name is accepted too).
    pub department: String,
    pub kind: String,
    /// Blank: the department's level.
    pub level: String,
    /// One 受理条件 per line.
    pub conditions: String,
    pub legal_days: String,
    pub promised_days: String,
    /// Blank or 不收费: no fee.
    pub fee: String,
    pub materials: Vec<MaterialDraft>,
    #[serde(default)]
    pub fields: Option<Vec<FormField>>,
}

impl ItemDraft {
    pub fn from_item(i: &ServiceItem) -> ItemDraft {
        ItemDraft {
            code: i.code.clone(),
            name: i.name.clone(),
            department: i.department.clone(),
            kind: i.kind.label().to_owned(),
            level: i.level.label().to_owned(),
            conditions: i.conditions.join("\n"),
            legal_days: i.legal_days.to_string(),
            promised_days: i.promised_days.to_string(),
            fee: fee_text(i.fee),
            materials: i
                .materials
                .iter()
                .map(MaterialDraft::from_material)
                .collect(),
            fields: Some(i.fields.clone()),
        }
    }
}

pub fn yes_no(b: bool) -> &'static str {
    if b { "是" } else { "否" }
}

/// "不收费" or the fee in 元 ("3,500元"); parses back unchanged.
pub fn fee_text(fee: Option<Amount>) -> String {
    fee.map(|f| f.yuan_string())
        .unwrap_or_else(|| "不收费".to_owned())
}

/// Which input an error belongs to. Material fields are addressed by the
/// row's position among the non-blank rows of the draft.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum FieldRef {
    Item(&'static str),
    Material(usize, &'static str),
    /// Problems of the catalogue as a whole (e.g. a 一件事).
    Catalogue,
}

impl FieldRef {
    /// The form input name: `name`, `m3.supplement_days`, `catalogue`.
    pub fn name(&self) -> String {
        match self {
            FieldRef::Item(f) => (*f).to_owned(),
            FieldRef::Material(i, f) => format!("m{i}.{f}"),
            FieldRef::Catalogue => "catalogue".to_owned(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: FieldRef,
    pub message: String,
}

/// All errors of one edit, findable by input name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EditErrors(pub Vec<FieldError>);

impl EditErrors {
    fn push(&mut self, field: FieldRef, message: impl Into<String>) {
        let message = message.into();
        if !self
            .0
            .iter()
            .any(|e| e.field == field && e.message == message)
        {
            self.0.push(FieldError { field, message });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages for one input, joined.
    pub fn get(&self, name: &str) -> Option<String> {
        let v: Vec<&str> = self
            .0
            .iter()
            .filter(|e| e.field.name() == name)
            .map(|e| e.message.as_str())
            .collect();
        (!v.is_empty()).then(|| v.join("；"))
    }

    pub fn messages(&self) -> Vec<String> {
        self.0.iter().map(|e| e.message.clone()).collect()
    }
}

pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "是" | "Y" | "y" | "yes" | "true" | "1" | "√" | "✓" => Some(true),
        "否" | "" | "N" | "n" | "no" | "false" | "0" | "×" => Some(false),
        _ => None,
    }
}

fn parse_days(s: &str) -> Result<u32, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("请填写工作日数".into());
    }
    match t.parse::<u32>() {
        Ok(d) if d <= MAX_DAYS => Ok(d),
        Ok(_) => Err(format!("不能超过{MAX_DAYS}个工作日")),
        Err(_) => Err(format!("“{t}”不是工作日数，应填写整数（如 10）")),
    }
}

pub fn parse_kind(s: &str) -> Option<ItemKind> {
    KINDS.into_iter().find(|k| k.label() == s.trim())
}

pub fn parse_form(s: &str) -> Option<MaterialForm> {
    FORMS.into_iter().find(|k| k.label() == s.trim())
}

pub fn parse_overdue(s: &str) -> Option<OverdueRule> {
    OVERDUE_RULES.into_iter().find(|k| k.label() == s.trim())
}

fn labels<T: Copy>(all: &[T], f: fn(T) -> &'static str) -> String {
    all.iter().map(|x| f(*x)).collect::<Vec<_>>().join("、")
}

/// Whether the edit makes a new item or changes the item with this code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EditMode<'a> {
    Create,
    Update(&'a str),
}

/// Parses a draft into an item, per field. `catalogue` supplies material
/// keys for new rows that name a known material.
pub fn parse_item(
    draft: &ItemDraft,
    reference: &ReferenceData,
    catalogue: &Catalogue,
) -> Result<ServiceItem, EditErrors> {
    let mut errs = EditErrors::default();
    let code = draft.code.trim().to_owned();
    if code.is_empty() {
        errs.push(FieldRef::Item("code"), "请填写事项编码");
    } else if code.chars().count() > 64 || code.chars().any(char::is_whitespace) {
        errs.push(
            FieldRef::Item("code"),
            "事项编码不超过64个字符，且不能含空格",
        );
    }
    let name = draft.name.trim().to_owned();
    if name.is_empty() {
        errs.push(FieldRef::Item("name"), "请填写事项名称");
    } else if name.chars().count() > 200 {
        errs.push(FieldRef::Item("name"), "事项名称不超过200个字");
    }
    let dept_text = draft.department.trim();
    let dept = reference
        .department(dept_text)
        .or_else(|| reference.department_by_name(dept_text));
    if dept_text.is_empty() {
        errs.push(FieldRef::Item("department"), "请选择实施部门");
    } else if dept.is_none() {
        errs.push(
            FieldRef::Item("department"),
            format!("实施部门“{dept_text}”不在部门清单中"),
        );
    }
    let kind = parse_kind(&draft.kind);
    if kind.is_none() {
        errs.push(
            FieldRef::Item("kind"),
            format!("事项类型应为：{}", labels(&KINDS, |k: ItemKind| k.label())),
        );
    }
    let level = match draft.level.trim() {
        "市级" => Some(ItemLevel::City),
        "区级" => Some(ItemLevel::District),
        "" => dept.map(|d| match d.level {
            DeptLevel::City => ItemLevel::City,
            DeptLevel::District => ItemLevel::District,
        }),
        _ => {
            errs.push(FieldRef::Item("level"), "事权层级应为：市级、区级");
            None
        }
    };
    let conditions: Vec<String> = draft
        .conditions
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let legal = parse_days(&draft.legal_days)
        .map_err(|e| errs.push(FieldRef::Item("legal_days"), format!("法定办结时限{e}")))
        .ok();
    let promised = parse_days(&draft.promised_days)
        .map_err(|e| errs.push(FieldRef::Item("promised_days"), format!("承诺办结时限{e}")))
        .ok();
    let fee = match draft.fee.trim() {
        "" | "不收费" | "无" | "免费" => None,
        t => match Amount::parse(t) {
            Ok(a) => Some(a),
            Err(e) => {
                errs.push(
                    FieldRef::Item("fee"),
                    format!("收费金额无法识别（{e}）；不收费请填“不收费”或留空"),
                );
                None
            }
        },
    };

    let mut materials = Vec::new();
    let mut keys: BTreeSet<String> = BTreeSet::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    let known: BTreeMap<&str, &str> = catalogue
        .items
        .iter()
        .flat_map(|i| i.materials.iter())
        .map(|m| (m.name.as_str(), m.key.as_str()))
        .collect();
    for (i, md) in draft.materials.iter().filter(|m| !m.is_blank()).enumerate() {
        let f = |field| FieldRef::Material(i, field);
        let mname = md.name.trim().to_owned();
        if mname.is_empty() {
            errs.push(f("name"), "请填写材料名称");
        } else if !names.insert(mname.clone()) {
            errs.push(f("name"), format!("材料“{mname}”重复"));
        }
        let mut key = md.key.trim().to_owned();
        if key.is_empty() {
            key = match known.get(mname.as_str()) {
                Some(k) => (*k).to_owned(),
                None => {
                    let mut n = i + 1;
                    loop {
                        let k = format!("{}-m{n}", code.to_lowercase());
                        if !keys.contains(&k) && !draft.materials.iter().any(|m| m.key.trim() == k)
                        {
                            break k;
                        }
                        n += 1;
                    }
                }
            };
        } else if key.chars().any(char::is_whitespace) || key.chars().count() > 64 {
            errs.push(f("key"), "材料编码不超过64个字符，且不能含空格");
        }
        if !keys.insert(key.clone()) {
            errs.push(f("key"), format!("材料编码“{key}”重复"));
        }
        let form = parse_form(&md.form);
        if form.is_none() {
            errs.push(
                f("form"),
                format!(
                    "材料形式应为：{}",
                    labels(&FORMS, |k: MaterialForm| k.label())
                ),
            );
        }
        let required = parse_bool(&md.required);
        if required.is_none() {
            errs.push(f("required"), "“是否必需”应填“是”或“否”");
        }
        let tolerable = parse_bool(&md.tolerable);
        if tolerable.is_none() {
            errs.push(f("tolerable"), "“是否容缺”应填“是”或“否”");
        }
        let supplement_days = match md.supplement_days.trim() {
            "" => None,
            t => match parse_days(t) {
                Ok(d) => Some(d),
                Err(e) => {
                    errs.push(f("supplement_days"), format!("补交期限{e}"));
                    None
                }
            },
        };
        let on_overdue = match md.on_overdue.trim() {
            "" => Some(OverdueRule::default()),
            t => parse_overdue(t),
        };
        if on_overdue.is_none() {
            errs.push(
                f("on_overdue"),
                format!(
                    "逾期处理应为：{}",
                    labels(&OVERDUE_RULES, |k: OverdueRule| k.label())
                ),
            );
        }
        let template = md.commitment_template.trim();
        materials.push(Material {
            key,
            name: mname,
            form: form.unwrap_or(MaterialForm::Electronic),
            required: required.unwrap_or(false),
            tolerable: tolerable.unwrap_or(false),
            commitment_template: (!template.is_empty()).then(|| template.to_owned()),
            supplement_days,
            on_overdue: on_overdue.unwrap_or_default(),
        });
    }
    if materials.is_empty() {
        errs.push(FieldRef::Item("materials"), "至少应列出一项申请材料");
    }

    if !errs.is_empty() {
        return Err(errs);
    }
    let fields = draft
        .fields
        .clone()
        .or_else(|| catalogue.item(&code).map(|i| i.fields.clone()))
        .unwrap_or_default();
    Ok(ServiceItem {
        code,
        name,
        department: dept.map(|d| d.code.clone()).unwrap_or_default(),
        // Every None above pushed an error, so these defaults are never used.
        kind: kind.unwrap_or(ItemKind::OtherPower),
        level: level.unwrap_or(ItemLevel::City),
        conditions,
        legal_days: legal.unwrap_or(0),
        promised_days: promised.unwrap_or(0),
        fee,
        materials,
        fields,
    })
}

/// Where a catalogue problem belongs: the item code (if any) and the field.
/// Material fields carry the material key; callers resolve it to a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProblemTarget {
    Item(String, &'static str),
    Material(String, String, &'static str),
    Matter(String),
    Other,
}

pub fn problem_target(p: &CatalogueProblem) -> ProblemTarget {
    use CatalogueProblem as P;
    let m = |item: &str, key: &str, f| ProblemTarget::Material(item.into(), key.into(), f);
    match p {
        P::Blank { .. } => ProblemTarget::Other,
        P::DuplicateItemCode { code } => ProblemTarget::Item(code.clone(), "code"),
        P::UnknownDepartment { item, .. } => ProblemTarget::Item(item.clone(), "department"),
        P::LevelMismatch { item, .. } => ProblemTarget::Item(item.clone(), "level"),
        P::ZeroDays { item } => ProblemTarget::Item(item.clone(), "promised_days"),
        P::PromisedExceedsLegal { item, .. } => ProblemTarget::Item(item.clone(), "promised_days"),
        P::FeeNotPositive { item } => ProblemTarget::Item(item.clone(), "fee"),
        P::DuplicateMaterial { item, key } => m(item, key, "key"),
        P::DuplicateField { item, .. }
        | P::ChoiceWithoutOptions { item, .. }
        | P::OptionsOnNonChoice { item, .. } => ProblemTarget::Item(item.clone(), "fields"),
        P::TolerableNotRequired { item, key } => m(item, key, "tolerable"),
        P::MissingTemplate { item, key } => m(item, key, "commitment_template"),
        P::MissingSupplementDays { item, key } => m(item, key, "supplement_days"),
        P::SupplementExceedsPromised { item, key, .. } => m(item, key, "supplement_days"),
        P::TermsOnNonTolerable { item, key } => m(item, key, "tolerable"),
        P::NoCoreMaterial { item } => ProblemTarget::Item(item.clone(), "materials"),
        P::MaterialNameConflict { item, key, .. } => m(item, key, "name"),
        P::FieldConflict { item, .. } => ProblemTarget::Item(item.clone(), "fields"),
        P::DuplicateMatterCode { code } => ProblemTarget::Matter(code.clone()),
        P::MatterUnknownItem { matter, .. }
        | P::MatterDuplicateItem { matter, .. }
        | P::MatterTooFewDepartments { matter, .. } => ProblemTarget::Matter(matter.clone()),
    }
}

/// Extra words for a problem an editor meets often, so the message says
/// what to do, not only what is wrong.
fn explain(p: &CatalogueProblem) -> String {
    match p {
        CatalogueProblem::NoCoreMaterial { .. } => format!(
            "{p}：主要申请材料（必需且不可容缺）不能设为容缺，请至少保留一项必需材料不设容缺"
        ),
        _ => p.to_string(),
    }
}

/// The catalogue with one item created or replaced, validated as a whole.
/// Returns the new catalogue and the stored form of the item.
pub fn apply_item(
    catalogue: &Catalogue,
    reference: &ReferenceData,
    draft: &ItemDraft,
    mode: EditMode<'_>,
) -> Result<(Catalogue, ServiceItem), EditErrors> {
    let mut draft = draft.clone();
    if let EditMode::Update(code) = mode {
        // The code is the item's identity (cases and 一件事 refer to it).
        if draft.code.trim() != code {
            let mut errs = EditErrors::default();
            errs.push(FieldRef::Item("code"), "事项编码不能修改");
            return Err(errs);
        }
        if catalogue.item(code).is_none() {
            let mut errs = EditErrors::default();
            errs.push(FieldRef::Item("code"), format!("事项“{code}”不存在"));
            return Err(errs);
        }
    }
    let item = parse_item(&draft, reference, catalogue)?;
    if mode == EditMode::Create && catalogue.item(&item.code).is_some() {
        let mut errs = EditErrors::default();
        errs.push(
            FieldRef::Item("code"),
            format!("事项编码“{}”已存在", item.code),
        );
        return Err(errs);
    }
    draft.code = item.code.clone();
    let mut next = catalogue.clone();
    match next.items.iter_mut().find(|i| i.code == item.code) {
        Some(slot) => *slot = item.clone(),
        None => next.items.push(item.clone()),
    }
    match next.validate(reference) {
        Ok(()) => Ok((next, item)),
        Err(CatalogueError::Invalid { problems }) => {
            let mut errs = EditErrors::default();
            let mut reported: BTreeSet<String> = BTreeSet::new();
            for p in &problems {
                if let CatalogueProblem::MaterialNameConflict {
                    key,
                    first_item,
                    first_name,
                    item: other,
                    name,
                } = p
                    && (*first_item == item.code || *other == item.code)
                {
                    // One message per material, however many items share it.
                    let (theirs, at) = if *first_item == item.code {
                        (name, other)
                    } else {
                        (first_name, first_item)
                    };
                    if !reported.insert(key.clone()) {
                        continue;
                    }
                    let i = item.materials.iter().position(|m| m.key == *key);
                    errs.push(
                        i.map_or(FieldRef::Item("materials"), |i| FieldRef::Material(i, "name")),
                        format!(
                            "材料编码“{key}”在事项“{at}”等事项中名为“{theirs}”，同一材料编码的名称必须一致；如是另一种材料，请清空材料编码"
                        ),
                    );
                    continue;
                }
                let field = match problem_target(p) {
                    ProblemTarget::Item(code, f) if code == item.code => FieldRef::Item(f),
                    ProblemTarget::Material(code, key, f) if code == item.code => item
                        .materials
                        .iter()
                        .position(|m| m.key == key)
                        .map(|i| FieldRef::Material(i, f))
                        .unwrap_or(FieldRef::Item("materials")),
                    _ => FieldRef::Catalogue,
                };
                errs.push(field, explain(p));
            }
            Err(errs)
        }
        Err(e @ CatalogueError::Json { .. }) => {
            let mut errs = EditErrors::default();
            errs.push(FieldRef::Catalogue, e.to_string());
            Err(errs)
        }
    }
}

/// What an edit or import changes, item by item, for the store and the
/// audit log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogueChanges {
    /// New or changed items with their previous version (`None` = new).
    pub items: Vec<(Option<ServiceItem>, ServiceItem)>,
    pub matters: Vec<(Option<CombinedMatter>, CombinedMatter)>,
}

impl CatalogueChanges {
    /// The differences between two catalogues (items or matters that only
    /// `before` has are not removals: edits never delete).
    pub fn between(before: &Catalogue, after: &Catalogue) -> CatalogueChanges {
        let items = after
            .items
            .iter()
            .filter_map(|i| match before.item(&i.code) {
                Some(old) if old == i => None,
                old => Some((old.cloned(), i.clone())),
            })
            .collect();
        let matters = after
            .combined_matters
            .iter()
            .filter_map(|m| match before.combined_matter(&m.code) {
                Some(old) if old == m => None,
                old => Some((old.cloned(), m.clone())),
            })
            .collect();
        CatalogueChanges { items, matters }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.matters.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::catalogue::tolerance_report;

    fn zh() -> (Catalogue, ReferenceData) {
        (Catalogue::zhuhai(), ReferenceData::zhuhai())
    }

    fn tolerant_item(c: &Catalogue) -> ServiceItem {
        c.items
            .iter()
            .find(|i| i.is_licence() && i.allows_tolerance())
            .cloned()
            .unwrap_or_else(|| panic!("no tolerant licence item"))
    }

    fn blank_material(name: &str) -> MaterialDraft {
        MaterialDraft {
            name: name.into(),
            form: "电子件".into(),
            required: "是".into(),
            tolerable: "否".into(),
            ..Default::default()
        }
    }

    #[test]
    fn unchanged_draft_round_trips_to_the_same_item() {
        let (c, r) = zh();
        for item in &c.items {
            let d = ItemDraft::from_item(item);
            let (next, parsed) = apply_item(&c, &r, &d, EditMode::Update(&item.code))
                .unwrap_or_else(|e| panic!("{}: {:?}", item.code, e.messages()));
            assert_eq!(&parsed, item);
            assert_eq!(next, c);
            assert!(CatalogueChanges::between(&c, &next).is_empty());
        }
    }

    #[test]
    fn edit_changes_the_catalogue_and_the_share_report() {
        let (c, r) = zh();
        let item = tolerant_item(&c);
        let mut d = ItemDraft::from_item(&item);
        for m in &mut d.materials {
            if parse_bool(&m.tolerable) == Some(true) {
                m.tolerable = "否".into();
                m.commitment_template.clear();
                m.supplement_days.clear();
                m.on_overdue.clear();
            }
        }
        d.promised_days = "3".into();
        let (next, parsed) =
            apply_item(&c, &r, &d, EditMode::Update(&item.code)).unwrap_or_else(|e| {
                panic!("{:?}", e.messages());
            });
        assert!(!parsed.allows_tolerance());
        assert_eq!(parsed.promised_days, 3);
        let before = tolerance_report(&c).overall;
        let after = tolerance_report(&next).overall;
        assert_eq!(after.tolerant_items + 1, before.tolerant_items);
        let ch = CatalogueChanges::between(&c, &next);
        assert_eq!(ch.items.len(), 1);
        assert_eq!(ch.items.first().and_then(|(b, _)| b.clone()), Some(item));
    }

    fn errors_for(d: &ItemDraft, mode: EditMode<'_>) -> EditErrors {
        let (c, r) = zh();
        match apply_item(&c, &r, d, mode) {
            Ok(_) => panic!("expected errors"),
            Err(e) => e,
        }
    }

    #[test]
    fn per_field_chinese_errors() {
        let (c, _) = zh();
        let item = tolerant_item(&c);
        let tol = item
            .materials
            .iter()
            .position(|m| m.required && m.tolerable)
            .unwrap_or_else(|| panic!());

        let mut d = ItemDraft::from_item(&item);
        d.department = "NOPE".into();
        d.legal_days = "十".into();
        d.fee = "abc".into();
        d.kind = "许可".into();
        let e = errors_for(&d, EditMode::Update(&item.code));
        assert_eq!(
            e.get("department").as_deref(),
            Some("实施部门“NOPE”不在部门清单中")
        );
        assert!(
            e.get("legal_days")
                .is_some_and(|m| m.contains("不是工作日数"))
        );
        assert!(e.get("fee").is_some_and(|m| m.contains("收费金额")));
        assert!(e.get("kind").is_some_and(|m| m.contains("行政许可")));

        // Promised limit over the legal one.
        let mut d = ItemDraft::from_item(&item);
        d.promised_days = (item.legal_days + 1).to_string();
        let e = errors_for(&d, EditMode::Update(&item.code));
        assert!(
            e.get("promised_days")
                .is_some_and(|m| m.contains("超过法定办结时限")),
            "{e:?}"
        );

        // 容缺 without a supplement deadline.
        let mut d = ItemDraft::from_item(&item);
        if let Some(m) = d.materials.get_mut(tol) {
            m.supplement_days.clear();
        }
        let e = errors_for(&d, EditMode::Update(&item.code));
        let f = format!("m{tol}.supplement_days");
        assert!(
            e.get(&f).is_some_and(|m| m.contains("缺少补交期限")),
            "{e:?}"
        );

        // Every required material 容缺: the core ones cannot be missing.
        let mut d = ItemDraft::from_item(&item);
        let template = d
            .materials
            .get(tol)
            .map(|m| m.commitment_template.clone())
            .unwrap_or_default();
        for m in &mut d.materials {
            if parse_bool(&m.required) == Some(true) {
                m.tolerable = "是".into();
                m.commitment_template = template.clone();
                m.supplement_days = "1".into();
            }
        }
        let e = errors_for(&d, EditMode::Update(&item.code));
        assert!(
            e.get("materials")
                .is_some_and(|m| m.contains("主要申请材料")),
            "{e:?}"
        );

        // 容缺 on an optional material.
        let mut d = ItemDraft::from_item(&item);
        let mut extra = blank_material("可选材料");
        extra.required = "否".into();
        extra.tolerable = "是".into();
        extra.commitment_template = template.clone();
        extra.supplement_days = "1".into();
        d.materials.push(extra);
        let e = errors_for(&d, EditMode::Update(&item.code));
        let f = format!("m{}.tolerable", d.materials.len() - 1);
        assert!(e.get(&f).is_some_and(|m| m.contains("非必需材料")), "{e:?}");

        // Duplicate material (same name twice).
        let mut d = ItemDraft::from_item(&item);
        let first = d.materials.first().cloned().unwrap_or_default();
        d.materials.push(MaterialDraft {
            key: String::new(),
            ..first
        });
        let e = errors_for(&d, EditMode::Update(&item.code));
        let f = format!("m{}.name", d.materials.len() - 1);
        assert!(e.get(&f).is_some_and(|m| m.contains("重复")), "{e:?}");
    }

    #[test]
    fn create_rules() {
        let (c, r) = zh();
        let existing = tolerant_item(&c);
        let d = ItemDraft {
            code: existing.code.clone(),
            name: "新事项".into(),
            department: "市市场监督管理局".into(),
            kind: "行政许可".into(),
            level: String::new(),
            conditions: "条件一\n\n条件二".into(),
            legal_days: "20".into(),
            promised_days: "5".into(),
            fee: String::new(),
            materials: vec![
                blank_material("营业执照"),
                MaterialDraft::default(),
                blank_material("全新的材料"),
            ],
            fields: None,
        };
        let e = errors_for(&d, EditMode::Create);
        assert!(e.get("code").is_some_and(|m| m.contains("已存在")));

        let d = ItemDraft {
            code: "XK-440400-9999".into(),
            ..d
        };
        let (next, item) = apply_item(&c, &r, &d, EditMode::Create)
            .unwrap_or_else(|e| panic!("{:?}", e.messages()));
        assert_eq!(next.items.len(), c.items.len() + 1);
        assert_eq!(item.conditions, vec!["条件一", "条件二"]);
        assert_eq!(item.level, ItemLevel::City);
        assert_eq!(item.fee, None);
        // Blank rows are skipped; a known name reuses the catalogue's key.
        assert_eq!(item.materials.len(), 2);
        assert_eq!(
            item.materials.first().map(|m| m.key.as_str()),
            Some("business_licence")
        );
        assert_eq!(
            item.materials.get(1).map(|m| m.key.as_str()),
            Some("xk-440400-9999-m2")
        );
        assert!(d.department != item.department, "name resolved to a code");

        // Changing the code of an existing item is refused.
        let mut d = ItemDraft::from_item(&existing);
        d.code = "OTHER".into();
        let e = errors_for(&d, EditMode::Update(&existing.code));
        assert!(e.get("code").is_some_and(|m| m.contains("不能修改")));
    }

    #[test]
    fn catalogue_wide_rules_still_apply() {
        let (c, _) = zh();
        // A material renamed in one item conflicts with the same key elsewhere.
        let item = c
            .items
            .iter()
            .find(|i| i.material("business_licence").is_some())
            .cloned()
            .unwrap_or_else(|| panic!());
        let mut d = ItemDraft::from_item(&item);
        let at = item
            .materials
            .iter()
            .position(|m| m.key == "business_licence")
            .unwrap_or(0);
        if let Some(m) = d.materials.get_mut(at) {
            m.name = "营业执照（副本）".into();
        }
        let e = errors_for(&d, EditMode::Update(&item.code));
        assert!(
            e.get(&format!("m{at}.name"))
                .is_some_and(|m| m.contains("名称必须一致")),
            "{e:?}"
        );
        // Moving an item of a 一件事 so that the matter has one department left.
        let matter = c
            .combined_matters
            .iter()
            .find(|m| m.items.len() == 2)
            .cloned();
        if let Some(matter) = matter {
            let depts = matter.departments(&c);
            let code = matter.items.get(1).cloned().unwrap_or_default();
            let item = c.item(&code).cloned().unwrap_or_else(|| panic!());
            let mut d = ItemDraft::from_item(&item);
            d.department = depts.first().cloned().unwrap_or_default();
            d.level = String::new();
            let e = errors_for(&d, EditMode::Update(&code));
            assert!(
                e.get("catalogue")
                    .is_some_and(|m| m.contains("至少应涉及2个部门")),
                "{e:?}"
            );
        }
    }

    #[test]
    fn bool_and_label_parsing() {
        assert_eq!(parse_bool(" 是 "), Some(true));
        assert_eq!(parse_bool(""), Some(false));
        assert_eq!(parse_bool("也许"), None);
        assert_eq!(parse_kind("行政备案"), Some(ItemKind::Filing));
        assert_eq!(parse_form("原件"), Some(MaterialForm::Original));
        assert_eq!(
            parse_overdue("撤销受理"),
            Some(OverdueRule::RevokeAcceptance)
        );
        for f in [
            Some(Amount::from_fen(350_000)),
            None,
            Some(Amount::from_fen(1234)),
        ] {
            let t = fee_text(f);
            let d = ItemDraft {
                fee: t,
                ..ItemDraft::default()
            };
            let back = match d.fee.as_str() {
                "不收费" => None,
                s => Amount::parse(s).ok(),
            };
            assert_eq!(back, f);
        }
    }
}
