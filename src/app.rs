//! The router and its guards (the paths and who may see them: [`crate::routes`]).
//!
//! Guards read [`AuthState`], which starts from the session the server rendered the page for
//! (the document around the app, `server::shell`, provides it as a [`RenderedSession`] context
//! from the refresh cookie). Guarded routes render with `SsrMode::Async`, so a first load that
//! fails its guard is answered with a real `302` before any protected HTML is sent.

use crate::client::auth_state::{AuthState, RenderedSession};
use crate::components::{require_session::RequireSession, session_sync::SessionSync};
use crate::model::SiteFeatures;
use crate::pages::{
    account::AccountRoute,
    admin::AdminRoute,
    login::LoginPage,
    not_found::NotFound,
    recovery::{ForgotPasswordRoute, ResetPasswordRoute},
    secret_number::SecretRoute,
    signup::{SignupRoute, VerifyEmailRoute},
};
use crate::routes;
use leptos::prelude::*;
use leptos_router::{
    components::{ProtectedRoute, Redirect, Route, Router, Routes},
    Lazy, SsrMode, StaticSegment,
};

/// A route path from [`crate::routes`] (the router's `path!` macro only takes literals).
fn at(path: &'static str) -> (StaticSegment<&'static str>,) {
    (StaticSegment(path),)
}

/// The application.
#[component]
pub fn App() -> impl IntoView {
    // Page titles are rendered into <head> by the server only (see `PageTitle`).
    #[cfg(feature = "ssr")]
    leptos_meta::provide_meta_context();
    // Computed on the server and serialised into the page, so hydration starts from the same
    // session the server rendered for.
    // (The closure runs on the server only; the browser reads the value from the page.)
    let rendered =
        SharedValue::new_str(|| use_context::<RenderedSession>().unwrap_or(RenderedSession(None)));
    let auth = AuthState::new(rendered.into_inner().0);
    provide_context(auth);
    // What the login page links to (sign-up, password reset), decided by the server.
    let features =
        SharedValue::new_str(|| use_context::<SiteFeatures>().unwrap_or_default()).into_inner();
    provide_context(features);

    view! {
        <Router>
            <SessionSync/>
            <main>
                <Routes fallback=NotFound>
                    <Route path=at(routes::ROOT) view=RootRedirect ssr=SsrMode::Async/>
                    <ProtectedRoute
                        path=at(routes::LOGIN)
                        view=LoginPage
                        condition=move || Some(!auth.is_logged_in())
                        redirect_path=|| routes::HOME
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=at(routes::SECRET)
                        view=RequireSession::new(Lazy::<SecretRoute>::new())
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=at(routes::ACCOUNT)
                        view=RequireSession::new(Lazy::<AccountRoute>::new())
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=at(routes::ADMIN)
                        view=RequireSession::admin(Lazy::<AdminRoute>::new())
                        ssr=SsrMode::Async
                    />
                    <Route path=at(routes::SIGNUP) view={Lazy::<SignupRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=at(routes::VERIFY_EMAIL) view={Lazy::<VerifyEmailRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=at(routes::FORGOT_PASSWORD) view={Lazy::<ForgotPasswordRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=at(routes::RESET_PASSWORD) view={Lazy::<ResetPasswordRoute>::new()} ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// `/`: straight to whichever page applies.
#[component]
fn RootRedirect() -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let target = if auth.is_logged_in_untracked() {
        routes::HOME
    } else {
        routes::LOGIN
    };
    view! { <Redirect path=target/> }
}
