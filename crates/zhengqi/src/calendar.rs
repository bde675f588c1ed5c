//! `zhengqi calendar …`: working-day arithmetic on the official calendar.

use std::process::ExitCode;

use chrono::NaiveDate;
use zhengqi_domain::calendar::WorkCalendar;
use zhengqi_store::Store;

use crate::fail;

/// Names a JSON file (the format of `data/national/cn-holidays.json`) with
/// arrangements published after this build, laid over the shipped ones.
pub const HOLIDAYS_ENV: &str = "ZHENGQI_HOLIDAYS";

/// The working-day calendar of the commands that have no database (the
/// `calendar` CLI): the shipped notices plus the file named by
/// `ZHENGQI_HOLIDAYS`, if set. A file that cannot be read or is invalid
/// stops the command: deadlines computed on a calendar the operator did not
/// intend would be wrong silently.
pub fn load() -> anyhow::Result<WorkCalendar> {
    let layers = layers()?;
    let refs: Vec<&str> = layers.iter().map(String::as_str).collect();
    WorkCalendar::official_with_all(&refs).map_err(|e| fail(2, e.to_string()))
}

/// The notices the operator lays over the shipped ones: the file named by
/// `ZHENGQI_HOLIDAYS` (none when unset), checked as a whole calendar.
pub fn layers() -> anyhow::Result<Vec<String>> {
    let Some(path) = std::env::var_os(HOLIDAYS_ENV) else {
        return Ok(vec![]);
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        fail(
            2,
            format!(
                "无法读取 {HOLIDAYS_ENV} 指定的节假日文件 {}：{e}",
                path.to_string_lossy()
            ),
        )
    })?;
    WorkCalendar::official_with(&text).map_err(|e| {
        fail(
            2,
            format!(
                "{HOLIDAYS_ENV} 指定的节假日文件 {} 无效：{e}",
                path.to_string_lossy()
            ),
        )
    })?;
    Ok(vec![text])
}

/// The calendar of the processes that have the database (server,
/// scheduler): the shipped notices, then `layers`, then the notices
/// administrators loaded (`/admin/calendar`; `Store::work_calendar`).
pub async fn with_stored(store: &Store, layers: &[String]) -> anyhow::Result<WorkCalendar> {
    let (cal, problem) = store
        .work_calendar(layers)
        .await
        .map_err(|e| fail(2, e.to_string()))?;
    if let Some(p) = problem {
        tracing::warn!(problem = %p, "holiday notices");
    }
    Ok(cal)
}

fn date(s: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| fail(2, format!("日期“{s}”无效，应为 YYYY-MM-DD，如 2025-10-09")))
}

pub fn add_workdays(start: &str, n: &str) -> anyhow::Result<ExitCode> {
    let start = date(start)?;
    let n: i64 = n
        .trim()
        .parse()
        .map_err(|_| fail(2, format!("工作日天数“{n}”应为不小于1的整数")))?;
    let d = load()?
        .add_workdays(start, n)
        .map_err(|e| fail(2, e.to_string()))?;
    println!("{d}");
    Ok(ExitCode::SUCCESS)
}

pub fn workdays(from: &str, to: &str) -> anyhow::Result<ExitCode> {
    let n = load()?
        .workdays_between(date(from)?, date(to)?)
        .map_err(|e| fail(2, e.to_string()))?;
    println!("{n}");
    Ok(ExitCode::SUCCESS)
}
