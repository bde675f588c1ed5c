//! Reference data: areas, departments, industries and the size table.
//!
//! Everything comes from JSON files so another city can supply its own;
//! [`ReferenceData::zhuhai`] embeds Zhuhai's files at compile time.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::size::{IndustryCode, SizeRules, section_of_division};

const ZHUHAI_AREAS: &str = include_str!("../../../data/zhuhai/areas.json");
const ZHUHAI_DEPARTMENTS: &str = include_str!("../../../data/zhuhai/departments.json");
const NATIONAL_INDUSTRIES: &str = include_str!("../../../data/national/industries.json");
const NATIONAL_SIZE_CLASSES: &str = include_str!("../../../data/national/size-classes.json");

/// Full-width ASCII (U+FF01–U+FF5E) and the ideographic space → half-width.
/// Chinese input methods often produce "（筹）" or "９１４４…".
pub fn half_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Lookup key for names: trimmed, half-width, inner whitespace removed.
fn name_key(s: &str) -> String {
    half_width(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AreaKind {
    City,
    Direct,
    District,
    FunctionZone,
    Group,
}

impl AreaKind {
    pub fn label(self) -> &'static str {
        match self {
            AreaKind::City => "市",
            AreaKind::Direct => "市直属",
            AreaKind::District => "行政区",
            AreaKind::FunctionZone => "功能区",
            AreaKind::Group => "片区组团",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Area {
    pub code: String,
    pub name: String,
    pub kind: AreaKind,
    pub parent: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeptLevel {
    City,
    District,
}

impl DeptLevel {
    pub fn label(self) -> &'static str {
        match self {
            DeptLevel::City => "市级",
            DeptLevel::District => "区级",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Department {
    pub code: String,
    pub name: String,
    pub level: DeptLevel,
    /// Area code.
    pub area: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Industry {
    /// "C" for a 门类, "39" for a 大类.
    pub code: String,
    pub name: String,
    /// The 门类 letter; equals `code` for a 门类.
    pub section: String,
}

impl Industry {
    pub fn is_section(&self) -> bool {
        self.code == self.section
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ReferenceError {
    #[error("{kind}数据文件格式错误：{message}")]
    Json { kind: &'static str, message: String },
    #[error("{kind}数据中存在空编码或空名称")]
    Blank { kind: &'static str },
    #[error("{kind}数据中编码“{code}”重复")]
    DuplicateCode { kind: &'static str, code: String },
    #[error("{kind}数据中名称或别名“{name}”重复（编码“{code}”）")]
    DuplicateName {
        kind: &'static str,
        name: String,
        code: String,
    },
    #[error("区域数据中区域“{code}”的上级区域“{parent}”不存在")]
    MissingParent { code: String, parent: String },
    #[error("区域数据中区域“{code}”的上级关系形成循环")]
    Cycle { code: String },
    #[error("部门数据中部门“{code}”所属区域“{area}”不存在")]
    UnknownDepartmentArea { code: String, area: String },
    #[error("行业数据中“{code}”无效：{reason}")]
    InvalidIndustry { code: String, reason: String },
    #[error("企业规模标准数据无效：{0}")]
    SizeRules(String),
}

/// A file is either a bare array or an object holding the array under
/// `key` next to "source"/"note" header fields.
fn parse_list<T: for<'de> Deserialize<'de>>(
    kind: &'static str,
    key: &str,
    s: &str,
) -> Result<Vec<T>, ReferenceError> {
    let json_err = |e: serde_json::Error| ReferenceError::Json {
        kind,
        message: e.to_string(),
    };
    let v: serde_json::Value = serde_json::from_str(s).map_err(json_err)?;
    let list = match v {
        serde_json::Value::Object(mut m) => m.remove(key).ok_or_else(|| ReferenceError::Json {
            kind,
            message: format!("缺少“{key}”字段"),
        })?,
        other => other,
    };
    serde_json::from_value(list).map_err(json_err)
}

/// Key → position in the owning `Vec`.
type Index = HashMap<String, usize>;

/// Code → index and normalised name/alias → index, rejecting duplicates.
fn build_index<'a>(
    kind: &'static str,
    items: impl Iterator<Item = (&'a str, Vec<&'a str>)>,
) -> Result<(Index, Index), ReferenceError> {
    let mut codes = HashMap::new();
    let mut names = HashMap::new();
    for (i, (code, all_names)) in items.enumerate() {
        if code.trim().is_empty() || all_names.first().is_none_or(|n| n.trim().is_empty()) {
            return Err(ReferenceError::Blank { kind });
        }
        if codes.insert(code.to_string(), i).is_some() {
            return Err(ReferenceError::DuplicateCode {
                kind,
                code: code.to_string(),
            });
        }
        for n in all_names {
            let key = name_key(n);
            if key.is_empty() {
                return Err(ReferenceError::Blank { kind });
            }
            // An alias equal to the item's own name is harmless; only clashes
            // between different items make lookups ambiguous.
            if names.get(&key).is_some_and(|&j| j != i) {
                return Err(ReferenceError::DuplicateName {
                    kind,
                    name: n.to_string(),
                    code: code.to_string(),
                });
            }
            names.insert(key, i);
        }
    }
    Ok((codes, names))
}

#[derive(Clone, Debug)]
pub struct ReferenceData {
    pub areas: Vec<Area>,
    pub departments: Vec<Department>,
    pub industries: Vec<Industry>,
    pub size_rules: SizeRules,
    area_by_code: HashMap<String, usize>,
    area_by_name: HashMap<String, usize>,
    dept_by_code: HashMap<String, usize>,
    dept_by_name: HashMap<String, usize>,
    industry_by_code: HashMap<String, usize>,
}

impl ReferenceData {
    /// Zhuhai areas and departments with the national industry and size tables.
    pub fn zhuhai() -> ReferenceData {
        static ZHUHAI: LazyLock<ReferenceData> = LazyLock::new(|| {
            // The embedded files are checked by tests; failing here is a build defect.
            ReferenceData::from_json(
                ZHUHAI_AREAS,
                ZHUHAI_DEPARTMENTS,
                NATIONAL_INDUSTRIES,
                NATIONAL_SIZE_CLASSES,
            )
            .unwrap_or_else(|e| panic!("内置珠海参考数据无效：{e}"))
        });
        ZHUHAI.clone()
    }

    /// Loads and validates all four files.
    pub fn from_json(
        areas: &str,
        departments: &str,
        industries: &str,
        size_rules: &str,
    ) -> Result<ReferenceData, ReferenceError> {
        let mut areas: Vec<Area> = parse_list("区域", "areas", areas)?;
        let mut departments: Vec<Department> = parse_list("部门", "departments", departments)?;
        let mut industries: Vec<Industry> = parse_list("行业", "industries", industries)?;
        let size_rules = SizeRules::from_json(size_rules).map_err(ReferenceError::SizeRules)?;

        // Codes are identifiers: stray spaces from hand-edited files are not meaningful.
        for a in &mut areas {
            a.code = a.code.trim().to_string();
            a.parent = a
                .parent
                .take()
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty());
        }
        for d in &mut departments {
            d.code = d.code.trim().to_string();
            d.area = d.area.trim().to_string();
        }
        for i in &mut industries {
            i.code = i.code.trim().to_ascii_uppercase();
            i.section = i.section.trim().to_ascii_uppercase();
        }

        let (area_by_code, area_by_name) = build_index(
            "区域",
            areas.iter().map(|a| {
                let names = std::iter::once(a.name.as_str())
                    .chain(a.aliases.iter().map(String::as_str))
                    .collect();
                (a.code.as_str(), names)
            }),
        )?;
        for a in &areas {
            if let Some(p) = &a.parent
                && !area_by_code.contains_key(p)
            {
                return Err(ReferenceError::MissingParent {
                    code: a.code.clone(),
                    parent: p.clone(),
                });
            }
        }
        // Walking up more steps than there are areas means we went round a loop.
        for a in &areas {
            let mut cur = a.parent.as_deref();
            let mut steps = 0;
            while let Some(p) = cur {
                steps += 1;
                if p == a.code || steps > areas.len() {
                    return Err(ReferenceError::Cycle {
                        code: a.code.clone(),
                    });
                }
                cur = area_by_code
                    .get(p)
                    .and_then(|&i| areas.get(i))
                    .and_then(|x| x.parent.as_deref());
            }
        }

        let (dept_by_code, dept_by_name) = build_index(
            "部门",
            departments.iter().map(|d| {
                let names = std::iter::once(d.name.as_str())
                    .chain(d.aliases.iter().map(String::as_str))
                    .collect();
                (d.code.as_str(), names)
            }),
        )?;
        for d in &departments {
            if !area_by_code.contains_key(&d.area) {
                return Err(ReferenceError::UnknownDepartmentArea {
                    code: d.code.clone(),
                    area: d.area.clone(),
                });
            }
        }

        // Industry names may legitimately repeat (P 教育 / 83 教育), so only
        // codes are indexed and checked for uniqueness.
        let mut industry_by_code = HashMap::new();
        for (k, i) in industries.iter().enumerate() {
            if i.code.is_empty() || i.name.trim().is_empty() {
                return Err(ReferenceError::Blank { kind: "行业" });
            }
            if industry_by_code.insert(i.code.clone(), k).is_some() {
                return Err(ReferenceError::DuplicateCode {
                    kind: "行业",
                    code: i.code.clone(),
                });
            }
        }
        for i in &industries {
            validate_industry(i, &industry_by_code, &industries)?;
        }

        Ok(ReferenceData {
            areas,
            departments,
            industries,
            size_rules,
            area_by_code,
            area_by_name,
            dept_by_code,
            dept_by_name,
            industry_by_code,
        })
    }

    pub fn area(&self, code: &str) -> Option<&Area> {
        let code = code.trim();
        self.area_by_code
            .get(code)
            .and_then(|&i| self.areas.get(i))
            .filter(|a| a.code == code)
            // The fields are public; fall back to a scan if someone edited them.
            .or_else(|| self.areas.iter().find(|a| a.code == code))
    }

    /// By name or alias; trims and ignores full/half-width differences.
    pub fn area_by_name(&self, name: &str) -> Option<&Area> {
        let key = name_key(name);
        self.area_by_name
            .get(&key)
            .and_then(|&i| self.areas.get(i))
            .or_else(|| {
                self.areas.iter().find(|a| {
                    name_key(&a.name) == key || a.aliases.iter().any(|x| name_key(x) == key)
                })
            })
    }

    /// Code first, then name or alias: what an import column usually holds.
    pub fn resolve_area(&self, code_or_name: &str) -> Option<&Area> {
        self.area(code_or_name)
            .or_else(|| self.area_by_name(code_or_name))
    }

    /// The area itself first, then its parent, …, up to the root.
    pub fn area_ancestors(&self, code: &str) -> Vec<&Area> {
        let mut out = Vec::new();
        let mut cur = self.area(code);
        while let Some(a) = cur {
            // Bound the walk so an edited (cyclic) tree cannot loop forever.
            if out.len() > self.areas.len() {
                break;
            }
            out.push(a);
            cur = a.parent.as_deref().and_then(|p| self.area(p));
        }
        out
    }

    /// Direct children, in file order.
    pub fn area_children(&self, code: &str) -> Vec<&Area> {
        let code = code.trim();
        self.areas
            .iter()
            .filter(|a| a.parent.as_deref() == Some(code))
            .collect()
    }

    /// True if `code` is `ancestor` or lies below it.
    pub fn area_within(&self, code: &str, ancestor: &str) -> bool {
        let ancestor = ancestor.trim();
        self.area_ancestors(code).iter().any(|a| a.code == ancestor)
    }

    pub fn department(&self, code: &str) -> Option<&Department> {
        let code = code.trim();
        self.dept_by_code
            .get(code)
            .and_then(|&i| self.departments.get(i))
            .filter(|d| d.code == code)
            .or_else(|| self.departments.iter().find(|d| d.code == code))
    }

    /// By name or alias; trims and ignores full/half-width differences.
    pub fn department_by_name(&self, name: &str) -> Option<&Department> {
        let key = name_key(name);
        self.dept_by_name
            .get(&key)
            .and_then(|&i| self.departments.get(i))
            .or_else(|| {
                self.departments.iter().find(|d| {
                    name_key(&d.name) == key || d.aliases.iter().any(|x| name_key(x) == key)
                })
            })
    }

    fn industry_exact(&self, code: &str) -> Option<&Industry> {
        self.industry_by_code
            .get(code)
            .and_then(|&i| self.industries.get(i))
            .filter(|x| x.code == code)
            .or_else(|| self.industries.iter().find(|x| x.code == code))
    }

    /// Accepts "C", "39", "C39", "3911" (→ 大类 39); lower case and
    /// full-width are fine. A letter that contradicts the digits gives `None`.
    pub fn industry(&self, code: &str) -> Option<&Industry> {
        match IndustryCode::parse(code)? {
            IndustryCode::Section(s) => self.industry_exact(s.encode_utf8(&mut [0; 4])),
            IndustryCode::Division { division, .. } => {
                self.industry_exact(&format!("{division:02}"))
            }
        }
    }

    /// The 门类 of any accepted code.
    pub fn industry_section(&self, code: &str) -> Option<&Industry> {
        let i = self.industry(code)?;
        self.industry_exact(&i.section)
    }

    /// All 门类 in file order.
    pub fn industry_sections(&self) -> Vec<&Industry> {
        self.industries.iter().filter(|i| i.is_section()).collect()
    }

    /// The 大类 of a 门类, in file order.
    pub fn industry_divisions(&self, section: &str) -> Vec<&Industry> {
        let s = section.trim().to_ascii_uppercase();
        self.industries
            .iter()
            .filter(|i| !i.is_section() && i.section == s)
            .collect()
    }
}

fn validate_industry(
    i: &Industry,
    by_code: &HashMap<String, usize>,
    all: &[Industry],
) -> Result<(), ReferenceError> {
    let bad = |reason: &str| ReferenceError::InvalidIndustry {
        code: i.code.clone(),
        reason: reason.to_string(),
    };
    let is_letter = |s: &str| s.len() == 1 && s.bytes().all(|b| (b'A'..=b'T').contains(&b));
    if !is_letter(&i.section) {
        return Err(bad("所属门类应为 A 至 T 的一个字母"));
    }
    if is_letter(&i.code) {
        if i.code != i.section {
            return Err(bad("门类的 section 应等于其编码"));
        }
        return Ok(());
    }
    if i.code.len() != 2 || !i.code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("编码应为门类字母或两位大类代码"));
    }
    // The division → section structure is fixed by GB/T 4754-2017.
    let expected = i
        .code
        .parse::<u8>()
        .ok()
        .and_then(section_of_division)
        .ok_or_else(|| bad("大类代码应在01至97之间"))?;
    if !i.section.starts_with(expected) {
        return Err(bad(&format!("大类应属于门类{expected}")));
    }
    let section_present = by_code
        .get(&i.section)
        .and_then(|&k| all.get(k))
        .is_some_and(Industry::is_section);
    if !section_present {
        return Err(bad("所属门类不存在"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Lead units (牵头单位) named in the seed policy text, policy-000.
    const SEED_LEAD_UNITS: &[&str] = &[
        "市政府办公室",
        "市发展改革局",
        "市政务服务数据管理局",
        "市住房城乡建设局",
        "市招商署",
        "市财政局",
        "市自然资源局",
        "市人力资源社会保障局",
        "市工业和信息化局",
    ];

    /// The seed's 适用区域 tag, flattened.
    const SEED_AREAS: &[&str] = &[
        "珠海市",
        "市直属",
        "香洲区",
        "高新区",
        "斗门区",
        "鹤洲新区筹备组",
        "保税区",
        "万山区",
        "金湾区",
        "高栏港",
        "横琴",
    ];

    fn names(v: &[&Area]) -> Vec<String> {
        v.iter().map(|a| a.name.clone()).collect()
    }

    #[test]
    fn zhuhai_loads() {
        let r = ReferenceData::zhuhai();
        assert_eq!(r.areas.len(), 11);
        assert!(r.departments.len() >= 20);
        assert_eq!(r.size_rules.rows().len(), 16);
        assert_eq!(r.area("440400").unwrap().kind, AreaKind::City);
        assert_eq!(r.area("440400").unwrap().kind.label(), "市");
    }

    #[test]
    fn seed_areas_resolve() {
        let r = ReferenceData::zhuhai();
        for n in SEED_AREAS {
            assert!(r.area_by_name(n).is_some(), "{n}");
        }
        let bsq = r.area_by_name("保税区").unwrap();
        assert_eq!(
            names(&r.area_ancestors(&bsq.code)),
            ["保税区", "鹤洲新区筹备组", "珠海市"]
        );
        let glg = r.area_by_name("高栏港").unwrap();
        assert_eq!(
            names(&r.area_ancestors(&glg.code)),
            ["高栏港", "金湾区", "珠海市"]
        );
        assert_eq!(names(&r.area_children("440400-HZXQ")), ["保税区", "万山区"]);
        assert_eq!(r.area_children("440400").len(), 7);
        assert!(r.area_within("440400-WSQ", "440400"));
        assert!(!r.area_within("440400-WSQ", "440404"));
        assert!(r.area_ancestors("nope").is_empty());
    }

    #[test]
    fn area_aliases_and_width() {
        let r = ReferenceData::zhuhai();
        for (q, code) in [
            ("珠海高新区", "440400-GXQ"),
            ("珠海国家高新区", "440400-GXQ"),
            ("鹤洲新区", "440400-HZXQ"),
            ("鹤洲新区（筹）", "440400-HZXQ"),
            ("鹤洲新区(筹)", "440400-HZXQ"),
            (" 横琴粤澳深度合作区 ", "440400-HQ"),
            ("横琴新区", "440400-HQ"),
            ("珠海保税区", "440400-BSQ"),
            ("万山海洋开发试验区", "440400-WSQ"),
            ("高栏港经济区", "440400-GLG"),
            ("珠海经济技术开发区", "440400-GLG"),
            ("经开区", "440400-GLG"),
        ] {
            assert_eq!(
                r.area_by_name(q).map(|a| a.code.as_str()),
                Some(code),
                "{q}"
            );
        }
        assert_eq!(r.resolve_area("440402").unwrap().name, "香洲区");
        assert_eq!(r.resolve_area("香洲区").unwrap().code, "440402");
        assert!(r.area_by_name("广州市").is_none());
        assert_eq!(r.area_by_name("高新区").unwrap().kind.label(), "功能区");
        assert_eq!(r.area_by_name("鹤洲新区").unwrap().kind.label(), "片区组团");
    }

    #[test]
    fn seed_lead_units_resolve() {
        let r = ReferenceData::zhuhai();
        for n in SEED_LEAD_UNITS {
            let d = r.department_by_name(n).unwrap_or_else(|| panic!("{n}"));
            assert_eq!(d.level, DeptLevel::City);
            assert_eq!(r.department(&d.code).unwrap().name, d.name);
        }
        for (alias, name) in [
            ("珠海市发展和改革局", "市发展改革局"),
            ("国家税务总局珠海市税务局", "市税务局"),
            ("市政务服务和数据管理局", "市政务服务数据管理局"),
            ("珠海市人力资源和社会保障局", "市人力资源社会保障局"),
        ] {
            assert_eq!(r.department_by_name(alias).unwrap().name, name);
        }
        for n in [
            "市市场监督管理局",
            "市科技创新局",
            "市统计局",
            "香洲区发展和改革局",
            "横琴粤澳深度合作区商事服务局",
        ] {
            assert!(r.department_by_name(n).is_some(), "{n}");
        }
        let d = r.department_by_name("金湾区经济发展局").unwrap();
        assert_eq!(d.level.label(), "区级");
        assert_eq!(r.area(&d.area).unwrap().name, "金湾区");
    }

    #[test]
    fn industries() {
        let r = ReferenceData::zhuhai();
        assert_eq!(r.industry_sections().len(), 20);
        assert_eq!(r.industries.iter().filter(|i| !i.is_section()).count(), 97);
        let total: usize = r
            .industry_sections()
            .iter()
            .map(|s| r.industry_divisions(&s.code).len())
            .sum();
        assert_eq!(total, 97);
        assert_eq!(r.industry("C39").unwrap().code, "39");
        assert_eq!(
            r.industry("C39").unwrap().name,
            "计算机、通信和其他电子设备制造业"
        );
        assert_eq!(r.industry_section("C39").unwrap().code, "C");
        assert_eq!(r.industry_section("C39").unwrap().name, "制造业");
        assert_eq!(r.industry("3911").unwrap().code, "39");
        assert_eq!(r.industry("c").unwrap().name, "制造业");
        assert_eq!(r.industry("01").unwrap().name, "农业");
        assert_eq!(r.industry("97").unwrap().name, "国际组织");
        assert_eq!(r.industry("65").unwrap().name, "软件和信息技术服务业");
        assert_eq!(r.industry_section("7020").unwrap().code, "K");
        assert_eq!(r.industry_section("I").unwrap().code, "I");
        for bad in ["", "98", "A39", "X", "3", "工业"] {
            assert!(r.industry(bad).is_none(), "{bad}");
        }
        // Every division the size table can see has a name.
        for d in 1..=97u8 {
            assert!(r.industry(&format!("{d:02}")).is_some());
        }
    }

    const AREAS_OK: &str = r#"[
        {"code":"1","name":"市","kind":"City","parent":null},
        {"code":"2","name":"区","kind":"District","parent":"1"}
    ]"#;
    const DEPTS_OK: &str =
        r#"{"departments":[{"code":"D","name":"局","level":"City","area":"1"}]}"#;
    const INDUSTRIES_OK: &str =
        r#"[{"code":"C","name":"制造业","section":"C"},{"code":"39","name":"电子","section":"C"}]"#;

    fn load(areas: &str, depts: &str, inds: &str) -> Result<ReferenceData, ReferenceError> {
        ReferenceData::from_json(areas, depts, inds, NATIONAL_SIZE_CLASSES)
    }

    #[test]
    fn from_json_accepts_other_cities() {
        let r = load(AREAS_OK, DEPTS_OK, INDUSTRIES_OK).unwrap();
        assert_eq!(names(&r.area_ancestors("2")), ["区", "市"]);
        assert_eq!(r.department_by_name("局").unwrap().code, "D");
    }

    #[test]
    fn from_json_rejects_bad_data() {
        let dangling = r#"[{"code":"1","name":"市","kind":"City","parent":"9"}]"#;
        let e = load(dangling, DEPTS_OK, INDUSTRIES_OK).unwrap_err();
        assert!(matches!(e, ReferenceError::MissingParent { .. }), "{e}");
        assert_eq!(e.to_string(), "区域数据中区域“1”的上级区域“9”不存在");

        let dup = r#"[{"code":"1","name":"市","kind":"City","parent":null},{"code":"1","name":"区","kind":"District","parent":"1"}]"#;
        let e = load(dup, DEPTS_OK, INDUSTRIES_OK).unwrap_err();
        assert!(matches!(e, ReferenceError::DuplicateCode { .. }), "{e}");
        assert!(e.to_string().contains("编码“1”重复"));

        let cycle = r#"[
            {"code":"1","name":"市","kind":"City","parent":null},
            {"code":"2","name":"甲","kind":"District","parent":"3"},
            {"code":"3","name":"乙","kind":"District","parent":"2"}
        ]"#;
        let e = load(cycle, r#"[]"#, INDUSTRIES_OK).unwrap_err();
        assert!(matches!(e, ReferenceError::Cycle { .. }), "{e}");
        let self_loop = r#"[{"code":"1","name":"市","kind":"City","parent":"1"}]"#;
        assert!(matches!(
            load(self_loop, "[]", INDUSTRIES_OK),
            Err(ReferenceError::Cycle { .. })
        ));

        let dup_name = r#"[{"code":"1","name":"市","kind":"City","parent":null},{"code":"2","name":"区","kind":"District","parent":"1","aliases":["市"]}]"#;
        let e = load(dup_name, DEPTS_OK, INDUSTRIES_OK).unwrap_err();
        assert!(matches!(e, ReferenceError::DuplicateName { .. }), "{e}");

        let bad_area = r#"[{"code":"D","name":"局","level":"City","area":"9"}]"#;
        let e = load(AREAS_OK, bad_area, INDUSTRIES_OK).unwrap_err();
        assert_eq!(e.to_string(), "部门数据中部门“D”所属区域“9”不存在");

        let dup_dept = r#"[{"code":"D","name":"局","level":"City","area":"1"},{"code":"D","name":"处","level":"City","area":"1"}]"#;
        assert!(matches!(
            load(AREAS_OK, dup_dept, INDUSTRIES_OK),
            Err(ReferenceError::DuplicateCode { kind: "部门", .. })
        ));

        for inds in [
            r#"[{"code":"39","name":"电子","section":"C"}]"#,
            r#"[{"code":"C","name":"制造业","section":"C"},{"code":"39","name":"电子","section":"A"}]"#,
            r#"[{"code":"C","name":"制造业","section":"C"},{"code":"391","name":"电子","section":"C"}]"#,
        ] {
            assert!(
                matches!(
                    load(AREAS_OK, DEPTS_OK, inds),
                    Err(ReferenceError::InvalidIndustry { .. })
                ),
                "{inds}"
            );
        }
        let dup_ind = r#"[{"code":"C","name":"制造业","section":"C"},{"code":"C","name":"制造业","section":"C"}]"#;
        assert!(matches!(
            load(AREAS_OK, DEPTS_OK, dup_ind),
            Err(ReferenceError::DuplicateCode { kind: "行业", .. })
        ));

        let e = load("{", DEPTS_OK, INDUSTRIES_OK).unwrap_err();
        assert!(e.to_string().starts_with("区域数据文件格式错误"));
        let e = load(r#"{"items":[]}"#, DEPTS_OK, INDUSTRIES_OK).unwrap_err();
        assert!(e.to_string().contains("缺少“areas”字段"), "{e}");
        let e = ReferenceData::from_json(AREAS_OK, DEPTS_OK, INDUSTRIES_OK, "{}").unwrap_err();
        assert!(e.to_string().starts_with("企业规模标准数据无效"));
        let blank = r#"[{"code":" ","name":"市","kind":"City","parent":null}]"#;
        assert!(matches!(
            load(blank, "[]", INDUSTRIES_OK),
            Err(ReferenceError::Blank { .. })
        ));
    }

    #[test]
    fn half_width_conversion() {
        assert_eq!(half_width("９１ＡＢ（筹）　x"), "91AB(筹) x");
        assert_eq!(half_width("珠海"), "珠海");
    }

    proptest! {
        #[test]
        fn lookups_never_panic(s in any::<String>()) {
            let r = ReferenceData::zhuhai();
            let _ = r.area(&s);
            let _ = r.area_by_name(&s);
            let _ = r.area_ancestors(&s);
            let _ = r.department_by_name(&s);
            let _ = r.industry(&s);
            let _ = r.industry_section(&s);
        }

        #[test]
        fn arbitrary_json_never_panics(a in any::<String>(), d in any::<String>()) {
            let _ = load(&a, &d, INDUSTRIES_OK);
            let _ = load(AREAS_OK, &d, &a);
        }
    }
}
