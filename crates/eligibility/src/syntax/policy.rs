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
