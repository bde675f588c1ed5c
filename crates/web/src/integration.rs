//! Other systems exchanging cases with the platform.
//!
//! Inbound, under `/api/v1/integration`:
//! - the 一网通办 portal submits for an enterprise with that enterprise's own
//!   API token (delegated submission: the portal holds no credential that can
//!   act for every enterprise), idempotent by the `Idempotency-Key` header;
//! - a department's business system (e.g. the engineering-construction
//!   approval system) reports its department's decisions with a
//!   department-bound staff API account, idempotent by its own event id.
//!
//! Outbound webhooks are sent by `webhooks.rs`; `/admin/integration` manages
//! the subscriptions and the dead-letter list.

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use zhengqi_domain::auth::Role;
use zhengqi_store::{
    Actor, InboundCallback, InboundRecord, NewSubscription, Reservation, WEBHOOK_EVENT_TYPES,
};

use crate::AppState;
use crate::api::ApiJson;
use crate::cases::{ActionRequest, CaseView, SubmitRequest};
use crate::error::{ApiError, ErrorBody, PageError};
use crate::pages::{Layout, layout};
use crate::session::{ApiUser, PageUser};

/// The integration section of the OpenAPI document: the inbound endpoints'
/// tag and the outbound webhook contract, which has no handler to derive
/// it from.
pub struct IntegrationDocs;

pub const WEBHOOK_DOC: &str = "外发事件（Webhook）：办件每次状态变化产生的事件写入与该变化同一事务的外发队列，再按订阅逐一投递（至少一次）。\
请求：POST 订阅地址，Content-Type: application/json，正文 {\"id\":\"事件编号\",\"event\":\"事件类型\",\"case_id\":\"办件编号\",\"occurred_at\":\"RFC 3339 UTC\",\"data\":{事件内容，含 type}}。\
请求头：X-Zhengqi-Event-Id（事件编号，重试与各订阅间不变，接收方据此去重）、X-Zhengqi-Event、X-Zhengqi-Timestamp（Unix 秒）、X-Zhengqi-Attempt、\
X-Zhengqi-Signature: sha256=<hex(HMAC-SHA256(订阅密钥, Timestamp + \".\" + 原始正文))>。接收方应以常数时间比较签名，并拒绝时间戳偏差超过5分钟的请求。\
任何 2xx 视为送达；其他状态码、重定向、超时（10秒）均重试：间隔 30秒、2分钟、10分钟、1小时、6小时、12小时、24小时，共8次后转入死信列表，管理员可在“系统对接”页面重新投递。\
事件类型：part_state_changed、case_status_changed、deadline_set、correction_needed、supplement_due、material_supplied、material_overdue、credit_mark、case_issued、case_revoked、case_withdrawn，以及调度提醒 supplement_reminder、deadline_warning、deadline_overdue。详见 docs/integration.md。";

impl utoipa::Modify for IntegrationDocs {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let desc = format!(
            "其他系统对接。入站：一网通办以企业本身的访问令牌代为提交（Idempotency-Key 请求头保证幂等）；部门业务系统（如工程建设项目审批管理系统）以绑定本部门的账号回传本部门决定（按 event_id 幂等，重复回调返回首次结果，不会二次生效）。{WEBHOOK_DOC}"
        );
        let tag = utoipa::openapi::tag::TagBuilder::new()
            .name("integration")
            .description(Some(desc))
            .build();
        openapi.tags.get_or_insert_with(Vec::new).push(tag);
        if let Some(d) = openapi.info.description.as_mut() {
            d.push(' ');
            d.push_str(WEBHOOK_DOC);
        }
    }
}

/// A reservation older than this belongs to a request that died; a retry
/// may take it over after checking whether the event was applied.
const INBOUND_LEASE_SECS: i64 = 60;

/// 一网通办 submission: the matter and materials; the idempotency key comes
/// in the `Idempotency-Key` header.
#[derive(Deserialize, ToSchema)]
pub struct PortalSubmission {
    /// A combined matter code (一件事) or a single service item code.
    pub matter: String,
    /// Keys of the materials received.
    #[serde(default)]
    pub materials: Vec<String>,
    /// The applicant signed the 容缺 commitment letter.
    #[serde(default)]
    pub commitment_signed: bool,
}

fn idempotency_key(h: &HeaderMap) -> Result<String, ApiError> {
    let k = h
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    if k.is_empty() || k.len() > 100 {
        return Err(ApiError::invalid(
            "请在 Idempotency-Key 请求头中提供1–100个字符的幂等键",
        ));
    }
    Ok(k.to_owned())
}

/// Submits a matter for the enterprise whose API token the portal presents.
/// A retry with the same `Idempotency-Key` returns the first case (200).
#[utoipa::path(post, path = "/integration/cases", tag = "integration", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "调用方生成的幂等键（1–100字符）；重试时不变")),
    request_body = PortalSubmission,
    responses((status = 201, body = CaseView, description = "已受理提交，新建办件"),
               (status = 200, body = CaseView, description = "相同幂等键的重复提交：返回原办件"),
               (status = 400, body = ErrorBody, description = "缺少幂等键或请求体无效"),
               (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "非企业账号"),
               (status = 404, body = ErrorBody, description = "事项不存在"),
               (status = 422, body = ErrorBody, description = "材料不全或须签署容缺承诺书")))]
pub async fn api_portal_submit(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
    headers: HeaderMap,
    ApiJson(req): ApiJson<PortalSubmission>,
) -> Result<Response, ApiError> {
    if p.role != Role::Enterprise {
        return Err(ApiError::forbidden());
    }
    let key = idempotency_key(&headers)?;
    let req = SubmitRequest {
        matter: req.matter,
        idempotency_key: key,
        materials: req.materials,
        commitment_signed: req.commitment_signed,
    };
    let (status, v) = crate::cases::submit(&s, &p, &req).await?;
    Ok((status, Json(v)).into_response())
}

/// A decision taken in a department's own system.
#[derive(Deserialize, ToSchema)]
pub struct StatusCallback {
    /// The calling system's unique id of this decision; a repeated callback
    /// with the same id returns the first answer and changes nothing.
    pub event_id: String,
    /// 受理 | 补正 | 批准 | 不予许可 (or accept | request_correction | approve | reject)
    pub decision: String,
    /// The calling system's reference (e.g. its 受理号 / 文号).
    pub external_ref: String,
    /// When the decision was taken there (RFC 3339, e.g. `2025-10-09T10:00:00+08:00`).
    pub decided_at: String,
    /// 补正要求 / 不予许可理由 (required for those) or the approval opinion.
    #[serde(default)]
    pub text: String,
}

fn action_of(decision: &str) -> Option<&'static str> {
    Some(match decision.trim() {
        "受理" | "accept" => "accept",
        "补正" | "request_correction" => "request_correction",
        "批准" | "approve" => "approve",
        "不予许可" | "reject" => "reject",
        _ => return None,
    })
}

fn hash_of(id: &str, action: &str, cb: &StatusCallback, at: DateTime<Utc>) -> String {
    let canonical = serde_json::json!([
        id,
        action,
        cb.text.trim(),
        cb.external_ref.trim(),
        at.to_rfc3339()
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

fn replay(status: u16, body: serde_json::Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut r = (status, Json(body)).into_response();
    r.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    r
}

fn in_progress() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "in_progress",
        "该回调正在处理，请稍后重试",
    )
}

fn reused() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "event_id_reused",
        "该 event_id 已用于内容不同的另一次回调",
    )
}

/// Reports a department's decision on its part of a case. The platform
/// records its own receipt time as the event time (a case's timeline never
/// runs backwards); the external reference and time are kept with the
/// callback record and in the audit log.
#[utoipa::path(post, path = "/integration/cases/{id}/status", tag = "integration", security(("bearer" = [])),
    params(("id" = String, Path, description = "办件编号")), request_body = StatusCallback,
    responses((status = 200, body = CaseView, description = "已应用；重复回调返回首次结果并带 Idempotent-Replayed: true"),
               (status = 400, body = ErrorBody, description = "请求体无效（中文说明）"),
               (status = 401, body = ErrorBody),
               (status = 403, body = ErrorBody, description = "非部门账号，或本部门不承办该办件"),
               (status = 404, body = ErrorBody, description = "办件不存在"),
               (status = 409, body = ErrorBody, description = "当前状态不允许该决定（invalid_transition，作为结果保存）；event_id 内容不同（event_id_reused）；正在处理（in_progress）")))]
pub async fn api_status_callback(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
    Path(id): Path<String>,
    ApiJson(cb): ApiJson<StatusCallback>,
) -> Result<Response, ApiError> {
    let dept = match (p.role, p.department.as_deref()) {
        (Role::Staff, Some(d)) => d.to_owned(),
        _ => return Err(ApiError::forbidden()),
    };
    let event_id = cb.event_id.trim();
    if event_id.is_empty() || event_id.len() > 100 {
        return Err(ApiError::invalid("event_id 应为1–100个字符"));
    }
    let external_ref = cb.external_ref.trim();
    if external_ref.is_empty() || external_ref.chars().count() > 100 {
        return Err(ApiError::invalid("external_ref 应为1–100个字符"));
    }
    let action = action_of(&cb.decision).ok_or_else(|| {
        ApiError::invalid(format!(
            "未知的决定“{}”：应为 受理、补正、批准 或 不予许可",
            cb.decision.trim()
        ))
    })?;
    let decided_at = DateTime::parse_from_rfc3339(cb.decided_at.trim())
        .map_err(|_| {
            ApiError::invalid("decided_at 应为 RFC 3339 时间，如 2025-10-09T10:00:00+08:00")
        })?
        .with_timezone(&Utc);
    let hash = hash_of(&id, action, &cb, decided_at);
    let source = p.username.clone();

    let now = Utc::now();
    let mut existing = s.store.inbound_event(&source, event_id).await?;
    if existing.is_none() {
        // Checks before reserving: refusals here are not answers to keep.
        let c = s
            .store
            .case(&id)
            .await?
            .ok_or_else(|| ApiError::not_found("该办件"))?;
        if c.part(&dept).is_none() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "本部门不承办该办件的任何事项，无权回传决定",
            ));
        }
        let a = ActionRequest {
            action: action.to_owned(),
            text: cb.text.clone(),
            target: String::new(),
        };
        crate::cases::event_for(&p, &c, &a)?;
        let reservation = s
            .store
            .reserve_inbound(
                &InboundCallback {
                    source: source.clone(),
                    event_id: event_id.to_owned(),
                    case_id: id.clone(),
                    request_hash: hash.clone(),
                    external_ref: external_ref.to_owned(),
                    external_at: decided_at,
                },
                now,
            )
            .await?;
        match reservation {
            Reservation::Reserved { .. } => return apply(&s, &p, &id, &a, event_id).await,
            Reservation::Existing(r) => existing = Some(r),
        }
    }
    match existing {
        Some(InboundRecord::Done {
            request_hash,
            status,
            response,
        }) => {
            if request_hash != hash {
                return Err(reused());
            }
            Ok(replay(status, response))
        }
        Some(InboundRecord::Pending {
            request_hash,
            case_seq,
            reserved_at,
        }) => {
            if request_hash != hash {
                return Err(reused());
            }
            if now - reserved_at < Duration::seconds(INBOUND_LEASE_SECS) {
                return Err(in_progress());
            }
            // The request that reserved this died. Whether its event was
            // applied is in the case's event log after the reservation.
            let c = s
                .store
                .case(&id)
                .await?
                .ok_or_else(|| ApiError::not_found("该办件"))?;
            let a = ActionRequest {
                action: action.to_owned(),
                text: cb.text.clone(),
                target: String::new(),
            };
            let event = crate::cases::event_for(&p, &c, &a)?;
            let applied = s
                .store
                .case_events(&id)
                .await?
                .iter()
                .any(|e| e.seq > case_seq && e.event == event);
            if !s
                .store
                .retake_inbound(&source, event_id, reserved_at, now)
                .await?
            {
                return Err(in_progress());
            }
            if applied {
                let body = serde_json::to_value(crate::cases::view(&s, &c))
                    .unwrap_or(serde_json::Value::Null);
                s.store
                    .complete_inbound(&source, event_id, 200, &body, &Actor::from(&p), now)
                    .await?;
                return Ok((StatusCode::OK, Json(body)).into_response());
            }
            apply(&s, &p, &id, &a, event_id).await
        }
        None => Err(in_progress()),
    }
}

/// Applies the reserved callback and keeps the answer. Refusals by the case
/// state machine are answers too (a repeat gets the same refusal); storage
/// failures are not, so a retry after the lease tries again.
async fn apply(
    s: &AppState,
    p: &zhengqi_domain::auth::Principal,
    id: &str,
    a: &ActionRequest,
    event_id: &str,
) -> Result<Response, ApiError> {
    let (status, body) = match crate::cases::act(s, p, id, a).await {
        Ok(v) => (
            StatusCode::OK,
            serde_json::to_value(v).unwrap_or(serde_json::Value::Null),
        ),
        Err(e) if matches!(e.status, StatusCode::CONFLICT | StatusCode::BAD_REQUEST) => (
            e.status,
            serde_json::json!({"code": e.code, "message": e.message}),
        ),
        Err(e) => return Err(e),
    };
    s.store
        .complete_inbound(
            &p.username,
            event_id,
            status.as_u16(),
            &body,
            &Actor::from(p),
            Utc::now(),
        )
        .await?;
    Ok((status, Json(body)).into_response())
}

// ---- admin page --------------------------------------------------------

pub fn pages() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/admin/integration",
            axum::routing::get(admin_page).post(create_subscription),
        )
        .route(
            "/admin/integration/subscriptions/{id}/disable",
            axum::routing::post(disable_subscription),
        )
        .route(
            "/admin/integration/deliveries/{id}/requeue",
            axum::routing::post(requeue),
        )
}

struct DeadRow {
    id: i64,
    subscription: String,
    event: String,
    event_id: i64,
    case_id: String,
    attempts: i64,
    last_error: String,
    last_attempt_at: String,
}

struct SubRow {
    id: i64,
    name: String,
    url: String,
    events: String,
    active: bool,
    created: String,
    pending: i64,
    delivered: i64,
    dead: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "integration.html")]
struct AdminPage {
    layout: Layout,
    subs: Vec<SubRow>,
    dead: Vec<DeadRow>,
    backlog: i64,
    event_types: Vec<&'static str>,
    /// Shown once, right after creation.
    new_secret: Option<(String, String)>,
    ok: Option<String>,
    error: Option<String>,
    form_name: String,
    form_url: String,
}

fn beijing(t: DateTime<Utc>) -> String {
    (t + Duration::hours(8))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

async fn admin_view(s: &AppState, u: &PageUser) -> Result<AdminPage, PageError> {
    let counts = s.store.delivery_counts().await?;
    let subs = s
        .store
        .subscriptions()
        .await?
        .into_iter()
        .map(|x| {
            let c = counts.iter().find(|c| c.subscription_id == x.id);
            SubRow {
                id: x.id,
                events: if x.events.is_empty() {
                    "全部".into()
                } else {
                    x.events.join("、")
                },
                created: format!("{} {}", beijing(x.created_at), x.created_by),
                pending: c.map_or(0, |c| c.pending),
                delivered: c.map_or(0, |c| c.delivered),
                dead: c.map_or(0, |c| c.dead),
                name: x.name,
                url: x.url,
                active: x.active,
            }
        })
        .collect();
    let dead = s
        .store
        .dead_letters(200)
        .await?
        .into_iter()
        .map(|d| DeadRow {
            id: d.delivery_id,
            subscription: d.subscription,
            event: d.event,
            event_id: d.event_id,
            case_id: d.case_id,
            attempts: d.attempts,
            last_error: d.last_error.unwrap_or_default(),
            last_attempt_at: d.last_attempt_at.map(beijing).unwrap_or_default(),
        })
        .collect();
    Ok(AdminPage {
        layout: layout(s, Some(u), "integration"),
        subs,
        dead,
        backlog: s.store.outbox_backlog().await?,
        event_types: WEBHOOK_EVENT_TYPES.to_vec(),
        new_secret: None,
        ok: None,
        error: None,
        form_name: String::new(),
        form_url: String::new(),
    })
}

async fn admin_page(State(s): State<AppState>, u: PageUser) -> Result<Response, PageError> {
    if !u.p.can_manage_accounts() {
        return Err(PageError::forbidden());
    }
    Ok(admin_view(&s, &u).await?.into_response())
}

async fn create_subscription(
    State(s): State<AppState>,
    u: PageUser,
    axum::Form(form): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if !u.p.can_manage_accounts() {
        return Err(PageError::forbidden());
    }
    let get = |k: &str| {
        form.iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    if !u.csrf_ok(&get("csrf")) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    let n = NewSubscription {
        name: get("name"),
        url: get("url"),
        events: form
            .iter()
            .filter(|(k, _)| k == "event")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    match s
        .store
        .create_subscription(&n, &Actor::from(&u.p), Utc::now())
        .await
    {
        Ok((sub, secret)) => {
            let mut page = admin_view(&s, &u).await?;
            page.new_secret = Some((sub.name, secret));
            // The secret is on this page only: keep it out of caches.
            Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], page).into_response())
        }
        Err(zhengqi_store::StoreError::Invalid(m)) => {
            let mut page = admin_view(&s, &u).await?;
            page.error = Some(m);
            page.form_name = n.name;
            page.form_url = n.url;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn disable_subscription(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<CsrfForm>,
) -> Result<Response, PageError> {
    if !u.p.can_manage_accounts() {
        return Err(PageError::forbidden());
    }
    let id: i64 = id.parse().map_err(|_| PageError::not_found())?;
    if !u.csrf_ok(&f.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    s.store
        .disable_subscription(id, &Actor::from(&u.p), Utc::now())
        .await?;
    Ok(Redirect::to("/admin/integration").into_response())
}

async fn requeue(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<CsrfForm>,
) -> Result<Response, PageError> {
    if !u.p.can_manage_accounts() {
        return Err(PageError::forbidden());
    }
    let id: i64 = id.parse().map_err(|_| PageError::not_found())?;
    if !u.csrf_ok(&f.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    s.store
        .requeue_delivery(id, &Actor::from(&u.p), Utc::now())
        .await?;
    let mut page = admin_view(&s, &u).await?;
    page.ok = Some(format!("投递 {id} 已重新排队，将立即重新投递"));
    Ok(page.into_response())
}
