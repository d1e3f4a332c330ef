//! Writing PromQL without knowing it by heart.

use leptos::prelude::*;

use crate::api;

/// Writes PromQL from a metric, label filters, a function and an aggregation — the parts most
/// threshold rules are made of. The query stays editable by hand.
#[component]
pub fn QueryBuilder(query: RwSignal<String>) -> impl IntoView {
    let open = RwSignal::new(false);
    let metrics = LocalResource::new(|| api::label_values("__name__", None));
    let metric = RwSignal::new(String::new());
    let filters = RwSignal::new(String::new());
    let function = RwSignal::new("rate".to_owned());
    let window = RwSignal::new("5m".to_owned());
    let aggregation = RwSignal::new("sum".to_owned());
    let by = RwSignal::new(String::new());

    let build = move || {
        let metric = metric.get();
        if metric.is_empty() {
            return;
        }
        let filters = filters.get().trim().to_owned();
        let mut expr = if filters.is_empty() {
            metric
        } else {
            format!("{metric}{{{filters}}}")
        };
        let function = function.get();
        if !function.is_empty() {
            expr = format!("{function}({expr}[{}])", window.get().trim());
        }
        let aggregation = aggregation.get();
        if !aggregation.is_empty() {
            let by = by.get();
            let labels: Vec<&str> = by
                .split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            expr = if labels.is_empty() {
                format!("{aggregation}({expr})")
            } else {
                format!("{aggregation} by ({}) ({expr})", labels.join(", "))
            };
        }
        query.set(expr);
    };
    let functions = [
        ("", "none (raw value)"),
        ("rate", "rate"),
        ("irate", "irate"),
        ("increase", "increase"),
        ("avg_over_time", "avg_over_time"),
        ("max_over_time", "max_over_time"),
        ("min_over_time", "min_over_time"),
    ];
    let aggregations = [
        ("", "none"),
        ("sum", "sum"),
        ("avg", "avg"),
        ("max", "max"),
        ("min", "min"),
        ("count", "count"),
    ];

    view! {
        <div class="query-builder">
            <button class="button small" type="button" aria-expanded=move || open.get().to_string() on:click=move |_| open.update(|o| *o = !*o)>
                {move || if open.get() { "Hide query builder" } else { "Build the query" }}
            </button>
            <Show when=move || open.get()>
                <div class="form-grid builder-grid" role="group" aria-label="Query builder">
                    <div class="field">
                        <label for="builder-metric">"Metric"</label>
                        <select id="builder-metric" on:change=move |ev| { metric.set(event_target_value(&ev)); build(); }>
                            <option value="">"Choose a metric…"</option>
                            {move || metrics.get().map(|names| names.unwrap_or_default().into_iter().map(|name| {
                                let value = name.clone();
                                view! { <option value=value>{name}</option> }
                            }).collect_view())}
                        </select>
                    </div>
                    <div class="field">
                        <label for="builder-filters">"Label filters"</label>
                        <input id="builder-filters" placeholder="job=\"checkout\", status=~\"5..\"" bind:value=filters on:change=move |_| build()/>
                    </div>
                    <div class="field">
                        <label for="builder-function">"Function"</label>
                        <select id="builder-function" on:change=move |ev| { function.set(event_target_value(&ev)); build(); } prop:value=move || function.get()>
                            {functions.iter().map(|(v, l)| view! { <option value=*v>{*l}</option> }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="builder-window">"Over"</label>
                        <input id="builder-window" bind:value=window on:change=move |_| build()/>
                    </div>
                    <div class="field">
                        <label for="builder-aggregation">"Aggregation"</label>
                        <select id="builder-aggregation" on:change=move |ev| { aggregation.set(event_target_value(&ev)); build(); } prop:value=move || aggregation.get()>
                            {aggregations.iter().map(|(v, l)| view! { <option value=*v>{*l}</option> }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="builder-by">"Group by (labels, comma-separated)"</label>
                        <input id="builder-by" placeholder="job, instance" bind:value=by on:change=move |_| build()/>
                    </div>
                </div>
            </Show>
        </div>
    }
}
