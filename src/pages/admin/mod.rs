//! `/admin`: accounts (lock, role, end sessions), invitations and undelivered mail, and the
//! audit log, for administrators. A lazy route behind the admin guard: a `user` gets the 403
//! page and never downloads this code.

mod mail;

use crate::api::admin::{
    admin_events, admin_users, lock_user, reset_user_mfa, revoke_user_sessions, set_user_role,
    EventView, UserView,
};
use crate::api::ApiError;
use crate::client::time;
use crate::components::page_title::PageTitle;
use crate::model::{EventKind, Role};
use leptos::{ev::SubmitEvent, prelude::*};

/// Route data for the lazy admin page.
#[derive(Debug, Clone, Copy)]
pub struct AdminRoute;

lazy_page!(AdminRoute => AdminPage);

#[component]
fn AdminPage() -> impl IntoView {
    view! {
        <PageTitle text="Admin · jwt-auth"/>
        <section class="card wide" aria-labelledby="admin-title">
            <h1 id="admin-title">"Administration"</h1>
            <Users/>
            <mail::Invitations/>
            <mail::FailedMail/>
            <AuditLog/>
        </section>
    }
}

/// The accounts table. Each kind of change is an `Action`; the list is a resource that loads
/// again whenever one of them has run.
#[component]
fn Users() -> impl IntoView {
    let lock = Action::new(|(name, locked): &(String, bool)| lock_user(name.clone(), *locked));
    let role = Action::new(|(name, role): &(String, Role)| set_user_role(name.clone(), *role));
    let end = Action::new(|name: &String| revoke_user_sessions(name.clone()));
    let reset = Action::new(|name: &String| reset_user_mfa(name.clone()));
    let users = LocalResource::new(move || {
        lock.version().track();
        role.version().track();
        end.version().track();
        reset.version().track();
        admin_users()
    });
    let actions = Actions {
        lock,
        role,
        end,
        reset,
    };
    let error = move || {
        [
            lock.value().get(),
            role.value().get(),
            end.value().get(),
            reset.value().get(),
        ]
        .into_iter()
        .flatten()
        .find_map(Result::err)
        .map(|e| e.message)
    };
    let table = move || {
        match users.get() {
        None => view! { <p class="loading" role="status">"Loading accounts…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
        Some(Ok(list)) => view! {
            <table class="users" id="users">
                <caption class="visually-hidden">"Accounts"</caption>
                <thead>
                    <tr>
                        <th scope="col">"User"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Last login"</th>
                        <th scope="col">"Sessions"</th>
                        <th scope="col">"2FA"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {list.users.into_iter().map(|user| view! { <UserRow user actions/> }).collect_view()}
                </tbody>
            </table>
        }
        .into_any(),
    }
    };
    view! {
        <h2>"Accounts"</h2>
        {table}
        <p class="error" role="alert" id="users-error">{error}</p>
    }
}

/// The changes an administrator can make to an account.
#[derive(Clone, Copy)]
struct Actions {
    lock: Action<(String, bool), Result<(), ApiError>>,
    role: Action<(String, Role), Result<(), ApiError>>,
    end: Action<String, Result<(), ApiError>>,
    reset: Action<String, Result<(), ApiError>>,
}

impl Actions {
    fn busy(&self) -> bool {
        self.lock.pending().get()
            || self.role.pending().get()
            || self.end.pending().get()
            || self.reset.pending().get()
    }

    /// Only the latest change's error is shown.
    fn forget_errors(&self) {
        self.lock.value().set(None);
        self.role.value().set(None);
        self.end.value().set(None);
        self.reset.value().set(None);
    }
}

#[component]
fn UserRow(user: UserView, actions: Actions) -> impl IntoView {
    let UserView {
        username,
        role,
        locked,
        created_at,
        last_login_at,
        sessions,
        totp_enabled,
        email,
        email_verified,
    } = user;
    let email = email.map(|address| {
        let note = (!email_verified).then_some(" (unverified)");
        view! { <span class="email">{address}{note}</span> }
    });
    let name = StoredValue::new(username.clone());
    let busy = move || actions.busy();
    let on_role = move |event: leptos::ev::Event| {
        let chosen = event_target_value(&event);
        if let Some(role) = Role::parse(&chosen) {
            actions.forget_errors();
            actions.role.dispatch((name.get_value(), role));
        }
    };
    let on_lock = move |_| {
        actions.forget_errors();
        actions.lock.dispatch((name.get_value(), !locked));
    };
    let on_end = move |_| {
        actions.forget_errors();
        actions.end.dispatch(name.get_value());
    };
    let on_reset = move |_| {
        actions.forget_errors();
        actions.reset.dispatch(name.get_value());
    };
    let last_login = last_login_at.map_or_else(|| "never".to_owned(), time::ago);
    let last_login_title = last_login_at.map(time::local).unwrap_or_default();
    view! {
        <tr data-user=username.clone()>
            <th scope="row">{username.clone()}{email}</th>
            <td>
                <select
                    aria-label=format!("Role of {username}")
                    class="role-select"
                    disabled=busy
                    on:change=on_role
                >
                    <option value="user" selected=role == Role::User>"user"</option>
                    <option value="admin" selected=role == Role::Admin>"admin"</option>
                </select>
            </td>
            <td title=time::local(created_at)>{time::ago(created_at)}</td>
            <td title=last_login_title>{last_login}</td>
            <td class="number">{sessions}</td>
            <td>{if totp_enabled { "on" } else { "off" }}</td>
            <td>{if locked { "locked" } else { "active" }}</td>
            <td>
                <div class="row-actions">
                <button type="button" class="secondary small" disabled=busy on:click=on_lock>
                    {if locked { "Unlock" } else { "Lock" }}
                </button>
                <button
                    type="button"
                    class="secondary small"
                    disabled=move || busy() || sessions == 0
                    on:click=on_end
                >
                    "End sessions"
                </button>
                {totp_enabled.then(|| view! {
                    <button type="button" class="secondary small" disabled=busy on:click=on_reset>
                        "Reset 2FA"
                    </button>
                })}
                </div>
            </td>
        </tr>
    }
}

/// The audit log: newest first, 50 at a time, filtered by user and kind. Each page is one run
/// of the `load` action: a first page replaces the list, a later one extends it.
#[component]
fn AuditLog() -> impl IntoView {
    let events = RwSignal::new(Vec::<EventView>::new());
    let next = RwSignal::new(None::<String>);
    let username = RwSignal::new(String::new());
    let kind = RwSignal::new(String::new());
    let load = Action::new(|(cursor, user, kind): &(Option<String>, String, String)| {
        let (cursor, user, kind) = (cursor.clone(), user.clone(), kind.clone());
        async move {
            let more = cursor.is_some();
            admin_events(cursor, Some(user), Some(kind))
                .await
                .map(|page| (more, page))
        }
    });
    Effect::new(move |_| {
        if let Some(Ok((more, page))) = load.value().get() {
            if more {
                events.update(|list| list.extend(page.events));
            } else {
                events.set(page.events);
            }
            next.set(page.next_cursor);
        }
    });
    // `cursor = None` starts over with the current filters.
    let fetch = move |cursor: Option<String>| {
        load.dispatch((cursor, username.get_untracked(), kind.get_untracked()));
    };
    Effect::new(move |_| fetch(None));
    let loading = load.pending();
    let error = move || load.value().get().and_then(Result::err).map(|e| e.message);
    let on_filter = move |event: SubmitEvent| {
        event.prevent_default();
        fetch(None);
    };
    view! {
        <h2>"Audit log"</h2>
        <form class="filters" on:submit=on_filter id="audit-filters">
            <label for="audit-user">"User"</label>
            <input id="audit-user" type="search" placeholder="any" bind:value=username/>
            <label for="audit-kind">"Kind"</label>
            <select id="audit-kind" on:change=move |e| kind.set(event_target_value(&e))>
                <option value="">"any"</option>
                {EventKind::ALL
                    .iter()
                    .map(|k| view! { <option value=k.as_str()>{k.as_str()}</option> })
                    .collect_view()}
            </select>
            <button type="submit" class="secondary small" disabled=loading>"Show"</button>
        </form>
        <p class="error" role="alert">{error}</p>
        <div class="table-scroll">
        <table class="events" id="events" aria-busy=move || loading.get().to_string()>
            <caption class="visually-hidden">"Audit events, newest first"</caption>
            <thead>
                <tr>
                    <th scope="col">"When"</th>
                    <th scope="col">"Event"</th>
                    <th scope="col">"User"</th>
                    <th scope="col">"By"</th>
                    <th scope="col">"Address"</th>
                    <th scope="col">"User agent"</th>
                </tr>
            </thead>
            <tbody>
                {move || events.get().into_iter().map(|event| view! { <EventRow event/> }).collect_view()}
            </tbody>
        </table>
        </div>
        {move || loading.get().then(|| view! {
            <p class="loading" role="status" id="events-loading">"Loading events…"</p>
        })}
        {move || {
            if events.with(Vec::is_empty) && !loading.get() {
                Some(view! { <p class="hint">"No events."</p> }.into_any())
            } else {
                next.get().map(|cursor| view! {
                    <button
                        type="button"
                        class="secondary"
                        id="more-events"
                        disabled=loading
                        on:click=move |_| fetch(Some(cursor.clone()))
                    >
                        "Load more"
                    </button>
                }.into_any())
            }
        }}
    }
}

#[component]
fn EventRow(event: EventView) -> impl IntoView {
    let dash = |v: Option<String>| v.unwrap_or_else(|| "–".to_owned());
    let agent = event.user_agent.clone().unwrap_or_default();
    let title = agent.clone();
    view! {
        <tr data-kind=event.kind.as_str()>
            <td>{time::local(event.at)}</td>
            <td>
                {event.kind.as_str()}
                {event.detail.map(|d| view! { <span class="detail">" · " {d}</span> })}
            </td>
            <td>{dash(event.username)}</td>
            <td>{dash(event.actor)}</td>
            <td>{dash(event.ip)}</td>
            <td class="agent" title=title>{agent}</td>
        </tr>
    }
}
