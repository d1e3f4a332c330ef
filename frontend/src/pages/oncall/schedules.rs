//! The on-call schedules (`/oncall/schedules`): each rotation with who is on call now; editors
//! start a new one.

use std::fmt::Write as _;

use leptos::prelude::*;
use vigil_shared::schedule::{Rotation, Schedule, ScheduleRequest, Shift};

use super::{
    Directory, esc, html_block, is_editor, load_html, on_call_html, schedules_on_call,
    use_directory,
};

/// A rotation in a few words: `weekly, handing off at 09:00 Europe/Berlin`.
pub fn rotation_summary(s: &ScheduleRequest) -> String {
    let every = match (s.rotation, s.shift_hours) {
        (Rotation::Custom, Some(hours)) => format!("every {hours} h"),
        (rotation, _) => rotation.as_str().to_owned(),
    };
    format!("{every}, handing off at {} {}", s.handoff_time, s.timezone)
}

#[component]
pub fn SchedulesPage() -> impl IntoView {
    let directory = use_directory();
    let schedules = load_html(move || async move {
        schedules_on_call()
            .await
            .map(|schedules| schedules_table(&directory, &schedules))
    });

    view! {
        <div class="card">
            <div class="card-header">
                <h2>"Schedules"</h2>
                {is_editor().then(|| view! { <a class="button primary" href="/oncall/schedules/new">"New schedule"</a> })}
            </div>
            {html_block(schedules, "schedules")}
        </div>
    }
}

fn schedules_table(directory: &Directory, schedules: &[(Schedule, Option<Shift>)]) -> String {
    if schedules.is_empty() {
        return "<p class=\"muted empty-state\">No schedules yet.</p>".to_owned();
    }
    let mut html = "<table class=\"table\" aria-label=\"Schedules\"><thead><tr><th>Schedule</th><th>Rotation</th>\
        <th>Participants</th><th>On call now</th></tr></thead><tbody>"
        .to_owned();
    for (s, shift) in schedules {
        let people: Vec<String> = s
            .schedule
            .participants
            .iter()
            .map(|id| directory.person(*id))
            .collect();
        let _ = write!(
            html,
            "<tr><td><a href=\"/oncall/schedules/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            s.id,
            esc(&s.schedule.name),
            esc(&rotation_summary(&s.schedule)),
            esc(&people.join(", ")),
            on_call_html(directory, shift)
        );
    }
    html + "</tbody></table>"
}
