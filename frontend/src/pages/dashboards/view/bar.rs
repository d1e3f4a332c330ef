//! The variables bar: a picker per variable (a list, several values with "All", a text box),
//! and the fetching of query variables' options — again whenever a variable their query
//! names changes. A query that fails says why beside its picker; the panels then draw with
//! the selection the address (or the default) gives.

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use vigil_shared::dashboard::vars::{self, Format, Scope};
use vigil_shared::dashboard::{Variable, VariableSource};

use super::address::ALL;
use super::variables::{self, Choice, Options};
use super::{Board, ViewState, use_board};
use crate::api;
use crate::components::Spinner;

/// A query variable's query with the variables it names filled in; none while one of those
/// is still loading.
pub fn query_text(
    variable: &Variable,
    variables: &[Variable],
    choices: &BTreeMap<String, Choice>,
    options: &BTreeMap<String, Options>,
    range: f64,
) -> Option<String> {
    let VariableSource::Query { query, .. } = &variable.source else {
        return None;
    };
    let mut values = BTreeMap::new();
    for name in vars::references(query) {
        let Some(named) = variables.iter().find(|v| v.name == name) else {
            continue;
        };
        if matches!(options.get(&name), Some(Options::Loading)) {
            return None;
        }
        if let Some(choice) = choices.get(&name) {
            values.insert(name, choice.selection(range, named.all_value.as_deref()));
        }
    }
    let scope = Scope {
        values,
        interval: 0.0,
        rate_interval: 0.0,
        range,
    };
    Some(vars::interpolate(query, &scope, Format::Query))
}

/// Whether every variable is resolved for the current selections: none loading, and each
/// query variable's options fetched with its query as it now reads.
pub fn readiness(
    variables: Vec<Variable>,
    view: Memo<ViewState>,
    options: RwSignal<BTreeMap<String, Options>>,
    resolved_for: RwSignal<BTreeMap<String, String>>,
    choices: Memo<BTreeMap<String, Choice>>,
) -> Memo<bool> {
    let circular = variables::circular(&variables::dependencies(&variables));
    Memo::new(move |_| {
        let range = view.with(|v| window_length(&v.range));
        options.with(|options| {
            choices.with(|choices| {
                resolved_for.with(|resolved| {
                    variables.iter().all(|variable| {
                        let name = &variable.name;
                        if matches!(options.get(name), Some(Options::Loading) | None) {
                            return false;
                        }
                        if circular.contains(name) {
                            return true;
                        }
                        match query_text(variable, &variables, choices, options, range) {
                            Some(text) => resolved.get(name) == Some(&text),
                            None => !matches!(variable.source, VariableSource::Query { .. }),
                        }
                    })
                })
            })
        })
    })
}

fn window_length(range: &crate::components::TimeRange) -> f64 {
    let (start, end) = range.window();
    end - start
}

/// Fetches each query variable's options, and again when its query changes.
pub fn resolve_variables(board: Board) {
    let variables = board.dashboard.with_value(|d| d.model.variables.clone());
    let circular: BTreeSet<String> = variables::circular(&variables::dependencies(&variables));
    for variable in variables.iter().cloned() {
        let VariableSource::Query { regex, .. } = variable.source.clone() else {
            continue;
        };
        if circular.contains(&variable.name) {
            continue;
        }
        let all = variables.clone();
        let name = variable.name.clone();
        let text = Memo::new(move |_| {
            let range = board.view.with(|v| window_length(&v.range));
            board.options.with(|options| {
                board
                    .choices
                    .with(|choices| query_text(&variable, &all, choices, options, range))
            })
        });
        refresh_options(board, name.clone(), regex.clone(), text);
        Effect::new(move |_| {
            let Some(query) = text.get() else {
                return;
            };
            if board
                .resolved_for
                .with_untracked(|r| r.get(&name) == Some(&query))
            {
                return;
            }
            board.options.update(|o| {
                o.insert(name.clone(), Options::Loading);
            });
            let name = name.clone();
            let regex = regex.clone();
            leptos::task::spawn_local(async move {
                let found = fetch_options(&query, &regex).await;
                // A newer query for this variable may have been sent meanwhile.
                if text.try_get_untracked() != Some(Some(query.clone())) {
                    return;
                }
                let options = match found {
                    Ok(values) => Options::Ready(values),
                    Err(reason) => Options::Failed(reason),
                };
                board.resolved_for.update(|r| {
                    r.insert(name.clone(), query);
                });
                board.options.update(|o| {
                    o.insert(name, options);
                });
            });
        });
    }
}

/// Asks again for a resolved query variable's values on every refresh (the button or
/// auto-refresh), as Grafana's "on time range change" does: a new host or job shows up
/// without a reload. What is shown stays while asking, and when asking fails.
fn refresh_options(board: Board, name: String, regex: String, text: Memo<Option<String>>) {
    Effect::watch(
        move || board.tick.get(),
        move |_, _, _| {
            let Some(query) = text.get_untracked() else {
                return;
            };
            if board
                .resolved_for
                .with_untracked(|r| r.get(&name) != Some(&query))
            {
                // Being resolved for the first time (or anew): that answer is fresh.
                return;
            }
            let (name, regex) = (name.clone(), regex.clone());
            leptos::task::spawn_local(async move {
                let Ok(values) = fetch_options(&query, &regex).await else {
                    return;
                };
                if text.try_get_untracked() != Some(Some(query)) {
                    return;
                }
                let fresh = Options::Ready(values);
                let changed = board
                    .options
                    .try_with_untracked(|o| o.get(&name) != Some(&fresh));
                if changed == Some(true) {
                    board.options.try_update(|o| o.insert(name, fresh));
                }
            });
        },
        false,
    );
}

/// A query variable's options: the label values `label_values(…)` names, through the regex.
async fn fetch_options(query: &str, regex: &str) -> Result<Vec<String>, String> {
    let Some(asked) = vars::parse_label_values(query) else {
        return Err(
            "Only label_values(label) and label_values(selector, label) queries are supported."
                .to_owned(),
        );
    };
    let values = api::label_values(&asked.label, asked.selector.as_deref())
        .await
        .map_err(|error| format!("Could not fetch the values: {}", error.message))?;
    variables::filter_values(values, regex)
}

#[component]
pub fn VariablesBar() -> impl IntoView {
    let board = use_board();
    let shown: Vec<Variable> = board.dashboard.with_value(|d| {
        d.model
            .variables
            .iter()
            .filter(|v| !v.hidden)
            .cloned()
            .collect()
    });
    (!shown.is_empty()).then(|| {
        view! {
            <div class="variables-bar" role="group" aria-label="Variables">
                {shown.into_iter().map(|variable| view! { <VariablePicker variable/> }).collect_view()}
            </div>
        }
    })
}

#[component]
fn VariablePicker(variable: Variable) -> impl IntoView {
    let board = use_board();
    let name = variable.name.clone();
    let label = if variable.label.is_empty() {
        variable.name.clone()
    } else {
        variable.label.clone()
    };
    let id = format!("var-{}", variable.name);
    let options = {
        let name = name.clone();
        Memo::new(move |_| {
            board
                .options
                .with(|o| o.get(&name).cloned().unwrap_or(Options::Loading))
        })
    };
    let choice = {
        let name = name.clone();
        Memo::new(move |_| {
            board
                .choices
                .with(|c| c.get(&name).cloned().unwrap_or_default())
        })
    };
    let select = Callback::new(move |values: Vec<String>| {
        board.go(
            |view| {
                view.vars.insert(name.clone(), values);
            },
            false,
        );
    });
    let picker = match (&variable.source, variable.multi) {
        (VariableSource::TextBox { .. }, _) => view! {
            <input
                id=id.clone()
                type="text"
                prop:value=move || choice.with(|c| c.values.first().cloned().unwrap_or_default())
                on:change=move |ev| select.run(vec![event_target_value(&ev)])
            />
        }
        .into_any(),
        (_, true) => view! {
            <MultiPicker id=id.clone() options choice select include_all=variable.include_all/>
        }
        .into_any(),
        (_, false) => view! {
            <select
                id=id.clone()
                prop:value=move || choice.with(|c| c.address_values().first().cloned().unwrap_or_default())
                on:change=move |ev| select.run(vec![event_target_value(&ev)])
            >
                {move || {
                    let choice = choice.get();
                    let current = choice.address_values();
                    choices_offered(&options.get(), &choice, variable.include_all)
                        .into_iter()
                        .map(|(value, text)| {
                            let selected = current.first() == Some(&value);
                            view! { <option value=value selected=selected>{text}</option> }
                        })
                        .collect_view()
                }}
            </select>
        }
        .into_any(),
    };
    let error_id = format!("{id}-error");
    view! {
        <div class="field variable" class:has-error=move || matches!(options.get(), Options::Failed(_))>
            <label for=id.clone()>{label}</label>
            <div class="variable-input">
                {picker}
                {move || matches!(options.get(), Options::Loading).then(|| view! { <Spinner/> })}
            </div>
            {move || match options.get() {
                Options::Failed(reason) => Some(view! {
                    <p class="field-error" id=error_id.clone() role="alert">{reason}</p>
                }),
                _ => None,
            }}
        </div>
    }
}

/// What a picker lists: "All" when offered, then the options — and the selection itself
/// when the options are not known (still loading, or failed), so that it shows.
fn choices_offered(options: &Options, choice: &Choice, include_all: bool) -> Vec<(String, String)> {
    let mut offered = Vec::new();
    if include_all {
        offered.push((ALL.to_owned(), "All".to_owned()));
    }
    let values = match options {
        Options::Ready(values) => values.clone(),
        Options::Loading | Options::Failed(_) => choice.values.clone(),
    };
    offered.extend(values.into_iter().map(|v| (v.clone(), v)));
    offered
}

/// Several values at once: a drop-down of checkboxes, "All" first when offered.
#[component]
fn MultiPicker(
    id: String,
    options: Memo<Options>,
    choice: Memo<Choice>,
    select: Callback<Vec<String>>,
    include_all: bool,
) -> impl IntoView {
    let toggle = move |value: String, checked: bool| {
        let current = choice.get_untracked();
        let values = if value == ALL {
            if checked {
                vec![ALL.to_owned()]
            } else {
                Vec::new()
            }
        } else {
            let mut values = if current.all {
                Vec::new()
            } else {
                current.values
            };
            values.retain(|v| *v != value);
            if checked {
                values.push(value);
            }
            values
        };
        select.run(values);
    };
    view! {
        <details class="variable-multi">
            <summary id=id role="button">{move || choice.with(Choice::label)}</summary>
            <div class="variable-options" role="group">
                {move || {
                    let choice = choice.get();
                    choices_offered(&options.get(), &choice, include_all)
                        .into_iter()
                        .map(|(value, text)| {
                            let checked = if value == ALL {
                                choice.all
                            } else {
                                !choice.all && choice.values.contains(&value)
                            };
                            view! {
                                <label class="checkbox">
                                    <input
                                        type="checkbox"
                                        prop:checked=checked
                                        on:change=move |ev| toggle(value.clone(), event_target_checked(&ev))
                                    />
                                    {text}
                                </label>
                            }
                        })
                        .collect_view()
                }}
            </div>
        </details>
    }
}
