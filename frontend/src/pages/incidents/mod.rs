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

/// A length of time as people say it: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`.
pub fn span(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=59 => format!("{s} s"),
        60..=3_599 => format!("{} min", s / 60),
        3_600..=86_399 if s % 3_600 < 60 => format!("{} h", s / 3_600),
        3_600..=86_399 => format!("{} h {} min", s / 3_600, s % 3_600 / 60),
        _ if s % 86_400 < 3_600 => format!("{} d", s / 86_400),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3_600),
    }
}

#[cfg(test)]
mod tests {
    use super::span;

    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(span(-5), "0 s");
        assert_eq!(span(45), "45 s");
        assert_eq!(span(12 * 60 + 59), "12 min");
        assert_eq!(span(3 * 3_600), "3 h");
        assert_eq!(span(3 * 3_600 + 5 * 60), "3 h 5 min");
        assert_eq!(span(2 * 86_400 + 30 * 60), "2 d");
        assert_eq!(span(2 * 86_400 + 4 * 3_600), "2 d 4 h");
    }
}
