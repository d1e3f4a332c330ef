//! The alerting area: alerts firing and pending now, and the rules that raise them.

pub mod list;
pub mod rule_form;
pub mod rules;

use leptos::prelude::*;
use leptos_router::components::{A, Outlet};
use vigil_shared::alerting::Severity;

#[component]
pub fn AlertsLayout() -> impl IntoView {
    view! {
        <section class="page">
            <header class="page-header">
                <h1>"Alerts"</h1>
                <nav class="tabs" aria-label="Alerting">
                    <A href="/alerts" exact=true>"Alerts"</A>
                    <A href="/alerts/rules">"Rules"</A>
                </nav>
            </header>
            <Outlet/>
        </section>
    }
}

/// A severity as a coloured badge.
#[component]
pub fn SeverityBadge(severity: Severity) -> impl IntoView {
    view! { <span class=format!("badge severity-{}", severity.as_str())>{severity.as_str()}</span> }
}
