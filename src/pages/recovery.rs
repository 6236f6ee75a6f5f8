//! `/forgot-password` (ask for a reset link) and `/reset-password` (a reset link: `?token=`).
//! Public lazy routes.

use crate::api::signup::{forgot_password, reset_password};
use crate::client::auth_state::{self, AuthState, SessionEnd};
use crate::components::{hydrated::Hydrated, page_title::PageTitle};
use crate::model::SiteFeatures;
use crate::routes;
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::hooks::use_query_map;

/// Route data for the lazy "forgot password" page.
#[derive(Debug, Clone, Copy)]
pub struct ForgotPasswordRoute;

lazy_page!(public ForgotPasswordRoute => ForgotPasswordPage);

/// Route data for the lazy reset page.
#[derive(Debug, Clone, Copy)]
pub struct ResetPasswordRoute;

lazy_page!(public ResetPasswordRoute => ResetPasswordPage);

#[component]
fn ForgotPasswordPage() -> impl IntoView {
    let features = use_context::<SiteFeatures>().unwrap_or_default();
    let email = RwSignal::new(String::new());
    let ask = Action::new(|email: &String| forgot_password(email.clone()));
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        ask.dispatch(email.get_untracked());
    };
    let pending = ask.pending();
    let sent = move || matches!(ask.value().get(), Some(Ok(_)));
    view! {
        <PageTitle text="Forgot your password? · jwt-auth"/>
        <section class="card" aria-labelledby="forgot-title">
            <h1 id="forgot-title">"Forgot your password?"</h1>
            <Show
                when=move || features.password_reset
                fallback=|| view! {
                    <p class="notice" role="status" id="forgot-unavailable">
                        "Password reset by e-mail is not available here. Ask an administrator."
                    </p>
                }
            >
                <Show
                    when=move || !sent()
                    fallback=move || view! {
                        <p class="notice" role="status" id="forgot-done">
                            "If an account has the address " <strong>{move || email.get()}</strong>
                            ", a link to choose a new password is on its way. It works once, for a short while."
                        </p>
                    }
                >
                    <form on:submit=on_submit id="forgot-form" aria-describedby="forgot-error">
                        <Hydrated>
                        <p class="hint">"Enter your account's e-mail address: we will mail you a link to choose a new password."</p>
                        <label for="forgot-email">"E-mail address"</label>
                        <input id="forgot-email" type="email" autocomplete="email" required bind:value=email/>
                        <p class="error" role="alert" id="forgot-error">
                            {move || ask.value().get().and_then(Result::err).map(|e| e.message)}
                        </p>
                        <button type="submit" disabled=pending>
                            {move || if pending.get() { "Sending…" } else { "Send a reset link" }}
                        </button>
                        </Hydrated>
                    </form>
                </Show>
            </Show>
            <p class="switch"><a href=routes::LOGIN>"Back to log in"</a></p>
        </section>
    }
}

#[component]
fn ResetPasswordPage() -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let query = use_query_map();
    let token = Memo::new(move |_| query.with(|q| q.get("token")).unwrap_or_default());
    let (password, repeat) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let mismatch = RwSignal::new(false);
    let set = Action::new(|(token, password): &(String, String)| {
        reset_password(token.clone().into(), password.clone().into())
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = set.value().get() {
            password.set(String::new());
            repeat.set(String::new());
            // Every session of the account has ended, this browser's too.
            if auth.is_logged_in_untracked() {
                auth_state::session_ended(SessionEnd::LoggedOut, true);
            }
        }
    });
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        mismatch.set(password.get_untracked() != repeat.get_untracked());
        if !mismatch.get_untracked() {
            set.dispatch((token.get_untracked(), password.get_untracked()));
        }
    };
    let error = move || {
        if mismatch.get() {
            return Some("The passwords do not match.".to_owned());
        }
        set.value().get().and_then(Result::err).map(|e| e.message)
    };
    let pending = set.pending();
    let done = move || matches!(set.value().get(), Some(Ok(())));
    view! {
        <PageTitle text="Choose a new password · jwt-auth"/>
        <section class="card" aria-labelledby="reset-title">
            <h1 id="reset-title">"Choose a new password"</h1>
            <Show
                when=move || !done()
                fallback=|| view! {
                    <p class="notice" role="status" id="reset-done">
                        "Your new password is set, and every device was logged out."
                    </p>
                    <p class="switch"><a href=routes::LOGIN>"Log in"</a></p>
                }
            >
                <form on:submit=on_submit id="reset-form" aria-describedby="reset-error">
                    <Hydrated>
                    <label for="reset-password">"New password"</label>
                    <input
                        id="reset-password"
                        type="password"
                        autocomplete="new-password"
                        minlength="12"
                        required
                        aria-describedby="reset-rules"
                        bind:value=password
                    />
                    <label for="reset-repeat">"New password, again"</label>
                    <input id="reset-repeat" type="password" autocomplete="new-password" required bind:value=repeat/>
                    <p class="hint" id="reset-rules">
                        "At least 12 characters and hard to guess: a few unrelated words work well."
                    </p>
                    <p class="error" role="alert" id="reset-error">{error}</p>
                    <button type="submit" disabled=pending>
                        {move || if pending.get() { "Saving…" } else { "Set the new password" }}
                    </button>
                    {move || token.with(String::is_empty).then(|| view! {
                        <p class="hint">"This page needs the link from the mail. " <a href=routes::FORGOT_PASSWORD>"Ask for one"</a></p>
                    })}
                    </Hydrated>
                </form>
            </Show>
        </section>
    }
}
