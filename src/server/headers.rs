//! The security headers every response carries, listed once: the router adds them to what it
//! answers, and the hot path (`hot_path`) to what it answers before the router.

use crate::server::state::AppState;
use axum::{extract::State, response::Response};
use http::{header, HeaderMap, HeaderValue};

/// Adds each header the response does not set itself. HSTS only in production: on a
/// development `http://` origin it would be ignored at best.
pub fn add(headers: &mut HeaderMap, production: bool) {
    let fixed = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    for (name, value) in fixed {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    if production {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static("max-age=31536000"));
    }
}

/// The router's layer (`axum::middleware::map_response_with_state`).
pub async fn layer(State(state): State<AppState>, mut response: Response) -> Response {
    add(response.headers_mut(), state.production());
    response
}
