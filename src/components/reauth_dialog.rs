//! `ReauthDialog`: the password (and code) prompt the fetch wrapper shows when a sensitive
//! change answers `403 reauth_required` (see `client::reauth`). Part of every guarded page's
//! frame; its form is a chunk of its own, downloaded the first time it opens.

use crate::api::{account::mfa_status, reauth, Secret};
use crate::client::{reauth as prompt, token_store};
use futures::channel::oneshot;
use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};
use send_wrapper::SendWrapper;

/// Where the answer of the open prompt goes.
type Answer = SendWrapper<oneshot::Sender<Option<String>>>;

/// Registers the prompt while mounted; renders the dialog while one is open.
#[component]
pub fn ReauthDialog() -> impl IntoView {
    let answer = StoredValue::new(None::<Answer>);
    let open = RwSignal::new(false);
    Effect::new(move |_| {
        prompt::set_prompt(move || {
            let (tx, rx) = oneshot::channel();
            // A prompt already open gives up: only the newest waits.
            if let Some(earlier) = answer
                .try_update_value(|a| a.replace(SendWrapper::new(tx)))
                .flatten()
            {
                let _ = earlier.take().send(None);
            }
            open.set(true);
            Box::pin(async move { rx.await.ok().flatten() })
        });
        on_cleanup(prompt::clear_prompt);
    });
    let finish = Callback::new(move |token: Option<String>| {
        if let Some(tx) = answer.try_update_value(Option::take).flatten() {
            let _ = tx.take().send(token);
        }
        open.set(false);
    });
    move || open.get().then(|| Suspend::new(dialog(finish)))
}

/// The form. A chunk of its own in split builds.
#[cfg_attr(wasm_split, leptos::lazy)]
async fn dialog(finish: Callback<Option<String>>) -> AnyView {
    view! { <ReauthForm finish/> }.into_any()
}

#[component]
fn ReauthForm(finish: Callback<Option<String>>) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);
    let second_factor = LocalResource::new(mfa_status);
    let uses_totp = move || {
        second_factor
            .get()
            .and_then(Result::ok)
            .is_some_and(|s| s.totp_enabled)
    };
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            let _ = input.focus();
        }
    });
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        pending.set(true);
        error.set(None);
        let typed = code.get_untracked().trim().to_owned();
        let (totp, recovery) = match typed.len() {
            0 => (None, None),
            6 if typed.bytes().all(|b| b.is_ascii_digit()) => (Some(Secret(typed)), None),
            _ => (None, Some(Secret(typed))),
        };
        let pass = Secret(password.get_untracked());
        spawn_local(async move {
            match reauth(pass, totp, recovery).await {
                Ok(response) => {
                    let jwt = response.jwt.clone();
                    token_store::store(response.into());
                    finish.run(Some(jwt));
                }
                Err(e) => {
                    error.set(Some(e.message));
                    password.set(String::new());
                    code.set(String::new());
                }
            }
            pending.set(false);
        });
    };
    view! {
        <div class="modal-backdrop">
            <div class="card modal" role="dialog" aria-modal="true" aria-labelledby="reauth-title">
                <h2 id="reauth-title">"Confirm it is you"</h2>
                <p class="hint">"This change needs your password again."</p>
                <form on:submit=on_submit id="reauth-form">
                    <label for="reauth-password">"Password"</label>
                    <input
                        id="reauth-password"
                        type="password"
                        autocomplete="current-password"
                        required
                        node_ref=input
                        bind:value=password
                    />
                    {move || uses_totp().then(|| view! {
                        <label for="reauth-code">"Code from your authenticator app, or a recovery code"</label>
                        <input id="reauth-code" type="text" autocomplete="one-time-code" required bind:value=code/>
                    })}
                    <p class="error" role="alert" id="reauth-error">{move || error.get()}</p>
                    <div class="actions">
                        <button type="submit" disabled=move || pending.get()>
                            {move || if pending.get() { "Checking…" } else { "Confirm" }}
                        </button>
                        <button type="button" class="secondary" on:click=move |_| finish.run(None)>
                            "Cancel"
                        </button>
                    </div>
                </form>
            </div>
        </div>
    }
}
