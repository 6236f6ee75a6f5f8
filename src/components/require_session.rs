//! `RequireSession`: the guard in front of every protected route view.
//!
//! Leptos' `ProtectedRoute` takes a plain view function, and a parent guard would not stop the
//! router from preloading a lazy child's WASM chunk: the nested router loads every matched level
//! at once. This wrapper implements `ChooseView` itself, so the check runs first: without a
//! session the chunk is never requested (neither `preload` nor `choose` reach it) and a
//! `<Redirect>` is rendered instead, which during SSR becomes a `302`; a logged-in visitor
//! without the required role gets the 403 page, again without the chunk.
//!
//! It also owns the other direction: when the session ends while a guarded page is open (logout
//! in another tab, a refused refresh), the page leaves for the login page ([`Guarded`]), and it
//! frames every guarded page with the site navigation. Both live inside the lazy chunks (the
//! `lazy_page!` view and the lazy 403 page): a first visit to `/login` downloads none of it.
//! A new protected route is therefore one line: `view=RequireSession::new(Lazy::<MyRoute>::new())`.
//!
//! The guard owns its 403 page ([`Forbidden`]), so guard and page do not import each other.

use crate::client::auth_state::AuthState;
use crate::components::page_title::PageTitle;
use crate::components::reauth_dialog::ReauthDialog;
use crate::components::site_nav::SiteNav;
use crate::model::Role;
use crate::routes;
use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_navigate, ChooseView};

/// Who may see the guarded view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Anyone logged in.
    Session,
    /// Logged in with this role.
    Role(Role),
}

/// Wraps a route view; without a session, redirects to the login page.
#[derive(Debug, Clone)]
pub struct RequireSession<V> {
    view: V,
    access: Access,
}

impl<V> RequireSession<V> {
    /// Guards `view`: any logged-in user.
    pub fn new(view: V) -> Self {
        Self {
            view,
            access: Access::Session,
        }
    }

    /// Guards `view`: administrators only.
    pub fn admin(view: V) -> Self {
        Self {
            view,
            access: Access::Role(Role::Admin),
        }
    }
}

/// What the guard decides right now.
enum Verdict {
    Allowed,
    NoSession,
    WrongRole,
}

fn verdict(access: Access) -> Verdict {
    let role = use_context::<AuthState>()
        .and_then(|auth| auth.session.with_untracked(|s| s.as_ref().map(|s| s.role)));
    match (role, access) {
        (None, _) => Verdict::NoSession,
        (Some(_), Access::Session) => Verdict::Allowed,
        (Some(have), Access::Role(need)) if have == need => Verdict::Allowed,
        (Some(_), Access::Role(_)) => Verdict::WrongRole,
    }
}

impl<V: ChooseView> ChooseView for RequireSession<V> {
    async fn choose(self) -> AnyView {
        match verdict(self.access) {
            // The page brings its own frame (`lazy_page!`).
            Verdict::Allowed => self.view.choose().await,
            Verdict::WrongRole => forbidden_page().await,
            Verdict::NoSession => view! { <Redirect path=routes::LOGIN/> }.into_any(),
        }
    }

    async fn preload(&self) {
        if matches!(verdict(self.access), Verdict::Allowed) {
            self.view.preload().await;
        }
    }
}

/// A guarded page: the navigation above its content, and a move to the login page once the
/// session is gone.
#[component]
pub fn Guarded(children: Children) -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if !auth.is_logged_in() {
            navigate(routes::LOGIN, Default::default());
        }
    });
    view! {
        <div class="page">
            <SiteNav/>
            {children()}
            <ReauthDialog/>
        </div>
    }
}

/// The framed 403 page, as the guard renders it. A chunk of its own in split builds: only a
/// visitor without the role ever needs it.
#[cfg_attr(wasm_split, leptos::lazy)]
async fn forbidden_page() -> AnyView {
    view! { <Guarded><Forbidden/></Guarded> }.into_any()
}

/// Rendered in place of a page that needs another role, with HTTP status 403 when rendered by
/// the server.
#[component]
pub fn Forbidden() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::FORBIDDEN);
    }
    view! {
        <PageTitle text="Not allowed · jwt-auth"/>
        <section class="card" aria-labelledby="forbidden-title">
            <h1 id="forbidden-title">"You need the admin role"</h1>
            <p>"This page is for administrators. Your account does not have that role."</p>
        </section>
    }
}
