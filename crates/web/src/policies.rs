//! The policy library "一张清单": a public list of policies in force with
//! Chinese full-text search and filters, policy pages with articles, lead
//! units and targets highlighted, xlsx export, the JSON API, and the
//! process-reengineering task list built from articles.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Local;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use zhengqi_domain::auth::Role;
use zhengqi_domain::size::SizeClass;
use zhengqi_domain::table;
use zhengqi_search::{SearchQuery, Validity};
use zhengqi_store::{PolicySummary, policy_status_label};

use crate::AppState;
use crate::api::ApiQuery;
use crate::error::{ApiError, ErrorBody, PageError};
use crate::pages::{Layout, layout};
use crate::session::{MaybePageUser, PageUser, urlencode};
use crate::views;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/policies", get(list_page))
        .route("/policies/export.xlsx", get(export))
        .route("/policies/{id}", get(detail_page))
        .route("/policies/{id}/status", axum::routing::post(set_status))
        .route("/tasks", get(tasks_page))
}

#[derive(Deserialize, Default, IntoParams, Clone)]
#[into_params(parameter_in = Query)]
pub struct PolicyQuery {
    /// Free text, word-segmented (jieba).
    #[serde(default)]
    pub q: String,
    /// 大型/中型/小型/微型
    #[serde(default)]
    pub size: String,
    /// Area code; policies for its groups and the city match too.
    #[serde(default)]
    pub area: String,
    /// Department code (issuer or lead unit).
    #[serde(default)]
    pub department: String,
    /// in_force (default) | expiring (within 30 days) | no_expiry | all
    #[serde(default)]
    pub validity: String,
    /// 政策类型
    #[serde(default, rename = "type")]
    pub policy_type: String,
    #[serde(default)]
    pub page: String,
}

const PAGE_SIZE: usize = 20;

impl PolicyQuery {
    fn page(&self) -> usize {
        self.page.trim().parse::<usize>().unwrap_or(1).max(1)
    }

    fn search(&self, s: &AppState, limit: usize, offset: usize, gov: bool) -> SearchQuery {
        let today = views::today();
        // An area matches policies naming it or any of its ancestors.
        let areas_any = if self.area.is_empty() {
            vec![]
        } else {
            s.reference
                .area_ancestors(&self.area)
                .iter()
                .map(|a| a.code.clone())
                .collect()
        };
        let validity = match self.validity.as_str() {
            "all" => Validity::Any,
            "expiring" => Validity::ExpiringWithin(today, 30),
            "no_expiry" => Validity::NoStatedExpiry,
            _ => Validity::InForceOn(today),
        };
        SearchQuery {
            text: self.q.chars().take(200).collect(),
            size: Some(self.size.clone()).filter(|v| !v.is_empty()),
            areas_any,
            department: Some(self.department.clone()).filter(|v| !v.is_empty()),
            policy_type: Some(self.policy_type.clone()).filter(|v| !v.is_empty()),
            // The public sees published policies only; staff also see drafts.
            status: if gov { None } else { Some("published".into()) },
            validity,
            limit,
            offset,
        }
    }

    fn query_string(&self) -> String {
        [
            ("q", &self.q),
            ("size", &self.size),
            ("area", &self.area),
            ("department", &self.department),
            ("validity", &self.validity),
            ("type", &self.policy_type),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

fn is_gov(u: Option<&PageUser>) -> bool {
    u.is_some_and(|u| u.p.role != Role::Enterprise)
}

pub struct PolicyRow {
    pub id: i64,
    pub title: String,
    pub doc_number: String,
    pub issuer: String,
    pub sizes: String,
    pub areas: String,
    pub valid_until: String,
    pub status: &'static str,
    pub snippet: Vec<(String, bool)>,
}

fn row(s: &AppState, p: &PolicySummary, snippet: Vec<(String, bool)>) -> PolicyRow {
    let rd = &s.reference;
    PolicyRow {
        id: p.id,
        title: p.title.clone(),
        doc_number: p.doc_number.clone(),
        issuer: views::department_name(rd, &p.issuer),
        sizes: if p.sizes.is_empty() {
            "不限".into()
        } else {
            p.sizes.join("、")
        },
        areas: p
            .areas
            .iter()
            .map(|c| {
                rd.area(c)
                    .map(|a| a.name.clone())
                    .unwrap_or_else(|| c.clone())
            })
            .collect::<Vec<_>>()
            .join("、"),
        valid_until: p
            .valid_until
            .map(|d| d.to_string())
            .unwrap_or_else(|| "未注明（长期）".into()),
        status: policy_status_label(p.effective_status(views::today())),
        snippet,
    }
}

/// Searches and returns rows in rank order with the total count.
async fn run_search(
    s: &AppState,
    q: &PolicyQuery,
    limit: usize,
    offset: usize,
    gov: bool,
) -> Result<(usize, Vec<PolicyRow>), ApiError> {
    s.ensure_policy_index().await?;
    let res = s
        .search
        .search(&q.search(s, limit, offset, gov))
        .map_err(|e| {
            tracing::error!(error = %e, "search failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "检索服务暂时不可用",
            )
        })?;
    let ids: Vec<i64> = res.hits.iter().map(|h| h.id).collect();
    let mut summaries: std::collections::HashMap<i64, PolicySummary> = s
        .store
        .policies_by_ids(&ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let rows = res
        .hits
        .into_iter()
        .filter_map(|h| {
            let p = summaries.remove(&h.id)?;
            Some(row(
                s,
                &p,
                h.snippet.into_iter().map(|g| (g.text, g.hit)).collect(),
            ))
        })
        .collect();
    Ok((res.total, rows))
}

#[derive(Template, WebTemplate)]
#[template(path = "policies.html")]
struct ListPage {
    layout: Layout,
    q: PolicyQuery,
    query_string: String,
    rows: Vec<PolicyRow>,
    total: usize,
    page: usize,
    pages: usize,
    areas: Vec<(String, String)>,
    departments: Vec<(String, String)>,
    sizes: Vec<String>,
    validities: Vec<(String, String)>,
    mine: Option<String>,
}

async fn list_page(
    State(s): State<AppState>,
    MaybePageUser(u): MaybePageUser,
    Query(mut q): Query<PolicyQuery>,
) -> Result<Response, PageError> {
    let gov = is_gov(u.as_ref());
    // An enterprise user's "适用本企业" link fills in its area and size.
    let mut mine = None;
    if let Some(uscc) = u.as_ref().and_then(|u| u.p.enterprise.clone())
        && let Some(e) = s.store.enterprise(&uscc).await?
    {
        let m = PolicyQuery {
            area: e.area.clone(),
            size: e
                .size_class
                .map(|c| c.label().to_owned())
                .unwrap_or_default(),
            ..Default::default()
        };
        mine = Some(m.query_string());
    }
    q.q = q.q.trim().to_owned();
    let page = q.page();
    let (total, rows) = run_search(&s, &q, PAGE_SIZE, (page - 1) * PAGE_SIZE, gov)
        .await
        .map_err(|e| PageError {
            status: e.status,
            message: e.message,
        })?;
    Ok(ListPage {
        layout: layout(&s, u.as_ref(), "policies"),
        query_string: q.query_string(),
        rows,
        total,
        page,
        pages: total.div_ceil(PAGE_SIZE).max(1),
        areas: s
            .reference
            .areas
            .iter()
            .map(|a| (a.code.clone(), views::area_path(&s.reference, &a.code)))
            .collect(),
        departments: s
            .reference
            .departments
            .iter()
            .map(|d| (d.code.clone(), d.name.clone()))
            .collect(),
        sizes: SizeClass::ALL
            .iter()
            .map(|c| c.label().to_owned())
            .collect(),
        validities: [
            ("in_force", "现行有效"),
            ("expiring", "30天内到期"),
            ("no_expiry", "未注明有效期"),
            ("all", "全部（含失效）"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect(),
        mine,
        q,
    }
    .into_response())
}

/// The stored parse of one version, as much of it as the page shows.
#[derive(Deserialize, Default)]
struct StoredParse {
    #[serde(default)]
    tags: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    preamble: String,
    #[serde(default)]
    articles: Vec<StoredArticle>,
    #[serde(default)]
    closing: String,
    #[serde(default)]
    targets: Vec<StoredTarget>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize, Default)]
struct StoredArticle {
    number: u32,
    #[serde(default)]
    heading: String,
    #[serde(default)]
    lead_units: Vec<String>,
    #[serde(default)]
    unknown_lead_units: Vec<String>,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize, Default, Clone)]
struct StoredTarget {
    article: u32,
    #[serde(default)]
    matched: String,
}

struct ArticleView {
    number: u32,
    heading: String,
    lead_units: Vec<String>,
    unknown_lead_units: Vec<String>,
    paragraphs: Vec<Vec<(String, bool)>>,
}

/// Splits text into pieces, marking every occurrence of the targets'
/// matched figures, so the template escapes text and highlights safely.
fn mark(text: &str, needles: &[String]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let next = needles
            .iter()
            .filter(|n| !n.is_empty())
            .filter_map(|n| rest.find(n.as_str()).map(|i| (i, n.len())))
            .min_by_key(|(i, len)| (*i, usize::MAX - len));
        match next {
            Some((i, len)) => {
                if i > 0 {
                    out.push((rest[..i].to_owned(), false));
                }
                out.push((rest[i..i + len].to_owned(), true));
                rest = &rest[i + len..];
            }
            None => {
                if !rest.is_empty() {
                    out.push((rest.to_owned(), false));
                }
                return out;
            }
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "policy.html")]
struct DetailPage {
    layout: Layout,
    p: PolicyRow,
    published_on: String,
    policy_type: String,
    title_derived: bool,
    tags: Vec<(String, String)>,
    preamble: String,
    articles: Vec<ArticleView>,
    closing: Vec<(String, bool)>,
    target_count: usize,
    versions: Vec<(i64, String, String)>,
    warnings: Vec<String>,
    can_manage: bool,
    /// Government roles see the eligibility rule (issue 4).
    can_rule: bool,
    stored_status: String,
    statuses: Vec<(String, String)>,
}

async fn detail_page(
    State(s): State<AppState>,
    MaybePageUser(u): MaybePageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: i64 = id.parse().map_err(|_| PageError::not_found())?;
    let p = s.store.policy(id).await?.ok_or_else(PageError::not_found)?;
    if p.status != "published" && !is_gov(u.as_ref()) {
        return Err(PageError::not_found());
    }
    let (_, parsed) = s
        .store
        .policy_version(id, p.current_version)
        .await?
        .ok_or_else(PageError::not_found)?;
    let parsed: StoredParse = serde_json::from_value(parsed).unwrap_or_default();
    let needles = |article: u32| -> Vec<String> {
        parsed
            .targets
            .iter()
            .filter(|t| t.article == article)
            .map(|t| t.matched.clone())
            .collect()
    };
    let articles = parsed
        .articles
        .iter()
        .map(|a| ArticleView {
            number: a.number,
            heading: a.heading.clone(),
            lead_units: a.lead_units.clone(),
            unknown_lead_units: a.unknown_lead_units.clone(),
            paragraphs: a
                .text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| mark(l, &needles(a.number)))
                .collect(),
        })
        .collect();
    let versions = s
        .store
        .policy_versions(id)
        .await?
        .into_iter()
        .map(|v| {
            (
                v.version,
                v.created_at.chars().take(10).collect(),
                v.content_hash.chars().take(12).collect(),
            )
        })
        .collect();
    Ok(DetailPage {
        layout: layout(&s, u.as_ref(), "policies"),
        published_on: p
            .published_on
            .map(|d| d.to_string())
            .unwrap_or_else(|| "—".into()),
        policy_type: if p.policy_type.is_empty() {
            "—".into()
        } else {
            p.policy_type.clone()
        },
        title_derived: p.title_derived,
        can_manage: u.as_ref().is_some_and(|u| u.p.can_manage_policies()),
        can_rule: u.as_ref().is_some_and(|u| u.p.can_run_sandbox()),
        stored_status: p.status.clone(),
        statuses: ["draft", "published", "repealed"]
            .iter()
            .map(|k| (k.to_string(), policy_status_label(k).to_owned()))
            .collect(),
        tags: parsed.tags.into_iter().collect(),
        preamble: parsed.preamble,
        closing: mark(&parsed.closing, &needles(0)),
        target_count: parsed.targets.len(),
        articles,
        versions,
        warnings: if is_gov(u.as_ref()) {
            parsed.warnings
        } else {
            vec![]
        },
        p: row(&s, &p, vec![]),
    }
    .into_response())
}

#[derive(Deserialize)]
struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
}

/// Publishes, withdraws to draft, or repeals a policy (administrators).
async fn set_status(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<StatusForm>,
) -> Result<Response, PageError> {
    if !u.p.can_manage_policies() {
        return Err(PageError::forbidden());
    }
    if !u.csrf_ok(&f.csrf) {
        return Err(PageError::bad_request("页面已过期，请刷新后重试"));
    }
    let id: i64 = id.parse().map_err(|_| PageError::not_found())?;
    s.store
        .set_policy_status(id, &f.status, &zhengqi_store::Actor::from(&u.p))
        .await?;
    s.reindex_policies().await.map_err(|e| PageError {
        status: e.status,
        message: e.message,
    })?;
    Ok(axum::response::Redirect::to(&format!("/policies/{id}")).into_response())
}

pub const EXPORT_HEADERS: [&str; 8] = [
    "标题",
    "发文字号",
    "发文单位",
    "企业规模",
    "适用区域",
    "有效期至",
    "状态",
    "链接",
];

/// The list in the layout staff expect: one row per policy.
async fn export(
    State(s): State<AppState>,
    MaybePageUser(u): MaybePageUser,
    Query(q): Query<PolicyQuery>,
) -> Result<Response, PageError> {
    let gov = is_gov(u.as_ref());
    let (_, rows) = run_search(&s, &q, 1000, 0, gov)
        .await
        .map_err(|e| PageError {
            status: e.status,
            message: e.message,
        })?;
    let out: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            vec![
                r.title,
                r.doc_number,
                r.issuer,
                r.sizes,
                r.areas,
                r.valid_until,
                r.status.to_owned(),
                format!("/policies/{}", r.id),
            ]
        })
        .collect();
    let bytes = table::write_xlsx("政策清单", &EXPORT_HEADERS, &out)
        .map_err(|e| PageError::bad_request(e.to_string()))?;
    Ok(crate::pages::xlsx_response(
        bytes,
        &format!("政策清单-{}.xlsx", Local::now().format("%Y%m%d")),
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "tasks.html")]
struct TasksPage {
    layout: Layout,
    scope: String,
    tasks: Vec<zhengqi_store::PolicyTask>,
}

async fn tasks_page(State(s): State<AppState>, u: PageUser) -> Result<Response, PageError> {
    let (dept, scope) = match u.p.role {
        Role::Staff => {
            let d = u.p.department.clone().unwrap_or_default();
            let name = views::department_name(&s.reference, &d);
            (Some(d), format!("{name}牵头的任务"))
        }
        Role::Supervisor | Role::Admin => (None, "全部任务".to_owned()),
        Role::Enterprise => return Err(PageError::forbidden()),
    };
    let tasks = s.store.policy_tasks(dept.as_deref()).await?;
    Ok(TasksPage {
        layout: layout(&s, Some(&u), "tasks"),
        scope,
        tasks,
    }
    .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct PolicyHit {
    pub id: i64,
    pub title: String,
    pub doc_number: String,
    pub issuer: String,
    pub sizes: String,
    pub areas: String,
    pub valid_until: String,
    pub status: String,
    /// Snippet with hits wrapped in 【】.
    pub snippet: String,
    pub url: String,
}

#[derive(Serialize, ToSchema)]
pub struct PolicyList {
    pub total: usize,
    pub items: Vec<PolicyHit>,
}

/// Searches the policy library (published policies; public).
#[utoipa::path(get, path = "/policies", tag = "policies", params(PolicyQuery),
    responses((status = 200, body = PolicyList), (status = 400, body = ErrorBody)))]
pub async fn api_search(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<PolicyQuery>,
) -> Result<Json<PolicyList>, ApiError> {
    let page = q.page();
    let (total, rows) = run_search(&s, &q, PAGE_SIZE, (page - 1) * PAGE_SIZE, false).await?;
    Ok(Json(PolicyList {
        total,
        items: rows
            .into_iter()
            .map(|r| PolicyHit {
                url: format!("/policies/{}", r.id),
                id: r.id,
                title: r.title,
                doc_number: r.doc_number,
                issuer: r.issuer,
                sizes: r.sizes,
                areas: r.areas,
                valid_until: r.valid_until,
                status: r.status.to_owned(),
                snippet: r
                    .snippet
                    .iter()
                    .map(|(t, hit)| {
                        if *hit {
                            format!("【{t}】")
                        } else {
                            t.clone()
                        }
                    })
                    .collect(),
            })
            .collect(),
    }))
}

/// One published policy: its record and the parsed articles, lead units and targets.
#[utoipa::path(get, path = "/policies/{id}", tag = "policies", params(("id" = i64, Path, description = "政策编号")),
    responses((status = 200, description = "解析后的政策（与 zhengqi policy parse 输出相同）"), (status = 404, body = ErrorBody)))]
pub async fn api_policy(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("该政策"))?;
    let p = s
        .store
        .policy(id)
        .await?
        .filter(|p| p.status == "published")
        .ok_or_else(|| ApiError::not_found("该政策"))?;
    let (_, parsed) = s
        .store
        .policy_version(id, p.current_version)
        .await?
        .ok_or_else(|| ApiError::not_found("该政策"))?;
    Ok(Json(
        serde_json::json!({"id": p.id, "version": p.current_version, "status": p.effective_status(views::today()), "policy": parsed}),
    ))
}

#[cfg(test)]
mod tests {
    use super::mark;

    #[test]
    fn marks_every_target_occurrence() {
        let m = mark(
            "实现80%适用，最高100万元，再次80%",
            &["80%".into(), "100万元".into()],
        );
        let hits: Vec<_> = m
            .iter()
            .filter(|(_, h)| *h)
            .map(|(t, _)| t.as_str())
            .collect();
        assert_eq!(hits, vec!["80%", "100万元", "80%"]);
        assert_eq!(
            m.iter().map(|(t, _)| t.as_str()).collect::<String>(),
            "实现80%适用，最高100万元，再次80%"
        );
    }
}
