//! Panels that show each series' latest value: stats (a big number, coloured by thresholds,
//! with an optional sparkline), gauges (plotly's indicator) and bar gauges (HTML bars).

use leptos::prelude::*;
use serde_json::{Value, json};
use vigil_shared::dashboard::{Panel, ThresholdStep};

use super::{
    MESSAGE_HEIGHT, Messages, PanelData, Plot, Series, collect_series, last_value, plot_text,
    threshold_color,
};
use crate::theme::{Theme, use_theme};
use crate::units;

/// Most values a stat, gauge or bar gauge panel shows; beyond, they would be too small to read.
const MAX_VALUES: usize = 8;

/// Drawn when no threshold gives a colour.
const DEFAULT_COLOR: &str = "#4f6bed";

/// One series reduced to its latest value, formatted and coloured.
#[derive(Clone, Debug, PartialEq)]
struct SingleValue {
    name: String,
    /// NaN when the series has no value.
    value: f64,
    text: String,
    color: Option<String>,
    points: Vec<(f64, f64)>,
}

/// The first [`MAX_VALUES`] series as single values, and a note when some were left out.
fn single_values(panel: &Panel, series: &[Series]) -> (Vec<SingleValue>, Option<String>) {
    let values = series
        .iter()
        .take(MAX_VALUES)
        .map(|one| {
            let value = last_value(&one.points);
            SingleValue {
                name: one.name.clone(),
                value,
                text: units::format(value, &panel.unit, panel.decimals),
                color: threshold_color(&panel.thresholds, value).map(str::to_owned),
                points: one.points.clone(),
            }
        })
        .collect();
    let note = (series.len() > MAX_VALUES)
        .then(|| format!("Showing the first {MAX_VALUES} of {} series.", series.len()));
    (values, note)
}

/// The range a gauge spans: the panel's min and max, else a percentage's natural range, else
/// from zero (or the lowest value) up to a round value above the values and thresholds.
fn gauge_range(panel: &Panel, values: &[SingleValue]) -> (f64, f64) {
    let natural = units::percent_range(&panel.unit);
    let finite = || values.iter().map(|v| v.value).filter(|v| v.is_finite());
    let low = panel
        .min
        .or(natural.map(|r| r.0))
        .unwrap_or_else(|| finite().fold(0.0, f64::min));
    let high = panel.max.or(natural.map(|r| r.1)).unwrap_or_else(|| {
        let top = finite()
            .chain(panel.thresholds.iter().filter_map(|t| t.value))
            .fold(low, f64::max);
        if top > low {
            let step = units::nice_step((top - low) / 5.0);
            low + ((top - low) / step).ceil() * step
        } else {
            low + 1.0
        }
    });
    if high > low {
        (low, high)
    } else {
        (low, low + 1.0)
    }
}

/// The stretches of `low..high` each threshold colours: the base step from `low` to the first
/// value, each step from its value to the next one's (or `high`).
fn threshold_bands(thresholds: &[ThresholdStep], low: f64, high: f64) -> Vec<(f64, f64, String)> {
    let mut steps: Vec<(f64, &str)> = thresholds
        .iter()
        .map(|t| (t.value.unwrap_or(f64::NEG_INFINITY), t.color.as_str()))
        .collect();
    steps.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut bands = Vec::new();
    for (i, (from, color)) in steps.iter().enumerate() {
        let to = steps.get(i + 1).map_or(high, |next| next.0);
        let (from, to) = (from.max(low), to.min(high));
        if to > from {
            bands.push((from, to, (*color).to_owned()));
        }
    }
    bands
}

/// Where a value falls between `low` and `high`, from 0 to 1 (0 for NaN).
fn fraction(value: f64, low: f64, high: f64) -> f64 {
    if value.is_nan() {
        return 0.0;
    }
    ((value - low) / (high - low)).clamp(0.0, 1.0)
}

/// A sparkline as SVG polyline points in a 100 × 30 box: time across, value up. None with
/// fewer than two numbers to draw.
fn sparkline(points: &[(f64, f64)]) -> Option<String> {
    let finite: Vec<(f64, f64)> = points.iter().copied().filter(|p| p.1.is_finite()).collect();
    if finite.len() < 2 {
        return None;
    }
    let (t0, t1) = (finite[0].0, finite[finite.len() - 1].0);
    let (low, high) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
            (l.min(p.1), h.max(p.1))
        });
    let span = |from: f64, to: f64| if to > from { to - from } else { 1.0 };
    let line: Vec<String> = finite
        .iter()
        .map(|(t, v)| {
            let x = (t - t0) / span(t0, t1) * 100.0;
            let y = 30.0 - (v - low) / span(low, high) * 28.0 - 1.0;
            format!("{x:.1},{y:.1}")
        })
        .collect();
    Some(line.join(" "))
}

/// The plotly figure of a gauge panel: one angular gauge per value, side by side, with the
/// thresholds' bands and the value written in the panel's unit beneath the arc.
fn gauge_figure(panel: &Panel, values: &[SingleValue], height: u32, dark: bool) -> Value {
    let text_color = if dark { "#e6e9ef" } else { "#1d2330" };
    let (low, high) = gauge_range(panel, values);
    let ticks = units::axis_ticks(low, high, &panel.unit, panel.decimals);
    let bands: Vec<Value> = threshold_bands(&panel.thresholds, low, high)
        .into_iter()
        .map(|(from, to, color)| json!({"range": [from, to], "color": color, "thickness": 0.25}))
        .collect();
    let count = values.len().max(1) as f64;
    let mut traces = Vec::new();
    let mut labels = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let (left, right) = (i as f64 / count, (i + 1) as f64 / count);
        let mut trace = json!({
            "type": "indicator",
            "mode": "gauge",
            "value": if value.value.is_finite() { json!(value.value) } else { json!(null) },
            "domain": {"x": [left + 0.06, right - 0.06], "y": [0, 0.92]},
            "gauge": {
                "axis": {
                    "range": [low, high],
                    "tickmode": "array",
                    "tickvals": ticks.iter().map(|t| t.0).collect::<Vec<_>>(),
                    "ticktext": ticks.iter().map(|t| t.1.clone()).collect::<Vec<_>>(),
                    "tickfont": {"size": 10},
                },
                "bar": {"color": value.color.as_deref().unwrap_or(DEFAULT_COLOR), "thickness": 0.6},
                "bgcolor": "rgba(0,0,0,0)",
                "borderwidth": 0,
                "steps": bands,
            },
        });
        if values.len() > 1 {
            trace["title"] = json!({"text": plot_text(&value.name), "font": {"size": 12}});
        }
        traces.push(trace);
        labels.push(json!({
            "x": (left + right) / 2.0, "y": 0.12, "xref": "paper", "yref": "paper",
            "text": plot_text(&value.text), "showarrow": false, "font": {"size": 20},
        }));
    }
    json!({
        "data": traces,
        "layout": {
            "height": height,
            "autosize": true,
            "margin": {"l": 24, "r": 24, "t": if values.len() > 1 { 32 } else { 12 }, "b": 8},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "font": {"color": text_color, "size": 11},
            "annotations": labels,
        },
        "config": {"responsive": true, "displaylogo": false, "displayModeBar": false},
    })
}

/// The panel's single values and what to say above them (failed queries, values left out).
fn values_of(panel: &Panel, data: &PanelData) -> (Vec<SingleValue>, Vec<String>) {
    let (series, mut messages) = collect_series(panel, data);
    let (values, note) = single_values(panel, &series);
    messages.extend(note);
    (values, messages)
}

#[component]
pub(super) fn StatPanel(panel: Signal<Panel>, data: Signal<PanelData>) -> impl IntoView {
    let values = Memo::new(move |_| panel.with(|panel| data.with(|data| values_of(panel, data))));
    let several = move || values.with(|(values, _)| values.len() > 1);
    view! {
        <div class="panel-body panel-values">
            <Messages messages=Signal::derive(move || values.with(|v| v.1.clone()))/>
            <div class="stats" class:stats-several=several>
                {move || {
                    let show_sparkline = panel.with(|p| p.sparkline);
                    let (values, messages) = values.get();
                    if values.is_empty() && messages.is_empty() {
                        return view! { <p class="panel-empty">"No data"</p> }.into_any();
                    }
                    values
                        .into_iter()
                        .map(|value| {
                            let line = show_sparkline.then(|| sparkline(&value.points)).flatten();
                            view! {
                                <div
                                    class="stat"
                                    class:stat-coloured=value.color.is_some()
                                    style:background-color=value.color.clone()
                                >
                                    {line.map(|points| view! {
                                        <svg class="stat-sparkline" viewBox="0 0 100 30" preserveAspectRatio="none" aria-hidden="true">
                                            <polyline points=points></polyline>
                                        </svg>
                                    })}
                                    <span class="stat-value">{value.text}</span>
                                    {several().then(|| view! { <span class="stat-name">{value.name}</span> })}
                                </div>
                            }
                        })
                        .collect_view()
                        .into_any()
                }}
            </div>
        </div>
    }
}

#[component]
pub(super) fn GaugePanel(
    panel: Signal<Panel>,
    data: Signal<PanelData>,
    height: Signal<u32>,
) -> impl IntoView {
    let theme = use_theme();
    let values = Memo::new(move |_| panel.with(|panel| data.with(|data| values_of(panel, data))));
    let empty = move || values.with(|(values, messages)| values.is_empty() && messages.is_empty());
    let figure = Signal::derive(move || {
        let dark = theme.get() == Theme::Dark;
        let lines = values.with(|v| v.1.len()) as u32;
        let height = height.get().saturating_sub(MESSAGE_HEIGHT * lines).max(80);
        panel
            .with(|panel| values.with(|(values, _)| gauge_figure(panel, values, height, dark)))
            .to_string()
    });
    view! {
        <div class="panel-body panel-chart">
            <Messages messages=Signal::derive(move || values.with(|v| v.1.clone()))/>
            <Plot figure on_zoom=None/>
            <Show when=empty>
                <p class="panel-empty">"No data"</p>
            </Show>
        </div>
    }
}

#[component]
pub(super) fn BarGaugePanel(panel: Signal<Panel>, data: Signal<PanelData>) -> impl IntoView {
    let values = Memo::new(move |_| panel.with(|panel| data.with(|data| values_of(panel, data))));
    view! {
        <div class="panel-body panel-values">
            <Messages messages=Signal::derive(move || values.with(|v| v.1.clone()))/>
            {move || {
                let (values, messages) = values.get();
                if values.is_empty() && messages.is_empty() {
                    return view! { <p class="panel-empty">"No data"</p> }.into_any();
                }
                let (low, high) = panel.with(|panel| gauge_range(panel, &values));
                view! {
                    <ul class="bar-gauges">
                        {values
                            .into_iter()
                            .map(|value| {
                                let width = format!("{:.1}%", fraction(value.value, low, high) * 100.0);
                                let color = value.color.unwrap_or_else(|| DEFAULT_COLOR.to_owned());
                                view! {
                                    <li class="bar-gauge">
                                        <span class="bar-gauge-name" title=value.name.clone()>{value.name.clone()}</span>
                                        <span class="bar-gauge-track">
                                            <span class="bar-gauge-fill" style:width=width style:background-color=color></span>
                                        </span>
                                        <span class="bar-gauge-value">{value.text}</span>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{TestSeries, matrix, query};
    use super::*;

    fn steps() -> Vec<ThresholdStep> {
        vec![
            ThresholdStep {
                value: None,
                color: "green".into(),
            },
            ThresholdStep {
                value: Some(80.0),
                color: "red".into(),
            },
        ]
    }

    fn panel(unit: &str) -> Panel {
        Panel {
            unit: unit.into(),
            thresholds: steps(),
            queries: vec![query("cpu", "{{host}}")],
            ..Panel::default()
        }
    }

    fn values(panel: &Panel, series: &[TestSeries]) -> Vec<SingleValue> {
        let data = PanelData {
            results: vec![Ok(matrix(series))],
            ..PanelData::default()
        };
        values_of(panel, &data).0
    }

    #[test]
    fn stats_show_the_last_value_coloured_by_thresholds() {
        let panel = panel("percent");
        let shown = values(
            &panel,
            &[
                (&[("host", "a")], &[(0.0, 10.0), (15.0, 91.26)]),
                (&[("host", "b")], &[(0.0, 10.0), (15.0, f64::NAN)]),
            ],
        );
        assert_eq!(shown[0].text, "91.3%");
        assert_eq!(shown[0].color.as_deref(), Some("red"));
        // A NaN at the end: the latest number is shown.
        assert_eq!(shown[1].text, "10%");
        assert_eq!(shown[1].color.as_deref(), Some("green"));
        assert_eq!(shown[1].name, "b");
    }

    #[test]
    fn at_most_eight_values_with_a_note() {
        let panel = Panel {
            queries: vec![query("up", "")],
            ..Panel::default()
        };
        let series: Vec<Series> = (0..10)
            .map(|i| Series {
                query: 0,
                name: i.to_string(),
                labels: Default::default(),
                points: vec![(0.0, 1.0)],
            })
            .collect();
        let (values, note) = single_values(&panel, &series);
        assert_eq!(values.len(), MAX_VALUES);
        assert_eq!(note.as_deref(), Some("Showing the first 8 of 10 series."));
    }

    #[test]
    fn gauges_span_percentages_or_values_and_thresholds() {
        let shown = values(&panel("percent"), &[(&[], &[(0.0, 42.0)])]);
        assert_eq!(gauge_range(&panel("percent"), &shown), (0.0, 100.0));
        assert_eq!(gauge_range(&panel("percentunit"), &shown), (0.0, 1.0));
        // Up to a round value above both the value (42) and the threshold (80).
        let plain = panel("");
        assert_eq!(gauge_range(&plain, &shown), (0.0, 80.0));
        let big = values(&plain, &[(&[], &[(0.0, 730.0)])]);
        assert_eq!(gauge_range(&plain, &big), (0.0, 800.0));
        let fixed = Panel {
            min: Some(10.0),
            max: Some(20.0),
            ..panel("")
        };
        assert_eq!(gauge_range(&fixed, &big), (10.0, 20.0));
    }

    #[test]
    fn gauge_figures_have_threshold_bands_and_formatted_values() {
        let panel = panel("percent");
        let shown = values(
            &panel,
            &[
                (&[("host", "a")], &[(0.0, 42.0)]),
                (&[("host", "b")], &[(0.0, 95.0)]),
            ],
        );
        let figure = gauge_figure(&panel, &shown, 200, false);
        let gauges = figure["data"].as_array().unwrap();
        assert_eq!(gauges.len(), 2);
        assert_eq!(gauges[0]["type"], "indicator");
        assert_eq!(gauges[0]["gauge"]["axis"]["range"], json!([0.0, 100.0]));
        assert_eq!(gauges[1]["gauge"]["bar"]["color"], "red");
        assert_eq!(gauges[0]["gauge"]["steps"][0]["range"], json!([0.0, 80.0]));
        assert_eq!(gauges[0]["gauge"]["steps"][1]["color"], "red");
        assert_eq!(gauges[1]["title"]["text"], "b");
        assert_eq!(figure["layout"]["annotations"][0]["text"], "42%");
    }

    #[test]
    fn threshold_bands_cover_the_range() {
        let bands = threshold_bands(&steps(), 0.0, 100.0);
        assert_eq!(
            bands,
            [
                (0.0, 80.0, "green".to_owned()),
                (80.0, 100.0, "red".to_owned())
            ]
        );
        assert_eq!(threshold_bands(&steps(), 0.0, 50.0).len(), 1);
    }

    #[test]
    fn bars_fill_in_proportion() {
        assert_eq!(fraction(50.0, 0.0, 200.0), 0.25);
        assert_eq!(fraction(500.0, 0.0, 200.0), 1.0);
        assert_eq!(fraction(f64::NAN, 0.0, 200.0), 0.0);
    }

    #[test]
    fn sparklines_fit_their_box() {
        assert_eq!(
            sparkline(&[(0.0, 0.0), (10.0, 5.0), (20.0, 10.0)]).as_deref(),
            Some("0.0,29.0 50.0,15.0 100.0,1.0")
        );
        assert_eq!(sparkline(&[(0.0, 1.0)]), None);
        assert!(sparkline(&[(0.0, 1.0), (10.0, 1.0)]).is_some());
    }
}
