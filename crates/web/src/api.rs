//! The JSON API under `/api/v1`, documented by the OpenAPI document that
//! `utoipa` generates from these handlers (`/api/v1/openapi.json`).

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use zhengqi_domain::auth::{Role, Username};
use zhengqi_domain::enterprise::{EnterpriseDraft, IndicatorDraft};
use zhengqi_domain::money::Amount;
use zhengqi_domain::size::SizeInput;
use zhengqi_domain::uscc::Uscc;
use zhengqi_store::{Actor, AuditFilter, EnterpriseFilter, NewAccount, SessionKind, UpsertOutcome};

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::integration::IntegrationDocs;
use crate::session::ApiUser;
use crate::views::{self, EnterpriseView, IndicatorView};

/// `Json` whose rejections are our JSON errors, not axum's plain text.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Query` whose rejections are our JSON errors.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "政企通 zhengqi API",
        description = "珠海政企通一站式服务平台接口。错误统一为 {\"code\",\"message\"}，message 为中文。先用 POST /auth/login 取得 token，再以 Authorization: Bearer <token> 调用。"
    ),
    servers((url = "/api/v1")),
    modifiers(&BearerAuth, &IntegrationDocs),
    tags(
        (name = "auth", description = "登录与会话"),
        (name = "enterprises", description = "企业库与指标"),
        (name = "reference", description = "参考数据：区域、部门、行业"),
        (name = "policies", description = "政策库“一张清单”：检索与详情"),
        (name = "cases", description = "并联审批办件：一次提交、容缺受理、各部门并联办理"),
        (name = "rules", description = "政策兑现规则：解析、校验、试算、沙盘与版本"),
        (name = "awards", description = "免申即享兑现名单：公示、异议、核准、拨付"),
        (name = "admin", description = "账号与审计"),
        (name = "tools", description = "校验与划型工具"),
    )
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_enterprises))
        .routes(routes!(get_enterprise, put_enterprise))
        .routes(routes!(get_indicators, post_indicator))
        .routes(routes!(areas))
        .routes(routes!(departments))
        .routes(routes!(industries))
        .routes(routes!(audit))
        .routes(routes!(list_accounts, create_account))
        .routes(routes!(crate::policies::api_search))
        .routes(routes!(crate::policies::api_policy))
        .routes(routes!(crate::cases::api_submit))
        .routes(routes!(crate::cases::api_case))
        .routes(routes!(crate::cases::api_act))
        .routes(routes!(crate::integration::api_portal_submit))
        .routes(routes!(crate::integration::api_status_callback))
        .routes(routes!(crate::rules::api_parse))
        .routes(routes!(crate::rules::api_check))
        .routes(routes!(crate::rules::api_preview))
        .routes(routes!(crate::rules::api_sandbox))
        .routes(routes!(
            crate::rules::api_get_rule,
            crate::rules::api_put_rule
        ))
        .routes(routes!(
            crate::awards::api_lists,
            crate::awards::api_generate
        ))
        .routes(routes!(crate::awards::api_list))
        .routes(routes!(crate::awards::api_act))
        .routes(routes!(check_uscc))
        .routes(routes!(classify))
        .split_for_parts();
    let doc = Arc::new(doc.to_pretty_json().unwrap_or_default());
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move {
                    (
                        [("content-type", "application/json")],
                        doc.as_str().to_owned(),
                    )
                }
            }),
        )
        .fallback(|| async { ApiError::not_found("该接口") })
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token; send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: String,
    pub user: MeResponse,
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub username: String,
    pub display_name: String,
    /// enterprise | staff | supervisor | admin
    pub role: String,
    pub role_label: String,
    pub enterprise: Option<String>,
    pub department: Option<String>,
}

fn me_of(p: &zhengqi_domain::auth::Principal) -> MeResponse {
    MeResponse {
        username: p.username.clone(),
        display_name: p.display_name.clone(),
        role: p.role.key().to_owned(),
        role_label: p.role.label().to_owned(),
        enterprise: p.enterprise.as_ref().map(|u| u.to_string()),
        department: p.department.clone(),
    }
}

const API_TOKEN_HOURS: i64 = 12;

/// Exchanges a username and password for a bearer token.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody, description = "用户名或密码错误"),
               (status = 403, body = ErrorBody, description = "账号已停用")))]
async fn login(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let p = s.store.authenticate(&req.username, &req.password).await?;
    let ttl = Duration::hours(API_TOKEN_HOURS);
    let (token, _) = s.store.create_session(&p, SessionKind::Api, ttl).await?;
    Ok(Json(LoginResponse {
        token,
        expires_at: (Utc::now() + ttl).to_rfc3339(),
        user: me_of(&p),
    }))
}

/// Ends the session of the presented token.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(
    State(s): State<AppState>,
    _u: ApiUser,
    headers: axum::http::HeaderMap,
) -> Result<StatusCode, ApiError> {
    if let Some(t) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        s.store.end_session(t.trim()).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The authenticated account.
#[utoipa::path(get, path = "/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)))]
async fn me(ApiUser(p): ApiUser) -> Json<MeResponse> {
    Json(me_of(&p))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct EnterpriseQuery {
    /// Name or code substring.
    #[serde(default)]
    pub q: String,
    /// Area code.
    #[serde(default)]
    pub area: String,
    /// 大型/中型/小型/微型
    #[serde(default)]
    pub size_class: String,
    /// Industry division prefix, e.g. 39.
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub page: Option<i64>,
    #[serde(default)]
    pub per_page: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct EnterpriseList {
    pub items: Vec<EnterpriseView>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// Lists the registry (government roles only).
#[utoipa::path(get, path = "/enterprises", tag = "enterprises", params(EnterpriseQuery), security(("bearer" = [])),
    responses((status = 200, body = EnterpriseList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_enterprises(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
    ApiQuery(q): ApiQuery<EnterpriseQuery>,
) -> Result<Json<EnterpriseList>, ApiError> {
    if !p.can_browse_registry() {
        return Err(ApiError::forbidden());
    }
    let per_page = q.per_page.unwrap_or(50).clamp(1, 500);
    let page = q.page.unwrap_or(1).max(1);
    let res = s
        .store
        .enterprises(&EnterpriseFilter {
            q: q.q,
            area: q.area,
            size_class: q.size_class,
            industry: q.industry,
            limit: per_page,
            offset: (page - 1) * per_page,
        })
        .await?;
    Ok(Json(EnterpriseList {
        items: res
            .items
            .iter()
            .map(|e| views::enterprise_view(&s.reference, e))
            .collect(),
        total: res.total,
        page,
        per_page,
    }))
}

/// Parses a path code; a malformed code cannot name anything, so it is
/// answered like a missing record.
fn path_uscc(code: &str) -> Result<Uscc, ApiError> {
    Uscc::parse(code).map_err(|e| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("未找到该企业：{e}"),
        )
    })
}

/// One enterprise. An enterprise user gets 404 for any enterprise but its own.
#[utoipa::path(get, path = "/enterprises/{uscc}", tag = "enterprises", security(("bearer" = [])),
    params(("uscc" = String, Path, description = "统一社会信用代码")),
    responses((status = 200, body = EnterpriseView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_enterprise(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
    Path(code): Path<String>,
) -> Result<Json<EnterpriseView>, ApiError> {
    let uscc = path_uscc(&code)?;
    if !p.can_view_enterprise(&uscc) {
        // 404, not 403: do not confirm that another enterprise exists.
        return Err(ApiError::not_found("该企业"));
    }
    let e = s
        .store
        .enterprise(&uscc)
        .await?
        .ok_or_else(|| ApiError::not_found("该企业"))?;
    Ok(Json(views::enterprise_view(&s.reference, &e)))
}

#[derive(Deserialize, ToSchema)]
pub struct EnterpriseInput {
    pub name: String,
    #[serde(default)]
    pub legal_rep: String,
    /// YYYY-MM-DD
    #[serde(default)]
    pub founded: String,
    /// Area code or name.
    pub area: String,
    /// GB/T 4754-2017 division, e.g. 39 or C39.
    pub industry: String,
    /// Leave empty to compute from indicators.
    #[serde(default)]
    pub size_class: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// `名称:起始日期:截止日期` items.
    #[serde(default)]
    pub certifications: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UpsertResponse {
    /// created | updated | unchanged
    pub outcome: String,
    pub enterprise: EnterpriseView,
}

#[derive(Serialize, ToSchema)]
pub struct FieldErrors {
    pub code: String,
    pub message: String,
    pub fields: Vec<FieldErrorBody>,
}

#[derive(Serialize, ToSchema)]
pub struct FieldErrorBody {
    pub field: String,
    pub message: String,
}

fn field_errors(errs: Vec<zhengqi_domain::enterprise::FieldError>) -> Response {
    let message = errs
        .iter()
        .map(|e| e.message.clone())
        .collect::<Vec<_>>()
        .join("；");
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(FieldErrors {
            code: "invalid_fields".into(),
            message,
            fields: errs
                .into_iter()
                .map(|e| FieldErrorBody {
                    field: e.field,
                    message: e.message,
                })
                .collect(),
        }),
    )
        .into_response()
}

/// Creates or replaces an enterprise record (administrators).
#[utoipa::path(put, path = "/enterprises/{uscc}", tag = "enterprises", security(("bearer" = [])),
    params(("uscc" = String, Path, description = "统一社会信用代码")), request_body = EnterpriseInput,
    responses((status = 200, body = UpsertResponse), (status = 403, body = ErrorBody), (status = 422, body = FieldErrors)))]
async fn put_enterprise(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<EnterpriseInput>,
) -> Result<Response, ApiError> {
    if !p.can_edit_registry() {
        return Err(ApiError::forbidden());
    }
    let draft = EnterpriseDraft {
        uscc: code,
        name: input.name,
        legal_rep: input.legal_rep,
        founded: input.founded,
        area: input.area,
        industry: input.industry,
        size_class: input.size_class,
        tags: input.tags.join(","),
        certifications: input.certifications.join(";"),
    };
    let mut e = match draft.validate(&s.reference) {
        Ok(e) => e,
        Err(errs) => return Ok(field_errors(errs)),
    };
    let inds = s.store.indicators(&e.uscc).await?;
    e.compute_size(&s.reference, &inds);
    let outcome = s.store.upsert_enterprise(&e, &Actor::from(&p)).await?;
    let outcome = match outcome {
        UpsertOutcome::Created => "created",
        UpsertOutcome::Updated => "updated",
        UpsertOutcome::Unchanged => "unchanged",
    };
    Ok(Json(UpsertResponse {
        outcome: outcome.into(),
        enterprise: views::enterprise_view(&s.reference, &e),
    })
    .into_response())
}

/// Every figure received for the enterprise, with source and arrival time;
/// superseded figures stay in the list, marked.
#[utoipa::path(get, path = "/enterprises/{uscc}/indicators", tag = "enterprises", security(("bearer" = [])),
    params(("uscc" = String, Path, description = "统一社会信用代码")),
    responses((status = 200, body = Vec<IndicatorView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_indicators(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
    Path(code): Path<String>,
) -> Result<Json<Vec<IndicatorView>>, ApiError> {
    let uscc = path_uscc(&code)?;
    if !p.can_view_enterprise(&uscc) || s.store.enterprise(&uscc).await?.is_none() {
        return Err(ApiError::not_found("该企业"));
    }
    let items = s.store.indicators(&uscc).await?;
    Ok(Json(views::indicator_views(&s.reference, &items)))
}

#[derive(Deserialize, ToSchema)]
pub struct IndicatorInput {
    /// 营业收入 / revenue, 纳税总额, 从业人员, 研发投入, 资产总额, 工业增加值, 用地面积
    pub kind: String,
    pub year: i32,
    /// With unit where useful: "1850万", "35", "12.5亩".
    pub value: String,
    /// Source department code; staff may only submit for their own department.
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct IndicatorAdded {
    /// added | unchanged
    pub outcome: String,
}

/// Submits one yearly figure in a department's name (staff: their own).
#[utoipa::path(post, path = "/enterprises/{uscc}/indicators", tag = "enterprises", security(("bearer" = [])),
    params(("uscc" = String, Path, description = "统一社会信用代码")), request_body = IndicatorInput,
    responses((status = 201, body = IndicatorAdded), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = FieldErrors)))]
async fn post_indicator(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<IndicatorInput>,
) -> Result<Response, ApiError> {
    let source = input
        .source
        .clone()
        .or_else(|| p.department.clone())
        .unwrap_or_default();
    if !p.can_submit_indicator_from(&source) {
        return Err(ApiError::forbidden());
    }
    let uscc = path_uscc(&code)?;
    let mut e = s
        .store
        .enterprise(&uscc)
        .await?
        .ok_or_else(|| ApiError::not_found("该企业"))?;
    let draft = IndicatorDraft {
        uscc: code,
        kind: input.kind,
        year: input.year.to_string(),
        value: input.value,
        source,
    };
    let n = match draft.validate(&s.reference) {
        Ok(n) => n,
        Err(errs) => return Ok(field_errors(errs)),
    };
    let added = s.submit_indicator(&mut e, &n, &Actor::from(&p)).await?;
    Ok((
        if added {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(IndicatorAdded {
            outcome: if added { "added" } else { "unchanged" }.into(),
        }),
    )
        .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct AreaBody {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent: Option<String>,
    pub aliases: Vec<String>,
}

/// Areas (适用区域) with their hierarchy.
#[utoipa::path(get, path = "/reference/areas", tag = "reference", responses((status = 200, body = Vec<AreaBody>)))]
async fn areas(State(s): State<AppState>) -> Json<Vec<AreaBody>> {
    Json(
        s.reference
            .areas
            .iter()
            .map(|a| AreaBody {
                code: a.code.clone(),
                name: a.name.clone(),
                kind: a.kind.label().to_owned(),
                parent: a.parent.clone(),
                aliases: a.aliases.clone(),
            })
            .collect(),
    )
}

#[derive(Serialize, ToSchema)]
pub struct DepartmentBody {
    pub code: String,
    pub name: String,
    pub level: String,
    pub area: String,
}

/// Departments.
#[utoipa::path(get, path = "/reference/departments", tag = "reference", responses((status = 200, body = Vec<DepartmentBody>)))]
async fn departments(State(s): State<AppState>) -> Json<Vec<DepartmentBody>> {
    Json(
        s.reference
            .departments
            .iter()
            .map(|d| DepartmentBody {
                code: d.code.clone(),
                name: d.name.clone(),
                level: d.level.label().to_owned(),
                area: d.area.clone(),
            })
            .collect(),
    )
}

#[derive(Serialize, ToSchema)]
pub struct IndustryBody {
    pub code: String,
    pub name: String,
    pub section: String,
}

/// Industries: GB/T 4754-2017 门类 and 大类.
#[utoipa::path(get, path = "/reference/industries", tag = "reference", responses((status = 200, body = Vec<IndustryBody>)))]
async fn industries(State(s): State<AppState>) -> Json<Vec<IndustryBody>> {
    Json(
        s.reference
            .industries
            .iter()
            .map(|i| IndustryBody {
                code: i.code.clone(),
                name: i.name.clone(),
                section: i.section.clone(),
            })
            .collect(),
    )
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    #[serde(default)]
    pub target_type: Option<String>,
    #[serde(default)]
    pub target_id: Option<String>,
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub offset: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditBody {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    #[schema(value_type = Object)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Object)]
    pub after: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditBody>,
    pub total: i64,
}

/// The audit log, newest first (administrators and supervisors).
#[utoipa::path(get, path = "/audit", tag = "admin", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, body = AuditList), (status = 403, body = ErrorBody)))]
async fn audit(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditList>, ApiError> {
    if !p.can_read_audit() {
        return Err(ApiError::forbidden());
    }
    let (items, total) = s
        .store
        .audit_entries(&AuditFilter {
            target_type: q.target_type,
            target_id: q.target_id,
            actor: q.actor,
            action: q.action,
            limit: q.limit.unwrap_or(100).clamp(1, 1000),
            offset: q.offset.unwrap_or(0),
        })
        .await?;
    Ok(Json(AuditList {
        items: items
            .into_iter()
            .map(|e| AuditBody {
                id: e.id,
                at: e.at.to_rfc3339(),
                actor: e.actor_name,
                role: e.actor_role,
                action: e.action,
                target_type: e.target_type,
                target_id: e.target_id,
                before: e.before,
                after: e.after,
            })
            .collect(),
        total,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct AccountBody {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub enterprise: Option<String>,
    pub department: Option<String>,
    pub active: bool,
}

/// All accounts (administrators).
#[utoipa::path(get, path = "/accounts", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Vec<AccountBody>), (status = 403, body = ErrorBody)))]
async fn list_accounts(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
) -> Result<Json<Vec<AccountBody>>, ApiError> {
    if !p.can_manage_accounts() {
        return Err(ApiError::forbidden());
    }
    Ok(Json(
        s.store
            .accounts()
            .await?
            .into_iter()
            .map(|a| AccountBody {
                username: a.username,
                display_name: a.display_name,
                role: a.role.key().into(),
                enterprise: a.enterprise,
                department: a.department,
                active: a.active,
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct AccountInput {
    pub username: String,
    pub display_name: String,
    pub password: String,
    /// enterprise | staff | supervisor | admin
    pub role: String,
    #[serde(default)]
    pub enterprise: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
}

/// Creates an account (administrators).
#[utoipa::path(post, path = "/accounts", tag = "admin", security(("bearer" = [])), request_body = AccountInput,
    responses((status = 201, body = AccountBody), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_account(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
    ApiJson(input): ApiJson<AccountInput>,
) -> Result<(StatusCode, Json<AccountBody>), ApiError> {
    if !p.can_manage_accounts() {
        return Err(ApiError::forbidden());
    }
    let new = parse_account(&s, &input)?;
    let a = s.store.create_account(&new, &Actor::from(&p)).await?;
    Ok((
        StatusCode::CREATED,
        Json(AccountBody {
            username: a.username,
            display_name: a.display_name,
            role: a.role.key().into(),
            enterprise: a.enterprise,
            department: a.department,
            active: a.active,
        }),
    ))
}

pub(crate) fn parse_account(s: &AppState, input: &AccountInput) -> Result<NewAccount, ApiError> {
    let username = Username::parse(&input.username).map_err(ApiError::invalid)?;
    let role = Role::parse(&input.role)
        .ok_or_else(|| ApiError::invalid("角色应为 enterprise、staff、supervisor 或 admin"))?;
    let enterprise = match input
        .enterprise
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        Some(code) if role == Role::Enterprise => {
            Some(Uscc::parse(code).map_err(|e| ApiError::invalid(e.to_string()))?)
        }
        _ => None,
    };
    let department = match input
        .department
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        Some(d) if role == Role::Staff => Some(
            s.reference
                .department(d)
                .or_else(|| s.reference.department_by_name(d))
                .map(|d| d.code.clone())
                .ok_or_else(|| ApiError::invalid(format!("部门“{d}”不在参考数据中")))?,
        ),
        _ => None,
    };
    Ok(NewAccount {
        username,
        display_name: input.display_name.clone(),
        password: input.password.clone(),
        role,
        enterprise,
        department,
    })
}

#[derive(Serialize, ToSchema)]
pub struct UsccCheck {
    pub code: String,
    pub valid: bool,
    /// Why the code is invalid (length, character, or the expected check digit).
    pub reason: Option<String>,
}

/// Checks a 统一社会信用代码 (GB 32100-2015).
#[utoipa::path(get, path = "/tools/uscc/{code}", tag = "tools",
    params(("code" = String, Path, description = "统一社会信用代码")), responses((status = 200, body = UsccCheck)))]
async fn check_uscc(Path(code): Path<String>) -> Json<UsccCheck> {
    let r = Uscc::parse(&code);
    Json(UsccCheck {
        code,
        valid: r.is_ok(),
        reason: r.err().map(|e| e.to_string()),
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClassifyQuery {
    /// GB/T 4754-2017 division, e.g. 39.
    pub industry: String,
    #[serde(default)]
    pub employees: Option<u64>,
    /// With unit: 2000万, 1.5亿, 3000000元.
    #[serde(default)]
    pub revenue: Option<String>,
    #[serde(default)]
    pub assets: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ClassifyResponse {
    pub size_class: String,
    pub row: String,
    pub rule: String,
}

/// Classifies an enterprise's size by the 2017 statistical rules.
#[utoipa::path(get, path = "/tools/classify", tag = "tools", params(ClassifyQuery),
    responses((status = 200, body = ClassifyResponse), (status = 400, body = ErrorBody)))]
async fn classify(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ClassifyQuery>,
) -> Result<Json<ClassifyResponse>, ApiError> {
    let amount = |v: &Option<String>| {
        v.as_deref()
            .filter(|x| !x.trim().is_empty())
            .map(Amount::parse)
            .transpose()
            .map_err(|e| ApiError::invalid(e.to_string()))
    };
    let d = s
        .reference
        .size_rules
        .classify(&SizeInput {
            industry: q.industry.clone(),
            employees: q.employees,
            revenue: amount(&q.revenue)?,
            assets: amount(&q.assets)?,
        })
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    Ok(Json(ClassifyResponse {
        size_class: d.class.label().into(),
        row: d.row,
        rule: d.rule,
    }))
}
