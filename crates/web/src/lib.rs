//! HTTP layer of zhengqi: server-rendered Chinese pages and the `/api/v1`
//! JSON API. Both are thin: they parse input, ask `zhengqi_domain::auth`
//! whether the principal may act, call `zhengqi_store`, and render.

mod api;
mod error;
mod pages;
mod session;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use zhengqi_domain::reference::ReferenceData;
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
}

impl AppState {
    pub fn new(store: Store, reference: ReferenceData, config: WebConfig) -> AppState {
        AppState {
            store,
            reference: Arc::new(reference),
            config: Arc::new(config),
        }
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
        .layer(middleware::from_fn(security_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
