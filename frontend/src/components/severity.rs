//! An alert's or incident's severity as a coloured badge.

use leptos::prelude::*;
use vigil_shared::alerting::Severity;

/// A severity as a coloured badge.
#[component]
pub fn SeverityBadge(severity: Severity) -> impl IntoView {
    view! { <span class=format!("badge severity-{}", severity.as_str())>{severity.as_str()}</span> }
}
