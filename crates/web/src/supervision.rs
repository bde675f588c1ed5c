//! 督查: department parts past their deadline or at ≥ 80% of their time,
//! for supervisors and administrators — counts per department, the list,
//! an xlsx export, printable. Staff see their own department's flags in
//! their queue (`cases.rs`), never this city-wide list.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use zhengqi_domain::approval::case::{WarningKind, local_day};
use zhengqi_domain::table;
use zhengqi_store::FlaggedPart;

use crate::AppState;
use crate::error::PageError;
use crate::pages::{Layout, layout};
use crate::session::PageUser;

pub fn pages() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/supervision/overdue", get(page))
        .route("/supervision/overdue.xlsx", get(export))
}

#[derive(Deserialize, Default)]
struct AsOf {
    /// View the list as of this day (YYYY-MM-DD); default today.
    #[serde(default)]
    date: String,
}

fn as_of(q: &AsOf) -> Result<NaiveDate, PageError> {
    let d = q.date.trim();
    if d.is_empty() {
        return Ok(local_day(Utc::now()));
    }
    d.parse()
        .map_err(|_| PageError::bad_request(format!("日期“{d}”无效，应为 YYYY-MM-DD")))
}

pub(crate) struct Row {
    pub case_id: String,
    pub matter: String,
    pub item_code: String,
    pub department: String,
    pub applicant: String,
    pub deadline: String,
    pub overdue: bool,
    pub kind: &'static str,
    /// Working days over (overdue) or left (warning); "—" when uncountable.
    pub days: String,
    pub used: String,
}

fn row(s: &AppState, f: &FlaggedPart) -> Row {
    let overdue = f.flag.kind == WarningKind::Overdue;
    Row {
        case_id: f.case_id.clone(),
        matter: crate::cases::matter_name(s, &f.matter_code),
        item_code: f.flag.item_code.clone(),
        department: crate::views::department_name(&s.reference, &f.flag.department),
        applicant: f.applicant.clone(),
        deadline: f.flag.deadline.to_string(),
        overdue,
        kind: if overdue {
            "超期"
        } else {
            "预警（≥80%）"
        },
        days: match f.flag.time_left {
            Some(n) if overdue => format!("超期 {} 个工作日", -n),
            Some(n) => format!("剩余 {n} 个工作日"),
            None => "—（日历未覆盖）".to_owned(),
        },
        // Past the deadline the share says little (a 1-day item two days late
        // would read 300%); the days over say it.
        used: match f.flag.used_bp {
            _ if overdue => "超过100%".to_owned(),
            Some(b) => format!("{}%", b / 100),
            None => "—".into(),
        },
    }
}

/// Overdue and ≥ 80% counts over every department, for the overview.
pub(crate) async fn counts(s: &AppState) -> Result<(usize, usize), PageError> {
    let (flags, _) = s
        .store
        .flagged_parts(local_day(Utc::now()), &s.calendar(), None)
        .await?;
    let over = flags
        .iter()
        .filter(|f| f.flag.kind == WarningKind::Overdue)
        .count();
    Ok((over, flags.len() - over))
}

#[derive(Template, WebTemplate)]
#[template(path = "supervision_overdue.html")]
struct OverduePage {
    layout: Layout,
    today: String,
    /// Department name, overdue, warned.
    by_department: Vec<(String, usize, usize)>,
    rows: Vec<Row>,
    problems: Vec<String>,
    date_query: String,
}

async fn load(
    s: &AppState,
    u: &PageUser,
    q: &AsOf,
) -> Result<(NaiveDate, Vec<Row>, Vec<String>), PageError> {
    if !u.p.can_supervise() {
        return Err(PageError::forbidden());
    }
    let today = as_of(q)?;
    let (flags, mut problems) = s.store.flagged_parts(today, &s.calendar(), None).await?;
    problems.sort();
    problems.dedup();
    // Applicants by name as well as code (one lookup per enterprise).
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for f in &flags {
        if !names.contains_key(&f.applicant) {
            let name = match zhengqi_domain::uscc::Uscc::parse(&f.applicant) {
                Ok(u) => s.store.enterprise(&u).await?.map(|e| e.name),
                Err(_) => None,
            };
            names.insert(f.applicant.clone(), name.unwrap_or_default());
        }
    }
    let rows = flags
        .iter()
        .map(|f| {
            let mut r = row(s, f);
            if let Some(n) = names.get(&f.applicant).filter(|n| !n.is_empty()) {
                r.applicant = format!("{n}（{}）", f.applicant);
            }
            r
        })
        .collect();
    Ok((today, rows, problems))
}

async fn page(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<AsOf>,
) -> Result<Response, PageError> {
    let (today, rows, problems) = load(&s, &u, &q).await?;
    let mut by: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in &rows {
        let e = by.entry(r.department.clone()).or_default();
        if r.overdue {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    let mut by_department: Vec<(String, usize, usize)> =
        by.into_iter().map(|(d, (o, w))| (d, o, w)).collect();
    by_department.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    Ok(OverduePage {
        layout: layout(&s, Some(&u), "overview"),
        today: today.to_string(),
        by_department,
        rows,
        problems,
        date_query: if q.date.trim().is_empty() {
            String::new()
        } else {
            format!("?date={today}")
        },
    }
    .into_response())
}

const HEADERS: [&str; 10] = [
    "办件编号",
    "事项",
    "承办事项编码",
    "部门",
    "申请人",
    "办结时限",
    "类别",
    "超期/剩余",
    "已用时限",
    "统计日期",
];

async fn export(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<AsOf>,
) -> Result<Response, PageError> {
    let (today, rows, _) = load(&s, &u, &q).await?;
    let out: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            vec![
                r.case_id,
                r.matter,
                r.item_code,
                r.department,
                r.applicant,
                r.deadline,
                r.kind.to_owned(),
                r.days,
                r.used,
                today.to_string(),
            ]
        })
        .collect();
    let bytes = table::write_xlsx("超期预警", &HEADERS, &out)
        .map_err(|e| PageError::bad_request(e.to_string()))?;
    Ok(crate::pages::xlsx_response(
        bytes,
        &format!("超期预警办件-{today}.xlsx"),
    ))
}
