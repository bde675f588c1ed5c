//! Reading the JSON form of a rule.
//!
//! The AST derives `Deserialize` (and [`Num`] serialises as two `i64`s so
//! that works), but serde's errors name no location a policy clerk could
//! use. This reader walks a `serde_json::Value` by hand, using serde only
//! for the leaf enums, and reports errors with JSON paths. It reads exactly
//! what `serde_json::to_value(&rule)` writes.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::RuleError;
use crate::ast::{Band, Cond, Expr, Rule};
use crate::num::Num;

type R<T> = Result<T, RuleError>;

fn err(path: &str, msg: impl Into<String>) -> RuleError {
    RuleError::at_path(path, msg)
}

fn obj<'v>(v: &'v Value, path: &str) -> R<&'v Map<String, Value>> {
    v.as_object().ok_or_else(|| err(path, "应为 JSON 对象"))
}

fn field<'v>(o: &'v Map<String, Value>, key: &str, path: &str) -> R<&'v Value> {
    o.get(key)
        .ok_or_else(|| err(path, format!("缺少字段“{key}”")))
}

fn leaf<T: DeserializeOwned>(o: &Map<String, Value>, key: &str, path: &str) -> R<T> {
    let v = field(o, key, path)?;
    let p = format!("{path}.{key}");
    serde_json::from_value(v.clone()).map_err(|e| err(&p, format!("取值无效：{e}")))
}

fn array<'v>(o: &'v Map<String, Value>, key: &str, path: &str) -> R<&'v Vec<Value>> {
    field(o, key, path)?
        .as_array()
        .ok_or_else(|| err(&format!("{path}.{key}"), "应为数组"))
}

fn kind<'v>(o: &'v Map<String, Value>, path: &str) -> R<&'v str> {
    field(o, "kind", path)?
        .as_str()
        .ok_or_else(|| err(&format!("{path}.kind"), "应为字符串"))
}

fn num(v: &Value, path: &str) -> R<Num> {
    let o = obj(v, path)?;
    let int = |key: &str| -> R<i128> {
        let x = field(o, key, path)?;
        x.as_i64()
            .map(i128::from)
            .or_else(|| x.as_u64().map(i128::from))
            .ok_or_else(|| err(&format!("{path}.{key}"), "应为整数"))
    };
    let (n, d) = (int("num")?, int("den")?);
    // Only lowest terms are accepted, so the value is what was written.
    match Num::ratio(n, d) {
        Some(x) if x.numer() == n && x.denom() == d => Ok(x),
        _ => Err(err(path, "数值无效：分母应为正数且为最简分数")),
    }
}

pub(crate) fn rule(v: &Value) -> R<Rule> {
    let o = obj(v, "")?;
    let condition = cond(field(o, "condition", "")?, "condition")?;
    let amount = match o.get("amount") {
        None | Some(Value::Null) => None,
        Some(a) => Some(expr(a, "amount")?),
    };
    Ok(Rule { condition, amount })
}

fn conds(o: &Map<String, Value>, key: &str, path: &str) -> R<Vec<Cond>> {
    array(o, key, path)?
        .iter()
        .enumerate()
        .map(|(i, x)| cond(x, &format!("{path}.{key}[{i}]")))
        .collect()
}

fn exprs(o: &Map<String, Value>, key: &str, path: &str) -> R<Vec<Expr>> {
    array(o, key, path)?
        .iter()
        .enumerate()
        .map(|(i, x)| expr(x, &format!("{path}.{key}[{i}]")))
        .collect()
}

pub(crate) fn cond(v: &Value, path: &str) -> R<Cond> {
    let o = obj(v, path)?;
    Ok(match kind(o, path)? {
        "and" => Cond::And {
            all: conds(o, "all", path)?,
        },
        "or" => Cond::Or {
            any: conds(o, "any", path)?,
        },
        "not" => Cond::Not {
            cond: Box::new(cond(field(o, "cond", path)?, &format!("{path}.cond"))?),
        },
        "size_in" => Cond::SizeIn {
            sizes: leaf(o, "sizes", path)?,
        },
        "area_in" => Cond::AreaIn {
            areas: leaf(o, "areas", path)?,
        },
        "industry_in" => Cond::IndustryIn {
            codes: leaf(o, "codes", path)?,
        },
        "has_tag" => Cond::HasTag {
            tag: leaf(o, "tag", path)?,
        },
        "cert_valid" => Cond::CertValid {
            name: leaf(o, "name", path)?,
        },
        "in_force_until" => Cond::InForceUntil {
            until: leaf(o, "until", path)?,
        },
        "cmp" => Cond::Cmp {
            op: leaf(o, "op", path)?,
            left: expr(field(o, "left", path)?, &format!("{path}.left"))?,
            right: expr(field(o, "right", path)?, &format!("{path}.right"))?,
        },
        other => {
            return Err(
                err(&format!("{path}.kind"), format!("未知条件类型“{other}”")).expecting([
                    "and",
                    "or",
                    "not",
                    "size_in",
                    "area_in",
                    "industry_in",
                    "has_tag",
                    "cert_valid",
                    "in_force_until",
                    "cmp",
                ]),
            );
        }
    })
}

pub(crate) fn expr(v: &Value, path: &str) -> R<Expr> {
    let o = obj(v, path)?;
    Ok(match kind(o, path)? {
        "lit" => Expr::Lit {
            value: num(field(o, "value", path)?, &format!("{path}.value"))?,
            dim: leaf(o, "dim", path)?,
        },
        "indicator" => Expr::Indicator {
            indicator: leaf(o, "indicator", path)?,
            year: leaf(o, "year", path)?,
        },
        "aggregate" => Expr::Aggregate {
            indicator: leaf(o, "indicator", path)?,
            agg: leaf(o, "agg", path)?,
            years: leaf(o, "years", path)?,
        },
        "growth" => Expr::Growth {
            indicator: leaf(o, "indicator", path)?,
            year: leaf(o, "year", path)?,
        },
        "age_years" => Expr::AgeYears,
        "arith" => Expr::Arith {
            op: leaf(o, "op", path)?,
            left: Box::new(expr(field(o, "left", path)?, &format!("{path}.left"))?),
            right: Box::new(expr(field(o, "right", path)?, &format!("{path}.right"))?),
        },
        "min" => Expr::Min {
            args: exprs(o, "args", path)?,
        },
        "max" => Expr::Max {
            args: exprs(o, "args", path)?,
        },
        "tiers" => {
            let basis = Box::new(expr(field(o, "basis", path)?, &format!("{path}.basis"))?);
            let mut bands = Vec::new();
            for (i, b) in array(o, "bands", path)?.iter().enumerate() {
                let p = format!("{path}.bands[{i}]");
                let bo = obj(b, &p)?;
                bands.push(Band {
                    from: num(field(bo, "from", &p)?, &format!("{p}.from"))?,
                    amount: expr(field(bo, "amount", &p)?, &format!("{p}.amount"))?,
                });
            }
            Expr::Tiers { basis, bands }
        }
        other => {
            return Err(
                err(&format!("{path}.kind"), format!("未知公式类型“{other}”")).expecting([
                    "lit",
                    "indicator",
                    "aggregate",
                    "growth",
                    "age_years",
                    "arith",
                    "min",
                    "max",
                    "tiers",
                ]),
            );
        }
    })
}
