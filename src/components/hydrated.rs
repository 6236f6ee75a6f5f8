//! `Hydrated`: a form's fields, disabled until the WASM has taken over the page.
//!
//! A server-rendered form works only once hydrated: before, a click would post it as a plain
//! HTML form, and whatever was typed would be overwritten by the (empty) signals it binds to.
//! So the fields start disabled and turn on with the first effect, which runs in the browser
//! only; a form rendered in the browser (after a client-side navigation) is enabled at once.

use leptos::prelude::*;

/// The fields of a form, in a `fieldset` that is disabled until the page is hydrated.
#[component]
pub fn Hydrated(children: Children) -> impl IntoView {
    let ready = RwSignal::new(false);
    Effect::new(move |_| ready.set(true));
    view! {
        <fieldset class="plain" disabled=move || !ready.get()>
            {children()}
        </fieldset>
    }
}
