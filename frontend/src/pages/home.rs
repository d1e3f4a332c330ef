//! The page users land on after logging in: who they are, what their role lets them do, and
//! how this Vigil is doing.

use leptos::prelude::*;
use vigil_shared::Role;

use crate::api;
use crate::components::Loaded;
use crate::format;
use crate::session::use_session;

fn powers(role: Role) -> &'static [&'static str] {
    match role {
        Role::Viewer => &["Read dashboards, alerts, incidents, SLOs and reports."],
        Role::Responder => &[
            "Read dashboards, alerts, incidents, SLOs and reports.",
            "Acknowledge, escalate, resolve, snooze and reassign incidents; add notes.",
            "Create silences.",
        ],
        Role::Editor => &[
            "Everything a responder can do.",
            "Edit dashboards, alert rules and thresholds, SLOs, escalation policies, schedules, notification channels and scrape targets.",
        ],
        Role::Admin => &[
            "Everything an editor can do.",
            "Manage users, teams and API keys; read the audit log.",
        ],
    }
}

#[component]
pub fn HomePage() -> impl IntoView {
    let session = use_session();
    let info = LocalResource::new(api::build_info);
    let user = move || session.user.get();

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{move || user().map(|u| format!("Welcome, {}", u.display_name))}</h1>
            </header>
            <div class="grid two">
                <div class="card">
                    <h2>"Your role"</h2>
                    {move || {
                        user().map(|u| {
                            view! {
                                <p>"You are signed in as " <strong>{u.email.clone()}</strong> " with the "
                                    <span class="badge">{u.role.to_string()}</span> " role. You can:"</p>
                                <ul class="powers">
                                    {powers(u.role).iter().map(|p| view! { <li>{*p}</li> }).collect_view()}
                                </ul>
                            }
                        })
                    }}
                </div>
                <div class="card">
                    <h2>"This Vigil"</h2>
                    <Loaded resource=info what="status" let:info>
                        <dl class="facts">
                            <dt>"Version"</dt><dd>{info.version}</dd>
                            <dt>"Running since"</dt><dd>{format::time(&info.started_at)}</dd>
                            <dt>"Database"</dt>
                            <dd>{format!("PostgreSQL {} ({})", info.database.server_version, info.database.mode)}</dd>
                            <dt>"TimescaleDB"</dt>
                            <dd>{info.database.timescaledb.unwrap_or_else(|| "not installed".to_owned())}</dd>
                        </dl>
                    </Loaded>
                </div>
            </div>
        </section>
    }
}
