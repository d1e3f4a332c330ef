//! Panels of Vigil's own data, fetched from its API rather than through PromQL: firing and
//! pending alerts, open incidents, who is on call, SLOs, and MTTA/MTTR. Each loads again whenever the
//! page hands it new data (a refresh, a new time range), and links to the page it sums up.

use leptos::prelude::*;
use vigil_shared::alerting::{Alert, AlertState, Severity};
use vigil_shared::dashboard::Panel;
use vigil_shared::incident::{AnalyticsRow, Incident, IncidentList};

use super::PanelData;
use crate::api::{self, ApiResult, IncidentFilter};
use crate::components::{Loaded, SeverityBadge};
use crate::format;
use crate::pages::oncall::schedules_on_call;
use crate::pages::slos::{BudgetBar, HealthBadge, objective_text, sli_text};

/// Rows an alert list shows when the panel sets no limit.
const DEFAULT_ALERTS: u32 = 10;
/// Incidents listed under the counts when the panel sets no limit.
const DEFAULT_INCIDENTS: u32 = 5;
/// Most rows any of these panels lists, whatever the panel says.
const MAX_ROWS: u32 = 100;

fn limit(panel: Signal<Panel>, default: u32) -> usize {
    panel.with(|panel| panel.limit.unwrap_or(default).clamp(1, MAX_ROWS)) as usize
}

/// The alerts to show, most urgent first: firing before pending, then by severity, then the
/// newest; at most `limit`.
fn urgent_alerts(mut alerts: Vec<Alert>, limit: usize) -> Vec<Alert> {
    alerts.retain(|alert| matches!(alert.state, AlertState::Firing | AlertState::Pending));
    alerts.sort_by(|a, b| {
        let firing = |alert: &Alert| alert.state == AlertState::Firing;
        firing(b)
            .cmp(&firing(a))
            .then(b.severity.cmp(&a.severity))
            .then(since(b).cmp(&since(a)))
    });
    alerts.truncate(limit);
    alerts
}

/// When an alert started firing, or pending.
fn since(alert: &Alert) -> chrono::DateTime<chrono::Utc> {
    alert.fired_at.unwrap_or(alert.active_at)
}

fn alert_name(alert: &Alert) -> String {
    alert
        .rule_name
        .clone()
        .or_else(|| alert.labels.get("alertname").cloned())
        .unwrap_or_else(|| alert.fingerprint.clone())
}

#[component]
pub(super) fn AlertListPanel(panel: Signal<Panel>, data: Signal<PanelData>) -> impl IntoView {
    let alerts = LocalResource::new(move || {
        data.track();
        api::list_alerts("live", "")
    });
    view! {
        <div class="panel-body panel-list">
            <Loaded resource=alerts what="alerts" let:list>
                {
                    let total = list.alerts.len();
                    let shown = urgent_alerts(list.alerts, limit(panel, DEFAULT_ALERTS));
                    if shown.is_empty() {
                        view! { <p class="panel-empty">"No alerts firing or pending."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="panel-rows">
                                {shown.into_iter().map(|alert| view! {
                                    <li class="panel-row">
                                        <span class=format!("badge state-{}", alert.state.as_str())>{alert.state.as_str()}</span>
                                        <SeverityBadge severity=alert.severity/>
                                        <span class="panel-row-title">{alert_name(&alert)}</span>
                                        <span class="muted">{format::ago(&since(&alert))}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                            <a class="panel-more" href="/alerts">{format!("All {total} alerts")}</a>
                        }
                        .into_any()
                    }
                }
            </Loaded>
        </div>
    }
}

/// Open incidents by severity, most severe first.
fn severity_counts(incidents: &[Incident]) -> Vec<(Severity, i64)> {
    [Severity::Critical, Severity::Warning, Severity::Info]
        .into_iter()
        .map(|severity| {
            let count = incidents.iter().filter(|i| i.severity == severity).count();
            (severity, count as i64)
        })
        .collect()
}

/// The open incidents (newest first) and how many are open of each severity: counted from
/// the first page when it holds them all, else asked per severity.
async fn open_incidents() -> ApiResult<(IncidentList, Vec<(Severity, i64)>)> {
    let open = IncidentFilter {
        status: "open".to_owned(),
        ..IncidentFilter::default()
    };
    let list = api::list_incidents(&open).await?;
    let counts = if list.total as usize <= list.incidents.len() {
        severity_counts(&list.incidents)
    } else {
        let mut counts = Vec::new();
        for severity in [Severity::Critical, Severity::Warning, Severity::Info] {
            let filter = IncidentFilter {
                severity: severity.as_str().to_owned(),
                ..open.clone()
            };
            counts.push((severity, api::list_incidents(&filter).await?.total));
        }
        counts
    };
    Ok((list, counts))
}

#[component]
pub(super) fn IncidentsPanel(panel: Signal<Panel>, data: Signal<PanelData>) -> impl IntoView {
    let incidents = LocalResource::new(move || {
        data.track();
        open_incidents()
    });
    view! {
        <div class="panel-body panel-list">
            <Loaded resource=incidents what="incidents" let:open>
                {
                    let (list, counts) = open;
                    let newest: Vec<Incident> = list
                        .incidents
                        .into_iter()
                        .take(limit(panel, DEFAULT_INCIDENTS))
                        .collect();
                    view! {
                        <div class="incident-tiles">
                            {counts.into_iter().map(|(severity, count)| view! {
                                <a
                                    class=format!("incident-tile tile-{}", severity.as_str())
                                    class:tile-zero=count == 0
                                    href=format!("/incidents?status=open&severity={}", severity.as_str())
                                >
                                    <strong>{count}</strong>
                                    <span>{severity.as_str()}</span>
                                </a>
                            }).collect_view()}
                        </div>
                        {if newest.is_empty() {
                            view! { <p class="panel-empty">"No open incidents."</p> }.into_any()
                        } else {
                            view! {
                                <ul class="panel-rows">
                                    {newest.into_iter().map(|incident| view! {
                                        <li class="panel-row">
                                            <SeverityBadge severity=incident.severity/>
                                            <a class="panel-row-title" href=format!("/incidents/{}", incident.id)>{incident.title}</a>
                                            <span class="muted">{format!("{} · {}", incident.status.as_str(), format::ago(&incident.triggered_at))}</span>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                        <a class="panel-more" href="/incidents?status=open">{format!("All {} open incidents", list.total)}</a>
                    }
                }
            </Loaded>
        </div>
    }
}

#[component]
pub(super) fn OnCallPanel(data: Signal<PanelData>) -> impl IntoView {
    let on_call = LocalResource::new(move || {
        data.track();
        schedules_on_call()
    });
    view! {
        <div class="panel-body panel-list">
            <Loaded resource=on_call what="who is on call" let:schedules>
                {if schedules.is_empty() {
                    view! {
                        <p class="panel-empty">"No schedules yet. " <a href="/oncall/schedules">"Schedules"</a> " say who is paged when."</p>
                    }.into_any()
                } else {
                    view! {
                        <ul class="panel-rows">
                            {schedules.into_iter().map(|(schedule, shift)| view! {
                                <li class="panel-row">
                                    <a class="panel-row-title" href=format!("/oncall/schedules/{}", schedule.id)>{schedule.schedule.name}</a>
                                    {match shift {
                                        Some(shift) => view! {
                                            <span><strong>{shift.user_email}</strong>
                                            {shift.is_override.then(|| view! { " " <span class="badge">"override"</span> })}</span>
                                            <span class="muted">{format!("until {}", format::time(&shift.ends_at))}</span>
                                        }.into_any(),
                                        None => view! { <span class="muted">"Nobody yet"</span> }.into_any(),
                                    }}
                                </li>
                            }).collect_view()}
                        </ul>
                        <a class="panel-more" href="/oncall">"On-call overview"</a>
                    }.into_any()
                }}
            </Loaded>
        </div>
    }
}

#[component]
pub(super) fn SloStatusPanel(data: Signal<PanelData>) -> impl IntoView {
    let slos = LocalResource::new(move || {
        data.track();
        api::list_slos()
    });
    view! {
        <div class="panel-body panel-list">
            <Loaded resource=slos what="SLOs" let:list>
                {if list.statuses.is_empty() {
                    view! { <p class="panel-empty">"No SLOs yet. " <a href="/slos">"SLOs"</a> " track how reliable a service is."</p> }.into_any()
                } else {
                    view! {
                        <table class="table panel-slos">
                            <thead><tr>
                                <th scope="col">"SLO"</th><th scope="col">"SLI"</th><th scope="col">"Objective"</th>
                                <th scope="col">"Budget remaining"</th><th scope="col">"Health"</th>
                            </tr></thead>
                            <tbody>
                                {list.statuses.into_iter().map(|status| view! {
                                    <tr>
                                        <td><a href=format!("/slos/{}", status.slo_id)>{status.name}</a></td>
                                        <td class="figure">{sli_text(status.sli)}</td>
                                        <td class="figure">{objective_text(status.objective)}</td>
                                        <td><BudgetBar remaining_percent=status.budget.remaining_percent health=status.health/></td>
                                        <td><HealthBadge health=status.health/></td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            </Loaded>
        </div>
    }
}

/// MTTA or MTTR as people read it, or a dash when no incident was acknowledged or resolved.
fn mean_time(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "—".to_owned(), format::duration)
}

/// MTTA and MTTR of the incidents triggered in the dashboard's time range: the overall
/// figures as stats, then one row per service.
#[component]
pub(super) fn AnalyticsPanel(data: Signal<PanelData>) -> impl IntoView {
    let analytics = LocalResource::new(move || {
        let (start, end) = data.with(|data| (data.start, data.end));
        async move {
            let at = |seconds: f64| {
                chrono::DateTime::from_timestamp(seconds as i64, 0).unwrap_or_default()
            };
            api::incident_analytics(at(start), at(end)).await
        }
    });
    let row = |row: AnalyticsRow| {
        view! {
            <tr>
                <td>{row.key}</td>
                <td class="figure">{row.incidents}</td>
                <td class="figure">{mean_time(row.mtta_seconds)}</td>
                <td class="figure">{mean_time(row.mttr_seconds)}</td>
            </tr>
        }
    };
    view! {
        <div class="panel-body panel-list">
            <Loaded resource=analytics what="incident analytics" let:analytics>
                <div class="incident-tiles">
                    <div class="incident-tile" data-testid="mtta">
                        <strong>{mean_time(analytics.overall.mtta_seconds)}</strong>
                        <span>"MTTA"</span>
                    </div>
                    <div class="incident-tile" data-testid="mttr">
                        <strong>{mean_time(analytics.overall.mttr_seconds)}</strong>
                        <span>"MTTR"</span>
                    </div>
                    <a class="incident-tile" href="/incidents">
                        <strong>{analytics.overall.incidents}</strong>
                        <span>"incidents"</span>
                    </a>
                </div>
                {if analytics.by_service.is_empty() {
                    view! { <p class="panel-empty">"No incidents were triggered in this time range."</p> }.into_any()
                } else {
                    view! {
                        <table class="table">
                            <thead><tr>
                                <th scope="col">"Service"</th><th scope="col">"Incidents"</th>
                                <th scope="col">"MTTA"</th><th scope="col">"MTTR"</th>
                            </tr></thead>
                            <tbody>{analytics.by_service.into_iter().map(row).collect_view()}</tbody>
                        </table>
                    }.into_any()
                }}
            </Loaded>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{TimeZone, Utc};

    use super::*;

    fn alert(id: i64, state: AlertState, severity: Severity, at: i64) -> Alert {
        Alert {
            id,
            rule_id: None,
            rule_name: Some(format!("rule {id}")),
            fingerprint: format!("f{id}"),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            state,
            severity,
            value: None,
            active_at: Utc.timestamp_opt(at, 0).unwrap(),
            fired_at: None,
            resolved_at: None,
            updated_at: Utc.timestamp_opt(at, 0).unwrap(),
            silenced_by: Vec::new(),
            inhibited_by: Vec::new(),
        }
    }

    #[test]
    fn alert_lists_show_firing_and_severe_first_up_to_the_limit() {
        let alerts = vec![
            alert(1, AlertState::Pending, Severity::Critical, 100),
            alert(2, AlertState::Firing, Severity::Warning, 300),
            alert(3, AlertState::Firing, Severity::Critical, 200),
            alert(4, AlertState::Resolved, Severity::Critical, 400),
            alert(5, AlertState::Firing, Severity::Critical, 250),
        ];
        let ids: Vec<i64> = urgent_alerts(alerts.clone(), 10)
            .iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(ids, [5, 3, 2, 1]);
        assert_eq!(urgent_alerts(alerts, 2).len(), 2);
    }

    #[test]
    fn alerts_are_named_by_rule_or_alertname() {
        let mut one = alert(1, AlertState::Firing, Severity::Info, 0);
        assert_eq!(alert_name(&one), "rule 1");
        one.rule_name = None;
        one.labels.insert("alertname".into(), "HighLatency".into());
        assert_eq!(alert_name(&one), "HighLatency");
        one.labels.clear();
        assert_eq!(alert_name(&one), "f1");
    }
}
