//! The staff side of the eligibility engine (issue 4): the rule editor of a
//! policy with a live preview, the sandbox (one or two draft rules over the
//! whole base, printable and exported to xlsx), and the rule API
//! (`/api/v1/rules/…`, `/api/v1/sandbox`, `/api/v1/policies/{id}/rule`).
//!
//! The engine is pure (`zhengqi_eligibility`); this module parses input,
//! asks `Principal::can_*`, evaluates over a cached `Population` and
//! renders.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zhengqi_domain::auth::Principal;
use zhengqi_domain::money::Amount;
use zhengqi_domain::table;
use zhengqi_eligibility::ast::Rule;
use zhengqi_eligibility::award::Mode;
use zhengqi_eligibility::{
    Context, Population, RuleError, Simulation, cond_to_text, parse_rule, policy_rule,
    rule_from_value, rule_to_json, simulate_rule, tag_conditions_of, to_text,
};
use zhengqi_store::{Actor, PolicySummary, SessionKind, StoredRule};

use crate::AppState;
use crate::api::ApiJson;
use crate::error::{ApiError, ErrorBody, PageError};
use crate::pages::{Layout, layout};
use crate::session::{PageUser, cookie};
use crate::views;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/policies/{id}/rule", get(editor_page).post(editor_save))
        .route("/sandbox", get(sandbox_page))
        .route("/sandbox/export.xlsx", get(sandbox_export))
        .route("/static/rules.js", get(script))
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/rules.js"),
    )
        .into_response()
}

// ---------------------------------------------------------------------------
// Shared helpers.

/// A rule error as the API and the pages show it.
#[derive(Serialize, ToSchema, Clone)]
pub struct RuleErrorView {
    /// 1-based; 0 for rules given as JSON.
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub expected: Vec<String>,
    /// JSON path for rules given as JSON.
    pub path: Option<String>,
    /// The message with its position, e.g. `第2行第5列：…`.
    pub display: String,
}

fn error_views(errs: &[RuleError]) -> Vec<RuleErrorView> {
    errs.iter()
        .map(|e| RuleErrorView {
            line: e.line,
            column: e.column,
            message: e.message.clone(),
            expected: e.expected.clone(),
            path: e.path.clone(),
            display: e.to_string(),
        })
        .collect()
}

/// 422 with every rule error.
#[derive(Serialize, ToSchema)]
pub struct RuleErrors {
    /// `invalid_rule`
    pub code: String,
    /// All errors, one per line, in Chinese.
    pub message: String,
    pub errors: Vec<RuleErrorView>,
}

fn rule_errors(errs: &[RuleError]) -> Response {
    let errors = error_views(errs);
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(RuleErrors {
            code: "invalid_rule".into(),
            message: errors
                .iter()
                .map(|e| e.display.clone())
                .collect::<Vec<_>>()
                .join("\n"),
            errors,
        }),
    )
        .into_response()
}

/// The longest rule text accepted (a rule is a few lines).
const MAX_RULE_CHARS: usize = 20_000;

fn parse_text(s: &AppState, text: &str) -> Result<Rule, Vec<RuleError>> {
    if text.chars().count() > MAX_RULE_CHARS {
        return Err(vec![RuleError {
            line: 0,
            column: 0,
            span: 0..0,
            message: format!("规则过长（不超过{MAX_RULE_CHARS}字）"),
            expected: vec![],
            path: None,
        }]);
    }
    parse_rule(text, &s.reference)
}

fn tags_of(p: &PolicySummary) -> Vec<zhengqi_eligibility::ast::Cond> {
    tag_conditions_of(&p.sizes, &p.areas, p.valid_until)
}

fn ctx(s: &AppState) -> Context<'_> {
    Context {
        today: views::today(),
        reference: &s.reference,
    }
}

fn yuan(fen: i64) -> String {
    Amount::from_fen(fen).to_string()
}

/// Stores a new version of a policy's staff rule; the one place rules are
/// saved from the web (page and API).
async fn save_policy_rule(
    s: &AppState,
    id: i64,
    text: &str,
    rule: &Rule,
    mode: Mode,
    p: &Principal,
) -> Result<StoredRule, ApiError> {
    let saved = s
        .store
        .save_rule(id, text.trim(), rule, mode, &Actor::from(p))
        .await?;
    // The rule is committed; pushing is a follow-up that must not undo the
    // save. Failed pushes are caught up by the next full match (serve start).
    match s.on_rule_saved(id).await {
        Ok(n) => tracing::info!(policy = id, pushed = n, "rule saved and matched"),
        Err(e) => {
            tracing::error!(policy = id, error = %e.message, "matching after rule save failed")
        }
    }
    Ok(saved)
}

async fn policy_or_404(s: &AppState, id: &str) -> Result<PolicySummary, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("该政策"))?;
    s.store
        .policy(id)
        .await?
        .ok_or_else(|| ApiError::not_found("该政策"))
}

fn page_err(e: ApiError) -> PageError {
    PageError {
        status: e.status,
        message: e.message,
    }
}

// ---------------------------------------------------------------------------
// Who may call the rule API: a bearer token, or the browser session of the
// page's script together with its CSRF token in `X-CSRF-Token` (a cookie
// alone never authorises a call).

pub struct RuleCaller(pub Principal);

impl FromRequestParts<AppState> for RuleCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            let crate::session::ApiUser(p) =
                crate::session::ApiUser::from_request_parts(parts, state).await?;
            return Ok(RuleCaller(p));
        }
        let token = cookie(&parts.headers, crate::session::SESSION_COOKIE)
            .ok_or_else(ApiError::unauthenticated)?;
        let sent = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        match state.store.session(&token, SessionKind::Browser).await? {
            Some((p, csrf)) => {
                let u = PageUser {
                    p,
                    csrf,
                    token,
                    unread: 0,
                };
                if u.csrf_ok(&sent) {
                    Ok(RuleCaller(u.p))
                } else {
                    Err(ApiError::forbidden())
                }
            }
            None => Err(ApiError::unauthenticated()),
        }
    }
}

// ---------------------------------------------------------------------------
// API.

#[derive(Deserialize, ToSchema)]
pub struct RuleText {
    /// The rule in the text syntax (`docs/rules.md`).
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct ParsedRule {
    /// The rule's JSON form (accepted by `/rules/check` and `PUT /policies/{id}/rule`).
    #[schema(value_type = Object)]
    pub rule: serde_json::Value,
    /// The canonical text of the rule.
    pub text: String,
}

/// Parses a rule's text into its JSON form, or returns every error with its
/// line and column.
#[utoipa::path(post, path = "/rules/parse", tag = "rules", request_body = RuleText,
    security(("bearer" = [])),
    responses((status = 200, body = ParsedRule), (status = 422, body = RuleErrors),
        (status = 403, body = ErrorBody)))]
pub async fn api_parse(
    State(s): State<AppState>,
    RuleCaller(p): RuleCaller,
    ApiJson(req): ApiJson<RuleText>,
) -> Result<Response, ApiError> {
    if !p.can_run_sandbox() {
        return Err(ApiError::forbidden());
    }
    Ok(match parse_text(&s, &req.text) {
        Ok(rule) => Json(ParsedRule {
            text: to_text(&rule, &s.reference),
            rule: rule_to_json(&rule),
        })
        .into_response(),
        Err(errs) => rule_errors(&errs),
    })
}

#[derive(Deserialize, ToSchema)]
pub struct RuleJson {
    /// A rule in its JSON form.
    #[schema(value_type = Object)]
    pub rule: serde_json::Value,
}

/// Checks a rule given as JSON (types, units, known codes) and returns its
/// canonical text, or every error with its JSON path.
#[utoipa::path(post, path = "/rules/check", tag = "rules", request_body = RuleJson,
    security(("bearer" = [])),
    responses((status = 200, body = ParsedRule), (status = 422, body = RuleErrors),
        (status = 403, body = ErrorBody)))]
pub async fn api_check(
    State(s): State<AppState>,
    RuleCaller(p): RuleCaller,
    ApiJson(req): ApiJson<RuleJson>,
) -> Result<Response, ApiError> {
    if !p.can_run_sandbox() {
        return Err(ApiError::forbidden());
    }
    Ok(match rule_from_value(&req.rule, &s.reference) {
        Ok(rule) => Json(ParsedRule {
            text: to_text(&rule, &s.reference),
            rule: rule_to_json(&rule),
        })
        .into_response(),
        Err(errs) => rule_errors(&errs),
    })
}

#[derive(Deserialize, ToSchema)]
pub struct PreviewRequest {
    pub text: String,
    /// With a policy: its tag conditions (size, area, validity) apply too.
    #[serde(default)]
    pub policy_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct PreviewResponse {
    pub ok: bool,
    pub errors: Vec<RuleErrorView>,
    pub total: usize,
    pub eligible: usize,
    pub undetermined: usize,
    pub not_eligible: usize,
    /// 分, eligible enterprises with a computable amount.
    pub amount_total: i64,
    pub amount_text: String,
    pub summary: String,
}

/// What a rule would do now: how many enterprises qualify, how many cannot
/// be decided, and the total amount. Errors come back with `ok: false`
/// (status 200) so an editor can show them while typing.
#[utoipa::path(post, path = "/rules/preview", tag = "rules", request_body = PreviewRequest,
    security(("bearer" = [])),
    responses((status = 200, body = PreviewResponse), (status = 403, body = ErrorBody)))]
pub async fn api_preview(
    State(s): State<AppState>,
    RuleCaller(p): RuleCaller,
    ApiJson(req): ApiJson<PreviewRequest>,
) -> Result<Json<PreviewResponse>, ApiError> {
    if !p.can_run_sandbox() {
        return Err(ApiError::forbidden());
    }
    let staff = match parse_text(&s, &req.text) {
        Ok(r) => r,
        Err(errs) => {
            return Ok(Json(PreviewResponse {
                ok: false,
                errors: error_views(&errs),
                total: 0,
                eligible: 0,
                undetermined: 0,
                not_eligible: 0,
                amount_total: 0,
                amount_text: String::new(),
                summary: String::new(),
            }));
        }
    };
    let rule = match req.policy_id {
        Some(id) => {
            let pol = policy_or_404(&s, &id.to_string()).await?;
            policy_rule(tags_of(&pol), &staff)
        }
        None => staff,
    };
    let pop = s.population().await?;
    let sim = {
        let pop = pop.read().unwrap_or_else(|e| e.into_inner());
        simulate_rule(&rule, &ctx(&s), &pop)
    };
    Ok(Json(PreviewResponse {
        ok: true,
        errors: vec![],
        total: sim.total,
        eligible: sim.eligible,
        undetermined: sim.undetermined,
        not_eligible: sim.not_eligible,
        amount_total: sim.amount.total,
        amount_text: yuan(sim.amount.total),
        summary: sim.summary(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct SandboxRequest {
    /// One or two draft rules (text syntax), compared side by side.
    pub drafts: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SandboxDraft {
    pub ok: bool,
    pub errors: Vec<RuleErrorView>,
    /// Counts, breakdowns by area / size / industry section, amount
    /// statistics and bands, and per-condition blockers.
    #[schema(value_type = Object)]
    pub simulation: Option<Simulation>,
}

#[derive(Serialize, ToSchema)]
pub struct SandboxResponse {
    pub drafts: Vec<SandboxDraft>,
}

fn run_drafts(s: &AppState, pop: &Population, drafts: &[String]) -> Vec<SandboxDraft> {
    let c = ctx(s);
    drafts
        .iter()
        .map(|t| match parse_text(s, t) {
            Ok(rule) => SandboxDraft {
                ok: true,
                errors: vec![],
                simulation: Some(simulate_rule(&rule, &c, pop)),
            },
            Err(errs) => SandboxDraft {
                ok: false,
                errors: error_views(&errs),
                simulation: None,
            },
        })
        .collect()
}

/// Simulates one or two draft rules over the whole base.
#[utoipa::path(post, path = "/sandbox", tag = "rules", request_body = SandboxRequest,
    security(("bearer" = [])),
    responses((status = 200, body = SandboxResponse), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn api_sandbox(
    State(s): State<AppState>,
    RuleCaller(p): RuleCaller,
    ApiJson(req): ApiJson<SandboxRequest>,
) -> Result<Json<SandboxResponse>, ApiError> {
    if !p.can_run_sandbox() {
        return Err(ApiError::forbidden());
    }
    if !(1..=2).contains(&req.drafts.len()) {
        return Err(ApiError::invalid("请提供一个或两个规则草案"));
    }
    let pop = s.population().await?;
    let drafts = {
        let pop = pop.read().unwrap_or_else(|e| e.into_inner());
        run_drafts(&s, &pop, &req.drafts)
    };
    Ok(Json(SandboxResponse { drafts }))
}

#[derive(Serialize, ToSchema)]
pub struct RuleVersionView {
    pub version: i64,
    /// standard | exempt | instant
    pub mode: String,
    pub mode_label: String,
    pub text: String,
    pub created_at: String,
    pub created_by: String,
}

#[derive(Serialize, ToSchema)]
pub struct PolicyRuleResponse {
    pub policy_id: i64,
    /// Conditions implied by the policy's tags (read-only), as text.
    pub tag_conditions: Vec<String>,
    /// The current staff rule; absent when none was written yet.
    pub current: Option<RuleVersionView>,
    /// The current rule's JSON form.
    #[schema(value_type = Object)]
    pub rule: Option<serde_json::Value>,
    /// Whether the caller may change the rule.
    pub editable: bool,
    pub versions: Vec<RuleVersionView>,
}

fn version_view(r: &StoredRule) -> RuleVersionView {
    RuleVersionView {
        version: r.version,
        mode: r.mode.key().into(),
        mode_label: r.mode.label().into(),
        text: r.text.clone(),
        created_at: r
            .created_at
            .chars()
            .take(19)
            .collect::<String>()
            .replace('T', " "),
        created_by: r.created_by.clone(),
    }
}

async fn rule_response(
    s: &AppState,
    pol: &PolicySummary,
    p: &Principal,
) -> Result<PolicyRuleResponse, ApiError> {
    let versions = s.store.rule_versions(pol.id).await?;
    Ok(PolicyRuleResponse {
        policy_id: pol.id,
        tag_conditions: tags_of(pol)
            .iter()
            .map(|c| cond_to_text(c, &s.reference))
            .collect(),
        current: versions.first().map(version_view),
        rule: versions.first().map(|r| rule_to_json(&r.rule)),
        editable: p.can_edit_policy_rule(&pol.issuer, &pol.departments),
        versions: versions.iter().map(version_view).collect(),
    })
}

/// A policy's eligibility rule: tag conditions, current version, history.
#[utoipa::path(get, path = "/policies/{id}/rule", tag = "rules",
    params(("id" = i64, Path, description = "政策编号")), security(("bearer" = [])),
    responses((status = 200, body = PolicyRuleResponse), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn api_get_rule(
    State(s): State<AppState>,
    RuleCaller(p): RuleCaller,
    Path(id): Path<String>,
) -> Result<Json<PolicyRuleResponse>, ApiError> {
    if !p.can_run_sandbox() {
        return Err(ApiError::forbidden());
    }
    let pol = policy_or_404(&s, &id).await?;
    Ok(Json(rule_response(&s, &pol, &p).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct PutRule {
    /// The rule as text; or give `rule` (JSON form) instead.
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub rule: Option<serde_json::Value>,
    /// standard (依申请) | exempt (免申即享) | instant (即申即享); labels accepted.
    pub mode: String,
}

/// Saves a new version of a policy's rule (saving the same rule and mode
/// again changes nothing).
#[utoipa::path(put, path = "/policies/{id}/rule", tag = "rules", request_body = PutRule,
    params(("id" = i64, Path, description = "政策编号")), security(("bearer" = [])),
    responses((status = 200, body = PolicyRuleResponse), (status = 422, body = RuleErrors),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn api_put_rule(
    State(s): State<AppState>,
    RuleCaller(p): RuleCaller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PutRule>,
) -> Result<Response, ApiError> {
    if !p.can_run_sandbox() {
        return Err(ApiError::forbidden());
    }
    let pol = policy_or_404(&s, &id).await?;
    if !p.can_edit_policy_rule(&pol.issuer, &pol.departments) {
        return Err(ApiError::forbidden());
    }
    let mode = Mode::parse(&req.mode).ok_or_else(|| {
        ApiError::invalid(format!(
            "兑现方式“{}”无效：应为 standard、exempt 或 instant",
            req.mode
        ))
    })?;
    let (text, rule) = match (req.text, req.rule) {
        (Some(t), _) => match parse_text(&s, &t) {
            Ok(r) => (t, r),
            Err(errs) => return Ok(rule_errors(&errs)),
        },
        (None, Some(v)) => match rule_from_value(&v, &s.reference) {
            Ok(r) => (to_text(&r, &s.reference), r),
            Err(errs) => return Ok(rule_errors(&errs)),
        },
        (None, None) => return Err(ApiError::invalid("请提供规则文本 text 或规则 JSON rule")),
    };
    save_policy_rule(&s, pol.id, &text, &rule, mode, &p).await?;
    Ok(Json(rule_response(&s, &pol, &p).await?).into_response())
}

// ---------------------------------------------------------------------------
// The rule editor page.

#[derive(Template, WebTemplate)]
#[template(path = "rule_edit.html")]
struct EditorPage {
    layout: Layout,
    policy_id: i64,
    title: String,
    tag_conditions: Vec<String>,
    text: String,
    mode: String,
    modes: Vec<(String, String)>,
    editable: bool,
    errors: Vec<RuleErrorView>,
    saved: Option<i64>,
    versions: Vec<RuleVersionView>,
}

#[derive(Deserialize, Default)]
struct EditorQuery {
    #[serde(default)]
    saved: Option<i64>,
}

async fn editor_page(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<String>,
    Query(q): Query<EditorQuery>,
) -> Result<Response, PageError> {
    if !u.p.can_run_sandbox() {
        return Err(PageError::forbidden());
    }
    let pol = policy_or_404(&s, &id).await.map_err(page_err)?;
    let r = rule_response(&s, &pol, &u.p).await.map_err(page_err)?;
    let (text, mode) = r
        .current
        .as_ref()
        .map(|c| (c.text.clone(), c.mode.clone()))
        .unwrap_or_else(|| (String::new(), Mode::Standard.key().into()));
    Ok(editor(
        &s,
        &u,
        &pol,
        r,
        text,
        mode,
        vec![],
        q.saved,
        StatusCode::OK,
    ))
}

#[allow(clippy::too_many_arguments)]
fn editor(
    s: &AppState,
    u: &PageUser,
    pol: &PolicySummary,
    r: PolicyRuleResponse,
    text: String,
    mode: String,
    errors: Vec<RuleErrorView>,
    saved: Option<i64>,
    status: StatusCode,
) -> Response {
    (
        status,
        EditorPage {
            layout: layout(s, Some(u), "policies"),
            policy_id: pol.id,
            title: pol.title.clone(),
            tag_conditions: r.tag_conditions,
            text,
            mode,
            modes: Mode::ALL
                .iter()
                .map(|m| (m.key().to_owned(), m.label().to_owned()))
                .collect(),
            editable: r.editable,
            errors,
            saved,
            versions: r.versions,
        },
    )
        .into_response()
}

#[derive(Deserialize)]
struct EditorForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    mode: String,
}

async fn editor_save(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<EditorForm>,
) -> Result<Response, PageError> {
    let pol = policy_or_404(&s, &id).await.map_err(page_err)?;
    if !u.p.can_edit_policy_rule(&pol.issuer, &pol.departments) {
        return Err(PageError::forbidden());
    }
    if !u.csrf_ok(&f.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    let mode = Mode::parse(&f.mode)
        .ok_or_else(|| PageError::bad_request(format!("兑现方式“{}”无效", f.mode)))?;
    match parse_text(&s, &f.text) {
        Ok(rule) => {
            let saved = save_policy_rule(&s, pol.id, &f.text, &rule, mode, &u.p)
                .await
                .map_err(page_err)?;
            Ok(Redirect::to(&format!(
                "/policies/{}/rule?saved={}",
                pol.id, saved.version
            ))
            .into_response())
        }
        Err(errs) => {
            let r = rule_response(&s, &pol, &u.p).await.map_err(page_err)?;
            Ok(editor(
                &s,
                &u,
                &pol,
                r,
                f.text,
                mode.key().into(),
                error_views(&errs),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
    }
}

// ---------------------------------------------------------------------------
// The sandbox page and its export.

#[derive(Deserialize, Default)]
struct SandboxQuery {
    #[serde(default)]
    a: String,
    #[serde(default)]
    b: String,
    /// Start draft A from this policy's full rule (tags + staff rule).
    #[serde(default)]
    policy: String,
}

pub struct Row3 {
    pub name: String,
    pub eligible: usize,
    pub amount: String,
}

/// One draft's figures as the page and the export show them.
pub struct DraftView {
    pub label: &'static str,
    pub text: String,
    pub errors: Vec<RuleErrorView>,
    pub summary: Option<SimView>,
}

pub struct SimView {
    pub total: usize,
    pub eligible: usize,
    pub undetermined: usize,
    pub not_eligible: usize,
    pub amount_total: String,
    pub amount_mean: String,
    pub amount_min: String,
    pub amount_median: String,
    pub amount_max: String,
    pub amount_unknown: usize,
    /// 按区域 / 按规模 / 按行业门类, most eligible first.
    pub sections: Vec<(&'static str, Vec<Row3>)>,
    pub bands: Vec<(String, usize)>,
    /// text, not met, sole blocker, unknown — most excluding first.
    pub conditions: Vec<(String, usize, usize, usize)>,
}

fn sim_view(sim: &Simulation) -> SimView {
    let rows = |v: &[zhengqi_eligibility::simulate::Breakdown]| {
        let mut v: Vec<Row3> = v
            .iter()
            .map(|b| Row3 {
                name: b.name.clone(),
                eligible: b.eligible,
                amount: yuan(b.amount_total),
            })
            .collect();
        v.sort_by(|a, b| b.eligible.cmp(&a.eligible).then(a.name.cmp(&b.name)));
        v
    };
    let opt = |v: Option<i64>| v.map(yuan).unwrap_or_else(|| "—".into());
    let mut conditions: Vec<_> = sim
        .conditions
        .iter()
        .map(|c| (c.text.clone(), c.not_met, c.sole_blocker, c.unknown))
        .collect();
    conditions.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)));
    SimView {
        total: sim.total,
        eligible: sim.eligible,
        undetermined: sim.undetermined,
        not_eligible: sim.not_eligible,
        amount_total: yuan(sim.amount.total),
        amount_mean: if sim.amount.known > 0 {
            yuan(sim.amount.total / sim.amount.known as i64)
        } else {
            "—".into()
        },
        amount_min: opt(sim.amount.min),
        amount_median: opt(sim.amount.median),
        amount_max: opt(sim.amount.max),
        amount_unknown: sim.amount.unknown,
        sections: vec![
            ("按区域", rows(&sim.by_area)),
            ("按规模", rows(&sim.by_size)),
            ("按行业门类", rows(&sim.by_section)),
        ],
        bands: sim
            .amount
            .bands
            .iter()
            .map(|b| (b.label.clone(), b.count))
            .collect(),
        conditions,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "sandbox.html")]
struct SandboxPage {
    layout: Layout,
    a: String,
    b: String,
    export_query: String,
    drafts: Vec<DraftView>,
    policies: Vec<(i64, String)>,
}

async fn sandbox_drafts(s: &AppState, q: &SandboxQuery) -> Result<Vec<DraftView>, ApiError> {
    let texts: Vec<(&'static str, String)> = [("方案A", &q.a), ("方案B", &q.b)]
        .into_iter()
        .filter(|(_, t)| !t.trim().is_empty())
        .map(|(l, t)| (l, t.clone()))
        .collect();
    if texts.is_empty() {
        return Ok(vec![]);
    }
    let pop = s.population().await?;
    let sims = {
        let pop = pop.read().unwrap_or_else(|e| e.into_inner());
        run_drafts(
            s,
            &pop,
            &texts.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>(),
        )
    };
    Ok(texts
        .into_iter()
        .zip(sims)
        .map(|((label, text), d)| DraftView {
            label,
            text,
            errors: d.errors,
            summary: d.simulation.as_ref().map(sim_view),
        })
        .collect())
}

async fn sandbox_page(
    State(s): State<AppState>,
    u: PageUser,
    Query(mut q): Query<SandboxQuery>,
) -> Result<Response, PageError> {
    if !u.p.can_run_sandbox() {
        return Err(PageError::forbidden());
    }
    if q.a.trim().is_empty()
        && let Ok(id) = q.policy.parse::<i64>()
        && let Some(pol) = s.store.policy(id).await?
    {
        let staff = s.store.current_rule(id).await?;
        let full = match &staff {
            Some(r) => policy_rule(tags_of(&pol), &r.rule),
            None => policy_rule(
                tags_of(&pol),
                &Rule {
                    condition: zhengqi_eligibility::ast::Cond::And { all: vec![] },
                    amount: None,
                },
            ),
        };
        q.a = to_text(&full, &s.reference);
    }
    let drafts = sandbox_drafts(&s, &q).await.map_err(page_err)?;
    let with_rules: std::collections::HashSet<i64> = s
        .store
        .current_rules()
        .await?
        .into_iter()
        .map(|r| r.policy_id)
        .collect();
    let policies = s
        .store
        .policies()
        .await?
        .into_iter()
        .filter(|p| with_rules.contains(&p.id))
        .map(|p| (p.id, p.title))
        .collect();
    Ok(SandboxPage {
        layout: layout(&s, Some(&u), "sandbox"),
        export_query: format!(
            "a={}&b={}",
            crate::session::urlencode(&q.a),
            crate::session::urlencode(&q.b)
        ),
        a: q.a,
        b: q.b,
        drafts,
        policies,
    }
    .into_response())
}

pub const SANDBOX_HEADERS: [&str; 5] = ["方案", "类别", "项目", "企业数", "金额（元）"];

/// The sandbox figures as rows of one sheet, one section after another.
fn sandbox_rows(drafts: &[DraftView]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for d in drafts {
        let row = |cat: &str, item: &str, n: String, amt: String| {
            vec![d.label.to_owned(), cat.to_owned(), item.to_owned(), n, amt]
        };
        out.push(row("规则", &d.text, String::new(), String::new()));
        let Some(v) = &d.summary else {
            for e in &d.errors {
                out.push(row("错误", &e.display, String::new(), String::new()));
            }
            continue;
        };
        out.push(row("总体", "企业总数", v.total.to_string(), String::new()));
        out.push(row(
            "总体",
            "符合",
            v.eligible.to_string(),
            v.amount_total.clone(),
        ));
        out.push(row(
            "总体",
            "无法判断",
            v.undetermined.to_string(),
            String::new(),
        ));
        out.push(row(
            "总体",
            "不符合",
            v.not_eligible.to_string(),
            String::new(),
        ));
        out.push(row("金额", "平均", String::new(), v.amount_mean.clone()));
        out.push(row("金额", "最低", String::new(), v.amount_min.clone()));
        out.push(row(
            "金额",
            "中位数",
            String::new(),
            v.amount_median.clone(),
        ));
        out.push(row("金额", "最高", String::new(), v.amount_max.clone()));
        for (cat, rows) in &v.sections {
            for r in rows {
                out.push(row(cat, &r.name, r.eligible.to_string(), r.amount.clone()));
            }
        }
        for (label, n) in &v.bands {
            out.push(row("金额分布", label, n.to_string(), String::new()));
        }
        for (text, not_met, sole, _) in &v.conditions {
            out.push(row(
                "排除条件",
                text,
                not_met.to_string(),
                format!("仅因此条不符合 {sole} 家"),
            ));
        }
    }
    out
}

async fn sandbox_export(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<SandboxQuery>,
) -> Result<Response, PageError> {
    if !u.p.can_run_sandbox() {
        return Err(PageError::forbidden());
    }
    let drafts = sandbox_drafts(&s, &q).await.map_err(page_err)?;
    if drafts.is_empty() {
        return Err(PageError::bad_request("请先填写规则草案"));
    }
    let bytes = table::write_xlsx("政策沙盘", &SANDBOX_HEADERS, &sandbox_rows(&drafts))
        .map_err(|e| PageError::bad_request(e.to_string()))?;
    Ok(crate::pages::xlsx_response(
        bytes,
        &format!("政策沙盘-{}.xlsx", views::today().format("%Y%m%d")),
    ))
}
