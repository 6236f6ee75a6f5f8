//! The login page's `POST /api/login`, sent with [`fetch::send`] and read with [`js`] rather
//! than through the `login` server function's generated client: the endpoint and its JSON are
//! the same, but the first visit does not download serde_json for it (see [`js`]). The second
//! step (`login_mfa`) is a lazy chunk and uses the server function as usual.

use super::{fetch, js};
use crate::api::{ApiError, ErrorCode, Login, LoginResponse, MfaRequired, TokenResponse};
use crate::model::Role;
use bytes::Bytes;
use http::Method;
use leptos::server_fn::ServerFn;

/// Checks the username and password; on success the server has set the refresh cookie. The
/// error is the message to show.
pub async fn login(username: &str, password: &str) -> Result<LoginResponse, String> {
    let body = js::object_text(&[("username", username.into()), ("password", password.into())])
        .ok_or_else(|| message(ErrorCode::Internal))?;
    let request = fetch::ApiRequest {
        method: Method::POST,
        url: Login::PATH.to_owned(),
        content_type: "application/json".to_owned(),
        accepts: "application/json".to_owned(),
        body: Some(Bytes::from(body)),
    };
    let response = fetch::send(&request, None)
        .await
        .map_err(|_| message(ErrorCode::ServerUnreachable))?;
    let object = std::str::from_utf8(&response.body)
        .ok()
        .and_then(js::parse_object);
    if response.status == 200 {
        return object
            .as_ref()
            .and_then(login_response)
            .ok_or_else(|| message(ErrorCode::Internal));
    }
    // Our error bodies carry the message to show (`{"error","message"}`).
    Err(object
        .and_then(|o| js::string(&o, "message"))
        .unwrap_or_else(|| message(ErrorCode::Internal)))
}

fn message(code: ErrorCode) -> String {
    ApiError::new(code).message
}

/// A 200 body: the second step's challenge, or a session.
fn login_response(object: &js_sys::Object) -> Option<LoginResponse> {
    if js::boolean(object, "mfa_required") == Some(true) {
        return Some(LoginResponse::Mfa(MfaRequired {
            mfa_required: true,
            challenge: js::string(object, "challenge")?,
        }));
    }
    Some(LoginResponse::Token(TokenResponse {
        jwt: js::string(object, "jwt")?,
        // Whole seconds in JSON; the cast saturates anything odd.
        expires_in: js::number(object, "expires_in")? as u64,
        username: js::string(object, "username")?,
        role: Role::parse(&js::string(object, "role")?)?,
    }))
}
