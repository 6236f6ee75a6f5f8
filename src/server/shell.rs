//! The HTML document around the app, rendered by the server for every page: the `<head>`
//! (stylesheet, hydration scripts, the page's title), the Content-Security-Policy, and the
//! session the page was rendered for, handed to the app through context.

use crate::app::App;
use crate::client::auth_state::RenderedSession;
use crate::server::page_session::PageSession;
use leptos::prelude::*;

/// The document. Runs inside leptos_axum's request context (pages and the not-found fallback).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    crate::server::csp::apply(&options);
    let session = use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<PageSession>().cloned())
        .and_then(|session| session.0);
    provide_context(RenderedSession(session));
    let features = crate::server::extract::state()
        .map(|state| state.auth.features())
        .unwrap_or_default();
    provide_context(features);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <link rel="stylesheet" id="leptos" href="/pkg/jwt-auth.css"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <leptos_meta::MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}
