//! The service item catalogue as the departments maintain it. Seeded once
//! from the shipped JSON; afterwards every change is one transaction that
//! bumps the catalogue version (compare-and-set on the base version the
//! editor saw), upserts the changed items and 一件事, appends each item's new
//! version to its history and writes one audit entry per changed record.
//!
//! The store does not validate: the domain (`catalogue_edit`) checks the
//! whole catalogue with the change applied before calling here.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;
use zhengqi_domain::approval::catalogue::{Catalogue, CombinedMatter, ServiceItem};
use zhengqi_domain::approval::catalogue_edit::CatalogueChanges;

use crate::{Actor, Result, Store, StoreError, audit, parse_ts, ts};

/// The catalogue as stored, with the version edits must name as their base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCatalogue {
    pub version: i64,
    pub catalogue: Catalogue,
}

/// One saved version of an item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemVersion {
    pub version: i64,
    pub changed_at: DateTime<Utc>,
    pub changed_by: String,
    pub item: ServiceItem,
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}：{e}")))
}

impl Store {
    /// The stored catalogue, or `None` before it was seeded.
    pub async fn catalogue(&self) -> Result<Option<StoredCatalogue>> {
        let Some(state) = sqlx::query("SELECT version, source FROM catalogue_state WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let version: i64 = state.try_get("version")?;
        let source: String = state.try_get("source")?;
        let items = sqlx::query("SELECT code, body FROM catalogue_items ORDER BY position, code")
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| {
                let code: String = r.try_get("code")?;
                from_json(&format!("事项“{code}”"), &r.try_get::<String, _>("body")?)
            })
            .collect::<Result<Vec<ServiceItem>>>()?;
        let combined_matters =
            sqlx::query("SELECT code, body FROM catalogue_matters ORDER BY position, code")
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| {
                    let code: String = r.try_get("code")?;
                    from_json(&format!("一件事“{code}”"), &r.try_get::<String, _>("body")?)
                })
                .collect::<Result<Vec<CombinedMatter>>>()?;
        Ok(Some(StoredCatalogue {
            version,
            catalogue: Catalogue {
                source,
                items,
                combined_matters,
            },
        }))
    }

    /// Stores `seed` as version 1 when no catalogue is stored yet. Returns
    /// whether it did; a concurrent seeder that lost the race changes nothing.
    pub async fn seed_catalogue(&self, seed: &Catalogue, actor: &Actor) -> Result<bool> {
        let now = ts(Utc::now());
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO catalogue_state (id, version, source, updated_at) VALUES (1, 1, $1, $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&seed.source)
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        for (pos, it) in seed.items.iter().enumerate() {
            let body = to_json(it)?;
            sqlx::query(
                "INSERT INTO catalogue_items (code, position, department, body, version, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, 1, $5, $6)",
            )
            .bind(&it.code)
            .bind(pos as i64)
            .bind(&it.department)
            .bind(&body)
            .bind(&now)
            .bind(&actor.name)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO catalogue_item_versions (code, version, body, changed_at, changed_by) \
                 VALUES ($1, 1, $2, $3, $4)",
            )
            .bind(&it.code)
            .bind(&body)
            .bind(&now)
            .bind(&actor.name)
            .execute(&mut *tx)
            .await?;
        }
        for (pos, m) in seed.combined_matters.iter().enumerate() {
            sqlx::query(
                "INSERT INTO catalogue_matters (code, position, body, version, updated_at, updated_by) \
                 VALUES ($1, $2, $3, 1, $4, $5)",
            )
            .bind(&m.code)
            .bind(pos as i64)
            .bind(to_json(m)?)
            .bind(&now)
            .bind(&actor.name)
            .execute(&mut *tx)
            .await?;
        }
        audit::record(
            &mut tx,
            actor,
            "catalogue.seed",
            "catalogue",
            "1",
            None,
            Some(&json!({
                "source": seed.source,
                "items": seed.items.len(),
                "combined_matters": seed.combined_matters.len(),
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The stored catalogue, seeding it from `seed` on first use.
    pub async fn catalogue_or_seed(
        &self,
        seed: &Catalogue,
        actor: &Actor,
    ) -> Result<StoredCatalogue> {
        if let Some(c) = self.catalogue().await? {
            return Ok(c);
        }
        self.seed_catalogue(seed, actor).await?;
        self.catalogue()
            .await?
            .ok_or_else(|| StoreError::Corrupt("服务事项清单初始化后仍为空".into()))
    }

    /// Applies `changes` on top of `base_version` in one transaction and
    /// returns the new version. Refused with `Conflict` when someone else
    /// saved since `base_version`. No changes: nothing written.
    pub async fn save_catalogue(
        &self,
        base_version: i64,
        changes: &CatalogueChanges,
        actor: &Actor,
    ) -> Result<i64> {
        if changes.is_empty() {
            return Ok(base_version);
        }
        let now = ts(Utc::now());
        let version = base_version + 1;
        let mut tx = self.begin().await?;
        let bumped = sqlx::query(
            "UPDATE catalogue_state SET version = $1, updated_at = $2 WHERE id = 1 AND version = $3",
        )
        .bind(version)
        .bind(&now)
        .bind(base_version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if bumped == 0 {
            tx.rollback().await?;
            return Err(StoreError::Conflict(
                "服务事项清单已被他人修改，请刷新后重新编辑".into(),
            ));
        }
        for (before, item) in &changes.items {
            // The stored row, not the caller's copy, is the audited "before".
            let stored: Option<String> =
                sqlx::query_scalar("SELECT body FROM catalogue_items WHERE code = $1")
                    .bind(&item.code)
                    .fetch_optional(&mut *tx)
                    .await?;
            if stored.is_some() != before.is_some() {
                tx.rollback().await?;
                return Err(StoreError::Conflict(format!(
                    "事项“{}”已被他人新增或修改，请刷新后重试",
                    item.code
                )));
            }
            let body = to_json(item)?;
            let position: i64 = match stored {
                Some(_) => {
                    sqlx::query_scalar("SELECT position FROM catalogue_items WHERE code = $1")
                        .bind(&item.code)
                        .fetch_one(&mut *tx)
                        .await?
                }
                None => {
                    sqlx::query_scalar::<_, i64>(
                        "SELECT COALESCE(MAX(position), -1) + 1 FROM catalogue_items",
                    )
                    .fetch_one(&mut *tx)
                    .await?
                }
            };
            sqlx::query(
                "INSERT INTO catalogue_items (code, position, department, body, version, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (code) DO UPDATE SET department = excluded.department, body = excluded.body, \
                 version = excluded.version, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            )
            .bind(&item.code)
            .bind(position)
            .bind(&item.department)
            .bind(&body)
            .bind(version)
            .bind(&now)
            .bind(&actor.name)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO catalogue_item_versions (code, version, body, changed_at, changed_by) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&item.code)
            .bind(version)
            .bind(&body)
            .bind(&now)
            .bind(&actor.name)
            .execute(&mut *tx)
            .await?;
            let before_json = stored
                .as_deref()
                .map(|s| from_json::<serde_json::Value>("事项", s))
                .transpose()?;
            audit::record(
                &mut tx,
                actor,
                if before_json.is_some() {
                    "catalogue.item.update"
                } else {
                    "catalogue.item.create"
                },
                "service_item",
                &item.code,
                before_json.as_ref(),
                Some(&serde_json::to_value(item).map_err(|e| StoreError::Invalid(e.to_string()))?),
            )
            .await?;
        }
        for (_, m) in &changes.matters {
            let stored: Option<String> =
                sqlx::query_scalar("SELECT body FROM catalogue_matters WHERE code = $1")
                    .bind(&m.code)
                    .fetch_optional(&mut *tx)
                    .await?;
            let position: i64 = match stored {
                Some(_) => {
                    sqlx::query_scalar("SELECT position FROM catalogue_matters WHERE code = $1")
                        .bind(&m.code)
                        .fetch_one(&mut *tx)
                        .await?
                }
                None => {
                    sqlx::query_scalar::<_, i64>(
                        "SELECT COALESCE(MAX(position), -1) + 1 FROM catalogue_matters",
                    )
                    .fetch_one(&mut *tx)
                    .await?
                }
            };
            sqlx::query(
                "INSERT INTO catalogue_matters (code, position, body, version, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (code) DO UPDATE SET body = excluded.body, version = excluded.version, \
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            )
            .bind(&m.code)
            .bind(position)
            .bind(to_json(m)?)
            .bind(version)
            .bind(&now)
            .bind(&actor.name)
            .execute(&mut *tx)
            .await?;
            let before_json = stored
                .as_deref()
                .map(|s| from_json::<serde_json::Value>("一件事", s))
                .transpose()?;
            audit::record(
                &mut tx,
                actor,
                if before_json.is_some() {
                    "catalogue.matter.update"
                } else {
                    "catalogue.matter.create"
                },
                "combined_matter",
                &m.code,
                before_json.as_ref(),
                Some(&serde_json::to_value(m).map_err(|e| StoreError::Invalid(e.to_string()))?),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(version)
    }

    /// An item's saved versions, newest first.
    pub async fn service_item_history(&self, code: &str) -> Result<Vec<ItemVersion>> {
        sqlx::query(
            "SELECT version, body, changed_at, changed_by FROM catalogue_item_versions \
             WHERE code = $1 ORDER BY version DESC",
        )
        .bind(code)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(ItemVersion {
                version: r.try_get("version")?,
                changed_at: parse_ts(&r.try_get::<String, _>("changed_at")?)?,
                changed_by: r.try_get("changed_by")?,
                item: from_json("事项版本", &r.try_get::<String, _>("body")?)?,
            })
        })
        .collect()
    }
}
