//! The app's reactive view of the session, and how a session ends.
//!
//! On the server it starts from the refresh cookie (see `server::page_session`), and that value is
//! serialised into the page so hydration starts from the same answer. In the browser it then
//! follows logins, logouts, failed refreshes and the other tabs.

use crate::api::SessionInfo;
use crate::client::{tab_sync, token_store};
use crate::model::Role;
use leptos::prelude::*;
use std::{cell::RefCell, fmt, rc::Rc, str::FromStr};

/// Shown on the login page after a refresh failed.
/// The session the server rendered a page for, as hydration carries it into the browser
/// (`SharedValue::new_str`): empty for none, else `role username`. Plain text rather than
/// JSON, so the first-visit WASM needs no serde_json to read it (see `client::js`). Role names
/// have no spaces, so the first space always ends the role, whatever the username holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedSession(pub Option<SessionInfo>);

impl fmt::Display for RenderedSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => Ok(()),
            Some(session) => write!(f, "{} {}", session.role.as_str(), session.username),
        }
    }
}

impl FromStr for RenderedSession {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Ok(Self(None));
        }
        let (role, username) = text.split_once(' ').ok_or("no role")?;
        let role = Role::parse(role).ok_or("unknown role")?;
        if username.is_empty() {
            return Err("no username");
        }
        Ok(Self(Some(SessionInfo {
            username: username.to_owned(),
            role,
        })))
    }
}

pub const EXPIRED_NOTICE: &str = "Your session has expired. Please log in again.";
/// Shown on the login page after logging out in another tab.
pub const LOGGED_OUT_NOTICE: &str = "You have been logged out.";

/// Who is logged in, plus a one-off notice for the login page. Provided as context by `App`.
#[derive(Debug, Clone, Copy)]
pub struct AuthState {
    pub session: RwSignal<Option<SessionInfo>>,
    /// A message for the next visit to the login page.
    pub notice: RwSignal<Option<String>>,
}

impl AuthState {
    /// State starting from what the server saw.
    pub fn new(initial: Option<SessionInfo>) -> Self {
        Self {
            session: RwSignal::new(initial),
            notice: RwSignal::new(None),
        }
    }

    /// Whether someone is logged in (reactive: effects and views re-run when it changes).
    pub fn is_logged_in(&self) -> bool {
        self.session.with(Option::is_some)
    }

    /// Whether someone is logged in right now, without subscribing (guards, redirects).
    pub fn is_logged_in_untracked(&self) -> bool {
        self.session.with_untracked(Option::is_some)
    }

    /// Records a login made in this tab and tells the others.
    pub fn logged_in(&self, session: token_store::StoredSession) {
        let info = session.info();
        token_store::store(session);
        tab_sync::post(&tab_sync::TabMessage::logged_in(&info));
        self.notice.set(None);
        self.session.set(Some(info));
    }
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The user logged out (here or in another tab).
    LoggedOut,
    /// The refresh token was refused.
    Expired,
}

type EndHandler = Rc<dyn Fn(SessionEnd)>;

thread_local! {
    static ON_END: RefCell<Option<EndHandler>> = const { RefCell::new(None) };
}

/// Registers what the app does when a session ends (set by `App` in the browser).
pub fn on_session_end(handler: impl Fn(SessionEnd) + 'static) {
    ON_END.with(|slot| *slot.borrow_mut() = Some(Rc::new(handler)));
}

/// Ends the session in this tab: forget the token, tell the other tabs when `broadcast`, and
/// let the app show the login page.
pub fn session_ended(reason: SessionEnd, broadcast: bool) {
    token_store::clear();
    if broadcast {
        tab_sync::post(&match reason {
            SessionEnd::LoggedOut => tab_sync::TabMessage::LoggedOut,
            SessionEnd::Expired => tab_sync::TabMessage::Expired,
        });
    }
    if let Some(handler) = ON_END.with(|slot| slot.borrow().clone()) {
        handler(reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rendered_session_survives_its_text_form() {
        for session in [
            None,
            Some(SessionInfo {
                username: "user".into(),
                role: Role::User,
            }),
            Some(SessionInfo {
                username: "ädmin:\"x y\"".into(),
                role: Role::Admin,
            }),
        ] {
            let text = RenderedSession(session.clone()).to_string();
            assert_eq!(
                text.parse::<RenderedSession>(),
                Ok(RenderedSession(session))
            );
        }
        for odd in ["user", "root someone", "admin ", " user"] {
            assert!(odd.parse::<RenderedSession>().is_err(), "{odd:?}");
        }
    }
}
