//! The approval scheduler's decisions: given a case snapshot, a day and the
//! calendar, what is due. Pure — the store runs the plan under the case's
//! lock and records every reminder at most once by its [`Action::Remind`]
//! key, so running the same plan twice sends nothing new.
//!
//! Rules (each keyed so it is sent once):
//! - 容缺 supplement reminders to the applicant: once when
//!   [`SUPPLEMENT_REMINDER_DAYS`] or fewer working days are left before the
//!   补正期限, and once on the deadline day itself. If the scheduler only
//!   gets to run on the deadline day, only the deadline-day reminder goes
//!   out (a late "3 days left" would be wrong).
//! - The day after the 补正期限 an unsupplied material raises
//!   [`Event::ToleranceOverdue`]; the state machine applies the item's rule
//!   (suspend / revoke acceptance / credit mark).
//! - Department parts: one warning at ≥ 80% of the promised working days
//!   used and one overdue notice once past the deadline, per deadline — a
//!   correction that pushes the deadline back earns new ones.
//! - A case left at 待出件 (every part approved and nothing owed, e.g. a
//!   crash between the last approval and the automatic issue, or a credit
//!   mark that unblocked it) is issued.
//!
//! The holiday data covers a fixed range of years; a day outside it cannot
//! be counted. Then the reminders that need counting are skipped and a
//! problem is reported, while everything decided by comparing dates alone
//! (overdue materials, parts past their deadline) still happens.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::case::{Case, CaseStatus, Event, OverdueRule, WarningKind};
use crate::calendar::WorkCalendar;

/// Working days before a supplement deadline at which the applicant is reminded.
pub const SUPPLEMENT_REMINDER_DAYS: i64 = 3;

/// A reminder or warning the scheduler sends (outbox JSON, tagged by `type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reminder {
    /// To the applicant: a 容缺 material is due soon or today.
    SupplementReminder {
        key: String,
        name: String,
        due: NaiveDate,
        /// Working days left (0 on the deadline day).
        days_left: i64,
        on_overdue: OverdueRule,
    },
    /// To the department and supervisors: ≥ 80% of the time used.
    DeadlineWarning {
        department: String,
        item_code: String,
        deadline: NaiveDate,
        time_left: i64,
        used_bp: i64,
    },
    /// To the department and supervisors: past the deadline.
    DeadlineOverdue {
        department: String,
        item_code: String,
        deadline: NaiveDate,
        /// Working days over; None when the calendar cannot count them.
        days_over: Option<i64>,
    },
}

impl Reminder {
    /// The `type` tag, also the webhook event name.
    pub fn kind(&self) -> &'static str {
        match self {
            Reminder::SupplementReminder { .. } => "supplement_reminder",
            Reminder::DeadlineWarning { .. } => "deadline_warning",
            Reminder::DeadlineOverdue { .. } => "deadline_overdue",
        }
    }

    pub fn department(&self) -> Option<&str> {
        match self {
            Reminder::SupplementReminder { .. } => None,
            Reminder::DeadlineWarning { department, .. }
            | Reminder::DeadlineOverdue { department, .. } => Some(department),
        }
    }

    /// Whether the applicant is the addressee (the others are internal to
    /// the departments and supervision).
    pub fn for_applicant(&self) -> bool {
        matches!(self, Reminder::SupplementReminder { .. })
    }

    /// One Chinese line for the timeline; `dept` resolves department codes.
    pub fn describe(&self, dept: impl Fn(&str) -> String) -> String {
        match self {
            Reminder::SupplementReminder {
                name,
                due,
                days_left: 0,
                on_overdue,
                ..
            } => format!(
                "提醒：容缺材料“{name}”今日（{due}）到期，逾期将{}",
                on_overdue.label()
            ),
            Reminder::SupplementReminder {
                name,
                due,
                days_left,
                on_overdue,
                ..
            } => format!(
                "提醒：容缺材料“{name}”须于 {due} 前补交（剩余{days_left}个工作日），逾期将{}",
                on_overdue.label()
            ),
            Reminder::DeadlineWarning {
                department,
                deadline,
                time_left,
                used_bp,
                ..
            } => format!(
                "预警：{}办理时限已用{}%（时限 {deadline}，剩余{time_left}个工作日）",
                dept(department),
                used_bp / 100
            ),
            Reminder::DeadlineOverdue {
                department,
                deadline,
                days_over,
                ..
            } => match days_over {
                Some(n) => format!(
                    "超期：{}已超过办结时限 {deadline}（超期{n}个工作日）",
                    dept(department)
                ),
                None => format!("超期：{}已超过办结时限 {deadline}", dept(department)),
            },
        }
    }
}

/// One thing the scheduler should do for a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Apply this event through the state machine.
    Apply(Event),
    /// Send this reminder unless one with the same key was sent for the case.
    Remind { key: String, reminder: Reminder },
}

/// The due actions for one case on one day, and what could not be decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub actions: Vec<Action>,
    /// Chinese descriptions (e.g. the calendar does not cover a year).
    pub problems: Vec<String>,
}

/// The deadline state of one open department part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartFlag {
    pub department: String,
    pub item_code: String,
    pub kind: WarningKind,
    pub deadline: NaiveDate,
    /// Working days left (negative when overdue); None when the calendar
    /// cannot count them.
    pub time_left: Option<i64>,
    /// Share of the promised working days used, in basis points.
    pub used_bp: Option<i64>,
}

/// Parts of `case` at ≥ 80% of their time or past their deadline on
/// `today`, plus calendar problems. Same counting as [`Case::warnings`]
/// (paused correction and suspension days excluded), but a day the calendar cannot count
/// still flags a part whose deadline has passed by date.
pub fn part_flags(
    case: &Case,
    today: NaiveDate,
    cal: &WorkCalendar,
) -> (Vec<PartFlag>, Vec<String>) {
    let mut flags = Vec::new();
    let mut problems = Vec::new();
    if case.status.is_terminal() {
        return (flags, problems);
    }
    for part in &case.parts {
        // Stopped clocks (a correction, a suspension) read their stop day.
        let (Some(deadline), Some(from)) = (part.deadline, case.clock_day(part, today)) else {
            continue;
        };
        let flag = |kind, time_left, used_bp| PartFlag {
            department: part.department.clone(),
            item_code: part.item_code.clone(),
            kind,
            deadline,
            time_left,
            used_bp,
        };
        match cal.workdays_between(from, deadline) {
            Ok(left) => {
                let promised = i64::from(part.promised_days).max(1);
                let used_bp = promised.saturating_sub(left).saturating_mul(10_000) / promised;
                if left < 0 {
                    flags.push(flag(WarningKind::Overdue, Some(left), Some(used_bp)));
                } else if used_bp >= 8_000 {
                    flags.push(flag(WarningKind::Warning80, Some(left), Some(used_bp)));
                }
            }
            Err(e) => {
                problems.push(format!(
                    "办件 {} 部门 {} 的剩余时限无法计算：{e}",
                    case.id, part.department
                ));
                if from > deadline {
                    flags.push(flag(WarningKind::Overdue, None, None));
                }
            }
        }
    }
    (flags, problems)
}

/// What is due for `case` on `today`: either one event to apply, or the
/// reminders. The caller applies the event and plans again until only
/// reminders are left (at most one round per material, plus the issue), so
/// a case unblocked by a credit mark is issued in the same run.
pub fn plan(case: &Case, today: NaiveDate, cal: &WorkCalendar) -> Plan {
    let mut out = Plan::default();
    if case.status.is_terminal() {
        return out;
    }
    if case.status == CaseStatus::ReadyToIssue {
        out.actions.push(Action::Apply(Event::Issue));
        return out;
    }
    for m in &case.tolerance {
        let Some(due) = m.due else { continue };
        if m.supplied_on.is_some() || m.overdue {
            continue;
        }
        if today > due {
            // One event at a time: it may end the case (revoke), so the
            // caller applies it and plans again on the new state.
            out.actions = vec![Action::Apply(Event::ToleranceOverdue {
                key: m.key.clone(),
            })];
            return out;
        }
        let left = match cal.workdays_between(today, due) {
            Ok(n) => n,
            Err(e) => {
                out.problems.push(format!(
                    "办件 {} 容缺材料“{}”的补正期限提醒无法计算：{e}",
                    case.id, m.name
                ));
                continue;
            }
        };
        let stage = match left {
            0 => "today",
            n if n <= SUPPLEMENT_REMINDER_DAYS => "soon",
            _ => continue,
        };
        out.actions.push(Action::Remind {
            key: format!("supplement:{}:{due}:{stage}", m.key),
            reminder: Reminder::SupplementReminder {
                key: m.key.clone(),
                name: m.name.clone(),
                due,
                days_left: left,
                on_overdue: m.on_overdue,
            },
        });
    }
    let (flags, problems) = part_flags(case, today, cal);
    out.problems.extend(problems);
    for f in flags {
        let (key, reminder) = match f.kind {
            WarningKind::Warning80 => (
                format!("warn80:{}:{}", f.department, f.deadline),
                Reminder::DeadlineWarning {
                    department: f.department,
                    item_code: f.item_code,
                    deadline: f.deadline,
                    time_left: f.time_left.unwrap_or(0),
                    used_bp: f.used_bp.unwrap_or(8_000),
                },
            ),
            WarningKind::Overdue => (
                format!("overdue:{}:{}", f.department, f.deadline),
                Reminder::DeadlineOverdue {
                    department: f.department,
                    item_code: f.item_code,
                    deadline: f.deadline,
                    days_over: f.time_left.map(|l| -l),
                },
            ),
        };
        out.actions.push(Action::Remind { key, reminder });
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::{DateTime, TimeDelta, TimeZone, Utc};
    use proptest::prelude::*;

    use super::*;
    use crate::approval::case::{NewPart, NewPendingMaterial, local_day};

    const GREE: &str = "91440400192548256N";
    const ZJ: &str = "市住房城乡建设局";
    const ZR: &str = "市自然资源局";

    fn cal() -> WorkCalendar {
        WorkCalendar::official()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// 09:00 Beijing time on that day.
    fn morning(day: NaiveDate) -> DateTime<Utc> {
        Utc.from_utc_datetime(&day.and_hms_opt(1, 0, 0).unwrap())
    }

    fn case_with(
        submitted: NaiveDate,
        promised: u32,
        materials: &[(&str, u32, OverdueRule)],
    ) -> Case {
        Case::submit(
            "C1",
            GREE,
            "M",
            "k",
            vec![
                NewPart {
                    item_code: "XK-1".into(),
                    department: ZJ.into(),
                    promised_days: promised,
                },
                NewPart {
                    item_code: "XK-2".into(),
                    department: ZR.into(),
                    promised_days: promised,
                },
            ],
            materials
                .iter()
                .map(|(k, n, r)| NewPendingMaterial {
                    key: k.to_string(),
                    name: format!("材料{k}"),
                    supplement_days: *n,
                    on_overdue: *r,
                })
                .collect(),
            !materials.is_empty(),
            morning(submitted),
            &cal(),
        )
        .unwrap()
    }

    fn accept(c: &mut Case, dep: &str, day: NaiveDate) {
        c.apply(
            &Event::Accept {
                department: dep.into(),
            },
            morning(day),
            &cal(),
        )
        .unwrap();
    }

    fn keys(p: &Plan) -> Vec<String> {
        p.actions
            .iter()
            .map(|a| match a {
                Action::Apply(e) => format!("apply:{}", serde_json::to_value(e).unwrap()["type"]),
                Action::Remind { key, .. } => key.clone(),
            })
            .collect()
    }

    /// Runs the scheduler on `today` as the store does: apply events, plan
    /// again, send reminders not sent before. Returns the new reminder keys.
    fn run(c: &mut Case, today: NaiveDate, sent: &mut BTreeSet<String>) -> Vec<String> {
        let cal = cal();
        let mut new = Vec::new();
        for _ in 0..10 {
            let p = plan(c, today, &cal);
            let mut applied = false;
            for a in p.actions {
                match a {
                    Action::Apply(e) => {
                        let now = c
                            .history
                            .last()
                            .map_or(morning(today), |(t, _, _)| morning(today).max(*t));
                        c.apply(&e, now, &cal).expect("planned events apply");
                        applied = true;
                    }
                    Action::Remind { key, .. } => {
                        if sent.insert(key.clone()) {
                            new.push(key);
                        }
                    }
                }
            }
            if !applied {
                break;
            }
        }
        new
    }

    #[test]
    fn supplement_reminders_three_days_before_and_on_the_day_across_national_day() {
        // Accepted 2025-09-30; 5 working days: 10-09, 10-10, 10-11 (Sat, worked), 10-13, 10-14.
        let mut c = case_with(d(2025, 9, 29), 10, &[("land", 5, OverdueRule::Suspend)]);
        accept(&mut c, ZJ, d(2025, 9, 30));
        assert_eq!(c.tolerance[0].due, Some(d(2025, 10, 14)));
        let cal = cal();
        // During the holiday 10-08: 10-09..10-14 is 5 working days away: nothing.
        assert!(keys(&plan(&c, d(2025, 10, 8), &cal)).is_empty());
        assert!(keys(&plan(&c, d(2025, 10, 9), &cal)).is_empty());
        // 10-10: 3 working days left (10-11 Sat worked, 10-13, 10-14).
        let p = plan(&c, d(2025, 10, 10), &cal);
        assert_eq!(keys(&p), vec!["supplement:land:2025-10-14:soon"]);
        assert!(matches!(
            &p.actions[0],
            Action::Remind {
                reminder: Reminder::SupplementReminder { days_left: 3, .. },
                ..
            }
        ));
        assert_eq!(
            keys(&plan(&c, d(2025, 10, 14), &cal)),
            vec!["supplement:land:2025-10-14:today"]
        );
        // 10-15: overdue → the event, no reminder.
        assert_eq!(
            keys(&plan(&c, d(2025, 10, 15), &cal)),
            vec!["apply:\"tolerance_overdue\""]
        );
        let mut sent = BTreeSet::new();
        run(&mut c, d(2025, 10, 15), &mut sent);
        assert_eq!(c.status, CaseStatus::Suspended);
        assert!(c.tolerance[0].overdue);
        // A supplied material is never reminded of.
        let mut c2 = case_with(d(2025, 9, 29), 10, &[("land", 5, OverdueRule::Suspend)]);
        accept(&mut c2, ZJ, d(2025, 9, 30));
        c2.apply(
            &Event::SupplyMaterial { key: "land".into() },
            morning(d(2025, 10, 9)),
            &cal,
        )
        .unwrap();
        for day in [d(2025, 10, 14), d(2025, 10, 20)] {
            let k = keys(&plan(&c2, day, &cal));
            assert!(!k.iter().any(|k| k.contains("supplement")), "{k:?}");
        }
    }

    #[test]
    fn reminder_text_is_chinese() {
        let r = Reminder::SupplementReminder {
            key: "a".into(),
            name: "环评批复".into(),
            due: d(2026, 2, 24),
            days_left: 2,
            on_overdue: OverdueRule::Suspend,
        };
        let line = r.describe(|s| s.to_string());
        assert!(
            line.contains("2026-02-24 前补交（剩余2个工作日）"),
            "{line}"
        );
        assert!(r.for_applicant());
        let o = Reminder::DeadlineOverdue {
            department: "X".into(),
            item_code: "I".into(),
            deadline: d(2026, 3, 2),
            days_over: Some(2),
        };
        assert_eq!(
            o.describe(|_| "市住建局".into()),
            "超期：市住建局已超过办结时限 2026-03-02（超期2个工作日）"
        );
        assert_eq!(o.kind(), "deadline_overdue");
        assert_eq!(
            serde_json::to_value(&o).unwrap()["type"],
            "deadline_overdue"
        );
    }

    #[test]
    fn spring_festival_2026_warning_and_overdue_once_each() {
        // Accepted Fri 2026-02-13; 5 working days: 02-14 (Sat, worked), 02-24, 25, 26, 27.
        let mut c = case_with(d(2026, 2, 12), 5, &[]);
        accept(&mut c, ZJ, d(2026, 2, 13));
        assert_eq!(c.part(ZJ).unwrap().deadline, Some(d(2026, 2, 27)));
        let mut sent = BTreeSet::new();
        // 02-20 (holiday): 1 of 5 used.
        assert!(run(&mut c, d(2026, 2, 20), &mut sent).is_empty());
        // 02-25: 3 used; 02-26: 4 used = 80%.
        assert!(run(&mut c, d(2026, 2, 25), &mut sent).is_empty());
        assert_eq!(
            run(&mut c, d(2026, 2, 26), &mut sent),
            vec!["warn80:市住房城乡建设局:2026-02-27"]
        );
        assert!(run(&mut c, d(2026, 2, 27), &mut sent).is_empty());
        // 02-28 is a worked Saturday: one day over.
        let p = plan(&c, d(2026, 2, 28), &cal());
        assert!(p.actions.iter().any(|a| matches!(
            a,
            Action::Remind {
                reminder: Reminder::DeadlineOverdue {
                    days_over: Some(1),
                    ..
                },
                ..
            }
        )));
        assert_eq!(
            run(&mut c, d(2026, 2, 28), &mut sent),
            vec!["overdue:市住房城乡建设局:2026-02-27"]
        );
        assert!(run(&mut c, d(2026, 3, 2), &mut sent).is_empty());
        // The unaccepted part has no deadline and is never flagged.
        assert!(!sent.iter().any(|k| k.contains(ZR)));
    }

    #[test]
    fn correction_pause_moves_the_deadline_and_earns_new_warnings() {
        let cal = cal();
        let mut c = case_with(d(2025, 11, 3), 5, &[]);
        accept(&mut c, ZJ, d(2025, 11, 3));
        // Deadline 11-10; on 11-07 4 of 5 used.
        let mut sent = BTreeSet::new();
        assert_eq!(
            run(&mut c, d(2025, 11, 7), &mut sent),
            vec!["warn80:市住房城乡建设局:2025-11-10"]
        );
        c.apply(
            &Event::RequestCorrection {
                department: ZJ.into(),
                reason: "补图".into(),
            },
            morning(d(2025, 11, 7)),
            &cal,
        )
        .unwrap();
        // Waiting for the applicant: the clock is stopped, nothing overdue.
        assert!(run(&mut c, d(2025, 11, 20), &mut sent).is_empty());
        c.apply(
            &Event::Corrected {
                department: ZJ.into(),
            },
            morning(d(2025, 11, 21)),
            &cal,
        )
        .unwrap();
        let new_deadline = c.part(ZJ).unwrap().deadline.unwrap();
        assert!(new_deadline > d(2025, 11, 21));
        assert_eq!(
            run(&mut c, d(2025, 11, 21), &mut sent),
            vec![format!("warn80:{ZJ}:{new_deadline}")]
        );
    }

    #[test]
    fn credit_mark_then_issue_in_one_run_and_ready_cases_are_swept() {
        let cal = cal();
        let mut c = case_with(d(2025, 9, 29), 10, &[("tax", 2, OverdueRule::CreditMark)]);
        accept(&mut c, ZJ, d(2025, 9, 30));
        accept(&mut c, ZR, d(2025, 9, 30));
        for dep in [ZJ, ZR] {
            c.apply(
                &Event::Approve {
                    department: dep.into(),
                    opinion: "同意".into(),
                },
                morning(d(2025, 10, 9)),
                &cal,
            )
            .unwrap();
        }
        // Due 10-10; all approved but the material is owed.
        assert_eq!(c.status, CaseStatus::InProgress);
        let mut sent = BTreeSet::new();
        run(&mut c, d(2025, 10, 11), &mut sent);
        assert_eq!(c.status, CaseStatus::Issued);
        assert_eq!(c.credit_marks().len(), 1);
        assert!(plan(&c, d(2025, 10, 20), &cal).actions.is_empty());

        // A case stuck at 待出件 after a crash is issued by the sweep.
        let mut s = case_with(d(2025, 9, 29), 10, &[]);
        accept(&mut s, ZJ, d(2025, 9, 30));
        accept(&mut s, ZR, d(2025, 9, 30));
        for dep in [ZJ, ZR] {
            s.apply(
                &Event::Approve {
                    department: dep.into(),
                    opinion: "同意".into(),
                },
                morning(d(2025, 10, 9)),
                &cal,
            )
            .unwrap();
        }
        assert_eq!(s.status, CaseStatus::ReadyToIssue);
        assert_eq!(
            plan(&s, d(2025, 10, 9), &cal).actions,
            vec![Action::Apply(Event::Issue)]
        );
    }

    #[test]
    fn revoke_rule_ends_the_case_and_silences_everything() {
        let mut c = case_with(
            d(2025, 9, 29),
            5,
            &[("eia", 2, OverdueRule::RevokeAcceptance)],
        );
        accept(&mut c, ZJ, d(2025, 9, 30));
        let mut sent = BTreeSet::new();
        run(&mut c, d(2025, 10, 13), &mut sent);
        assert_eq!(c.status, CaseStatus::Revoked);
        assert!(plan(&c, d(2025, 10, 20), &cal()).actions.is_empty());
    }

    #[test]
    fn uncovered_year_is_reported_not_guessed() {
        // Accepted 2026-12-10 with 10 working days: deadline 2026-12-24.
        let mut c = case_with(d(2026, 12, 9), 10, &[("a", 8, OverdueRule::Suspend)]);
        accept(&mut c, ZJ, d(2026, 12, 10));
        assert_eq!(c.tolerance[0].due, Some(d(2026, 12, 22)));
        // In January 2027 the calendar cannot count, but dates still compare.
        assert_eq!(
            plan(&c, d(2027, 1, 5), &cal()).actions,
            vec![Action::Apply(Event::ToleranceOverdue { key: "a".into() })]
        );
        let mut sent = BTreeSet::new();
        run(&mut c, d(2027, 1, 5), &mut sent);
        assert_eq!(c.status, CaseStatus::Suspended);
        let p = plan(&c, d(2027, 1, 5), &cal());
        assert!(p.actions.iter().any(|a| matches!(
            a,
            Action::Remind {
                reminder: Reminder::DeadlineOverdue {
                    days_over: None,
                    ..
                },
                ..
            }
        )));
        assert!(!p.problems.is_empty());
        assert!(
            p.problems[0].contains("2027年的节假日安排尚未载入"),
            "{:?}",
            p.problems
        );
        // Before the deadline nothing can be counted: reported, nothing sent.
        let mut c = case_with(d(2026, 12, 9), 10, &[]);
        accept(&mut c, ZJ, d(2026, 12, 10));
        let mut c2 = c.clone();
        c2.parts[0].deadline = Some(d(2027, 1, 8));
        let p = plan(&c2, d(2026, 12, 30), &cal());
        assert!(p.actions.is_empty());
        assert_eq!(p.problems.len(), 1);
    }

    // ---- property tests ----

    fn arb_event() -> impl Strategy<Value = Event> {
        let dep = prop::sample::select(vec![ZJ, ZR]).prop_map(String::from);
        let key = prop::sample::select(vec!["s", "r", "c"]).prop_map(String::from);
        prop_oneof![
            4 => dep.clone().prop_map(|department| Event::Accept { department }),
            1 => dep.clone().prop_map(|department| Event::RequestCorrection { department, reason: "补正".into() }),
            2 => dep.clone().prop_map(|department| Event::Corrected { department }),
            3 => dep.prop_map(|department| Event::Approve { department, opinion: "同意".into() }),
            2 => key.prop_map(|key| Event::SupplyMaterial { key }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Running the scheduler is idempotent (a second run on the same
        /// day does nothing), every planned event is accepted by the state
        /// machine, and nothing is due before its date.
        #[test]
        fn scheduler_runs_are_idempotent_and_never_early(
            start in 0u64..600,
            steps in prop::collection::vec((arb_event(), 0i64..4, any::<bool>()), 0..25),
            promised in 1u32..12,
        ) {
            let cal = cal();
            let day0 = d(2025, 1, 2).checked_add_days(chrono::Days::new(start)).unwrap();
            let max_supp = promised.min(6);
            let mut c = case_with(day0, promised, &[
                ("s", max_supp, OverdueRule::Suspend),
                ("r", max_supp, OverdueRule::RevokeAcceptance),
                ("c", 1.max(max_supp / 2), OverdueRule::CreditMark),
            ]);
            let mut sent = BTreeSet::new();
            let mut today = day0;
            for (event, days, run_scheduler) in steps {
                today = today.checked_add_days(chrono::Days::new(days as u64)).unwrap();
                if today.format("%Y").to_string() != "2025" && today.format("%Y").to_string() != "2026" {
                    break;
                }
                let now = c.history.last().map_or(morning(today), |(t, _, _)| morning(today).max(*t + TimeDelta::minutes(1)));
                let _ = c.apply(&event, now, &cal);
                if !run_scheduler {
                    continue;
                }
                let p = plan(&c, local_day(now).max(today), &cal);
                let day = local_day(now).max(today);
                for a in &p.actions {
                    match a {
                        Action::Apply(Event::ToleranceOverdue { key }) => {
                            let m = c.tolerance.iter().find(|m| &m.key == key).unwrap();
                            prop_assert!(m.due.unwrap() < day);
                        }
                        Action::Apply(Event::Issue) => prop_assert_eq!(c.status, CaseStatus::ReadyToIssue),
                        Action::Apply(e) => prop_assert!(false, "unexpected event {:?}", e),
                        Action::Remind { reminder: Reminder::SupplementReminder { due, days_left, .. }, .. } => {
                            prop_assert!(day <= *due);
                            prop_assert!((0..=SUPPLEMENT_REMINDER_DAYS).contains(days_left));
                        }
                        Action::Remind { reminder: Reminder::DeadlineWarning { used_bp, time_left, .. }, .. } => {
                            // Not `day <= deadline`: a correction stops the clock.
                            prop_assert!(*used_bp >= 8_000);
                            prop_assert!(*time_left >= 0);
                        }
                        Action::Remind { reminder: Reminder::DeadlineOverdue { deadline, .. }, .. } => {
                            prop_assert!(day > *deadline);
                        }
                    }
                }
                run(&mut c, day, &mut sent);
                // Running again the same day: nothing new, no events.
                let again = plan(&c, day, &cal);
                let all_sent = again
                    .actions
                    .iter()
                    .all(|a| matches!(a, Action::Remind { key, .. } if sent.contains(key)));
                prop_assert!(all_sent, "second plan has new actions: {:?}", again.actions);
                prop_assert!(run(&mut c, day, &mut sent).is_empty());
            }
        }
    }
}
