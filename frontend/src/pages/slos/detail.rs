//! One SLO's page (`/slos/{id}`): its SLI now against the objective, the error budget (total,
//! consumed, remaining) in percent and in events or minutes, the burn rates and when the
//! budget runs out; charts of the SLI and of the budget left over the SLO's window, with the
//! time not counted shaded; the incidents that used budget; and what it measures.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};
use vigil_shared::Role;
use vigil_shared::slo::{ExcludedSpan, IncidentImpact, Sli, Slo, SloHistory, SloPoint, SloStatus};

use super::list::refresh_every_minute;
use super::{
    BudgetBar, EXCLUDED_COLOR, HealthBadge, OBJECTIVE_COLOR, amount, budget_percent, burn_text,
    exhaustion_text, objective_text, sli_text, window_text,
};
use crate::api::{self, ApiError};
use crate::components::{
    ChartData, ChartSeries, ErrorBanner, Loaded, ShadedSpan, ThresholdLine, TimeSeriesChart,
    confirm,
};
use crate::format;
use crate::session::use_session;

/// Points the charts aim at across a window.
const CHART_POINTS: i64 = 500;

/// Steps the history is read at, seconds: the smallest that keeps a window near
/// [`CHART_POINTS`] points.
const STEPS: [i64; 11] = [
    60, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400,
];

/// The step for a window of `seconds`.
pub fn step_for(seconds: i64) -> i64 {
    let wanted = seconds / CHART_POINTS;
    STEPS
        .iter()
        .copied()
        .find(|step| *step >= wanted)
        .unwrap_or(86_400)
}

#[component]
pub fn SloPage() -> impl IntoView {
    let params = use_params_map();
    let id = params.with_untracked(|p| p.get("id").and_then(|id| id.parse::<i64>().ok()));
    let Some(id) = id else {
        return view! { <p class="banner banner-error" role="alert">"There is no such SLO."</p> }
            .into_any();
    };
    let slo = LocalResource::new(move || async move {
        let slo = api::get_slo(id).await?;
        let status = api::slo_status(id).await?;
        Ok((slo, status))
    });
    refresh_every_minute(move || slo.refetch());
    view! {
        <Loaded resource=slo what="the SLO" let:loaded>
            <SloView slo=loaded.0 status=loaded.1/>
        </Loaded>
    }
    .into_any()
}

#[component]
fn SloView(slo: Slo, status: SloStatus) -> impl IntoView {
    let session = use_session();
    let navigate = StoredValue::new_local(use_navigate());
    let error = RwSignal::new(None::<ApiError>);
    let id = slo.id;
    let name = slo.slo.name.clone();
    let delete = move |_| {
        if !confirm(&format!(
            "Delete the SLO {name}? Its history and burn-rate alert rules go with it."
        )) {
            return;
        }
        leptos::task::spawn_local(async move {
            match api::delete_slo(id).await {
                Ok(()) => {
                    let _ = navigate.try_with_value(|n| n("/slos", Default::default()));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let unit = status.unit;
    let budget = status.budget.clone();
    let burn = status.burn_rates.clone();

    view! {
        <div class="card">
            <div class="card-header">
                <div class="title-with-badge">
                    <h2>{slo.slo.name.clone()}</h2>
                    <HealthBadge health=status.health/>
                </div>
                <div class="row-actions">
                    <a class="button" href=format!("/reports?slos={id}")>"Report for this SLO"</a>
                    <Show when=move || session.can(Role::Editor)>
                        <a class="button" href=format!("/slos/{id}/edit")>"Edit"</a>
                        <button class="button danger" type="button" on:click=delete.clone()>"Delete"</button>
                    </Show>
                </div>
            </div>
            <ErrorBanner error=error/>
            <p class="muted">
                {format!("Service {} · {} · window {} to {}", slo.slo.service, window_text(&slo.slo.window), format::time(&status.window_start), format::time(&status.window_end))}
            </p>
            <div class="headline" aria-label="Headline figures">
                <div class="headline-figure">
                    <span class="muted">"SLI"</span>
                    <strong data-testid="slo-sli">{sli_text(status.sli)}</strong>
                    <span class="muted small">{format!("{} good of {}", super::whole(status.good), super::whole(status.total))}</span>
                </div>
                <div class="headline-figure">
                    <span class="muted">"Objective"</span>
                    <strong>{objective_text(status.objective)}</strong>
                </div>
                <div class="headline-figure">
                    <span class="muted">"Budget remaining"</span>
                    <BudgetBar remaining_percent=budget.remaining_percent health=status.health/>
                    <span class="muted small">{amount(budget.remaining, unit)}</span>
                </div>
                <div class="headline-figure">
                    <span class="muted">"Exhausted in"</span>
                    <strong>{exhaustion_text(status.exhausted_in_seconds)}</strong>
                </div>
            </div>
            <div class="grid two">
                <dl class="facts" aria-label="Error budget">
                    <dt>"Budget total"</dt><dd>{amount(budget.total, unit)}</dd>
                    <dt>"Consumed"</dt><dd>{format!("{} ({})", budget_percent(budget.consumed_percent), amount(budget.consumed, unit))}</dd>
                    <dt>"Remaining"</dt><dd>{format!("{} ({})", budget_percent(budget.remaining_percent), amount(budget.remaining, unit))}</dd>
                    <dt>"Not counted"</dt><dd>{format!("{} min (maintenance and corrections)", status.excluded_minutes)}</dd>
                </dl>
                <dl class="facts" aria-label="Burn rates">
                    <dt>"Burn rate 1h"</dt><dd>{burn_text(burn.h1)}</dd>
                    <dt>"Burn rate 6h"</dt><dd>{burn_text(burn.h6)}</dd>
                    <dt>"Burn rate 1d"</dt><dd>{burn_text(burn.d1)}</dd>
                    <dt>"Burn rate 3d"</dt><dd>{burn_text(burn.d3)}</dd>
                </dl>
            </div>
        </div>
        <History slo=slo.clone() status=status/>
        <Definition slo=slo/>
    }
}

/// The charts and incidents over the SLO's window.
#[component]
fn History(slo: Slo, status: SloStatus) -> impl IntoView {
    let id = slo.id;
    let objective = slo.slo.objective;
    let start = status.window_start;
    // A calendar window ends in the future: the charts show all of it, the history runs to now.
    let end = status.window_end;
    let to = end.min(Utc::now());
    let step = step_for((to - start).num_seconds().max(60));
    let history = LocalResource::new(move || api::slo_history(id, start, to, step));
    view! {
        <Loaded resource=history what="the SLO's history" let:history>
            {history_view(history, objective, start, end)}
        </Loaded>
    }
}

fn seconds(at: &DateTime<Utc>) -> f64 {
    at.timestamp_millis() as f64 / 1000.0
}

fn excluded_spans(excluded: &[ExcludedSpan]) -> Vec<ShadedSpan> {
    excluded
        .iter()
        .map(|span| ShadedSpan {
            from: seconds(&span.start),
            to: seconds(&span.end),
            color: EXCLUDED_COLOR,
        })
        .collect()
}

/// The SLI and the budget left as two charts over `start`..`end`.
pub fn sli_and_budget_charts(
    points: &[SloPoint],
    excluded: &[ExcludedSpan],
    objective: f64,
    (start, end, step): (f64, f64, f64),
) -> (ChartData, ChartData) {
    let series = |name: &str, value: fn(&SloPoint) -> Option<f64>| ChartSeries {
        name: name.to_owned(),
        points: points
            .iter()
            .filter_map(|p| value(p).map(|v| (seconds(&p.at), v)))
            .collect(),
    };
    let spans = excluded_spans(excluded);
    let sli = ChartData {
        start,
        end,
        step,
        series: vec![series("SLI %", |p| p.sli)],
        thresholds: vec![ThresholdLine {
            name: format!("objective {}", objective_text(objective)),
            value: objective,
            color: OBJECTIVE_COLOR,
        }],
        spans: spans.clone(),
    };
    let budget = ChartData {
        start,
        end,
        step,
        series: vec![series("budget remaining %", |p| p.budget_remaining_percent)],
        thresholds: vec![ThresholdLine {
            name: "budget spent".to_owned(),
            value: 0.0,
            color: OBJECTIVE_COLOR,
        }],
        spans,
    };
    (sli, budget)
}

fn history_view(
    history: SloHistory,
    objective: f64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> impl IntoView {
    let (sli, budget) = sli_and_budget_charts(
        &history.points,
        &history.excluded,
        objective,
        (seconds(&start), seconds(&end), history.step_seconds as f64),
    );
    let excluded_note = (!history.excluded.is_empty()).then(|| {
        view! {
            <p class="muted small">
                <i class="swatch" style=format!("background:{EXCLUDED_COLOR}")></i>
                "Shaded: not counted — "
                {history.excluded.iter().map(|s| s.reason.clone()).collect::<Vec<_>>().join("; ")}
            </p>
        }
    });
    view! {
        <div class="grid two">
            <div class="card">
                <h3>"SLI against the objective"</h3>
                <TimeSeriesChart data=Signal::stored(sli) label="The SLI over the window, with the objective line"/>
            </div>
            <div class="card">
                <h3>"Error budget remaining"</h3>
                <TimeSeriesChart data=Signal::stored(budget) label="The error budget left over the window"/>
            </div>
        </div>
        {excluded_note}
        <div class="card">
            <h3>"Incidents in the window"</h3>
            {incidents_table(&history.incidents)}
        </div>
    }
}

fn incidents_table(incidents: &[IncidentImpact]) -> AnyView {
    if incidents.is_empty() {
        return view! { <p class="muted">"No incidents of this service in the window."</p> }
            .into_any();
    }
    let rows = incidents
        .iter()
        .map(|incident| {
            let open_for = incident
                .resolved_at
                .map(|resolved| {
                    format::duration((resolved - incident.triggered_at).num_seconds() as f64)
                })
                .unwrap_or_else(|| "still open".to_owned());
            view! {
                <tr>
                    <td><a href=format!("/incidents/{}", incident.id)>{format!("#{} {}", incident.id, incident.title)}</a></td>
                    <td><span class=format!("badge severity-{}", incident.severity)>{incident.severity.clone()}</span></td>
                    <td>{format::time(&incident.triggered_at)}</td>
                    <td>{open_for}</td>
                    <td class="figure">{super::whole(incident.budget_consumed)}</td>
                    <td class="figure">{budget_percent(incident.budget_impact_percent)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="table" aria-label="Incidents and their budget impact">
            <thead><tr>
                <th>"Incident"</th><th>"Severity"</th><th>"Triggered"</th><th>"Open for"</th>
                <th>"Budget used"</th><th>"Of the budget"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// What the SLO measures and the PromQL behind it.
#[component]
fn Definition(slo: Slo) -> impl IntoView {
    let sli = match &slo.slo.sli {
        Sli::Events {
            good: Some(good),
            total,
            ..
        } => {
            format!("Good events {good} over total {total}")
        }
        Sli::Events { bad, total, .. } => format!(
            "Bad events {} over total {total}",
            bad.clone().unwrap_or_default()
        ),
        Sli::Latency {
            histogram,
            threshold,
        } => format!(
            "Requests faster than {} s, from {histogram}",
            format::value(*threshold)
        ),
        Sli::TimeSlices { condition } => format!("Minutes in which {condition} holds"),
    };
    let labels = slo
        .slo
        .labels
        .iter()
        .map(|(k, v)| view! { <span class="label-pair">{format!("{k}={v}")}</span> })
        .collect_view();
    let rules = slo
        .alert_rule_ids
        .iter()
        .map(|id| view! { <a href=format!("/alerts/rules/{id}")>{format!("rule #{id}")}</a>" " })
        .collect_view();
    let owner = slo.slo.owner_team_id;
    let teams = LocalResource::new(move || async move {
        let Some(id) = owner else {
            return "none".to_owned();
        };
        api::team_directory()
            .await
            .ok()
            .and_then(|list| list.teams.into_iter().find(|t| t.id == id))
            .map_or_else(|| format!("team #{id}"), |t| t.name)
    });
    let burn_alerts = if slo.slo.burn_alerts {
        "on: page at 14.4× (1h & 5m) and 6× (6h & 30m), ticket at 3× (1d & 2h) and 1× (3d & 6h)"
    } else {
        "off"
    };
    view! {
        <div class="card">
            <h3>"Definition"</h3>
            <dl class="facts">
                <dt>"Owner team"</dt><dd>{move || teams.get()}</dd>
                <dt>"Description"</dt><dd>{slo.slo.description.clone()}</dd>
                <dt>"SLI"</dt><dd>{sli}</dd>
                <dt>"Labels"</dt><dd class="labels">{labels}</dd>
                <dt>"Burn-rate alerts"</dt><dd>{burn_alerts}" "{rules}</dd>
                <dt>"Good (PromQL)"</dt><dd><code class="query">{slo.queries.good.clone()}</code></dd>
                <dt>"Total (PromQL)"</dt><dd><code class="query">{slo.queries.total.clone()}</code></dd>
                <dt>"Changed"</dt>
                <dd>{format!("{}{}", format::time(&slo.updated_at), slo.updated_by.as_ref().map(|by| format!(" by {by}")).unwrap_or_default())}</dd>
            </dl>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_read_at_a_step_that_keeps_charts_near_500_points() {
        assert_eq!(step_for(3_600), 60);
        assert_eq!(step_for(7 * 86_400), 1_800);
        assert_eq!(step_for(30 * 86_400), 7_200);
        assert_eq!(step_for(400 * 86_400), 86_400);
    }
}
