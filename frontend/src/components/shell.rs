//! The frame around every page once logged in: navigation for the user's role, the user menu
//! (theme, account, log out), and the page itself, whose errors stop at the frame (the
//! navigation keeps working). Logged-out visitors are sent to the login page, which brings them
//! back here afterwards.

use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::{use_location, use_navigate};
use vigil_shared::Role;

use crate::api;
use crate::components::load_failed;
use crate::format;
use crate::live::live_events;
use crate::session::use_session;
use crate::theme::{Theme, use_theme};

/// The areas of the app, with the least role that may use each.
const NAV: [(&str, &str, Role); 9] = [
    ("/dashboards", "Dashboards", Role::Viewer),
    ("/explore", "Explore", Role::Viewer),
    ("/alerts", "Alerts", Role::Viewer),
    ("/incidents", "Incidents", Role::Viewer),
    ("/oncall", "On-call", Role::Viewer),
    ("/slos", "SLOs", Role::Viewer),
    ("/reports", "Reports", Role::Viewer),
    ("/traces", "Traces", Role::Viewer),
    ("/admin", "Admin", Role::Admin),
];

#[component]
pub fn Shell() -> impl IntoView {
    let session = use_session();
    let location = use_location();
    let logged_in = Memo::new(move |_| session.user.with(Option::is_some));

    move || {
        if logged_in.get() {
            view! { <Frame/> }.into_any()
        } else {
            let here = format!(
                "{}{}",
                location.pathname.get_untracked(),
                location.search.get_untracked()
            );
            let path = if here == "/" {
                "/login".to_owned()
            } else {
                format!("/login?next={}", api::encode_component(&here))
            };
            view! { <Redirect path=path/> }.into_any()
        }
    }
}

#[component]
fn Frame() -> impl IntoView {
    let session = use_session();
    let role = Memo::new(move |_| session.user.with(|u| u.as_ref().map(|u| u.role)));
    let links = move || {
        let role = role.get()?;
        Some(
            NAV.iter()
                .filter(|(_, _, needs)| role.includes(*needs))
                .map(|(href, label, _)| {
                    view! { <li><A href=*href>{*label}</A></li> }
                })
                .collect_view(),
        )
    };

    view! {
        <div class="app">
            <header class="topbar">
                <a class="brand" href="/">
                    <span class="brand-mark" aria-hidden="true">"◉"</span>
                    " Vigil"
                </a>
                <nav class="mainnav" aria-label="Main">
                    <ul>{links}</ul>
                </nav>
                <NotificationBell/>
                <UserMenu/>
            </header>
            <main class="content">
                // A page's own loads show their errors in place (`Loaded`); anything else a page
                // fails at stops here.
                <ErrorBoundary fallback=|errors| view! { <section class="page narrow">{load_failed(errors)}</section> }>
                    <Outlet/>
                </ErrorBoundary>
            </main>
        </div>
    }
}

/// The pages the escalation worker sent this user in the app: an unread count, and the
/// latest few linking to their incidents. Opening the list marks them read. It follows
/// incident changes live, which is when pages are sent.
#[component]
fn NotificationBell() -> impl IntoView {
    let notifications = LocalResource::new(api::my_notifications);
    // What the bell shows: nothing until the list is read (or if it cannot be).
    let list = move || notifications.get().and_then(Result::ok);
    let open = RwSignal::new(false);
    live_events(&["incident"], move |_| notifications.refetch());
    let unread = move || list().map_or(0, |l| l.unread);
    let toggle = move |_| {
        let opening = !open.get_untracked();
        open.set(opening);
        let newest = untrack(list)
            .filter(|l| l.unread > 0)
            .and_then(|l| l.notifications.first().map(|n| n.id));
        if let (true, Some(newest)) = (opening, newest) {
            leptos::task::spawn_local(async move {
                if api::mark_notifications_read(newest).await.is_ok() {
                    notifications.refetch();
                }
            });
        }
    };

    view! {
        <div class="bell">
            <button
                class="bell-button"
                aria-haspopup="true"
                aria-expanded=move || open.get().to_string()
                aria-label=move || format!("Notifications, {} unread", unread())
                on:click=toggle
            >
                <svg class="bell-icon" aria-hidden="true" viewBox="0 0 24 24" width="18" height="18">
                    <path d="M12 3a6 6 0 0 0-6 6v4l-2 3h16l-2-3V9a6 6 0 0 0-6-6zm-2 15a2 2 0 0 0 4 0z" fill="currentColor"/>
                </svg>
                <Show when=move || { unread() > 0 }>
                    <span class="bell-count" aria-hidden="true">{unread}</span>
                </Show>
            </button>
            <Show when=move || open.get()>
                <div class="bell-panel" role="region" aria-label="Notifications" on:click=move |_| open.set(false)>
                    {move || {
                        let items = list().map(|l| l.notifications).unwrap_or_default();
                        match items.as_slice() {
                            [] => view! { <p class="muted">"Nothing has paged you."</p> }.into_any(),
                            items => items.iter().take(10).map(|n| {
                                let href = n.incident_id.map(|id| format!("/incidents/{id}")).unwrap_or_else(|| "/incidents".to_owned());
                                view! {
                                    <a class="bell-item" class:unread=!n.read href=href>
                                        <span>{n.message.clone()}</span>
                                        <span class="muted small">{format::ago(&n.created_at)}</span>
                                    </a>
                                }
                            }).collect_view().into_any(),
                        }
                    }}
                </div>
            </Show>
        </div>
    }
}

#[component]
fn UserMenu() -> impl IntoView {
    let session = use_session();
    let theme = use_theme();
    let navigate = use_navigate();
    let open = RwSignal::new(false);
    let name = move || {
        session.user.with(|u| {
            u.as_ref()
                .map(|u| {
                    if u.display_name.is_empty() {
                        u.email.clone()
                    } else {
                        u.display_name.clone()
                    }
                })
                .unwrap_or_default()
        })
    };
    let role = move || {
        session
            .user
            .with(|u| u.as_ref().map(|u| u.role.to_string()).unwrap_or_default())
    };

    let log_out = move |_| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            // Even if the server cannot be reached, forget the session locally.
            let _ = api::logout().await;
            session.user.set(None);
            navigate("/login", Default::default());
        });
    };

    view! {
        <div class="usermenu">
            <button
                class="usermenu-button"
                aria-haspopup="menu"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)
            >
                <span class="avatar" aria-hidden="true">
                    {move || name().chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default()}
                </span>
                <span class="usermenu-name">{name}</span>
                <span class="badge">{role}</span>
            </button>
            <Show when=move || open.get()>
                <div class="usermenu-panel" role="menu" on:click=move |_| open.set(false)>
                    <a role="menuitem" href="/account">"Account & password"</a>
                    <button role="menuitem" on:click=move |_| theme.update(|t| *t = t.other())>
                        {move || match theme.get() {
                            Theme::Light => "Dark theme",
                            Theme::Dark => "Light theme",
                        }}
                    </button>
                    <button role="menuitem" class="logout" on:click=log_out.clone()>"Log out"</button>
                </div>
            </Show>
        </div>
    }
}
