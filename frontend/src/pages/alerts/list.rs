//! Alerts firing and pending now (or any state), filtered by state and severity, kept current
//! by live events: a new or changed alert shows without reloading the page.

use leptos::prelude::*;
use vigil_shared::alerting::{Alert, AlertState};

use super::silences::silence_link;
use crate::api;
use crate::components::{Loaded, SEVERITY_FILTER, SeverityBadge};
use crate::format;
use crate::live::live_events;
use crate::session::use_session;
use vigil_shared::Role;

const STATES: [(&str, &str); 6] = [
    ("live", "Firing and pending"),
    ("firing", "Firing"),
    ("pending", "Pending"),
    ("resolved", "Resolved"),
    ("inactive", "Inactive"),
    ("all", "All"),
];

#[component]
pub fn AlertsPage() -> impl IntoView {
    let state = RwSignal::new("live".to_owned());
    let severity = RwSignal::new(String::new());
    let alerts = LocalResource::new(move || {
        let (state, severity) = (state.get(), severity.get());
        async move { api::list_alerts(&state, &severity).await }
    });
    live_events(&["alert"], move |_| alerts.refetch());

    view! {
        <div class="card filters" role="search" aria-label="Filter alerts">
            <div class="field">
                <label for="field-alert-state">"State"</label>
                <select id="field-alert-state" on:change=move |ev| state.set(event_target_value(&ev)) prop:value=move || state.get()>
                    {STATES.iter().map(|(value, label)| view! { <option value=*value>{*label}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="field-alert-severity">"Severity"</label>
                <select id="field-alert-severity" on:change=move |ev| severity.set(event_target_value(&ev)) prop:value=move || severity.get()>
                    {SEVERITY_FILTER.iter().map(|(value, label)| view! { <option value=*value>{*label}</option> }).collect_view()}
                </select>
            </div>
            <p class="muted live-note" aria-live="polite">
                <span class="live-dot" aria-hidden="true"></span>
                {move || alerts.with(Option::is_some).then_some("Live: updates as alerts change.")}
            </p>
        </div>
        <div class="card">
            <Loaded resource=alerts what="alerts" let:list>
                {match list.alerts {
                    alerts if alerts.is_empty() => view! {
                        <p class="muted empty-state">"No alerts in this view. Rules that fire will show here at once."</p>
                    }.into_any(),
                    alerts => view! { <AlertTable alerts=alerts/> }.into_any(),
                }}
            </Loaded>
        </div>
    }
}

fn state_class(state: AlertState) -> &'static str {
    match state {
        AlertState::Firing => "badge state-firing",
        AlertState::Pending => "badge state-pending",
        AlertState::Resolved => "badge badge-ok",
        AlertState::Inactive => "badge badge-muted",
    }
}

#[component]
fn AlertTable(alerts: Vec<Alert>) -> impl IntoView {
    let can_silence = use_session().can(Role::Responder);
    view! {
        <table class="table alerts-table" aria-label="Alerts">
            <thead><tr>
                <th>"Severity"</th><th>"State"</th><th>"Alert"</th><th>"Labels"</th>
                <th>"Value"</th><th>"Since"</th><th></th>
            </tr></thead>
            <tbody>
                {alerts.into_iter().map(|alert| {
                    let name = alert
                        .rule_name
                        .clone()
                        .or_else(|| alert.labels.get("alertname").cloned())
                        .unwrap_or_else(|| "alert".to_owned());
                    let summary = alert.annotations.get("summary").cloned().unwrap_or_default();
                    let labels: Vec<(String, String)> = alert
                        .labels
                        .iter()
                        .filter(|(k, _)| k.as_str() != "alertname")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    let since = alert.fired_at.unwrap_or(alert.active_at);
                    let muted = !alert.silenced_by.is_empty() || !alert.inhibited_by.is_empty();
                    view! {
                        <tr class=format!("alert-row severity-row-{}", alert.severity.as_str()) data-alert-id=alert.id.to_string()>
                            <td><SeverityBadge severity=alert.severity/></td>
                            <td>
                                <span class=state_class(alert.state)>{alert.state.as_str()}</span>
                                {(!alert.silenced_by.is_empty()).then(|| view! { " " <span class="badge badge-muted">"silenced"</span> })}
                                {(!alert.inhibited_by.is_empty()).then(|| view! { " " <span class="badge badge-muted">"inhibited"</span> })}
                            </td>
                            <td class:muted=muted>
                                {match alert.rule_id {
                                    Some(id) => view! { <a href=format!("/alerts/rules/{id}")>{name}</a> }.into_any(),
                                    None => view! { <strong>{name}</strong> }.into_any(),
                                }}
                                {(!summary.is_empty()).then(|| view! { <div class="muted alert-summary">{summary}</div> })}
                            </td>
                            <td class="labels">
                                {labels.into_iter().map(|(k, v)| view! { <span class="label-pair">{format!("{k}={v}")}</span> }).collect_view()}
                            </td>
                            <td class="value">{alert.value.map(format::value).unwrap_or_else(|| "—".to_owned())}</td>
                            <td title=format::time(&since)>{format::ago(&since)}</td>
                            <td>
                                {(can_silence && alert.silenced_by.is_empty()).then(|| view! {
                                    <a class="button small" href=silence_link(alert.labels.iter())>"Silence"</a>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
