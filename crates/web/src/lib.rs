//! HTTP layer of zhengqi: server-rendered Chinese pages and the `/api/v1`
//! JSON API. Both are thin: they parse input, ask `zhengqi_domain::auth`
//! whether the principal may act, call `zhengqi_store`, and render.

mod api;
mod cases;
mod error;
mod integration;
mod pages;
mod policies;
mod services;
mod session;
mod supervision;
mod views;
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use zhengqi_domain::reference::ReferenceData;
use zhengqi_search::{PolicyDoc, SearchIndex};
use zhengqi_store::Store;

pub use api::ApiDoc;

pub struct WebConfig {
    /// Adds `Secure` to cookies. Off only for plain-HTTP loopback use.
    pub secure_cookies: bool,
    /// The database holds demo data; pages say so.
    pub demo: bool,
}

#[derive(Clone)]
pub struct AppState {
    pub(crate) store: Store,
    pub(crate) reference: Arc<ReferenceData>,
    pub(crate) config: Arc<WebConfig>,
    pub(crate) search: Arc<SearchIndex>,
    pub(crate) catalogue: Arc<zhengqi_domain::approval::catalogue::Catalogue>,
    pub(crate) calendar: Arc<zhengqi_domain::calendar::WorkCalendar>,
    search_loaded: Arc<tokio::sync::OnceCell<()>>,
}

impl AppState {
    pub fn new(store: Store, reference: ReferenceData, config: WebConfig) -> AppState {
        AppState {
            store,
            reference: Arc::new(reference),
            config: Arc::new(config),
            // Creating an empty in-memory index only fails on allocation.
            search: Arc::new(SearchIndex::new().expect("in-memory search index")),
            search_loaded: Arc::new(tokio::sync::OnceCell::new()),
            catalogue: Arc::new(zhengqi_domain::approval::catalogue::Catalogue::zhuhai()),
            calendar: Arc::new(zhengqi_domain::calendar::WorkCalendar::official()),
        }
    }

    /// Stores one shared figure and, when the enterprise's size class is
    /// computed (not declared), recomputes it from the newest figures.
    /// Returns whether the figure was new.
    pub(crate) async fn submit_indicator(
        &self,
        e: &mut zhengqi_domain::enterprise::Enterprise,
        n: &zhengqi_domain::enterprise::NewIndicator,
        actor: &zhengqi_store::Actor,
    ) -> Result<bool, zhengqi_store::StoreError> {
        let out = self
            .store
            .add_indicators(std::slice::from_ref(n), actor, chrono::Utc::now())
            .await?;
        if !matches!(
            e.size_basis,
            Some(zhengqi_domain::enterprise::SizeBasis::Given)
        ) {
            e.size_class = None;
            let inds = self.store.indicators(&e.uscc).await?;
            e.compute_size(&self.reference, &inds);
            self.store.upsert_enterprise(e, actor).await?;
        }
        Ok(out.first() == Some(&zhengqi_store::IndicatorOutcome::Added))
    }

    /// Builds the policy search index from the database on first use.
    pub async fn ensure_policy_index(&self) -> Result<(), error::ApiError> {
        self.search_loaded
            .get_or_try_init(|| async { self.reindex_policies().await.map(|_| ()) })
            .await?;
        Ok(())
    }

    /// Rebuilds the search entries of every policy from the database;
    /// returns how many were indexed.
    pub async fn reindex_policies(&self) -> Result<usize, error::ApiError> {
        let policies = self.store.policies().await?;
        let texts: std::collections::HashMap<i64, String> =
            self.store.policy_texts().await?.into_iter().collect();
        let today = views::today();
        let docs: Vec<PolicyDoc> = policies
            .iter()
            .map(|p| PolicyDoc {
                id: p.id,
                title: p.title.clone(),
                body: texts.get(&p.id).cloned().unwrap_or_default(),
                sizes: p.sizes.clone(),
                areas: p.areas.clone(),
                departments: p.departments.clone(),
                policy_type: p.policy_type.clone(),
                status: p.effective_status(today).to_owned(),
                valid_until: p.valid_until,
            })
            .collect();
        self.search.upsert(&docs).map_err(|e| {
            tracing::error!(error = %e, "indexing failed");
            error::ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "检索索引重建失败",
            )
        })?;
        Ok(docs.len())
    }
}

async fn healthz(State(s): State<AppState>) -> Response {
    if s.store.ping().await {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/app.css"),
    )
        .into_response()
}

/// Defence in depth for every response: no framing, no MIME sniffing, and a
/// CSP that allows only our own resources (pages use no inline scripts).
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    res
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/static/app.css", get(css))
        .nest("/api/v1", api::router())
        .merge(pages::router())
        .merge(policies::router())
        .merge(services::router())
        .merge(cases::pages())
        .merge(supervision::pages())
        .merge(integration::pages())
        .layer(middleware::from_fn(security_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
