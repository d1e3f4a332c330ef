//! Time-series charts drawn by plotly.js, which Vigil serves itself and pages load the first
//! time they draw: query results as lines, threshold lines, and shaded spans (where an alert
//! rule would have been pending or firing).

use leptos::html;
use leptos::prelude::*;
use serde_json::{Value, json};
use wasm_bindgen::prelude::*;

use crate::format;
use crate::theme::{Theme, use_theme};

#[wasm_bindgen(inline_js = r#"
let loading = null;
function loadPlotly() {
  if (window.Plotly) return Promise.resolve();
  if (!loading) {
    const meta = document.querySelector('meta[name="vigil-plotly"]');
    loading = new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = meta ? meta.content : '';
      script.onload = () => resolve();
      script.onerror = () => { loading = null; reject(new Error('the chart library could not be loaded')); };
      document.head.appendChild(script);
    });
  }
  return loading;
}
export function vigilPreloadPlotly() {
  // A failed load is tried again by the first chart that draws.
  loadPlotly().catch(() => {});
}
export async function vigilDrawChart(element, figure) {
  await loadPlotly();
  await window.Plotly.react(element, JSON.parse(figure));
}
export async function vigilDrawPanel(element, figure, onZoom) {
  await vigilDrawChart(element, figure);
  // Panels change width without the window doing so (the grid, the editor).
  if (!element.vigilResize && window.ResizeObserver) {
    element.vigilResize = new ResizeObserver(() => {
      if (element.data && element.offsetParent !== null) {
        window.Plotly.Plots.resize(element).catch(() => {});
      }
    });
    element.vigilResize.observe(element);
  }
  if (!element.vigilHoverWatched) {
    element.vigilHoverWatched = true;
    element.on('plotly_hover', (event) => {
      const point = event.points && event.points[0];
      if (point) shareHover(element, point.x);
    });
    element.on('plotly_unhover', () => shareHover(element, null));
  }
  element.vigilZoom = onZoom;
  if (!onZoom || element.vigilZoomWatched) return;
  element.vigilZoomWatched = true;
  // Plotly reports a drag across the x axis as the new range, in the local times it was given.
  const seconds = (text) => {
    const local = String(text).replace(' ', 'T');
    return new Date(local.includes('T') ? local.slice(0, 23) : local + 'T00:00').getTime() / 1000;
  };
  element.on('plotly_relayout', (event) => {
    const from = event['xaxis.range[0]'];
    const to = event['xaxis.range[1]'];
    if (from === undefined || to === undefined || !element.vigilZoom) return;
    element.vigilZoom(seconds(from), seconds(to));
  });
}
// A dashboard that shares the crosshair (or the tooltip too) marks the same moment on its
// other time charts while the pointer is over one of them.
function shareHover(source, x) {
  const board = source.closest('[data-chart-sync]');
  const mode = board && board.dataset.chartSync;
  if (mode !== 'shared_crosshair' && mode !== 'shared_tooltip') return;
  for (const other of board.querySelectorAll('.panel-plot')) {
    const layout = other._fullLayout;
    const axis = layout && layout.xaxis;
    if (other === source || !axis || axis.type !== 'date') continue;
    let line = other.vigilCrosshair;
    if (!line || !line.isConnected) {
      line = document.createElement('div');
      line.className = 'panel-crosshair';
      line.setAttribute('aria-hidden', 'true');
      other.appendChild(line);
      other.vigilCrosshair = line;
    }
    const at = x === null ? NaN : axis.d2c(x);
    const pixel = Number.isFinite(at) ? axis.c2p(at) : NaN;
    const inside = Number.isFinite(pixel) && pixel >= 0 && pixel <= layout._size.w;
    line.style.display = inside ? 'block' : 'none';
    if (inside) {
      line.style.left = `${layout._size.l + pixel}px`;
      line.style.top = `${layout._size.t}px`;
      line.style.height = `${layout._size.h}px`;
    }
    if (mode !== 'shared_tooltip') continue;
    // Every line's value at that moment (the charts' own mode needs a y too); the last
    // argument keeps this hover from being announced, and so from echoing back.
    try {
      if (inside) window.Plotly.Fx.hover(other, { xval: at, hovermode: 'x' }, 'xy', true);
      else window.Plotly.Fx.unhover(other);
    } catch (_) {
      // A chart redrawn meanwhile has nothing to hover.
    }
  }
}
export function vigilPurgeChart(element) {
  if (element.vigilResize) {
    element.vigilResize.disconnect();
    element.vigilResize = null;
  }
  if (window.Plotly) window.Plotly.purge(element);
}
"#)]
extern "C" {
    #[wasm_bindgen(catch, js_name = vigilDrawChart)]
    async fn draw_chart(element: &web_sys::HtmlElement, figure: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = vigilDrawPanel)]
    async fn draw_panel_chart(
        element: &web_sys::HtmlElement,
        figure: &str,
        on_zoom: &JsValue,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = vigilPreloadPlotly)]
    fn preload_plotly();
    #[wasm_bindgen(js_name = vigilPurgeChart)]
    fn purge_chart(element: &web_sys::HtmlElement);
}

/// Most lines one chart draws; more make plotly slow and the chart unreadable.
pub const MAX_SERIES: usize = 100;

/// One line: its legend name and `(unix seconds, value)` points in time order.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartSeries {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A horizontal line across the chart, such as an alert threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdLine {
    pub name: String,
    pub value: f64,
    pub color: &'static str,
}

/// A shaded stretch of time, such as when a rule would have been firing.
#[derive(Clone, Debug, PartialEq)]
pub struct ShadedSpan {
    pub from: f64,
    pub to: f64,
    pub color: &'static str,
}

/// What a chart shows: the time window (unix seconds), the query step (gaps longer than a
/// step break the line, as in Prometheus' graph), lines, thresholds and spans.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChartData {
    pub start: f64,
    pub end: f64,
    pub step: f64,
    pub series: Vec<ChartSeries>,
    pub thresholds: Vec<ThresholdLine>,
    pub spans: Vec<ShadedSpan>,
}

#[component]
pub fn TimeSeriesChart(
    data: Signal<ChartData>,
    /// What the chart shows, for screen readers.
    #[prop(into)]
    label: String,
) -> impl IntoView {
    let node = NodeRef::<html::Div>::new();
    let theme = use_theme();
    let problem = RwSignal::new(None::<String>);
    let drawn = RwSignal::new(false);

    Effect::new(move |_| {
        let data = data.get();
        let dark = theme.get() == Theme::Dark;
        let Some(element) = node.get() else {
            return;
        };
        let figure = figure(&data, dark);
        leptos::task::spawn_local(async move {
            match draw_chart(&element, &figure).await {
                Ok(_) => {
                    problem.set(None);
                    drawn.set(true);
                }
                Err(error) => problem.set(Some(
                    js_sys::Error::from(error)
                        .message()
                        .as_string()
                        .unwrap_or_else(|| "the chart could not be drawn".to_owned()),
                )),
            }
        });
    });
    on_cleanup(move || {
        if let Some(element) = node.get_untracked() {
            purge_chart(&element);
        }
    });

    view! {
        <figure class="chart" aria-label=label>
            <div class="chart-plot" node_ref=node data-testid="chart" data-drawn=move || drawn.get().to_string()></div>
            {move || problem.get().map(|p| view! { <p class="banner banner-error" role="alert">{format!("Chart: {p}.")}</p> })}
        </figure>
    }
}

/// Starts loading plotly.js (0.42 MB gzipped, about 0.2 s to evaluate on a slow machine) so
/// that it is ready by the time a page's data is: call it once the page's own requests are
/// under way, since evaluating it holds the main thread.
pub fn preload_charts() {
    preload_plotly();
}

/// Draws a dashboard panel's plotly figure (JSON) into `element`, loading plotly.js the first
/// time, and redraws it whenever the element changes size. With `on_zoom` (a JS function of
/// the new `(from, to)` in unix seconds), dragging across the x axis calls it.
pub(super) async fn draw(
    element: &web_sys::HtmlElement,
    figure: &str,
    on_zoom: Option<&JsValue>,
) -> Result<(), String> {
    let drawn = draw_panel_chart(element, figure, on_zoom.unwrap_or(&JsValue::NULL)).await;
    drawn.map(|_| ()).map_err(|error| {
        js_sys::Error::from(error)
            .message()
            .as_string()
            .unwrap_or_else(|| "the chart could not be drawn".to_owned())
    })
}

/// Frees what plotly keeps for a chart whose element goes away.
pub(super) fn purge(element: &web_sys::HtmlElement) {
    purge_chart(element);
}

/// Points as plotly wants them: labels written by `time` (local times) and values, with a gap
/// (null) wherever consecutive points are more than a step and a half apart.
pub(super) fn with_gaps(
    points: &[(f64, f64)],
    step: f64,
    time: impl Fn(f64) -> String,
) -> (Vec<String>, Vec<Option<f64>>) {
    let mut x = Vec::with_capacity(points.len());
    let mut y = Vec::with_capacity(points.len());
    let mut previous: Option<f64> = None;
    for &(at, value) in points {
        if let Some(previous) = previous
            && step > 0.0
            && at - previous > step * 1.5
        {
            x.push(time(previous + step));
            y.push(None);
        }
        x.push(time(at));
        y.push(value.is_finite().then_some(value));
        previous = Some(at);
    }
    (x, y)
}

/// The plotly.js figure (`{data, layout, config}`) as JSON. Written out here rather than
/// through the `plotly` crate, whose typed builders cost ~190 KB of gzipped WebAssembly and
/// would break the 600 KB budget (SPEC §12).
fn figure(data: &ChartData, dark: bool) -> String {
    let (text, grid) = if dark {
        ("#e6e9ef", "#2e3442")
    } else {
        ("#1d2330", "#dde1e8")
    };
    let mut traces: Vec<Value> = data
        .series
        .iter()
        .take(MAX_SERIES)
        .map(|series| {
            let (x, y) = with_gaps(&series.points, data.step, format::plot_time);
            json!({
                "type": "scatter",
                "mode": "lines",
                "name": series.name,
                "x": x,
                "y": y,
                "line": {"width": 1.5},
            })
        })
        .collect();
    let window = [format::plot_time(data.start), format::plot_time(data.end)];
    traces.extend(data.thresholds.iter().map(|threshold| {
        json!({
            "type": "scatter",
            "mode": "lines",
            "name": threshold.name,
            "x": window,
            "y": [threshold.value, threshold.value],
            "line": {"color": threshold.color, "width": 2, "dash": "dash"},
            "hoverinfo": "name+y",
        })
    }));
    let shapes: Vec<Value> = data
        .spans
        .iter()
        .map(|span| {
            json!({
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": format::plot_time(span.from),
                "x1": format::plot_time(span.to),
                "y0": 0,
                "y1": 1,
                "fillcolor": span.color,
                "opacity": 0.18,
                "layer": "below",
                "line": {"width": 0},
            })
        })
        .collect();
    json!({
        "data": traces,
        "layout": {
            "autosize": true,
            "height": 340,
            "margin": {"l": 56, "r": 16, "t": 12, "b": 40},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "font": {"color": text, "size": 12},
            "hovermode": "closest",
            "showlegend": true,
            "legend": {"orientation": "h", "y": -0.15},
            "xaxis": {"type": "date", "range": window, "gridcolor": grid},
            "yaxis": {"automargin": true, "gridcolor": grid, "zerolinecolor": grid},
            "shapes": shapes,
        },
        "config": {"responsive": true, "displaylogo": false, "displayModeBar": "hover"},
    })
    .to_string()
}
