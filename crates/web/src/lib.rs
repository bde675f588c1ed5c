//! HTTP layer of zhengqi: server-rendered Chinese pages and the `/api/v1`
//! JSON API. Both are thin: they parse input, ask `zhengqi_domain::auth`
//! whether the principal may act, call `zhengqi_store`, and render.

mod api;
mod awards;
mod benefits;
mod cases;
mod catalogue_edit;
mod error;
mod holidays;
mod integration;
mod matching;
mod pages;
mod policies;
mod rules;
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
use zhengqi_domain::calendar::WorkCalendar;
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
    /// The current catalogue and its stored version (0 until loaded from
    /// the database); swapped after each committed edit.
    catalogue: Arc<std::sync::RwLock<(i64, Arc<zhengqi_domain::approval::catalogue::Catalogue>)>>,
    catalogue_loaded: Arc<tokio::sync::OnceCell<()>>,
    /// The working-day calendar in force; swapped when an administrator
    /// loads a holiday notice (`holidays.rs`).
    calendar: Arc<std::sync::RwLock<Arc<WorkCalendar>>>,
    /// Notices laid over the shipped ones before those in the database
    /// (the operator's `ZHENGQI_HOLIDAYS` file); None for a fixed calendar.
    calendar_layers: Option<Arc<Vec<String>>>,
    search_loaded: Arc<tokio::sync::OnceCell<()>>,
    pub(crate) engine: Arc<matching::Engine>,
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
            catalogue: Arc::new(std::sync::RwLock::new((
                0,
                Arc::new(zhengqi_domain::approval::catalogue::Catalogue::zhuhai()),
            ))),
            catalogue_loaded: Arc::new(tokio::sync::OnceCell::new()),
            calendar: Arc::new(std::sync::RwLock::new(Arc::new(WorkCalendar::official()))),
            calendar_layers: Some(Arc::default()),
            engine: Arc::default(),
        }
    }

    /// The catalogue as last loaded or saved.
    pub fn catalogue(&self) -> Arc<zhengqi_domain::approval::catalogue::Catalogue> {
        let guard = self.catalogue.read().unwrap_or_else(|e| e.into_inner());
        Arc::clone(&guard.1)
    }

    pub(crate) fn catalogue_version(&self) -> i64 {
        self.catalogue.read().unwrap_or_else(|e| e.into_inner()).0
    }

    /// Installs a newer stored version (an older one never replaces it).
    pub(crate) fn set_catalogue(
        &self,
        version: i64,
        catalogue: zhengqi_domain::approval::catalogue::Catalogue,
    ) {
        let mut guard = self.catalogue.write().unwrap_or_else(|e| e.into_inner());
        if version >= guard.0 {
            *guard = (version, Arc::new(catalogue));
        }
    }

    /// Loads the catalogue from the database once, seeding it from the
    /// shipped JSON on the very first start so edits survive restarts.
    pub async fn ensure_catalogue(&self) -> Result<(), error::ApiError> {
        self.catalogue_loaded
            .get_or_try_init(|| async { self.reload_catalogue().await })
            .await?;
        Ok(())
    }

    /// Reads the stored catalogue again (after a conflicting save).
    pub(crate) async fn reload_catalogue(&self) -> Result<(), error::ApiError> {
        let seed = zhengqi_domain::approval::catalogue::Catalogue::zhuhai();
        let stored = self
            .store
            .catalogue_or_seed(&seed, &zhengqi_store::Actor::system("服务事项清单初始化"))
            .await?;
        if let Err(e) = stored.catalogue.validate(&self.reference) {
            // Still served: the stored catalogue is what the departments
            // maintain; an editor's next save reports the same problems.
            tracing::warn!(error = %e, "stored catalogue does not validate");
        }
        self.set_catalogue(stored.version, stored.catalogue);
        Ok(())
    }

    /// Uses exactly `calendar` for every deadline (tests; notices stored
    /// in the database are then not applied).
    pub fn with_calendar(mut self, calendar: WorkCalendar) -> AppState {
        self.calendar = Arc::new(std::sync::RwLock::new(Arc::new(calendar)));
        self.calendar_layers = None;
        self
    }

    /// The shipped notices with `layers` (JSON in their format, e.g. the
    /// operator's `ZHENGQI_HOLIDAYS` file) laid over them; `reload_calendar`
    /// adds the notices administrators stored on top.
    pub fn with_calendar_layers(
        mut self,
        layers: Vec<String>,
    ) -> Result<AppState, zhengqi_domain::calendar::CalendarError> {
        let refs: Vec<&str> = layers.iter().map(String::as_str).collect();
        let calendar = WorkCalendar::official_with_all(&refs)?;
        self.calendar = Arc::new(std::sync::RwLock::new(Arc::new(calendar)));
        self.calendar_layers = Some(Arc::new(layers));
        Ok(self)
    }

    /// The working-day calendar in force.
    pub fn calendar(&self) -> Arc<WorkCalendar> {
        Arc::clone(&self.calendar.read().unwrap_or_else(|e| e.into_inner()))
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
        let added = out.first() == Some(&zhengqi_store::IndicatorOutcome::Added);
        if added {
            self.after_enterprise_change(&e.uscc).await;
        }
        Ok(added)
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
        .merge(catalogue_edit::router())
        .merge(services::router())
        .merge(cases::pages())
        .merge(supervision::pages())
        .merge(holidays::pages())
        .merge(integration::pages())
        .merge(rules::pages())
        .merge(awards::pages())
        .merge(benefits::pages())
        .layer(middleware::from_fn(security_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
