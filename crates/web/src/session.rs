//! Who is asking. Browsers carry a session cookie (HttpOnly, SameSite=Lax,
//! Secure outside loopback) and every form carries the session's CSRF
//! token; API clients carry a bearer token. The two kinds of session are
//! separate, so a cookie never authorises an API call (no CSRF there).

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use zhengqi_domain::auth::Principal;
use zhengqi_store::SessionKind;

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "zq_session";
pub const LOGIN_CSRF_COOKIE: &str = "zq_login_csrf";

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{}",
        if state.config.secure_cookies {
            "; Secure"
        } else {
            ""
        }
    )
}

/// A principal authenticated by bearer token.
pub struct ApiUser(pub Principal);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(ApiError::unauthenticated)?;
        match state.store.session(token, SessionKind::Api).await? {
            Some((p, _)) => Ok(ApiUser(p)),
            None => Err(ApiError::unauthenticated()),
        }
    }
}

/// A principal authenticated by browser session, with the CSRF token that
/// its forms must echo.
pub struct PageUser {
    pub p: Principal,
    pub csrf: String,
    pub token: String,
    /// Unread policy pushes (enterprise users; the nav badge).
    pub unread: i64,
}

impl PageUser {
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        // Length check first so the comparison below is over equal lengths.
        submitted.len() == self.csrf.len()
            && submitted
                .bytes()
                .zip(self.csrf.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

pub struct LoginRedirect(String);

impl IntoResponse for LoginRedirect {
    fn into_response(self) -> Response {
        Redirect::to(&format!("/login?next={}", urlencode(&self.0))).into_response()
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map(|u| u.0.path().to_owned())
            .unwrap_or_else(|| parts.uri.path().to_owned());
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(LoginRedirect(path).into_response());
        };
        match state.store.session(&token, SessionKind::Browser).await {
            Ok(Some((p, csrf))) => {
                let unread = match &p.enterprise {
                    // A failed count only hides the badge.
                    Some(u) => state.store.unread_push_count(u.as_str()).await.unwrap_or(0),
                    None => 0,
                };
                Ok(PageUser {
                    p,
                    csrf,
                    token,
                    unread,
                })
            }
            Ok(None) => Err(LoginRedirect(path).into_response()),
            Err(e) => Err(crate::error::PageError::from(e).into_response()),
        }
    }
}

/// Optional browser session, for pages open to everyone.
pub struct MaybePageUser(pub Option<PageUser>);

impl FromRequestParts<AppState> for MaybePageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        Ok(MaybePageUser(
            PageUser::from_request_parts(parts, state).await.ok(),
        ))
    }
}
