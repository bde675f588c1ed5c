//! The enterprise registry and its indicator history.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use zhengqi_domain::enterprise::{
    Enterprise, Indicator, IndicatorKind, NewIndicator, SizeBasis, current_figures,
};
use zhengqi_domain::size::SizeClass;
use zhengqi_domain::uscc::Uscc;

use crate::{Actor, Result, Store, StoreError, audit, parse_ts, ts};

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum UpsertOutcome {
    Created,
    Updated,
    Unchanged,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum IndicatorOutcome {
    Added,
    /// The same figure from the same source is already the latest one.
    Unchanged,
}

#[derive(Clone, Debug, Default)]
pub struct EnterpriseFilter {
    /// Matches name or code, substring.
    pub q: String,
    pub area: String,
    pub size_class: String,
    /// Division or section prefix, e.g. "39" or "C".
    pub industry: String,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct EnterprisePage {
    pub items: Vec<Enterprise>,
    pub total: i64,
}

pub(crate) const COLS: &str =
    "uscc, name, legal_rep, founded, area, industry, size_class, size_basis, tags, certifications";

pub(crate) fn from_row(r: &AnyRow) -> Result<Enterprise> {
    let corrupt = |what: &str| StoreError::Corrupt(what.to_owned());
    let uscc: String = r.try_get("uscc")?;
    let founded: Option<String> = r.try_get("founded")?;
    let size_class: Option<String> = r.try_get("size_class")?;
    let size_basis: Option<String> = r.try_get("size_basis")?;
    Ok(Enterprise {
        uscc: Uscc::parse(&uscc).map_err(|_| corrupt("统一社会信用代码"))?,
        name: r.try_get("name")?,
        legal_rep: r.try_get("legal_rep")?,
        founded: founded
            .map(|f| f.parse().map_err(|_| corrupt("成立日期")))
            .transpose()?,
        area: r.try_get("area")?,
        industry: r.try_get("industry")?,
        size_class: size_class
            .map(|s| s.parse::<SizeClass>().map_err(|_| corrupt("企业规模")))
            .transpose()?,
        size_basis: size_basis
            .map(|s| serde_json::from_str::<SizeBasis>(&s).map_err(|_| corrupt("规模依据")))
            .transpose()?,
        tags: serde_json::from_str(&r.try_get::<String, _>("tags")?)
            .map_err(|_| corrupt("标签"))?,
        certifications: serde_json::from_str(&r.try_get::<String, _>("certifications")?)
            .map_err(|_| corrupt("资质"))?,
    })
}

fn to_json(e: &Enterprise) -> serde_json::Value {
    serde_json::to_value(e).unwrap_or(serde_json::Value::Null)
}

async fn fetch_tx(tx: &mut Transaction<'static, Any>, uscc: &str) -> Result<Option<Enterprise>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLS} FROM enterprises WHERE uscc = $1"
    )))
    .bind(uscc)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(from_row).transpose()
}

async fn upsert_tx(
    tx: &mut Transaction<'static, Any>,
    e: &Enterprise,
    actor: &Actor,
    now: &str,
) -> Result<UpsertOutcome> {
    let before = fetch_tx(tx, e.uscc.as_str()).await?;
    if before.as_ref() == Some(e) {
        return Ok(UpsertOutcome::Unchanged);
    }
    let tags = serde_json::to_string(&e.tags).unwrap_or_else(|_| "[]".into());
    let certs = serde_json::to_string(&e.certifications).unwrap_or_else(|_| "[]".into());
    let basis = e
        .size_basis
        .as_ref()
        .and_then(|b| serde_json::to_string(b).ok());
    let q = if before.is_some() {
        "UPDATE enterprises SET name = $2, legal_rep = $3, founded = $4, area = $5, industry = $6, \
         size_class = $7, size_basis = $8, tags = $9, certifications = $10, updated_at = $11 WHERE uscc = $1"
    } else {
        "INSERT INTO enterprises (uscc, name, legal_rep, founded, area, industry, size_class, size_basis, \
         tags, certifications, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)"
    };
    sqlx::query(q)
        .bind(e.uscc.as_str())
        .bind(&e.name)
        .bind(&e.legal_rep)
        .bind(e.founded.map(|d| d.to_string()))
        .bind(&e.area)
        .bind(&e.industry)
        .bind(e.size_class.map(|c| c.label().to_owned()))
        .bind(basis)
        .bind(tags)
        .bind(certs)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    let (action, outcome) = if before.is_some() {
        ("enterprise.update", UpsertOutcome::Updated)
    } else {
        ("enterprise.create", UpsertOutcome::Created)
    };
    audit::record(
        tx,
        actor,
        action,
        "enterprise",
        e.uscc.as_str(),
        before.as_ref().map(to_json).as_ref(),
        Some(&to_json(e)),
    )
    .await?;
    Ok(outcome)
}

fn indicator_json(n: &NewIndicator) -> serde_json::Value {
    serde_json::json!({"kind": n.kind.label(), "year": n.year, "value": n.value, "source": n.source})
}

impl Store {
    pub async fn enterprise(&self, uscc: &Uscc) -> Result<Option<Enterprise>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLS} FROM enterprises WHERE uscc = $1"
        )))
        .bind(uscc.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Registered names of the given codes (unknown codes are left out): one
    /// query per 500 codes, so pages that list enterprises never load the
    /// whole base.
    pub async fn enterprise_names<'a>(
        &self,
        usccs: impl IntoIterator<Item = &'a str>,
    ) -> Result<HashMap<String, String>> {
        let mut codes: Vec<&str> = usccs.into_iter().collect();
        codes.sort_unstable();
        codes.dedup();
        let mut out = HashMap::with_capacity(codes.len());
        for chunk in codes.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT uscc, name FROM enterprises WHERE uscc IN ({})",
                marks.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for c in chunk {
                q = q.bind(*c);
            }
            for r in q.fetch_all(&self.pool).await? {
                out.insert(r.try_get("uscc")?, r.try_get("name")?);
            }
        }
        Ok(out)
    }

    /// Creates or replaces one record; an identical record is left alone
    /// (and not audited), which makes re-imports idempotent.
    pub async fn upsert_enterprise(&self, e: &Enterprise, actor: &Actor) -> Result<UpsertOutcome> {
        let mut tx = self.begin().await?;
        let out = upsert_tx(&mut tx, e, actor, &ts(Utc::now())).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Upserts many records in one transaction (all or nothing).
    pub async fn upsert_enterprises(
        &self,
        es: &[Enterprise],
        actor: &Actor,
    ) -> Result<Vec<UpsertOutcome>> {
        let mut tx = self.begin().await?;
        let now = ts(Utc::now());
        let mut out = Vec::with_capacity(es.len());
        for e in es {
            out.push(upsert_tx(&mut tx, e, actor, &now).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn enterprises(&self, f: &EnterpriseFilter) -> Result<EnterprisePage> {
        let cond = "($1 = '' OR name LIKE $2 OR uscc LIKE $2) AND ($3 = '' OR area = $3) \
                    AND ($4 = '' OR size_class = $4) AND ($5 = '' OR industry LIKE $6)";
        let q = f.q.trim();
        let like = format!("%{}%", q.replace(['%', '_'], ""));
        // A section letter matches its divisions through the industries table
        // kept in memory; here only division prefixes are stored.
        let ind_like = format!("{}%", f.industry.trim());
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM enterprises WHERE {cond}"
        )))
        .bind(q)
        .bind(&like)
        .bind(f.area.trim())
        .bind(f.size_class.trim())
        .bind(f.industry.trim())
        .bind(&ind_like)
        .fetch_one(&self.pool)
        .await?;
        let limit = if f.limit <= 0 {
            50
        } else {
            f.limit.min(1_000_000)
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLS} FROM enterprises WHERE {cond} ORDER BY uscc LIMIT $7 OFFSET $8"
        )))
        .bind(q)
        .bind(&like)
        .bind(f.area.trim())
        .bind(f.size_class.trim())
        .bind(f.industry.trim())
        .bind(&ind_like)
        .bind(limit)
        .bind(f.offset.max(0))
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        Ok(EnterprisePage { items, total })
    }

    /// How many figures a department has shared (history included).
    pub async fn indicators_from(&self, department: &str) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM indicators WHERE source = $1")
                .bind(department)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn count_enterprises(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM enterprises")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Every figure ever received for the enterprise, oldest arrival first.
    pub async fn indicators(&self, uscc: &Uscc) -> Result<Vec<Indicator>> {
        let rows = sqlx::query(
            "SELECT kind, year, value, source, arrived_at FROM indicators WHERE uscc = $1 ORDER BY id",
        )
        .bind(uscc.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| indicator_from(&r.try_get::<String, _>("kind")?, r))
            .collect()
    }

    /// Appends figures in one transaction. A figure equal to the latest one
    /// from the same source for the same enterprise, kind and year is not
    /// stored again; a different one is added and becomes the latest, while
    /// the older stays as history. Unknown enterprises are an error.
    pub async fn add_indicators(
        &self,
        items: &[NewIndicator],
        actor: &Actor,
        arrived_at: DateTime<Utc>,
    ) -> Result<Vec<IndicatorOutcome>> {
        let mut tx = self.begin().await?;
        let at = ts(arrived_at);
        // As stored (microseconds), for the figures in force.
        let arrived = parse_ts(&at)?;
        let mut latest: HashMap<(String, String, i64, String), i64> = HashMap::new();
        let mut known: HashMap<String, bool> = HashMap::new();
        // Each touched enterprise's stored history, for its figures in force.
        let mut history: HashMap<String, Vec<Indicator>> = HashMap::new();
        let mut changed: BTreeSet<String> = BTreeSet::new();
        let mut out = Vec::with_capacity(items.len());
        for n in items {
            let uscc = n.uscc.as_str().to_owned();
            if !known.contains_key(&uscc) {
                let exists: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM enterprises WHERE uscc = $1")
                        .bind(&uscc)
                        .fetch_one(&mut *tx)
                        .await?;
                if exists > 0 {
                    let rows = sqlx::query(
                        "SELECT kind, year, source, value, arrived_at FROM indicators WHERE uscc = $1 ORDER BY id",
                    )
                    .bind(&uscc)
                    .fetch_all(&mut *tx)
                    .await?;
                    let mut stored = Vec::with_capacity(rows.len());
                    for r in rows {
                        let kind: String = r.try_get("kind")?;
                        let i = indicator_from(&kind, &r)?;
                        latest.insert(
                            (
                                uscc.clone(),
                                i.kind.key().to_owned(),
                                i.year.into(),
                                i.source.clone(),
                            ),
                            i.value,
                        );
                        stored.push(i);
                    }
                    history.insert(uscc.clone(), stored);
                }
                known.insert(uscc.clone(), exists > 0);
            }
            if !known[&uscc] {
                return Err(StoreError::Invalid(format!(
                    "企业 {uscc} 尚未登记，不能导入其指标"
                )));
            }
            let key = (
                uscc.clone(),
                n.kind.key().to_owned(),
                n.year as i64,
                n.source.clone(),
            );
            if latest.get(&key) == Some(&n.value) {
                out.push(IndicatorOutcome::Unchanged);
                continue;
            }
            sqlx::query(
                "INSERT INTO indicators (uscc, kind, year, value, source, arrived_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&uscc)
            .bind(n.kind.key())
            .bind(n.year as i64)
            .bind(n.value)
            .bind(&n.source)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
            let before = latest.insert(key, n.value);
            history.entry(uscc.clone()).or_default().push(Indicator {
                kind: n.kind,
                year: n.year,
                value: n.value,
                source: n.source.clone(),
                arrived_at: arrived,
            });
            changed.insert(uscc.clone());
            audit::record(
                &mut tx,
                actor,
                "indicator.add",
                "enterprise",
                &uscc,
                before
                    .map(|v| serde_json::json!({"kind": n.kind.label(), "year": n.year, "value": v, "source": n.source}))
                    .as_ref(),
                Some(&indicator_json(n)),
            )
            .await?;
            out.push(IndicatorOutcome::Added);
        }
        for uscc in &changed {
            write_figures(&mut tx, uscc, &history[uscc]).await?;
        }
        tx.commit().await?;
        Ok(out)
    }
}

/// Stores the figures in force of an enterprise whose indicators, oldest
/// first, are `ind` (table `enterprise_figures`, migration 0010).
pub(crate) async fn write_figures(
    tx: &mut Transaction<'_, Any>,
    uscc: &str,
    ind: &[Indicator],
) -> Result<()> {
    let figures: Vec<(&str, i32, i64, &str, String)> = current_figures(ind)
        .into_iter()
        .map(|i| {
            let x = &ind[i];
            (
                x.kind.key(),
                x.year,
                x.value,
                x.source.as_str(),
                ts(x.arrived_at),
            )
        })
        .collect();
    sqlx::query(
        "INSERT INTO enterprise_figures (uscc, figures) VALUES ($1, $2) \
         ON CONFLICT (uscc) DO UPDATE SET figures = excluded.figures",
    )
    .bind(uscc)
    .bind(crate::cases::json(&figures)?)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An indicator row (`kind` already read; columns year, value, source,
/// arrived_at by name).
fn indicator_from(kind: &str, r: &AnyRow) -> Result<Indicator> {
    Ok(Indicator {
        kind: IndicatorKind::parse(kind)
            .ok_or_else(|| StoreError::Corrupt(format!("指标“{kind}”")))?,
        year: r.try_get::<i64, _>("year")? as i32,
        value: r.try_get("value")?,
        source: r.try_get("source")?,
        arrived_at: parse_ts(&r.try_get::<String, _>("arrived_at")?)?,
    })
}

/// Counts for the supervisor's overview.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RegistryStats {
    pub enterprises: i64,
    pub indicators: i64,
    pub by_area: Vec<(String, i64)>,
    pub by_size: Vec<(String, i64)>,
    pub by_source: Vec<(String, i64)>,
    pub accounts_by_role: Vec<(String, i64)>,
}

impl Store {
    pub async fn registry_stats(&self) -> Result<RegistryStats> {
        let pairs = |sql: &'static str| async move {
            let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
            rows.iter()
                .map(|r| {
                    Ok((
                        r.try_get::<Option<String>, _>(0)?.unwrap_or_default(),
                        r.try_get::<i64, _>(1)?,
                    ))
                })
                .collect::<Result<Vec<_>>>()
        };
        Ok(RegistryStats {
            enterprises: self.count_enterprises().await?,
            indicators: sqlx::query_scalar("SELECT COUNT(*) FROM indicators")
                .fetch_one(&self.pool)
                .await?,
            by_area: pairs("SELECT area, COUNT(*) FROM enterprises GROUP BY area ORDER BY 2 DESC")
                .await?,
            by_size: pairs(
                "SELECT size_class, COUNT(*) FROM enterprises GROUP BY size_class ORDER BY 2 DESC",
            )
            .await?,
            by_source: pairs(
                "SELECT source, COUNT(*) FROM indicators GROUP BY source ORDER BY 2 DESC",
            )
            .await?,
            accounts_by_role: pairs("SELECT role, COUNT(*) FROM users GROUP BY role ORDER BY 1")
                .await?,
        })
    }
}
