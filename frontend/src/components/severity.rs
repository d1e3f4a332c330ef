//! Severities of alerts and incidents: a coloured badge, and the choices of a filter.

use leptos::prelude::*;
use vigil_shared::alerting::Severity;

/// The choices of a severity filter: value, label (empty: any).
pub const SEVERITY_FILTER: [(&str, &str); 4] = [
    ("", "Any severity"),
    ("critical", "Critical"),
    ("warning", "Warning"),
    ("info", "Info"),
];

/// A severity as a coloured badge.
#[component]
pub fn SeverityBadge(severity: Severity) -> impl IntoView {
    view! { <span class=format!("badge severity-{}", severity.as_str())>{severity.as_str()}</span> }
}
