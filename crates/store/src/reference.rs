//! Reference data documents. The database keeps the JSON documents the
//! city loaded; the in-memory index is rebuilt from them at start.

use chrono::Utc;
use serde_json::json;
use sqlx::Row;
use zhengqi_domain::reference::ReferenceData;

use crate::{Actor, Result, Store, StoreError, audit, ts};

/// The four documents that make up a city's reference data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceDocs {
    pub areas: String,
    pub departments: String,
    pub industries: String,
    pub size_rules: String,
}

impl ReferenceDocs {
    pub const KINDS: [&'static str; 4] = ["areas", "departments", "industries", "size_rules"];

    /// Zhuhai's set, shipped with the binary as the default.
    pub fn zhuhai() -> ReferenceDocs {
        ReferenceDocs {
            areas: include_str!("../../../data/zhuhai/areas.json").to_owned(),
            departments: include_str!("../../../data/zhuhai/departments.json").to_owned(),
            industries: include_str!("../../../data/national/industries.json").to_owned(),
            size_rules: include_str!("../../../data/national/size-classes.json").to_owned(),
        }
    }

    pub fn parse(&self) -> Result<ReferenceData> {
        ReferenceData::from_json(
            &self.areas,
            &self.departments,
            &self.industries,
            &self.size_rules,
        )
        .map_err(|e| StoreError::Invalid(e.to_string()))
    }

    fn get(&self, kind: &str) -> &str {
        match kind {
            "areas" => &self.areas,
            "departments" => &self.departments,
            "industries" => &self.industries,
            _ => &self.size_rules,
        }
    }
}

impl Store {
    pub async fn reference_docs(&self) -> Result<Option<ReferenceDocs>> {
        let rows = sqlx::query("SELECT kind, body FROM reference_docs")
            .fetch_all(&self.pool)
            .await?;
        let mut docs = ReferenceDocs {
            areas: String::new(),
            departments: String::new(),
            industries: String::new(),
            size_rules: String::new(),
        };
        let mut found = 0;
        for r in rows {
            let kind: String = r.try_get("kind")?;
            let body: String = r.try_get("body")?;
            found += 1;
            match kind.as_str() {
                "areas" => docs.areas = body,
                "departments" => docs.departments = body,
                "industries" => docs.industries = body,
                "size_rules" => docs.size_rules = body,
                _ => found -= 1,
            }
        }
        Ok((found == 4).then_some(docs))
    }

    /// Validates and stores a full set of documents, replacing the old set;
    /// nothing changes when any document is invalid.
    pub async fn load_reference(
        &self,
        docs: &ReferenceDocs,
        actor: &Actor,
    ) -> Result<ReferenceData> {
        let parsed = docs.parse()?;
        let old = self.reference_docs().await?;
        if old.as_ref() == Some(docs) {
            return Ok(parsed);
        }
        let mut tx = self.begin().await?;
        let now = ts(Utc::now());
        for kind in ReferenceDocs::KINDS {
            sqlx::query("DELETE FROM reference_docs WHERE kind = $1")
                .bind(kind)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO reference_docs (kind, body, updated_at) VALUES ($1, $2, $3)")
                .bind(kind)
                .bind(docs.get(kind))
                .bind(&now)
                .execute(&mut *tx)
                .await?;
        }
        let summary = |d: &ReferenceData| json!({"areas": d.areas.len(), "departments": d.departments.len(), "industries": d.industries.len()});
        let before = match &old {
            Some(o) => o.parse().ok().map(|d| summary(&d)),
            None => None,
        };
        audit::record(
            &mut tx,
            actor,
            "reference.load",
            "reference",
            "all",
            before.as_ref(),
            Some(&summary(&parsed)),
        )
        .await?;
        tx.commit().await?;
        Ok(parsed)
    }

    /// The stored reference data, or the embedded Zhuhai set stored now
    /// when the database has none yet.
    pub async fn reference_or_default(&self, default: &ReferenceDocs) -> Result<ReferenceData> {
        match self.reference_docs().await? {
            Some(d) => d.parse(),
            None => self.load_reference(default, &Actor::system("初始化")).await,
        }
    }
}
