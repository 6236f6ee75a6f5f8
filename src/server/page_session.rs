//! Tells server-side rendering who is logged in, from the refresh cookie, so route guards can
//! answer a first page load with a redirect instead of a flash of the wrong page.
//!
//! Read-only: the cookie is looked up (never rotated) and the result is put in the request's
//! extensions, where the app reads it through Leptos' `Parts` context. Every page depends on
//! the session, so none may be cached: a shared cache or the Back button must not show one
//! after logout.

use crate::api::SessionInfo;
use crate::server::{api_boundary::API_PREFIX, extract::RefreshCookie, state::AppState};
use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use http::{header, HeaderValue, Method};

/// The session found for a page request (`None`: anonymous).
#[derive(Debug, Clone, Default)]
pub struct PageSession(pub Option<SessionInfo>);

/// The middleware. Only page requests (GET outside `/api/` and the static `/pkg/`) pay for the
/// lookup.
pub async fn page_session(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let is_page = request.method() == Method::GET
        && !path.starts_with(API_PREFIX)
        && !path.starts_with(&format!("/{}/", state.leptos_options.site_pkg_dir));
    if is_page {
        let (parts, body) = request.into_parts();
        let cookie = RefreshCookie::from_parts(&parts);
        let session = match state.auth.peek(cookie.token()).await {
            Ok(user) => user.map(|u| SessionInfo {
                username: u.username,
                role: u.role,
            }),
            Err(e) => {
                // A failed lookup renders the page as anonymous; the API stays authoritative.
                tracing::error!(error = %e, "looking up the page session");
                None
            }
        };
        request = Request::from_parts(parts, body);
        request.extensions_mut().insert(PageSession(session));
        let mut response = next.run(request).await;
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.append(header::VARY, HeaderValue::from_static("Cookie"));
        return response;
    }
    next.run(request).await
}
