//! The edge of the JSON API (`/api/*`): one middleware that makes every answer predictable.
//!
//! On the way in, every unsafe method (POST, PUT, PATCH, DELETE) must come from our own origin:
//! an `Origin` header must be exactly `PUBLIC_ORIGIN` (configured, never derived from the
//! request's `Host`, which a DNS-rebinding page controls and a proxy may rewrite), and
//! `Sec-Fetch-Site: cross-site` is refused. Browsers send `Origin` on every POST, so a request
//! with neither header comes from a non-browser client (curl) and passes. POSTs must also be
//! `application/json` (a cross-site form cannot send that without a CORS preflight we never
//! grant), at most 16 KiB, and syntactically valid JSON. An empty body counts as `{}` so that
//! `curl -X POST -H 'Content-Type: application/json' …/api/refresh` works.
//!
//! On the way out, every error becomes `{"error","message"}` with the status its code implies,
//! plus `WWW-Authenticate` (RFC 6750) for bearer failures and `Retry-After` for throttling;
//! whatever produced the error (our endpoints, server_fn's argument decoding, axum's 405, a
//! panic) the client sees the same shape.

use crate::api::{ApiError, ErrorCode};
use crate::server::{net::PublicOrigin, state::AppState};
use axum::{
    body::{to_bytes, Body},
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};

/// Largest request body accepted by the API.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Largest error body this layer will read back to rewrite it.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;
/// The header server_fn sets on error responses (it is internal; we drop it).
const SERVER_FN_ERROR_HEADER: &str = "serverfnerror";

/// Prefix of every API path.
pub const API_PREFIX: &str = "/api/";

/// The middleware. Requests outside `/api/` pass through untouched.
pub async fn api_boundary(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with(API_PREFIX) {
        return next.run(request).await;
    }
    let request = match check_request(request, &state.config.net.public_origin).await {
        Ok(request) => request,
        Err(error) => return error_response(&error),
    };
    normalize_response(next.run(request).await).await
}

/// Outside the request timeout: its bare 408 becomes the API's JSON `request_timeout`.
pub async fn json_timeouts(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with(API_PREFIX);
    let response = next.run(request).await;
    if is_api && response.status() == StatusCode::REQUEST_TIMEOUT {
        return error_response(&ApiError::new(ErrorCode::RequestTimeout));
    }
    response
}

async fn check_request(request: Request, origin: &PublicOrigin) -> Result<Request, ApiError> {
    let (mut parts, body) = request.into_parts();
    // The API always answers JSON. Without this, server_fn and leptos_axum turn requests that
    // accept text/html into form-style 302 redirects.
    parts
        .headers
        .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::REFERER);

    let unsafe_method = matches!(
        parts.method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if unsafe_method {
        refuse_cross_site(&parts.headers, origin)?;
    }
    if parts.method != Method::POST {
        return Ok(Request::from_parts(parts, body));
    }
    if !is_json(&parts.headers) {
        return Err(ApiError::new(ErrorCode::UnsupportedMediaType));
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES) {
        return Err(ApiError::new(ErrorCode::PayloadTooLarge));
    }
    let bytes = to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::new(ErrorCode::PayloadTooLarge))?;
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
        axum::body::Bytes::from_static(b"{}")
    } else {
        bytes
    };
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
        let message = format!("The request body is not valid JSON: {e}.");
        return Err(ApiError::with_message(ErrorCode::MalformedJson, message));
    }
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// 403 for a cross-site request (see [`is_cross_site`]).
pub fn refuse_cross_site(headers: &HeaderMap, origin: &PublicOrigin) -> Result<(), ApiError> {
    if is_cross_site(headers, origin) {
        let message = format!(
            "Cross-site requests are not allowed: this API accepts requests from {origin} only."
        );
        return Err(ApiError::with_message(ErrorCode::Forbidden, message));
    }
    Ok(())
}

/// `Sec-Fetch-Site: cross-site`, or an `Origin` other than ours (`null` included).
fn is_cross_site(headers: &HeaderMap, origin: &PublicOrigin) -> bool {
    let header_str = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if header_str("sec-fetch-site").is_some_and(|v| v.eq_ignore_ascii_case("cross-site")) {
        return true;
    }
    match headers.get(header::ORIGIN) {
        None => false,
        Some(value) => !value.to_str().is_ok_and(|v| origin.matches(v)),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

async fn normalize_response(response: Response) -> Response {
    let status = response.status();
    if status == StatusCode::NO_CONTENT {
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(header::CONTENT_TYPE);
        parts.headers.remove(header::CONTENT_LENGTH);
        return with_api_headers(Response::from_parts(parts, Body::empty()));
    }
    let from_server_fn = response.headers().contains_key(SERVER_FN_ERROR_HEADER);
    let is_error = status.is_client_error() || status.is_server_error();
    if !from_server_fn && !is_error {
        return with_api_headers(response);
    }
    let (parts, body) = response.into_parts();
    let error = if from_server_fn {
        match to_bytes(body, MAX_ERROR_BODY_BYTES).await {
            Ok(bytes) => serde_json::from_slice::<ApiError>(&bytes).unwrap_or_else(|_| {
                tracing::error!(status = %status, "server function error body is not an ApiError");
                ApiError::new(ErrorCode::Internal)
            }),
            Err(_) => ApiError::new(ErrorCode::Internal),
        }
    } else {
        ApiError::new(match status {
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            s if s.is_client_error() => ErrorCode::InvalidRequest,
            _ => ErrorCode::Internal,
        })
    };
    let mut response = error_response(&error);
    // Keep what the endpoint set (the cleared refresh cookie, above all).
    for (name, value) in parts.headers.iter() {
        if name == header::SET_COOKIE {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}

/// The JSON response for an API error, with its status and headers.
pub fn error_response(error: &ApiError) -> Response {
    let status = error.status();
    let body = serde_json::to_vec(error)
        .unwrap_or_else(|_| br#"{"error":"internal","message":"error"}"#.to_vec());
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if matches!(
        error.error,
        ErrorCode::MissingToken | ErrorCode::InvalidToken | ErrorCode::TokenExpired
    ) {
        // RFC 6750 §3: tell the client which scheme and why.
        let challenge = format!(
            "Bearer realm=\"jwt-auth\", error=\"invalid_token\", error_description=\"{}\"",
            error.message.replace(['"', '\\'], "'")
        );
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
    }
    if let Some(seconds) = error.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    with_api_headers(response)
}

/// Tokens must never be cached by the browser or a proxy.
fn with_api_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.remove(SERVER_FN_ERROR_HEADER);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    fn ours() -> PublicOrigin {
        PublicOrigin::parse("http://127.0.0.1:3000").unwrap()
    }

    #[test]
    fn our_origin_and_originless_requests_pass() {
        assert!(!is_cross_site(&headers(&[]), &ours()));
        assert!(!is_cross_site(
            &headers(&[("origin", "http://127.0.0.1:3000")]),
            &ours()
        ));
        assert!(!is_cross_site(
            &headers(&[("sec-fetch-site", "same-origin")]),
            &ours()
        ));
    }

    #[test]
    fn other_origins_are_cross_site_whatever_the_host_header_says() {
        for origin in [
            "https://evil.example",
            "null",
            "http://127.0.0.1:4000",
            "https://127.0.0.1:3000",
            "http://evil.example:3000",
        ] {
            // A DNS-rebinding page sends Host = Origin = its own name.
            let host = origin.split("://").nth(1).unwrap_or(origin);
            assert!(
                is_cross_site(&headers(&[("origin", origin), ("host", host)]), &ours()),
                "{origin}"
            );
        }
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "cross-site")]),
            &ours()
        ));
    }

    #[test]
    fn json_content_type_may_carry_parameters() {
        assert!(is_json(&headers(&[(
            "content-type",
            "application/json; charset=utf-8"
        )])));
        assert!(!is_json(&headers(&[("content-type", "text/plain")])));
        assert!(!is_json(&headers(&[(
            "content-type",
            "application/x-www-form-urlencoded"
        )])));
        assert!(!is_json(&HeaderMap::new()));
    }
}
