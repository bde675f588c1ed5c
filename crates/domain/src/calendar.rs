//! The official working-day calendar (法定节假日与调休). Time limits such as
//! 受理之日起N个工作日 count working days: Monday–Friday except official
//! holidays, plus the weekend days a notice makes working days (调休上班).
//!
//! The arrangements come from a data file (`data/national/cn-holidays.json`,
//! one entry per year with its State Council notice) that administrators
//! update each November when the next year's notice appears. A date in a
//! year the file does not cover is an error, never a guess: a deadline
//! computed from weekends alone could be wrong by a week.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error(
        "{0}年的节假日安排尚未载入日历数据，无法计算工作日（请管理员载入国务院办公厅该年的节假日安排）"
    )]
    YearNotCovered(i32),
    #[error("工作日天数应为不小于1的整数，实际为 {0}")]
    BadCount(i64),
    #[error("日历数据无效：{0}")]
    BadData(String),
}

const SHIPPED: &str = include_str!("../../../data/national/cn-holidays.json");

#[derive(Deserialize)]
struct YearEntry {
    holidays: Vec<NaiveDate>,
    workdays: Vec<NaiveDate>,
}

/// Cheap to clone (the day sets are shared): the approval writer takes its
/// own copy with every step.
/// Two sets of notices (the format of `cn-holidays.json`) as one: a year in
/// `more` replaces the same year in `base`. Only the JSON shape is checked
/// here; `WorkCalendar::from_json` checks the dates.
pub fn merge_notices(base: &str, more: &str) -> Result<String, CalendarError> {
    type Years = BTreeMap<String, serde_json::Value>;
    let bad = |e: serde_json::Error| CalendarError::BadData(e.to_string());
    let mut years: Years = serde_json::from_str(base).map_err(bad)?;
    years.extend(serde_json::from_str::<Years>(more).map_err(bad)?);
    serde_json::to_string(&years).map_err(bad)
}

/// Calendar days ahead the data must reach: the longest promised time
/// limits (60 working days) plus the pauses of a correction, about four
/// months.
pub const COVERAGE_HORIZON_DAYS: u64 = 120;

#[derive(Clone, Debug)]
pub struct WorkCalendar {
    holidays: Arc<BTreeSet<NaiveDate>>,
    workdays: Arc<BTreeSet<NaiveDate>>,
    first_year: i32,
    last_year: i32,
}

impl WorkCalendar {
    /// Reads `{"2025": {"holidays": [...], "workdays": [...], …}, …}`. The
    /// years must be contiguous; each date must lie in its year; a holiday
    /// that is also a working day is contradictory.
    pub fn from_json(s: &str) -> Result<WorkCalendar, CalendarError> {
        let years: BTreeMap<String, YearEntry> =
            serde_json::from_str(s).map_err(|e| CalendarError::BadData(e.to_string()))?;
        let mut holidays = BTreeSet::new();
        let mut workdays = BTreeSet::new();
        let mut nums = Vec::new();
        for (y, e) in &years {
            let year: i32 = y
                .parse()
                .map_err(|_| CalendarError::BadData(format!("年份“{y}”")))?;
            for d in e.holidays.iter().chain(&e.workdays) {
                if d.year() != year {
                    return Err(CalendarError::BadData(format!("{d} 不属于 {year} 年")));
                }
            }
            for d in &e.workdays {
                if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
                    return Err(CalendarError::BadData(format!("调休上班日 {d} 不是周末")));
                }
            }
            holidays.extend(e.holidays.iter().copied());
            workdays.extend(e.workdays.iter().copied());
            nums.push(year);
        }
        if let Some(d) = holidays.intersection(&workdays).next() {
            return Err(CalendarError::BadData(format!("{d} 同时是假日和上班日")));
        }
        let (first_year, last_year) = match (nums.first(), nums.last()) {
            (Some(a), Some(b)) if (b - a + 1) as usize == nums.len() => (*a, *b),
            (Some(_), Some(_)) => return Err(CalendarError::BadData("年份不连续".into())),
            _ => return Err(CalendarError::BadData("没有任何年份".into())),
        };
        Ok(WorkCalendar {
            holidays: Arc::new(holidays),
            workdays: Arc::new(workdays),
            first_year,
            last_year,
        })
    }

    /// The shipped calendar (2024–2026 notices).
    pub fn official() -> WorkCalendar {
        // The shipped file is checked by a test; failing here would be a build defect.
        WorkCalendar::from_json(SHIPPED).expect("shipped holiday calendar is valid")
    }

    /// The shipped arrangements with `extra` (same format) laid over them:
    /// a year in `extra` replaces the shipped one. This is how operators add
    /// a notice published after the build (e.g. next year's, each November)
    /// without a new release.
    pub fn official_with(extra: &str) -> Result<WorkCalendar, CalendarError> {
        WorkCalendar::official_with_all(&[extra])
    }

    /// `official_with` for several sources, each laid over the ones before.
    pub fn official_with_all(layers: &[&str]) -> Result<WorkCalendar, CalendarError> {
        let mut merged = SHIPPED.to_owned();
        for extra in layers {
            merged = merge_notices(&merged, extra)?;
        }
        WorkCalendar::from_json(&merged)
    }

    /// The official holidays and the adjusted working days (调休) of `year`,
    /// in date order (empty for a year the data does not cover).
    pub fn days_of(&self, year: i32) -> (Vec<NaiveDate>, Vec<NaiveDate>) {
        let of =
            |set: &BTreeSet<NaiveDate>| set.iter().copied().filter(|d| d.year() == year).collect();
        (of(&self.holidays), of(&self.workdays))
    }

    pub fn covers(&self) -> (i32, i32) {
        (self.first_year, self.last_year)
    }

    /// The year after the data's last one, when deadlines counted from
    /// `today` may already reach it: acceptances whose time limit ends there
    /// are refused until its notice is loaded, so staff must be told ahead
    /// (the State Council publishes next year's notice in the autumn).
    pub fn uncovered_year_ahead(&self, today: NaiveDate) -> Option<i32> {
        let ahead = today
            .checked_add_days(Days::new(COVERAGE_HORIZON_DAYS))
            .unwrap_or(NaiveDate::MAX);
        (ahead.year() > self.last_year).then_some(self.last_year + 1)
    }

    pub fn is_workday(&self, d: NaiveDate) -> Result<bool, CalendarError> {
        if d.year() < self.first_year || d.year() > self.last_year {
            return Err(CalendarError::YearNotCovered(d.year()));
        }
        Ok(if self.holidays.contains(&d) {
            false
        } else if self.workdays.contains(&d) {
            true
        } else {
            !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
        })
    }

    /// The N-th working day after `start` (N ≥ 1; `start` itself never
    /// counts, as in 受理之日起N个工作日).
    pub fn add_workdays(&self, start: NaiveDate, n: i64) -> Result<NaiveDate, CalendarError> {
        if n < 1 {
            return Err(CalendarError::BadCount(n));
        }
        let mut d = start;
        let mut left = n;
        while left > 0 {
            d = d
                .checked_add_days(Days::new(1))
                .ok_or(CalendarError::YearNotCovered(d.year()))?;
            if self.is_workday(d)? {
                left -= 1;
            }
        }
        Ok(d)
    }

    /// Working days in (from, to]; negative when `to` is before `from`.
    pub fn workdays_between(&self, from: NaiveDate, to: NaiveDate) -> Result<i64, CalendarError> {
        if to < from {
            return self.workdays_between(to, from).map(|n| -n);
        }
        let mut n = 0;
        let mut d = from;
        while d < to {
            d = d
                .checked_add_days(Days::new(1))
                .ok_or(CalendarError::YearNotCovered(d.year()))?;
            if self.is_workday(d)? {
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn staff_are_warned_four_months_before_the_data_runs_out() {
        let cal = WorkCalendar::official();
        assert_eq!(cal.covers().1, 2026);
        // 120 days after 2026-09-02 is 2026-12-31: still covered.
        assert_eq!(cal.uncovered_year_ahead(d("2026-09-02")), None);
        assert_eq!(cal.uncovered_year_ahead(d("2026-09-03")), Some(2027));
        assert_eq!(cal.uncovered_year_ahead(d("2026-11-29")), Some(2027));
        assert_eq!(cal.uncovered_year_ahead(d("2025-12-31")), None);
        // Past the data altogether, the next missing year is still named.
        assert_eq!(cal.uncovered_year_ahead(d("2028-01-01")), Some(2027));
        assert_eq!(cal.uncovered_year_ahead(NaiveDate::MAX), Some(2027));
        let later =
            WorkCalendar::official_with(r#"{"2027": {"holidays": [], "workdays": []}}"#).unwrap();
        assert_eq!(later.uncovered_year_ahead(d("2026-11-29")), None);
        assert_eq!(later.uncovered_year_ahead(d("2027-09-03")), Some(2028));
    }

    #[test]
    fn later_layers_replace_earlier_years() {
        let first = r#"{"2027": {"holidays": ["2027-01-01"], "workdays": []}}"#;
        let second = r#"{"2027": {"holidays": ["2027-01-04"], "workdays": []}}"#;
        let cal = WorkCalendar::official_with_all(&[first, second]).unwrap();
        assert_eq!(cal.is_workday(d("2027-01-01")), Ok(true));
        assert_eq!(cal.is_workday(d("2027-01-04")), Ok(false));
        assert_eq!(cal.covers(), (2024, 2027));
        assert_eq!(
            WorkCalendar::official_with_all(&[]).unwrap().covers(),
            (2024, 2026)
        );
        assert!(WorkCalendar::official_with_all(&[first, "[]"]).is_err());
    }

    #[test]
    fn a_later_notice_extends_the_shipped_years() {
        let cal = WorkCalendar::official();
        assert!(matches!(
            cal.add_workdays(d("2026-12-30"), 3),
            Err(CalendarError::YearNotCovered(2027))
        ));
        // An illustrative 2027 entry (not the real notice): 元旦 on Fri 01-01.
        let extra = r#"{"2027": {"holidays": ["2027-01-01"], "workdays": []}}"#;
        let cal = WorkCalendar::official_with(extra).unwrap();
        assert_eq!(cal.covers(), (2024, 2027));
        // Thu 12-31, (Fri 01-01 holiday, weekend), Mon 01-04, Tue 01-05.
        assert_eq!(
            cal.add_workdays(d("2026-12-30"), 3).unwrap(),
            d("2027-01-05")
        );
        // Shipped years still count as before.
        assert_eq!(
            cal.add_workdays(d("2025-09-30"), 5).unwrap(),
            WorkCalendar::official()
                .add_workdays(d("2025-09-30"), 5)
                .unwrap()
        );
        // A gap or a bad file is refused, never half-applied.
        assert!(
            WorkCalendar::official_with(r#"{"2029": {"holidays": [], "workdays": []}}"#).is_err()
        );
        assert!(WorkCalendar::official_with("{").is_err());
        assert!(
            WorkCalendar::official_with(
                r#"{"2027": {"holidays": ["2027-01-04"], "workdays": ["2027-01-04"]}}"#
            )
            .is_err()
        );
    }

    #[test]
    fn national_day_2025_and_its_makeup_saturday() {
        let c = WorkCalendar::official();
        // 2025: 10-01..10-08 off; Sun 09-28 and Sat 10-11 worked.
        assert_eq!(c.add_workdays(d("2025-09-30"), 1).unwrap(), d("2025-10-09"));
        assert_eq!(c.add_workdays(d("2025-09-26"), 1).unwrap(), d("2025-09-28"));
        assert_eq!(c.add_workdays(d("2025-10-10"), 1).unwrap(), d("2025-10-11"));
        assert!(c.is_workday(d("2025-10-11")).unwrap());
        assert!(!c.is_workday(d("2025-10-08")).unwrap());
        assert_eq!(
            c.workdays_between(d("2025-09-30"), d("2025-10-09"))
                .unwrap(),
            1
        );
    }

    #[test]
    fn spring_festival_2026_and_new_year() {
        let c = WorkCalendar::official();
        // 2026 春节 02-15..02-23 off; Sat 02-14 and Sat 02-28 worked.
        assert!(c.is_workday(d("2026-02-14")).unwrap());
        assert_eq!(c.add_workdays(d("2026-02-13"), 1).unwrap(), d("2026-02-14"));
        assert_eq!(c.add_workdays(d("2026-02-14"), 1).unwrap(), d("2026-02-24"));
        // 元旦 2026: 01-01..01-03 off, Sun 01-04 worked.
        assert_eq!(c.add_workdays(d("2025-12-31"), 1).unwrap(), d("2026-01-04"));
        // 20 working days from 2026-02-10 cross the whole festival.
        assert_eq!(
            c.add_workdays(d("2026-02-10"), 20).unwrap(),
            d("2026-03-16")
        );
        assert_eq!(
            c.workdays_between(d("2026-02-10"), d("2026-03-16"))
                .unwrap(),
            20
        );
    }

    #[test]
    fn uncovered_years_and_bad_counts_are_errors() {
        let c = WorkCalendar::official();
        assert_eq!(
            c.add_workdays(d("2026-12-30"), 5),
            Err(CalendarError::YearNotCovered(2027))
        );
        assert_eq!(
            c.add_workdays(d("2025-01-02"), 0),
            Err(CalendarError::BadCount(0))
        );
        assert!(c.is_workday(d("2023-06-01")).is_err());
        assert!(
            WorkCalendar::from_json(r#"{"2025":{"holidays":["2024-01-01"],"workdays":[]}}"#)
                .is_err()
        );
        assert!(
            WorkCalendar::from_json(
                r#"{"2024":{"holidays":[],"workdays":[]},"2026":{"holidays":[],"workdays":[]}}"#
            )
            .is_err()
        );
        assert!(
            WorkCalendar::from_json(r#"{"2025":{"holidays":[],"workdays":["2025-10-09"]}}"#)
                .is_err()
        );
        assert!(WorkCalendar::from_json("not json").is_err());
    }

    proptest! {
        #[test]
        fn add_then_count_round_trips(offset in 0u64..900, n in 1i64..60) {
            let c = WorkCalendar::official();
            let start = d("2024-01-01").checked_add_days(Days::new(offset)).unwrap();
            if let Ok(end) = c.add_workdays(start, n) {
                prop_assert!(c.is_workday(end).unwrap());
                prop_assert_eq!(c.workdays_between(start, end).unwrap(), n);
                prop_assert_eq!(c.workdays_between(end, start).unwrap(), -n);
            }
        }
    }
}
