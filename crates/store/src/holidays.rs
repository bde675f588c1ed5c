//! Holiday notices loaded after the build (法定节假日安排), kept in the
//! database so an administrator can add next year's from the web page and
//! every process of the deployment (server, scheduler) sees it.

use zhengqi_domain::calendar::{WorkCalendar, merge_notices};

use crate::{Actor, Backend, Result, Store, StoreError, audit};

/// The `meta` key holding the notices: JSON in the format of
/// `data/national/cn-holidays.json`, one entry per year.
const KEY: &str = "calendar.notices";

/// The shipped notices, then `layers`, then `stored`, as one calendar.
fn calendar(layers: &[String], stored: Option<&str>) -> std::result::Result<WorkCalendar, String> {
    let mut all: Vec<&str> = layers.iter().map(String::as_str).collect();
    all.extend(stored);
    WorkCalendar::official_with_all(&all).map_err(|e| e.to_string())
}

impl Store {
    /// The notices administrators loaded, if any (JSON, merged).
    pub async fn holiday_notices(&self) -> Result<Option<String>> {
        self.meta(KEY).await
    }

    /// The working-day calendar of this deployment: the shipped notices,
    /// then `layers` (the operator's `ZHENGQI_HOLIDAYS` file), then the
    /// notices administrators loaded. Stored notices that no longer make a
    /// valid calendar with the layers are left out, and why is returned for
    /// the caller to report.
    pub async fn work_calendar(&self, layers: &[String]) -> Result<(WorkCalendar, Option<String>)> {
        let mut problem = None;
        if let Some(stored) = self.holiday_notices().await? {
            match calendar(layers, Some(&stored)) {
                Ok(cal) => return Ok((cal, None)),
                Err(e) => problem = Some(format!("已载入的节假日安排无效，未采用：{e}")),
            }
        }
        let cal = calendar(layers, None).map_err(StoreError::Invalid)?;
        Ok((cal, problem))
    }

    /// Lays `notice` (same format; a year in it replaces the same year)
    /// over the notices loaded before, in one transaction: the result must
    /// make a valid calendar over the shipped data and `layers`, or nothing
    /// is stored (`Invalid` says why). Audited; returns the new calendar.
    pub async fn load_holiday_notice(
        &self,
        notice: &str,
        layers: &[String],
        actor: &Actor,
    ) -> Result<WorkCalendar> {
        let mut tx = self.begin().await?;
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        };
        let before: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT value FROM meta WHERE key = $1{lock}"
        )))
        .bind(KEY)
        .fetch_optional(&mut *tx)
        .await?;
        let merged = merge_notices(before.as_deref().unwrap_or("{}"), notice)
            .map_err(|e| StoreError::Invalid(format!("格式有误：{e}")))?;
        let cal = calendar(layers, Some(&merged)).map_err(StoreError::Invalid)?;
        if before.as_deref() == Some(merged.as_str()) {
            return Ok(cal);
        }
        crate::put_meta(&mut tx, KEY, &merged).await?;
        let as_value = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
        audit::record(
            &mut tx,
            actor,
            "calendar.notices",
            "calendar",
            "holidays",
            before.as_deref().and_then(as_value).as_ref(),
            as_value(&merged).as_ref(),
        )
        .await?;
        tx.commit().await?;
        Ok(cal)
    }
}
