//! 免申即享 award lists and the 即申即享 queue for staff (issue 4):
//! generating a list with the engine, review, publication for public
//! notice (公示) with the public page, objections, approval, payment (at
//! most once, with a reference), cancellation — each step one audited store
//! call, shown on the list page — and deciding queued applications.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use zhengqi_domain::auth::Principal;
use zhengqi_domain::money::Amount;
use zhengqi_eligibility::award::{ApplicationStatus, AwardAction, ListStatus, Mode};
use zhengqi_eligibility::{Context, RuleSet, policy_rule, tag_conditions_of};
use zhengqi_store::{Actor, AuditFilter, AwardList, PolicySummary};

use crate::AppState;
use crate::api::{ApiJson, ApiQuery};
use crate::error::{ApiError, ErrorBody, PageError};
use crate::pages::{Layout, layout};
use crate::session::{ApiUser, MaybePageUser, PageUser};
use crate::views;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/awards", get(lists_page))
        .route("/awards/generate", post(generate_form))
        .route("/awards/{id}", get(list_page))
        .route("/awards/{id}/public", get(public_page))
        .route("/awards/{id}/publish", post(publish_form))
        .route("/awards/{id}/cancel", post(cancel_form))
        .route("/awards/{id}/awards/{award}", post(award_form))
        .route("/awards/{id}/objections", post(objection_form))
        .route("/awards/{id}/objections/{oid}", post(resolve_form))
        .route("/applications", get(applications_page))
        .route("/applications/{id}", post(decide_form))
}

fn yuan(fen: i64) -> String {
    Amount::from_fen(fen).to_string()
}

fn page_err(e: ApiError) -> PageError {
    PageError {
        status: e.status,
        message: e.message,
    }
}

/// 公示 shows who gets how much, not full registration codes: the middle
/// of the 统一社会信用代码 is masked.
pub fn mask_uscc(u: &str) -> String {
    let c: Vec<char> = u.chars().collect();
    if c.len() < 10 {
        return "*".repeat(c.len());
    }
    let head: String = c[..6].iter().collect();
    let tail: String = c[c.len() - 4..].iter().collect();
    format!("{head}********{tail}")
}

async fn policy_of(s: &AppState, id: i64) -> Result<PolicySummary, ApiError> {
    s.store
        .policy(id)
        .await?
        .ok_or_else(|| ApiError::not_found("该政策"))
}

/// The list and its policy, checking that the principal may see it.
async fn visible_list(
    s: &AppState,
    p: &Principal,
    id: &str,
) -> Result<(AwardList, PolicySummary), ApiError> {
    if !p.can_view_awards() {
        return Err(ApiError::forbidden());
    }
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("该名单"))?;
    let l = s
        .store
        .award_list(id)
        .await?
        .ok_or_else(|| ApiError::not_found("该名单"))?;
    let pol = policy_of(s, l.policy_id).await?;
    if !p.can_view_awards_of(&pol.issuer, &pol.departments) {
        return Err(ApiError::forbidden());
    }
    Ok((l, pol))
}

async fn managed_list(
    s: &AppState,
    p: &Principal,
    id: &str,
) -> Result<(AwardList, PolicySummary), ApiError> {
    let (l, pol) = visible_list(s, p, id).await?;
    if !p.can_manage_awards(&pol.issuer, &pol.departments) {
        return Err(ApiError::forbidden());
    }
    Ok((l, pol))
}

/// Computes the eligible enterprises and amounts of a 免申即享 policy over
/// freshly loaded data and stores them as a list for review.
pub(crate) async fn generate(s: &AppState, p: &Principal, policy_id: i64) -> Result<i64, ApiError> {
    if !p.can_view_awards() {
        return Err(ApiError::forbidden());
    }
    let pol = policy_of(s, policy_id).await?;
    if !p.can_manage_awards(&pol.issuer, &pol.departments) {
        return Err(ApiError::forbidden());
    }
    let rule = s
        .store
        .current_rule(pol.id)
        .await?
        .ok_or_else(|| ApiError::invalid("该政策尚未编写兑现规则"))?;
    if rule.mode != Mode::Exempt {
        return Err(ApiError::invalid(format!(
            "该政策的兑现方式为“{}”，只有免申即享政策可以生成名单",
            rule.mode.label()
        )));
    }
    if rule.rule.amount.is_none() {
        return Err(ApiError::invalid(
            "规则没有金额公式（金额 = …），无法生成兑现名单",
        ));
    }
    // Money is decided on current data, never on the engine's resident copy.
    let pop = s.fresh_population().await?;
    let full = policy_rule(
        tag_conditions_of(&pol.sizes, &pol.areas, pol.valid_until),
        &rule.rule,
    );
    let ctx = Context {
        today: views::today(),
        reference: &s.reference,
    };
    let set = RuleSet::new(vec![(pol.id, full)], &ctx);
    let result = set.match_all(&pop);
    let (awards, undetermined) = match result.policy(pol.id) {
        Some(m) => (
            m.eligible
                .iter()
                .enumerate()
                .map(|(i, &row)| (pop.uscc(row as usize).to_owned(), m.amount(i).unwrap_or(0)))
                .collect::<Vec<_>>(),
            m.undetermined_count() as i64,
        ),
        None => (vec![], 0),
    };
    Ok(s.store
        .create_award_list(pol.id, rule.version, &awards, undetermined, &Actor::from(p))
        .await?)
}

/// One action on a list or one of its awards, shared by pages and API.
#[derive(Deserialize, ToSchema, Default)]
pub struct ListAction {
    /// publish | cancel | approve | pay | withdraw | resolve_objection
    pub action: String,
    /// publish: 公示 working days (1–30).
    #[serde(default)]
    pub days: Option<i64>,
    /// approve | pay | withdraw: the award.
    #[serde(default)]
    pub award_id: Option<i64>,
    /// pay: the payment reference (unique).
    #[serde(default)]
    pub payment_ref: Option<String>,
    /// resolve_objection: the objection, whether it is upheld, and why.
    #[serde(default)]
    pub objection_id: Option<i64>,
    #[serde(default)]
    pub upheld: Option<bool>,
    #[serde(default)]
    pub note: Option<String>,
}

async fn act(s: &AppState, p: &Principal, list_id: &str, a: &ListAction) -> Result<(), ApiError> {
    let (l, _) = managed_list(s, p, list_id).await?;
    let actor = Actor::from(p);
    let today = views::today();
    let award_of_list = |id: Option<i64>| async move {
        let id = id.ok_or_else(|| ApiError::invalid("请指定资金条目 award_id"))?;
        match s.store.award(id).await? {
            Some(a) if a.list_id == l.id => Ok(a.id),
            _ => Err(ApiError::not_found("该资金条目")),
        }
    };
    match a.action.as_str() {
        "publish" => {
            let days = a.days.unwrap_or(5);
            if !(1..=30).contains(&days) {
                return Err(ApiError::invalid("公示期应为1至30个工作日"));
            }
            let to = s
                .calendar()
                .add_workdays(today, days)
                .map_err(|e| ApiError::invalid(format!("无法计算公示截止日：{e}")))?;
            s.store
                .publish_award_list(l.id, days, today, to, &actor)
                .await?;
        }
        "cancel" => s.store.cancel_award_list(l.id, &actor).await?,
        "approve" | "pay" | "withdraw" => {
            let id = award_of_list(a.award_id).await?;
            let (action, pref) = match a.action.as_str() {
                "approve" => (AwardAction::Approve, None),
                "withdraw" => (AwardAction::Withdraw, None),
                _ => {
                    let r = a.payment_ref.as_deref().map(str::trim).unwrap_or("");
                    if r.is_empty() || r.chars().count() > 64 {
                        return Err(ApiError::invalid("请填写支付凭证号（不超过64字）"));
                    }
                    (AwardAction::Pay, Some(r))
                }
            };
            s.store
                .award_action(id, action, None, pref, today, &actor)
                .await?;
        }
        "resolve_objection" => {
            let oid = a
                .objection_id
                .ok_or_else(|| ApiError::invalid("请指定异议 objection_id"))?;
            if !s.store.objections(l.id).await?.iter().any(|o| o.id == oid) {
                return Err(ApiError::not_found("该异议"));
            }
            let upheld = a
                .upheld
                .ok_or_else(|| ApiError::invalid("请选择异议是否成立"))?;
            s.store
                .resolve_objection(oid, upheld, a.note.as_deref().unwrap_or(""), &actor)
                .await?;
        }
        other => {
            return Err(ApiError::invalid(format!(
                "未知操作“{other}”：应为 publish、cancel、approve、pay、withdraw 或 resolve_objection"
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Views shared by pages and API.

#[derive(Serialize, ToSchema)]
pub struct AwardListView {
    pub id: i64,
    pub policy_id: i64,
    pub policy_title: String,
    pub rule_version: i64,
    /// review | publicity | final | cancelled (effective today)
    pub status: String,
    pub status_label: String,
    pub publicity_days: Option<i64>,
    pub publicity_from: Option<String>,
    pub publicity_to: Option<String>,
    pub count: i64,
    /// 分
    pub total: i64,
    pub total_text: String,
    pub undetermined: i64,
    pub created_at: String,
    pub created_by: String,
}

fn list_view(l: &AwardList, title: &str) -> AwardListView {
    let st = l.status_on(views::today());
    AwardListView {
        id: l.id,
        policy_id: l.policy_id,
        policy_title: title.to_owned(),
        rule_version: l.rule_version,
        status: st.key().into(),
        status_label: st.label().into(),
        publicity_days: l.publicity_days,
        publicity_from: l.publicity_from.map(|d| d.to_string()),
        publicity_to: l.publicity_to.map(|d| d.to_string()),
        count: l.count,
        total: l.total,
        total_text: yuan(l.total),
        undetermined: l.undetermined,
        created_at: short_ts(&l.created_at),
        created_by: l.created_by.clone(),
    }
}

fn short_ts(s: &str) -> String {
    s.chars().take(19).collect::<String>().replace('T', " ")
}

#[derive(Serialize, ToSchema)]
pub struct AwardView {
    pub id: i64,
    pub uscc: String,
    pub name: String,
    /// 分
    pub amount: i64,
    pub amount_text: String,
    pub status: String,
    pub status_label: String,
    /// Bank and last four digits only.
    pub account: Option<String>,
    pub payment_ref: Option<String>,
    pub paid_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ObjectionView {
    pub id: i64,
    pub uscc: Option<String>,
    pub submitter: String,
    pub text: String,
    pub created_at: String,
    pub upheld: Option<bool>,
    pub resolution: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TrailEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    #[schema(value_type = Object)]
    pub after: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct AwardListDetail {
    pub list: AwardListView,
    pub awards: Vec<AwardView>,
    pub objections: Vec<ObjectionView>,
    /// Every audited step of the list and its awards, oldest first.
    pub trail: Vec<TrailEntry>,
    /// Whether the caller may act on the list.
    pub manageable: bool,
}

fn action_label(a: &str) -> &str {
    match a {
        "award_list.create" => "生成名单",
        "award_list.publish" => "发布公示",
        "award_list.cancel" => "作废名单",
        "award_list.objection" => "提出异议",
        "award_list.objection_resolved" => "处理异议",
        "award.account" => "确认收款账户",
        "award.approve" => "核准",
        "award.pay" => "拨付",
        "award.withdraw" => "撤销",
        other => other,
    }
}

async fn detail(
    s: &AppState,
    p: &Principal,
    l: &AwardList,
    pol: &PolicySummary,
) -> Result<AwardListDetail, ApiError> {
    let awards = s.store.awards(l.id).await?;
    let names = s
        .store
        .enterprise_names(awards.iter().map(|a| a.uscc.as_str()))
        .await?;
    let ids: std::collections::HashSet<String> = awards.iter().map(|a| a.id.to_string()).collect();
    let (mut trail, _) = s
        .store
        .audit_entries(&AuditFilter {
            target_type: Some("award_list".into()),
            target_id: Some(l.id.to_string()),
            limit: 500,
            ..Default::default()
        })
        .await?;
    let (award_trail, _) = s
        .store
        .audit_entries(&AuditFilter {
            target_type: Some("award".into()),
            limit: 5000,
            ..Default::default()
        })
        .await?;
    trail.extend(
        award_trail
            .into_iter()
            .filter(|e| ids.contains(&e.target_id)),
    );
    trail.sort_by_key(|e| e.id);
    Ok(AwardListDetail {
        list: list_view(l, &pol.title),
        awards: awards
            .iter()
            .map(|a| AwardView {
                id: a.id,
                name: names.get(&a.uscc).cloned().unwrap_or_default(),
                uscc: a.uscc.clone(),
                amount: a.amount,
                amount_text: yuan(a.amount),
                status: a.status.key().into(),
                status_label: a.status.label().into(),
                account: a.account.as_ref().map(|x| x.masked()),
                payment_ref: a.payment_ref.clone(),
                paid_at: a.paid_at.as_deref().map(short_ts),
            })
            .collect(),
        objections: s
            .store
            .objections(l.id)
            .await?
            .into_iter()
            .map(|o| ObjectionView {
                id: o.id,
                uscc: o.uscc,
                submitter: o.submitter,
                text: o.text,
                created_at: short_ts(&o.created_at),
                upheld: o.upheld,
                resolution: o.resolution,
            })
            .collect(),
        trail: trail
            .into_iter()
            .map(|e| TrailEntry {
                at: e
                    .at
                    .with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string(),
                actor: e.actor_name,
                action: action_label(&e.action).to_owned(),
                target: if e.target_type == "award" {
                    format!("资金 {}", e.target_id)
                } else {
                    "名单".into()
                },
                after: e.after,
            })
            .collect(),
        manageable: p.can_manage_awards(&pol.issuer, &pol.departments),
    })
}

/// The lists the principal may see (staff: their department's policies).
async fn all_lists(
    s: &AppState,
    p: &Principal,
    policy: Option<i64>,
) -> Result<Vec<AwardListView>, ApiError> {
    let policies: std::collections::HashMap<i64, PolicySummary> = s
        .store
        .policies()
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    Ok(s.store
        .award_lists(policy)
        .await?
        .iter()
        .filter_map(|l| {
            let pol = policies.get(&l.policy_id)?;
            p.can_view_awards_of(&pol.issuer, &pol.departments)
                .then(|| list_view(l, &pol.title))
        })
        .collect())
}

// ---------------------------------------------------------------------------
// API.

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct ListsQuery {
    /// Only this policy's lists.
    #[serde(default)]
    pub policy: Option<i64>,
    /// review | publicity | final | cancelled
    #[serde(default)]
    pub status: Option<String>,
}

/// 免申即享 award lists, newest first (government roles).
#[utoipa::path(get, path = "/award-lists", tag = "awards", params(ListsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<AwardListView>), (status = 403, body = ErrorBody)))]
pub async fn api_lists(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
    ApiQuery(q): ApiQuery<ListsQuery>,
) -> Result<Json<Vec<AwardListView>>, ApiError> {
    if !p.can_view_awards() {
        return Err(ApiError::forbidden());
    }
    let mut v = all_lists(&s, &p, q.policy).await?;
    if let Some(st) = q.status.filter(|x| !x.is_empty()) {
        v.retain(|l| l.status == st);
    }
    Ok(Json(v))
}

#[derive(Deserialize, ToSchema)]
pub struct GenerateRequest {
    /// A 免申即享 policy with a rule that has an amount formula.
    pub policy_id: i64,
}

/// Generates a 免申即享 list for review: the engine evaluates the policy's
/// current rule (with its tag conditions) over current data; eligible
/// enterprises with a positive amount are listed.
#[utoipa::path(post, path = "/award-lists", tag = "awards", request_body = GenerateRequest,
    security(("bearer" = [])),
    responses((status = 201, body = AwardListDetail), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn api_generate(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
    ApiJson(req): ApiJson<GenerateRequest>,
) -> Result<Response, ApiError> {
    let id = generate(&s, &p, req.policy_id).await?;
    let (l, pol) = visible_list(&s, &p, &id.to_string()).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(detail(&s, &p, &l, &pol).await?),
    )
        .into_response())
}

/// One award list with its awards, objections and audited steps.
#[utoipa::path(get, path = "/award-lists/{id}", tag = "awards",
    params(("id" = i64, Path, description = "名单编号")), security(("bearer" = [])),
    responses((status = 200, body = AwardListDetail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn api_list(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<AwardListDetail>, ApiError> {
    let (l, pol) = visible_list(&s, &p, &id).await?;
    Ok(Json(detail(&s, &p, &l, &pol).await?))
}

/// Acts on a list: publish for 公示 (days), cancel, approve / pay
/// (payment_ref, at most once) / withdraw an award, resolve an objection.
#[utoipa::path(post, path = "/award-lists/{id}/actions", tag = "awards", request_body = ListAction,
    params(("id" = i64, Path, description = "名单编号")), security(("bearer" = [])),
    responses((status = 200, body = AwardListDetail), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn api_act(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
    Path(id): Path<String>,
    ApiJson(a): ApiJson<ListAction>,
) -> Result<Json<AwardListDetail>, ApiError> {
    act(&s, &p, &id, &a).await?;
    let (l, pol) = visible_list(&s, &p, &id).await?;
    Ok(Json(detail(&s, &p, &l, &pol).await?))
}

// ---------------------------------------------------------------------------
// Pages.

#[derive(Template, WebTemplate)]
#[template(path = "awards.html")]
struct ListsPage {
    layout: Layout,
    lists: Vec<AwardListView>,
    /// 免申即享 policies the user may generate a list for.
    exempt: Vec<(i64, String)>,
    policy: String,
    status: String,
    statuses: Vec<(String, String)>,
    policies: Vec<(i64, String)>,
}

#[derive(Deserialize, Default)]
struct ListsPageQuery {
    #[serde(default)]
    policy: String,
    #[serde(default)]
    status: String,
}

async fn lists_page(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<ListsPageQuery>,
) -> Result<Response, PageError> {
    if !u.p.can_view_awards() {
        return Err(PageError::forbidden());
    }
    let policy = q.policy.parse::<i64>().ok();
    let mut lists = all_lists(&s, &u.p, policy).await.map_err(page_err)?;
    if !q.status.is_empty() {
        lists.retain(|l| l.status == q.status);
    }
    let policies = s.store.policies().await?;
    let exempt_ids: std::collections::HashSet<i64> = s
        .store
        .current_rules()
        .await?
        .into_iter()
        .filter(|r| r.mode == Mode::Exempt)
        .map(|r| r.policy_id)
        .collect();
    let exempt = policies
        .iter()
        .filter(|p| exempt_ids.contains(&p.id) && u.p.can_manage_awards(&p.issuer, &p.departments))
        .map(|p| (p.id, p.title.clone()))
        .collect();
    let mut with_lists: Vec<i64> = lists.iter().map(|l| l.policy_id).collect();
    with_lists.sort();
    with_lists.dedup();
    Ok(ListsPage {
        layout: layout(&s, Some(&u), "awards"),
        lists,
        exempt,
        statuses: [
            ListStatus::Review,
            ListStatus::Publicity,
            ListStatus::Final,
            ListStatus::Cancelled,
        ]
        .iter()
        .map(|x| (x.key().to_owned(), x.label().to_owned()))
        .collect(),
        policies: policies
            .iter()
            .filter(|p| exempt_ids.contains(&p.id) || with_lists.contains(&p.id))
            .map(|p| (p.id, p.title.clone()))
            .collect(),
        policy: q.policy,
        status: q.status,
    }
    .into_response())
}

#[derive(Deserialize)]
struct GenerateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    policy: String,
}

async fn generate_form(
    State(s): State<AppState>,
    u: PageUser,
    axum::Form(f): axum::Form<GenerateForm>,
) -> Result<Response, PageError> {
    if !u.p.can_view_awards() {
        return Err(PageError::forbidden());
    }
    if !u.csrf_ok(&f.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    let pid: i64 = f
        .policy
        .parse()
        .map_err(|_| PageError::bad_request("请选择政策"))?;
    let id = generate(&s, &u.p, pid).await.map_err(page_err)?;
    Ok(Redirect::to(&format!("/awards/{id}")).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "award_list.html")]
struct ListPage {
    layout: Layout,
    d: AwardListDetail,
}

async fn list_page(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (l, pol) = visible_list(&s, &u.p, &id).await.map_err(page_err)?;
    let d = detail(&s, &u.p, &l, &pol).await.map_err(page_err)?;
    Ok(ListPage {
        layout: layout(&s, Some(&u), "awards"),
        d,
    }
    .into_response())
}

#[derive(Deserialize, Default)]
struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    payment_ref: String,
    #[serde(default)]
    upheld: String,
    #[serde(default)]
    note: String,
    /// Objections: the award concerned (the page never shows full codes).
    #[serde(default)]
    award: String,
    #[serde(default)]
    text: String,
}

async fn run_form(
    s: &AppState,
    u: &PageUser,
    id: &str,
    f: &ActForm,
    a: ListAction,
) -> Result<Response, PageError> {
    if !u.csrf_ok(&f.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    act(s, &u.p, id, &a).await.map_err(page_err)?;
    Ok(Redirect::to(&format!("/awards/{id}")).into_response())
}

async fn publish_form(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<ActForm>,
) -> Result<Response, PageError> {
    let days = f
        .days
        .trim()
        .parse::<i64>()
        .map_err(|_| PageError::bad_request("公示期应为1至30个工作日"))?;
    let a = ListAction {
        action: "publish".into(),
        days: Some(days),
        ..Default::default()
    };
    run_form(&s, &u, &id, &f, a).await
}

async fn cancel_form(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<ActForm>,
) -> Result<Response, PageError> {
    let a = ListAction {
        action: "cancel".into(),
        ..Default::default()
    };
    run_form(&s, &u, &id, &f, a).await
}

async fn award_form(
    State(s): State<AppState>,
    u: PageUser,
    Path((id, award)): Path<(String, String)>,
    axum::Form(f): axum::Form<ActForm>,
) -> Result<Response, PageError> {
    let award_id = award.parse::<i64>().map_err(|_| PageError::not_found())?;
    if !matches!(f.action.as_str(), "approve" | "pay" | "withdraw") {
        return Err(PageError::bad_request("未知操作"));
    }
    let a = ListAction {
        action: f.action.clone(),
        award_id: Some(award_id),
        payment_ref: Some(f.payment_ref.clone()),
        ..Default::default()
    };
    run_form(&s, &u, &id, &f, a).await
}

async fn resolve_form(
    State(s): State<AppState>,
    u: PageUser,
    Path((id, oid)): Path<(String, String)>,
    axum::Form(f): axum::Form<ActForm>,
) -> Result<Response, PageError> {
    let oid = oid.parse::<i64>().map_err(|_| PageError::not_found())?;
    let upheld = match f.upheld.as_str() {
        "1" => true,
        "0" => false,
        _ => return Err(PageError::bad_request("请选择异议是否成立")),
    };
    let a = ListAction {
        action: "resolve_objection".into(),
        objection_id: Some(oid),
        upheld: Some(upheld),
        note: Some(f.note.clone()),
        ..Default::default()
    };
    run_form(&s, &u, &id, &f, a).await
}

/// Anyone signed in may object during 公示 (from the public page).
async fn objection_form(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<ActForm>,
) -> Result<Response, PageError> {
    if !u.csrf_ok(&f.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    let lid: i64 = id.parse().map_err(|_| PageError::not_found())?;
    let uscc = match f.award.trim().parse::<i64>() {
        Ok(aid) => match s.store.award(aid).await? {
            Some(a) if a.list_id == lid => Some(a.uscc),
            _ => return Err(PageError::bad_request("名单中没有该企业")),
        },
        Err(_) => None,
    };
    s.store
        .add_objection(
            lid,
            uscc.as_deref(),
            &f.text,
            views::today(),
            &Actor::from(&u.p),
        )
        .await?;
    Ok(Redirect::to(&format!("/awards/{lid}/public?objected=1")).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "award_public.html")]
struct PublicPage {
    layout: Layout,
    title: String,
    list_id: i64,
    from: String,
    to: String,
    count: i64,
    total: String,
    /// (masked USCC, name, amount, award id)
    rows: Vec<(String, String, String, i64)>,
    objected: bool,
}

#[derive(Deserialize, Default)]
struct PublicQuery {
    #[serde(default)]
    objected: Option<String>,
}

/// The public notice: names and amounts, open to everyone while the list
/// is in 公示 (before and after, it is not public).
async fn public_page(
    State(s): State<AppState>,
    MaybePageUser(u): MaybePageUser,
    Path(id): Path<String>,
    Query(q): Query<PublicQuery>,
) -> Result<Response, PageError> {
    let id: i64 = id.parse().map_err(|_| PageError::not_found())?;
    let l = s
        .store
        .award_list(id)
        .await?
        .ok_or_else(PageError::not_found)?;
    if l.status_on(views::today()) != ListStatus::Publicity {
        return Err(PageError::not_found());
    }
    let pol = policy_of(&s, l.policy_id).await.map_err(page_err)?;
    let awards = s.store.awards(l.id).await?;
    let names = s
        .store
        .enterprise_names(awards.iter().map(|a| a.uscc.as_str()))
        .await?;
    let rows = awards
        .into_iter()
        .filter(|a| a.status != zhengqi_eligibility::award::AwardStatus::Withdrawn)
        .map(|a| {
            (
                mask_uscc(&a.uscc),
                names.get(&a.uscc).cloned().unwrap_or_default(),
                yuan(a.amount),
                a.id,
            )
        })
        .collect();
    Ok(PublicPage {
        layout: layout(&s, u.as_ref(), "awards"),
        title: pol.title,
        list_id: l.id,
        from: l.publicity_from.map(|d| d.to_string()).unwrap_or_default(),
        to: l.publicity_to.map(|d| d.to_string()).unwrap_or_default(),
        count: l.count,
        total: yuan(l.total),
        rows,
        objected: q.objected.is_some(),
    }
    .into_response())
}

// ---------------------------------------------------------------------------
// The 即申即享 queue.

pub struct QueueRow {
    pub id: i64,
    pub policy_id: i64,
    pub policy_title: String,
    pub uscc: String,
    pub name: String,
    pub amount: String,
    pub status: String,
    pub created_at: String,
    pub decided_by: String,
    pub note: String,
    pub pending: bool,
    pub manageable: bool,
    /// Why the rule could not decide, from the stored explanation.
    pub reasons: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "applications.html")]
struct QueuePage {
    layout: Layout,
    rows: Vec<QueueRow>,
    all: bool,
}

#[derive(Deserialize, Default)]
struct QueueQuery {
    #[serde(default)]
    all: Option<String>,
}

/// Texts of the explanation's undecided conditions, whatever its shape.
fn reasons(v: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(conds) = v.get("conditions").and_then(|c| c.as_array()) {
        for c in conds {
            let undecided = c
                .get("value")
                .or_else(|| c.get("verdict"))
                .and_then(|x| x.as_str())
                .is_some_and(|x| x.contains("unknown") || x.contains("undetermined"));
            if undecided && let Some(t) = c.get("text").and_then(|t| t.as_str()) {
                out.push(t.to_owned());
            }
        }
    }
    out
}

async fn applications_page(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<QueueQuery>,
) -> Result<Response, PageError> {
    if !u.p.can_view_awards() {
        return Err(PageError::forbidden());
    }
    let all = q.all.is_some();
    let policies: std::collections::HashMap<i64, PolicySummary> = s
        .store
        .policies()
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let apps = s.store.applications(None, None).await?;
    let names = s
        .store
        .enterprise_names(apps.iter().map(|a| a.uscc.as_str()))
        .await?;
    let rows = apps
        .into_iter()
        .filter(|a| all || a.status == ApplicationStatus::Pending)
        .filter(|a| {
            policies
                .get(&a.policy_id)
                .is_some_and(|p| u.p.can_view_awards_of(&p.issuer, &p.departments))
        })
        .map(|a| {
            let pol = policies.get(&a.policy_id);
            QueueRow {
                id: a.id,
                policy_id: a.policy_id,
                policy_title: pol.map(|p| p.title.clone()).unwrap_or_default(),
                name: names.get(&a.uscc).cloned().unwrap_or_default(),
                uscc: a.uscc,
                amount: a.amount.map(yuan).unwrap_or_else(|| "—".into()),
                status: a.status.label().into(),
                created_at: short_ts(&a.created_at),
                decided_by: a.decided_by.unwrap_or_default(),
                note: a.note.unwrap_or_default(),
                pending: a.status == ApplicationStatus::Pending,
                manageable: pol.is_some_and(|p| u.p.can_manage_awards(&p.issuer, &p.departments)),
                reasons: reasons(&a.explanation),
            }
        })
        .collect();
    Ok(QueuePage {
        layout: layout(&s, Some(&u), "awards"),
        rows,
        all,
    }
    .into_response())
}

#[derive(Deserialize)]
struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

async fn decide_form(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<DecideForm>,
) -> Result<Response, PageError> {
    if !u.p.can_view_awards() {
        return Err(PageError::forbidden());
    }
    let id: i64 = id.parse().map_err(|_| PageError::not_found())?;
    let app = s
        .store
        .application(id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let pol = policy_of(&s, app.policy_id).await.map_err(page_err)?;
    if !u.p.can_manage_awards(&pol.issuer, &pol.departments) {
        return Err(PageError::forbidden());
    }
    if !u.csrf_ok(&f.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    let to = match f.decision.as_str() {
        "approve" => ApplicationStatus::ManualApproved,
        "reject" => ApplicationStatus::ManualRejected,
        _ => return Err(PageError::bad_request("请选择通过或不通过")),
    };
    if f.note.trim().is_empty() {
        return Err(PageError::bad_request("请填写审核理由"));
    }
    s.store
        .decide_application(id, to, &f.note, &Actor::from(&u.p))
        .await?;
    Ok(Redirect::to("/applications").into_response())
}

#[cfg(test)]
mod tests {
    use super::mask_uscc;

    #[test]
    fn public_notice_masks_the_middle_of_codes() {
        assert_eq!(mask_uscc("91440400192548256N"), "914404********256N");
        assert_eq!(mask_uscc("abc"), "***");
    }
}
