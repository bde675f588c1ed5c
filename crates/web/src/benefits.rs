//! The enterprise side of the eligibility engine (issue 4): 适合我的政策
//! (ranked matches with reasons and amounts), one policy's full explanation
//! with the 即申即享 「立即申请」 form, the push inbox, and 免申即享 awards
//! (receiving account, objections during 公示). Pages under `/me/…` and
//! their API under `/api/v1/me/…`.
//!
//! Everything here is the signed-in enterprise's own: the enterprise is
//! taken from the principal, never from the request, and award ids that
//! belong to another enterprise answer 404.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::{DateTime, Local, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zhengqi_domain::auth::Principal;
use zhengqi_domain::enterprise::{Enterprise, Indicator};
use zhengqi_domain::money::Amount;
use zhengqi_domain::uscc::Uscc;
use zhengqi_eligibility::award::{
    ApplicationStatus, AwardAction, AwardStatus, BankAccount, ListStatus, Mode,
};
use zhengqi_eligibility::{CondExplanation, Explanation, Verdict};
use zhengqi_store::{Actor, Application, ApplyOutcome};

use crate::AppState;
use crate::error::{ApiError, ErrorBody, PageError};
use crate::matching::{RuleMeta, Rules};
use crate::pages::{Layout, layout};
use crate::session::{ApiUser, PageUser};
use crate::views;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/me/policies", get(list_page))
        .route("/me/policies/{id}", get(detail_page))
        .route("/me/policies/{id}/apply", post(apply_submit))
        .route("/me/inbox", get(inbox_page))
        .route("/me/awards", get(awards_page))
        .route("/me/awards/{id}/account", post(account_submit))
        .route("/me/awards/{id}/objection", post(objection_submit))
}

fn page_err(e: ApiError) -> PageError {
    PageError {
        status: e.status,
        message: e.message,
    }
}

/// `1,234.5元`, with the 万元 form beside large sums.
pub(crate) fn yuan(fen: i64) -> String {
    let a = Amount::from_fen(fen);
    if fen.unsigned_abs() >= 1_000_000 {
        format!("{}（{}）", a.yuan_string(), a.wan_string())
    } else {
        a.yuan_string()
    }
}

fn verdict_key(v: Verdict) -> &'static str {
    match v {
        Verdict::Eligible => "eligible",
        Verdict::Undetermined => "undetermined",
        Verdict::NotEligible => "not_eligible",
    }
}

fn local_time(s: &str) -> String {
    s.parse::<DateTime<Utc>>()
        .map(|t| t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| s.to_owned())
}

/// One policy as it stands for the enterprise.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PolicyMatchView {
    pub policy_id: i64,
    pub title: String,
    /// standard | exempt | instant
    pub mode: String,
    /// 依申请 | 免申即享 | 即申即享
    pub mode_label: String,
    /// eligible | undetermined | not_eligible
    pub verdict: String,
    /// 符合 | 无法判断 | 不符合
    pub verdict_label: String,
    /// Amount in 分 when eligible and the policy has a formula.
    pub amount: Option<i64>,
    /// The amount in 元, e.g. "300,000元（30万元）".
    pub amount_yuan: Option<String>,
    /// Conditions met.
    pub reasons: Vec<String>,
    /// For conditions not met or not decidable: what would satisfy them or
    /// which data is missing.
    pub gaps: Vec<String>,
    pub rule_version: i64,
}

/// A figure a condition used, with where it came from.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ValueView {
    pub label: String,
    /// Formatted value; "缺失" when the data is missing.
    pub value: String,
    pub missing: bool,
    pub year: Option<i32>,
    /// Source department name.
    pub source: Option<String>,
    /// Arrival date and time (local).
    pub arrived_at: Option<String>,
}

/// One condition of the explanation; nested conditions follow their
/// parent with a larger depth.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ConditionView {
    pub depth: usize,
    pub text: String,
    /// eligible | undetermined | not_eligible
    pub verdict: String,
    /// ✓ | ✗ | ?
    pub mark: String,
    pub values: Vec<ValueView>,
    /// e.g. "差 150万元 达到 2,000万元", or which data is missing.
    pub hint: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    pub id: i64,
    pub rule_version: i64,
    /// auto_approved | pending | auto_rejected | manual_approved | manual_rejected | paid
    pub status: String,
    pub status_label: String,
    pub amount: Option<i64>,
    pub amount_yuan: Option<String>,
    pub created_at: String,
    pub decided_at: Option<String>,
    pub note: Option<String>,
}

fn application_view(a: &Application) -> ApplicationView {
    ApplicationView {
        id: a.id,
        rule_version: a.rule_version,
        status: a.status.key().to_owned(),
        status_label: a.status.label().to_owned(),
        amount: a.amount,
        amount_yuan: a.amount.map(yuan),
        created_at: local_time(&a.created_at),
        decided_at: a.decided_at.as_deref().map(local_time),
        note: a.note.clone(),
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PolicyExplanationBody {
    pub policy: PolicyMatchView,
    /// How the amount was computed, e.g. "min(… × 10%, 500万元) = 32万元".
    pub amount_formula: Option<String>,
    pub conditions: Vec<ConditionView>,
    /// The engine's explanation as is (department codes, UTC times).
    #[schema(value_type = Object)]
    pub explanation: serde_json::Value,
    /// This enterprise's 即申即享 applications for the policy, newest first.
    pub applications: Vec<ApplicationView>,
    /// 即申即享 and not yet applied under the current rule version.
    pub can_apply: bool,
}

fn mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Eligible => "✓",
        Verdict::NotEligible => "✗",
        Verdict::Undetermined => "?",
    }
}

fn flatten(s: &AppState, c: &CondExplanation, depth: usize, out: &mut Vec<ConditionView>) {
    out.push(ConditionView {
        depth,
        text: c.text.clone(),
        verdict: verdict_key(c.verdict).to_owned(),
        mark: mark(c.verdict).to_owned(),
        values: c
            .values
            .iter()
            .map(|v| ValueView {
                label: v.label.clone(),
                value: v.value.clone().unwrap_or_else(|| "缺失".into()),
                missing: v.value.is_none(),
                year: v.year,
                source: v
                    .source
                    .as_deref()
                    .map(|d| views::department_name(&s.reference, d)),
                arrived_at: v
                    .arrived_at
                    .map(|t| t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string()),
            })
            .collect(),
        hint: c.hint.clone(),
    });
    for ch in &c.children {
        flatten(s, ch, depth + 1, out);
    }
}

/// What to tell about a condition that is not met: its hint, else the
/// condition itself.
fn gaps_of(x: &Explanation) -> Vec<String> {
    x.conditions
        .iter()
        .filter(|c| c.verdict != Verdict::Eligible)
        .map(|c| match &c.hint {
            Some(h) => format!("{}：{h}", c.text),
            None => format!("{}：{}", c.text, c.verdict.label()),
        })
        .collect()
}

fn match_view(id: i64, meta: &RuleMeta, x: &Explanation) -> PolicyMatchView {
    PolicyMatchView {
        policy_id: id,
        title: meta.title.clone(),
        mode: meta.mode.key().to_owned(),
        mode_label: meta.mode.label().to_owned(),
        verdict: verdict_key(x.verdict).to_owned(),
        verdict_label: x.verdict.label().to_owned(),
        amount: x.amount,
        amount_yuan: x.amount.map(yuan),
        reasons: x
            .conditions
            .iter()
            .filter(|c| c.verdict == Verdict::Eligible)
            .map(|c| c.text.clone())
            .collect(),
        gaps: gaps_of(x),
        rule_version: meta.version,
    }
}

fn rank(v: &PolicyMatchView) -> u8 {
    match v.verdict.as_str() {
        "eligible" => 0,
        "undetermined" => 1,
        _ => 2,
    }
}

/// Every published policy with a rule, for this enterprise: eligible first
/// (largest amount first), then undetermined, then not eligible.
fn ranked(rules: &Rules, e: &Enterprise, inds: &[Indicator]) -> Vec<PolicyMatchView> {
    let mut out: Vec<PolicyMatchView> = rules
        .set
        .policy_ids()
        .filter_map(|id| {
            let meta = rules.meta.get(&id)?;
            let x = rules.set.explain(id, e, inds)?;
            Some(match_view(id, meta, &x))
        })
        .collect();
    out.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then(b.amount.unwrap_or(0).cmp(&a.amount.unwrap_or(0)))
            .then(a.policy_id.cmp(&b.policy_id))
    });
    out
}

/// The principal's own enterprise, for the `/me` pages and API.
fn own_enterprise(p: &Principal) -> Option<Uscc> {
    p.enterprise.clone().filter(|u| p.can_act_for_enterprise(u))
}

fn only_enterprises() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "仅企业用户可以查看本企业的政策匹配、申请和消息",
    )
}

async fn subject_of(s: &AppState, uscc: &Uscc) -> Result<(Enterprise, Vec<Indicator>), ApiError> {
    s.subject(uscc)
        .await?
        .ok_or_else(|| ApiError::not_found("本企业的登记信息"))
}

async fn my_matches(s: &AppState, uscc: &Uscc) -> Result<Vec<PolicyMatchView>, ApiError> {
    let (e, inds) = subject_of(s, uscc).await?;
    let rules = s.rules().await?;
    Ok(ranked(&rules, &e, &inds))
}

async fn explanation_of(
    s: &AppState,
    uscc: &Uscc,
    policy_id: i64,
) -> Result<PolicyExplanationBody, ApiError> {
    let (e, inds) = subject_of(s, uscc).await?;
    let rules = s.rules().await?;
    let (Some(meta), Some(x)) = (
        rules.meta.get(&policy_id),
        rules.set.explain(policy_id, &e, &inds),
    ) else {
        return Err(ApiError::not_found(
            "该政策的匹配规则（政策未生效或尚无规则）",
        ));
    };
    let mut conditions = Vec::new();
    for c in &x.conditions {
        flatten(s, c, 0, &mut conditions);
    }
    let applications: Vec<ApplicationView> = s
        .store
        .applications(Some(policy_id), Some(uscc.as_str()))
        .await?
        .iter()
        .map(application_view)
        .collect();
    let can_apply =
        meta.mode == Mode::Instant && !applications.iter().any(|a| a.rule_version == meta.version);
    Ok(PolicyExplanationBody {
        policy: match_view(policy_id, meta, &x),
        amount_formula: x.amount_text.clone(),
        conditions,
        explanation: serde_json::to_value(&x).unwrap_or(serde_json::Value::Null),
        applications,
        can_apply,
    })
}

/// Files a 即申即享 application: decided at once by the rule when it says
/// eligible or not eligible, queued for a person when it cannot decide.
async fn apply(
    s: &AppState,
    p: &Principal,
    policy_id: i64,
) -> Result<(bool, Application), ApiError> {
    let uscc = own_enterprise(p).ok_or_else(only_enterprises)?;
    let (e, inds) = subject_of(s, &uscc).await?;
    let rules = s.rules().await?;
    let (Some(meta), Some(x)) = (
        rules.meta.get(&policy_id),
        rules.set.explain(policy_id, &e, &inds),
    ) else {
        return Err(ApiError::not_found(
            "该政策的匹配规则（政策未生效或尚无规则）",
        ));
    };
    if meta.mode != Mode::Instant {
        return Err(ApiError::invalid(format!(
            "该政策的兑现方式为“{}”，不接受在线即时申请",
            meta.mode.label()
        )));
    }
    let status = match x.verdict {
        Verdict::Eligible => ApplicationStatus::AutoApproved,
        Verdict::Undetermined => ApplicationStatus::Pending,
        Verdict::NotEligible => ApplicationStatus::AutoRejected,
    };
    let explanation = serde_json::to_value(&x).unwrap_or(serde_json::Value::Null);
    let outcome = s
        .store
        .apply_instant(
            uscc.as_str(),
            policy_id,
            meta.version,
            verdict_key(x.verdict),
            x.amount,
            status,
            &explanation,
            &Actor::from(p),
        )
        .await?;
    let (created, id) = match outcome {
        ApplyOutcome::Created(id) => (true, id),
        ApplyOutcome::Existing(id) => (false, id),
    };
    let app = s
        .store
        .application(id)
        .await?
        .ok_or_else(|| ApiError::not_found("该申请"))?;
    Ok((created, app))
}

// ---------------------------------------------------------------- pages

fn page_enterprise(u: &PageUser) -> Result<Uscc, PageError> {
    own_enterprise(&u.p).ok_or_else(PageError::forbidden)
}

#[derive(Template, WebTemplate)]
#[template(path = "my_policies.html")]
struct ListPage {
    layout: Layout,
    matched: Vec<PolicyMatchView>,
    undetermined: Vec<PolicyMatchView>,
    not_eligible: Vec<PolicyMatchView>,
    total_yuan: Option<String>,
}

async fn list_page(State(s): State<AppState>, u: PageUser) -> Result<Response, PageError> {
    let uscc = page_enterprise(&u)?;
    let all = my_matches(&s, &uscc).await.map_err(page_err)?;
    let (mut matched, mut undetermined, mut not_eligible) = (vec![], vec![], vec![]);
    for m in all {
        match m.verdict.as_str() {
            "eligible" => matched.push(m),
            "undetermined" => undetermined.push(m),
            _ => not_eligible.push(m),
        }
    }
    let total: i64 = matched.iter().filter_map(|m| m.amount).sum();
    Ok(ListPage {
        layout: layout(&s, Some(&u), "my-policies"),
        total_yuan: (total > 0).then(|| yuan(total)),
        matched,
        undetermined,
        not_eligible,
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "my_policy.html")]
struct DetailPage {
    layout: Layout,
    x: PolicyExplanationBody,
    message: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn detail_page(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let uscc = page_enterprise(&u)?;
    let id: i64 = id.parse().map_err(|_| PageError::not_found())?;
    let x = explanation_of(&s, &uscc, id).await.map_err(page_err)?;
    let message = match q.done.as_str() {
        "applied" => x
            .applications
            .first()
            .map(|a| format!("申请已提交：{}", a.status_label)),
        "existing" => Some("本政策当前规则下已提交过申请，以下为原申请的状态".into()),
        _ => None,
    };
    Ok(DetailPage {
        layout: layout(&s, Some(&u), "my-policies"),
        x,
        message,
        error: None,
    }
    .into_response())
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn apply_submit(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let uscc = page_enterprise(&u)?;
    if !u.csrf_ok(&f.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    let id: i64 = id.parse().map_err(|_| PageError::not_found())?;
    match apply(&s, &u.p, id).await {
        Ok((created, _)) => Ok(Redirect::to(&format!(
            "/me/policies/{id}?done={}",
            if created { "applied" } else { "existing" }
        ))
        .into_response()),
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            let x = explanation_of(&s, &uscc, id).await.map_err(page_err)?;
            let page = DetailPage {
                layout: layout(&s, Some(&u), "my-policies"),
                x,
                message: None,
                error: Some(e.message),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(page_err(e)),
    }
}

pub(crate) struct PushRow {
    pub policy_id: i64,
    pub title: String,
    pub amount_yuan: Option<String>,
    pub created_at: String,
    pub unread: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "my_inbox.html")]
struct InboxPage {
    layout: Layout,
    pushes: Vec<PushRow>,
}

async fn policy_titles(s: &AppState) -> Result<HashMap<i64, String>, ApiError> {
    Ok(s.store
        .policies()
        .await?
        .into_iter()
        .map(|p| (p.id, p.title))
        .collect())
}

async fn inbox_page(State(s): State<AppState>, u: PageUser) -> Result<Response, PageError> {
    let uscc = page_enterprise(&u)?;
    let titles = policy_titles(&s).await.map_err(page_err)?;
    let pushes: Vec<PushRow> = s
        .store
        .pushes_of(uscc.as_str())
        .await?
        .into_iter()
        .map(|p| PushRow {
            title: titles
                .get(&p.policy_id)
                .cloned()
                .unwrap_or_else(|| format!("政策 {}", p.policy_id)),
            policy_id: p.policy_id,
            amount_yuan: p.amount.map(yuan),
            created_at: local_time(&p.created_at),
            unread: p.read_at.is_none(),
        })
        .collect();
    // Viewing the inbox reads it; the rows above still show what was new.
    s.store.mark_pushes_read(uscc.as_str()).await?;
    let mut layout = layout(&s, Some(&u), "inbox");
    layout.unread = 0;
    Ok(InboxPage { layout, pushes }.into_response())
}

pub(crate) struct AwardRow {
    pub id: i64,
    pub policy_id: i64,
    pub title: String,
    pub amount_yuan: String,
    pub status_label: &'static str,
    pub list_status_label: &'static str,
    pub publicity: Option<String>,
    pub account: Option<String>,
    pub paid: Option<String>,
    pub can_confirm: bool,
    pub can_object: bool,
    /// (submitted at, text, resolution)
    pub objections: Vec<(String, String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "my_awards.html")]
struct AwardsPage {
    layout: Layout,
    enterprise_name: String,
    awards: Vec<AwardRow>,
    message: Option<String>,
    error: Option<String>,
    /// The award the error is about, and the form values to show again.
    error_award: i64,
    form: AccountForm,
}

async fn award_rows(s: &AppState, uscc: &Uscc) -> Result<Vec<AwardRow>, ApiError> {
    let titles = policy_titles(s).await?;
    let today = views::today();
    let mut out = Vec::new();
    for a in s.store.awards_of(uscc.as_str()).await? {
        let Some(list) = s.store.award_list(a.list_id).await? else {
            continue;
        };
        let ls = list.status_on(today);
        // Lists still under review are internal; the enterprise sees its
        // award once the list is published.
        if matches!(ls, ListStatus::Review | ListStatus::Cancelled) {
            continue;
        }
        let objections = s
            .store
            .objections(a.list_id)
            .await?
            .into_iter()
            .filter(|o| o.uscc.as_deref() == Some(uscc.as_str()))
            .map(|o| {
                let res = match (o.upheld, o.resolution) {
                    (Some(true), Some(r)) => format!("异议成立：{r}"),
                    (Some(false), Some(r)) => format!("异议不成立：{r}"),
                    _ => "处理中".to_owned(),
                };
                (local_time(&o.created_at), o.text, res)
            })
            .collect();
        let open = matches!(
            a.status,
            AwardStatus::Listed | AwardStatus::AccountConfirmed
        );
        out.push(AwardRow {
            id: a.id,
            policy_id: list.policy_id,
            title: titles
                .get(&list.policy_id)
                .cloned()
                .unwrap_or_else(|| format!("政策 {}", list.policy_id)),
            amount_yuan: yuan(a.amount),
            status_label: a.status.label(),
            list_status_label: ls.label(),
            publicity: match (list.publicity_from, list.publicity_to) {
                (Some(f), Some(t)) => Some(format!("{f} 至 {t}")),
                _ => None,
            },
            account: a.account.as_ref().map(BankAccount::masked),
            paid: a.paid_at.as_deref().map(|t| {
                format!(
                    "{}（凭证号 {}）",
                    local_time(t),
                    a.payment_ref.clone().unwrap_or_default()
                )
            }),
            can_confirm: open && matches!(ls, ListStatus::Publicity | ListStatus::Final),
            can_object: ls == ListStatus::Publicity && a.status != AwardStatus::Withdrawn,
            objections,
        });
    }
    Ok(out)
}

async fn render_awards(
    s: &AppState,
    u: &PageUser,
    uscc: &Uscc,
    message: Option<String>,
    error: Option<(i64, String)>,
    form: AccountForm,
) -> Result<Response, PageError> {
    let (e, _) = subject_of(s, uscc).await.map_err(page_err)?;
    let awards = award_rows(s, uscc).await.map_err(page_err)?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let (error_award, error) = match error {
        Some((id, m)) => (id, Some(m)),
        None => (0, None),
    };
    let page = AwardsPage {
        layout: layout(s, Some(u), "awards"),
        enterprise_name: e.name,
        awards,
        message,
        error,
        error_award,
        form,
    };
    Ok((status, page).into_response())
}

async fn awards_page(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let uscc = page_enterprise(&u)?;
    let message = match q.done.as_str() {
        "account" => Some("收款账户已确认".to_owned()),
        "objection" => Some("异议已提交，将由主管部门在公示期后处理".to_owned()),
        _ => None,
    };
    render_awards(&s, &u, &uscc, message, None, AccountForm::default()).await
}

#[derive(Deserialize, Default, Clone)]
pub(crate) struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pub holder: String,
    #[serde(default)]
    pub bank: String,
    #[serde(default)]
    pub number: String,
    #[serde(default)]
    pub text: String,
}

/// The award, if it is this enterprise's (404 otherwise, so another
/// enterprise's award ids reveal nothing).
async fn own_award(s: &AppState, uscc: &Uscc, id: &str) -> Result<zhengqi_store::Award, PageError> {
    let id: i64 = id.parse().map_err(|_| PageError::not_found())?;
    match s.store.award(id).await? {
        Some(a) if a.uscc == uscc.as_str() => Ok(a),
        _ => Err(PageError::not_found()),
    }
}

async fn account_submit(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<String>,
    Form(f): Form<AccountForm>,
) -> Result<Response, PageError> {
    let uscc = page_enterprise(&u)?;
    if !u.csrf_ok(&f.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    let award = own_award(&s, &uscc, &id).await?;
    let (e, _) = subject_of(&s, &uscc).await.map_err(page_err)?;
    let account = match BankAccount::parse(&e.name, &f.holder, &f.bank, &f.number) {
        Ok(a) => a,
        Err(m) => return render_awards(&s, &u, &uscc, None, Some((award.id, m)), f).await,
    };
    match s
        .store
        .award_action(
            award.id,
            AwardAction::ConfirmAccount,
            Some(&account),
            None,
            views::today(),
            &Actor::from(&u.p),
        )
        .await
    {
        Ok(_) => Ok(Redirect::to("/me/awards?done=account").into_response()),
        Err(zhengqi_store::StoreError::Invalid(m) | zhengqi_store::StoreError::Conflict(m)) => {
            render_awards(&s, &u, &uscc, None, Some((award.id, m)), f).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn objection_submit(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<String>,
    Form(f): Form<AccountForm>,
) -> Result<Response, PageError> {
    let uscc = page_enterprise(&u)?;
    if !u.csrf_ok(&f.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    let award = own_award(&s, &uscc, &id).await?;
    match s
        .store
        .add_objection(
            award.list_id,
            Some(uscc.as_str()),
            &f.text,
            views::today(),
            &Actor::from(&u.p),
        )
        .await
    {
        Ok(_) => Ok(Redirect::to("/me/awards?done=objection").into_response()),
        Err(zhengqi_store::StoreError::Invalid(m)) => {
            render_awards(&s, &u, &uscc, None, Some((award.id, m)), f).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- API

/// The signed-in enterprise's policies, ranked: eligible first (largest
/// amount first), then undetermined (with the missing data), then not
/// eligible (with what fails).
#[utoipa::path(get, path = "/me/policies", tag = "benefits", security(("bearer" = [])),
    responses((status = 200, body = Vec<PolicyMatchView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(crate) async fn api_my_policies(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
) -> Result<Json<Vec<PolicyMatchView>>, ApiError> {
    let uscc = own_enterprise(&p).ok_or_else(only_enterprises)?;
    Ok(Json(my_matches(&s, &uscc).await?))
}

/// Why the signed-in enterprise does or does not qualify for one policy:
/// every condition with its verdict, the figures used (year, source
/// department, arrival time) and gap hints; the amount formula; its
/// 即申即享 applications.
#[utoipa::path(get, path = "/me/policies/{id}", tag = "benefits", security(("bearer" = [])),
    params(("id" = i64, Path, description = "政策编号")),
    responses((status = 200, body = PolicyExplanationBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn api_my_policy(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<PolicyExplanationBody>, ApiError> {
    let uscc = own_enterprise(&p).ok_or_else(only_enterprises)?;
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("该政策"))?;
    Ok(Json(explanation_of(&s, &uscc, id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationCreated {
    /// false: already applied under this rule version; the earlier
    /// application is returned.
    pub created: bool,
    pub application: ApplicationView,
}

/// 即申即享: applies for a policy. Decided at once when the rule says
/// eligible (auto_approved) or not eligible (auto_rejected); queued for a
/// person (pending) when data is missing. One application per enterprise
/// and rule version.
#[utoipa::path(post, path = "/policies/{id}/applications", tag = "benefits", security(("bearer" = [])),
    params(("id" = i64, Path, description = "政策编号")),
    responses((status = 201, body = ApplicationCreated), (status = 200, body = ApplicationCreated),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn api_apply(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("该政策"))?;
    let (created, app) = apply(&s, &p, id).await?;
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(ApplicationCreated {
            created,
            application: application_view(&app),
        }),
    )
        .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct PushView {
    pub id: i64,
    pub policy_id: i64,
    pub title: String,
    pub rule_version: i64,
    pub amount: Option<i64>,
    pub amount_yuan: Option<String>,
    pub created_at: String,
    pub read: bool,
}

/// The signed-in enterprise's push notices, newest first (reading them
/// here does not mark them read; the inbox page does).
#[utoipa::path(get, path = "/me/inbox", tag = "benefits", security(("bearer" = [])),
    responses((status = 200, body = Vec<PushView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(crate) async fn api_inbox(
    State(s): State<AppState>,
    ApiUser(p): ApiUser,
) -> Result<Json<Vec<PushView>>, ApiError> {
    let uscc = own_enterprise(&p).ok_or_else(only_enterprises)?;
    let titles = policy_titles(&s).await?;
    Ok(Json(
        s.store
            .pushes_of(uscc.as_str())
            .await?
            .into_iter()
            .map(|p| PushView {
                id: p.id,
                title: titles
                    .get(&p.policy_id)
                    .cloned()
                    .unwrap_or_else(|| format!("政策 {}", p.policy_id)),
                policy_id: p.policy_id,
                rule_version: p.rule_version,
                amount: p.amount,
                amount_yuan: p.amount.map(yuan),
                created_at: p.created_at,
                read: p.read_at.is_some(),
            })
            .collect(),
    ))
}
