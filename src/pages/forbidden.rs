//! The 403 page: a logged-in visitor without the role a page needs.

use leptos::prelude::*;
use leptos_meta::Title;

/// Rendered in place of a page that needs another role, with HTTP status 403 when rendered by
/// the server.
#[component]
pub fn Forbidden() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::FORBIDDEN);
    }
    view! {
        <Title text="Not allowed · jwt-auth"/>
        <section class="card" aria-labelledby="forbidden-title">
            <h1 id="forbidden-title">"You need the admin role"</h1>
            <p>"This page is for administrators. Your account does not have that role."</p>
        </section>
    }
}
