//! The admin area: users, teams, API keys, the audit log and the home dashboards.

pub mod api_keys;
pub mod audit_log;
pub mod home_dashboards;
pub mod teams;
pub mod users;

use leptos::prelude::*;
use leptos_router::components::{A, Outlet};
use vigil_shared::Role;

use crate::session::use_session;

#[component]
pub fn AdminLayout() -> impl IntoView {
    let session = use_session();
    move || {
        if session.can(Role::Admin) {
            view! {
                <section class="page">
                    <header class="page-header">
                        <h1>"Admin"</h1>
                        <nav class="tabs" aria-label="Admin">
                            <A href="/admin/users">"Users"</A>
                            <A href="/admin/teams">"Teams"</A>
                            <A href="/admin/api-keys">"API keys"</A>
                            <A href="/admin/audit-log">"Audit log"</A>
                            <A href="/admin/home-dashboards">"Home dashboards"</A>
                        </nav>
                    </header>
                    <Outlet/>
                </section>
            }
            .into_any()
        } else {
            view! {
                <section class="page narrow">
                    <h1>"Admin"</h1>
                    <p class="banner banner-error">"This area needs the admin role."</p>
                </section>
            }
            .into_any()
        }
    }
}
