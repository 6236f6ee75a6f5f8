//! The protected page. It is a lazy route: in a split build its view is compiled into a
//! separate WASM chunk that only a logged-in visitor downloads.

use crate::api::secret_number;
use crate::client::auth_state::AuthState;
use crate::components::page_title::PageTitle;
use leptos::prelude::*;

/// Route data for the lazy secret page (none: the number is fetched by the view).
#[derive(Debug, Clone, Copy)]
pub struct SecretRoute;

lazy_page!(SecretRoute => SecretNumberPage);

/// Shows the user, a server-generated random number and a button for another one (logging out
/// is in the navigation).
/// Numbers come from `GET /api/secret-number` through the bearer-token client; every click is
/// its own request, and the latest answer is shown.
#[component]
fn SecretNumberPage() -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let draw = Action::new(|_: &()| secret_number());
    // First number as soon as the page runs in the browser (the server has no access token).
    Effect::new(move |_| {
        draw.dispatch(());
    });
    // After a route change, move focus to the page's heading so keyboard and screen-reader
    // users start at the new content instead of on a button of the previous page.
    let heading = NodeRef::<leptos::html::H1>::new();
    Effect::new(move |_| {
        if let Some(heading) = heading.get() {
            let _ = heading.focus();
        }
    });
    let user = move || auth.session.get().map(|s| (s.username, s.role.to_string()));
    view! {
        <PageTitle text="Secret number · jwt-auth"/>
        <section class="card" aria-labelledby="secret-title">
            <p class="who">
                "Logged in as "
                <strong id="username">{move || user().map(|u| u.0)}</strong>
                " · role "
                <span class="role" id="role">{move || user().map(|u| u.1)}</span>
            </p>
            <h1 id="secret-title" tabindex="-1" node_ref=heading>"Your secret number"</h1>
            <div class="result" aria-live="polite">
                {move || match draw.value().get() {
                    None => view! { <p class="loading" role="status">"Loading…"</p> }.into_any(),
                    Some(Ok(number)) => view! {
                        <p class="secret" id="secret-number">
                            "Very secret random number: " <strong id="secret-value">{number.value}</strong>
                        </p>
                    }.into_any(),
                    Some(Err(e)) => view! { <p class="error" role="alert" id="secret-error">{e.message}</p> }.into_any(),
                }}
            </div>
            <div class="actions">
                <button type="button" id="new-number" on:click=move |_| { draw.dispatch(()); }>
                    {move || if draw.pending().get() { "Loading…" } else { "New number" }}
                </button>
            </div>
        </section>
    }
}
