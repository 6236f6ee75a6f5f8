//! `SessionSync`: the browser-side bookkeeping of the session (renders nothing).
//!
//! - drops a stored access token that does not belong to the session the server saw;
//! - when a session ends (logout, failed refresh, another tab), records the notice the login page
//!   shows (leaving a protected page is the guard's job, see `RequireSession`);
//! - follows the other tabs (BroadcastChannel) and the token mirror (`storage` events).

use crate::api::SessionInfo;
use crate::client::{
    auth_state::{self, AuthState, SessionEnd, EXPIRED_NOTICE, LOGGED_OUT_NOTICE},
    tab_sync::{self, TabMessage},
    token_store,
};
use leptos::prelude::*;

/// Installs the listeners once, in the browser (effects do not run on the server).
#[component]
pub fn SessionSync() -> impl IntoView {
    let auth = expect_context::<AuthState>();

    // Reads nothing reactively, so it runs once.
    Effect::new(move |_| {
        let server_view = auth.session.get_untracked();
        let stored = token_store::current();
        if stored.as_ref().map(|s| &s.username) != server_view.as_ref().map(|s| &s.username) {
            // A token left over from another session (or none at all): the server's cookie is
            // the authority. Without a token, the first API call will refresh one.
            token_store::clear();
        }
        auth_state::on_session_end(move |reason| {
            auth.notice.set(Some(
                match reason {
                    SessionEnd::Expired => EXPIRED_NOTICE,
                    SessionEnd::LoggedOut => LOGGED_OUT_NOTICE,
                }
                .to_owned(),
            ));
            auth.session.set(None);
        });
        tab_sync::listen(move |message| match message {
            TabMessage::LoggedIn { username, role } => {
                token_store::reload();
                auth.notice.set(None);
                auth.session.set(Some(SessionInfo { username, role }));
            }
            TabMessage::LoggedOut => auth_state::session_ended(SessionEnd::LoggedOut, false),
            TabMessage::Expired => auth_state::session_ended(SessionEnd::Expired, false),
        });
    });

    // Keep the in-memory token in step with the localStorage mirror written by other tabs.
    let storage_listener = window_event_listener(leptos::ev::storage, |event| {
        if event.key().as_deref() == Some(token_store::STORAGE_KEY) {
            token_store::reload();
        }
    });
    on_cleanup(move || storage_listener.remove());
}
