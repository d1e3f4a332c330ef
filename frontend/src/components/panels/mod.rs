//! How each kind of dashboard panel draws (SPEC §6): [`PanelBody`] takes a panel, what the page
//! fetched for it and the height it has, and draws the kind's chart, numbers, table or text.
//! Panels of Vigil's own kinds (alerts, incidents, on-call, SLOs) fetch their own data.
//!
//! The figures and tables are built by plain functions of the panel and its data, tested
//! natively; the components only hand them to plotly or to the DOM.

mod heatmap;
mod table;
mod text;
mod time_series;
mod values;
mod vigil;

use std::collections::BTreeMap;

use leptos::html;
use leptos::prelude::*;
use vigil_shared::dashboard::{Annotation, Panel, PanelKind, ThresholdStep};
use vigil_shared::prometheus::QueryData;
use wasm_bindgen::closure::Closure;

use crate::components::{Loading, chart};
use crate::format;

pub use text::markdown_html;

/// Height of one line of messages above a drawing (failed queries, series left out).
const MESSAGE_HEIGHT: u32 = 22;

/// What the page fetched for one panel: the window (unix seconds), the step, each of the
/// panel's queries' results in order, and the annotations to draw.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PanelData {
    pub start: f64,
    pub end: f64,
    pub step: f64,
    /// One per `panel.queries` entry, same order: the answer or the error text.
    pub results: Vec<Result<QueryData, String>>,
    pub annotations: Vec<Annotation>,
}

/// A panel's drawing, whatever its kind: a loading state until `data` comes, then the chart,
/// numbers, table or text. `panel` has its variables interpolated already.
#[component]
pub fn PanelBody(
    /// The panel, variables already interpolated by the page.
    #[prop(into)]
    panel: Signal<Panel>,
    /// None while loading (show a loading state), then the data.
    #[prop(into)]
    data: Signal<Option<PanelData>>,
    /// Height in pixels available for the drawing.
    #[prop(into)]
    height: Signal<u32>,
    /// Called with (start, end) unix seconds when the user drags across a time-series chart
    /// to zoom.
    #[prop(optional, into)]
    on_zoom: Option<Callback<(f64, f64)>>,
) -> impl IntoView {
    let kind = Memo::new(move |_| panel.with(|panel| panel.kind));
    let loaded = Memo::new(move |_| data.with(Option::is_some));
    let data: Signal<PanelData> = Memo::new(move |_| data.get().unwrap_or_default()).into();
    // Text needs no data, and Vigil's own kinds fetch theirs (again whenever `data` changes);
    // the others wait for theirs.
    let loading =
        || view! { <div class="panel-body panel-loading"><Loading what="the panel"/></div> };
    move || match kind.get() {
        PanelKind::Text => view! { <text::TextPanel panel height/> }.into_any(),
        PanelKind::AlertList => view! { <vigil::AlertListPanel panel data/> }.into_any(),
        PanelKind::Incidents => view! { <vigil::IncidentsPanel panel data/> }.into_any(),
        PanelKind::OnCall => view! { <vigil::OnCallPanel data/> }.into_any(),
        PanelKind::SloStatus => view! { <vigil::SloStatusPanel data/> }.into_any(),
        PanelKind::IncidentAnalytics => view! { <vigil::AnalyticsPanel data/> }.into_any(),
        _ if !loaded.get() => loading().into_any(),
        PanelKind::TimeSeries => {
            view! { <time_series::TimeSeriesPanel panel data height on_zoom/> }.into_any()
        }
        PanelKind::Stat => view! { <values::StatPanel panel data/> }.into_any(),
        PanelKind::Gauge => view! { <values::GaugePanel panel data height/> }.into_any(),
        PanelKind::BarGauge => view! { <values::BarGaugePanel panel data/> }.into_any(),
        PanelKind::Table => view! { <table::TablePanel panel data height/> }.into_any(),
        PanelKind::Heatmap => view! { <heatmap::HeatmapPanel panel data height/> }.into_any(),
    }
}

/// A plotly figure (JSON), redrawn whenever it changes; with `on_zoom`, dragging across the
/// x axis calls it with the new window (unix seconds).
#[component]
fn Plot(
    #[prop(into)] figure: Signal<String>,
    on_zoom: Option<Callback<(f64, f64)>>,
) -> impl IntoView {
    let node = NodeRef::<html::Div>::new();
    let problem = RwSignal::new(None::<String>);
    let drawn = RwSignal::new(false);
    // The JS function plotly's zoom calls; it lives as long as the plot.
    let zoom = on_zoom.map(|callback| {
        StoredValue::new_local(Closure::<dyn Fn(f64, f64)>::new(move |from, to| {
            callback.run((from, to))
        }))
    });
    Effect::new(move |_| {
        let figure = figure.get();
        let Some(element) = node.get() else {
            return;
        };
        let on_zoom = zoom.map(|zoom| zoom.with_value(|closure| closure.as_ref().clone()));
        // Not drawn until this drawing is done (what tests and the benchmark wait for).
        drawn.set(false);
        leptos::task::spawn_local(async move {
            let outcome = chart::draw(&element, &figure, on_zoom.as_ref()).await;
            let _ = drawn.try_set(outcome.is_ok());
            let _ = problem.try_set(outcome.err());
        });
    });
    on_cleanup(move || {
        if let Some(element) = node.get_untracked() {
            chart::purge(&element);
        }
    });
    view! {
        {move || problem.get().map(|p| view! { <p class="panel-message" role="alert">{format!("Chart: {p}.")}</p> })}
        <div class="panel-plot" node_ref=node data-testid="panel-plot" data-drawn=move || drawn.get().to_string()></div>
    }
}

/// What a panel has to say above its drawing: failed queries, series left out.
#[component]
fn Messages(#[prop(into)] messages: Signal<Vec<String>>) -> impl IntoView {
    view! {
        <For each=move || messages.get() key=|message| message.clone() let:message>
            <p class="panel-message" role="alert">{message}</p>
        </For>
    }
}

/// One series a panel draws: the query it came from (index into `panel.queries`), its legend
/// name, its labels, and its `(unix seconds, value)` points in time order.
#[derive(Clone, Debug, PartialEq)]
struct Series {
    query: usize,
    name: String,
    labels: BTreeMap<String, String>,
    points: Vec<(f64, f64)>,
}

/// The series of a panel's results, in query order, hidden queries left out, and what went
/// wrong with the queries that failed (`Query 2: …`), so that the others still draw.
fn collect_series(panel: &Panel, data: &PanelData) -> (Vec<Series>, Vec<String>) {
    let mut series = Vec::new();
    let mut errors = Vec::new();
    for (index, (query, result)) in panel.queries.iter().zip(&data.results).enumerate() {
        if query.hidden {
            continue;
        }
        let mut push = |labels: BTreeMap<String, String>, points: Vec<(f64, f64)>| {
            let name = legend_name(&query.legend, &labels, &query.expr);
            series.push(Series {
                query: index,
                name,
                labels,
                points,
            });
        };
        match result {
            Ok(QueryData::Matrix(matrix)) => {
                for one in matrix {
                    let points = one.values.iter().map(|p| (p.0, p.value())).collect();
                    push(one.metric.clone(), points);
                }
            }
            Ok(QueryData::Vector(vector)) => {
                for one in vector {
                    push(one.metric.clone(), vec![(one.value.0, one.value.value())]);
                }
            }
            Ok(QueryData::Scalar(sample)) => {
                push(BTreeMap::new(), vec![(sample.0, sample.value())])
            }
            Ok(QueryData::String(_)) => errors.push(format!(
                "Query {}: a string result cannot be drawn.",
                index + 1
            )),
            Err(error) => errors.push(format!("Query {}: {error}", index + 1)),
        }
    }
    (series, errors)
}

/// A series' legend name: the template with each `{{label}}` replaced by the label's value
/// (empty when the series has no such label), or, without a template, the series as PromQL
/// writes it (`up{job="api"}`); a series without labels (a scalar) is named by its query.
fn legend_name(template: &str, labels: &BTreeMap<String, String>, expr: &str) -> String {
    if template.trim().is_empty() {
        return if labels.is_empty() {
            expr.to_owned()
        } else {
            format::series_name(labels)
        };
    }
    let mut name = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}") else {
            break;
        };
        name.push_str(&rest[..open]);
        let label = rest[open + 2..open + 2 + close].trim();
        name.push_str(labels.get(label).map_or("", String::as_str));
        rest = &rest[open + 2 + close + 2..];
    }
    name.push_str(rest);
    name
}

/// The latest value of a series that is a number, else the latest value, else NaN: what
/// stats, gauges and tables show.
fn last_value(points: &[(f64, f64)]) -> f64 {
    points
        .iter()
        .rev()
        .map(|p| p.1)
        .find(|v| !v.is_nan())
        .or_else(|| points.last().map(|p| p.1))
        .unwrap_or(f64::NAN)
}

/// The colour thresholds give `value`: the step with the highest value at or below it, or the
/// base step (the one without a value). None without thresholds.
pub fn threshold_color(thresholds: &[ThresholdStep], value: f64) -> Option<&str> {
    let base = thresholds.iter().find(|step| step.value.is_none());
    let mut reached: Option<&ThresholdStep> = None;
    for step in thresholds {
        if let Some(at) = step.value
            && value >= at
            && reached.is_none_or(|best| best.value.is_some_and(|best| at >= best))
        {
            reached = Some(step);
        }
    }
    reached
        .or(base)
        .or_else(|| thresholds.first())
        .map(|step| step.color.as_str())
}

/// Text for plotly's labels and hover boxes, which read a little HTML: `<`, `>` and `&` kept
/// as themselves rather than read as markup.
fn plot_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use vigil_shared::dashboard::PanelQuery;
    use vigil_shared::prometheus::{InstantSample, RangeSeries, SamplePair};

    use super::*;

    pub(super) fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    pub(super) fn query(expr: &str, legend: &str) -> PanelQuery {
        PanelQuery {
            expr: expr.to_owned(),
            legend: legend.to_owned(),
            ..PanelQuery::default()
        }
    }

    /// A series written out in a test: its labels and its points.
    pub(super) type TestSeries<'a> = (&'a [(&'a str, &'a str)], &'a [(f64, f64)]);

    pub(super) fn matrix(series: &[TestSeries]) -> QueryData {
        QueryData::Matrix(
            series
                .iter()
                .map(|(metric, points)| RangeSeries {
                    metric: labels(metric),
                    values: points
                        .iter()
                        .map(|(t, v)| SamplePair(*t, vigil_shared::prometheus::format_value(*v)))
                        .collect(),
                })
                .collect(),
        )
    }

    #[test]
    fn legend_templates_fill_in_labels() {
        let labels = labels(&[("job", "api"), ("instance", "a:9090")]);
        assert_eq!(
            legend_name("{{job}} {{instance}}", &labels, "up"),
            "api a:9090"
        );
        assert_eq!(legend_name("{{ job }} / {{zone}}", &labels, "up"), "api / ");
        assert_eq!(
            legend_name("", &labels, "up"),
            r#"{instance="a:9090", job="api"}"#
        );
        assert_eq!(legend_name("", &BTreeMap::new(), "1 + 1"), "1 + 1");
        assert_eq!(legend_name("cut {{job", &labels, "up"), "cut {{job");
    }

    #[test]
    fn series_come_from_every_query_and_errors_are_kept_apart() {
        let mut hidden = query("hidden", "");
        hidden.hidden = true;
        let panel = Panel {
            queries: vec![
                query("up", "{{job}}"),
                query("bad(", ""),
                hidden,
                query("time()", ""),
            ],
            ..Panel::default()
        };
        let data = PanelData {
            results: vec![
                Ok(matrix(&[(&[("job", "api")], &[(10.0, 1.0), (20.0, 0.0)])])),
                Err("parse error".to_owned()),
                Ok(QueryData::Vector(vec![InstantSample {
                    metric: BTreeMap::new(),
                    value: SamplePair(0.0, "1".into()),
                }])),
                Ok(QueryData::Scalar(SamplePair(20.0, "5".into()))),
            ],
            ..PanelData::default()
        };
        let (series, errors) = collect_series(&panel, &data);
        assert_eq!(errors, ["Query 2: parse error"]);
        let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["api", "time()"]);
        assert_eq!(series[0].points, [(10.0, 1.0), (20.0, 0.0)]);
        assert_eq!(series[1].query, 3);
    }

    #[test]
    fn thresholds_colour_by_value() {
        let steps = vec![
            ThresholdStep {
                value: None,
                color: "green".into(),
            },
            ThresholdStep {
                value: Some(90.0),
                color: "red".into(),
            },
            ThresholdStep {
                value: Some(70.0),
                color: "orange".into(),
            },
        ];
        assert_eq!(threshold_color(&steps, 10.0), Some("green"));
        assert_eq!(threshold_color(&steps, 70.0), Some("orange"));
        assert_eq!(threshold_color(&steps, 95.0), Some("red"));
        assert_eq!(threshold_color(&steps, f64::NAN), Some("green"));
        assert_eq!(threshold_color(&[], 1.0), None);
    }

    #[test]
    fn plot_text_is_not_markup() {
        assert_eq!(plot_text("<b>a & b</b>"), "&lt;b&gt;a &amp; b&lt;/b&gt;");
    }
}
