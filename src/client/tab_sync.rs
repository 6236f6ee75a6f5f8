//! Telling the other tabs of this origin about logins and logouts (`BroadcastChannel`).
//!
//! Token renewals need no message: the token's `localStorage` mirror changes and each tab
//! re-reads it when it needs it.

use crate::api::{Role, SessionInfo};
use crate::client::js;
use wasm_bindgen::{closure::Closure, JsCast};

/// Channel name.
pub const CHANNEL: &str = "jwt-auth";

/// What one tab tells the others. On the channel it is JSON text, `{"kind":"logged_in",
/// "username","role"}`, `{"kind":"logged_out"}` or `{"kind":"expired"}`, written and read with
/// the browser's `JSON` ([`js`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TabMessage {
    /// This tab logged in (the access token is already in `localStorage`).
    LoggedIn { username: String, role: Role },
    /// The user logged out.
    LoggedOut,
    /// The session ended (a refresh was refused).
    Expired,
}

impl TabMessage {
    /// The login message for a session.
    pub fn logged_in(info: &SessionInfo) -> Self {
        Self::LoggedIn {
            username: info.username.clone(),
            role: info.role,
        }
    }

    fn to_text(&self) -> Option<String> {
        match self {
            Self::LoggedIn { username, role } => js::object_text(&[
                ("kind", "logged_in".into()),
                ("username", username.as_str().into()),
                ("role", role.as_str().into()),
            ]),
            Self::LoggedOut => js::object_text(&[("kind", "logged_out".into())]),
            Self::Expired => js::object_text(&[("kind", "expired".into())]),
        }
    }

    /// `None` for a message this version does not know.
    fn from_text(text: &str) -> Option<Self> {
        let object = js::parse_object(text)?;
        match js::string(&object, "kind")?.as_str() {
            "logged_in" => Some(Self::LoggedIn {
                username: js::string(&object, "username")?,
                role: Role::parse(&js::string(&object, "role")?)?,
            }),
            "logged_out" => Some(Self::LoggedOut),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }
}

/// Sends a message to every other tab (a tab never receives its own messages).
pub fn post(message: &TabMessage) {
    let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) else {
        return;
    };
    if let Some(text) = message.to_text() {
        let _ = channel.post_message(&text.into());
    }
    channel.close();
}

/// Calls `on_message` for every message from other tabs, for the life of the page.
pub fn listen(on_message: impl Fn(TabMessage) + 'static) {
    let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) else {
        return;
    };
    let handler =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            if let Some(message) = event
                .data()
                .as_string()
                .and_then(|text| TabMessage::from_text(&text))
            {
                on_message(message);
            }
        });
    channel.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    // The listener lives as long as the page.
    handler.forget();
    std::mem::forget(channel);
}
