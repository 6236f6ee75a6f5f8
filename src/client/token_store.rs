//! Where the browser keeps the access token: in memory, mirrored to `localStorage` (through
//! gloo-storage) so the other tabs of the same origin share it. Stored as the JSON object
//! `{"jwt","username","role"}`, written and read with the browser's `JSON` ([`js`]).
//!
//! The refresh token is not here and cannot be: it lives in an HttpOnly cookie that scripts
//! never see. An XSS can read this access token, which is why it lives only 15 minutes.

use crate::api::{Role, SessionInfo, TokenResponse};
use crate::client::js;
use gloo_storage::{LocalStorage, Storage};
use std::cell::RefCell;

/// The `localStorage` key.
pub const STORAGE_KEY: &str = "jwt-auth.session";

/// An access token and whom it belongs to.
#[derive(Clone, PartialEq)]
pub struct StoredSession {
    pub jwt: String,
    pub username: String,
    pub role: Role,
}

crate::model::debug_showing!(StoredSession { username, role });

impl StoredSession {
    /// The parts the pages show.
    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            username: self.username.clone(),
            role: self.role,
        }
    }
}

impl From<TokenResponse> for StoredSession {
    fn from(value: TokenResponse) -> Self {
        Self {
            jwt: value.jwt,
            username: value.username,
            role: value.role,
        }
    }
}

thread_local! {
    static MEMORY: RefCell<Option<StoredSession>> = const { RefCell::new(None) };
}

/// The current session, reading `localStorage` if memory is empty (e.g. a new tab).
pub fn current() -> Option<StoredSession> {
    MEMORY.with(|m| m.borrow().clone()).or_else(reload)
}

/// The current access token.
pub fn access_token() -> Option<String> {
    current().map(|s| s.jwt)
}

/// Replaces memory with what `localStorage` holds now (another tab may have written it).
pub fn reload() -> Option<StoredSession> {
    let stored = LocalStorage::raw()
        .get_item(STORAGE_KEY)
        .ok()
        .flatten()
        .as_deref()
        .and_then(decode);
    MEMORY.with(|m| *m.borrow_mut() = stored.clone());
    stored
}

/// Stores a new token in memory and `localStorage`.
pub fn store(session: StoredSession) {
    let written = encode(&session).map(|text| LocalStorage::raw().set_item(STORAGE_KEY, &text));
    if !matches!(written, Some(Ok(()))) {
        leptos::logging::warn!("cannot mirror the access token to localStorage");
    }
    MEMORY.with(|m| *m.borrow_mut() = Some(session));
}

/// Forgets the token everywhere.
pub fn clear() {
    LocalStorage::delete(STORAGE_KEY);
    MEMORY.with(|m| *m.borrow_mut() = None);
}

fn encode(session: &StoredSession) -> Option<String> {
    js::object_text(&[
        ("jwt", session.jwt.as_str().into()),
        ("username", session.username.as_str().into()),
        ("role", session.role.as_str().into()),
    ])
}

/// `None` for anything that is not a whole stored session (another version's, or tampered).
fn decode(text: &str) -> Option<StoredSession> {
    let object = js::parse_object(text)?;
    Some(StoredSession {
        jwt: js::string(&object, "jwt")?,
        username: js::string(&object, "username")?,
        role: Role::parse(&js::string(&object, "role")?)?,
    })
}
