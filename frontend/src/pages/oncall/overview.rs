//! The on-call dashboard (`/oncall`): who is on call now on every schedule, how many incidents
//! are open, and how fast incidents were acknowledged and resolved (MTTA and MTTR) over a
//! period — overall, per service, per team and per day.

use std::fmt::Write as _;

use chrono::{TimeDelta, Utc};
use leptos::prelude::*;
use vigil_shared::incident::{Analytics, AnalyticsRow};
use vigil_shared::schedule::{Schedule, Shift};

use super::{
    Directory, esc, html_block, load_html, on_call_html, schedules_on_call, use_directory,
};
use crate::api;
use crate::components::SelectField;
use crate::format;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let directory = use_directory();
    let on_call = load_html(move || async move {
        schedules_on_call()
            .await
            .map(|schedules| on_call_table(&directory, &schedules))
    });
    let open = load_html(|| async {
        api::open_incident_counts().await.map(|counts| {
            format!(
                "<div class=\"counts\"><a class=\"count count-triggered\" href=\"/incidents?status=triggered\"><strong>{}</strong> triggered</a>\
                 <a class=\"count\" href=\"/incidents?status=acknowledged\"><strong>{}</strong> acknowledged</a></div>",
                counts.triggered, counts.acknowledged
            )
        })
    });
    let days = RwSignal::new("30".to_owned());
    let analytics = load_html(move || {
        let days: i64 = days.get().parse().unwrap_or(30);
        let to = Utc::now();
        async move {
            api::incident_analytics(to - TimeDelta::days(days), to)
                .await
                .map(analytics_table)
        }
    });

    view! {
        <div class="grid two">
            <div class="card">
                <h2>"On call now"</h2>
                {html_block(on_call, "schedules")}
            </div>
            <div class="card">
                <h2>"Open incidents"</h2>
                {html_block(open, "incidents")}
            </div>
        </div>
        <div class="card">
            <div class="card-header">
                <h2>"MTTA and MTTR"</h2>
                <SelectField
                    label="Period"
                    name="analytics-period"
                    value=days
                    options=vec![
                        ("7".to_owned(), "Last 7 days".to_owned()),
                        ("30".to_owned(), "Last 30 days".to_owned()),
                        ("90".to_owned(), "Last 90 days".to_owned()),
                    ]
                />
            </div>
            <p class="muted">"Mean time from an incident triggering to its first acknowledgment (MTTA) and to its resolution (MTTR), for incidents triggered in the period."</p>
            {html_block(analytics, "MTTA and MTTR")}
        </div>
    }
}

fn on_call_table(directory: &Directory, schedules: &[(Schedule, Option<Shift>)]) -> String {
    if schedules.is_empty() {
        return "<p class=\"muted\">No schedules yet. <a href=\"/oncall/schedules\">Schedules</a> say who is paged when.</p>".to_owned();
    }
    let mut html = "<table class=\"table\" aria-label=\"On call now\"><thead><tr><th>Schedule</th><th>On call</th></tr></thead><tbody>".to_owned();
    for (schedule, shift) in schedules {
        let _ = write!(
            html,
            "<tr><td><a href=\"/oncall/schedules/{}\">{}</a></td><td>{}</td></tr>",
            schedule.id,
            esc(&schedule.schedule.name),
            on_call_html(directory, shift)
        );
    }
    html + "</tbody></table>"
}

/// The analytics as one table: overall, then per service, team and day (or week), each group
/// under a heading row; the per-day rows draw their MTTR as a bar against the longest.
fn analytics_table(a: Analytics) -> String {
    let mut html = "<table class=\"table analytics\" aria-label=\"MTTA and MTTR\"><thead><tr>\
        <th></th><th>Incidents</th><th>Acknowledged</th><th>Resolved</th><th>MTTA</th><th>MTTR</th>\
        </tr></thead><tbody>"
        .to_owned();
    let period = if a.to - a.from > TimeDelta::days(62) {
        "By week"
    } else {
        "By day"
    };
    let overall = AnalyticsRow {
        key: "All incidents".to_owned(),
        ..a.overall
    };
    for (heading, rows, bar) in [
        ("Overall", vec![overall], false),
        ("By service", a.by_service, false),
        ("By team", a.by_team, false),
        (period, a.by_period, true),
    ] {
        rows_html(&mut html, heading, &rows, bar);
    }
    html + "</tbody></table>"
}

fn rows_html(html: &mut String, heading: &str, rows: &[AnalyticsRow], bar: bool) {
    let _ = write!(
        html,
        "<tr class=\"group-row\"><th colspan=\"6\" scope=\"rowgroup\">{heading}</th></tr>"
    );
    if rows.is_empty() {
        html.push_str(
            "<tr><td colspan=\"6\" class=\"muted\">No incidents in this period.</td></tr>",
        );
    }
    let longest = rows
        .iter()
        .filter_map(|r| r.mttr_seconds)
        .fold(0.0_f64, f64::max);
    let time = |s: Option<f64>| s.map_or_else(|| "—".to_owned(), format::duration);
    for r in rows {
        let key = match r.key.as_str() {
            "" => "(none)",
            // Periods are RFC 3339 instants at midnight UTC: the date says it all.
            key if bar => key.get(..10).unwrap_or(key),
            key => key,
        };
        let width = match r.mttr_seconds {
            Some(s) if bar && longest > 0.0 => {
                format!(
                    "<span class=\"bar\" style=\"width:{}%\"></span>",
                    (s / longest * 100.0) as u32
                )
            }
            _ => String::new(),
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{width}</td></tr>",
            esc(key),
            r.incidents,
            r.acknowledged,
            r.resolved,
            time(r.mtta_seconds),
            time(r.mttr_seconds)
        );
    }
}
