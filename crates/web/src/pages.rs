//! Server-rendered pages. Every handler takes the principal from the
//! session, asks the domain's permission functions, and renders a
//! compile-checked, auto-escaping askama template.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Datelike, Duration, Local, NaiveDate, Utc};
use serde::Deserialize;
use zhengqi_domain::approval::case::local_day;
use zhengqi_domain::auth::{Principal, Role};
use zhengqi_domain::calendar::WorkCalendar;
use zhengqi_domain::enterprise::{FieldError, IndicatorDraft, IndicatorKind, SizeBasis};
use zhengqi_domain::import::{ENTERPRISE_COLUMNS, headers};
use zhengqi_domain::size::SizeClass;
use zhengqi_domain::table;
use zhengqi_domain::uscc::Uscc;
use zhengqi_store::{Actor, AuditFilter, AuthError, EnterpriseFilter, SessionKind, StoreError};

use crate::AppState;
use crate::api::{AccountInput, parse_account};
use crate::error::PageError;
use crate::session::{
    self, LOGIN_CSRF_COOKIE, MaybePageUser, PageUser, SESSION_COOKIE, cookie, set_cookie,
};
use crate::views::{self, EnterpriseView, IndicatorView};

const SESSION_HOURS: i64 = 8;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login_submit))
        .route("/logout", post(logout))
        .route("/me", get(my_enterprise))
        .route("/enterprises", get(enterprise_list))
        .route("/enterprises/export.xlsx", get(enterprise_export))
        .route("/enterprises/{uscc}", get(enterprise_detail))
        .route("/workbench", get(workbench))
        .route("/workbench/indicators", post(workbench_submit))
        .route("/overview", get(overview))
        .route("/audit", get(audit_page))
        .route("/audit/export.xlsx", get(audit_export))
        .route("/admin", get(|| async { Redirect::to("/admin/accounts") }))
        .route("/admin/accounts", get(accounts_page).post(accounts_create))
        .route("/admin/accounts/{username}/active", post(accounts_toggle))
        .route("/admin/reference", get(reference_page))
}

pub struct UserBadge {
    pub display_name: String,
    pub role: &'static str,
    pub role_label: &'static str,
}

pub struct Layout {
    pub user: Option<UserBadge>,
    pub csrf: String,
    pub demo: bool,
    pub active: &'static str,
    /// Unread policy pushes of an enterprise user.
    pub unread: i64,
    /// To government users, while next year's holiday notice is missing.
    pub calendar_notice: Option<String>,
}

pub(crate) fn layout(s: &AppState, u: Option<&PageUser>, active: &'static str) -> Layout {
    Layout {
        user: u.map(|u| UserBadge {
            display_name: u.p.display_name.clone(),
            role: u.p.role.key(),
            role_label: u.p.role.label(),
        }),
        csrf: u.map(|u| u.csrf.clone()).unwrap_or_default(),
        demo: s.config.demo,
        active,
        unread: u.map_or(0, |u| u.unread),
        calendar_notice: u
            .filter(|u| u.p.role != Role::Enterprise)
            .and_then(|_| calendar_notice(&s.calendar(), local_day(Utc::now()))),
    }
}

/// The warning government users see while deadlines may reach a year whose
/// holiday notice is not loaded (acceptances would then be refused).
pub(crate) fn calendar_notice(cal: &WorkCalendar, today: NaiveDate) -> Option<String> {
    let year = cal.uncovered_year_ahead(today)?;
    Some(format!(
        "工作日日历只载入到 {} 年：受理期限落入 {year} 年的办件将无法受理，到期提醒也无法计算。\
         请管理员在“工作日日历”页载入国务院办公厅 {year} 年部分节假日安排。",
        year - 1
    ))
}

fn role_home(p: &Principal) -> &'static str {
    match p.role {
        Role::Enterprise => "/me",
        Role::Staff => "/workbench",
        Role::Supervisor => "/overview",
        Role::Admin => "/overview",
    }
}

async fn home(MaybePageUser(u): MaybePageUser) -> Redirect {
    match u {
        Some(u) => Redirect::to(role_home(&u.p)),
        None => Redirect::to("/login"),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    csrf: String,
    next: String,
    username: String,
    error: Option<String>,
    username_error: Option<String>,
    password_error: Option<String>,
}

#[derive(Deserialize, Default)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

/// Only same-site paths: an absolute or scheme-relative URL would make the
/// login form an open redirect.
fn safe_next(next: &str) -> Option<&str> {
    (next.starts_with('/') && !next.starts_with("//") && !next.contains('\\')).then_some(next)
}

fn random_hex() -> String {
    let mut b = [0u8; 16];
    // Failing to read the OS RNG leaves the CSRF value empty, which no
    // submitted form can match: login then fails closed.
    if getrandom_fill(&mut b) {
        b.iter().map(|x| format!("{x:02x}")).collect()
    } else {
        String::new()
    }
}

fn getrandom_fill(b: &mut [u8]) -> bool {
    zhengqi_store::random_bytes(b)
}

async fn login_form(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let csrf = cookie(&headers, LOGIN_CSRF_COOKIE)
        .filter(|c| c.len() == 32)
        .unwrap_or_else(random_hex);
    let page = LoginPage {
        layout: layout(&s, None, "login"),
        csrf: csrf.clone(),
        next: safe_next(&q.next).unwrap_or("").to_owned(),
        username: String::new(),
        error: None,
        username_error: None,
        password_error: None,
    };
    (
        [(
            header::SET_COOKIE,
            set_cookie(&s, LOGIN_CSRF_COOKIE, &csrf, 3600),
        )],
        page,
    )
        .into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

async fn login_submit(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let cookie_csrf = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let mut page = LoginPage {
        layout: layout(&s, None, "login"),
        csrf: if cookie_csrf.len() == 32 {
            cookie_csrf.clone()
        } else {
            random_hex()
        },
        next: safe_next(&f.next).unwrap_or("").to_owned(),
        username: f.username.trim().to_owned(),
        error: None,
        username_error: None,
        password_error: None,
    };
    let fail = |page: LoginPage, status: StatusCode| {
        let c = set_cookie(&s, LOGIN_CSRF_COOKIE, &page.csrf, 3600);
        (status, [(header::SET_COOKIE, c)], page).into_response()
    };
    if cookie_csrf.len() != 32 || f.csrf != cookie_csrf {
        page.error = Some("页面已过期，请重新提交登录".into());
        return fail(page, StatusCode::FORBIDDEN);
    }
    if f.username.trim().is_empty() {
        page.username_error = Some("请输入用户名".into());
    }
    if f.password.is_empty() {
        page.password_error = Some("请输入密码".into());
    }
    if page.username_error.is_some() || page.password_error.is_some() {
        return fail(page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let p = match s.store.authenticate(&f.username, &f.password).await {
        Ok(p) => p,
        Err(e @ (AuthError::Invalid | AuthError::Disabled)) => {
            page.error = Some(e.to_string());
            return fail(page, StatusCode::UNAUTHORIZED);
        }
        Err(AuthError::Store(e)) => return PageError::from(e).into_response(),
    };
    let (token, _) = match s
        .store
        .create_session(&p, SessionKind::Browser, Duration::hours(SESSION_HOURS))
        .await
    {
        Ok(t) => t,
        Err(e) => return PageError::from(e).into_response(),
    };
    let to = safe_next(&f.next).unwrap_or(role_home(&p)).to_owned();
    let mut res = Redirect::to(&to).into_response();
    let h = res.headers_mut();
    if let Ok(v) = set_cookie(&s, SESSION_COOKIE, &token, SESSION_HOURS * 3600).parse() {
        h.append(header::SET_COOKIE, v);
    }
    if let Ok(v) = set_cookie(&s, LOGIN_CSRF_COOKIE, "", 0).parse() {
        h.append(header::SET_COOKIE, v);
    }
    res
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(s): State<AppState>,
    u: PageUser,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    if !u.csrf_ok(&f.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    s.store.end_session(&u.token).await?;
    Ok((
        [(header::SET_COOKIE, set_cookie(&s, SESSION_COOKIE, "", 0))],
        Redirect::to("/login"),
    )
        .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "enterprise.html")]
struct EnterprisePage {
    layout: Layout,
    e: EnterpriseView,
    indicators: Vec<IndicatorView>,
}

async fn enterprise_page(
    s: &AppState,
    u: &PageUser,
    uscc: &Uscc,
    active: &'static str,
) -> Result<Response, PageError> {
    // Another enterprise's page is "not found", not "forbidden": its
    // existence is not the viewer's business.
    if !u.p.can_view_enterprise(uscc) {
        return Err(PageError::not_found());
    }
    let e = s
        .store
        .enterprise(uscc)
        .await?
        .ok_or_else(PageError::not_found)?;
    let inds = s.store.indicators(uscc).await?;
    Ok(EnterprisePage {
        layout: layout(s, Some(u), active),
        e: views::enterprise_view(&s.reference, &e),
        indicators: views::indicator_views(&s.reference, &inds),
    }
    .into_response())
}

async fn my_enterprise(State(s): State<AppState>, u: PageUser) -> Result<Response, PageError> {
    let Some(uscc) = u.p.enterprise.clone() else {
        return Err(PageError::forbidden());
    };
    enterprise_page(&s, &u, &uscc, "me").await
}

async fn enterprise_detail(
    State(s): State<AppState>,
    u: PageUser,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let uscc = Uscc::parse(&code).map_err(|_| PageError::not_found())?;
    enterprise_page(&s, &u, &uscc, "enterprises").await
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    size_class: String,
    #[serde(default)]
    industry: String,
    #[serde(default)]
    page: String,
}

impl ListQuery {
    fn query_string(&self) -> String {
        [
            ("q", &self.q),
            ("area", &self.area),
            ("size_class", &self.size_class),
            ("industry", &self.industry),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", session::urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
    }

    fn filter(&self, limit: i64, offset: i64) -> EnterpriseFilter {
        EnterpriseFilter {
            q: self.q.clone(),
            area: self.area.clone(),
            size_class: self.size_class.clone(),
            industry: self.industry.clone(),
            limit,
            offset,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "enterprises.html")]
struct EnterpriseListPage {
    layout: Layout,
    q: ListQuery,
    query_string: String,
    areas: Vec<(String, String)>,
    sizes: Vec<String>,
    items: Vec<EnterpriseView>,
    total: i64,
    page: i64,
    pages: i64,
}

const PAGE_SIZE: i64 = 50;

async fn enterprise_list(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    if !u.p.can_browse_registry() {
        return Err(PageError::forbidden());
    }
    let page = q.page.trim().parse::<i64>().unwrap_or(1).max(1);
    let res = s
        .store
        .enterprises(&q.filter(PAGE_SIZE, (page - 1) * PAGE_SIZE))
        .await?;
    Ok(EnterpriseListPage {
        layout: layout(&s, Some(&u), "enterprises"),
        query_string: q.query_string(),
        areas: s
            .reference
            .areas
            .iter()
            .map(|a| (a.code.clone(), views::area_path(&s.reference, &a.code)))
            .collect(),
        sizes: SizeClass::ALL
            .iter()
            .map(|c| c.label().to_owned())
            .collect(),
        items: res
            .items
            .iter()
            .map(|e| views::enterprise_view(&s.reference, e))
            .collect(),
        total: res.total,
        page,
        pages: ((res.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
        q,
    }
    .into_response())
}

pub(crate) fn xlsx_response(bytes: Vec<u8>, filename: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"export.xlsx\"; filename*=UTF-8''{}",
                    session::urlencode(filename)
                ),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// The registry in the import layout, so the file can be edited and
/// imported back.
async fn enterprise_export(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    if !u.p.can_browse_registry() {
        return Err(PageError::forbidden());
    }
    let res = s.store.enterprises(&q.filter(1_000_000, 0)).await?;
    let rows: Vec<Vec<String>> = res
        .items
        .iter()
        .map(|e| {
            vec![
                e.uscc.to_string(),
                e.name.clone(),
                e.legal_rep.clone(),
                e.founded.map(|d| d.to_string()).unwrap_or_default(),
                s.reference
                    .area(&e.area)
                    .map(|a| a.name.clone())
                    .unwrap_or_else(|| e.area.clone()),
                e.industry.clone(),
                match (&e.size_class, &e.size_basis) {
                    (Some(c), Some(SizeBasis::Given)) => c.label().to_owned(),
                    _ => String::new(),
                },
                e.tags.join("、"),
                e.certifications_text(),
            ]
        })
        .collect();
    let bytes = table::write_xlsx("企业名录", &headers(ENTERPRISE_COLUMNS), &rows)
        .map_err(|e| PageError::bad_request(e.to_string()))?;
    s.store
        .audit_event(
            &Actor::from(&u.p),
            "enterprise.export",
            "enterprise",
            &format!("{} 家", rows.len()),
            None,
        )
        .await?;
    Ok(xlsx_response(
        bytes,
        &format!("企业名录-{}.xlsx", Local::now().format("%Y%m%d")),
    ))
}

#[derive(Deserialize, Default)]
struct IndicatorForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    uscc: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    value: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "workbench.html")]
struct WorkbenchPage {
    layout: Layout,
    department: String,
    shared: i64,
    tasks: usize,
    kinds: Vec<String>,
    form: IndicatorForm,
    errors: Vec<FieldError>,
    ok: Option<String>,
}

/// The message for one form field, shown beside its input.
fn field_message<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| e.message.as_str())
}

impl WorkbenchPage {
    fn err(&self, field: &str) -> Option<&str> {
        field_message(&self.errors, field)
    }
}

async fn workbench_page(
    s: &AppState,
    u: &PageUser,
    form: IndicatorForm,
    errors: Vec<FieldError>,
    ok: Option<String>,
) -> Result<WorkbenchPage, PageError> {
    let dept = u.p.department.clone().unwrap_or_default();
    let shared = s.store.indicators_from(&dept).await?;
    let tasks = s.store.policy_tasks(Some(&dept)).await?.len();
    Ok(WorkbenchPage {
        layout: layout(s, Some(u), "workbench"),
        tasks,
        department: views::department_name(&s.reference, &dept),
        shared,
        kinds: IndicatorKind::ALL
            .iter()
            .map(|k| k.label().to_owned())
            .collect(),
        form,
        errors,
        ok,
    })
}

async fn workbench(State(s): State<AppState>, u: PageUser) -> Result<Response, PageError> {
    if !u.p.can_use_workbench() {
        return Err(PageError::forbidden());
    }
    let form = IndicatorForm {
        year: (Local::now().year() - 1).to_string(),
        ..Default::default()
    };
    Ok(workbench_page(&s, &u, form, vec![], None)
        .await?
        .into_response())
}

async fn workbench_submit(
    State(s): State<AppState>,
    u: PageUser,
    Form(f): Form<IndicatorForm>,
) -> Result<Response, PageError> {
    if !u.p.can_use_workbench() {
        return Err(PageError::forbidden());
    }
    if !u.csrf_ok(&f.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    let dept = u.p.department.clone().unwrap_or_default();
    let draft = IndicatorDraft {
        uscc: f.uscc.clone(),
        kind: f.kind.clone(),
        year: f.year.clone(),
        value: f.value.clone(),
        source: dept,
    };
    let n = match draft.validate(&s.reference) {
        Ok(n) => n,
        Err(errs) => {
            let page = workbench_page(&s, &u, f, errs, None).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let Some(mut e) = s.store.enterprise(&n.uscc).await? else {
        let errs = vec![FieldError::new("uscc", "该企业尚未登记")];
        let page = workbench_page(&s, &u, f, errs, None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let added = s.submit_indicator(&mut e, &n, &Actor::from(&u.p)).await?;
    let msg = if added {
        format!(
            "已提交：{} {}年{} {}",
            e.name,
            n.year,
            n.kind.label(),
            n.kind.format_value(n.value)
        )
    } else {
        "该数据与本部门最近一次提交相同，未重复保存".to_owned()
    };
    let form = IndicatorForm {
        year: f.year,
        ..Default::default()
    };
    Ok(workbench_page(&s, &u, form, vec![], Some(msg))
        .await?
        .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "overview.html")]
struct OverviewPage {
    layout: Layout,
    stats: zhengqi_store::RegistryStats,
    by_area: Vec<(String, i64)>,
    by_size: Vec<(String, i64)>,
    by_source: Vec<(String, i64)>,
    /// Lead department, task status, count.
    tasks: Vec<(String, String, i64)>,
    /// Department parts past their deadline / at ≥ 80% of their time.
    overdue: usize,
    warned: usize,
}

async fn overview(State(s): State<AppState>, u: PageUser) -> Result<Response, PageError> {
    if !u.p.can_supervise() {
        return Err(PageError::forbidden());
    }
    let stats = s.store.registry_stats().await?;
    let rd = &s.reference;
    let tasks = s
        .store
        .task_counts_by_department()
        .await?
        .into_iter()
        .map(|(d, st, n)| (views::department_name(rd, &d), st, n))
        .collect();
    let (overdue, warned) = crate::supervision::counts(&s).await?;
    Ok(OverviewPage {
        overdue,
        warned,
        tasks,
        layout: layout(&s, Some(&u), "overview"),
        by_area: stats
            .by_area
            .iter()
            .map(|(c, n)| (views::area_path(rd, c), *n))
            .collect(),
        by_size: stats
            .by_size
            .iter()
            .map(|(c, n)| {
                (
                    if c.is_empty() {
                        "未划型".to_owned()
                    } else {
                        c.clone()
                    },
                    *n,
                )
            })
            .collect(),
        by_source: stats
            .by_source
            .iter()
            .map(|(c, n)| (views::department_name(rd, c), *n))
            .collect(),
        stats,
    }
    .into_response())
}

#[derive(Deserialize, Default)]
struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target_id: String,
    #[serde(default)]
    page: String,
}

impl AuditQuery {
    fn filter(&self, limit: i64, offset: i64) -> AuditFilter {
        let opt = |s: &String| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        AuditFilter {
            target_type: None,
            target_id: opt(&self.target_id),
            actor: opt(&self.actor),
            action: opt(&self.action),
            limit,
            offset,
        }
    }
    fn query_string(&self) -> String {
        [
            ("actor", &self.actor),
            ("action", &self.action),
            ("target_id", &self.target_id),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", session::urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

struct AuditRow {
    at: String,
    actor: String,
    role: String,
    action: String,
    target: String,
    before: String,
    after: String,
}

fn audit_rows(items: Vec<zhengqi_store::AuditEntry>) -> Vec<AuditRow> {
    let j = |v: Option<serde_json::Value>| v.map(|v| v.to_string()).unwrap_or_default();
    items
        .into_iter()
        .map(|e| AuditRow {
            at: e
                .at
                .with_timezone(&Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
            actor: e.actor_name,
            role: Role::parse(&e.actor_role)
                .map(|r| r.label().to_owned())
                .unwrap_or(e.actor_role),
            action: e.action,
            target: format!("{} {}", e.target_type, e.target_id),
            before: j(e.before),
            after: j(e.after),
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    q: AuditQuery,
    query_string: String,
    items: Vec<AuditRow>,
    total: i64,
    page: i64,
    pages: i64,
}

async fn audit_page(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    if !u.p.can_read_audit() {
        return Err(PageError::forbidden());
    }
    let page = q.page.trim().parse::<i64>().unwrap_or(1).max(1);
    let (items, total) = s
        .store
        .audit_entries(&q.filter(PAGE_SIZE, (page - 1) * PAGE_SIZE))
        .await?;
    Ok(AuditPage {
        layout: layout(&s, Some(&u), "audit"),
        query_string: q.query_string(),
        items: audit_rows(items),
        total,
        page,
        pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
        q,
    }
    .into_response())
}

async fn audit_export(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    if !u.p.can_read_audit() {
        return Err(PageError::forbidden());
    }
    let (items, _) = s.store.audit_entries(&q.filter(100_000, 0)).await?;
    let rows: Vec<Vec<String>> = audit_rows(items)
        .into_iter()
        .map(|r| vec![r.at, r.actor, r.role, r.action, r.target, r.before, r.after])
        .collect();
    let bytes = table::write_xlsx(
        "审计日志",
        &["时间", "操作人", "角色", "操作", "对象", "变更前", "变更后"],
        &rows,
    )
    .map_err(|e| PageError::bad_request(e.to_string()))?;
    Ok(xlsx_response(
        bytes,
        &format!("审计日志-{}.xlsx", Local::now().format("%Y%m%d")),
    ))
}

#[derive(Deserialize, Default)]
struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    enterprise: String,
    #[serde(default)]
    department: String,
}

struct AccountRow {
    username: String,
    display_name: String,
    role: &'static str,
    binding: String,
    active: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts.html")]
struct AccountsPage {
    layout: Layout,
    accounts: Vec<AccountRow>,
    roles: Vec<(String, String)>,
    departments: Vec<(String, String)>,
    form: AccountForm,
    errors: Vec<FieldError>,
    ok: Option<String>,
    error: Option<String>,
}

impl AccountsPage {
    fn err(&self, field: &str) -> Option<&str> {
        field_message(&self.errors, field)
    }
}

async fn accounts_view(
    s: &AppState,
    u: &PageUser,
    form: AccountForm,
    errors: Vec<FieldError>,
    ok: Option<String>,
    error: Option<String>,
) -> Result<AccountsPage, PageError> {
    let accounts = s
        .store
        .accounts()
        .await?
        .into_iter()
        .map(|a| AccountRow {
            binding: match (&a.enterprise, &a.department) {
                (Some(e), _) => e.clone(),
                (_, Some(d)) => views::department_name(&s.reference, d),
                _ => "—".into(),
            },
            username: a.username,
            display_name: a.display_name,
            role: a.role.label(),
            active: a.active,
        })
        .collect();
    Ok(AccountsPage {
        layout: layout(s, Some(u), "accounts"),
        accounts,
        roles: Role::ALL
            .iter()
            .map(|r| (r.key().to_owned(), r.label().to_owned()))
            .collect(),
        departments: s
            .reference
            .departments
            .iter()
            .map(|d| (d.code.clone(), d.name.clone()))
            .collect(),
        form,
        errors,
        ok,
        error,
    })
}

async fn accounts_page(State(s): State<AppState>, u: PageUser) -> Result<Response, PageError> {
    if !u.p.can_manage_accounts() {
        return Err(PageError::forbidden());
    }
    let form = AccountForm {
        role: "enterprise".into(),
        ..Default::default()
    };
    Ok(accounts_view(&s, &u, form, vec![], None, None)
        .await?
        .into_response())
}

/// Maps a store message to the form field it concerns, so it shows beside
/// the input.
fn account_field(msg: &str) -> &'static str {
    if msg.contains("用户名") {
        "username"
    } else if msg.contains("密码") {
        "password"
    } else if msg.contains("企业") {
        "enterprise"
    } else if msg.contains("部门") {
        "department"
    } else if msg.contains("角色") {
        "role"
    } else {
        "display_name"
    }
}

async fn accounts_create(
    State(s): State<AppState>,
    u: PageUser,
    Form(f): Form<AccountForm>,
) -> Result<Response, PageError> {
    if !u.p.can_manage_accounts() {
        return Err(PageError::forbidden());
    }
    if !u.csrf_ok(&f.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    let input = AccountInput {
        username: f.username.clone(),
        display_name: f.display_name.clone(),
        password: f.password.clone(),
        role: f.role.clone(),
        enterprise: Some(f.enterprise.clone()),
        department: Some(f.department.clone()),
    };
    let result = match parse_account(&s, &input) {
        Ok(new) => s
            .store
            .create_account(&new, &Actor::from(&u.p))
            .await
            .map_err(|e| match e {
                StoreError::Invalid(m) | StoreError::Conflict(m) => Ok(m),
                other => Err(other),
            }),
        Err(e) => Err(Ok(e.message)),
    };
    match result {
        Ok(a) => {
            let msg = format!("已创建账号 {}（{}）", a.username, a.role.label());
            Ok(accounts_view(
                &s,
                &u,
                AccountForm {
                    role: f.role,
                    ..Default::default()
                },
                vec![],
                Some(msg),
                None,
            )
            .await?
            .into_response())
        }
        Err(Ok(msg)) => {
            let errs = vec![FieldError::new(account_field(&msg), msg)];
            let form = AccountForm {
                password: String::new(),
                ..f
            };
            let page = accounts_view(&s, &u, form, errs, None, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(Err(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct ToggleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    active: String,
}

async fn accounts_toggle(
    State(s): State<AppState>,
    u: PageUser,
    Path(username): Path<String>,
    Form(f): Form<ToggleForm>,
) -> Result<Response, PageError> {
    if !u.p.can_manage_accounts() {
        return Err(PageError::forbidden());
    }
    if !u.csrf_ok(&f.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    let active = f.active == "1";
    if !active && username == u.p.username {
        let page = accounts_view(
            &s,
            &u,
            AccountForm::default(),
            vec![],
            None,
            Some("不能停用自己的账号".into()),
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let a = s
        .store
        .set_account_active(&username, active, &Actor::from(&u.p))
        .await?;
    let msg = format!(
        "账号 {} 已{}",
        a.username,
        if a.active { "启用" } else { "停用" }
    );
    Ok(accounts_view(
        &s,
        &u,
        AccountForm {
            role: "enterprise".into(),
            ..Default::default()
        },
        vec![],
        Some(msg),
        None,
    )
    .await?
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "reference.html")]
struct ReferencePage {
    layout: Layout,
    areas: Vec<(usize, String, String, &'static str, String)>,
    departments: Vec<(String, String, &'static str, String, String)>,
    industries: Vec<(String, String, String)>,
}

async fn reference_page(State(s): State<AppState>, u: PageUser) -> Result<Response, PageError> {
    if !u.p.can_manage_accounts() {
        return Err(PageError::forbidden());
    }
    let rd = &s.reference;
    // Depth-first walk so children follow their parent.
    let mut areas = Vec::new();
    let mut stack: Vec<(usize, &zhengqi_domain::reference::Area)> = rd
        .areas
        .iter()
        .filter(|a| a.parent.is_none())
        .rev()
        .map(|a| (0, a))
        .collect();
    while let Some((depth, a)) = stack.pop() {
        areas.push((
            depth.min(4),
            a.name.clone(),
            a.code.clone(),
            a.kind.label(),
            a.aliases.join("、"),
        ));
        for c in rd.area_children(&a.code).into_iter().rev() {
            stack.push((depth + 1, c));
        }
    }
    Ok(ReferencePage {
        layout: layout(&s, Some(&u), "reference"),
        areas,
        departments: rd
            .departments
            .iter()
            .map(|d| {
                (
                    d.code.clone(),
                    d.name.clone(),
                    d.level.label(),
                    views::area_path(rd, &d.area),
                    d.aliases.join("、"),
                )
            })
            .collect(),
        industries: rd
            .industries
            .iter()
            .map(|i| (i.code.clone(), i.name.clone(), i.section.clone()))
            .collect(),
    }
    .into_response())
}
