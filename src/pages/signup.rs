//! `/signup` (an open sign-up, or an invitation's link: `?invite=`) and `/verify-email` (a
//! verification link: `?token=`). Public lazy routes: the first visit to `/login` downloads
//! none of this.

use crate::api::signup::{resend_verification, signup, verify_email, SignupResponse};
use crate::api::ApiError;
use crate::client::auth_state::AuthState;
use crate::components::{hydrated::Hydrated, page_title::PageTitle};
use crate::model::{SignupMode, SiteFeatures};
use crate::routes;
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::hooks::{use_navigate, use_query_map};

/// Route data for the lazy sign-up page.
#[derive(Debug, Clone, Copy)]
pub struct SignupRoute;

lazy_page!(public SignupRoute => SignupPage);

/// Route data for the lazy verification page.
#[derive(Debug, Clone, Copy)]
pub struct VerifyEmailRoute;

lazy_page!(public VerifyEmailRoute => VerifyEmailPage);

/// What a sign-up form sends.
#[derive(Clone)]
struct SignupForm {
    username: String,
    email: Option<String>,
    password: String,
    invite: Option<String>,
}

#[component]
fn SignupPage() -> impl IntoView {
    let features = use_context::<SiteFeatures>().unwrap_or_default();
    let query = use_query_map();
    let invite = Memo::new(move |_| query.with(|q| q.get("invite")).filter(|i| !i.is_empty()));
    let open = features.signup == SignupMode::Open;
    let offered = move || invite.with(Option::is_some) || open;
    view! {
        <PageTitle text="Sign up · jwt-auth"/>
        <section class="card" aria-labelledby="signup-title">
            <h1 id="signup-title">"Create an account"</h1>
            <Show
                when=offered
                fallback=|| view! {
                    <p class="notice" role="status" id="signup-closed">
                        "Sign-up is closed here. Ask an administrator for an invitation."
                    </p>
                    <p class="switch"><a href=routes::LOGIN>"Back to log in"</a></p>
                }
            >
                <SignupFormView invite/>
            </Show>
        </section>
    }
}

#[component]
fn SignupFormView(invite: Memo<Option<String>>) -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let navigate = use_navigate();
    let (username, email, password, repeat) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let mismatch = RwSignal::new(false);
    let send = Action::new(|form: &SignupForm| {
        let form = form.clone();
        async move {
            signup(
                form.username,
                form.password.into(),
                form.email,
                form.invite.map(Into::into),
            )
            .await
        }
    });
    let sent_to = RwSignal::new(None::<String>);
    Effect::new(move |_| match send.value().get() {
        Some(Ok(SignupResponse::Token(token))) => {
            auth.logged_in(token.into());
            navigate(routes::HOME, Default::default());
        }
        Some(Ok(SignupResponse::Accepted(_))) => {
            sent_to.set(Some(email.get_untracked()));
            password.set(String::new());
            repeat.set(String::new());
        }
        _ => {}
    });
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        mismatch.set(password.get_untracked() != repeat.get_untracked());
        if mismatch.get_untracked() {
            return;
        }
        let invited = invite.get_untracked();
        send.dispatch(SignupForm {
            username: username.get_untracked(),
            email: invited.is_none().then(|| email.get_untracked()),
            password: password.get_untracked(),
            invite: invited,
        });
    };
    let error = move || {
        if mismatch.get() {
            return Some("The passwords do not match.".to_owned());
        }
        send.value()
            .get()
            .and_then(Result::err)
            .map(|e: ApiError| e.message)
    };
    let pending = send.pending();
    view! {
        <Show
            when=move || sent_to.with(Option::is_none)
            fallback=move || view! {
                <p class="notice" role="status" id="signup-done">
                    "Check your mail: we sent a link to " <strong>{move || sent_to.get()}</strong>
                    ". Open it to finish, then log in."
                </p>
                <p class="switch"><a href=routes::LOGIN>"Log in"</a></p>
            }
        >
            <form on:submit=on_submit id="signup-form" aria-describedby="signup-error">
                <Hydrated>
                {move || invite.with(Option::is_some).then(|| view! {
                    <p class="hint" id="signup-invited">
                        "You were invited: choose a username and a password."
                    </p>
                })}
                <label for="signup-username">"Username"</label>
                <input
                    id="signup-username"
                    type="text"
                    autocomplete="username"
                    autocapitalize="none"
                    spellcheck="false"
                    required
                    bind:value=username
                />
                {move || invite.with(Option::is_none).then(|| view! {
                    <label for="signup-email">"E-mail address"</label>
                    <input id="signup-email" type="email" autocomplete="email" required bind:value=email/>
                })}
                <label for="signup-password">"Password"</label>
                <input
                    id="signup-password"
                    type="password"
                    autocomplete="new-password"
                    minlength="12"
                    required
                    aria-describedby="signup-rules"
                    bind:value=password
                />
                <label for="signup-repeat">"Password, again"</label>
                <input id="signup-repeat" type="password" autocomplete="new-password" required bind:value=repeat/>
                <p class="hint" id="signup-rules">
                    "At least 12 characters and hard to guess: a few unrelated words work well."
                </p>
                <p class="error" role="alert" id="signup-error">{error}</p>
                <button type="submit" disabled=pending>
                    {move || if pending.get() { "Signing up…" } else { "Sign up" }}
                </button>
                </Hydrated>
            </form>
            <p class="switch">"Already have an account? " <a href=routes::LOGIN>"Log in"</a></p>
        </Show>
    }
}

/// Where verification stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verification {
    /// No token in the link: only the resend form.
    NoToken,
    Checking,
    Done,
    Failed(String),
}

#[component]
fn VerifyEmailPage() -> impl IntoView {
    let query = use_query_map();
    let token = query
        .with_untracked(|q| q.get("token"))
        .filter(|t| !t.is_empty());
    let state = RwSignal::new(if token.is_some() {
        Verification::Checking
    } else {
        Verification::NoToken
    });
    // In the browser only, once: a link scanner that fetches the page verifies nothing.
    Effect::new(move |_| {
        if let Some(token) = token.clone() {
            leptos::task::spawn_local(async move {
                state.set(match verify_email(token.into()).await {
                    Ok(()) => Verification::Done,
                    Err(e) => Verification::Failed(e.message),
                });
            });
        }
    });
    let auth = expect_context::<AuthState>();
    view! {
        <PageTitle text="Verify your e-mail address · jwt-auth"/>
        <section class="card" aria-labelledby="verify-title">
            <h1 id="verify-title">"Verify your e-mail address"</h1>
            {move || match state.get() {
                Verification::Checking => view! {
                    <p role="status" id="verify-status">"Checking the link…"</p>
                }.into_any(),
                Verification::Done => view! {
                    <p class="notice" role="status" id="verify-status">
                        "Your e-mail address is verified."
                    </p>
                    {if auth.is_logged_in_untracked() {
                        view! { <p class="switch"><a href=routes::ACCOUNT>"Go to your account"</a></p> }.into_any()
                    } else {
                        view! { <p class="switch"><a href=routes::LOGIN>"Log in"</a></p> }.into_any()
                    }}
                }.into_any(),
                Verification::Failed(message) => view! {
                    <p class="error" role="alert" id="verify-status">{message}</p>
                    <ResendForm/>
                }.into_any(),
                Verification::NoToken => view! { <ResendForm/> }.into_any(),
            }}
        </section>
    }
}

/// "Send a new link": answers the same whatever the address.
#[component]
fn ResendForm() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let resend = Action::new(|email: &String| resend_verification(email.clone()));
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        resend.dispatch(email.get_untracked());
    };
    let pending = resend.pending();
    view! {
        <form on:submit=on_submit id="resend-form">
            <Hydrated>
            <p class="hint">"Need a new link? Enter the address you signed up with."</p>
            <label for="resend-email">"E-mail address"</label>
            <input id="resend-email" type="email" autocomplete="email" required bind:value=email/>
            <p class="error" role="alert" id="resend-error">
                {move || resend.value().get().and_then(Result::err).map(|e| e.message)}
            </p>
            {move || matches!(resend.value().get(), Some(Ok(_))).then(|| view! {
                <p class="notice" role="status" id="resend-done">
                    "If that address has an account waiting for verification, a new link is on its way."
                </p>
            })}
            <button type="submit" disabled=pending>"Send a new link"</button>
            </Hydrated>
        </form>
    }
}
