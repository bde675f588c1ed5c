//! Maps spreadsheet tables to enterprise and indicator drafts. The column
//! layout is the one staff see in exports, so an export can be edited and
//! imported back.

use crate::enterprise::{EnterpriseDraft, IndicatorDraft};
use crate::table::Table;

/// Header names (first is the canonical one used in exports) per field.
pub const ENTERPRISE_COLUMNS: &[(&str, &[&str])] = &[
    ("uscc", &["统一社会信用代码", "信用代码", "uscc"]),
    ("name", &["企业名称", "名称", "name"]),
    ("legal_rep", &["法定代表人", "法人代表", "legal_rep"]),
    ("founded", &["成立日期", "founded"]),
    ("area", &["所在区域", "区域", "area"]),
    ("industry", &["行业代码", "行业", "industry"]),
    ("size_class", &["企业规模", "规模", "size_class"]),
    ("tags", &["标签", "tags"]),
    ("certifications", &["资质", "资质认定", "certifications"]),
];

pub const INDICATOR_COLUMNS: &[(&str, &[&str])] = &[
    ("uscc", &["统一社会信用代码", "信用代码", "uscc"]),
    ("year", &["年度", "年份", "year"]),
    ("kind", &["指标", "指标名称", "kind"]),
    ("value", &["数值", "值", "value"]),
    ("source", &["来源部门", "数据来源", "source"]),
];

/// Canonical headers for an export that imports back unchanged.
pub fn headers(cols: &'static [(&'static str, &'static [&'static str])]) -> Vec<&'static str> {
    cols.iter().map(|(_, names)| names[0]).collect()
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ImportKind {
    Enterprises,
    Indicators,
}

impl ImportKind {
    pub fn label(self) -> &'static str {
        match self {
            ImportKind::Enterprises => "企业名录",
            ImportKind::Indicators => "企业指标",
        }
    }
}

fn col(t: &Table, cols: &[(&str, &[&str])], field: &str) -> Option<usize> {
    cols.iter()
        .find(|(f, _)| *f == field)
        .and_then(|(_, names)| t.column(names))
}

/// Decides from the headers which kind of file this is, or says which
/// required columns are missing.
pub fn detect(t: &Table) -> Result<ImportKind, String> {
    let has = |cols, f| col(t, cols, f).is_some();
    if has(INDICATOR_COLUMNS, "kind") && has(INDICATOR_COLUMNS, "value") {
        let missing: Vec<_> = INDICATOR_COLUMNS
            .iter()
            .filter(|(f, _)| !has(INDICATOR_COLUMNS, f))
            .map(|(_, n)| n[0])
            .collect();
        return if missing.is_empty() {
            Ok(ImportKind::Indicators)
        } else {
            Err(format!("指标文件缺少列：{}", missing.join("、")))
        };
    }
    let missing: Vec<_> = ["uscc", "name"]
        .into_iter()
        .filter(|f| !has(ENTERPRISE_COLUMNS, f))
        .map(|f| {
            ENTERPRISE_COLUMNS
                .iter()
                .find(|(k, _)| *k == f)
                .map(|(_, n)| n[0])
                .unwrap_or(f)
        })
        .collect();
    if missing.is_empty() {
        Ok(ImportKind::Enterprises)
    } else {
        Err(format!(
            "无法识别文件类型：企业名录需要列 统一社会信用代码、企业名称；指标文件需要列 统一社会信用代码、年度、指标、数值、来源部门（缺少：{}）",
            missing.join("、")
        ))
    }
}

pub fn enterprise_drafts(t: &Table) -> Vec<(usize, EnterpriseDraft)> {
    let c = |f| col(t, ENTERPRISE_COLUMNS, f);
    let (uscc, name, rep, founded, area, ind, size, tags, certs) = (
        c("uscc"),
        c("name"),
        c("legal_rep"),
        c("founded"),
        c("area"),
        c("industry"),
        c("size_class"),
        c("tags"),
        c("certifications"),
    );
    t.rows
        .iter()
        .map(|r| {
            (
                r.line,
                EnterpriseDraft {
                    uscc: t.cell(r, uscc).into(),
                    name: t.cell(r, name).into(),
                    legal_rep: t.cell(r, rep).into(),
                    founded: t.cell(r, founded).into(),
                    area: t.cell(r, area).into(),
                    industry: t.cell(r, ind).into(),
                    size_class: t.cell(r, size).into(),
                    tags: t.cell(r, tags).into(),
                    certifications: t.cell(r, certs).into(),
                },
            )
        })
        .collect()
}

pub fn indicator_drafts(t: &Table) -> Vec<(usize, IndicatorDraft)> {
    let c = |f| col(t, INDICATOR_COLUMNS, f);
    let (uscc, year, kind, value, source) =
        (c("uscc"), c("year"), c("kind"), c("value"), c("source"));
    t.rows
        .iter()
        .map(|r| {
            (
                r.line,
                IndicatorDraft {
                    uscc: t.cell(r, uscc).into(),
                    year: t.cell(r, year).into(),
                    kind: t.cell(r, kind).into(),
                    value: t.cell(r, value).into(),
                    source: t.cell(r, source).into(),
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Format, read};

    #[test]
    fn detects_both_layouts_and_reports_missing_columns() {
        let e = read("统一社会信用代码,企业名称\n".as_bytes(), Format::Csv).unwrap();
        assert_eq!(detect(&e), Ok(ImportKind::Enterprises));
        let i = read(
            "统一社会信用代码,年度,指标,数值,来源部门\n".as_bytes(),
            Format::Csv,
        )
        .unwrap();
        assert_eq!(detect(&i), Ok(ImportKind::Indicators));
        let bad = read("统一社会信用代码,指标,数值\n".as_bytes(), Format::Csv).unwrap();
        assert!(detect(&bad).unwrap_err().contains("年度"));
        let bad = read("名字\n".as_bytes(), Format::Csv).unwrap();
        assert!(detect(&bad).unwrap_err().contains("统一社会信用代码"));
    }

    #[test]
    fn rows_map_by_header_name_in_any_order() {
        let t = read(
            "企业名称,统一社会信用代码,区域\n珠海甲公司,91440400192548256N,香洲区\n".as_bytes(),
            Format::Csv,
        )
        .unwrap();
        let d = enterprise_drafts(&t);
        assert_eq!(d[0].0, 2);
        assert_eq!(d[0].1.name, "珠海甲公司");
        assert_eq!(d[0].1.uscc, "91440400192548256N");
        assert_eq!(d[0].1.area, "香洲区");
        assert_eq!(headers(ENTERPRISE_COLUMNS)[0], "统一社会信用代码");
    }
}
