//! The login page: the password, then, for an account with TOTP, the code (or a recovery
//! code) in a second step on the same page.

use crate::api::{login_mfa, ErrorCode, LoginResponse, Secret};
use crate::client::auth_state::AuthState;
use crate::client::login::login;
use crate::components::page_title::PageTitle;
use crate::model::{SignupMode, SiteFeatures};
use crate::routes;
use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};

/// Username/password form, and the second step when the account asks for one. The submit
/// button stays disabled until the WASM has hydrated the page (before that, submitting could
/// only do nothing or a plain form post) and while a request is in flight. Errors from the API
/// appear inline, announced to screen readers.
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
    // The second step's challenge, once the password was right.
    let challenge = RwSignal::new(None::<String>);

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
            match login(&name, &pass).await {
                // The route guard sees the new session and moves on to the secret page.
                Ok(LoginResponse::Token(response)) => auth.logged_in(response.into()),
                Ok(LoginResponse::Mfa(required)) => {
                    password.set(String::new());
                    challenge.set(Some(required.challenge));
                }
                Err(message) => {
                    error.set(Some(message));
                    password.set(String::new());
                }
            }
            pending.set(false);
        });
    };

    view! {
        <PageTitle text="Log in · jwt-auth"/>
        <section class="card" aria-labelledby="login-title">
            <h1 id="login-title">"Log in"</h1>
            {move || auth.notice.get().map(|notice| view! {
                <p class="notice" role="status" id="login-notice">{notice}</p>
            })}
            <Show
                when=move || challenge.with(Option::is_some)
                fallback=move || view! {
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
                    <AccountLinks/>
                }
            >
                {move || Suspend::new(second_step(challenge, error))}
            </Show>
        </section>
    }
}

/// "Forgot your password?" when this server can mail a reset link, "Create an account" when
/// anyone may sign up (the server decides, see `SiteFeatures`).
#[component]
fn AccountLinks() -> impl IntoView {
    let features = use_context::<SiteFeatures>().unwrap_or_default();
    let open = features.signup == SignupMode::Open;
    (features.password_reset || open).then(|| {
        view! {
            <p class="switch" id="account-links">
                {features.password_reset.then(|| view! {
                    <a href=routes::FORGOT_PASSWORD>"Forgot your password?"</a>
                })}
                {(features.password_reset && open).then_some(" · ")}
                {open.then(|| view! { <a href=routes::SIGNUP>"Create an account"</a> })}
            </p>
        }
    })
}

/// The code step. A chunk of its own in split builds: most logins never need it, so the first
/// visit to `/login` does not download it (a few KB, fetched when the password was right).
#[cfg_attr(wasm_split, leptos::lazy)]
async fn second_step(
    challenge: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
) -> AnyView {
    view! { <SecondStep challenge error/> }.into_any()
}

/// The code step: one input, for an authenticator code or (after the link) a recovery code.
#[component]
fn SecondStep(
    challenge: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let code = RwSignal::new(String::new());
    let recovery = RwSignal::new(false);
    let pending = RwSignal::new(false);
    let input = NodeRef::<leptos::html::Input>::new();
    // Focus the code field when the step appears and when it switches kind.
    Effect::new(move |_| {
        recovery.track();
        if let Some(input) = input.get() {
            let _ = input.focus();
        }
    });
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        let Some(current) = challenge.get_untracked() else {
            return;
        };
        if pending.get_untracked() {
            return;
        }
        pending.set(true);
        error.set(None);
        let typed = code.get_untracked().trim().to_owned();
        let (totp, recovery_code) = if recovery.get_untracked() {
            (None, Some(typed))
        } else {
            (Some(typed), None)
        };
        spawn_local(async move {
            let (current, totp, recovery_code) = (
                current.into(),
                totp.map(Secret::from),
                recovery_code.map(Secret::from),
            );
            match login_mfa(current, totp, recovery_code).await {
                Ok(response) => auth.logged_in(response.into()),
                Err(e) if e.error == ErrorCode::InvalidChallenge => {
                    // Too late or too many tries: back to the password.
                    challenge.set(None);
                    error.set(Some(e.message));
                }
                Err(e) => {
                    code.set(String::new());
                    error.set(Some(e.message));
                }
            }
            pending.set(false);
        });
    };
    let toggle = move |event: leptos::ev::MouseEvent| {
        event.prevent_default();
        code.set(String::new());
        error.set(None);
        recovery.update(|r| *r = !*r);
    };
    view! {
        <form on:submit=on_submit aria-describedby="login-error" id="mfa-form">
            <p class="hint">
                {move || if recovery.get() {
                    "Enter one of the recovery codes you saved when you set up two-factor authentication."
                } else {
                    "Enter the 6-digit code from your authenticator app."
                }}
            </p>
            {move || if recovery.get() {
                view! {
                    <label for="recovery-code">"Recovery code"</label>
                    <input
                        id="recovery-code"
                        type="text"
                        autocomplete="off"
                        autocapitalize="characters"
                        spellcheck="false"
                        required
                        node_ref=input
                        bind:value=code
                    />
                }
                .into_any()
            } else {
                view! {
                    <label for="otp-code">"Authentication code"</label>
                    <input
                        id="otp-code"
                        type="text"
                        autocomplete="one-time-code"
                        inputmode="numeric"
                        pattern="[0-9]{6}"
                        maxlength="6"
                        required
                        node_ref=input
                        bind:value=code
                    />
                }
                .into_any()
            }}
            <p class="error" role="alert" id="login-error">{move || error.get()}</p>
            <button type="submit" disabled=move || pending.get()>
                {move || if pending.get() { "Checking…" } else { "Verify" }}
            </button>
            <p class="switch">
                <a href="#" id="toggle-recovery" on:click=toggle>
                    {move || if recovery.get() { "Use an authenticator code" } else { "Use a recovery code" }}
                </a>
            </p>
        </form>
    }
}
