//! The working-day calendar's data (法定节假日与调休) for administrators:
//! which years are loaded, their holidays and adjusted working days, and a
//! form to load a notice published after the build (each November, the
//! State Council's for the next year). A loaded notice is validated as a
//! whole calendar, stored in the database (audited) and used at once by
//! every page; the scheduler reads it on its next pass.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use chrono::Datelike;
use serde::Deserialize;
use zhengqi_domain::calendar::WorkCalendar;
use zhengqi_store::{Actor, StoreError};

use crate::AppState;
use crate::error::PageError;
use crate::pages::{Layout, layout};
use crate::session::PageUser;

pub(crate) fn pages() -> Router<AppState> {
    Router::new().route("/admin/calendar", get(page).post(load))
}

impl AppState {
    /// Rebuilds the calendar from the shipped notices, the operator's
    /// layers and the notices stored in the database (at start; a fixed
    /// calendar set with `with_calendar` is left alone).
    pub async fn reload_calendar(&self) -> Result<(), zhengqi_store::StoreError> {
        if let Some(layers) = self.calendar_layers.clone() {
            let (cal, problem) = self.store.work_calendar(&layers).await?;
            if let Some(p) = problem {
                tracing::warn!(problem = %p, "holiday notices");
            }
            self.set_calendar(cal);
        }
        Ok(())
    }

    fn set_calendar(&self, cal: WorkCalendar) {
        *self.calendar.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(cal);
    }
}

#[derive(Deserialize, Default)]
struct Saved {
    #[serde(default)]
    saved: String,
}

#[derive(Deserialize)]
struct LoadForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    notice: String,
}

/// A year as the page lists it.
struct YearView {
    year: i32,
    holidays: String,
    workdays: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "holidays.html")]
struct HolidaysPage {
    layout: Layout,
    first: i32,
    last: i32,
    years: Vec<YearView>,
    fixed: bool,
    saved: bool,
    error: Option<String>,
    notice: String,
}

fn render(
    s: &AppState,
    u: &PageUser,
    saved: bool,
    error: Option<String>,
    notice: String,
) -> HolidaysPage {
    let cal = s.calendar();
    let (first, last) = cal.covers();
    let dates = |v: Vec<chrono::NaiveDate>| spans(&v).join("、");
    let years = (first..=last)
        .rev()
        .map(|year| {
            let (h, w) = cal.days_of(year);
            YearView {
                year,
                holidays: dates(h),
                workdays: dates(w),
            }
        })
        .collect();
    HolidaysPage {
        layout: layout(s, Some(u), "calendar"),
        first,
        last,
        years,
        fixed: s.calendar_layers.is_none(),
        saved,
        error,
        notice,
    }
}

/// Consecutive days as one span: "1月28日–2月4日", "4月4日–6日", "9月28日".
fn spans(days: &[chrono::NaiveDate]) -> Vec<String> {
    let md = |d: &chrono::NaiveDate| format!("{}月{}日", d.month(), d.day());
    let mut out = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let mut j = i;
        while j + 1 < days.len() && days[j].succ_opt() == Some(days[j + 1]) {
            j += 1;
        }
        let (a, b) = (&days[i], &days[j]);
        out.push(if i == j {
            md(a)
        } else if a.month() == b.month() {
            format!("{}–{}日", md(a), b.day())
        } else {
            format!("{}–{}", md(a), md(b))
        });
        i = j + 1;
    }
    out
}

async fn page(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<Saved>,
) -> Result<Response, PageError> {
    if !u.p.can_manage_accounts() {
        return Err(PageError::forbidden());
    }
    Ok(render(&s, &u, q.saved == "1", None, String::new()).into_response())
}

async fn load(
    State(s): State<AppState>,
    u: PageUser,
    Form(f): Form<LoadForm>,
) -> Result<Response, PageError> {
    if !u.p.can_manage_accounts() {
        return Err(PageError::forbidden());
    }
    if !u.csrf_ok(&f.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    let refuse = |msg: String| {
        let page = render(&s, &u, false, Some(msg), f.notice.clone());
        Ok((StatusCode::BAD_REQUEST, page).into_response())
    };
    let Some(layers) = s.calendar_layers.clone() else {
        return refuse("本实例使用固定的工作日日历，不能载入通知".into());
    };
    if f.notice.trim().is_empty() {
        return refuse("请粘贴节假日安排（JSON）".into());
    }
    // Over the notices stored before; the whole calendar must hold.
    let cal = match s
        .store
        .load_holiday_notice(&f.notice, &layers, &Actor::from(&u.p))
        .await
    {
        Ok(cal) => cal,
        Err(StoreError::Invalid(msg)) => return refuse(msg),
        Err(e) => return Err(e.into()),
    };
    tracing::info!(covers_to = cal.covers().1, "holiday notices loaded");
    s.set_calendar(cal);
    Ok(Redirect::to("/admin/calendar?saved=1").into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn consecutive_days_read_as_spans() {
        let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        let days = [
            d("2025-01-01"),
            d("2025-01-28"),
            d("2025-01-29"),
            d("2025-01-30"),
            d("2025-01-31"),
            d("2025-02-01"),
            d("2025-04-04"),
            d("2025-04-05"),
        ];
        assert_eq!(
            super::spans(&days),
            ["1月1日", "1月28日–2月1日", "4月4日–5日"]
        );
        assert!(super::spans(&[]).is_empty());
    }
}
