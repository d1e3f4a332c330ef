//! The alerting area: alerts firing and pending now, and the rules that raise them.

pub mod channels;
pub mod import;
pub mod list;
pub mod routing;
pub mod rule_form;
pub mod rules;
pub mod silences;

use leptos::prelude::*;
use leptos_router::components::{A, Outlet};
use vigil_shared::Role;

use crate::session::use_session;

#[component]
pub fn AlertsLayout() -> impl IntoView {
    let session = use_session();
    view! {
        <section class="page">
            <header class="page-header">
                <h1>"Alerts"</h1>
                <nav class="tabs" aria-label="Alerting">
                    <A href="/alerts" exact=true>"Alerts"</A>
                    <A href="/alerts/rules">"Rules"</A>
                    <A href="/alerts/silences">"Silences"</A>
                    <Show when=move || session.can(Role::Editor)>
                        <A href="/alerts/channels">"Channels"</A>
                        <A href="/alerts/routing">"Routing"</A>
                    </Show>
                </nav>
            </header>
            <Outlet/>
        </section>
    }
}
