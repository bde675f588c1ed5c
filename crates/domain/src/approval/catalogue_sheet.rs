//! The catalogue as a workbook staff edit in Excel/WPS: sheets 事项, 材料,
//! 表单字段 and 一件事 with Chinese headers. Export and import use the same
//! layout, so an exported file imports back without changes.
//!
//! An import is planned before anything is written: every row is parsed
//! through the same drafts as the web form, the catalogue with all rows
//! applied is validated as a whole, and each error points at its sheet and
//! row. Items and 一件事 missing from the file stay as they are (imports
//! never delete).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::reference::ReferenceData;
use crate::table::{self, Table, TableError};

use super::catalogue::{Catalogue, CatalogueError, CombinedMatter, FieldKind, FormField};
use super::catalogue_edit::{
    CatalogueChanges, FieldRef, ItemDraft, MaterialDraft, ProblemTarget, parse_bool, parse_item,
    problem_target, yes_no,
};

pub const ITEMS: &str = "事项";
pub const MATERIALS: &str = "材料";
pub const FIELDS: &str = "表单字段";
pub const MATTERS: &str = "一件事";

pub const ITEM_HEADERS: [&str; 10] = [
    "事项编码",
    "事项名称",
    "实施部门编码",
    "实施部门名称",
    "事项类型",
    "事权层级",
    "受理条件",
    "法定办结时限（工作日）",
    "承诺办结时限（工作日）",
    "收费",
];
pub const MATERIAL_HEADERS: [&str; 9] = [
    "事项编码",
    "材料编码",
    "材料名称",
    "材料形式",
    "是否必需",
    "是否容缺",
    "补交期限（工作日）",
    "逾期处理",
    "承诺书模板",
];
pub const FIELD_HEADERS: [&str; 6] = [
    "事项编码",
    "字段编码",
    "字段名称",
    "字段类型",
    "选项",
    "是否必填",
];
pub const MATTER_HEADERS: [&str; 3] = ["一件事编码", "一件事名称", "包含事项编码"];

const FIELD_KINDS: [(FieldKind, &str); 5] = [
    (FieldKind::Text, "文本"),
    (FieldKind::Number, "数字"),
    (FieldKind::Date, "日期"),
    (FieldKind::Amount, "金额"),
    (FieldKind::Choice, "选择"),
];

fn field_kind_label(k: FieldKind) -> &'static str {
    FIELD_KINDS
        .iter()
        .find(|(x, _)| *x == k)
        .map_or("文本", |(_, l)| l)
}

/// The four sheets' rows (without headers), in catalogue order.
pub fn sheet_rows(c: &Catalogue, reference: &ReferenceData) -> [Vec<Vec<String>>; 4] {
    let mut items = Vec::new();
    let mut materials = Vec::new();
    let mut fields = Vec::new();
    for i in &c.items {
        let d = ItemDraft::from_item(i);
        items.push(vec![
            d.code.clone(),
            d.name,
            d.department,
            reference
                .department(&i.department)
                .map(|x| x.name.clone())
                .unwrap_or_default(),
            d.kind,
            d.level,
            d.conditions,
            d.legal_days,
            d.promised_days,
            d.fee,
        ]);
        for m in d.materials {
            materials.push(vec![
                d.code.clone(),
                m.key,
                m.name,
                m.form,
                m.required,
                m.tolerable,
                m.supplement_days,
                m.on_overdue,
                m.commitment_template,
            ]);
        }
        for f in &i.fields {
            fields.push(vec![
                d.code.clone(),
                f.key.clone(),
                f.label.clone(),
                field_kind_label(f.kind).to_owned(),
                f.options.join("\n"),
                yes_no(f.required).to_owned(),
            ]);
        }
    }
    let matters = c
        .combined_matters
        .iter()
        .map(|m| vec![m.code.clone(), m.name.clone(), m.items.join("、")])
        .collect();
    [items, materials, fields, matters]
}

/// The workbook staff download (`/services/export.xlsx`, `catalogue export`).
pub fn export(c: &Catalogue, reference: &ReferenceData) -> Result<Vec<u8>, TableError> {
    let [items, materials, fields, matters] = sheet_rows(c, reference);
    table::write_xlsx_sheets(&[
        (ITEMS, &ITEM_HEADERS, &items),
        (MATERIALS, &MATERIAL_HEADERS, &materials),
        (FIELDS, &FIELD_HEADERS, &fields),
        (MATTERS, &MATTER_HEADERS, &matters),
    ])
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub sheet: String,
    /// Row number as the spreadsheet shows it (1 = header); 0 = the file.
    pub line: usize,
    pub message: String,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum ChangeKind {
    Added,
    Changed,
    Unchanged,
}

impl ChangeKind {
    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::Added => "新增",
            ChangeKind::Changed => "修改",
            ChangeKind::Unchanged => "无变化",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedRow {
    pub sheet: &'static str,
    pub line: usize,
    pub code: String,
    pub name: String,
    pub change: ChangeKind,
}

/// What an import would do. Write it only when `errors` is empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportPlan {
    /// The catalogue with every row applied.
    pub catalogue: Catalogue,
    pub rows: Vec<PlannedRow>,
    pub errors: Vec<RowError>,
}

impl ImportPlan {
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn changes(&self, before: &Catalogue) -> CatalogueChanges {
        CatalogueChanges::between(before, &self.catalogue)
    }

    pub fn count(&self, kind: ChangeKind) -> usize {
        self.rows.iter().filter(|r| r.change == kind).count()
    }
}

/// Who may change what, decided by the caller (`Principal` methods).
pub struct ImportRights<'a> {
    /// May change items of this department code.
    pub item: &'a dyn Fn(&str) -> bool,
    pub matters: bool,
}

/// Reads an uploaded workbook and plans the import.
pub fn plan_import(
    bytes: &[u8],
    reference: &ReferenceData,
    current: &Catalogue,
    rights: &ImportRights<'_>,
) -> Result<ImportPlan, TableError> {
    let sheets = table::read_xlsx_sheets(bytes)?;
    Ok(plan_tables(&sheets, reference, current, rights))
}

fn columns(
    sheet: &str,
    t: &Table,
    headers: &[&str],
    optional: &[&str],
    errors: &mut Vec<RowError>,
) -> Vec<Option<usize>> {
    let cols: Vec<Option<usize>> = headers.iter().map(|h| t.column(&[h])).collect();
    for (h, c) in headers.iter().zip(&cols) {
        if c.is_none() && !optional.contains(h) {
            errors.push(RowError {
                sheet: sheet.to_owned(),
                line: 1,
                message: format!("缺少列“{h}”"),
            });
        }
    }
    cols
}

fn cell(t: &Table, row: &table::Row, cols: &[Option<usize>], i: usize) -> String {
    // Spreadsheets keep the line breaks of multi-line cells as \r\n or \n.
    t.cell(row, cols.get(i).copied().flatten())
        .replace("\r\n", "\n")
}

/// Item code → where its rows are, for pointing errors at them.
#[derive(Default)]
struct Lines {
    item: usize,
    materials: Vec<usize>,
}

pub fn plan_tables(
    sheets: &[(String, Table)],
    reference: &ReferenceData,
    current: &Catalogue,
    rights: &ImportRights<'_>,
) -> ImportPlan {
    let mut errors: Vec<RowError> = Vec::new();
    let err = |sheet: &str, line: usize, message: String| RowError {
        sheet: sheet.to_owned(),
        line,
        message,
    };
    let get = |name: &str| {
        sheets
            .iter()
            .find(|(n, _)| n.trim() == name)
            .map(|(_, t)| t)
    };
    let Some(items_t) = get(ITEMS) else {
        return ImportPlan {
            catalogue: current.clone(),
            rows: Vec::new(),
            errors: vec![err(
                ITEMS,
                0,
                format!("文件中没有“{ITEMS}”工作表（请使用导出的清单文件作为模板）"),
            )],
        };
    };

    // 事项
    let ic = columns(
        ITEMS,
        items_t,
        &ITEM_HEADERS,
        &["实施部门名称"],
        &mut errors,
    );
    let mut drafts: BTreeMap<String, ItemDraft> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut lines: BTreeMap<String, Lines> = BTreeMap::new();
    if errors.is_empty() {
        for row in &items_t.rows {
            let c = |i| cell(items_t, row, &ic, i);
            let code = c(0);
            if code.is_empty() {
                errors.push(err(ITEMS, row.line, "事项编码为空".into()));
                continue;
            }
            if drafts.contains_key(&code) {
                errors.push(err(
                    ITEMS,
                    row.line,
                    format!("事项编码“{code}”在本表中重复"),
                ));
                continue;
            }
            drafts.insert(
                code.clone(),
                ItemDraft {
                    code: code.clone(),
                    name: c(1),
                    department: c(2),
                    kind: c(4),
                    level: c(5),
                    conditions: c(6),
                    legal_days: c(7),
                    promised_days: c(8),
                    fee: c(9),
                    materials: Vec::new(),
                    fields: None,
                },
            );
            lines.insert(
                code.clone(),
                Lines {
                    item: row.line,
                    materials: Vec::new(),
                },
            );
            order.push(code);
        }
    }

    // 材料
    if let Some(t) = get(MATERIALS) {
        let mc = columns(MATERIALS, t, &MATERIAL_HEADERS, &["材料编码"], &mut errors);
        for row in &t.rows {
            let c = |i| cell(t, row, &mc, i);
            let code = c(0);
            let Some(d) = drafts.get_mut(&code) else {
                errors.push(err(
                    MATERIALS,
                    row.line,
                    format!("事项编码“{code}”不在“{ITEMS}”工作表中"),
                ));
                continue;
            };
            let m = MaterialDraft {
                key: c(1),
                name: c(2),
                form: c(3),
                required: c(4),
                tolerable: c(5),
                supplement_days: c(6),
                on_overdue: c(7),
                commitment_template: c(8),
            };
            if m.name.is_empty() {
                errors.push(err(MATERIALS, row.line, "材料名称为空".into()));
                continue;
            }
            d.materials.push(m);
            if let Some(l) = lines.get_mut(&code) {
                l.materials.push(row.line);
            }
        }
    } else {
        errors.push(err(MATERIALS, 0, format!("文件中没有“{MATERIALS}”工作表")));
    }

    // 表单字段 (optional sheet: without it the items keep their fields)
    if let Some(t) = get(FIELDS) {
        let fc = columns(FIELDS, t, &FIELD_HEADERS, &[], &mut errors);
        for d in drafts.values_mut() {
            d.fields = Some(Vec::new());
        }
        for row in &t.rows {
            let c = |i| cell(t, row, &fc, i);
            let code = c(0);
            let Some(d) = drafts.get_mut(&code) else {
                errors.push(err(
                    FIELDS,
                    row.line,
                    format!("事项编码“{code}”不在“{ITEMS}”工作表中"),
                ));
                continue;
            };
            let kind_text = c(3);
            let Some(kind) = FIELD_KINDS
                .iter()
                .find(|(_, l)| *l == kind_text)
                .map(|(k, _)| *k)
            else {
                errors.push(err(
                    FIELDS,
                    row.line,
                    format!("字段类型“{kind_text}”无效，应为：文本、数字、日期、金额、选择"),
                ));
                continue;
            };
            let Some(required) = parse_bool(&c(5)) else {
                errors.push(err(FIELDS, row.line, "“是否必填”应填“是”或“否”".into()));
                continue;
            };
            let (key, label) = (c(1), c(2));
            if key.is_empty() || label.is_empty() {
                errors.push(err(FIELDS, row.line, "字段编码和字段名称不能为空".into()));
                continue;
            }
            d.fields.get_or_insert_with(Vec::new).push(FormField {
                key,
                label,
                kind,
                options: c(4)
                    .lines()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                required,
            });
        }
    }

    let mut next = current.clone();
    let mut rows: Vec<PlannedRow> = Vec::new();
    let mut parsed_ok: BTreeSet<String> = BTreeSet::new();
    for code in &order {
        let (Some(d), Some(l)) = (drafts.get(code), lines.get(code)) else {
            continue;
        };
        match parse_item(d, reference, current) {
            Err(e) => {
                for fe in e.0 {
                    let (sheet, line) = match fe.field {
                        FieldRef::Material(i, _) => {
                            (MATERIALS, l.materials.get(i).copied().unwrap_or(l.item))
                        }
                        _ => (ITEMS, l.item),
                    };
                    errors.push(err(sheet, line, format!("事项“{code}”：{}", fe.message)));
                }
            }
            Ok(item) => {
                let old = current.item(code);
                let change = match old {
                    None => ChangeKind::Added,
                    Some(o) if *o == item => ChangeKind::Unchanged,
                    Some(_) => ChangeKind::Changed,
                };
                if change != ChangeKind::Unchanged {
                    let denied = !(rights.item)(&item.department)
                        || old.is_some_and(|o| !(rights.item)(&o.department));
                    if denied {
                        errors.push(err(
                            ITEMS,
                            l.item,
                            format!("无权修改事项“{code}”：只能修改本部门的事项"),
                        ));
                    }
                }
                rows.push(PlannedRow {
                    sheet: ITEMS,
                    line: l.item,
                    code: code.clone(),
                    name: item.name.clone(),
                    change,
                });
                parsed_ok.insert(code.clone());
                match next.items.iter_mut().find(|i| i.code == *code) {
                    Some(slot) => *slot = item,
                    None => next.items.push(item),
                }
            }
        }
    }

    // 一件事 (optional sheet)
    let mut matter_lines: BTreeMap<String, usize> = BTreeMap::new();
    if let Some(t) = get(MATTERS) {
        let cc = columns(MATTERS, t, &MATTER_HEADERS, &[], &mut errors);
        for row in &t.rows {
            let c = |i| cell(t, row, &cc, i);
            let (code, name) = (c(0), c(1));
            if code.is_empty() || name.is_empty() {
                errors.push(err(MATTERS, row.line, "一件事编码和名称不能为空".into()));
                continue;
            }
            if matter_lines.insert(code.clone(), row.line).is_some() {
                errors.push(err(
                    MATTERS,
                    row.line,
                    format!("一件事编码“{code}”在本表中重复"),
                ));
                continue;
            }
            let items: Vec<String> = c(2)
                .split(['、', ',', '，', ';', '；', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            let m = CombinedMatter {
                code: code.clone(),
                name: name.clone(),
                items,
            };
            let change = match current.combined_matter(&code) {
                None => ChangeKind::Added,
                Some(o) if *o == m => ChangeKind::Unchanged,
                Some(_) => ChangeKind::Changed,
            };
            if change != ChangeKind::Unchanged && !rights.matters {
                errors.push(err(
                    MATTERS,
                    row.line,
                    format!("无权修改一件事“{code}”：一件事由系统管理员维护"),
                ));
            }
            rows.push(PlannedRow {
                sheet: MATTERS,
                line: row.line,
                code: code.clone(),
                name,
                change,
            });
            match next.combined_matters.iter_mut().find(|x| x.code == code) {
                Some(slot) => *slot = m,
                None => next.combined_matters.push(m),
            }
        }
    }

    // Whole-catalogue rules over the rows that parsed (a row that did not
    // parse keeps its stored version here, which was valid), reported where
    // the offending row is, so one upload shows every problem.
    let failed: BTreeSet<&String> = order.iter().filter(|c| !parsed_ok.contains(*c)).collect();
    if let Err(CatalogueError::Invalid { problems }) = next.validate(reference) {
        for p in problems {
            let target = problem_target(&p);
            if let ProblemTarget::Item(code, _) | ProblemTarget::Material(code, _, _) = &target
                && failed.contains(code)
            {
                continue;
            }
            let (sheet, line) = match target {
                ProblemTarget::Item(code, _) => (ITEMS, lines.get(&code).map_or(0, |l| l.item)),
                ProblemTarget::Material(code, key, _) => {
                    let line = next.item(&code).and_then(|i| {
                        let at = i.materials.iter().position(|m| m.key == key)?;
                        lines.get(&code)?.materials.get(at).copied()
                    });
                    match line {
                        Some(l) => (MATERIALS, l),
                        None => (ITEMS, lines.get(&code).map_or(0, |l| l.item)),
                    }
                }
                ProblemTarget::Matter(code) => {
                    (MATTERS, matter_lines.get(&code).copied().unwrap_or(0))
                }
                ProblemTarget::Other => (ITEMS, 0),
            };
            errors.push(err(sheet, line, p.to_string()));
        }
    }
    errors.sort_by_key(|a| (sheet_rank(&a.sheet), a.line));
    ImportPlan {
        catalogue: next,
        rows,
        errors,
    }
}

fn sheet_rank(s: &str) -> usize {
    [ITEMS, MATERIALS, FIELDS, MATTERS]
        .iter()
        .position(|x| *x == s)
        .unwrap_or(4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::catalogue::tolerance_report;

    fn zh() -> (Catalogue, ReferenceData) {
        (Catalogue::zhuhai(), ReferenceData::zhuhai())
    }

    fn tables(c: &Catalogue, r: &ReferenceData) -> Vec<(String, Table)> {
        let bytes = export(c, r).unwrap_or_default();
        table::read_xlsx_sheets(&bytes).unwrap_or_default()
    }

    const ALL: ImportRights<'static> = ImportRights {
        item: &|_| true,
        matters: true,
    };

    fn set(t: &mut [(String, Table)], sheet: &str, row: usize, header: &str, v: &str) {
        let tbl = t
            .iter_mut()
            .find(|(n, _)| n == sheet)
            .map(|(_, t)| t)
            .unwrap_or_else(|| panic!("{sheet}"));
        let col = tbl.column(&[header]).unwrap_or_else(|| panic!("{header}"));
        if let Some(c) = tbl.rows.get_mut(row).and_then(|r| r.cells.get_mut(col)) {
            *c = v.to_owned();
        }
    }

    #[test]
    fn export_then_import_changes_nothing() {
        let (c, r) = zh();
        let bytes = export(&c, &r).unwrap_or_default();
        let plan = plan_import(&bytes, &r, &c, &ALL).unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.is_valid(), "{:?}", plan.errors);
        assert_eq!(plan.catalogue, c);
        assert!(plan.changes(&c).is_empty());
        assert_eq!(
            plan.count(ChangeKind::Unchanged),
            c.items.len() + c.combined_matters.len()
        );
        let names: Vec<String> = table::read_xlsx_sheets(&bytes)
            .unwrap_or_default()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, vec![ITEMS, MATERIALS, FIELDS, MATTERS]);
    }

    #[test]
    fn changed_rows_are_planned_and_validated() {
        let (c, r) = zh();
        let mut t = tables(&c, &r);
        let first = c.items.first().cloned().unwrap_or_else(|| panic!());
        set(&mut t, ITEMS, 0, "承诺办结时限（工作日）", "1");
        let plan = plan_tables(&t, &r, &c, &ALL);
        // Supplement deadlines of 5 days now exceed the promised 1 day.
        assert!(!plan.is_valid());
        assert!(
            plan.errors
                .iter()
                .all(|e| e.sheet == MATERIALS && e.message.contains("超过承诺办结时限")),
            "{:?}",
            plan.errors
        );
        let t2 = {
            let mut t = tables(&c, &r);
            set(
                &mut t,
                ITEMS,
                0,
                "承诺办结时限（工作日）",
                &first.legal_days.to_string(),
            );
            t
        };
        let plan = plan_tables(&t2, &r, &c, &ALL);
        assert!(plan.is_valid(), "{:?}", plan.errors);
        assert_eq!(plan.count(ChangeKind::Changed), 1);
        let ch = plan.changes(&c);
        assert_eq!(ch.items.len(), 1);
        assert_eq!(
            ch.items.first().map(|(_, i)| i.promised_days),
            Some(first.legal_days)
        );
    }

    #[test]
    fn row_errors_point_at_rows_and_nothing_is_planned_as_valid() {
        let (c, r) = zh();
        let mut t = tables(&c, &r);
        set(&mut t, ITEMS, 1, "实施部门编码", "NOPE");
        set(&mut t, ITEMS, 2, "法定办结时限（工作日）", "二十");
        set(&mut t, MATERIALS, 3, "是否必需", "也许");
        let plan = plan_tables(&t, &r, &c, &ALL);
        assert!(!plan.is_valid());
        let at = |sheet: &str, line: usize| {
            plan.errors
                .iter()
                .find(|e| e.sheet == sheet && e.line == line)
                .map(|e| e.message.clone())
                .unwrap_or_default()
        };
        assert!(at(ITEMS, 3).contains("不在部门清单中"), "{:?}", plan.errors);
        assert!(at(ITEMS, 4).contains("不是工作日数"), "{:?}", plan.errors);
        assert!(at(MATERIALS, 5).contains("是否必需"), "{:?}", plan.errors);
    }

    #[test]
    fn new_items_rights_and_matters() {
        let (c, r) = zh();
        let mut t = tables(&c, &r);
        let first = c.items.first().cloned().unwrap_or_else(|| panic!());
        // A new item: copy of the first row under a new code, with one material.
        let items = t.iter_mut().find(|(n, _)| n == ITEMS).map(|(_, t)| t);
        if let Some(items) = items
            && let Some(mut row) = items.rows.first().cloned()
        {
            if let Some(code) = row.cells.first_mut() {
                *code = "NEW-1".into();
            }
            row.line = 999;
            items.rows.push(row);
        }
        let mats = t.iter_mut().find(|(n, _)| n == MATERIALS).map(|(_, t)| t);
        if let Some(mats) = mats {
            mats.rows.push(table::Row {
                line: 1000,
                cells: vec![
                    "NEW-1".into(),
                    String::new(),
                    "营业执照".into(),
                    "电子件".into(),
                    "是".into(),
                    "否".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                ],
            });
        }
        let plan = plan_tables(&t, &r, &c, &ALL);
        assert!(plan.is_valid(), "{:?}", plan.errors);
        assert_eq!(plan.count(ChangeKind::Added), 1);
        assert_eq!(plan.catalogue.items.len(), c.items.len() + 1);

        // Staff of another department may not add it.
        let other = |d: &str| d != first.department;
        let rights = ImportRights {
            item: &other,
            matters: false,
        };
        let plan = plan_tables(&t, &r, &c, &rights);
        assert!(
            plan.errors
                .iter()
                .any(|e| e.line == 999 && e.message.contains("无权"))
        );

        // A matter pointing at an unknown item; and matters are admin-only.
        let mut t = tables(&c, &r);
        set(&mut t, MATTERS, 0, "包含事项编码", "NOPE、XK-440400-0001");
        let plan = plan_tables(&t, &r, &c, &ALL);
        assert!(
            plan.errors
                .iter()
                .any(|e| e.sheet == MATTERS && e.line == 2 && e.message.contains("“NOPE”不存在")),
            "{:?}",
            plan.errors
        );
        let plan = plan_tables(&t, &r, &c, &rights);
        assert!(
            plan.errors
                .iter()
                .any(|e| e.message.contains("一件事由系统管理员维护"))
        );
    }

    #[test]
    fn report_follows_an_import() {
        let (c, r) = zh();
        let mut t = tables(&c, &r);
        // Turn every 容缺 material of the catalogue into a plain one.
        let tbl = t.iter_mut().find(|(n, _)| n == MATERIALS).map(|(_, t)| t);
        if let Some(tbl) = tbl {
            for row in &mut tbl.rows {
                for (i, v) in [(5, "否"), (6, ""), (7, ""), (8, "")] {
                    if let Some(c) = row.cells.get_mut(i) {
                        *c = v.into();
                    }
                }
            }
        }
        let plan = plan_tables(&t, &r, &c, &ALL);
        assert!(plan.is_valid(), "{:?}", plan.errors);
        assert_eq!(tolerance_report(&plan.catalogue).overall.tolerant_items, 0);
    }

    #[test]
    fn missing_sheets_and_columns() {
        let (c, r) = zh();
        let plan = plan_tables(&[], &r, &c, &ALL);
        assert!(
            plan.errors
                .iter()
                .any(|e| e.message.contains("没有“事项”工作表"))
        );
        let mut t = tables(&c, &r);
        if let Some((_, tbl)) = t.iter_mut().find(|(n, _)| n == ITEMS)
            && let Some(h) = tbl.headers.get_mut(1)
        {
            *h = "名称".into();
        }
        let plan = plan_tables(&t, &r, &c, &ALL);
        assert!(
            plan.errors
                .iter()
                .any(|e| e.message.contains("缺少列“事项名称”"))
        );
        assert!(plan_import(b"not a zip", &r, &c, &ALL).is_err());
    }
}
