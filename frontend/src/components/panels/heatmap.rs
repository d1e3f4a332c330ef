//! Heatmap panels: histogram buckets (series with an `le` label, cumulative as Prometheus
//! keeps them) drawn as how much fell in each bucket at each time, bucket bounds upwards.

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use serde_json::{Value, json};
use vigil_shared::dashboard::Panel;

use super::{MESSAGE_HEIGHT, Messages, PanelData, Plot, Series, collect_series};
use crate::format;
use crate::theme::{Theme, use_theme};
use crate::units;

/// The grid a heatmap draws: times across, buckets up (their upper bounds, `+Inf` last), and
/// for each bucket and time how much fell in it (none where the bucket has no value).
#[derive(Clone, Debug, Default, PartialEq)]
struct Grid {
    times: Vec<f64>,
    buckets: Vec<String>,
    counts: Vec<Vec<Option<f64>>>,
    /// Series without an `le` label, left out.
    skipped: usize,
}

/// The grid of bucket series. Series of the same bound are added up (as `sum by (le)` would);
/// each bucket's value is its cumulative count less the next-lower bucket's, at each time.
fn grid(series: &[Series], unit: &str) -> Grid {
    // Upper bound → (its text, time in ms → cumulative value).
    let mut buckets: Vec<(f64, String, BTreeMap<i64, f64>)> = Vec::new();
    let mut skipped = 0;
    for one in series {
        let Some(bound) = one.labels.get("le") else {
            skipped += 1;
            continue;
        };
        let Some(upper) = parse_bound(bound) else {
            skipped += 1;
            continue;
        };
        let index = match buckets.iter().position(|b| b.0 == upper) {
            Some(index) => index,
            None => {
                buckets.push((upper, bound.clone(), BTreeMap::new()));
                buckets.len() - 1
            }
        };
        for &(at, value) in one.points.iter().filter(|p| p.1.is_finite()) {
            *buckets[index]
                .2
                .entry((at * 1000.0).round() as i64)
                .or_default() += value;
        }
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let times: BTreeSet<i64> = buckets.iter().flat_map(|b| b.2.keys().copied()).collect();
    let counts = buckets
        .iter()
        .enumerate()
        .map(|(i, (_, _, values))| {
            times
                .iter()
                .map(|at| {
                    let below = i
                        .checked_sub(1)
                        .and_then(|lower| buckets[lower].2.get(at))
                        .copied()
                        .unwrap_or(0.0);
                    values.get(at).map(|value| (value - below).max(0.0))
                })
                .collect()
        })
        .collect();
    Grid {
        times: times.into_iter().map(|ms| ms as f64 / 1000.0).collect(),
        buckets: bucket_labels(&buckets, unit),
        counts,
        skipped,
    }
}

/// A bucket's upper bound: a number, or `+Inf`.
fn parse_bound(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        other => other.parse().ok().filter(|v: &f64| !v.is_nan()),
    }
}

/// The buckets' bounds in the panel's unit (`250 ms`), or as Prometheus wrote them when the
/// unit would make two read alike.
fn bucket_labels(buckets: &[(f64, String, BTreeMap<i64, f64>)], unit: &str) -> Vec<String> {
    let formatted: Vec<String> = buckets
        .iter()
        .map(|b| units::format(b.0, unit, None))
        .collect();
    let distinct: BTreeSet<&String> = formatted.iter().collect();
    if distinct.len() == formatted.len() {
        formatted
    } else {
        buckets.iter().map(|b| b.1.clone()).collect()
    }
}

/// What to say about series a heatmap cannot draw.
fn note(grid: &Grid) -> Option<String> {
    match (grid.buckets.is_empty(), grid.skipped) {
        (_, 0) => None,
        (true, _) => Some(
            "A heatmap draws histogram buckets: series with an `le` label, such as \
             sum by (le) (rate(http_request_duration_seconds_bucket[5m]))."
                .to_owned(),
        ),
        (false, skipped) => Some(format!(
            "Left out {skipped} series without an `le` label: a heatmap draws histogram buckets."
        )),
    }
}

fn figure(grid: &Grid, height: u32, dark: bool, time: &dyn Fn(f64) -> String) -> Value {
    let (text_color, grid_color) = if dark {
        ("#e6e9ef", "#2e3442")
    } else {
        ("#1d2330", "#dde1e8")
    };
    json!({
        "data": [{
            "type": "heatmap",
            "x": grid.times.iter().map(|t| time(*t)).collect::<Vec<_>>(),
            "y": grid.buckets,
            "z": grid.counts,
            "colorscale": "YlOrRd",
            "reversescale": true,
            "showscale": false,
            "hoverongaps": false,
            "hovertemplate": "%{x}<br>≤ %{y}: %{z}<extra></extra>",
        }],
        "layout": {
            "height": height,
            "autosize": true,
            "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "font": {"color": text_color, "size": 11},
            "xaxis": {"type": "date", "automargin": true, "gridcolor": grid_color, "fixedrange": true},
            "yaxis": {"type": "category", "automargin": true, "fixedrange": true},
        },
        "config": {"responsive": true, "displaylogo": false, "displayModeBar": false},
    })
}

#[component]
pub(super) fn HeatmapPanel(
    panel: Signal<Panel>,
    data: Signal<PanelData>,
    height: Signal<u32>,
) -> impl IntoView {
    let theme = use_theme();
    let built = Memo::new(move |_| {
        panel.with(|panel| {
            data.with(|data| {
                let (series, mut messages) = collect_series(panel, data);
                let grid = grid(&series, &panel.unit);
                messages.extend(note(&grid));
                (grid, messages)
            })
        })
    });
    let empty =
        move || built.with(|(grid, messages)| grid.buckets.is_empty() && messages.is_empty());
    let figure = Signal::derive(move || {
        let dark = theme.get() == Theme::Dark;
        built.with(|(grid, messages)| {
            let height = height
                .get()
                .saturating_sub(MESSAGE_HEIGHT * messages.len() as u32)
                .max(80);
            figure(grid, height, dark, &format::plot_time).to_string()
        })
    });
    view! {
        <div class="panel-body panel-chart">
            <Messages messages=Signal::derive(move || built.with(|b| b.1.clone()))/>
            <Plot figure on_zoom=None/>
            <Show when=empty>
                <p class="panel-empty">"No data"</p>
            </Show>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::labels;
    use super::*;

    fn bucket(le: &str, points: &[(f64, f64)]) -> Series {
        Series {
            query: 0,
            name: le.to_owned(),
            labels: labels(&[("le", le)]),
            points: points.to_vec(),
        }
    }

    #[test]
    fn buckets_are_differenced_and_sorted_numerically() {
        let series = vec![
            bucket("+Inf", &[(0.0, 10.0), (15.0, 12.0)]),
            bucket("0.5", &[(0.0, 6.0), (15.0, 9.0)]),
            bucket("10", &[(0.0, 9.0), (15.0, 12.0)]),
            bucket("0.1", &[(0.0, 2.0), (15.0, 4.0)]),
        ];
        let grid = grid(&series, "s");
        assert_eq!(grid.buckets, ["100 ms", "500 ms", "10 s", "+Inf"]);
        assert_eq!(grid.times, [0.0, 15.0]);
        assert_eq!(
            grid.counts,
            [
                vec![Some(2.0), Some(4.0)],
                vec![Some(4.0), Some(5.0)],
                vec![Some(3.0), Some(3.0)],
                vec![Some(1.0), Some(0.0)],
            ]
        );
        assert_eq!(note(&grid), None);
    }

    #[test]
    fn series_of_the_same_bound_add_up_and_missing_values_stay_empty() {
        let series = vec![
            bucket("1", &[(0.0, 1.0), (15.0, 2.0)]),
            bucket("1", &[(0.0, 3.0)]),
            bucket("+Inf", &[(15.0, 7.0)]),
        ];
        let grid = grid(&series, "");
        assert_eq!(grid.buckets, ["1", "+Inf"]);
        assert_eq!(
            grid.counts,
            [vec![Some(4.0), Some(2.0)], vec![None, Some(5.0)]]
        );
    }

    #[test]
    fn series_without_buckets_get_a_note() {
        let plain = Series {
            query: 0,
            name: "up".into(),
            labels: labels(&[("job", "api")]),
            points: vec![(0.0, 1.0)],
        };
        let only = grid(std::slice::from_ref(&plain), "");
        assert!(only.buckets.is_empty());
        assert!(
            note(&only)
                .unwrap()
                .starts_with("A heatmap draws histogram buckets")
        );
        let mixed = grid(&[plain, bucket("1", &[(0.0, 1.0)])], "");
        assert_eq!(
            note(&mixed).unwrap(),
            "Left out 1 series without an `le` label: a heatmap draws histogram buckets."
        );
    }

    #[test]
    fn bounds_that_would_read_alike_keep_prometheus_text() {
        let series = vec![
            bucket("0.0001", &[(0.0, 1.0)]),
            bucket("0.00011", &[(0.0, 2.0)]),
        ];
        assert_eq!(grid(&series, "s").buckets, ["100 µs", "110 µs"]);
        let close = vec![bucket("1000", &[(0.0, 1.0)]), bucket("1001", &[(0.0, 2.0)])];
        assert_eq!(grid(&close, "short").buckets, ["1000", "1001"]);
    }

    #[test]
    fn the_figure_is_a_heatmap_of_the_grid() {
        let grid = grid(&[bucket("1", &[(0.0, 1.0)])], "");
        let figure = figure(&grid, 200, false, &|t| t.to_string());
        assert_eq!(figure["data"][0]["type"], "heatmap");
        assert_eq!(figure["data"][0]["y"], json!(["1"]));
        assert_eq!(figure["data"][0]["z"], json!([[1.0]]));
        assert_eq!(figure["layout"]["yaxis"]["type"], "category");
    }
}
