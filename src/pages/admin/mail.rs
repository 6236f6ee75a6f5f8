//! The parts of `/admin` about mail: invitations (when sign-up is not closed) and the mails
//! that could not be delivered.

use crate::api::admin::{
    failed_mail, invitations, invite, retry_mail, revoke_invitation, InvitationView,
};
use crate::client::time;
use crate::components::hydrated::Hydrated;
use crate::model::{Role, SignupMode, SiteFeatures};
use leptos::{ev::SubmitEvent, prelude::*};

/// Invite an address, and the pending invitations (each can be withdrawn).
#[component]
pub fn Invitations() -> impl IntoView {
    let features = use_context::<SiteFeatures>().unwrap_or_default();
    (features.signup != SignupMode::Closed).then(InvitationsSection)
}

#[component]
fn InvitationsSection() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let role = RwSignal::new(Role::User);
    let send = Action::new(|(email, role): &(String, Role)| invite(email.clone(), *role));
    let withdraw = Action::new(|id: &String| revoke_invitation(id.clone()));
    let pending_list = LocalResource::new(move || {
        send.version().track();
        withdraw.version().track();
        invitations()
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = send.value().get() {
            email.set(String::new());
        }
    });
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        withdraw.value().set(None);
        send.dispatch((email.get_untracked(), role.get_untracked()));
    };
    let error = move || {
        [
            send.value().get().and_then(Result::err),
            withdraw.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| e.message)
    };
    let busy = Signal::derive(move || send.pending().get() || withdraw.pending().get());
    let list = move || {
        match pending_list.get() {
        None => view! { <p class="loading" role="status">"Loading invitations…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
        Some(Ok(list)) if list.invitations.is_empty() => {
            view! { <p class="hint" id="no-invitations">"No pending invitations."</p> }.into_any()
        }
        Some(Ok(list)) => view! {
            <div class="table-scroll">
            <table id="invitations">
                <caption class="visually-hidden">"Pending invitations"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Address"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Expires"</th>
                        <th scope="col">"By"</th>
                        <th scope="col"><span class="visually-hidden">"Action"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {list.invitations.into_iter().map(|i| view! { <InvitationRow invitation=i withdraw busy/> }).collect_view()}
                </tbody>
            </table>
            </div>
        }
        .into_any(),
    }
    };
    view! {
        <h2>"Invitations"</h2>
        <form on:submit=on_submit id="invite-form" aria-describedby="invite-error">
            <Hydrated>
            <label for="invite-email">"E-mail address"</label>
            <input id="invite-email" type="email" required bind:value=email/>
            <label for="invite-role">"Role"</label>
            <select id="invite-role" on:change=move |e| {
                role.set(Role::parse(&event_target_value(&e)).unwrap_or(Role::User));
            }>
                <option value="user" selected=true>"user"</option>
                <option value="admin">"admin"</option>
            </select>
            <button type="submit" disabled=busy>"Send invitation"</button>
            </Hydrated>
        </form>
        <p class="error" role="alert" id="invite-error">{error}</p>
        {move || matches!(send.value().get(), Some(Ok(_))).then(|| view! {
            <p class="notice" role="status" id="invite-done">"Invitation sent."</p>
        })}
        {list}
    }
}

#[component]
fn InvitationRow(
    invitation: InvitationView,
    withdraw: Action<String, Result<(), crate::api::ApiError>>,
    busy: Signal<bool>,
) -> impl IntoView {
    let id = StoredValue::new(invitation.id);
    view! {
        <tr>
            <td>{invitation.email.clone()}</td>
            <td>{invitation.role.as_str()}</td>
            <td title=time::local(invitation.expires_at)>{time::local(invitation.expires_at)}</td>
            <td>{invitation.created_by.unwrap_or_else(|| "–".into())}</td>
            <td>
                <button type="button" class="secondary small" disabled=busy on:click=move |_| {
                    withdraw.dispatch(id.get_value());
                }>
                    "Withdraw"
                </button>
            </td>
        </tr>
    }
}

/// Mails that could not be delivered after every retry, each can be sent again.
#[component]
pub fn FailedMail() -> impl IntoView {
    let retry = Action::new(|id: &i64| retry_mail(*id));
    let mails = LocalResource::new(move || {
        retry.version().track();
        failed_mail()
    });
    let busy = retry.pending();
    let table = move || {
        match mails.get() {
        None => view! { <p class="loading" role="status">"Loading…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
        Some(Ok(list)) if list.mails.is_empty() => {
            view! { <p class="hint" id="no-failed-mail">"Every mail was delivered."</p> }.into_any()
        }
        Some(Ok(list)) => view! {
            <div class="table-scroll">
            <table id="failed-mail">
                <caption class="visually-hidden">"Mails that could not be delivered"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Queued"</th>
                        <th scope="col">"Kind"</th>
                        <th scope="col">"To"</th>
                        <th scope="col">"Attempts"</th>
                        <th scope="col">"Last error"</th>
                        <th scope="col"><span class="visually-hidden">"Action"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {list.mails.into_iter().map(|m| {
                        let id = m.id;
                        view! {
                            <tr>
                                <td>{time::local(m.created_at)}</td>
                                <td>{m.kind}</td>
                                <td>{m.recipient}</td>
                                <td class="number">{m.attempts}</td>
                                <td class="agent">{m.last_error.unwrap_or_default()}</td>
                                <td>
                                    <button type="button" class="secondary small" disabled=busy on:click=move |_| {
                                        retry.dispatch(id);
                                    }>
                                        "Send again"
                                    </button>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            </div>
        }
        .into_any(),
    }
    };
    view! {
        <h2>"Undelivered mail"</h2>
        <p class="error" role="alert">
            {move || retry.value().get().and_then(Result::err).map(|e| e.message)}
        </p>
        {table}
    }
}
