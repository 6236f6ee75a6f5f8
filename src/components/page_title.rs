//! `PageTitle`: the document title of a page.
//!
//! The server renders it into `<head>` with `leptos_meta` (its `MetaTags` sit in the shell);
//! the browser only sets `document.title` when a page mounts. `leptos_meta`'s own client half
//! (hydrating head elements) would add several KB to the WASM every first visit downloads,
//! for a title that is already in the HTML.

use leptos::prelude::*;

/// Sets the title of the page it is rendered on. Both sides render the same empty placeholder
/// (`()`), so hydration finds what it expects; `leptos_meta`'s title itself writes nothing
/// into the body.
#[component]
pub fn PageTitle(text: &'static str) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        (view! { <leptos_meta::Title text/> }, ())
    }
    #[cfg(not(feature = "ssr"))]
    {
        Effect::new(move |_| document().set_title(text));
    }
}
