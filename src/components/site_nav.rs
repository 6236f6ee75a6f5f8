//! `SiteNav`: the header of every guarded page (secret number · account · admin for
//! administrators · who is logged in · log out).

use crate::api::logout;
use crate::client::auth_state::{self, AuthState, SessionEnd};
use crate::model::Role;
use crate::routes;
use leptos::{prelude::*, task::spawn_local};
use leptos_router::components::A;

/// The navigation bar; the current page's link is marked `aria-current="page"`.
#[component]
pub fn SiteNav() -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let is_admin = move || {
        auth.session
            .with(|s| s.as_ref().is_some_and(|s| s.role == Role::Admin))
    };
    let username = move || {
        auth.session
            .with(|s| s.as_ref().map(|s| s.username.clone()))
    };
    let error = RwSignal::new(None::<String>);
    let leaving = RwSignal::new(false);
    let on_logout = move |_| {
        leaving.set(true);
        error.set(None);
        spawn_local(async move {
            match logout().await {
                Ok(()) => auth_state::session_ended(SessionEnd::LoggedOut, true),
                Err(e) => error.set(Some(e.message)),
            }
            leaving.set(false);
        });
    };
    view! {
        <nav class="site-nav" aria-label="Main">
            <A href=routes::SECRET>"Secret number"</A>
            <A href=routes::ACCOUNT>"Account"</A>
            {move || is_admin().then(|| view! { <A href=routes::ADMIN>"Admin"</A> })}
            <span class="nav-user" id="nav-user">{username}</span>
            <button
                type="button"
                class="secondary"
                id="logout"
                on:click=on_logout
                disabled=move || leaving.get()
            >
                "Log out"
            </button>
        </nav>
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
    }
}
