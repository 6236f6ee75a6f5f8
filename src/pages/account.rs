//! `/account`: the user's sessions (one row per device, each can be logged out) and the
//! password form. A lazy route: a split build loads its code only for a logged-in visitor.

use crate::api::account::{
    account_sessions, change_password, logout_everywhere, mfa_status, revoke_other_sessions,
    revoke_session, totp_disable, totp_enable, totp_setup, SessionView, TotpSetupResponse,
};
use crate::api::ApiError;
use crate::client::auth_state::{self, SessionEnd};
use crate::client::time;
use crate::components::page_title::PageTitle;
use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};
use std::{future::Future, pin::Pin, time::Duration};

/// A change the sessions list makes (then reloads).
type Change = Pin<Box<dyn Future<Output = Result<(), ApiError>>>>;

/// Route data for the lazy account page.
#[derive(Debug, Clone, Copy)]
pub struct AccountRoute;

lazy_page!(AccountRoute => AccountPage);

/// How often the sessions list is reloaded while the page is visible: "last active" stays
/// current, and a session ended from another device notices within this.
const RELOAD_EVERY: Duration = Duration::from_secs(5);

#[component]
fn AccountPage() -> impl IntoView {
    view! {
        <PageTitle text="Account · jwt-auth"/>
        <section class="card wide" aria-labelledby="account-title">
            <h1 id="account-title">"Your account"</h1>
            <Sessions/>
            <PasswordForm/>
            <TwoFactor/>
        </section>
    }
}

/// The sessions table and its buttons.
#[component]
fn Sessions() -> impl IntoView {
    let load = Action::new(|_: &()| account_sessions());
    Effect::new(move |_| {
        load.dispatch(());
    });
    Effect::new(move |_| {
        let reload = move || {
            if time::page_visible() && !load.pending().get_untracked() {
                load.dispatch(());
            }
        };
        if let Ok(handle) = set_interval_with_handle(reload, RELOAD_EVERY) {
            on_cleanup(move || handle.clear());
        }
    });
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    // Runs a change, then shows its error or reloads the list.
    let change = move |call: Change| {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match call.await {
                Ok(()) => {
                    load.dispatch(());
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    let everywhere = move |_| {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match logout_everywhere().await {
                Ok(()) => auth_state::session_ended(SessionEnd::LoggedOut, true),
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    let rows = move || {
        match load.value().get() {
        None => view! { <p class="loading" role="status">"Loading your sessions…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
        Some(Ok(list)) => view! {
            <table class="sessions" id="sessions">
                <caption class="visually-hidden">"Your sessions"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Device"</th>
                        <th scope="col">"Address"</th>
                        <th scope="col">"Started"</th>
                        <th scope="col">"Last active"</th>
                        <th scope="col"><span class="visually-hidden">"Action"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {list.sessions.into_iter().map(|s| view! { <SessionRow session=s change busy/> }).collect_view()}
                </tbody>
            </table>
        }
        .into_any(),
    }
    };
    view! {
        <h2>"Sessions"</h2>
        <p class="hint">"Every device where you are logged in. Log out the ones you do not recognise."</p>
        {rows}
        <p class="error" role="alert">{move || error.get()}</p>
        <div class="actions">
            <button
                type="button"
                class="secondary"
                id="logout-others"
                disabled=move || busy.get()
                on:click=move |_| change(Box::pin(revoke_other_sessions()))
            >
                "Log out other devices"
            </button>
            <button type="button" class="secondary" id="logout-everywhere" disabled=move || busy.get() on:click=everywhere>
                "Log out everywhere"
            </button>
        </div>
    }
}

#[component]
fn SessionRow(
    session: SessionView,
    change: impl Fn(Change) + Copy + Send + Sync + 'static,
    busy: RwSignal<bool>,
) -> impl IntoView {
    let SessionView {
        session_id,
        current,
        device,
        user_agent,
        ip,
        last_ip,
        created_at,
        last_used_at,
    } = session;
    let addresses = match (ip, last_ip) {
        (Some(first), Some(last)) if first != last => format!("{first} → {last}"),
        (Some(first), _) => first,
        (None, Some(last)) => last,
        (None, None) => "–".to_owned(),
    };
    let action = if current {
        view! { <span class="this-device">"This device"</span> }.into_any()
    } else {
        let id = session_id.clone();
        view! {
            <button
                type="button"
                class="secondary small"
                disabled=move || busy.get()
                on:click=move |_| change(Box::pin(revoke_session(id.clone())))
            >
                "Log out"
            </button>
        }
        .into_any()
    };
    view! {
        <tr class:current=current data-session=session_id>
            <td title=user_agent.unwrap_or_default()>{device}</td>
            <td>{addresses}</td>
            <td title=time::local(created_at)>{time::ago(created_at)}</td>
            <td title=time::local(last_used_at)>{time::ago(last_used_at)}</td>
            <td>{action}</td>
        </tr>
    }
}

/// Current password, new password twice.
#[component]
fn PasswordForm() -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let repeat = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(false);
    let pending = RwSignal::new(false);
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        error.set(None);
        done.set(false);
        if new.get_untracked() != repeat.get_untracked() {
            error.set(Some("The new passwords do not match.".to_owned()));
            return;
        }
        pending.set(true);
        let (old, fresh) = (current.get_untracked(), new.get_untracked());
        spawn_local(async move {
            match change_password(old, fresh).await {
                Ok(()) => {
                    done.set(true);
                    current.set(String::new());
                    new.set(String::new());
                    repeat.set(String::new());
                }
                Err(e) => error.set(Some(e.message)),
            }
            pending.set(false);
        });
    };
    view! {
        <h2>"Change password"</h2>
        <form on:submit=on_submit id="password-form">
            <label for="current-password">"Current password"</label>
            <input id="current-password" type="password" autocomplete="current-password" required bind:value=current/>
            <label for="new-password">"New password"</label>
            <input
                id="new-password"
                type="password"
                autocomplete="new-password"
                minlength="12"
                required
                aria-describedby="password-rules"
                bind:value=new
            />
            <label for="repeat-password">"New password, again"</label>
            <input id="repeat-password" type="password" autocomplete="new-password" required bind:value=repeat/>
            <p class="hint" id="password-rules">"At least 12 characters, and not your username."</p>
            <p class="error" role="alert" id="password-error">{move || error.get()}</p>
            {move || done.get().then(|| view! {
                <p class="notice" role="status" id="password-done">
                    "Password changed. Your other devices have been logged out."
                </p>
            })}
            <button type="submit" disabled=move || pending.get()>
                {move || if pending.get() { "Changing…" } else { "Change password" }}
            </button>
        </form>
    }
}

/// TOTP: set up (QR code, secret as text, confirm with a code, recovery codes shown once) or
/// turn off (password and a code).
#[component]
fn TwoFactor() -> impl IntoView {
    let status = Action::new(|_: &()| mfa_status());
    Effect::new(move |_| {
        status.dispatch(());
    });
    let setup = RwSignal::new(None::<TotpSetupResponse>);
    let codes = RwSignal::new(None::<Vec<String>>);
    let code = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);
    let done = RwSignal::new(None::<&'static str>);

    let start = move |_| {
        pending.set(true);
        error.set(None);
        done.set(None);
        spawn_local(async move {
            match totp_setup().await {
                Ok(started) => setup.set(Some(started)),
                Err(e) => error.set(Some(e.message)),
            }
            pending.set(false);
        });
    };
    let confirm = move |event: SubmitEvent| {
        event.prevent_default();
        pending.set(true);
        error.set(None);
        let typed = code.get_untracked();
        spawn_local(async move {
            match totp_enable(typed).await {
                Ok(response) => {
                    setup.set(None);
                    code.set(String::new());
                    codes.set(Some(response.recovery_codes));
                }
                Err(e) => error.set(Some(e.message)),
            }
            pending.set(false);
        });
    };
    let turn_off = move |event: SubmitEvent| {
        event.prevent_default();
        pending.set(true);
        error.set(None);
        let (pass, typed) = (password.get_untracked(), code.get_untracked());
        spawn_local(async move {
            match totp_disable(pass, typed).await {
                Ok(()) => {
                    password.set(String::new());
                    code.set(String::new());
                    done.set(Some("Two-factor authentication is off. Your other devices have been logged out."));
                    status.dispatch(());
                }
                Err(e) => error.set(Some(e.message)),
            }
            pending.set(false);
        });
    };
    let saved = move |_| {
        codes.set(None);
        done.set(Some(
            "Two-factor authentication is on. Your other devices have been logged out.",
        ));
        status.dispatch(());
    };

    let body = move || {
        if let Some(list) = codes.get() {
            return view! {
                <div class="notice" id="recovery-codes">
                    <p><strong>"Save these recovery codes now."</strong>
                    " Each works once, in place of a code, if you lose your authenticator. They will not be shown again."</p>
                    <ul class="codes">{list.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ul>
                    <button type="button" on:click=saved>"I have saved them"</button>
                </div>
            }
            .into_any();
        }
        if let Some(started) = setup.get() {
            return view! {
                <form on:submit=confirm id="totp-setup">
                    <p class="hint">"Scan the code with your authenticator app, or type the key in. Then enter the 6-digit code it shows."</p>
                    <div class="qr" aria-label="QR code for your authenticator app" role="img" inner_html=started.qr_svg></div>
                    <p>"Key: " <code id="totp-secret">{started.secret}</code></p>
                    <label for="totp-code">"Code from the app"</label>
                    <input id="totp-code" type="text" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" required bind:value=code/>
                    <button type="submit" disabled=move || pending.get()>"Turn on"</button>
                </form>
            }
            .into_any();
        }
        match status.value().get() {
            None => view! { <p class="loading" role="status">"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
            Some(Ok(s)) if s.totp_enabled => view! {
                <p id="totp-status">"On: logging in asks for a code from your authenticator app."</p>
                <form on:submit=turn_off id="totp-disable">
                    <label for="totp-off-password">"Password"</label>
                    <input id="totp-off-password" type="password" autocomplete="current-password" required bind:value=password/>
                    <label for="totp-off-code">"Code from the app, or a recovery code"</label>
                    <input id="totp-off-code" type="text" autocomplete="one-time-code" required bind:value=code/>
                    <button type="submit" class="secondary" disabled=move || pending.get()>"Turn off"</button>
                </form>
            }
            .into_any(),
            Some(Ok(_)) => view! {
                <p id="totp-status">"Off: a password alone logs you in."</p>
                <button type="button" id="totp-start" disabled=move || pending.get() on:click=start>
                    "Set up an authenticator app"
                </button>
            }
            .into_any(),
        }
    };
    view! {
        <h2>"Two-factor authentication"</h2>
        {body}
        <p class="error" role="alert" id="totp-error">{move || error.get()}</p>
        {move || done.get().map(|text| view! { <p class="notice" role="status" id="totp-done">{text}</p> })}
    }
}
