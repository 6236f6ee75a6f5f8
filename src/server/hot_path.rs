//! `GET /api/secret-number` as a plain axum handler: the call every logged-in page makes, and
//! the one that must cost little more than verifying the token.
//!
//! The server function of the same name (`api::secret_number`) stays the browser's typed
//! client and the API's documentation; on the server its path is excluded from leptos_axum's
//! routing and answered here instead, without a reactive owner, the server-function codec, or
//! the middleware that only other routes need: body buffering and the CSRF check (a GET has
//! no body and changes nothing), the request timeout (nothing here waits on I/O), panic
//! catching (nothing here can panic), request tracing, and the router itself: `serve` answers
//! a GET of this path before routing. What stays the same: the bearer check
//! (`Auth::authorize`, revocation set included), the error mapping and body, the
//! `WWW-Authenticate` challenge, `Cache-Control: no-store`, the security headers, and the
//! limit of requests in flight (counted in `serve`, for every request).

use crate::api::{ApiError, SecretNumber, SecretNumberResponse};
use crate::server::{api_boundary, headers, state::AppState};
use axum::{body::Body, extract::State, response::Response};
use http::{header, HeaderMap, HeaderValue};
use leptos::server_fn::ServerFn;

/// The path, the server function's own, excluded from leptos_axum's server-function routes.
pub const PATH: &str = SecretNumber::PATH;

/// The protected resource itself: a fresh random number.
pub fn draw() -> SecretNumberResponse {
    SecretNumberResponse {
        value: rand::random_range(0..1_000_000),
    }
}

/// Whether `serve` answers this request with [`answer`] directly, before the router: a GET of
/// the path. (HEAD and other methods take the router, which strips HEAD bodies and answers the
/// API's 405.)
pub fn is_hot(method: &http::Method, path: &str) -> bool {
    method == http::Method::GET && path == PATH
}

/// The router's handler (HEAD).
pub async fn secret_number(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer(&state, &headers)
}

/// The answer to `GET /api/secret-number` with these request headers.
pub fn answer(state: &AppState, headers: &HeaderMap) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    let mut response = match state.auth.authorize(authorization) {
        Ok(_claims) => match serde_json::to_vec(&draw()) {
            Ok(json) => {
                let mut response = Response::new(Body::from(json));
                let headers = response.headers_mut();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
            Err(_) => api_boundary::error_response(&ApiError::new(crate::api::ErrorCode::Internal)),
        },
        Err(e) => api_boundary::error_response(&ApiError::from(e)),
    };
    headers::add(response.headers_mut(), state.production());
    response
}

/// Any other method: the API's JSON 405 (or its 403, first, for a cross-site request).
pub async fn method_not_allowed(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let error = match api_boundary::refuse_cross_site(&headers, &state.config.net.public_origin) {
        Err(forbidden) => forbidden,
        Ok(()) => ApiError::new(crate::api::ErrorCode::MethodNotAllowed),
    };
    let mut response = api_boundary::error_response(&error);
    let headers = response.headers_mut();
    headers.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    headers::add(headers, state.production());
    response
}
