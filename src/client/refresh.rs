//! Renewing the access token: at most one refresh per tab, and across tabs one at a time.
//!
//! In a tab, the first call that needs a new token starts the refresh and every other call awaits
//! the same shared future (single flight). Across tabs, the refresh runs under the Web Lock
//! [`LOCK_NAME`]; whoever gets the lock first re-reads `localStorage` and skips the network call
//! when another tab has already renewed the token. Waiting for the lock is bounded by
//! [`LOCK_TIMEOUT_MS`] and the refresh request by the fetch deadline, so nothing hangs.

use crate::api::ErrorCode;
use crate::client::{auth_state, token_store};
use futures::future::{FutureExt, LocalBoxFuture, Shared};
use std::cell::RefCell;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Name of the cross-tab Web Lock.
pub const LOCK_NAME: &str = "jwt-auth-refresh";
/// Longest wait for the lock.
pub const LOCK_TIMEOUT_MS: u32 = 15_000;

/// Why no new token could be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshFailure {
    /// The server refused the refresh cookie: the session is over (the user is logged out).
    SessionEnded,
    /// The server could not be reached or failed; the session may still be fine.
    Unavailable(String),
}

type RefreshFuture = Shared<LocalBoxFuture<'static, Result<String, RefreshFailure>>>;

thread_local! {
    static IN_FLIGHT: RefCell<Option<RefreshFuture>> = const { RefCell::new(None) };
}

/// The refresh running in this tab, if any, for calls that must not start with a stale token.
pub fn in_flight() -> Option<RefreshFuture> {
    IN_FLIGHT.with(|slot| slot.borrow().clone())
}

/// A new access token to replace `stale` (the token a call failed with, if any). Joins the
/// refresh already running in this tab or starts one.
pub async fn renew(stale: Option<String>) -> Result<String, RefreshFailure> {
    let shared = IN_FLIGHT.with(|slot| {
        slot.borrow_mut()
            .get_or_insert_with(|| run(stale).boxed_local().shared())
            .clone()
    });
    shared.await
}

async fn run(stale: Option<String>) -> Result<String, RefreshFailure> {
    let result = with_web_lock(LOCK_NAME, refresh_unless_renewed(stale)).await;
    // Done: the next expiry starts a new refresh rather than reusing this result.
    IN_FLIGHT.with(|slot| *slot.borrow_mut() = None);
    if result == Err(RefreshFailure::SessionEnded) {
        auth_state::session_ended(auth_state::SessionEnd::Expired, true);
    }
    result
}

async fn refresh_unless_renewed(stale: Option<String>) -> Result<String, RefreshFailure> {
    // Another tab may have refreshed while this one waited for the lock.
    if let Some(current) = token_store::reload() {
        if Some(&current.jwt) != stale.as_ref() {
            return Ok(current.jwt);
        }
    }
    match crate::api::refresh().await {
        Ok(response) => {
            let jwt = response.jwt.clone();
            token_store::store(response.into());
            Ok(jwt)
        }
        Err(e) if e.error == ErrorCode::InvalidRefreshToken => Err(RefreshFailure::SessionEnded),
        Err(e) => Err(RefreshFailure::Unavailable(e.message)),
    }
}

/// Runs `work` while holding the Web Lock `name` (`navigator.locks.request`). Browsers without
/// Web Locks run it directly: the per-tab single flight still holds.
async fn with_web_lock<F>(name: &str, work: F) -> Result<String, RefreshFailure>
where
    F: std::future::Future<Output = Result<String, RefreshFailure>> + 'static,
{
    let Some((locks, request)) = lock_manager() else {
        return work.await;
    };
    let (sender, receiver) = futures::channel::oneshot::channel();
    let callback = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
        wasm_bindgen_futures::future_to_promise(async move {
            let _ = sender.send(work.await);
            // Resolving releases the lock.
            Ok(JsValue::UNDEFINED)
        })
        .into()
    });
    let options = js_sys::Object::new();
    let signal = web_sys::AbortSignal::timeout_with_u32(LOCK_TIMEOUT_MS);
    let _ = js_sys::Reflect::set(&options, &"signal".into(), &signal);
    let promise = request.call3(&locks, &JsValue::from_str(name), &options, &callback);
    match promise.map(js_sys::Promise::from) {
        Ok(promise) => {
            if let Err(e) = JsFuture::from(promise).await {
                let detail = js_sys::JSON::stringify(&e)
                    .ok()
                    .and_then(|s| s.as_string())
                    .unwrap_or_default();
                return Err(RefreshFailure::Unavailable(format!(
                    "refresh lock: {detail}"
                )));
            }
        }
        Err(_) => {
            return Err(RefreshFailure::Unavailable(
                "refresh lock unavailable".into(),
            ))
        }
    }
    receiver
        .await
        .unwrap_or_else(|_| Err(RefreshFailure::Unavailable("refresh was cancelled".into())))
}

/// `navigator.locks` and its `request` method, when the browser has them.
fn lock_manager() -> Option<(JsValue, js_sys::Function)> {
    let navigator = web_sys::window()?.navigator();
    let locks = js_sys::Reflect::get(&navigator, &"locks".into()).ok()?;
    if locks.is_undefined() || locks.is_null() {
        return None;
    }
    let request = js_sys::Reflect::get(&locks, &"request".into()).ok()?;
    let request = request.dyn_into::<js_sys::Function>().ok()?;
    Some((locks, request))
}
