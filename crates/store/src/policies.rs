//! The policy library: policies with versions, and the process-reengineering
//! tasks (流程再造任务清单) their articles become.

use chrono::{NaiveDate, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::{Actor, Result, Store, StoreError, audit, ts};

/// One version of a policy as the caller extracted it from a document.
#[derive(Clone, Debug)]
pub struct PolicyRecord {
    /// Identity across versions: 发文字号, or the file name.
    pub key: String,
    pub title: String,
    pub title_derived: bool,
    pub issuer: String,
    pub doc_number: String,
    pub published_on: Option<NaiveDate>,
    pub policy_type: String,
    /// None = no stated expiry.
    pub valid_until: Option<NaiveDate>,
    pub sizes: Vec<String>,
    /// Area codes, group members included.
    pub areas: Vec<String>,
    /// Department codes: issuer and lead units.
    pub departments: Vec<String>,
    pub content_hash: String,
    pub raw_text: String,
    pub parsed: serde_json::Value,
    pub tasks: Vec<NewTask>,
}

#[derive(Clone, Debug)]
pub struct NewTask {
    pub article: i64,
    pub title: String,
    /// Lead units as written.
    pub lead_units: Vec<String>,
    /// The units resolved to department codes.
    pub departments: Vec<String>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum PolicyImportOutcome {
    Created { id: i64 },
    NewVersion { id: i64, version: i64 },
    Unchanged { id: i64 },
}

#[derive(Clone, Debug, Serialize)]
pub struct PolicySummary {
    pub id: i64,
    pub key: String,
    pub title: String,
    pub title_derived: bool,
    pub issuer: String,
    pub doc_number: String,
    pub published_on: Option<NaiveDate>,
    pub policy_type: String,
    /// draft | published | repealed as stored; see [`PolicySummary::effective_status`].
    pub status: String,
    pub valid_until: Option<NaiveDate>,
    pub sizes: Vec<String>,
    pub areas: Vec<String>,
    pub departments: Vec<String>,
    pub current_version: i64,
    pub updated_at: String,
}

impl PolicySummary {
    /// A published policy past its validity date is expired.
    pub fn effective_status(&self, today: NaiveDate) -> &str {
        match (self.status.as_str(), self.valid_until) {
            ("published", Some(d)) if d < today => "expired",
            (s, _) => s,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct PolicyVersion {
    pub version: i64,
    pub content_hash: String,
    pub created_at: String,
    pub created_by: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct PolicyTask {
    pub id: i64,
    pub policy_id: i64,
    pub policy_title: String,
    pub article: i64,
    pub title: String,
    pub lead_units: Vec<String>,
    pub status: String,
}

pub const STATUSES: [&str; 4] = ["draft", "published", "expired", "repealed"];

pub fn status_label(s: &str) -> &'static str {
    match s {
        "draft" => "草稿",
        "published" => "已发布",
        "expired" => "已失效",
        "repealed" => "已废止",
        _ => "未知",
    }
}

const COLS: &str = "id, key, title, title_derived, issuer, doc_number, published_on, policy_type, status, \
                    valid_until, sizes, areas, departments, current_version, updated_at";

fn list(s: String) -> Result<Vec<String>> {
    serde_json::from_str(&s).map_err(|_| StoreError::Corrupt("政策列表字段".into()))
}

fn date(s: Option<String>) -> Result<Option<NaiveDate>> {
    s.map(|d| {
        d.parse()
            .map_err(|_| StoreError::Corrupt(format!("日期“{d}”")))
    })
    .transpose()
}

fn summary(r: &AnyRow) -> Result<PolicySummary> {
    Ok(PolicySummary {
        id: r.try_get("id")?,
        key: r.try_get("key")?,
        title: r.try_get("title")?,
        title_derived: r.try_get::<i64, _>("title_derived")? != 0,
        issuer: r.try_get("issuer")?,
        doc_number: r.try_get("doc_number")?,
        published_on: date(r.try_get("published_on")?)?,
        policy_type: r.try_get("policy_type")?,
        status: r.try_get("status")?,
        valid_until: date(r.try_get("valid_until")?)?,
        sizes: list(r.try_get("sizes")?)?,
        areas: list(r.try_get("areas")?)?,
        departments: list(r.try_get("departments")?)?,
        current_version: r.try_get("current_version")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

async fn write_tasks(
    tx: &mut Transaction<'static, Any>,
    policy_id: i64,
    tasks: &[NewTask],
    now: &str,
) -> Result<()> {
    for t in tasks {
        // Re-parsing a new version refreshes a task's wording and owners but
        // keeps its progress.
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM policy_tasks WHERE policy_id = $1 AND article = $2")
                .bind(policy_id)
                .bind(t.article)
                .fetch_optional(&mut **tx)
                .await?;
        let id = match existing {
            Some(id) => {
                sqlx::query("UPDATE policy_tasks SET title = $1, lead_units = $2, updated_at = $3 WHERE id = $4")
                    .bind(&t.title)
                    .bind(json_list(&t.lead_units))
                    .bind(now)
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
                sqlx::query("DELETE FROM policy_task_departments WHERE task_id = $1")
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
                id
            }
            None => {
                sqlx::query_scalar(
                    "INSERT INTO policy_tasks (policy_id, article, title, lead_units, status, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, '待启动', $5, $5) RETURNING id",
                )
                .bind(policy_id)
                .bind(t.article)
                .bind(&t.title)
                .bind(json_list(&t.lead_units))
                .bind(now)
                .fetch_one(&mut **tx)
                .await?
            }
        };
        let mut depts = t.departments.clone();
        depts.sort();
        depts.dedup();
        for d in depts {
            sqlx::query(
                "INSERT INTO policy_task_departments (task_id, department) VALUES ($1, $2)",
            )
            .bind(id)
            .bind(d)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

impl Store {
    /// Stores a parsed policy document: new key → new policy (version 1);
    /// same key and same content hash → unchanged; same key, new content →
    /// a new version that becomes current, the old ones kept.
    pub async fn import_policy(
        &self,
        p: &PolicyRecord,
        status: &str,
        actor: &Actor,
    ) -> Result<PolicyImportOutcome> {
        if !STATUSES.contains(&status) {
            return Err(StoreError::Invalid(format!("政策状态“{status}”无效")));
        }
        let mut tx = self.begin().await?;
        let now = ts(Utc::now());
        let existing = sqlx::query("SELECT id, current_version FROM policies WHERE key = $1")
            .bind(&p.key)
            .fetch_optional(&mut *tx)
            .await?;
        let (id, version, outcome) = match existing {
            Some(r) => {
                let id: i64 = r.try_get("id")?;
                let current: i64 = r.try_get("current_version")?;
                let same: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM policy_versions WHERE policy_id = $1 AND version = $2 AND content_hash = $3",
                )
                .bind(id)
                .bind(current)
                .bind(&p.content_hash)
                .fetch_one(&mut *tx)
                .await?;
                if same > 0 {
                    return Ok(PolicyImportOutcome::Unchanged { id });
                }
                let v = current + 1;
                (id, v, PolicyImportOutcome::NewVersion { id, version: v })
            }
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO policies (key, title, title_derived, issuer, doc_number, published_on, policy_type, status, \
                     valid_until, sizes, areas, departments, current_version, created_at, updated_at) \
                     VALUES ($1, '', 0, '', '', NULL, '', $2, NULL, '[]', '[]', '[]', 0, $3, $3) RETURNING id",
                )
                .bind(&p.key)
                .bind(status)
                .bind(&now)
                .fetch_one(&mut *tx)
                .await?;
                (id, 1, PolicyImportOutcome::Created { id })
            }
        };
        sqlx::query(
            "UPDATE policies SET title = $1, title_derived = $2, issuer = $3, doc_number = $4, published_on = $5, \
             policy_type = $6, valid_until = $7, sizes = $8, areas = $9, departments = $10, current_version = $11, \
             updated_at = $12 WHERE id = $13",
        )
        .bind(&p.title)
        .bind(p.title_derived as i64)
        .bind(&p.issuer)
        .bind(&p.doc_number)
        .bind(p.published_on.map(|d| d.to_string()))
        .bind(&p.policy_type)
        .bind(p.valid_until.map(|d| d.to_string()))
        .bind(json_list(&p.sizes))
        .bind(json_list(&p.areas))
        .bind(json_list(&p.departments))
        .bind(version)
        .bind(&now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO policy_versions (policy_id, version, content_hash, raw_text, parsed, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(version)
        .bind(&p.content_hash)
        .bind(&p.raw_text)
        .bind(p.parsed.to_string())
        .bind(&now)
        .bind(&actor.name)
        .execute(&mut *tx)
        .await?;
        write_tasks(&mut tx, id, &p.tasks, &now).await?;
        audit::record(
            &mut tx,
            actor,
            if version == 1 { "policy.create" } else { "policy.version" },
            "policy",
            &id.to_string(),
            None,
            Some(&serde_json::json!({"key": p.key, "title": p.title, "version": version, "hash": p.content_hash})),
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    pub async fn policies(&self) -> Result<Vec<PolicySummary>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLS} FROM policies ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(summary).collect()
    }

    /// The policies with these ids, in the order given (missing ids skipped):
    /// one query for a page of search hits.
    pub async fn policies_by_ids(&self, ids: &[i64]) -> Result<Vec<PolicySummary>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        // Ids are integers, so listing them in the SQL text is injection-free.
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLS} FROM policies WHERE id IN ({list})"
        )))
        .fetch_all(&self.pool)
        .await?;
        let mut found: std::collections::HashMap<i64, PolicySummary> = rows
            .iter()
            .map(|r| summary(r).map(|p| (p.id, p)))
            .collect::<Result<_>>()?;
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    pub async fn policy(&self, id: i64) -> Result<Option<PolicySummary>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLS} FROM policies WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(summary).transpose()
    }

    /// The stored text and parsed JSON of one version.
    pub async fn policy_version(
        &self,
        id: i64,
        version: i64,
    ) -> Result<Option<(String, serde_json::Value)>> {
        let row = sqlx::query(
            "SELECT raw_text, parsed FROM policy_versions WHERE policy_id = $1 AND version = $2",
        )
        .bind(id)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => {
                let parsed: String = r.try_get("parsed")?;
                Ok(Some((
                    r.try_get("raw_text")?,
                    serde_json::from_str(&parsed)
                        .map_err(|_| StoreError::Corrupt("政策解析结果".into()))?,
                )))
            }
            None => Ok(None),
        }
    }

    /// The current text of every policy, for building the search index.
    pub async fn policy_texts(&self) -> Result<Vec<(i64, String)>> {
        let rows = sqlx::query(
            "SELECT p.id, v.raw_text FROM policies p JOIN policy_versions v \
             ON v.policy_id = p.id AND v.version = p.current_version ORDER BY p.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("raw_text")?)))
            .collect()
    }

    pub async fn policy_versions(&self, id: i64) -> Result<Vec<PolicyVersion>> {
        let rows = sqlx::query(
            "SELECT version, content_hash, created_at, created_by FROM policy_versions WHERE policy_id = $1 ORDER BY version DESC",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PolicyVersion {
                    version: r.try_get("version")?,
                    content_hash: r.try_get("content_hash")?,
                    created_at: r.try_get("created_at")?,
                    created_by: r.try_get("created_by")?,
                })
            })
            .collect()
    }

    pub async fn set_policy_status(&self, id: i64, status: &str, actor: &Actor) -> Result<()> {
        if !["draft", "published", "repealed"].contains(&status) {
            return Err(StoreError::Invalid(format!(
                "政策状态“{status}”无效：可设为 草稿、已发布、已废止"
            )));
        }
        let before = self
            .policy(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("政策 {id}")))?;
        if before.status == status {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE policies SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status)
            .bind(ts(Utc::now()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            actor,
            "policy.status",
            "policy",
            &id.to_string(),
            Some(&serde_json::json!({"status": before.status})),
            Some(&serde_json::json!({"status": status})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Tasks owned by a department, or all tasks when `department` is None.
    pub async fn policy_tasks(&self, department: Option<&str>) -> Result<Vec<PolicyTask>> {
        let rows = sqlx::query(
            "SELECT t.id, t.policy_id, p.title AS policy_title, t.article, t.title, t.lead_units, t.status \
             FROM policy_tasks t JOIN policies p ON p.id = t.policy_id \
             WHERE $1 = '' OR EXISTS (SELECT 1 FROM policy_task_departments d WHERE d.task_id = t.id AND d.department = $1) \
             ORDER BY t.policy_id, t.article",
        )
        .bind(department.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PolicyTask {
                    id: r.try_get("id")?,
                    policy_id: r.try_get("policy_id")?,
                    policy_title: r.try_get("policy_title")?,
                    article: r.try_get("article")?,
                    title: r.try_get("title")?,
                    lead_units: list(r.try_get("lead_units")?)?,
                    status: r.try_get("status")?,
                })
            })
            .collect()
    }
}

impl PolicyRecord {
    /// Builds the stored form of a parsed document. The key is the 发文字号
    /// when the record has one, else `fallback_key` (e.g. the file name), so
    /// re-importing a corrected file makes a new version of the same policy.
    pub fn from_parsed(
        p: &zhengqi_domain::policy::ParsedPolicy,
        raw_text: String,
        fallback_key: &str,
        rd: &zhengqi_domain::reference::ReferenceData,
    ) -> PolicyRecord {
        let tag = |k: &str| {
            p.tags
                .get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let doc_number = tag("发文字号").unwrap_or_default();
        let issuer_text = tag("发文单位").unwrap_or_default();
        let issuer = rd
            .department_by_name(&issuer_text)
            .map(|d| d.code.clone())
            .unwrap_or(issuer_text);
        let mut departments: Vec<String> = Vec::new();
        if rd.department(&issuer).is_some() {
            departments.push(issuer.clone());
        }
        for a in &p.articles {
            for c in &a.lead_unit_codes {
                if !departments.contains(c) {
                    departments.push(c.clone());
                }
            }
        }
        PolicyRecord {
            key: if doc_number.is_empty() {
                fallback_key.to_owned()
            } else {
                doc_number.clone()
            },
            title: p.title.clone(),
            title_derived: p.title_derived,
            issuer,
            doc_number,
            published_on: tag("发布日期").and_then(|d| zhengqi_domain::enterprise::parse_date(&d)),
            policy_type: tag("政策类型").unwrap_or_default(),
            valid_until: p.valid_until,
            sizes: p
                .enterprise_sizes
                .iter()
                .map(|s| s.label().to_owned())
                .collect(),
            areas: p.area_codes(),
            departments,
            content_hash: p.content_hash.clone(),
            raw_text,
            parsed: zhengqi_domain::policy::to_json(p),
            tasks: p
                .articles
                .iter()
                .filter(|a| !a.lead_units.is_empty() || !a.unknown_lead_units.is_empty())
                .map(|a| NewTask {
                    article: i64::from(a.number),
                    title: a.heading.clone(),
                    lead_units: a
                        .lead_units
                        .iter()
                        .chain(&a.unknown_lead_units)
                        .cloned()
                        .collect(),
                    departments: a.lead_unit_codes.clone(),
                })
                .collect(),
        }
    }
}

impl Store {
    /// Task counts per lead department and status, for supervision.
    pub async fn task_counts_by_department(&self) -> Result<Vec<(String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT d.department, t.status, COUNT(*) AS n FROM policy_task_departments d \
             JOIN policy_tasks t ON t.id = d.task_id GROUP BY d.department, t.status ORDER BY 3 DESC, 1",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("department")?,
                    r.try_get("status")?,
                    r.try_get("n")?,
                ))
            })
            .collect()
    }

    /// Finds a policy by its 发文字号/key, or failing that by exact title.
    pub async fn find_policy(
        &self,
        doc_number: &str,
        title: &str,
    ) -> Result<Option<PolicySummary>> {
        let (doc_number, title) = (doc_number.trim(), title.trim());
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLS} FROM policies WHERE ($1 <> '' AND (key = $1 OR doc_number = $1)) OR ($1 = '' AND title = $2) \
             ORDER BY id LIMIT 1"
        )))
        .bind(doc_number)
        .bind(title)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(summary).transpose()
    }
}
