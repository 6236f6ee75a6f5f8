//! `/admin`: accounts (lock, role, end sessions) and the audit log, for administrators. A lazy
//! route behind the admin guard: a `user` gets the 403 page and never downloads this code.

use crate::api::admin::{
    admin_events, admin_users, lock_user, reset_user_mfa, revoke_user_sessions, set_user_role,
    EventView, UserView,
};
use crate::api::ApiError;
use crate::client::time;
use crate::components::page_title::PageTitle;
use crate::model::{EventKind, Role};
use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};
use std::{future::Future, pin::Pin};

/// Route data for the lazy admin page.
#[derive(Debug, Clone, Copy)]
pub struct AdminRoute;

lazy_page!(AdminRoute => AdminPage);

/// A change to an account (then the list reloads).
type Change = Pin<Box<dyn Future<Output = Result<(), ApiError>>>>;

#[component]
fn AdminPage() -> impl IntoView {
    view! {
        <PageTitle text="Admin · jwt-auth"/>
        <section class="card wide" aria-labelledby="admin-title">
            <h1 id="admin-title">"Administration"</h1>
            <Users/>
            <AuditLog/>
        </section>
    }
}

#[component]
fn Users() -> impl IntoView {
    let load = Action::new(|_: &()| admin_users());
    Effect::new(move |_| {
        load.dispatch(());
    });
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let change = move |call: Change| {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            if let Err(e) = call.await {
                error.set(Some(e.message));
            }
            load.dispatch(());
            busy.set(false);
        });
    };
    let table = move || {
        match load.value().get() {
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
                    {list.users.into_iter().map(|user| view! { <UserRow user change busy/> }).collect_view()}
                </tbody>
            </table>
        }
        .into_any(),
    }
    };
    view! {
        <h2>"Accounts"</h2>
        {table}
        <p class="error" role="alert" id="users-error">{move || error.get()}</p>
    }
}

#[component]
fn UserRow(
    user: UserView,
    change: impl Fn(Change) + Copy + Send + Sync + 'static,
    busy: RwSignal<bool>,
) -> impl IntoView {
    let UserView {
        username,
        role,
        locked,
        created_at,
        last_login_at,
        sessions,
        totp_enabled,
    } = user;
    let name = StoredValue::new(username.clone());
    let on_role = move |event: leptos::ev::Event| {
        let chosen = event_target_value(&event);
        if let Some(role) = Role::parse(&chosen) {
            change(Box::pin(set_user_role(name.get_value(), role)));
        }
    };
    let last_login = last_login_at.map_or_else(|| "never".to_owned(), time::ago);
    let last_login_title = last_login_at.map(time::local).unwrap_or_default();
    view! {
        <tr data-user=username.clone()>
            <th scope="row">{username.clone()}</th>
            <td>
                <select
                    aria-label=format!("Role of {username}")
                    class="role-select"
                    disabled=move || busy.get()
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
                <button
                    type="button"
                    class="secondary small"
                    disabled=move || busy.get()
                    on:click=move |_| change(Box::pin(lock_user(name.get_value(), !locked)))
                >
                    {if locked { "Unlock" } else { "Lock" }}
                </button>
                <button
                    type="button"
                    class="secondary small"
                    disabled=move || busy.get() || sessions == 0
                    on:click=move |_| change(Box::pin(revoke_user_sessions(name.get_value())))
                >
                    "End sessions"
                </button>
                {totp_enabled.then(|| view! {
                    <button
                        type="button"
                        class="secondary small"
                        disabled=move || busy.get()
                        on:click=move |_| change(Box::pin(reset_user_mfa(name.get_value())))
                    >
                        "Reset 2FA"
                    </button>
                })}
                </div>
            </td>
        </tr>
    }
}

/// The audit log: newest first, 50 at a time, filtered by user and kind.
#[component]
fn AuditLog() -> impl IntoView {
    let events = RwSignal::new(Vec::<EventView>::new());
    let next = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let username = RwSignal::new(String::new());
    let kind = RwSignal::new(String::new());
    // Loads a page: `cursor = None` starts over with the current filters.
    let fetch = move |cursor: Option<String>| {
        loading.set(true);
        error.set(None);
        let (user, chosen) = (username.get_untracked(), kind.get_untracked());
        spawn_local(async move {
            match admin_events(cursor.clone(), Some(user), Some(chosen)).await {
                Ok(page) => {
                    if cursor.is_some() {
                        events.update(|list| list.extend(page.events));
                    } else {
                        events.set(page.events);
                    }
                    next.set(page.next_cursor);
                }
                Err(e) => error.set(Some(e.message)),
            }
            loading.set(false);
        });
    };
    Effect::new(move |_| fetch(None));
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
            <button type="submit" class="secondary small" disabled=move || loading.get()>"Show"</button>
        </form>
        <p class="error" role="alert">{move || error.get()}</p>
        <table class="events" id="events">
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
        {move || {
            if events.with(Vec::is_empty) && !loading.get() {
                Some(view! { <p class="hint">"No events."</p> }.into_any())
            } else {
                next.get().map(|cursor| view! {
                    <button
                        type="button"
                        class="secondary"
                        id="more-events"
                        disabled=move || loading.get()
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
            <td>{event.kind.as_str()}</td>
            <td>{dash(event.username)}</td>
            <td>{dash(event.actor)}</td>
            <td>{dash(event.ip)}</td>
            <td class="agent" title=title>{agent}</td>
        </tr>
    }
}
