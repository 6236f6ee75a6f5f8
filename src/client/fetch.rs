//! One HTTP exchange with our API through the browser's `fetch`, with a deadline.
//!
//! Requests are plain data ([`ApiRequest`]) so the wrapper can replay one after a refresh, and
//! responses are read whole ([`ApiResponse`]) so a 401 body can be inspected and the response
//! still handed to server_fn afterwards. Every request is aborted after [`REQUEST_TIMEOUT_MS`]:
//! a hung server yields an error, never a call that waits forever.

use crate::api::{ApiError, ErrorCode};
use bytes::Bytes;
use http::Method;
use js_sys::Uint8Array;
use leptos::server_fn::{
    error::{FromServerFnError, IntoAppError, ServerFnErrorErr},
    redirect::REDIRECT_HEADER,
    request::ClientReq,
    response::ClientRes,
};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Deadline for one request, body included.
pub const REQUEST_TIMEOUT_MS: u32 = 10_000;

/// A request to one of our endpoints, kept as data so it can be sent again.
#[derive(Clone)]
pub struct ApiRequest {
    pub method: Method,
    /// Path (and query) relative to our origin, e.g. `/api/secret-number`.
    pub url: String,
    pub content_type: String,
    pub accepts: String,
    pub body: Option<Bytes>,
}

/// A response read to the end.
#[derive(Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub status_text: String,
    pub location: Option<String>,
    /// Whether server_fn's redirect header was set.
    pub redirect: bool,
    pub url: String,
    pub body: Bytes,
}

// Bodies carry passwords, codes and tokens.
crate::model::debug_showing!(ApiRequest { method, url });
crate::model::debug_showing!(ApiResponse { status, url });

impl ApiResponse {
    /// The API error code of an error response, if its body is one of our error bodies.
    pub fn error_code(&self) -> Option<ErrorCode> {
        if self.status < 400 {
            return None;
        }
        serde_json::from_slice::<ApiError>(&self.body)
            .ok()
            .map(|e| e.error)
    }
}

fn unsupported<E: FromServerFnError>(what: &str) -> E {
    ServerFnErrorErr::UnsupportedRequestMethod(format!("{what} bodies are not used by this app"))
        .into_app_error()
}

impl<E: FromServerFnError> ClientReq<E> for ApiRequest {
    type FormData = ();

    fn try_new_req_query(
        path: &str,
        content_type: &str,
        accepts: &str,
        query: &str,
        method: Method,
    ) -> Result<Self, E> {
        let url = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        Ok(Self {
            method,
            url,
            content_type: content_type.to_owned(),
            accepts: accepts.to_owned(),
            body: None,
        })
    }

    fn try_new_req_text(
        path: &str,
        content_type: &str,
        accepts: &str,
        body: String,
        method: Method,
    ) -> Result<Self, E> {
        Self::try_new_req_bytes(path, content_type, accepts, Bytes::from(body), method)
    }

    fn try_new_req_bytes(
        path: &str,
        content_type: &str,
        accepts: &str,
        body: Bytes,
        method: Method,
    ) -> Result<Self, E> {
        Ok(Self {
            method,
            url: path.to_owned(),
            content_type: content_type.to_owned(),
            accepts: accepts.to_owned(),
            body: Some(body),
        })
    }

    fn try_new_req_form_data(_: &str, _: &str, _: &str, _: (), _: Method) -> Result<Self, E> {
        Err(unsupported("form-data"))
    }

    fn try_new_req_multipart(_: &str, _: &str, _: (), _: Method) -> Result<Self, E> {
        Err(unsupported("multipart"))
    }

    fn try_new_req_streaming(
        _: &str,
        _: &str,
        _: &str,
        _: impl futures::Stream<Item = Bytes> + Send + 'static,
        _: Method,
    ) -> Result<Self, E> {
        Err(unsupported("streaming"))
    }
}

impl<E: FromServerFnError> ClientRes<E> for ApiResponse {
    async fn try_into_string(self) -> Result<String, E> {
        String::from_utf8(self.body.to_vec())
            .map_err(|e| ServerFnErrorErr::Deserialization(e.to_string()).into_app_error())
    }

    async fn try_into_bytes(self) -> Result<Bytes, E> {
        Ok(self.body)
    }

    fn try_into_stream(
        self,
    ) -> Result<impl futures::Stream<Item = Result<Bytes, Bytes>> + Send + Sync + 'static, E> {
        Ok(futures::stream::iter([Ok(self.body)]))
    }

    fn status(&self) -> u16 {
        self.status
    }

    fn status_text(&self) -> String {
        self.status_text.clone()
    }

    fn location(&self) -> String {
        self.location.clone().unwrap_or_else(|| self.url.clone())
    }

    fn has_redirect(&self) -> bool {
        self.redirect
    }
}

/// Whether `url` points at our own origin (a path, or an absolute URL on `origin`). The bearer
/// token is only ever attached to these.
pub fn is_same_origin(url: &str, origin: &str) -> bool {
    if url.starts_with("//") {
        return false;
    }
    if url.starts_with('/') {
        return true;
    }
    match url.strip_prefix(origin) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'),
        None => false,
    }
}

/// Why a request produced no response.
#[derive(Debug, Clone)]
pub struct NetworkError(pub String);

impl NetworkError {
    /// As the server function's error type.
    pub fn into_error<E: FromServerFnError>(self) -> E {
        ServerFnErrorErr::Request(self.0).into_app_error()
    }
}

fn js_error(context: &str, value: wasm_bindgen::JsValue) -> NetworkError {
    let detail = js_sys::JSON::stringify(&value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    NetworkError(format!("{context}: {detail}"))
}

/// Sends `request`, adding `Authorization: Bearer <token>` when a token is given, and reads the
/// whole response.
pub async fn send(request: &ApiRequest, bearer: Option<&str>) -> Result<ApiResponse, NetworkError> {
    let window = web_sys::window().ok_or_else(|| NetworkError("no window".into()))?;
    let headers = web_sys::Headers::new().map_err(|e| js_error("headers", e))?;
    headers
        .set("Accept", &request.accepts)
        .map_err(|e| js_error("headers", e))?;
    let init = web_sys::RequestInit::new();
    init.set_method(request.method.as_str());
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(
        REQUEST_TIMEOUT_MS,
    )));
    if let Some(body) = &request.body {
        headers
            .set("Content-Type", &request.content_type)
            .map_err(|e| js_error("headers", e))?;
        init.set_body(&Uint8Array::from(&body[..]));
    }
    if let Some(token) = bearer {
        let own = window
            .location()
            .origin()
            .map(|o| is_same_origin(&request.url, &o))
            .unwrap_or(false);
        if own {
            headers
                .set("Authorization", &format!("Bearer {token}"))
                .map_err(|e| js_error("headers", e))?;
        }
    }
    init.set_headers(&headers);

    let response = JsFuture::from(window.fetch_with_str_and_init(&request.url, &init))
        .await
        .map_err(|e| js_error("fetch", e))?;
    let response: web_sys::Response = response.dyn_into().map_err(|e| js_error("fetch", e))?;
    let buffer = response.array_buffer().map_err(|e| js_error("body", e))?;
    let buffer = JsFuture::from(buffer)
        .await
        .map_err(|e| js_error("body", e))?;
    let response_headers = response.headers();
    Ok(ApiResponse {
        status: response.status(),
        status_text: response.status_text(),
        location: response_headers.get("Location").ok().flatten(),
        redirect: response_headers
            .get(REDIRECT_HEADER)
            .ok()
            .flatten()
            .is_some(),
        url: response.url(),
        body: Bytes::from(Uint8Array::new(&buffer).to_vec()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_goes_only_to_our_origin() {
        let origin = "http://127.0.0.1:3000";
        assert!(is_same_origin("/api/secret-number", origin));
        assert!(is_same_origin("http://127.0.0.1:3000/api/x", origin));
        assert!(!is_same_origin("//evil.example/api", origin));
        assert!(!is_same_origin("https://evil.example/api", origin));
        assert!(!is_same_origin(
            "http://127.0.0.1:3000.evil.example/api",
            origin
        ));
        assert!(!is_same_origin("http://127.0.0.1:30001/api", origin));
    }

    #[test]
    fn error_code_is_read_from_error_bodies_only() {
        let mut response = ApiResponse {
            status: 401,
            status_text: String::new(),
            location: None,
            redirect: false,
            url: String::new(),
            body: Bytes::from_static(br#"{"error":"token_expired","message":"x"}"#),
        };
        assert_eq!(response.error_code(), Some(ErrorCode::TokenExpired));
        response.status = 200;
        assert_eq!(response.error_code(), None);
    }
}
