//! `RequireSession`: the guard in front of every protected route view.
//!
//! Leptos' `ProtectedRoute` takes a plain view function, and a parent guard would not stop the
//! router from preloading a lazy child's WASM chunk: the nested router loads every matched level
//! at once. This wrapper implements `ChooseView` itself, so the check runs first: without a
//! session the chunk is never requested (neither `preload` nor `choose` reach it) and a
//! `<Redirect>` is rendered instead, which during SSR becomes a `302`.
//!
//! It also owns the other direction: when the session ends while a guarded page is open (logout
//! in another tab, a refused refresh), the page leaves for the login page. A new protected route
//! is therefore one line: `view=RequireSession::new(Lazy::<MyRoute>::new())`.

use crate::client::auth_state::AuthState;
use crate::routes;
use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_navigate, ChooseView};

/// Wraps a route view; without a session, redirects to the login page.
#[derive(Debug, Clone)]
pub struct RequireSession<V> {
    view: V,
}

impl<V> RequireSession<V> {
    /// Guards `view`.
    pub fn new(view: V) -> Self {
        Self { view }
    }
}

fn has_session() -> bool {
    use_context::<AuthState>().is_some_and(|auth| auth.is_logged_in_untracked())
}

impl<V: ChooseView> ChooseView for RequireSession<V> {
    async fn choose(self) -> AnyView {
        if has_session() {
            let page = self.view.choose().await;
            view! { <LeaveWhenSessionEnds/> {page} }.into_any()
        } else {
            view! { <Redirect path=routes::LOGIN/> }.into_any()
        }
    }

    async fn preload(&self) {
        if has_session() {
            self.view.preload().await;
        }
    }
}

/// Sends the visitor to the login page once the session is gone (renders nothing).
#[component]
fn LeaveWhenSessionEnds() -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if !auth.is_logged_in() {
            navigate(routes::LOGIN, Default::default());
        }
    });
}
