//! The SLO area (SPEC §9): the SLOs with their error budgets, one SLO's page with its charts,
//! the form that defines one (previewed over the last 30 days before saving), and the
//! maintenance windows and corrections that take time out of the count. The SLA reports
//! built from them have their own page (`pages::reports`).

pub mod detail;
mod fields;
pub mod form;
pub mod list;
pub mod maintenance;
mod preview;

use leptos::prelude::*;
use leptos_router::components::{A, Outlet};
use vigil_shared::slo::{BudgetUnit, CalendarUnit, SloHealth, SloWindow};

use crate::format;

#[component]
pub fn SlosLayout() -> impl IntoView {
    view! {
        <section class="page">
            <header class="page-header">
                <h1>"SLOs"</h1>
                <nav class="tabs" aria-label="SLOs">
                    <A href="/slos" exact=true>"SLOs"</A>
                    <A href="/slos/maintenance">"Maintenance"</A>
                </nav>
            </header>
            <Outlet/>
        </section>
    }
}

/// Colours shared by the charts of the area.
pub const OBJECTIVE_COLOR: &str = "#c62f3b";
pub const EXCLUDED_COLOR: &str = "#7a8294";

/// A share of good events as the SLO pages show it: three decimals, cut rather than rounded
/// so that 99.9996 % never reads as 100 % (nor a missed 99.95 % objective as met).
pub fn sli_text(percent: Option<f64>) -> String {
    match percent {
        Some(p) if p.is_finite() => {
            // The nudge keeps 99.95 (stored as 99.94999…) at 99.950.
            format!("{:.3} %", ((p * 1000.0) + 1e-6).floor() / 1000.0)
        }
        _ => "—".to_owned(),
    }
}

/// An objective as it was written: `99.9 %`.
pub fn objective_text(objective: f64) -> String {
    format!("{} %", format::value(objective))
}

/// A percentage of budget: one decimal.
pub fn budget_percent(percent: f64) -> String {
    if percent.is_finite() {
        format!("{percent:.1} %")
    } else {
        "—".to_owned()
    }
}

/// Budget in the SLO's unit: `1,234 events`, `42 min`.
pub fn amount(value: f64, unit: BudgetUnit) -> String {
    match unit {
        BudgetUnit::Events => format!("{} events", whole(value)),
        BudgetUnit::Minutes => format!("{} min", whole(value)),
    }
}

/// A count with thousands separated: `12,345`; `-3`.
pub fn whole(value: f64) -> String {
    if !value.is_finite() {
        return format::value(value);
    }
    let rounded = value.round() as i64;
    let digits = rounded.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if rounded < 0 { format!("-{out}") } else { out }
}

/// A burn rate: `2.4×`, or a dash when nothing was counted.
pub fn burn_text(rate: Option<f64>) -> String {
    match rate {
        Some(r) if r.is_finite() => format!("{r:.1}×"),
        _ => "—".to_owned(),
    }
}

/// When the budget runs out at the current burn rate.
pub fn exhaustion_text(seconds: Option<f64>) -> String {
    match seconds {
        Some(s) if s.is_finite() && s <= 0.0 => "already spent".to_owned(),
        Some(s) if s.is_finite() => format::duration(s),
        _ => "not burning".to_owned(),
    }
}

/// The window in words: `rolling 30d`, `calendar month (Europe/Berlin)`.
pub fn window_text(window: &SloWindow) -> String {
    match window {
        SloWindow::Rolling { duration } => format!("rolling {duration}"),
        SloWindow::Calendar { unit, time_zone } => {
            let unit = match unit {
                CalendarUnit::Month => "month",
                CalendarUnit::Quarter => "quarter",
            };
            format!("calendar {unit} ({time_zone})")
        }
    }
}

pub fn health_name(health: SloHealth) -> &'static str {
    match health {
        SloHealth::Ok => "ok",
        SloHealth::AtRisk => "at risk",
        SloHealth::Breached => "breached",
        SloHealth::NoData => "no data",
    }
}

fn health_class(health: SloHealth) -> &'static str {
    match health {
        SloHealth::Ok => "health-ok",
        SloHealth::AtRisk => "health-at-risk",
        SloHealth::Breached => "health-breached",
        SloHealth::NoData => "health-no-data",
    }
}

#[component]
pub fn HealthBadge(health: SloHealth) -> impl IntoView {
    view! { <span class=format!("badge {}", health_class(health))>{health_name(health)}</span> }
}

/// The budget left as a bar coloured by the SLO's health, with the figure beside it.
#[component]
pub fn BudgetBar(remaining_percent: f64, health: SloHealth) -> impl IntoView {
    let shown = if health == SloHealth::NoData {
        None
    } else {
        Some(remaining_percent)
    };
    let width = shown.map_or(0.0, |p| p.clamp(0.0, 100.0));
    view! {
        <div class="budget">
            <span
                class=format!("budget-bar {}", health_class(health))
                role="meter"
                aria-label="Error budget remaining"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=format!("{width:.1}")
            >
                <span class="budget-fill" style=format!("width: {width:.1}%")></span>
            </span>
            <span class="budget-figure">{shown.map_or_else(|| "no data".to_owned(), budget_percent)}</span>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slis_are_cut_not_rounded_up_to_a_better_figure() {
        assert_eq!(sli_text(Some(99.9996)), "99.999 %");
        assert_eq!(sli_text(Some(99.95)), "99.950 %");
        assert_eq!(sli_text(Some(100.0)), "100.000 %");
        assert_eq!(sli_text(None), "—");
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(whole(0.0), "0");
        assert_eq!(whole(999.4), "999");
        assert_eq!(whole(1_234.0), "1,234");
        assert_eq!(whole(-1_234_567.0), "-1,234,567");
        assert_eq!(amount(12_345.6, BudgetUnit::Events), "12,346 events");
    }
}
