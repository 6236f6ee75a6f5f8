//! `/account`: the user's profile and address, sessions (one row per device, each can be
//! logged out), the password form, the second factor, the data export and deleting the account.
//! A lazy route: a split build loads its code only for a logged-in visitor.

mod profile;

use crate::api::account::{
    account_sessions, change_password, logout_everywhere, mfa_status, revoke_other_sessions,
    revoke_session, totp_disable, totp_enable, totp_setup, SessionView,
};
use crate::api::{ApiError, ErrorCode};
use crate::client::auth_state::{self, SessionEnd};
use crate::client::time;
use crate::components::page_title::PageTitle;
use leptos::{ev::SubmitEvent, prelude::*};
use std::time::Duration;

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
            <profile::Profile/>
            <Sessions/>
            <PasswordForm/>
            <TwoFactor/>
            <profile::YourData/>
            <profile::DeleteAccount/>
        </section>
    }
}

/// The sessions table and its buttons. Each button is an `Action`; the list is a resource that
/// loads again whenever one of them has run, and every few seconds while the page is visible.
#[component]
fn Sessions() -> impl IntoView {
    let revoke = Action::new(|id: &String| revoke_session(id.clone()));
    let others = Action::new(|_: &()| revoke_other_sessions());
    let everywhere = Action::new(|_: &()| logout_everywhere());
    let sessions = LocalResource::new(move || {
        revoke.version().track();
        others.version().track();
        account_sessions()
    });
    Effect::new(move |_| {
        let reload = move || {
            if time::page_visible() {
                sessions.refetch();
            }
        };
        if let Ok(handle) = set_interval_with_handle(reload, RELOAD_EVERY) {
            on_cleanup(move || handle.clear());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = everywhere.value().get() {
            auth_state::session_ended(SessionEnd::LoggedOut, true);
        }
    });
    let busy = Signal::derive(move || {
        revoke.pending().get() || others.pending().get() || everywhere.pending().get()
    });
    // Only the latest button's error is shown.
    let forget_errors = move || {
        revoke.value().set(None);
        others.value().set(None);
        everywhere.value().set(None);
    };
    let end_one = move |id: String| {
        forget_errors();
        revoke.dispatch(id);
    };
    let error = move || {
        [
            revoke.value().get(),
            others.value().get(),
            everywhere.value().get(),
        ]
        .into_iter()
        .flatten()
        .find_map(Result::err)
        .map(|e| e.message)
    };
    let rows = move || {
        match sessions.get() {
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
                    {list.sessions.into_iter().map(|s| view! { <SessionRow session=s end_one busy/> }).collect_view()}
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
        <p class="error" role="alert">{error}</p>
        <div class="actions">
            <button
                type="button"
                class="secondary"
                id="logout-others"
                disabled=busy
                on:click=move |_| {
                    forget_errors();
                    others.dispatch(());
                }
            >
                "Log out other devices"
            </button>
            <button
                type="button"
                class="secondary"
                id="logout-everywhere"
                disabled=busy
                on:click=move |_| {
                    forget_errors();
                    everywhere.dispatch(());
                }
            >
                "Log out everywhere"
            </button>
        </div>
    }
}

#[component]
fn SessionRow(
    session: SessionView,
    end_one: impl Fn(String) + Copy + Send + Sync + 'static,
    busy: Signal<bool>,
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
                disabled=busy
                on:click=move |_| end_one(id.clone())
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
    let mismatch = RwSignal::new(false);
    let change = Action::new(|(old, fresh): &(String, String)| {
        change_password(old.clone().into(), fresh.clone().into())
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = change.value().get() {
            current.set(String::new());
            new.set(String::new());
            repeat.set(String::new());
        }
    });
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        let different = new.get_untracked() != repeat.get_untracked();
        mismatch.set(different);
        if !different {
            change.dispatch((current.get_untracked(), new.get_untracked()));
        }
    };
    let error = move || {
        if mismatch.get() {
            return Some("The new passwords do not match.".to_owned());
        }
        change
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.message)
    };
    let done = move || !mismatch.get() && matches!(change.value().get(), Some(Ok(())));
    let pending = change.pending();
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
            <p class="hint" id="password-rules">"At least 12 characters, hard to guess, and not your username."</p>
            <p class="error" role="alert" id="password-error">{error}</p>
            {move || done().then(|| view! {
                <p class="notice" role="status" id="password-done">
                    "Password changed. Your other devices have been logged out."
                </p>
            })}
            <button type="submit" disabled=pending>
                {move || if pending.get() { "Changing…" } else { "Change password" }}
            </button>
        </form>
    }
}

/// TOTP: set up (QR code, secret as text, confirm with a code, recovery codes shown once) or
/// turn off (password and a code). Each step is an `Action`; the status is a resource that loads
/// again when the factor was turned off or its recovery codes were put away.
#[component]
fn TwoFactor() -> impl IntoView {
    let setup = Action::new(|_: &()| totp_setup());
    let enable = Action::new(|code: &String| totp_enable(code.clone().into()));
    let disable = Action::new(|(password, code): &(String, String)| {
        totp_disable(password.clone().into(), code.clone().into())
    });
    // Bumped when the recovery codes have been put away.
    let codes_saved = RwSignal::new(0u32);
    let status = LocalResource::new(move || {
        disable.version().track();
        codes_saved.track();
        mfa_status()
    });
    let code = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let done = RwSignal::new(None::<&'static str>);
    let forget = move || {
        setup.value().set(None);
        enable.value().set(None);
        disable.value().set(None);
        done.set(None);
    };
    Effect::new(move |_| {
        if let Some(Ok(())) = disable.value().get() {
            password.set(String::new());
            code.set(String::new());
            done.set(Some(
                "Two-factor authentication is off. Your other devices have been logged out.",
            ));
        }
    });
    let pending = Signal::derive(move || {
        setup.pending().get() || enable.pending().get() || disable.pending().get()
    });
    let error = move || {
        let setup = setup.value().get().and_then(Result::err);
        let enable = enable.value().get().and_then(Result::err);
        // Turning the factor off checks the password and a code together, and says which
        // was wrong to no one: the message must not single out the password.
        let disable = disable
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| match e.error {
                ErrorCode::WrongPassword => ApiError {
                    message: "The password or the code is wrong.".into(),
                    ..e
                },
                _ => e,
            });
        setup.or(enable).or(disable).map(|e| e.message)
    };

    let start = move |_| {
        forget();
        setup.dispatch(());
    };
    let confirm = move |event: SubmitEvent| {
        event.prevent_default();
        enable.value().set(None);
        enable.dispatch(code.get_untracked());
    };
    let turn_off = move |event: SubmitEvent| {
        event.prevent_default();
        forget();
        disable.dispatch((password.get_untracked(), code.get_untracked()));
    };
    let saved = move |_| {
        forget();
        code.set(String::new());
        codes_saved.update(|n| *n += 1);
        done.set(Some(
            "Two-factor authentication is on. Your other devices have been logged out.",
        ));
    };

    let body = move || {
        if let Some(Ok(response)) = enable.value().get() {
            return view! {
                <div class="notice" id="recovery-codes">
                    <p><strong>"Save these recovery codes now."</strong>
                    " Each works once, in place of a code, if you lose your authenticator. They will not be shown again."</p>
                    <ul class="codes">{response.recovery_codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ul>
                    <button type="button" on:click=saved>"I have saved them"</button>
                </div>
            }
            .into_any();
        }
        if let Some(Ok(started)) = setup.value().get() {
            return view! {
                <form on:submit=confirm id="totp-setup">
                    <p class="hint">"Scan the code with your authenticator app, or type the key in. Then enter the 6-digit code it shows."</p>
                    <div class="qr" aria-label="QR code for your authenticator app" role="img" inner_html=started.qr_svg></div>
                    <p>"Key: " <code id="totp-secret">{started.secret}</code></p>
                    <label for="totp-code">"Code from the app"</label>
                    <input id="totp-code" type="text" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" required bind:value=code/>
                    <button type="submit" disabled=pending>
                        {move || if enable.pending().get() { "Turning on…" } else { "Turn on" }}
                    </button>
                </form>
            }
            .into_any();
        }
        match status.get() {
            None => view! { <p class="loading" role="status">"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
            Some(Ok(s)) if s.totp_enabled => view! {
                <p id="totp-status">"On: logging in asks for a code from your authenticator app."</p>
                <form on:submit=turn_off id="totp-disable">
                    <label for="totp-off-password">"Password"</label>
                    <input id="totp-off-password" type="password" autocomplete="current-password" required bind:value=password/>
                    <label for="totp-off-code">"Code from the app, or a recovery code"</label>
                    <input id="totp-off-code" type="text" autocomplete="one-time-code" required bind:value=code/>
                    <button type="submit" class="secondary" disabled=pending>
                        {move || if disable.pending().get() { "Turning off…" } else { "Turn off" }}
                    </button>
                </form>
            }
            .into_any(),
            Some(Ok(_)) => view! {
                <p id="totp-status">"Off: a password alone logs you in."</p>
                <button type="button" id="totp-start" disabled=pending on:click=start>
                    {move || if setup.pending().get() { "Setting up…" } else { "Set up an authenticator app" }}
                </button>
            }
            .into_any(),
        }
    };
    view! {
        <h2>"Two-factor authentication"</h2>
        {body}
        <p class="error" role="alert" id="totp-error">{error}</p>
        {move || done.get().map(|text| view! { <p class="notice" role="status" id="totp-done">{text}</p> })}
    }
}
