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
use zhengqi_domain::approval::case::{Case, Event, NewPart, NewPendingMaterial, local_day};
use zhengqi_domain::approval::catalogue::{AcceptanceDecision, ServiceItem, check_acceptance};
use zhengqi_domain::auth::{Principal, Role};
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
    pub state: String,
    pub deadline: Option<String>,
    /// Working days left (negative when overdue).
    pub time_left: Option<i64>,
}

pub(crate) fn view(s: &AppState, c: &Case) -> CaseView {
    let today = local_day(Utc::now());
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
                state: p.state.to_string(),
                deadline: p.deadline.map(|d| d.to_string()),
                time_left: c.time_left(&p.department, today, &s.calendar),
            })
            .collect(),
        owed: c
            .tolerance
            .iter()
            .filter(|m| m.supplied_on.is_none())
            .map(|m| match m.due {
                Some(d) => format!("{}（{} 前补交）", m.name, d),
                None => m.name.clone(),
            })
            .collect(),
        timeline: c.timeline(),
    }
}

/// The service items of a matter code, or None when unknown.
fn items_of<'a>(s: &'a AppState, code: &str) -> Option<Vec<&'a ServiceItem>> {
    let c = &s.catalogue;
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
    let items = items_of(s, req.matter.trim()).ok_or_else(|| ApiError::not_found("该事项"))?;
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
        &s.calendar,
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
    Ok(Json(view(&s, &c)))
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
/// is approved and nothing is owed.
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
    let (mut case, _) = s
        .store
        .apply_case_event(id, &event, &actor, Utc::now(), &s.calendar)
        .await
        .map_err(|e| match e {
            zhengqi_store::StoreError::Invalid(m) => {
                ApiError::new(StatusCode::CONFLICT, "invalid_transition", m)
            }
            other => other.into(),
        })?;
    if case.status == zhengqi_domain::approval::case::CaseStatus::ReadyToIssue {
        case = s
            .store
            .apply_case_event(
                id,
                &Event::Issue,
                &Actor::system("平台出件"),
                Utc::now(),
                &s.calendar,
            )
            .await?
            .0;
    }
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
