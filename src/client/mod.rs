//! The browser side of authentication: the fetch wrapper that server functions call through,
//! the token store, single-flight refresh and tab synchronisation.
//!
//! Server functions name their client in `#[server(client = …)]`:
//! - [`PublicClient`] (login, refresh, logout) sends requests as they are;
//! - [`AuthClient`] (protected endpoints) attaches `Authorization: Bearer`, and on a 401
//!   `token_expired`/`invalid_token` renews the token once (see [`refresh`]) and retries once;
//!   on a 403 `reauth_required` it asks for the password again (see [`reauth`]) and retries once.
//!
//! These types exist in the server build too (the macro names them there) but only run in the
//! browser. The login page's own call ([`login`]) and the small JSON values of the first visit
//! ([`js`]) go without serde_json, which keeps it out of the first-visit WASM.

pub mod auth_state;
pub mod fetch;
pub mod js;
pub mod login;
pub mod reauth;
pub mod refresh;
pub mod tab_sync;
pub mod time;
pub mod token_store;

use fetch::{ApiRequest, ApiResponse};
use leptos::server_fn::{client::Client, error::FromServerFnError, Bytes};
use send_wrapper::SendWrapper;
use std::future::Future;

/// A server-function client over [`fetch::send`]. `BEARER` decides whether it authenticates.
pub struct ApiClient<const BEARER: bool>;

/// For endpoints that need no access token.
pub type PublicClient = ApiClient<false>;
/// For endpoints that need the access token: bearer header, refresh on 401, one retry.
pub type AuthClient = ApiClient<true>;

impl<E, IS, OS, const BEARER: bool> Client<E, IS, OS> for ApiClient<BEARER>
where
    E: FromServerFnError,
    IS: FromServerFnError,
    OS: FromServerFnError,
{
    type Request = ApiRequest;
    type Response = ApiResponse;

    fn send(request: ApiRequest) -> impl Future<Output = Result<ApiResponse, E>> + Send {
        // Browser futures are not Send; they only ever run on the page's one thread.
        SendWrapper::new(async move {
            let result = if BEARER {
                send_with_bearer(request).await
            } else {
                fetch::send(&request, None).await
            };
            result.map_err(fetch::NetworkError::into_error)
        })
    }

    #[allow(clippy::manual_async_fn)]
    fn open_websocket(
        _path: &str,
    ) -> impl Future<
        Output = Result<
            (
                impl futures::Stream<Item = Result<Bytes, Bytes>> + Send + 'static,
                impl futures::Sink<Bytes> + Send + 'static,
            ),
            E,
        >,
    > + Send {
        async {
            Err::<
                (
                    futures::stream::Empty<Result<Bytes, Bytes>>,
                    futures::sink::Drain<Bytes>,
                ),
                E,
            >(
                fetch::NetworkError("websockets are not used by this app".into()).into_error()
            )
        }
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        wasm_bindgen_futures::spawn_local(future);
    }
}

/// The bearer-token exchange: wait for a refresh already running, send with the current token,
/// and on a refreshable 401 renew the token once and retry once.
async fn send_with_bearer(request: ApiRequest) -> Result<ApiResponse, fetch::NetworkError> {
    // Calls made during a refresh wait for it instead of sending a token known to be stale.
    let waited = match refresh::in_flight() {
        Some(running) => Some(running.await),
        None => None,
    };
    // If that refresh just failed, do not start another one for this call.
    let refresh_failed = matches!(waited, Some(Err(_)));
    let mut token = token_store::access_token();
    if token.is_none() && !refresh_failed {
        // A tab that has the session cookie but no access token yet (first visit after a
        // reload with empty storage): get one before the call instead of collecting a 401.
        token = refresh::renew(None).await.ok();
    }
    let response = fetch::send(&request, token.as_deref()).await?;
    let refreshable = response.status == 401
        && response
            .error_code()
            .is_some_and(|code| code.is_refreshable());
    if refresh_failed || !refreshable {
        return with_recent_authentication(request, response).await;
    }
    // If another call renewed the token while this one was in flight, use that token;
    // otherwise renew it (joining a refresh another call may have started meanwhile).
    let current = token_store::access_token();
    let renewed = match current {
        Some(current) if Some(&current) != token.as_ref() => Ok(current),
        _ => refresh::renew(token).await,
    };
    match renewed {
        Ok(new_token) => {
            let response = fetch::send(&request, Some(&new_token)).await?;
            with_recent_authentication(request, response).await
        }
        // The refresh failed: hand back the original 401. If the session ended, the app is
        // already on its way to the login page.
        Err(_) => Ok(response),
    }
}

/// A `403 reauth_required` answer: the password again (the registered prompt), then the same
/// call once more with the fresh token. Any other answer is the answer.
async fn with_recent_authentication(
    request: ApiRequest,
    response: ApiResponse,
) -> Result<ApiResponse, fetch::NetworkError> {
    let needs_reauth = response.status == 403
        && response.error_code() == Some(crate::api::ErrorCode::ReauthRequired);
    if !needs_reauth {
        return Ok(response);
    }
    match reauth::ask().await {
        Some(fresh) => fetch::send(&request, Some(&fresh)).await,
        None => Ok(response),
    }
}
