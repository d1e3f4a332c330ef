//! One panel's editor (from the grid, or `?panel=<key>` in the address): its kind, title and
//! description; its queries (the PromQL editor with autocomplete, a legend template, instant
//! or hidden); how values read (unit, decimals, min, max, thresholds, per-series overrides);
//! what only some kinds have (draw style, sparkline, text, limit); and repeating it per value
//! of a variable. A preview beside the form redraws as the fields change.

use leptos::prelude::*;
use vigil_shared::dashboard::{
    Axis, DashboardModel, DrawStyle, Panel, PanelKind, PanelQuery, SeriesOverride, ThresholdStep,
};

use super::Editor;
use super::grid::{kind_from, kind_value};
use super::inputs::{self, ReadModel, WriteModel};
use super::preview::PanelPreview;
use crate::components::PromqlEditor;

/// Units the panels scale values in, with how the choice reads.
const UNITS: [(&str, &str); 13] = [
    ("", "Plain number"),
    ("percent", "Percent (0–100)"),
    ("percentunit", "Percent (0.0–1.0)"),
    ("s", "Seconds"),
    ("ms", "Milliseconds"),
    ("bytes", "Bytes (IEC: KiB, MiB)"),
    ("decbytes", "Bytes (SI: kB, MB)"),
    ("bps", "Bits per second"),
    ("Bps", "Bytes per second"),
    ("reqps", "Requests per second"),
    ("ops", "Operations per second"),
    ("short", "Short (K, M, B)"),
    ("none", "None"),
];

/// Most queries a panel may have, threshold steps and overrides (the server refuses more).
const MAX_QUERIES: usize = 20;
const MAX_STEPS: usize = 50;
const MAX_OVERRIDES: usize = 100;

/// Height of the preview, px.
const PREVIEW_PX: u32 = 300;

#[component]
pub fn PanelEditor(key: String) -> impl IntoView {
    let editor = expect_context::<Editor>();
    let key = StoredValue::new(key);
    let panel = Memo::new(move |_| {
        editor
            .model
            .with(|m| key.with_value(|k| m.panels.get(k).cloned()))
    });
    let close = move |_| editor.open_panel.set(None);
    view! {
        <div class="dialog-backdrop">
            <div class="dialog card panel-editor" role="dialog" aria-modal="true"
                aria-label=move || format!("Edit panel {}", panel.with(|p| p.as_ref().map(|p| p.title.clone()).unwrap_or_default()))>
                <div class="card-header">
                    <h2>"Edit panel"</h2>
                    <button class="button primary" type="button" on:click=close>"Done"</button>
                </div>
                {move || match panel.with(Option::is_some) {
                    false => view! { <p class="banner banner-error">{format!("There is no panel \"{}\" on this dashboard.", key.get_value())}</p> }.into_any(),
                    true => view! { <PanelForm key=key panel=panel/> }.into_any(),
                }}
            </div>
        </div>
    }
}

/// Reads from the open panel (a default one if it has just gone).
fn read<T>(
    key: StoredValue<String>,
    get: impl Fn(&Panel) -> T + Copy + Send + Sync + 'static,
) -> impl ReadModel<T> {
    move |m: &DashboardModel| {
        key.with_value(|k| {
            m.panels
                .get(k)
                .map(get)
                .unwrap_or_else(|| get(&Panel::default()))
        })
    }
}

/// Writes into the open panel.
fn write<T>(
    key: StoredValue<String>,
    set: impl Fn(&mut Panel, T) + Copy + Send + Sync + 'static,
) -> impl WriteModel<T> {
    move |m: &mut DashboardModel, value: T| {
        key.with_value(|k| {
            if let Some(panel) = m.panels.get_mut(k) {
                set(panel, value);
            }
        })
    }
}

#[component]
fn PanelForm(key: StoredValue<String>, panel: Memo<Option<Panel>>) -> impl IntoView {
    let editor = expect_context::<Editor>();
    let path = move |field: &str| format!("panels.{}.{field}", key.get_value());
    let kind = Memo::new(move |_| panel.with(|p| p.as_ref().map(|p| p.kind).unwrap_or_default()));
    let preview_panel = Signal::derive(move || panel.get().unwrap_or_default());
    let kinds = PanelKind::ALL
        .into_iter()
        .map(|k| (kind_value(k), k.label().to_owned()))
        .collect();
    let units: Vec<(String, String)> = UNITS
        .iter()
        .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
        .collect();
    let repeat_options = {
        let mut options = vec![(String::new(), "Do not repeat".to_owned())];
        editor.model.with_untracked(|m| {
            options.extend(
                m.variables
                    .iter()
                    .map(|v| (v.name.clone(), format!("Once per ${}", v.name))),
            );
        });
        options
    };
    view! {
        <div class="panel-editor-body">
            <fieldset class="panel-form" disabled=editor.read_only>
                <div class="form-grid">
                    {inputs::select("panel-kind".into(), "Kind", kinds,
                        read(key, |p| kind_value(p.kind)), write(key, |p, v: String| p.kind = kind_from(&v)), editor.field(path("kind")))}
                    {inputs::text("panel-title".into(), "Title", read(key, |p| p.title.clone()), write(key, |p, v| p.title = v), editor.field(path("title")))}
                </div>
                {inputs::area("panel-description".into(), "Description", read(key, |p| p.description.clone()), write(key, |p, v| p.description = v), editor.field(path("description")))}
                {move || kind.get().uses_queries().then(|| view! { <Queries key=key/> })}
                {move || (kind.get() == PanelKind::Text).then(|| {
                    inputs::area("panel-text".into(), "Text (Markdown)", read(key, |p| p.text.clone()), write(key, |p, v| p.text = v), editor.field(path("text")))
                })}
                {move || matches!(kind.get(), PanelKind::AlertList | PanelKind::Incidents).then(|| {
                    inputs::number("panel-limit".into(), "Most rows shown", read(key, |p| p.limit.map(f64::from)),
                        write(key, |p, v: Option<f64>| p.limit = v.map(|v| v.clamp(0.0, 10_000.0) as u32)), editor.field(path("limit")))
                })}
                {move || kind.get().uses_queries().then(|| view! {
                    <div class="form-grid">
                        {inputs::select("panel-unit".into(), "Unit", units.clone(), read(key, |p| p.unit.clone()), write(key, |p, v| p.unit = v), editor.field(path("unit")))}
                        {inputs::number("panel-decimals".into(), "Decimals", read(key, |p| p.decimals.map(f64::from)),
                            write(key, |p, v: Option<f64>| p.decimals = v.map(|v| v.clamp(0.0, 10.0) as u8)), editor.field(path("decimals")))}
                        {inputs::number("panel-min".into(), "Min", read(key, |p| p.min), write(key, |p, v| p.min = v), editor.field(path("min")))}
                        {inputs::number("panel-max".into(), "Max", read(key, |p| p.max), write(key, |p, v| p.max = v), editor.field(path("max")))}
                    </div>
                    {(kind.get() == PanelKind::TimeSeries).then(|| inputs::select("panel-draw".into(), "Draw style",
                        vec![("line".into(), "Lines".into()), ("area".into(), "Areas".into()), ("stacked".into(), "Stacked areas".into()), ("bars".into(), "Bars".into())],
                        read(key, |p| draw_value(p.draw)), write(key, |p, v: String| p.draw = draw_from(&v)), editor.field(path("draw"))))}
                    {(kind.get() == PanelKind::Stat).then(|| inputs::check("panel-sparkline".into(), "Draw the series behind the number (sparkline)",
                        read(key, |p| p.sparkline), write(key, |p, v| p.sparkline = v)))}
                    <Thresholds key=key/>
                    <Overrides key=key/>
                })}
                {inputs::select("panel-repeat".into(), "Repeat", repeat_options,
                    read(key, |p| p.repeat.clone().unwrap_or_default()), write(key, |p, v: String| p.repeat = (!v.is_empty()).then_some(v)), editor.field(path("repeat")))}
            </fieldset>
            <div class="panel-preview" role="region" aria-label="Preview">
                <h3>"Preview"</h3>
                <PanelPreview panel=preview_panel height=Signal::stored(PREVIEW_PX)/>
            </div>
        </div>
    }
}

fn draw_value(draw: DrawStyle) -> String {
    serde_json::to_value(draw)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn draw_from(value: &str) -> DrawStyle {
    serde_json::from_value(serde_json::Value::String(value.to_owned())).unwrap_or_default()
}

/// A part of the open panel's list at `index`, read and written.
fn item<T: Default + Clone + 'static, V: 'static>(
    key: StoredValue<String>,
    list: fn(&Panel) -> &Vec<T>,
    index: usize,
    get: impl Fn(&T) -> V + Copy + Send + Sync + 'static,
) -> impl ReadModel<V> {
    move |m: &DashboardModel| {
        key.with_value(|k| {
            m.panels
                .get(k)
                .and_then(|p| list(p).get(index).map(get))
                .unwrap_or_else(|| get(&T::default()))
        })
    }
}

fn set_item<T: 'static, V: 'static>(
    key: StoredValue<String>,
    list: fn(&mut Panel) -> &mut Vec<T>,
    index: usize,
    set: impl Fn(&mut T, V) + Copy + Send + Sync + 'static,
) -> impl WriteModel<V> {
    move |m: &mut DashboardModel, value: V| {
        key.with_value(|k| {
            if let Some(entry) = m.panels.get_mut(k).and_then(|p| list(p).get_mut(index)) {
                set(entry, value);
            }
        })
    }
}

/// How many entries one of the open panel's lists has.
fn count_of<T>(key: StoredValue<String>, list: fn(&Panel) -> &Vec<T>) -> Memo<usize>
where
    T: 'static,
{
    let editor = expect_context::<Editor>();
    Memo::new(move |_| {
        editor
            .model
            .with(|m| key.with_value(|k| m.panels.get(k).map_or(0, |p| list(p).len())))
    })
}

fn edit_list<T>(
    key: StoredValue<String>,
    list: fn(&mut Panel) -> &mut Vec<T>,
    change: impl FnOnce(&mut Vec<T>),
) {
    let editor = expect_context::<Editor>();
    editor.edit(|m| {
        key.with_value(|k| {
            if let Some(panel) = m.panels.get_mut(k) {
                change(list(panel));
            }
        })
    });
}

#[component]
fn Queries(key: StoredValue<String>) -> impl IntoView {
    let count = count_of(key, |p| &p.queries);
    let add = move |_| edit_list(key, |p| &mut p.queries, |q| q.push(PanelQuery::default()));
    view! {
        <fieldset class="editor-list" aria-label="Queries">
            <legend>"Queries"</legend>
            // Drawn again when a query is added or removed, each editor from the model.
            {move || (0..count.get()).map(|index| view! { <QueryRow key=key index=index/> }).collect_view()}
            <button class="button small" type="button" on:click=add disabled=move || { count.get() >= MAX_QUERIES }>"Add query"</button>
        </fieldset>
    }
}

/// A query's letter: A, B, …
fn letter(index: usize) -> char {
    char::from(b'A' + (index % 26) as u8)
}

#[component]
fn QueryRow(key: StoredValue<String>, index: usize) -> impl IntoView {
    let editor = expect_context::<Editor>();
    let queries: fn(&Panel) -> &Vec<PanelQuery> = |p| &p.queries;
    let queries_mut: fn(&mut Panel) -> &mut Vec<PanelQuery> = |p| &mut p.queries;
    let expr = RwSignal::new(editor.model.with_untracked(item(
        key,
        queries,
        index,
        |q: &PanelQuery| q.expr.clone(),
    )));
    // The PromQL editor types into its own signal; the model follows.
    Effect::new(move |_| {
        let typed = expr.get();
        let current = editor
            .model
            .with_untracked(item(key, queries, index, |q: &PanelQuery| q.expr.clone()));
        if typed != current {
            editor.edit(|m| {
                set_item(key, queries_mut, index, |q: &mut PanelQuery, v| q.expr = v)(m, typed)
            });
        }
    });
    let error = editor.field(format!("panels.{}.queries[{index}].expr", key.get_value()));
    let name = letter(index);
    let remove = move |_| {
        edit_list(key, queries_mut, |q| {
            if index < q.len() {
                q.remove(index);
            }
        })
    };
    view! {
        <div class="query-row" role="group" aria-label=format!("Query {name}")>
            <PromqlEditor value=expr on_run=Callback::new(|()| {}) error=error
                id=format!("panel-query-{index}") label=format!("Query {name}")
                placeholder="rate(http_requests_total[5m])"/>
            <div class="form-grid">
                {inputs::text(format!("panel-query-{index}-legend"), "Legend", item(key, queries, index, |q: &PanelQuery| q.legend.clone()),
                    set_item(key, queries_mut, index, |q: &mut PanelQuery, v| q.legend = v),
                    editor.field(format!("panels.{}.queries[{index}].legend", key.get_value())))}
            </div>
            <div class="checks">
                {inputs::check(format!("panel-query-{index}-instant"), "Instant (the last value only)",
                    item(key, queries, index, |q: &PanelQuery| q.instant), set_item(key, queries_mut, index, |q: &mut PanelQuery, v| q.instant = v))}
                {inputs::check(format!("panel-query-{index}-hidden"), "Hidden",
                    item(key, queries, index, |q: &PanelQuery| q.hidden), set_item(key, queries_mut, index, |q: &mut PanelQuery, v| q.hidden = v))}
                <button class="button small danger" type="button" on:click=remove
                    aria-label=format!("Remove query {name}")>"Remove"</button>
            </div>
        </div>
    }
}

#[component]
fn Thresholds(key: StoredValue<String>) -> impl IntoView {
    let steps: fn(&Panel) -> &Vec<ThresholdStep> = |p| &p.thresholds;
    let steps_mut: fn(&mut Panel) -> &mut Vec<ThresholdStep> = |p| &mut p.thresholds;
    let count = count_of(key, steps);
    let add = move |_| {
        edit_list(key, steps_mut, |s| {
            let step = if s.is_empty() {
                ThresholdStep {
                    value: None,
                    color: "green".to_owned(),
                }
            } else {
                let last = s.iter().filter_map(|t| t.value).fold(0.0_f64, f64::max);
                ThresholdStep {
                    value: Some(if s.len() == 1 { 80.0 } else { last + 10.0 }),
                    color: "red".to_owned(),
                }
            };
            s.push(step);
        })
    };
    view! {
        <fieldset class="editor-list" aria-label="Thresholds">
            <legend>"Thresholds"</legend>
            <p class="field-hint">"The first step is the base colour; each later one applies from its value up."</p>
            {move || (0..count.get()).map(|index| {
                let id = |f: &str| format!("panel-threshold-{index}-{f}");
                let remove = move |_| edit_list(key, steps_mut, |s| { if index < s.len() { s.remove(index); } });
                view! {
                    <div class="inline-form" role="group" aria-label=format!("Threshold {}", index + 1)>
                        {(index > 0).then(|| inputs::number(id("value"), "From value", item(key, steps, index, |t: &ThresholdStep| t.value),
                            set_item(key, steps_mut, index, |t: &mut ThresholdStep, v| t.value = v), Signal::stored(None)))}
                        {inputs::text(id("color"), "Colour", item(key, steps, index, |t: &ThresholdStep| t.color.clone()),
                            set_item(key, steps_mut, index, |t: &mut ThresholdStep, v| t.color = v), Signal::stored(None))}
                        <button class="button small danger" type="button" on:click=remove
                            aria-label=format!("Remove threshold {}", index + 1)>"Remove"</button>
                    </div>
                }
            }).collect_view()}
            <button class="button small" type="button" on:click=add disabled=move || { count.get() >= MAX_STEPS }>"Add threshold"</button>
        </fieldset>
    }
}

#[component]
fn Overrides(key: StoredValue<String>) -> impl IntoView {
    let overrides: fn(&Panel) -> &Vec<SeriesOverride> = |p| &p.overrides;
    let overrides_mut: fn(&mut Panel) -> &mut Vec<SeriesOverride> = |p| &mut p.overrides;
    let count = count_of(key, overrides);
    let add = move |_| edit_list(key, overrides_mut, |o| o.push(SeriesOverride::default()));
    let axes = vec![
        (String::new(), "Default".to_owned()),
        ("left".to_owned(), "Left".to_owned()),
        ("right".to_owned(), "Right".to_owned()),
    ];
    view! {
        <fieldset class="editor-list" aria-label="Overrides">
            <legend>"Series overrides"</legend>
            {move || (0..count.get()).map(|index| {
                let id = |f: &str| format!("panel-override-{index}-{f}");
                let remove = move |_| edit_list(key, overrides_mut, |o| { if index < o.len() { o.remove(index); } });
                view! {
                    <div class="inline-form" role="group" aria-label=format!("Override {}", index + 1)>
                        {inputs::text(id("matcher"), "Series (name or /regex/)", item(key, overrides, index, |o: &SeriesOverride| o.matcher.clone()),
                            set_item(key, overrides_mut, index, |o: &mut SeriesOverride, v| o.matcher = v), Signal::stored(None))}
                        {inputs::text(id("color"), "Colour", item(key, overrides, index, |o: &SeriesOverride| o.color.clone().unwrap_or_default()),
                            set_item(key, overrides_mut, index, |o: &mut SeriesOverride, v: String| o.color = (!v.trim().is_empty()).then_some(v)), Signal::stored(None))}
                        {inputs::select(id("axis"), "Axis", axes.clone(), item(key, overrides, index, |o: &SeriesOverride| match o.axis {
                                Some(Axis::Left) => "left".to_owned(), Some(Axis::Right) => "right".to_owned(), None => String::new() }),
                            set_item(key, overrides_mut, index, |o: &mut SeriesOverride, v: String| o.axis = match v.as_str() {
                                "left" => Some(Axis::Left), "right" => Some(Axis::Right), _ => None }), Signal::stored(None))}
                        <button class="button small danger" type="button" on:click=remove
                            aria-label=format!("Remove override {}", index + 1)>"Remove"</button>
                    </div>
                }
            }).collect_view()}
            <button class="button small" type="button" on:click=add disabled=move || { count.get() >= MAX_OVERRIDES }>"Add override"</button>
        </fieldset>
    }
}
