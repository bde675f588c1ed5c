//! Holiday notices loaded after the build (法定节假日安排), kept in the
//! database so an administrator can add next year's from the web page and
//! every process of the deployment (server, scheduler) sees it.

use crate::{Actor, Result, Store, audit};

/// The `meta` key holding the notices: JSON in the format of
/// `data/national/cn-holidays.json`, one entry per year.
const KEY: &str = "calendar.notices";

impl Store {
    /// The notices loaded so far, if any (validated when they were saved).
    pub async fn holiday_notices(&self) -> Result<Option<String>> {
        self.meta(KEY).await
    }

    /// Replaces the loaded notices with `json`, which the caller has
    /// validated as a whole calendar; audited with before and after.
    pub async fn save_holiday_notices(&self, json: &str, actor: &Actor) -> Result<()> {
        let mut tx = self.begin().await?;
        let before: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(KEY)
            .fetch_optional(&mut *tx)
            .await?;
        if before.as_deref() == Some(json) {
            return Ok(());
        }
        sqlx::query("DELETE FROM meta WHERE key = $1")
            .bind(KEY)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2)")
            .bind(KEY)
            .bind(json)
            .execute(&mut *tx)
            .await?;
        let as_value = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
        audit::record(
            &mut tx,
            actor,
            "calendar.notices",
            "calendar",
            "holidays",
            before.as_deref().and_then(as_value).as_ref(),
            as_value(json).as_ref(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
