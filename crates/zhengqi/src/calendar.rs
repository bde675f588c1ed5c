//! `zhengqi calendar …`: working-day arithmetic on the official calendar.

use std::process::ExitCode;

use chrono::NaiveDate;
use zhengqi_domain::calendar::WorkCalendar;

use crate::fail;

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
    let d = WorkCalendar::official()
        .add_workdays(start, n)
        .map_err(|e| fail(2, e.to_string()))?;
    println!("{d}");
    Ok(ExitCode::SUCCESS)
}

pub fn workdays(from: &str, to: &str) -> anyhow::Result<ExitCode> {
    let n = WorkCalendar::official()
        .workdays_between(date(from)?, date(to)?)
        .map_err(|e| fail(2, e.to_string()))?;
    println!("{n}");
    Ok(ExitCode::SUCCESS)
}
