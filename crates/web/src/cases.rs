//! Combined approval cases over HTTP: an enterprise submits one form with
//! one set of materials (容缺 against a signed commitment), each department
//! acts on its own part, the applicant follows one case. The catalogue
//! decides acceptance, the case state machine decides transitions, the
//! store makes each step durable; this module only checks who may act.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zhengqi_domain::approval::case::{
    Case, Event, NewPart, NewPendingMaterial, WarningKind, local_day,
};
use zhengqi_domain::approval::catalogue::{AcceptanceDecision, ServiceItem, check_acceptance};
use zhengqi_domain::approval::schedule::part_flags;
use zhengqi_domain::auth::{Principal, Role};
use zhengqi_domain::uscc::Uscc;
use zhengqi_store::{Actor, SubmitOutcome};

use crate::AppState;
use crate::api::ApiJson;
use crate::error::{ApiError, ErrorBody};
use crate::session::ApiUser;

#[derive(Deserialize, ToSchema)]
pub struct SubmitRequest {
    /// A combined matter code (一件事) or a single service item code.
    pub matter: String,
    /// Client-chosen key; a retried submission with the same key returns the first case.
    pub idempotency_key: String,
    /// Keys of the materials uploaded (one set for the whole matter).
    #[serde(default)]
    pub materials: Vec<String>,
    /// The applicant signed the 容缺 commitment letter.
    #[serde(default)]
    pub commitment_signed: bool,
}

#[derive(Serialize, ToSchema)]
pub struct CaseView {
    pub id: String,
    pub matter_code: String,
    pub applicant: String,
    pub status: String,
    pub parts: Vec<PartView>,
    /// Tolerated materials still owed, with their due dates.
    pub owed: Vec<String>,
    /// 办件进度, oldest first.
    pub timeline: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PartView {
    pub department: String,
    pub item_code: String,
    /// The item names, joined with "、" when the department handles several.
    pub item_name: String,
    pub state: String,
    pub deadline: Option<String>,
    /// Working days left (negative when overdue).
    pub time_left: Option<i64>,
    /// The last approval opinion, correction request or rejection reason.
    pub remark: Option<String>,
}

pub(crate) fn view(s: &AppState, c: &Case) -> CaseView {
    view_named(s, c, None)
}

/// The view, with the applicant's name in the timeline when known.
fn view_named(s: &AppState, c: &Case, applicant_name: Option<&str>) -> CaseView {
    let today = local_day(Utc::now());
    let catalogue = s.catalogue();
    CaseView {
        id: c.id.clone(),
        matter_code: c.matter_code.clone(),
        applicant: c.applicant.clone(),
        status: c.status.to_string(),
        parts: c
            .parts
            .iter()
            .map(|p| PartView {
                department: crate::views::department_name(&s.reference, &p.department),
                item_code: p.item_code.clone(),
                item_name: p
                    .item_code
                    .split('+')
                    .map(|code| catalogue.item(code).map_or(code, |i| i.name.as_str()))
                    .collect::<Vec<_>>()
                    .join("、"),
                state: p.state.to_string(),
                deadline: p.deadline.map(|d| d.to_string()),
                time_left: c.time_left(&p.department, today, &s.calendar()),
                remark: p.remark.clone(),
            })
            .collect(),
        owed: c
            .tolerance
            .iter()
            .filter(|m| m.supplied_on.is_none())
            .map(|m| match m.due {
                Some(d) if m.overdue => {
                    format!("{}（补正期限 {d} 已过，{}）", m.name, m.on_overdue.label())
                }
                Some(d) => format!(
                    "{}（补正期限：{d} 前补交，逾期将{}）",
                    m.name,
                    m.on_overdue.label()
                ),
                None => format!("{}（受理后{}个工作日内补交）", m.name, m.supplement_days),
            })
            .collect(),
        timeline: c.timeline_named(&|code: &str| match applicant_name {
            Some(name) if code == c.applicant => name.to_owned(),
            _ => crate::views::department_name(&s.reference, code),
        }),
    }
}

/// The filled-in 容缺 commitment text of each tolerable material of a
/// matter, by material key: what the applicant signs for a material it
/// does not provide.
fn commitment_texts(s: &AppState, code: &str) -> BTreeMap<String, String> {
    let catalogue = s.catalogue();
    let c = &*catalogue;
    let materials: Vec<zhengqi_domain::approval::catalogue::Material> =
        match c.combined_matter(code) {
            Some(m) => m.materials(c).into_iter().map(|sm| sm.material).collect(),
            None => c
                .item(code)
                .map(|i| i.materials.clone())
                .unwrap_or_default(),
        };
    materials
        .into_iter()
        .filter(|m| m.tolerable)
        .filter_map(|m| {
            let t = m.commitment_template.as_ref()?;
            let text = t
                .replace("{期限}", &m.supplement_days.unwrap_or(0).to_string())
                .replace("{材料名称}", &m.name);
            Some((m.key, text))
        })
        .collect()
}

/// The timeline with the scheduler's reminders merged in by time. The
/// applicant sees only the reminders addressed to it; departments and
/// supervisors also see the deadline warnings.
pub(crate) async fn timeline_with_reminders(
    s: &AppState,
    p: &Principal,
    c: &Case,
    base: Vec<String>,
) -> Result<Vec<String>, zhengqi_store::StoreError> {
    let mut lines: Vec<(chrono::DateTime<Utc>, String)> =
        c.history.iter().map(|(t, _, _)| *t).zip(base).collect();
    for r in s.store.case_reminders(&c.id).await? {
        let visible = match p.role {
            Role::Enterprise => r.reminder.for_applicant(),
            // Staff: the applicant's reminders and their own part's warnings.
            Role::Staff => r
                .reminder
                .department()
                .is_none_or(|d| p.department.as_deref() == Some(d)),
            Role::Supervisor | Role::Admin => true,
        };
        if visible {
            let what = r
                .reminder
                .describe(|d| crate::views::department_name(&s.reference, d));
            lines.push((r.sent_at, format!("{} 平台 {what}", r.sent_on)));
        }
    }
    // Stable: events keep their order, a reminder follows what preceded it.
    lines.sort_by_key(|(t, _)| *t);
    Ok(lines.into_iter().map(|(_, l)| l).collect())
}

/// The service items of a matter code, or None when unknown.
fn items_of<'a>(
    c: &'a zhengqi_domain::approval::catalogue::Catalogue,
    code: &str,
) -> Option<Vec<&'a ServiceItem>> {
    if let Some(m) = c.combined_matter(code) {
        return Some(m.service_items(c));
    }
    c.item(code).map(|i| vec![i])
}

fn new_case_id() -> String {
    let mut b = [0u8; 5];
    zhengqi_store::random_bytes(&mut b);
    let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
    format!("ZQ{}{hex}", Utc::now().format("%Y%m%d"))
}

/// Submits a matter for the principal's enterprise. Shared by the API and
/// the submission page.
pub(crate) async fn submit(
    s: &AppState,
    p: &Principal,
    req: &SubmitRequest,
) -> Result<(StatusCode, CaseView), ApiError> {
    let uscc = p.enterprise.clone().ok_or_else(ApiError::forbidden)?;
    let key = req.idempotency_key.trim();
    if key.is_empty() || key.len() > 100 {
        return Err(ApiError::invalid("idempotency_key 应为1–100个字符"));
    }
    // The catalogue as of now: the case keeps these terms even if the
    // catalogue is edited later (its parts and 容缺 terms are stored).
    s.ensure_catalogue().await?;
    let catalogue = s.catalogue();
    let items =
        items_of(&catalogue, req.matter.trim()).ok_or_else(|| ApiError::not_found("该事项"))?;
    let enterprise = s
        .store
        .enterprise(&uscc)
        .await?
        .ok_or_else(|| ApiError::not_found("本企业"))?;
    // 失信企业 and those with a false commitment on record may not use 容缺.
    let barred = enterprise.tags.iter().any(|t| t.contains("失信"));
    let provided: BTreeSet<String> = req.materials.iter().map(|m| m.trim().to_owned()).collect();
    let tolerated = match check_acceptance(&items, &provided, req.commitment_signed, barred) {
        AcceptanceDecision::Accept => vec![],
        AcceptanceDecision::AcceptWithTolerance { missing } => missing,
        AcceptanceDecision::NeedsCommitment { missing } => {
            let names: Vec<_> = missing.iter().map(|m| m.name.as_str()).collect();
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "commitment_required",
                format!(
                    "缺少容缺材料（{}），请签署容缺受理承诺书后提交",
                    names.join("、")
                ),
            ));
        }
        AcceptanceDecision::Blocked { reason, .. } => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "materials_missing",
                reason,
            ));
        }
    };
    // One part per department: a department handling several items of the
    // matter decides them together within the longest promised limit.
    let mut by_dept: BTreeMap<&str, (Vec<&str>, u32)> = BTreeMap::new();
    for i in &items {
        let e = by_dept.entry(&i.department).or_default();
        e.0.push(&i.code);
        e.1 = e.1.max(i.promised_days);
    }
    let parts = by_dept
        .into_iter()
        .map(|(d, (codes, days))| NewPart {
            item_code: codes.join("+"),
            department: d.to_owned(),
            promised_days: days,
        })
        .collect();
    let pending = tolerated
        .iter()
        .map(|m| NewPendingMaterial {
            key: m.key.clone(),
            name: m.name.clone(),
            supplement_days: m.supplement_days,
            on_overdue: m.on_overdue,
        })
        .collect();
    let case = Case::submit(
        &new_case_id(),
        uscc.as_str(),
        req.matter.trim(),
        key,
        parts,
        pending,
        req.commitment_signed,
        Utc::now(),
        &s.calendar(),
    )
    .map_err(|e| ApiError::invalid(e.to_string()))?;
    let (status, id) = match s.store.submit_case(&case, &Actor::from(p)).await? {
        SubmitOutcome::Created(id) => (StatusCode::CREATED, id),
        SubmitOutcome::Existing(id) => (StatusCode::OK, id),
    };
    let stored = s
        .store
        .case(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("该办件"))?;
    Ok((status, view(s, &stored)))
}

/// Submits a combined matter or a single item (enterprise users).
#[utoipa::path(post, path = "/cases", tag = "cases", security(("bearer" = [])), request_body = SubmitRequest,
    responses((status = 201, body = CaseView), (status = 200, body = CaseView, description = "重复提交：返回原办件"),
               (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_submit(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
    ApiJson(req): ApiJson<SubmitRequest>,
) -> Result<Response, ApiError> {
    if p.role != Role::Enterprise {
        return Err(ApiError::forbidden());
    }
    let (status, v) = submit(&s, &p, &req).await?;
    Ok((status, Json(v)).into_response())
}

/// Who may see a case: its applicant, a department with a part in it, supervisors and admins.
pub(crate) fn may_view(p: &Principal, c: &Case) -> bool {
    match p.role {
        Role::Enterprise => p
            .enterprise
            .as_ref()
            .is_some_and(|u| u.as_str() == c.applicant),
        Role::Staff => p.department.as_deref().is_some_and(|d| c.part(d).is_some()),
        Role::Supervisor | Role::Admin => true,
    }
}

/// One case with every department's state and the timeline.
#[utoipa::path(get, path = "/cases/{id}", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path, description = "办件编号")),
    responses((status = 200, body = CaseView), (status = 404, body = ErrorBody)))]
pub async fn api_case(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    let c = s
        .store
        .case(&id)
        .await?
        .filter(|c| may_view(&p, c))
        .ok_or_else(|| ApiError::not_found("该办件"))?;
    let mut v = view(&s, &c);
    v.timeline = timeline_with_reminders(&s, &p, &c, std::mem::take(&mut v.timeline)).await?;
    Ok(Json(v))
}

#[derive(Deserialize, ToSchema)]
pub struct ActionRequest {
    /// accept | request_correction | approve | reject (department staff);
    /// corrected | supply_material | withdraw (the applicant)
    pub action: String,
    /// Reason or opinion, where the action takes one.
    #[serde(default)]
    pub text: String,
    /// For corrected: the department that asked; for supply_material: the material key.
    #[serde(default)]
    pub target: String,
}

/// Turns a request into a domain event, checking that the principal may
/// take this action: staff only for their own department, the applicant
/// only for its own case.
pub(crate) fn event_for(p: &Principal, c: &Case, a: &ActionRequest) -> Result<Event, ApiError> {
    let text = a.text.trim().to_owned();
    let staff_dept = || -> Result<String, ApiError> {
        match (p.role, p.department.as_deref()) {
            (Role::Staff, Some(d)) if c.part(d).is_some() => Ok(d.to_owned()),
            _ => Err(ApiError::forbidden()),
        }
    };
    let applicant = || -> Result<(), ApiError> {
        if p.role == Role::Enterprise
            && p.enterprise
                .as_ref()
                .is_some_and(|u| u.as_str() == c.applicant)
        {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    };
    let need_text = |what: &str| -> Result<String, ApiError> {
        if text.is_empty() {
            Err(ApiError::invalid(format!("请填写{what}")))
        } else {
            Ok(text.clone())
        }
    };
    Ok(match a.action.as_str() {
        "accept" => Event::Accept {
            department: staff_dept()?,
        },
        "request_correction" => Event::RequestCorrection {
            department: staff_dept()?,
            reason: need_text("补正要求")?,
        },
        "approve" => Event::Approve {
            department: staff_dept()?,
            opinion: if text.is_empty() {
                "同意".into()
            } else {
                text
            },
        },
        "reject" => Event::Reject {
            department: staff_dept()?,
            reason: need_text("不予许可的理由")?,
        },
        "corrected" => {
            applicant()?;
            Event::Corrected {
                department: a.target.trim().to_owned(),
            }
        }
        "supply_material" => {
            applicant()?;
            Event::SupplyMaterial {
                key: a.target.trim().to_owned(),
            }
        }
        "withdraw" => {
            applicant()?;
            Event::Withdraw
        }
        other => return Err(ApiError::invalid(format!("未知操作“{other}”"))),
    })
}

/// Applies an action and issues the results automatically once every part
/// is approved and nothing is owed, in the same transaction.
pub(crate) async fn act(
    s: &AppState,
    p: &Principal,
    id: &str,
    a: &ActionRequest,
) -> Result<CaseView, ApiError> {
    let c = s
        .store
        .case(id)
        .await?
        .filter(|c| may_view(p, c))
        .ok_or_else(|| ApiError::not_found("该办件"))?;
    let event = event_for(p, &c, a)?;
    let actor = Actor::from(p);
    let (case, _) = s
        .store
        .apply_case_event_then(id, &event, &actor, Utc::now(), &s.calendar(), |c| {
            (c.status == zhengqi_domain::approval::case::CaseStatus::ReadyToIssue)
                .then(|| (Event::Issue, Actor::system("平台出件")))
        })
        .await
        .map_err(|e| match e {
            zhengqi_store::StoreError::Invalid(m) => {
                ApiError::new(StatusCode::CONFLICT, "invalid_transition", m)
            }
            other => other.into(),
        })?;
    Ok(view(s, &case))
}

/// Takes an action on a case: a department on its own part, or the applicant.
#[utoipa::path(post, path = "/cases/{id}/actions", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path, description = "办件编号")), request_body = ActionRequest,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
               (status = 409, body = ErrorBody, description = "当前状态不允许该操作")))]
pub async fn api_act(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
    Path(id): Path<String>,
    ApiJson(a): ApiJson<ActionRequest>,
) -> Result<Json<CaseView>, ApiError> {
    Ok(Json(act(&s, &p, &id, &a).await?))
}

// ---- pages -------------------------------------------------------------

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use axum::response::Redirect;

use crate::error::PageError;
use crate::pages::{Layout, layout};
use crate::session::PageUser;

pub fn pages() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/cases", axum::routing::get(list_page))
        .route("/cases/new", axum::routing::get(new_page).post(new_submit))
        .route("/cases/{id}", axum::routing::get(case_page))
        .route("/cases/{id}/act", axum::routing::post(act_submit))
}

fn page_err(e: ApiError) -> PageError {
    PageError {
        status: e.status,
        message: e.message,
    }
}

struct CaseRow {
    id: String,
    matter: String,
    status: String,
    detail: String,
    deadline: String,
    time_left: String,
    /// "overdue" / "warn" (≥ 80% used) for the staff member's own part, else "".
    flag: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "cases.html")]
struct ListPage {
    layout: Layout,
    heading: String,
    rows: Vec<CaseRow>,
    can_submit: bool,
}

pub(crate) fn matter_name(s: &AppState, code: &str) -> String {
    let c = s.catalogue();
    c.combined_matter(code)
        .map(|m| m.name.clone())
        .or_else(|| c.item(code).map(|i| i.name.clone()))
        .unwrap_or_else(|| code.to_owned())
}

async fn list_page(State(s): State<AppState>, u: PageUser) -> Result<Response, PageError> {
    // Matter names come from the stored catalogue, which may have been edited.
    s.ensure_catalogue().await.map_err(PageError::from)?;
    let today = local_day(Utc::now());
    let (heading, rows) = match u.p.role {
        Role::Enterprise => {
            let uscc = u.p.enterprise.clone().ok_or_else(PageError::forbidden)?;
            let rows = s
                .store
                .cases_of_applicant(uscc.as_str())
                .await?
                .iter()
                .map(|c| CaseRow {
                    id: c.id.clone(),
                    matter: matter_name(&s, &c.matter_code),
                    status: c.status.to_string(),
                    detail: format!("提交于 {}", local_day(c.submitted_at)),
                    deadline: c
                        .parts
                        .iter()
                        .filter_map(|p| p.deadline)
                        .max()
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    time_left: String::new(),
                    flag: "",
                })
                .collect();
            ("我的办件".to_owned(), rows)
        }
        Role::Staff => {
            let dept = u.p.department.clone().unwrap_or_default();
            let mut rows = Vec::new();
            for q in s.store.department_queue(&dept).await? {
                let (left, flag) = match s.store.case(&q.case_id).await? {
                    Some(c) => {
                        // Only this department's part: other departments' delays are not shown.
                        let flag = part_flags(&c, today, &s.calendar())
                            .0
                            .into_iter()
                            .find(|f| f.department == dept)
                            .map_or("", |f| match f.kind {
                                WarningKind::Overdue => "overdue",
                                WarningKind::Warning80 => "warn",
                            });
                        (c.time_left(&dept, today, &s.calendar()), flag)
                    }
                    None => (None, ""),
                };
                rows.push(CaseRow {
                    id: q.case_id,
                    matter: matter_name(&s, &q.matter_code),
                    status: q.part_state,
                    detail: q.applicant,
                    deadline: q.deadline.unwrap_or_else(|| "受理后计算".into()),
                    time_left: match left {
                        Some(n) if n < 0 => format!("已超期 {} 个工作日", -n),
                        Some(n) => format!("剩余 {n} 个工作日"),
                        None if flag == "overdue" => "已超期".to_owned(),
                        None => String::new(),
                    },
                    flag,
                });
            }
            (
                format!(
                    "{} 待办（按时限排序）",
                    crate::views::department_name(&s.reference, &dept)
                ),
                rows,
            )
        }
        Role::Supervisor | Role::Admin => {
            // Every case, the overdue ones first: supervisors chase delays.
            let mut rows: Vec<(bool, CaseRow)> = s
                .store
                .all_cases(2000)
                .await?
                .iter()
                .map(|c| {
                    let overdue: Vec<String> = c
                        .overdue_parts(today, &s.calendar())
                        .iter()
                        .map(|p| crate::views::department_name(&s.reference, &p.department))
                        .collect();
                    let row = CaseRow {
                        id: c.id.clone(),
                        matter: matter_name(&s, &c.matter_code),
                        status: c.status.to_string(),
                        detail: c.applicant.clone(),
                        deadline: c
                            .parts
                            .iter()
                            .filter_map(|p| p.deadline)
                            .max()
                            .map(|d| d.to_string())
                            .unwrap_or_default(),
                        time_left: if overdue.is_empty() {
                            String::new()
                        } else {
                            format!("超期：{}", overdue.join("、"))
                        },
                        flag: if overdue.is_empty() { "" } else { "overdue" },
                    };
                    (!overdue.is_empty(), row)
                })
                .collect();
            rows.sort_by_key(|(late, _)| !*late);
            let late = rows.iter().filter(|(l, _)| *l).count();
            (
                format!("全部办件（超期 {late} 件）"),
                rows.into_iter().map(|(_, r)| r).collect(),
            )
        }
    };
    Ok(ListPage {
        layout: layout(&s, Some(&u), "cases"),
        heading,
        rows,
        can_submit: u.p.role == Role::Enterprise,
    }
    .into_response())
}

struct MaterialChoice {
    key: String,
    name: String,
    tolerable: bool,
    needed_by: usize,
    /// The commitment the applicant signs when it leaves this one out.
    commitment: Option<String>,
    checked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "case_new.html")]
struct NewPage {
    layout: Layout,
    matters: Vec<(String, String)>,
    matter: String,
    matter_name: String,
    departments: Vec<String>,
    materials: Vec<MaterialChoice>,
    has_commitments: bool,
    commitment_ticked: bool,
    idempotency_key: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct NewQuery {
    #[serde(default)]
    matter: String,
}

/// What the applicant chose when the form comes back with an error, so it
/// does not have to tick everything again.
struct Chosen<'a> {
    materials: &'a [String],
    commitment: bool,
}

fn new_view(
    s: &AppState,
    u: &PageUser,
    matter: &str,
    error: Option<String>,
    chosen: Option<Chosen<'_>>,
) -> NewPage {
    let catalogue = s.catalogue();
    let c = &*catalogue;
    let mut matters: Vec<(String, String)> = c
        .combined_matters
        .iter()
        .map(|m| (m.code.clone(), format!("【一件事】{}", m.name)))
        .collect();
    matters.extend(c.items.iter().map(|i| (i.code.clone(), i.name.clone())));
    let (materials, departments) = match c.combined_matter(matter) {
        Some(m) => (
            m.materials(c)
                .into_iter()
                .map(|sm| MaterialChoice {
                    key: sm.material.key.clone(),
                    name: sm.material.name.clone(),
                    tolerable: sm.material.tolerable,
                    needed_by: sm.needed_by.len(),
                    commitment: None,
                    checked: true,
                })
                .collect(),
            m.departments(c)
                .iter()
                .map(|d| crate::views::department_name(&s.reference, d))
                .collect(),
        ),
        None => match c.item(matter) {
            Some(i) => (
                i.materials
                    .iter()
                    .map(|m| MaterialChoice {
                        key: m.key.clone(),
                        name: m.name.clone(),
                        tolerable: m.tolerable,
                        needed_by: 1,
                        commitment: None,
                        checked: true,
                    })
                    .collect(),
                vec![crate::views::department_name(&s.reference, &i.department)],
            ),
            None => (vec![], vec![]),
        },
    };
    let texts = commitment_texts(s, matter);
    let materials: Vec<MaterialChoice> = materials
        .into_iter()
        .map(|m| MaterialChoice {
            commitment: texts.get(&m.key).cloned(),
            // Every material ticked at first: the usual case is a complete set.
            checked: chosen
                .as_ref()
                .is_none_or(|c| c.materials.iter().any(|k| k.trim() == m.key)),
            ..m
        })
        .collect();
    NewPage {
        layout: layout(s, Some(u), "cases"),
        has_commitments: materials.iter().any(|m| m.commitment.is_some()),
        commitment_ticked: chosen.as_ref().is_some_and(|c| c.commitment),
        matter_name: matter_name(s, matter),
        matter: matter.to_owned(),
        matters,
        departments,
        materials,
        idempotency_key: new_case_id(),
        error,
    }
}

async fn new_page(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<NewQuery>,
) -> Result<Response, PageError> {
    if u.p.role != Role::Enterprise {
        return Err(PageError::forbidden());
    }
    // The form must list the materials the submission will be checked against.
    s.ensure_catalogue().await.map_err(PageError::from)?;
    Ok(new_view(&s, &u, q.matter.trim(), None, None).into_response())
}

async fn new_submit(
    State(s): State<AppState>,
    u: PageUser,
    axum::Form(form): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if u.p.role != Role::Enterprise {
        return Err(PageError::forbidden());
    }
    let get = |k: &str| {
        form.iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if !u.csrf_ok(&get("csrf")) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    let req = SubmitRequest {
        matter: get("matter"),
        idempotency_key: get("idempotency_key"),
        materials: form
            .iter()
            .filter(|(k, _)| k == "material")
            .map(|(_, v)| v.clone())
            .collect(),
        commitment_signed: get("commitment") == "1",
    };
    match submit(&s, &u.p, &req).await {
        Ok((_, v)) => Ok(Redirect::to(&format!("/cases/{}", v.id)).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            new_view(
                &s,
                &u,
                req.matter.trim(),
                Some(e.message),
                Some(Chosen {
                    materials: &req.materials,
                    commitment: req.commitment_signed,
                }),
            ),
        )
            .into_response()),
        Err(e) => Err(page_err(e)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "case.html")]
struct CasePage {
    layout: Layout,
    c: CaseView,
    matter_name: String,
    /// The staff member's department has a part: the actions its state allows.
    my_actions: Option<PartActions>,
    is_applicant: bool,
    /// Departments waiting for the applicant's correction: (code, name).
    corrections: Vec<(String, String)>,
    /// Tolerated materials still owed: (key, name).
    owed_keys: Vec<(String, String)>,
    /// The signed 容缺 commitments: (material, text, due date, state).
    commitments: Vec<Commitment>,
    error: Option<String>,
}

/// What a department may do next on its part, so the page offers only
/// buttons that can succeed (the domain still decides on submission).
struct PartActions {
    accept: bool,
    /// 批准 and 要求补正.
    decide: bool,
    reject: bool,
    /// Why nothing (more) is offered, when that is the case.
    note: String,
}

fn part_actions(c: &Case, department: &str) -> Option<PartActions> {
    use zhengqi_domain::approval::case::PartState;
    let part = c.part(department)?;
    let none = |note: String| PartActions {
        accept: false,
        decide: false,
        reject: false,
        note,
    };
    if c.status.is_terminal() {
        return Some(none(format!("本件{}，不再办理。", c.status)));
    }
    Some(match part.state {
        PartState::Submitted => PartActions {
            accept: true,
            decide: false,
            reject: true,
            note: String::new(),
        },
        PartState::Accepted => PartActions {
            accept: false,
            decide: true,
            reject: true,
            note: String::new(),
        },
        PartState::CorrectionRequested => PartActions {
            reject: true,
            ..none("已要求补正，等待申请人补正后继续审查。".into())
        },
        PartState::Approved | PartState::Rejected => {
            none(format!("本部门已作出决定：{}。", part.state))
        }
    })
}

struct Commitment {
    name: String,
    text: String,
    due: String,
    state: String,
}

async fn case_view(
    s: &AppState,
    u: &PageUser,
    id: &str,
    error: Option<String>,
) -> Result<CasePage, PageError> {
    s.ensure_catalogue().await.map_err(PageError::from)?;
    let c = s
        .store
        .case(id)
        .await?
        .filter(|c| may_view(&u.p, c))
        .ok_or_else(PageError::not_found)?;
    let applicant_name = match Uscc::parse(&c.applicant) {
        Ok(code) => s.store.enterprise(&code).await?.map(|e| e.name),
        Err(_) => None,
    };
    let my_actions = match (u.p.role, u.p.department.as_deref()) {
        (Role::Staff, Some(d)) => part_actions(&c, d),
        _ => None,
    };
    Ok(CasePage {
        layout: layout(s, Some(u), "cases"),
        matter_name: matter_name(s, &c.matter_code),
        my_actions,
        is_applicant: u.p.role == Role::Enterprise,
        corrections: c
            .parts
            .iter()
            .filter(|p| p.correction_since.is_some())
            .map(|p| {
                (
                    p.department.clone(),
                    crate::views::department_name(&s.reference, &p.department),
                )
            })
            .collect(),
        owed_keys: c
            .tolerance
            .iter()
            .filter(|m| m.supplied_on.is_none())
            .map(|m| (m.key.clone(), m.name.clone()))
            .collect(),
        commitments: {
            let texts = commitment_texts(s, &c.matter_code);
            c.tolerance
                .iter()
                .map(|m| Commitment {
                    name: m.name.clone(),
                    // The catalogue may have changed since: fall back to the terms on the case.
                    text: texts.get(&m.key).cloned().unwrap_or_else(|| {
                        format!(
                            "本单位承诺在受理之日起{}个工作日内补交{}，逾期按“{}”处理。",
                            m.supplement_days,
                            m.name,
                            m.on_overdue.label()
                        )
                    }),
                    due: m
                        .due
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "受理后计算".into()),
                    state: match (m.supplied_on, m.overdue) {
                        (Some(d), _) => format!("已于 {d} 补交"),
                        (None, true) => format!("逾期未补（{}）", m.on_overdue.label()),
                        (None, false) => "待补交".into(),
                    },
                })
                .collect()
        },
        c: {
            let mut v = view_named(s, &c, applicant_name.as_deref());
            v.timeline =
                timeline_with_reminders(s, &u.p, &c, std::mem::take(&mut v.timeline)).await?;
            v
        },
        error,
    })
}

async fn case_page(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    Ok(case_view(&s, &u, &id, None).await?.into_response())
}

#[derive(Deserialize)]
struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    target: String,
}

async fn act_submit(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<ActForm>,
) -> Result<Response, PageError> {
    if !u.csrf_ok(&f.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    let a = ActionRequest {
        action: f.action,
        text: f.text,
        target: f.target,
    };
    match act(&s, &u.p, &id, &a).await {
        Ok(_) => Ok(Redirect::to(&format!("/cases/{id}")).into_response()),
        Err(e) if matches!(e.status, StatusCode::CONFLICT | StatusCode::BAD_REQUEST) => {
            Ok((e.status, case_view(&s, &u, &id, Some(e.message)).await?).into_response())
        }
        Err(e) => Err(page_err(e)),
    }
}
