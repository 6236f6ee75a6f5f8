//! `RequireSession`: a route guard in front of a (lazy) route view.
//!
//! Leptos' `ProtectedRoute` takes a plain view function, and a parent guard would not stop the
//! router from preloading a lazy child's WASM chunk: the nested router loads every matched level
//! at once. This wrapper implements `ChooseView` itself, so the check runs first: without a
//! session the chunk is never requested (neither `preload` nor `choose` reach it) and a
//! `<Redirect>` is rendered instead, which during SSR becomes a `302`.

use crate::client::auth_state::AuthState;
use leptos::prelude::*;
use leptos_router::{components::Redirect, ChooseView};

/// Wraps `view`; without a session, redirects to `redirect_to`.
#[derive(Debug, Clone)]
pub struct RequireSession<V> {
    view: V,
    redirect_to: &'static str,
}

impl<V> RequireSession<V> {
    /// Guards `view`.
    pub fn new(view: V, redirect_to: &'static str) -> Self {
        Self { view, redirect_to }
    }
}

fn has_session() -> bool {
    use_context::<AuthState>().is_some_and(|auth| auth.session.with_untracked(Option::is_some))
}

impl<V: ChooseView> ChooseView for RequireSession<V> {
    async fn choose(self) -> AnyView {
        if has_session() {
            self.view.choose().await
        } else {
            let path = self.redirect_to;
            view! { <Redirect path=path/> }.into_any()
        }
    }

    async fn preload(&self) {
        if has_session() {
            self.view.preload().await;
        }
    }
}
