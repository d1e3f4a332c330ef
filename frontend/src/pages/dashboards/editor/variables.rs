//! The dashboard's variables (`$name` in queries, titles and text): added, removed and put in
//! order, each of a kind — values from a label (`label_values(…)`), a fixed list, step
//! intervals, or a free text box — and whether several values (and "All") may be picked.

use leptos::prelude::*;
use vigil_shared::dashboard::{DashboardModel, Variable, VariableSource};

use super::Editor;
use super::inputs;

/// Most variables a dashboard may have (the server refuses more).
const MAX_VARIABLES: usize = 50;

#[component]
pub fn Variables() -> impl IntoView {
    let editor = expect_context::<Editor>();
    let count = Memo::new(move |_| editor.model.with(|m| m.variables.len()));
    let add = move |_| {
        editor.edit(|m| {
            let name = free_name(m);
            m.variables.push(Variable {
                name,
                source: VariableSource::Custom { values: Vec::new() },
                ..Variable::default()
            });
        })
    };
    view! {
        <div class="card" role="group" aria-label="Variables">
            <div class="card-header">
                <h2>"Variables"</h2>
                <button class="button small" type="button" on:click=add
                    disabled=move || { count.get() >= MAX_VARIABLES }>"Add variable"</button>
            </div>
            {move || (count.get() == 0).then(|| view! {
                <p class="muted">"None: variables let viewers pick a host or a job, used in queries as $name."</p>
            })}
            <For each=move || 0..count.get() key=|i| *i let:index>
                <VariableRow index=index count=count/>
            </For>
        </div>
    }
}

/// `var1`, `var2`, …: the first name no variable has.
fn free_name(model: &DashboardModel) -> String {
    (1..)
        .map(|n| format!("var{n}"))
        .find(|name| model.variables.iter().all(|v| &v.name != name))
        .unwrap_or_default()
}

/// The kind of a variable's source, as the select writes it.
fn kind_of(source: &VariableSource) -> &'static str {
    match source {
        VariableSource::Query { .. } => "query",
        VariableSource::Custom { .. } => "custom",
        VariableSource::Interval { .. } => "interval",
        VariableSource::TextBox { .. } => "text_box",
    }
}

/// A fresh source of `kind`, keeping what the old one listed where that makes sense.
fn source_of(kind: &str, old: &VariableSource) -> VariableSource {
    let values = match old {
        VariableSource::Custom { values } | VariableSource::Interval { values, .. } => {
            values.clone()
        }
        _ => Vec::new(),
    };
    match kind {
        "query" => VariableSource::Query {
            query: String::new(),
            regex: String::new(),
        },
        "interval" => VariableSource::Interval {
            values,
            auto: false,
        },
        "text_box" => VariableSource::TextBox {
            value: String::new(),
        },
        _ => VariableSource::Custom { values },
    }
}

#[component]
fn VariableRow(index: usize, count: Memo<usize>) -> impl IntoView {
    let editor = expect_context::<Editor>();
    let id = move |field: &str| format!("var-{index}-{field}");
    let path = move |field: &str| format!("variables[{index}].{field}");
    let kind = Memo::new(move |_| {
        editor.model.with(|m| {
            m.variables
                .get(index)
                .map(|v| kind_of(&v.source))
                .unwrap_or("custom")
        })
    });
    let name = Memo::new(move |_| {
        editor.model.with(|m| {
            m.variables
                .get(index)
                .map(|v| v.name.clone())
                .unwrap_or_default()
        })
    });
    let swap = move |other: usize| editor.edit(|m| m.variables.swap(index, other));
    let remove = move |_| {
        editor.edit(|m| {
            m.variables.remove(index);
        })
    };
    let kinds = [
        ("query", "Label values (query)"),
        ("custom", "Custom list"),
        ("interval", "Interval"),
        ("text_box", "Text box"),
    ]
    .map(|(v, l)| (v.to_owned(), l.to_owned()))
    .to_vec();
    view! {
        <div class="variable-row" role="group" aria-label=move || format!("Variable {}", name.get())>
            <div class="form-grid">
                {inputs::text(id("name"), "Name", move |m| var(m, index).name, move |m, v| with_var(m, index, |x| x.name = v), editor.field(path("name")))}
                {inputs::text(id("label"), "Label", move |m| var(m, index).label, move |m, v| with_var(m, index, |x| x.label = v), editor.field(path("label")))}
                {inputs::select(id("kind"), "Kind", kinds, move |m| kind_of(&var(m, index).source).to_owned(),
                    move |m, v| with_var(m, index, |x| x.source = source_of(&v, &x.source)), editor.field(path("source")))}
            </div>
            {move || source_fields(index, kind.get())}
            <div class="form-grid">
                {inputs::list(id("default"), "Default values", move |m| var(m, index).default, move |m, v| with_var(m, index, |x| x.default = v), editor.field(path("default")))}
                <Show when=move || editor.model.with(|m| var(m, index).include_all)>
                    {inputs::text(id("all-value"), "\"All\" stands for (empty: every value)",
                        move |m| var(m, index).all_value.unwrap_or_default(),
                        move |m, v| with_var(m, index, |x| x.all_value = (!v.is_empty()).then_some(v)),
                        editor.field(path("all_value")))}
                </Show>
            </div>
            <div class="checks">
                {inputs::check(id("multi"), "Several values may be picked", move |m| var(m, index).multi, move |m, v| with_var(m, index, |x| x.multi = v))}
                {inputs::check(id("all"), "Offer \"All\"", move |m| var(m, index).include_all, move |m, v| with_var(m, index, |x| x.include_all = v))}
                {inputs::check(id("hidden"), "Hidden", move |m| var(m, index).hidden, move |m, v| with_var(m, index, |x| x.hidden = v))}
            </div>
            <div class="row-actions">
                <button class="button small" type="button" aria-label=move || format!("Move variable {} up", name.get())
                    disabled=move || index == 0 on:click=move |_| swap(index - 1)>"↑"</button>
                <button class="button small" type="button" aria-label=move || format!("Move variable {} down", name.get())
                    disabled=move || { index + 1 >= count.get() } on:click=move |_| swap(index + 1)>"↓"</button>
                <button class="button small danger" type="button" aria-label=move || format!("Remove variable {}", name.get())
                    on:click=remove>"Remove"</button>
            </div>
        </div>
    }
}

/// The variable at `index` (a default one if it has just been removed).
fn var(model: &DashboardModel, index: usize) -> Variable {
    model.variables.get(index).cloned().unwrap_or_default()
}

fn with_var(model: &mut DashboardModel, index: usize, change: impl FnOnce(&mut Variable)) {
    if let Some(variable) = model.variables.get_mut(index) {
        change(variable);
    }
}

/// The fields of the variable's kind.
fn source_fields(index: usize, kind: &'static str) -> AnyView {
    let editor = expect_context::<Editor>();
    let id = move |field: &str| format!("var-{index}-{field}");
    let path = move |field: &str| format!("variables[{index}].source.{field}");
    match kind {
        "query" => view! {
            <div class="form-grid">
                {inputs::text(id("query"), "Query", move |m| match var(m, index).source {
                    VariableSource::Query { query, .. } => query, _ => String::new() },
                    move |m, v| with_var(m, index, |x| if let VariableSource::Query { query, .. } = &mut x.source { *query = v }),
                    editor.field(path("query")))}
                {inputs::text(id("regex"), "Keep values matching (regex)", move |m| match var(m, index).source {
                    VariableSource::Query { regex, .. } => regex, _ => String::new() },
                    move |m, v| with_var(m, index, |x| if let VariableSource::Query { regex, .. } = &mut x.source { *regex = v }),
                    editor.field(path("regex")))}
            </div>
        }.into_any(),
        "interval" => view! {
            <div class="form-grid">
                {inputs::list(id("values"), "Intervals", move |m| match var(m, index).source {
                    VariableSource::Interval { values, .. } => values, _ => Vec::new() },
                    move |m, v| with_var(m, index, |x| if let VariableSource::Interval { values, .. } = &mut x.source { *values = v }),
                    editor.field(path("values")))}
                {inputs::check(id("auto"), "Add \"auto\" (fitted to the range)", move |m| matches!(var(m, index).source, VariableSource::Interval { auto: true, .. }),
                    move |m, v| with_var(m, index, |x| if let VariableSource::Interval { auto, .. } = &mut x.source { *auto = v }))}
            </div>
        }.into_any(),
        "text_box" => view! {
            <div class="form-grid">
                {inputs::text(id("value"), "Default text", move |m| match var(m, index).source {
                    VariableSource::TextBox { value } => value, _ => String::new() },
                    move |m, v| with_var(m, index, |x| if let VariableSource::TextBox { value } = &mut x.source { *value = v }),
                    editor.field(path("value")))}
            </div>
        }.into_any(),
        _ => view! {
            <div class="form-grid">
                {inputs::list(id("values"), "Values", move |m| match var(m, index).source {
                    VariableSource::Custom { values } => values, _ => Vec::new() },
                    move |m, v| with_var(m, index, |x| if let VariableSource::Custom { values } = &mut x.source { *values = v }),
                    editor.field(path("values")))}
            </div>
        }.into_any(),
    }
}
