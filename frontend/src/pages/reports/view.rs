//! An SLA report as the page shows it: the summary, each SLO's figures (objective, achieved,
//! met, budget consumed, bad events or minutes, time not counted, incidents, MTTA, MTTR), the
//! daily SLI as a chart, the worst days, the incidents with their budget impact, the notes, and
//! how the figures were computed.

use chrono::{SecondsFormat, TimeDelta};
use leptos::prelude::*;
use vigil_shared::slo::{BudgetUnit, ReportIncident, SlaReport, SloReport};

use crate::components::{ChartData, ChartSeries, TimeSeriesChart};
use crate::format;
use crate::pages::slos::{budget_percent, objective_text, sli_text, whole};
use crate::zone;

fn met_badge(met: Option<bool>) -> AnyView {
    match met {
        Some(true) => view! { <span class="badge health-ok">"met"</span> }.into_any(),
        Some(false) => view! { <span class="badge health-breached">"breached"</span> }.into_any(),
        None => view! { <span class="badge health-no-data">"no data"</span> }.into_any(),
    }
}

fn maybe_duration(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "—".to_owned(), format::duration)
}

/// Bad events, or bad minutes (downtime) for time-slice SLOs.
fn bad_text(slo: &SloReport) -> String {
    match slo.unit {
        BudgetUnit::Events => format!("{} events", whole(slo.bad)),
        BudgetUnit::Minutes => format!("{} min down", whole(slo.bad)),
    }
}

pub fn report_view(report: SlaReport) -> AnyView {
    let period = {
        let last_day = report.to - TimeDelta::seconds(1);
        format!(
            "{} to {} ({})",
            zone::date_in(&report.time_zone, &report.from),
            zone::date_in(&report.time_zone, &last_day),
            report.time_zone
        )
    };
    let summary = &report.summary;
    let summary_text = format!(
        "{} SLO{}: {} met, {} breached, {} without data{}.",
        summary.slos,
        if summary.slos == 1 { "" } else { "s" },
        summary.met,
        summary.breached,
        summary.no_data,
        summary
            .met_percent
            .map(|p| format!(" — {p:.0} % of those with data met their objective"))
            .unwrap_or_default()
    );
    let services = if report.services.is_empty() {
        "All services".to_owned()
    } else {
        format!("Services: {}", report.services.join(", "))
    };
    view! {
        <section
            class="card report"
            aria-label="Report"
            data-testid="report"
            data-from=report.from.to_rfc3339_opts(SecondsFormat::Secs, true)
            data-to=report.to.to_rfc3339_opts(SecondsFormat::Secs, true)
        >
            <h2>{report.title.clone()}</h2>
            <p class="muted">{period}" · "{services}" · generated "{format::time(&report.generated_at)}</p>
            <p class="report-summary" data-testid="report-summary">{summary_text}</p>
            {slo_table(&report.slos)}
            {daily_chart(&report)}
            {worst_days(&report.slos)}
            <h3>"Incidents"</h3>
            {incidents(&report.incidents)}
            {(!report.notes.is_empty()).then(|| view! {
                <h3>"Notes"</h3>
                <ul class="notes">{report.notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}</ul>
            })}
            {provenance(&report.slos)}
        </section>
    }
    .into_any()
}

fn slo_table(slos: &[SloReport]) -> AnyView {
    if slos.is_empty() {
        return view! { <p class="muted">"No SLOs match: there is nothing to report on."</p> }
            .into_any();
    }
    view! {
        <table class="table report-table" aria-label="SLOs in the report">
            <thead><tr>
                <th>"SLO"</th><th>"Service"</th><th>"Objective"</th><th>"Achieved"</th><th>"Met"</th>
                <th>"Budget consumed"</th><th>"Bad"</th><th>"Not counted"</th><th>"Incidents"</th>
                <th>"MTTA"</th><th>"MTTR"</th>
            </tr></thead>
            <tbody>
                {slos.iter().map(|slo| view! {
                    <tr>
                        <td><a href=format!("/slos/{}", slo.slo_id)>{slo.name.clone()}</a></td>
                        <td>{slo.service.clone()}</td>
                        <td class="figure">{objective_text(slo.objective)}</td>
                        <td class="figure" data-testid="achieved">{sli_text(slo.achieved)}</td>
                        <td>{met_badge(slo.met)}</td>
                        <td class="figure">{budget_percent(slo.budget_consumed_percent)}</td>
                        <td class="figure">{bad_text(slo)}</td>
                        <td class="figure">{format!("{} min", slo.excluded_minutes)}</td>
                        <td class="figure">{slo.incident_count}</td>
                        <td>{maybe_duration(slo.mtta_seconds)}</td>
                        <td>{maybe_duration(slo.mttr_seconds)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Each SLO's SLI day by day, as lines (a day drawn at its noon).
fn daily_chart(report: &SlaReport) -> Option<AnyView> {
    let noon = |date: chrono::NaiveDate| {
        date.and_hms_opt(12, 0, 0)
            .map(|t| t.and_utc().timestamp() as f64)
            .unwrap_or_default()
    };
    let series: Vec<ChartSeries> = report
        .slos
        .iter()
        .filter(|slo| slo.daily.iter().any(|d| d.sli.is_some()))
        .map(|slo| ChartSeries {
            name: slo.name.clone(),
            points: slo
                .daily
                .iter()
                .filter_map(|d| d.sli.map(|sli| (noon(d.date), sli)))
                .collect(),
        })
        .collect();
    if series.is_empty() {
        return None;
    }
    let data = ChartData {
        start: report.from.timestamp() as f64,
        end: report.to.timestamp() as f64,
        step: 86_400.0,
        series,
        thresholds: Vec::new(),
        spans: Vec::new(),
    };
    Some(
        view! {
            <h3>"Daily SLI"</h3>
            <TimeSeriesChart data=Signal::stored(data) label="Each SLO's SLI day by day"/>
        }
        .into_any(),
    )
}

fn worst_days(slos: &[SloReport]) -> Option<AnyView> {
    let rows: Vec<AnyView> = slos
        .iter()
        .flat_map(|slo| {
            slo.worst_days.iter().map(move |day| {
                view! {
                    <tr>
                        <td>{slo.name.clone()}</td>
                        <td>{day.date.format("%a %Y-%m-%d").to_string()}</td>
                        <td class="figure">{sli_text(day.sli)}</td>
                        <td class="figure">{format!("{} of {}", whole(day.total - day.good), whole(day.total))}</td>
                    </tr>
                }
                .into_any()
            })
        })
        .collect();
    (!rows.is_empty()).then(|| {
        view! {
            <h3>"Worst days"</h3>
            <table class="table" aria-label="Worst days">
                <thead><tr><th>"SLO"</th><th>"Day"</th><th>"SLI"</th><th>"Bad"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    })
}

fn incidents(incidents: &[ReportIncident]) -> AnyView {
    if incidents.is_empty() {
        return view! { <p class="muted">"No incidents in the period."</p> }.into_any();
    }
    view! {
        <table class="table" aria-label="Incidents in the report">
            <thead><tr>
                <th>"Incident"</th><th>"Severity"</th><th>"Service"</th><th>"Triggered"</th>
                <th>"Acknowledged"</th><th>"Resolved"</th><th>"Budget impact"</th>
            </tr></thead>
            <tbody>
                {incidents.iter().map(|incident| {
                    let impact = incident
                        .budget_impact
                        .iter()
                        .map(|(slo, percent)| format!("{slo}: {}", budget_percent(*percent)))
                        .collect::<Vec<_>>()
                        .join("; ");
                    view! {
                        <tr>
                            <td><a href=format!("/incidents/{}", incident.id)>{format!("#{} {}", incident.id, incident.title)}</a></td>
                            <td><span class=format!("badge severity-{}", incident.severity)>{incident.severity.clone()}</span></td>
                            <td>{incident.service.clone()}</td>
                            <td>{format::time(&incident.triggered_at)}</td>
                            <td>{format::maybe_time(&incident.acknowledged_at)}</td>
                            <td>{format::maybe_time(&incident.resolved_at)}</td>
                            <td>{if impact.is_empty() { "—".to_owned() } else { impact }}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The exact queries and method behind each SLO's figures, so anyone can check them.
fn provenance(slos: &[SloReport]) -> Option<AnyView> {
    (!slos.is_empty()).then(|| {
        view! {
            <details class="provenance">
                <summary>"How these figures were computed"</summary>
                {slos.iter().map(|slo| view! {
                    <dl class="facts">
                        <dt>"SLO"</dt><dd>{slo.name.clone()}</dd>
                        <dt>"Good"</dt><dd><code class="query">{slo.provenance.good_query.clone()}</code></dd>
                        <dt>"Total"</dt><dd><code class="query">{slo.provenance.total_query.clone()}</code></dd>
                        <dt>"Method"</dt><dd>{slo.provenance.method.clone()}</dd>
                    </dl>
                }).collect_view()}
            </details>
        }
        .into_any()
    })
}
