//! Explore: an ad-hoc PromQL query over a time range, drawn as a chart (a range query) and
//! listed as a table (an instant query at the end of the range), as Prometheus' own graph page
//! does. The query and range live in the address, so an Explore view can be shared.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use vigil_shared::prometheus::{QueryData, RangeSeries};

use crate::api;
use crate::components::{
    ChartData, ChartSeries, MAX_SERIES, PromqlEditor, Spinner, TimeRange, TimeRangePicker,
    TimeSeriesChart, replace_address,
};
use crate::format;

/// Most table rows shown.
const MAX_ROWS: usize = 500;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Chart,
    Table,
}

/// A step such as `15s`, `1m`, `1h30m` or plain seconds; `None` for anything else or zero.
fn parse_step(text: &str) -> Option<f64> {
    let text = text.trim();
    let step = text
        .parse::<f64>()
        .ok()
        .or_else(|| format::duration_seconds(text))?;
    (step.is_finite() && step > 0.0).then_some(step)
}

/// Prometheus' graph page default: about 250 points across the range, at least a second.
fn auto_step(range_seconds: f64) -> f64 {
    (range_seconds / 250.0).ceil().max(1.0)
}

fn to_chart(series: &[RangeSeries], start: f64, end: f64, step: f64) -> ChartData {
    ChartData {
        start,
        end,
        step,
        series: series
            .iter()
            .take(MAX_SERIES)
            .map(|s| ChartSeries {
                name: format::series_name(&s.metric),
                points: s.values.iter().map(|p| (p.0, p.value())).collect(),
            })
            .collect(),
        thresholds: Vec::new(),
        spans: Vec::new(),
    }
}

/// Writes the query and range into the address without adding a history entry.
fn remember_in_address(query: &str, range: &TimeRange) {
    let url = format!(
        "/explore?query={}&range={}",
        api::encode_component(query),
        api::encode_component(&range.to_param())
    );
    replace_address(&url);
}

#[component]
pub fn ExplorePage() -> impl IntoView {
    let params = use_query_map();
    let (initial_query, initial_range) = params.with_untracked(|p| {
        (
            p.get("query").unwrap_or_default(),
            p.get("range")
                .and_then(|r| TimeRange::parse(&r))
                .unwrap_or_default(),
        )
    });
    let query = RwSignal::new(initial_query);
    let range = RwSignal::new(initial_range);
    let step_text = RwSignal::new(String::new());
    let tab = RwSignal::new(Tab::Chart);

    let error = RwSignal::new(None::<String>);
    let step_error = RwSignal::new(None::<String>);
    let running = RwSignal::new(false);
    let ran = RwSignal::new(false);
    let chart = RwSignal::new(ChartData::default());
    let series_count = RwSignal::new(0_usize);
    let table = RwSignal::new(None::<QueryData>);
    let took_ms = RwSignal::new(0.0_f64);
    // Answers to an older run that arrive late are dropped.
    let generation = StoredValue::new(0_u64);

    let run = Callback::new(move |()| {
        let text = query.get_untracked().trim().to_owned();
        if text.is_empty() {
            error.set(Some(
                "Type a PromQL query, such as up or rate(http_requests_total[5m]).".to_owned(),
            ));
            return;
        }
        let chosen = range.get_untracked();
        let (start, end) = chosen.window();
        let step = if step_text.with_untracked(|s| s.trim().is_empty()) {
            step_error.set(None);
            auto_step(end - start)
        } else if let Some(step) = step_text.with_untracked(|s| parse_step(s)) {
            step_error.set(None);
            step
        } else {
            step_error.set(Some("Give a step such as 15s, 1m or 30.".to_owned()));
            return;
        };
        remember_in_address(&text, &chosen);
        generation.update_value(|g| *g += 1);
        let this_run = generation.get_value();
        running.set(true);
        leptos::task::spawn_local(async move {
            let began = js_sys::Date::now();
            let ranged = api::query_range(&text, start, end, step).await;
            let instant = match &ranged {
                Ok(_) => Some(api::query_instant(&text, end).await),
                Err(_) => None,
            };
            // The user may have left the page meanwhile (the value is then gone).
            if generation.try_get_value() != Some(this_run) {
                return;
            }
            took_ms.set(js_sys::Date::now() - began);
            running.set(false);
            ran.set(true);
            match ranged {
                Ok(data) => {
                    error.set(None);
                    let series: Vec<RangeSeries> = match data {
                        QueryData::Matrix(series) => series,
                        // Range queries always answer a matrix; keep the others readable anyway.
                        QueryData::Vector(samples) => samples
                            .into_iter()
                            .map(|s| RangeSeries {
                                metric: s.metric,
                                values: vec![s.value],
                            })
                            .collect(),
                        QueryData::Scalar(pair) | QueryData::String(pair) => {
                            vec![RangeSeries {
                                metric: Default::default(),
                                values: vec![pair],
                            }]
                        }
                    };
                    series_count.set(series.len());
                    chart.set(to_chart(&series, start, end, step));
                    match instant {
                        Some(Ok(data)) => table.set(Some(data)),
                        Some(Err(e)) => error.set(Some(e.message)),
                        None => table.set(None),
                    }
                }
                Err(e) => {
                    error.set(Some(e.message));
                    series_count.set(0);
                    chart.set(ChartData {
                        start,
                        end,
                        step,
                        ..Default::default()
                    });
                    table.set(None);
                }
            }
        });
    });

    // A new range re-runs the current query, as a dashboard would.
    Effect::watch(
        move || range.get(),
        move |_, _, _| {
            if !query.with_untracked(|q| q.trim().is_empty()) {
                run.run(());
            }
        },
        false,
    );
    if !query.with_untracked(|q| q.trim().is_empty()) {
        run.run(());
    }

    view! {
        <section class="page explore">
            <header class="page-header">
                <h1>"Explore"</h1>
                <a href="/explore/targets">"Scrape targets"</a>
            </header>
            <div class="card">
                <form
                    class="explore-form"
                    aria-label="Query"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        run.run(());
                    }
                >
                    <PromqlEditor
                        value=query
                        on_run=run
                        error=Signal::derive(move || error.get())
                        placeholder="rate(http_requests_total[5m])"
                    />
                    <div class="explore-controls">
                        <TimeRangePicker range=range/>
                        <div class="field" class:has-error=move || step_error.get().is_some()>
                            <label for="field-step">"Step"</label>
                            <input
                                id="field-step"
                                class="step-input"
                                placeholder=move || {
                                    let (start, end) = range.get().window();
                                    format!("auto ({}s)", auto_step(end - start))
                                }
                                bind:value=step_text
                            />
                            <p class="field-error" role="alert">{move || step_error.get()}</p>
                        </div>
                        <button class="button primary" type="submit" disabled=move || running.get()>
                            {move || if running.get() { "Running…" } else { "Run query" }}
                        </button>
                    </div>
                </form>
            </div>
            <div class="card">
                <div class="explore-tabs" role="tablist" aria-label="Result views">
                    <button
                        type="button"
                        role="tab"
                        aria-selected=move || (tab.get() == Tab::Chart).to_string()
                        on:click=move |_| tab.set(Tab::Chart)
                    >"Chart"</button>
                    <button
                        type="button"
                        role="tab"
                        aria-selected=move || (tab.get() == Tab::Table).to_string()
                        on:click=move |_| tab.set(Tab::Table)
                    >"Table"</button>
                    <span class="muted result-summary" role="status">
                        {move || {
                            if running.get() {
                                return view! { <Spinner/> " Running the query…" }.into_any();
                            }
                            if !ran.get() {
                                return "Run a query to see its result.".into_any();
                            }
                            let count = series_count.get();
                            let shown = if count > MAX_SERIES {
                                format!(" (the chart shows the first {MAX_SERIES})")
                            } else {
                                String::new()
                            };
                            format!(
                                "{count} series{shown} · {}s step · {:.0} ms",
                                chart.with(|c| c.step),
                                took_ms.get()
                            )
                            .into_any()
                        }}
                    </span>
                </div>
                <div hidden=move || tab.get() != Tab::Chart>
                    <TimeSeriesChart data=chart.into() label="Query result over time"/>
                    <Show when=move || ran.get() && !running.get() && series_count.get() == 0 && error.get().is_none()>
                        <p class="muted">"The query returned no data in this range."</p>
                    </Show>
                </div>
                <div hidden=move || tab.get() != Tab::Table>
                    <ResultTable data=table.into()/>
                </div>
            </div>
        </section>
    }
}

/// The instant result at the end of the range: one row per series.
#[component]
fn ResultTable(data: Signal<Option<QueryData>>) -> impl IntoView {
    move || {
        let rows: Vec<(String, String)> = match data.get() {
            None => return view! { <p class="muted">"No result yet."</p> }.into_any(),
            Some(QueryData::Vector(samples)) => samples
                .iter()
                .map(|s| (format::series_name(&s.metric), s.value.1.clone()))
                .collect(),
            Some(QueryData::Matrix(series)) => series
                .iter()
                .map(|s| {
                    let values: Vec<String> = s
                        .values
                        .iter()
                        .map(|p| format!("{} @{}", p.1, p.0))
                        .collect();
                    (format::series_name(&s.metric), values.join("\n"))
                })
                .collect(),
            Some(QueryData::Scalar(pair)) => vec![("scalar".to_owned(), pair.1)],
            Some(QueryData::String(pair)) => vec![("string".to_owned(), pair.1)],
        };
        if rows.is_empty() {
            return view! { <p class="muted">"No series at the end of the range."</p> }.into_any();
        }
        let total = rows.len();
        view! {
            <table class="table result-table" aria-label="Query result">
                <thead><tr><th>"Series"</th><th>"Value"</th></tr></thead>
                <tbody>
                    {rows
                        .into_iter()
                        .take(MAX_ROWS)
                        .map(|(series, value)| view! { <tr><td><code>{series}</code></td><td class="value">{value}</td></tr> })
                        .collect_view()}
                </tbody>
            </table>
            {(total > MAX_ROWS).then(|| view! { <p class="muted">{format!("Showing {MAX_ROWS} of {total} series.")}</p> })}
        }
        .into_any()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_read_with_their_units() {
        assert_eq!(parse_step("15s"), Some(15.0));
        assert_eq!(parse_step("1m"), Some(60.0));
        assert_eq!(parse_step(" 30 "), Some(30.0));
        assert_eq!(parse_step("500ms"), Some(0.5));
        assert_eq!(parse_step("0"), None);
        assert_eq!(parse_step("soon"), None);
        assert_eq!(parse_step("5 years"), None);
    }

    #[test]
    fn the_automatic_step_draws_about_250_points() {
        assert_eq!(auto_step(3_600.0), 15.0);
        assert_eq!(auto_step(86_400.0), 346.0);
        assert_eq!(auto_step(60.0), 1.0);
    }
}
