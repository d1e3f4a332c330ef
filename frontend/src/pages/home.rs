//! The page users land on after logging in: their home dashboard (their own choice, their
//! team's or their role's), or, when none is set, who they are, what their role lets them do,
//! and how this Vigil is doing.

use leptos::prelude::*;
use vigil_shared::Role;

use crate::api;
use crate::chunks::{self, lazy_page};
use crate::components::{Loaded, Loading};
use crate::format;
use crate::session::use_session;

/// The home dashboard the home page draws, for the dashboard view (in its own chunk) to read.
#[derive(Clone)]
pub struct HomeDashboardUid(pub String);

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
    let home = LocalResource::new(api::dashboards::home);
    move || match home.get() {
        None => view! { <Loading what="your home page"/> }.into_any(),
        Some(Ok(home)) if home.dashboard.is_some() => {
            let uid = home.dashboard.map(|d| d.uid).unwrap_or_default();
            provide_context(HomeDashboardUid(uid));
            lazy_page(chunks::home_dashboard)
        }
        // Without a home dashboard (or when it cannot be told), the welcome card.
        Some(answer) => {
            if let Err(error) = answer {
                leptos::logging::warn!("could not find the home dashboard: {error}");
            }
            view! { <Welcome/> }.into_any()
        }
    }
}

/// The welcome card: who the user is, what they may do, and how this Vigil is doing.
#[component]
fn Welcome() -> impl IntoView {
    let session = use_session();
    let info = LocalResource::new(api::build_info);
    let user = move || session.user.get();

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{move || user().map(|u| format!("Welcome, {}", u.display_name))}</h1>
            </header>
            <p class="muted">
                "No home dashboard is set for you. " <a href="/dashboards">"Browse the dashboards"</a>
                " to find one; an admin can set one for your role or team."
            </p>
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
