//! The Incidents area: the list (live, filtered, counted per status, exported as CSV), one
//! incident with its alerts, timeline and the actions responders take, and opening one by hand.

pub mod detail;
pub mod list;
pub mod new;

use leptos::prelude::*;
use vigil_shared::incident::IncidentStatus;

/// An incident's status as a coloured badge.
#[component]
pub fn StatusBadge(status: IncidentStatus) -> impl IntoView {
    let name = status.as_str();
    view! { <span class=format!("badge status-{name}")>{name}</span> }
}
