//! Telling the other tabs of this origin about logins and logouts (`BroadcastChannel`).
//!
//! Token renewals need no message: the token's `localStorage` mirror changes and each tab
//! re-reads it when it needs it.

use crate::api::{Role, SessionInfo};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{closure::Closure, JsCast};

/// Channel name.
pub const CHANNEL: &str = "jwt-auth";

/// What one tab tells the others.
///
/// Read back through the flat [`TabWire`] instead of serde's internally tagged deserializer,
/// which buffers the message in an intermediate tree (several KB of WASM for three variants).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "TabWire")]
pub enum TabMessage {
    /// Someone logged in (the others leave the login page).
    LoggedIn { username: String, role: Role },
    /// The user logged out.
    LoggedOut,
    /// The session could not be refreshed any more.
    Expired,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum TabKind {
    LoggedIn,
    LoggedOut,
    Expired,
}

/// Every field a [`TabMessage`] can have.
#[derive(Deserialize)]
struct TabWire {
    kind: TabKind,
    username: Option<String>,
    role: Option<Role>,
}

impl TryFrom<TabWire> for TabMessage {
    type Error = &'static str;

    fn try_from(wire: TabWire) -> Result<Self, Self::Error> {
        Ok(match wire.kind {
            TabKind::LoggedIn => match (wire.username, wire.role) {
                (Some(username), Some(role)) => Self::LoggedIn { username, role },
                _ => return Err("logged_in without username and role"),
            },
            TabKind::LoggedOut => Self::LoggedOut,
            TabKind::Expired => Self::Expired,
        })
    }
}

impl TabMessage {
    /// The login message for a session.
    pub fn logged_in(info: &SessionInfo) -> Self {
        Self::LoggedIn {
            username: info.username.clone(),
            role: info.role,
        }
    }
}

/// Sends a message to every other tab (a tab never receives its own messages).
pub fn post(message: &TabMessage) {
    let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) else {
        return;
    };
    if let Ok(text) = serde_json::to_string(message) {
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
                .and_then(|t| serde_json::from_str(&t).ok())
            {
                on_message(message);
            }
        });
    channel.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    // The listener lives as long as the page.
    handler.forget();
    std::mem::forget(channel);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_a_stable_wire_form() {
        let text = serde_json::to_string(&TabMessage::LoggedIn {
            username: "user".into(),
            role: Role::User,
        })
        .unwrap();
        assert_eq!(
            text,
            r#"{"kind":"logged_in","username":"user","role":"user"}"#
        );
        assert_eq!(
            serde_json::to_string(&TabMessage::Expired).unwrap(),
            r#"{"kind":"expired"}"#
        );
    }

    #[test]
    fn messages_read_back_and_odd_ones_are_refused() {
        for message in [
            TabMessage::LoggedIn {
                username: "user".into(),
                role: Role::Admin,
            },
            TabMessage::LoggedOut,
            TabMessage::Expired,
        ] {
            let text = serde_json::to_string(&message).unwrap();
            assert_eq!(serde_json::from_str::<TabMessage>(&text).unwrap(), message);
        }
        for odd in [
            r#"{"kind":"logged_in","username":"user"}"#,
            r#"{"kind":"rebooted"}"#,
            r#"{"username":"user","role":"user"}"#,
        ] {
            assert!(serde_json::from_str::<TabMessage>(odd).is_err(), "{odd}");
        }
    }
}
