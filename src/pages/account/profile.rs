//! The parts of `/account` about the account itself: the profile and a new address, the data
//! export, and deleting the account (after a confirmation with the password).

use crate::api::account::{change_email, delete_account, export_account, profile};
use crate::client::auth_state::{self, SessionEnd};
use crate::client::time;
use leptos::{ev::SubmitEvent, prelude::*};

/// Who the user is, and the form for a new address (it counts once its link is used).
#[component]
pub fn Profile() -> impl IntoView {
    let details = LocalResource::new(profile);
    let email = RwSignal::new(String::new());
    let change = Action::new(|email: &String| change_email(email.clone()));
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        change.dispatch(email.get_untracked());
    };
    let pending = change.pending();
    let shown = move || match details.get() {
        None => view! { <p class="loading" role="status">"Loading your profile…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
        Some(Ok(p)) => {
            let address = match (p.email, p.email_verified) {
                (None, _) => "none".to_owned(),
                (Some(email), true) => format!("{email} (verified)"),
                (Some(email), false) => format!("{email} (not verified yet)"),
            };
            view! {
                <dl class="profile" id="profile">
                    <dt>"Username"</dt><dd id="profile-username">{p.username}</dd>
                    <dt>"E-mail"</dt><dd id="profile-email">{address}</dd>
                    <dt>"Role"</dt><dd>{p.role.as_str()}</dd>
                    <dt>"Member since"</dt><dd title=time::local(p.created_at)>{time::ago(p.created_at)}</dd>
                </dl>
            }
            .into_any()
        }
    };
    view! {
        <h2>"Profile"</h2>
        {shown}
        <form on:submit=on_submit id="email-form" aria-describedby="email-error">
            <label for="new-email">"New e-mail address"</label>
            <input id="new-email" type="email" autocomplete="email" required bind:value=email/>
            <p class="hint">"We mail a link to the new address; it replaces the old one once you open it."</p>
            <p class="error" role="alert" id="email-error">
                {move || change.value().get().and_then(Result::err).map(|e| e.message)}
            </p>
            {move || matches!(change.value().get(), Some(Ok(_))).then(|| view! {
                <p class="notice" role="status" id="email-done">
                    "Check the new address: we sent it a link. Your old address was told too."
                </p>
            })}
            <button type="submit" class="secondary" disabled=pending>"Change e-mail"</button>
        </form>
    }
}

/// "Download my data": everything stored about the user, as a JSON file.
#[component]
pub fn YourData() -> impl IntoView {
    let link = NodeRef::<leptos::html::A>::new();
    let href = RwSignal::new(String::new());
    let download = Action::new(|_: &()| export_account());
    Effect::new(move |_| {
        if let Some(Ok(export)) = download.value().get() {
            let text = serde_json::to_string_pretty(&export).unwrap_or_default();
            let encoded = String::from(js_sys::encode_uri_component(&text));
            href.set(format!("data:application/json;charset=utf-8,{encoded}"));
            if let Some(anchor) = link.get_untracked() {
                anchor.set_href(&href.get_untracked());
                anchor.click();
            }
        }
    });
    let pending = download.pending();
    view! {
        <h2>"Your data"</h2>
        <p class="hint">"Your profile, your sessions and your account's audit events, as a JSON file."</p>
        <p class="error" role="alert" id="download-error">
            {move || download.value().get().and_then(Result::err).map(|e| e.message)}
        </p>
        <button type="button" class="secondary" id="download-data" disabled=pending on:click=move |_| {
            download.dispatch(());
        }>
            {move || if pending.get() { "Preparing…" } else { "Download my data" }}
        </button>
        <a node_ref=link class="visually-hidden" download="jwt-auth-export.json" href=move || href.get() tabindex="-1" aria-hidden="true">"export"</a>
    }
}

/// "Delete my account", then a confirmation that asks for the password.
#[component]
pub fn DeleteAccount() -> impl IntoView {
    let confirming = RwSignal::new(false);
    let password = RwSignal::new(String::new());
    let delete = Action::new(|password: &String| delete_account(password.clone().into()));
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            auth_state::session_ended(SessionEnd::LoggedOut, true);
        }
    });
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        delete.dispatch(password.get_untracked());
    };
    let cancel = move |_| {
        confirming.set(false);
        password.set(String::new());
        delete.value().set(None);
    };
    let pending = delete.pending();
    view! {
        <h2>"Deleting the account"</h2>
        <Show
            when=move || confirming.get()
            fallback=move || view! {
                <p class="hint">"Your sessions end and your account is gone. The audit log keeps the record of what happened."</p>
                <button type="button" class="danger" id="delete-start" on:click=move |_| confirming.set(true)>
                    "Delete my account"
                </button>
            }
        >
            <form on:submit=on_submit id="delete-form" class="confirm" aria-describedby="delete-error">
                <p><strong>"This cannot be undone."</strong> " Enter your password to delete your account."</p>
                <label for="delete-password">"Password"</label>
                <input id="delete-password" type="password" autocomplete="current-password" required bind:value=password/>
                <p class="error" role="alert" id="delete-error">
                    {move || delete.value().get().and_then(Result::err).map(|e| e.message)}
                </p>
                <div class="actions">
                    <button type="submit" class="danger" disabled=pending>"Delete my account for good"</button>
                    <button type="button" class="secondary" on:click=cancel>"Cancel"</button>
                </div>
            </form>
        </Show>
    }
}
