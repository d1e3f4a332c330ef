//! The frame around every page once logged in: navigation for the user's role, the user menu
//! (theme, account, log out), and the page itself. Logged-out visitors are sent to the login
//! page, which brings them back here afterwards.

use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::{use_location, use_navigate};
use vigil_shared::Role;

use crate::api;
use crate::session::use_session;
use crate::theme::{Theme, use_theme};

/// The areas of the app, with the least role that may use each.
const NAV: [(&str, &str, Role); 8] = [
    ("/dashboards", "Dashboards", Role::Viewer),
    ("/explore", "Explore", Role::Viewer),
    ("/alerts", "Alerts", Role::Viewer),
    ("/incidents", "Incidents", Role::Viewer),
    ("/oncall", "On-call", Role::Viewer),
    ("/slos", "SLOs & Reports", Role::Viewer),
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
                <UserMenu/>
            </header>
            <main class="content">
                <Outlet/>
            </main>
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
