//! The 404 page.

use crate::components::page_title::PageTitle;
use leptos::prelude::*;

/// Rendered for unknown paths, with HTTP status 404 when rendered by the server.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <PageTitle text="Page not found · jwt-auth"/>
        <section class="card" aria-labelledby="not-found-title">
            <h1 id="not-found-title">"Page not found"</h1>
            <p>"There is nothing at this address."</p>
            <p><a href="/">"Go to the start page"</a></p>
        </section>
    }
}
