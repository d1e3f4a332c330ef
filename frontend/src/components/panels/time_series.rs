//! Time-series panels: the series as lines, areas, stacks or bars, with the panel's unit on
//! the axes and in the hover boxes, thresholds as dashed lines, annotations as shaded spans
//! or vertical lines, and dragging across the chart to zoom the dashboard's window.

use std::collections::BTreeMap;

use leptos::prelude::*;
use serde_json::{Value, json};
use vigil_shared::dashboard::{Axis, DrawStyle, Panel, SeriesOverride};

use super::{MESSAGE_HEIGHT, Messages, PanelData, Plot, Series, collect_series, plot_text};
use crate::components::chart::{MAX_SERIES, with_gaps};
use crate::format;
use crate::theme::{Theme, use_theme};
use crate::units;

/// Most series a legend lists; beyond it the legend would crowd out the chart, and the hover
/// boxes still name each series.
const MAX_LEGEND: usize = 20;

#[component]
pub(super) fn TimeSeriesPanel(
    panel: Signal<Panel>,
    data: Signal<PanelData>,
    height: Signal<u32>,
    on_zoom: Option<Callback<(f64, f64)>>,
) -> impl IntoView {
    let theme = use_theme();
    let series =
        Memo::new(move |_| panel.with(|panel| data.with(|data| collect_series(panel, data))));
    let messages = Memo::new(move |_| {
        series.with(|(series, errors)| {
            let mut messages = errors.clone();
            if series.len() > MAX_SERIES {
                messages.push(format!(
                    "Showing the first {MAX_SERIES} of {} series.",
                    series.len()
                ));
            }
            messages
        })
    });
    let empty =
        Memo::new(move |_| series.with(|(series, errors)| series.is_empty() && errors.is_empty()));
    let zoomable = on_zoom.is_some();
    let figure = Signal::derive(move || {
        let look = Look {
            height: height
                .get()
                .saturating_sub(MESSAGE_HEIGHT * messages.with(Vec::len) as u32)
                .max(80),
            dark: theme.get() == Theme::Dark,
            zoomable,
        };
        panel
            .with(|panel| {
                data.with(|data| {
                    series
                        .with(|(series, _)| figure(panel, series, data, &look, &format::plot_time))
                })
            })
            .to_string()
    });

    view! {
        <div class="panel-body panel-chart">
            <Messages messages/>
            <Plot figure on_zoom/>
            <Show when=move || empty.get()>
                <p class="panel-empty">"No data"</p>
            </Show>
        </div>
    }
}

/// How the chart looks apart from what it shows.
#[derive(Clone, Copy, Debug)]
struct Look {
    height: u32,
    dark: bool,
    /// Whether dragging across the chart zooms (the page takes the new window).
    zoomable: bool,
}

/// Colours of annotations by where they come from.
fn annotation_color(source: &str) -> &'static str {
    match source {
        "incident" => "#e02f44",
        "alert" => "#ff9830",
        _ => "#3274d9",
    }
}

/// What overrides say about the series named `name`: its colour and whether it goes on the
/// right axis. A matcher is the exact name or `/regex/` (matching anywhere in the name); the
/// first override that sets a thing wins.
fn series_settings<'a>(overrides: &'a [SeriesOverride], name: &str) -> (Option<&'a str>, bool) {
    let matching = overrides.iter().filter(|o| matches_name(&o.matcher, name));
    let mut color = None;
    let mut right = None;
    for one in matching {
        color = color.or(one.color.as_deref());
        right = right.or(one.axis.map(|axis| axis == Axis::Right));
    }
    (color, right.unwrap_or(false))
}

fn matches_name(matcher: &str, name: &str) -> bool {
    match matcher
        .strip_prefix('/')
        .and_then(|rest| rest.strip_suffix('/'))
    {
        Some(pattern) => regex_lite::Regex::new(pattern).is_ok_and(|re| re.is_match(name)),
        None => matcher == name,
    }
}

/// The lowest and highest values the series reach, stacked (summed at each time, positives
/// and negatives apart) when `stacked`; zero included for fills and bars.
fn value_range(series: &[&Series], stacked: bool, from_zero: bool) -> Option<(f64, f64)> {
    let mut low = f64::INFINITY;
    let mut high = f64::NEG_INFINITY;
    if stacked {
        let mut sums: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
        for one in series {
            for &(at, value) in one.points.iter().filter(|p| p.1.is_finite()) {
                let sum = sums.entry((at * 1000.0) as i64).or_default();
                if value >= 0.0 {
                    sum.0 += value;
                } else {
                    sum.1 += value;
                }
            }
        }
        for (up, down) in sums.values() {
            high = high.max(*up);
            low = low.min(*down);
        }
    } else {
        for value in series.iter().flat_map(|one| one.points.iter().map(|p| p.1)) {
            if value.is_finite() {
                low = low.min(value);
                high = high.max(value);
            }
        }
    }
    if low > high {
        return None;
    }
    if from_zero || stacked {
        low = low.min(0.0);
        high = high.max(0.0);
    }
    Some((low, high))
}

/// A y axis: `bounds` (the panel's min and max, for the left axis) as its range when set,
/// and ticks labelled in the panel's unit over `range` (the data's, widened to `extra` values
/// such as thresholds).
fn y_axis(
    panel: &Panel,
    bounds: (Option<f64>, Option<f64>),
    range: Option<(f64, f64)>,
    extra: &[f64],
    grid: &str,
) -> Value {
    let mut axis =
        json!({"automargin": true, "gridcolor": grid, "zerolinecolor": grid, "fixedrange": true});
    let widened = extra.iter().fold(range, |range, &value| match range {
        Some((low, high)) => Some((low.min(value), high.max(value))),
        None => Some((value, value)),
    });
    let low = bounds.0.or(widened.map(|r| r.0));
    let high = bounds.1.or(widened.map(|r| r.1));
    if let (Some(low), Some(high)) = (low, high) {
        if bounds.0.is_some() || bounds.1.is_some() {
            axis["range"] = json!([low, high]);
            axis["autorange"] = json!(false);
        }
        let ticks = units::axis_ticks(low, high, &panel.unit, panel.decimals);
        axis["tickmode"] = json!("array");
        axis["tickvals"] = json!(ticks.iter().map(|t| t.0).collect::<Vec<_>>());
        axis["ticktext"] = json!(ticks.iter().map(|t| t.1.clone()).collect::<Vec<_>>());
    }
    axis
}

/// One series as a plotly trace, drawn as the panel says, with its values formatted in the
/// panel's unit for the hover box.
fn trace(panel: &Panel, series: &Series, step: f64, time: &dyn Fn(f64) -> String) -> Value {
    let (color, right) = series_settings(&panel.overrides, &series.name);
    let (x, y) = with_gaps(&series.points, step, time);
    let text: Vec<Option<String>> = y
        .iter()
        .map(|value| value.map(|value| units::format(value, &panel.unit, panel.decimals)))
        .collect();
    let mut trace = json!({
        "type": "scatter",
        "mode": "lines",
        "name": plot_text(&series.name),
        "x": x,
        "y": y,
        "text": text,
        "hovertemplate": "%{x}<br>%{text}",
        "line": {"width": 1.5},
    });
    // A lone point (an instant query) would not show as a line.
    if series.points.len() == 1 {
        trace["mode"] = json!("markers");
    }
    match panel.draw {
        DrawStyle::Line => {}
        DrawStyle::Area => trace["fill"] = json!("tozeroy"),
        DrawStyle::Stacked => {
            trace["stackgroup"] = json!(if right { "right" } else { "left" });
        }
        DrawStyle::Bars => {
            trace["type"] = json!("bar");
            trace.as_object_mut().map(|t| t.remove("mode"));
        }
    }
    if let Some(color) = color {
        trace["line"]["color"] = json!(color);
        trace["marker"] = json!({"color": color});
    }
    if right {
        trace["yaxis"] = json!("y2");
    }
    trace
}

/// Shapes for thresholds (dashed lines across) and annotations (shaded spans for periods,
/// vertical lines for instants), and a trace of markers along the top carrying each
/// annotation's hover text, since plotly's shapes do not hover. Annotations outside the
/// window are left out; a period still going on runs to the window's end.
fn marks(
    panel: &Panel,
    data: &PanelData,
    time: &dyn Fn(f64) -> String,
) -> (Vec<Value>, Option<Value>) {
    let mut shapes: Vec<Value> = panel
        .thresholds
        .iter()
        .filter_map(|step| step.value.map(|value| (value, &step.color)))
        .map(|(value, color)| {
            json!({
                "type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": value, "y1": value,
                "line": {"color": color, "width": 1.5, "dash": "dash"},
            })
        })
        .collect();
    let mut x = Vec::new();
    let mut text = Vec::new();
    let mut colors = Vec::new();
    for annotation in &data.annotations {
        let from = annotation.time.timestamp_millis() as f64 / 1000.0;
        let to = match annotation.time_end {
            Some(end) => Some(end.timestamp_millis() as f64 / 1000.0),
            None if annotation.source != "manual" => Some(data.end),
            None => None,
        };
        if from > data.end || to.unwrap_or(from) < data.start {
            continue;
        }
        let color = annotation_color(&annotation.source);
        let from = from.max(data.start);
        shapes.push(match to {
            Some(to) => json!({
                "type": "rect", "xref": "x", "yref": "paper", "x0": time(from), "x1": time(to.min(data.end)),
                "y0": 0, "y1": 1, "fillcolor": color, "opacity": 0.15, "layer": "below", "line": {"width": 0},
            }),
            None => json!({
                "type": "line", "xref": "x", "yref": "paper", "x0": time(from), "x1": time(from),
                "y0": 0, "y1": 1, "line": {"color": color, "width": 1.5},
            }),
        });
        let mut hover = format!("<b>{}</b>", plot_text(&annotation.title));
        if !annotation.text.is_empty() {
            hover.push_str(&format!("<br>{}", plot_text(&annotation.text)));
        }
        if let Some(severity) = &annotation.severity {
            hover.push_str(&format!("<br>Severity: {}", plot_text(severity)));
        }
        x.push(time(from));
        text.push(hover);
        colors.push(color);
    }
    let markers = (!x.is_empty()).then(|| {
        json!({
            "type": "scatter", "mode": "markers", "name": "Annotations", "showlegend": false,
            "x": x, "y": vec![1; text.len()], "yaxis": "y3", "text": text, "cliponaxis": false,
            "hovertemplate": "%{text}<extra></extra>",
            "marker": {"symbol": "triangle-down", "size": 9, "color": colors},
        })
    });
    (shapes, markers)
}

/// The plotly figure (`{data, layout, config}`) of a time-series panel: at most
/// [`MAX_SERIES`] series, the x axis fixed to the window, times written by `time`.
fn figure(
    panel: &Panel,
    series: &[Series],
    data: &PanelData,
    look: &Look,
    time: &dyn Fn(f64) -> String,
) -> Value {
    let (text_color, grid) = if look.dark {
        ("#e6e9ef", "#2e3442")
    } else {
        ("#1d2330", "#dde1e8")
    };
    let shown = &series[..series.len().min(MAX_SERIES)];
    let mut traces: Vec<Value> = shown
        .iter()
        .map(|one| trace(panel, one, data.step, time))
        .collect();
    let (left, right): (Vec<&Series>, Vec<&Series>) = shown
        .iter()
        .partition(|one| !series_settings(&panel.overrides, &one.name).1);
    let stacked = panel.draw == DrawStyle::Stacked;
    let from_zero = matches!(panel.draw, DrawStyle::Area | DrawStyle::Bars);
    let thresholds: Vec<f64> = panel.thresholds.iter().filter_map(|t| t.value).collect();
    let (shapes, markers) = marks(panel, data, time);
    traces.extend(markers);
    let window = [time(data.start), time(data.end)];
    let mut layout = json!({
        "autosize": true,
        "height": look.height,
        "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"color": text_color, "size": 11},
        "hovermode": "closest",
        "showlegend": !shown.is_empty() && shown.len() <= MAX_LEGEND,
        "legend": {"orientation": "h", "x": 0, "y": -0.12, "yanchor": "top"},
        "dragmode": if look.zoomable { json!("zoom") } else { json!(false) },
        "xaxis": {"type": "date", "range": window, "gridcolor": grid, "automargin": true, "fixedrange": !look.zoomable},
        "yaxis": y_axis(
            panel,
            (panel.min, panel.max),
            value_range(&left, stacked, from_zero),
            &thresholds,
            grid,
        ),
        "yaxis3": {"overlaying": "y", "range": [0, 1], "visible": false, "fixedrange": true},
        "shapes": shapes,
    });
    if !right.is_empty() {
        let range = value_range(&right, stacked, from_zero);
        let mut axis = y_axis(panel, (None, None), range, &[], grid);
        axis["overlaying"] = json!("y");
        axis["side"] = json!("right");
        axis["showgrid"] = json!(false);
        layout["yaxis2"] = axis;
    }
    if panel.draw == DrawStyle::Bars {
        layout["barmode"] = json!("group");
    }
    json!({
        "data": traces,
        "layout": layout,
        // A double click would zoom back out to the data rather than the dashboard's window.
        "config": {"responsive": true, "displaylogo": false, "displayModeBar": false, "doubleClick": false},
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use vigil_shared::dashboard::{Annotation, ThresholdStep};
    use vigil_shared::prometheus::{QueryData, RangeSeries, SamplePair};

    use super::super::tests::{matrix, query};
    use super::*;

    /// Times as plain seconds, so that figures can be compared natively.
    fn seconds(at: f64) -> String {
        at.to_string()
    }

    const LOOK: Look = Look {
        height: 300,
        dark: false,
        zoomable: true,
    };

    fn draw(panel: &Panel, data: &PanelData) -> Value {
        let (series, _) = collect_series(panel, data);
        figure(panel, &series, data, &LOOK, &seconds)
    }

    fn two_series_panel(draw: DrawStyle) -> (Panel, PanelData) {
        let panel = Panel {
            draw,
            unit: "bytes".into(),
            queries: vec![query("mem", "{{job}}")],
            ..Panel::default()
        };
        let data = PanelData {
            start: 0.0,
            end: 60.0,
            step: 15.0,
            results: vec![Ok(matrix(&[
                (
                    &[("job", "api")],
                    &[(0.0, 1024.0), (15.0, 2048.0), (60.0, 1024.0)],
                ),
                (&[("job", "db")], &[(0.0, 4096.0), (15.0, 4096.0)]),
            ]))],
            annotations: Vec::new(),
        };
        (panel, data)
    }

    #[test]
    fn lines_carry_legend_names_gaps_and_formatted_values() {
        let (panel, data) = two_series_panel(DrawStyle::Line);
        let figure = draw(&panel, &data);
        let api = &figure["data"][0];
        assert_eq!(api["name"], "api");
        assert_eq!(api["mode"], "lines");
        // 15 → 60 is more than a step and a half: a gap (null) after 15 s.
        assert_eq!(api["x"], json!(["0", "15", "30", "60"]));
        assert_eq!(api["y"], json!([1024.0, 2048.0, null, 1024.0]));
        assert_eq!(api["text"], json!(["1 KiB", "2 KiB", null, "1 KiB"]));
        assert_eq!(figure["layout"]["xaxis"]["range"], json!(["0", "60"]));
        assert_eq!(figure["layout"]["dragmode"], "zoom");
        let labels = &figure["layout"]["yaxis"]["ticktext"];
        assert_eq!(labels[0], "1 KiB");
        assert!(labels.as_array().unwrap().iter().any(|l| l == "4 KiB"));
    }

    #[test]
    fn draw_styles_become_fills_stacks_and_bars() {
        let (panel, data) = two_series_panel(DrawStyle::Area);
        assert_eq!(draw(&panel, &data)["data"][0]["fill"], "tozeroy");

        let (panel, data) = two_series_panel(DrawStyle::Stacked);
        let figure = draw(&panel, &data);
        assert_eq!(figure["data"][0]["stackgroup"], "left");
        assert_eq!(figure["data"][1]["stackgroup"], "left");
        // The axis reaches the stack's top: 2048 + 4096 at 15 s.
        let top = figure["layout"]["yaxis"]["tickvals"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_f64)
            .fold(0.0, f64::max);
        assert!(top >= 5_000.0, "{top}");

        let (panel, data) = two_series_panel(DrawStyle::Bars);
        let figure = draw(&panel, &data);
        assert_eq!(figure["data"][0]["type"], "bar");
        assert_eq!(figure["layout"]["barmode"], "group");
    }

    #[test]
    fn overrides_set_colours_and_the_right_axis() {
        let (mut panel, data) = two_series_panel(DrawStyle::Line);
        panel.overrides = vec![
            SeriesOverride {
                matcher: "api".into(),
                color: Some("#ff0000".into()),
                axis: None,
            },
            SeriesOverride {
                matcher: "/^d/".into(),
                color: None,
                axis: Some(Axis::Right),
            },
            SeriesOverride {
                matcher: "/(/".into(),
                color: Some("blue".into()),
                axis: None,
            },
        ];
        let figure = draw(&panel, &data);
        assert_eq!(figure["data"][0]["line"]["color"], "#ff0000");
        assert_eq!(figure["data"][0].get("yaxis"), None);
        assert_eq!(figure["data"][1]["yaxis"], "y2");
        assert_eq!(figure["data"][1]["line"].get("color"), None);
        assert_eq!(figure["layout"]["yaxis2"]["side"], "right");
    }

    #[test]
    fn min_max_fix_the_range_and_thresholds_are_dashed_lines() {
        let (mut panel, data) = two_series_panel(DrawStyle::Line);
        panel.min = Some(0.0);
        panel.max = Some(8192.0);
        panel.thresholds = vec![
            ThresholdStep {
                value: None,
                color: "green".into(),
            },
            ThresholdStep {
                value: Some(6000.0),
                color: "red".into(),
            },
        ];
        let figure = draw(&panel, &data);
        assert_eq!(figure["layout"]["yaxis"]["range"], json!([0.0, 8192.0]));
        let shapes = figure["layout"]["shapes"].as_array().unwrap();
        assert_eq!(shapes.len(), 1);
        assert_eq!(shapes[0]["y0"], 6000.0);
        assert_eq!(shapes[0]["line"]["dash"], "dash");
        assert_eq!(shapes[0]["line"]["color"], "red");
    }

    fn annotation(source: &str, from: i64, to: Option<i64>, title: &str) -> Annotation {
        Annotation {
            id: format!("{source}:1"),
            source: source.into(),
            time: Utc.timestamp_opt(from, 0).unwrap(),
            time_end: to.map(|to| Utc.timestamp_opt(to, 0).unwrap()),
            title: title.into(),
            text: "<img src=x onerror=alert(1)>".into(),
            tags: Vec::new(),
            severity: (source != "manual").then(|| "critical".to_owned()),
            link: None,
        }
    }

    #[test]
    fn annotations_are_spans_or_lines_with_hover_markers() {
        let (panel, mut data) = two_series_panel(DrawStyle::Line);
        data.annotations = vec![
            annotation("incident", 10, Some(20), "DB down"),
            annotation("alert", 30, None, "High latency"),
            annotation("manual", 45, None, "Deploy"),
            annotation("manual", 500, None, "Later"),
        ];
        let figure = draw(&panel, &data);
        let shapes = figure["layout"]["shapes"].as_array().unwrap();
        assert_eq!(shapes.len(), 3);
        assert_eq!(shapes[0]["type"], "rect");
        assert_eq!(shapes[0]["fillcolor"], "#e02f44");
        assert_eq!(
            (&shapes[0]["x0"], &shapes[0]["x1"]),
            (&json!("10"), &json!("20"))
        );
        // An alert still firing runs to the window's end.
        assert_eq!(shapes[1]["x1"], "60");
        assert_eq!(shapes[1]["fillcolor"], "#ff9830");
        assert_eq!(shapes[2]["type"], "line");
        assert_eq!(shapes[2]["line"]["color"], "#3274d9");

        let markers = figure["data"].as_array().unwrap().last().unwrap();
        assert_eq!(markers["yaxis"], "y3");
        assert_eq!(markers["x"], json!(["10", "30", "45"]));
        let hover = markers["text"][0].as_str().unwrap();
        assert!(hover.starts_with("<b>DB down</b>"), "{hover}");
        assert!(
            hover.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{hover}"
        );
        assert!(hover.contains("Severity: critical"), "{hover}");
    }

    #[test]
    fn series_beyond_the_limit_are_cut() {
        let panel = Panel {
            queries: vec![query("up", "")],
            ..Panel::default()
        };
        let many = (0..MAX_SERIES + 5)
            .map(|i| RangeSeries {
                metric: BTreeMap::from([("i".to_owned(), i.to_string())]),
                values: vec![SamplePair(0.0, "1".into())],
            })
            .collect();
        let data = PanelData {
            results: vec![Ok(QueryData::Matrix(many))],
            end: 60.0,
            ..PanelData::default()
        };
        let figure = draw(&panel, &data);
        assert_eq!(figure["data"].as_array().unwrap().len(), MAX_SERIES);
        assert_eq!(figure["layout"]["showlegend"], false);
    }

    #[test]
    fn instant_results_show_as_markers() {
        let panel = Panel {
            queries: vec![query("up", "")],
            ..Panel::default()
        };
        let data = PanelData {
            results: vec![Ok(matrix(&[(&[("job", "api")], &[(30.0, 1.0)])]))],
            end: 60.0,
            ..PanelData::default()
        };
        assert_eq!(draw(&panel, &data)["data"][0]["mode"], "markers");
    }

    #[test]
    fn without_zoom_the_window_stays_fixed() {
        let (panel, data) = two_series_panel(DrawStyle::Line);
        let (series, _) = collect_series(&panel, &data);
        let look = Look {
            zoomable: false,
            ..LOOK
        };
        let figure = figure(&panel, &series, &data, &look, &seconds);
        assert_eq!(figure["layout"]["dragmode"], false);
        assert_eq!(figure["layout"]["xaxis"]["fixedrange"], true);
    }
}
