//! The login page.

use crate::api::login;
use crate::client::auth_state::AuthState;
use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};
use leptos_meta::Title;

/// Username/password form. The submit button stays disabled until the WASM has hydrated the
/// page (before that, submitting could only do nothing or a plain form post) and while a login
/// is in flight. Errors from the API appear inline, announced to screen readers.
#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let hydrated = RwSignal::new(false);
    // Effects only run in the browser, after hydration.
    Effect::new(move |_| hydrated.set(true));

    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        pending.set(true);
        error.set(None);
        auth.notice.set(None);
        let (name, pass) = (username.get_untracked(), password.get_untracked());
        spawn_local(async move {
            match login(name, pass).await {
                // The route guard sees the new session and moves on to the secret page.
                Ok(response) => auth.logged_in(response.into()),
                Err(e) => {
                    error.set(Some(e.message));
                    password.set(String::new());
                }
            }
            pending.set(false);
        });
    };

    view! {
        <Title text="Log in · jwt-auth"/>
        <section class="card" aria-labelledby="login-title">
            <h1 id="login-title">"Log in"</h1>
            {move || auth.notice.get().map(|notice| view! {
                <p class="notice" role="status" id="login-notice">{notice}</p>
            })}
            <form method="post" on:submit=on_submit aria-describedby="login-error">
                <label for="username">"Username"</label>
                <input
                    id="username"
                    name="username"
                    type="text"
                    autocomplete="username"
                    autocapitalize="none"
                    spellcheck="false"
                    required
                    autofocus
                    bind:value=username
                />
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                    bind:value=password
                />
                <p class="error" role="alert" id="login-error">{move || error.get()}</p>
                <button type="submit" disabled=move || !hydrated.get() || pending.get()>
                    {move || if pending.get() { "Logging in…" } else { "Log in" }}
                </button>
            </form>
        </section>
    }
}
