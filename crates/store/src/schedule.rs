//! Running the approval scheduler against the stored cases. The domain
//! (`approval::schedule::plan`) decides what is due; here each case is
//! handled in one transaction under its lock: due events go through the
//! same path as every other case event (event log, snapshot, outbox,
//! audit), and each reminder is recorded in `schedule_notices` at most once
//! per (case, key) together with its outbox row and audit entry. Two
//! schedulers running at once (two servers, or `run-once` beside `serve`)
//! queue on the case lock, and the second finds nothing left to do.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::Row;
use zhengqi_domain::approval::case::{Case, local_day};
use zhengqi_domain::approval::schedule::{Action, PartFlag, Reminder, part_flags, plan};
use zhengqi_domain::calendar::WorkCalendar;

use crate::cases::{append_event, case_from, json};
use crate::{Actor, Result, Store, StoreError, audit, parse_ts, ts};

/// Statuses (as stored) in which a case can no longer change.
const TERMINAL: &str = "'已撤销受理', '已办结', '不予许可', '已撤回'";

/// What one scheduler run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ScheduleReport {
    pub today: Option<NaiveDate>,
    pub cases_checked: usize,
    /// (case id, Chinese timeline line) for each event applied.
    pub events: Vec<(String, String)>,
    /// Reminders sent in this run (not those sent before).
    pub reminders: Vec<(String, Reminder)>,
    /// What could not be done, in Chinese (calendar gaps, refused events,
    /// per-case database errors); the run goes on with the other cases.
    pub problems: Vec<String>,
}

/// A reminder as recorded.
#[derive(Clone, Debug, Serialize)]
pub struct SentReminder {
    pub case_id: String,
    pub key: String,
    pub sent_on: NaiveDate,
    pub sent_at: DateTime<Utc>,
    pub reminder: Reminder,
}

/// An open department part at ≥ 80% of its time or past its deadline.
#[derive(Clone, Debug, Serialize)]
pub struct FlaggedPart {
    pub case_id: String,
    pub applicant: String,
    pub matter_code: String,
    pub flag: PartFlag,
}

impl Store {
    /// Ids of the cases that can still change, oldest first.
    pub async fn open_case_ids(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM cases WHERE status NOT IN ({TERMINAL}) ORDER BY created_at, id"
        )))
        .fetch_all(&self.pool)
        .await?)
    }

    /// One scheduler pass over every open case on `local_day(now)`. Fails
    /// only when the case list cannot be read; a failing case is reported
    /// in `problems` and the others still run.
    pub async fn run_schedule(
        &self,
        now: DateTime<Utc>,
        cal: &WorkCalendar,
        actor: &Actor,
    ) -> Result<ScheduleReport> {
        let mut report = ScheduleReport {
            today: Some(local_day(now)),
            ..Default::default()
        };
        let today = local_day(now);
        for id in self.open_case_ids().await? {
            report.cases_checked += 1;
            // Most cases have nothing new on most minutes: decide that from
            // an unlocked read, so idle passes take no write lock (SQLite
            // has one for the whole database). The locked pass re-plans.
            match self.nothing_new(&id, today, cal).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    report.problems.push(format!("办件 {id}：{e}"));
                    continue;
                }
            }
            if let Err(e) = self
                .run_case_schedule(&id, now, cal, actor, &mut report)
                .await
            {
                report.problems.push(format!("办件 {id}：{e}"));
            }
        }
        Ok(report)
    }

    /// True when the plan for a case has no event and only reminders
    /// already sent (read without the lock; a stale answer only delays
    /// the work by one pass).
    async fn nothing_new(&self, id: &str, today: NaiveDate, cal: &WorkCalendar) -> Result<bool> {
        let Some(case) = self.case(id).await? else {
            return Ok(true);
        };
        let p = plan(&case, today, cal);
        if !p.problems.is_empty() {
            // Run the full pass so the problems are reported.
            return Ok(false);
        }
        let sent: Vec<String> =
            sqlx::query_scalar("SELECT notice_key FROM schedule_notices WHERE case_id = $1")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        Ok(p.actions.iter().all(|a| match a {
            Action::Apply(_) => false,
            Action::Remind { key, .. } => sent.contains(key),
        }))
    }

    /// The scheduler for one case, in one transaction under the case lock.
    pub async fn run_case_schedule(
        &self,
        id: &str,
        now: DateTime<Utc>,
        cal: &WorkCalendar,
        actor: &Actor,
        report: &mut ScheduleReport,
    ) -> Result<()> {
        let today = local_day(now);
        let mut tx = self.begin().await?;
        let mut locked = self.lock_case(&mut tx, id).await?;
        let mut events = Vec::new();
        let mut sent = Vec::new();
        let mut problems = Vec::new();
        // Each round applies at most one event; a case has few materials,
        // so the bound is never reached in practice.
        for _ in 0..16 {
            let p = plan(&locked.case, today, cal);
            problems.extend(p.problems);
            let mut applied = false;
            for a in p.actions {
                match a {
                    Action::Apply(event) => {
                        match append_event(&mut tx, &mut locked, &event, actor, now, cal).await {
                            Ok(_) => {
                                let line = locked.case.timeline().pop().unwrap_or_default();
                                events.push((id.to_owned(), line));
                                applied = true;
                            }
                            Err(StoreError::Invalid(m)) => {
                                problems.push(format!("办件 {id} 的调度事件未能执行：{m}"))
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    Action::Remind { key, reminder } => {
                        if record_reminder(&mut tx, &locked.case, &key, &reminder, now, actor)
                            .await?
                        {
                            sent.push((id.to_owned(), reminder));
                        }
                    }
                }
            }
            if !applied {
                break;
            }
        }
        tx.commit().await?;
        // Only reported once committed: a rolled-back run did nothing.
        report.events.extend(events);
        report.reminders.extend(sent);
        problems.dedup();
        report.problems.extend(problems);
        Ok(())
    }

    /// The reminders sent for a case, oldest first.
    pub async fn case_reminders(&self, id: &str) -> Result<Vec<SentReminder>> {
        let rows = sqlx::query(
            "SELECT case_id, notice_key, notice, sent_on, created_at FROM schedule_notices \
             WHERE case_id = $1 ORDER BY created_at, notice_key",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let notice: String = r.try_get("notice")?;
                let sent_on: String = r.try_get("sent_on")?;
                Ok(SentReminder {
                    case_id: r.try_get("case_id")?,
                    key: r.try_get("notice_key")?,
                    sent_on: sent_on
                        .parse()
                        .map_err(|_| StoreError::Corrupt(format!("提醒日期“{sent_on}”")))?,
                    sent_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
                    reminder: serde_json::from_str(&notice)
                        .map_err(|e| StoreError::Corrupt(format!("提醒：{e}")))?,
                })
            })
            .collect()
    }

    /// Open cases with a running deadline (a part under review or awaiting
    /// correction), optionally only those with such a part in `department`.
    pub async fn timed_cases(&self, department: Option<&str>) -> Result<Vec<Case>> {
        let filter = if department.is_some() {
            " AND department = $1"
        } else {
            ""
        };
        let sql = format!(
            "SELECT snapshot FROM cases WHERE status NOT IN ({TERMINAL}) AND id IN \
             (SELECT case_id FROM case_parts WHERE state IN ('审查中', '待补正') \
              AND deadline IS NOT NULL{filter}) ORDER BY id"
        );
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
        if let Some(d) = department {
            q = q.bind(d.to_owned());
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(|s| case_from(s)).collect()
    }

    /// Department parts at ≥ 80% of their time or overdue on `today`, the
    /// most overdue first; restricted to one department when given. Also
    /// returns what the calendar could not count.
    pub async fn flagged_parts(
        &self,
        today: NaiveDate,
        cal: &WorkCalendar,
        department: Option<&str>,
    ) -> Result<(Vec<FlaggedPart>, Vec<String>)> {
        let mut out = Vec::new();
        let mut problems = Vec::new();
        for c in self.timed_cases(department).await? {
            let (flags, p) = part_flags(&c, today, cal);
            problems.extend(p);
            for flag in flags {
                if department.is_some_and(|d| d != flag.department) {
                    continue;
                }
                out.push(FlaggedPart {
                    case_id: c.id.clone(),
                    applicant: c.applicant.clone(),
                    matter_code: c.matter_code.clone(),
                    flag,
                });
            }
        }
        // Overdue before warnings, then the fewest days left (most over) first.
        out.sort_by(|a, b| {
            let rank = |f: &FlaggedPart| {
                (
                    f.flag.kind != zhengqi_domain::approval::case::WarningKind::Overdue,
                    f.flag.time_left.unwrap_or(i64::MIN),
                    f.flag.deadline,
                    f.case_id.clone(),
                )
            };
            rank(a).cmp(&rank(b))
        });
        Ok((out, problems))
    }
}

/// Records a reminder unless it was sent before; when new, writes its
/// outbox row and audit entry. Returns whether it was new.
async fn record_reminder(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    case: &Case,
    key: &str,
    reminder: &Reminder,
    at: DateTime<Utc>,
    actor: &Actor,
) -> Result<bool> {
    // The run's clock, not the wall clock: `run-once --date` dates its
    // reminders on that day, in order with the events it applied.
    let today = local_day(at);
    let now = ts(at);
    let notice = json(reminder)?;
    let inserted = sqlx::query(
        "INSERT INTO schedule_notices (case_id, notice_key, kind, department, notice, sent_on, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (case_id, notice_key) DO NOTHING",
    )
    .bind(&case.id)
    .bind(key)
    .bind(reminder.kind())
    .bind(reminder.department().map(str::to_owned))
    .bind(&notice)
    .bind(today.to_string())
    .bind(&now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }
    sqlx::query("INSERT INTO outbox (case_id, notice, created_at) VALUES ($1, $2, $3)")
        .bind(&case.id)
        .bind(&notice)
        .bind(&now)
        .execute(&mut **tx)
        .await?;
    audit::record(
        tx,
        actor,
        "case.remind",
        "case",
        &case.id,
        None,
        Some(&serde_json::json!({"key": key, "notice": reminder})),
    )
    .await?;
    Ok(true)
}
