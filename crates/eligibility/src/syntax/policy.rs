//! A policy's header tags as conditions: every rule of a policy is
//! evaluated as `And([tag conditions…, staff conditions])`.

use zhengqi_domain::policy::ParsedPolicy;
use zhengqi_domain::size::SizeClass;

use crate::ast::Cond;

/// 企业规模 → [`Cond::SizeIn`] (omitted when absent or listing all four
/// classes: no restriction, and an unknown size must not make it unknown);
/// 适用区域 → [`Cond::AreaIn`] with every listed code including group
/// members; 有效期至 with a date → [`Cond::InForceUntil`].
pub fn tag_conditions(p: &ParsedPolicy) -> Vec<Cond> {
    let mut out = Vec::new();
    let mut sizes: Vec<SizeClass> = Vec::new();
    for s in &p.enterprise_sizes {
        if !sizes.contains(s) {
            sizes.push(*s);
        }
    }
    if !sizes.is_empty() && !SizeClass::ALL.iter().all(|s| sizes.contains(s)) {
        out.push(Cond::SizeIn { sizes });
    }
    let areas = p.area_codes();
    if !areas.is_empty() {
        out.push(Cond::AreaIn { areas });
    }
    if let Some(until) = p.valid_until {
        out.push(Cond::InForceUntil { until });
    }
    out
}

/// The same conditions from a stored policy's tag columns (size labels,
/// area codes, valid-until), for callers that hold a policy summary rather
/// than the parsed document. Unknown size labels are ignored.
pub fn tag_conditions_of(
    sizes: &[String],
    areas: &[String],
    valid_until: Option<chrono::NaiveDate>,
) -> Vec<Cond> {
    let mut out = Vec::new();
    let mut classes: Vec<SizeClass> = Vec::new();
    for s in sizes {
        if let Ok(c) = s.parse::<SizeClass>()
            && !classes.contains(&c)
        {
            classes.push(c);
        }
    }
    if !classes.is_empty() && !SizeClass::ALL.iter().all(|s| classes.contains(s)) {
        out.push(Cond::SizeIn { sizes: classes });
    }
    if !areas.is_empty() {
        out.push(Cond::AreaIn {
            areas: areas.to_vec(),
        });
    }
    if let Some(until) = valid_until {
        out.push(Cond::InForceUntil { until });
    }
    out
}

/// The rule actually evaluated for a policy: its tag conditions first, then
/// the staff's conditions (flattened when they are a top-level 且), with the
/// staff's amount. Built here only, so the batch, the row evaluator, the
/// sandbox and the CLI all judge the same thing.
pub fn policy_rule(tags: Vec<Cond>, staff: &crate::ast::Rule) -> crate::ast::Rule {
    let mut all = tags;
    match &staff.condition {
        Cond::And { all: parts } => all.extend(parts.iter().cloned()),
        c => all.push(c.clone()),
    }
    crate::ast::Rule {
        condition: Cond::And { all },
        amount: staff.amount.clone(),
    }
}

#[cfg(test)]
mod policy_rule_tests {
    use super::*;

    #[test]
    fn tags_come_first_and_all_four_sizes_mean_no_condition() {
        let staff = crate::ast::Rule {
            condition: Cond::HasTag {
                tag: "链主企业".into(),
            },
            amount: None,
        };
        let tags = tag_conditions_of(
            &["中型".into(), "小型".into(), "未知".into()],
            &["440400".into()],
            None,
        );
        let r = policy_rule(tags, &staff);
        let Cond::And { all } = &r.condition else {
            panic!("{r:?}")
        };
        assert_eq!(all.len(), 3);
        assert_eq!(
            all[0],
            Cond::SizeIn {
                sizes: vec![SizeClass::Medium, SizeClass::Small]
            }
        );
        assert_eq!(all[2], staff.condition);
        let every: Vec<String> = SizeClass::ALL
            .iter()
            .map(|s| s.label().to_owned())
            .collect();
        assert!(tag_conditions_of(&every, &[], None).is_empty());
    }
}
