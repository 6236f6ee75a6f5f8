//! The 403 page: a logged-in visitor without the role a page needs.

use crate::components::page_title::PageTitle;
use crate::components::require_session::Guarded;
use leptos::prelude::*;

/// The framed 403 page, as the guard renders it. A chunk of its own in split builds: only a
/// visitor without the role ever needs it.
#[cfg_attr(wasm_split, leptos::lazy)]
pub async fn forbidden_page() -> AnyView {
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
