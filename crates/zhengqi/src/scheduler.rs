//! `zhengqi scheduler run-once` and the scheduler task of `serve`. The
//! rules are in `zhengqi_domain::approval::schedule`, the transactions in
//! `zhengqi_store`; this only picks the time, runs a pass and reports.

use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use zhengqi_domain::reference::ReferenceData;
use zhengqi_store::{Actor, ScheduleReport, Store};

use crate::cli::DbArgs;
use crate::{db, fail};

/// How often `serve` runs the scheduler.
pub const INTERVAL: Duration = Duration::from_secs(60);

fn actor() -> Actor {
    Actor::system("平台调度")
}

/// 09:00 Beijing time on `day`, the scheduler's clock for `--date`.
fn morning(day: NaiveDate) -> Option<DateTime<Utc>> {
    day.and_hms_opt(1, 0, 0).map(|t| t.and_utc())
}

/// The report in Chinese, one line per thing done.
pub fn describe(r: &ScheduleReport, rd: &ReferenceData) -> Vec<String> {
    let dept = |c: &str| {
        rd.department(c)
            .map(|d| d.name.clone())
            .unwrap_or_else(|| c.to_owned())
    };
    let mut out = Vec::new();
    for (case, line) in &r.events {
        out.push(format!("办件 {case}：{line}"));
    }
    for (case, rem) in &r.reminders {
        out.push(format!("办件 {case}：{}", rem.describe(dept)));
    }
    out
}

pub async fn run_once(date: Option<&str>, args: &DbArgs) -> anyhow::Result<ExitCode> {
    let now = match date {
        None => Utc::now(),
        Some(d) => {
            let day = d
                .trim()
                .parse::<NaiveDate>()
                .map_err(|_| fail(2, format!("日期“{d}”无效，应为 YYYY-MM-DD，如 2026-03-02")))?;
            let t = morning(day).ok_or_else(|| fail(2, format!("日期“{d}”无效")))?;
            // Events are stamped with this time; a future stamp would make
            // later real actions look earlier than the scheduler's.
            if t > Utc::now() {
                return Err(fail(
                    2,
                    format!("日期 {day} 晚于现在，调度只能按今天或以前的日期运行"),
                ));
            }
            t
        }
    };
    let (store, rd) = db::open(args).await?;
    let report = store
        .run_schedule(
            now,
            &crate::calendar::with_stored(&store, &crate::calendar::layers()?).await?,
            &actor(),
        )
        .await?;
    let today = report.today.map(|d| d.to_string()).unwrap_or_default();
    println!(
        "调度日期 {today}：检查办件 {} 件，执行事件 {} 项，发送提醒 {} 条。",
        report.cases_checked,
        report.events.len(),
        report.reminders.len()
    );
    for line in describe(&report, &rd) {
        println!("  {line}");
    }
    for p in &report.problems {
        println!("  未能处理：{p}");
    }
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        // Done what it could; the exit code tells cron something needs a look.
        ExitCode::from(3)
    })
}

/// Runs one pass now and then every [`INTERVAL`]; errors are logged and
/// the next pass tries again. Never panics the server.
pub fn spawn(store: Store, rd: ReferenceData, layers: Vec<String>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        // A calendar gap repeats every minute; log it when it changes.
        let mut last_problems: Vec<String> = Vec::new();
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // Each pass reads the calendar again: an administrator may have
            // loaded a holiday notice since (`/admin/calendar`).
            let cal = match crate::calendar::with_stored(&store, &layers).await {
                Ok(cal) => cal,
                Err(e) => {
                    tracing::warn!(target: "scheduler", error = %e, "工作日日历读取失败，下一分钟重试");
                    continue;
                }
            };
            match store.run_schedule(Utc::now(), &cal, &actor()).await {
                Ok(r) => {
                    for line in describe(&r, &rd) {
                        tracing::info!(target: "scheduler", "{line}");
                    }
                    if r.problems != last_problems {
                        for p in &r.problems {
                            tracing::warn!(target: "scheduler", problem = %p, "调度未能完成的处理");
                        }
                        last_problems = r.problems;
                    }
                }
                Err(e) => {
                    tracing::warn!(target: "scheduler", error = %e, "审批调度运行失败，下一分钟重试")
                }
            }
        }
    })
}
