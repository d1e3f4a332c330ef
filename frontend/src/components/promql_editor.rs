//! A PromQL input with autocomplete: metric and function names, label names inside a
//! selector's braces, label values after a matcher — from the server's own series. Enter runs
//! the query (Shift+Enter starts a new line); with suggestions open, arrows choose and Enter or
//! Tab accepts.

use std::collections::{BTreeMap, BTreeSet};

use leptos::html;
use leptos::prelude::*;

use crate::api;
use crate::completion::{self, Context, FUNCTIONS, Slot};

/// Most suggestions shown at once.
const LIMIT: usize = 12;

/// What the server has told us so far, keyed by what was asked.
#[derive(Clone, Copy)]
struct Known {
    metrics: RwSignal<Vec<String>>,
    label_names: RwSignal<BTreeMap<String, Vec<String>>>,
    label_values: RwSignal<BTreeMap<(String, String), Vec<String>>>,
    asked: StoredValue<BTreeSet<String>>,
}

impl Known {
    fn new() -> Self {
        let known = Known {
            metrics: RwSignal::new(Vec::new()),
            label_names: RwSignal::new(BTreeMap::new()),
            label_values: RwSignal::new(BTreeMap::new()),
            asked: StoredValue::new(BTreeSet::new()),
        };
        leptos::task::spawn_local(async move {
            if let Ok(names) = api::label_values("__name__", None).await {
                known.metrics.set(names);
            }
        });
        known
    }

    /// Asks the server once per key; the answer lands in the signal and the list redraws.
    fn ask_once(&self, key: String, ask: impl FnOnce() + 'static) {
        let fresh = self
            .asked
            .try_update_value(|asked| asked.insert(key))
            .unwrap_or(false);
        if fresh {
            ask();
        }
    }

    fn candidates(&self, context: &Context) -> Vec<(String, &'static str)> {
        match &context.slot {
            Slot::Name => {
                let metrics = self.metrics.get();
                let mut out: Vec<(String, &'static str)> = completion::matching(
                    metrics.iter().map(String::as_str),
                    &context.prefix,
                    LIMIT,
                )
                .into_iter()
                .map(|m| (m, "metric"))
                .collect();
                out.extend(
                    completion::matching(FUNCTIONS, &context.prefix, LIMIT)
                        .into_iter()
                        .map(|f| (f, "function")),
                );
                out.truncate(LIMIT);
                out
            }
            Slot::LabelName { metric } => {
                let key = metric.clone().unwrap_or_default();
                let known = *self;
                let selector = metric.clone();
                self.ask_once(format!("names:{key}"), move || {
                    leptos::task::spawn_local(async move {
                        let names = api::label_names(selector.as_deref())
                            .await
                            .unwrap_or_default();
                        known.label_names.update(|all| {
                            all.insert(key, names);
                        });
                    });
                });
                let names = self.label_names.get();
                let key = metric.clone().unwrap_or_default();
                names
                    .get(&key)
                    .map(|names| {
                        completion::matching(
                            names
                                .iter()
                                .map(String::as_str)
                                .filter(|n| *n != "__name__"),
                            &context.prefix,
                            LIMIT,
                        )
                    })
                    .unwrap_or_default()
                    .into_iter()
                    .map(|n| (n, "label"))
                    .collect()
            }
            Slot::LabelValue { metric, label, .. } => {
                let key = (metric.clone().unwrap_or_default(), label.clone());
                let known = *self;
                let selector = metric.clone();
                let (ask_key, ask_label) = (key.clone(), label.clone());
                self.ask_once(format!("values:{}:{}", key.0, key.1), move || {
                    leptos::task::spawn_local(async move {
                        let values = api::label_values(&ask_label, selector.as_deref())
                            .await
                            .unwrap_or_default();
                        known.label_values.update(|all| {
                            all.insert(ask_key, values);
                        });
                    });
                });
                self.label_values
                    .get()
                    .get(&key)
                    .map(|values| {
                        completion::matching(
                            values.iter().map(String::as_str),
                            &context.prefix,
                            LIMIT,
                        )
                    })
                    .unwrap_or_default()
                    .into_iter()
                    .map(|v| (v, "value"))
                    .collect()
            }
        }
    }
}

#[component]
pub fn PromqlEditor(
    value: RwSignal<String>,
    /// Runs the query (Enter).
    #[prop(into)]
    on_run: Callback<()>,
    /// The server's complaint about the query, shown beneath it.
    #[prop(into, optional)]
    error: Signal<Option<String>>,
    #[prop(optional)] placeholder: Option<&'static str>,
    /// The textarea's id (and the label's `for`).
    #[prop(optional, into)]
    id: Option<String>,
    /// The field's label, for forms with more than one query ("Query" by default).
    #[prop(optional, into)]
    label: Option<String>,
) -> impl IntoView {
    let id = id.unwrap_or_else(|| "field-query".to_owned());
    let label = label.unwrap_or_else(|| "Query".to_owned());
    let listbox_id = format!("{id}-suggestions");
    let error_id = format!("{id}-error");
    let option_prefix = StoredValue::new(format!("{id}-option-"));
    let option_id = move |i: usize| format!("{}{i}", option_prefix.get_value());
    let node = NodeRef::<html::Textarea>::new();
    let known = Known::new();
    // The cursor as a byte offset into the value; `None` while suggestions are dismissed.
    let cursor = RwSignal::new(None::<usize>);
    let active = RwSignal::new(0_usize);

    let context = Memo::new(move |_| {
        let at = cursor.get()?;
        value.with(|text| completion::context(text, at))
    });
    let suggestions = Memo::new(move |_| {
        context
            .get()
            .map(|context| known.candidates(&context))
            .unwrap_or_default()
    });
    let open = move || !suggestions.with(Vec::is_empty);

    let read_cursor = move || {
        node.get_untracked().and_then(|el| {
            let at = el.selection_start().ok().flatten()? as usize;
            Some(value.with_untracked(|text| completion::byte_offset(text, at)))
        })
    };
    let accept = move |index: usize| {
        let (Some(context), Some(at), Some(el)) = (
            context.get_untracked(),
            cursor.get_untracked(),
            node.get_untracked(),
        ) else {
            return;
        };
        let Some((choice, _)) = suggestions.with_untracked(|s| s.get(index).cloned()) else {
            return;
        };
        let (text, after) =
            value.with_untracked(|text| completion::accept(text, at, &context, &choice));
        let position = completion::utf16_offset(&text, after) as u32;
        el.set_value(&text);
        let _ = el.set_selection_range(position, position);
        value.set(text);
        active.set(0);
        cursor.set(Some(after));
    };

    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let count = suggestions.with_untracked(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" if count > 0 => {
                ev.prevent_default();
                active.update(|a| *a = (*a + 1) % count);
            }
            "ArrowUp" if count > 0 => {
                ev.prevent_default();
                active.update(|a| *a = (*a + count - 1) % count);
            }
            "Tab" | "Enter" if count > 0 && !ev.shift_key() => {
                ev.prevent_default();
                accept(active.get_untracked().min(count - 1));
            }
            "Escape" if count > 0 => {
                ev.prevent_default();
                cursor.set(None);
            }
            " " if ev.ctrl_key() => {
                ev.prevent_default();
                cursor.set(read_cursor());
            }
            "Enter" if !ev.shift_key() => {
                ev.prevent_default();
                cursor.set(None);
                on_run.run(());
            }
            _ => {}
        }
    };

    view! {
        <div class="field promql-editor" class:has-error=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <textarea
                id=id.clone()
                class="promql"
                rows="2"
                spellcheck="false"
                autocomplete="off"
                placeholder=placeholder
                node_ref=node
                role="combobox"
                aria-autocomplete="list"
                aria-controls=listbox_id.clone()
                aria-expanded=move || open().to_string()
                aria-activedescendant=move || open().then(|| option_id(active.get()))
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=error_id.clone()
                prop:value=move || value.get()
                on:input=move |ev| {
                    value.set(event_target_value(&ev));
                    active.set(0);
                    cursor.set(read_cursor());
                }
                on:click=move |_| cursor.set(read_cursor())
                on:keydown=on_keydown
                on:blur=move |_| cursor.set(None)
            ></textarea>
            <Show when=open>
                <ul class="suggestions" role="listbox" id=listbox_id.clone() aria-label="Suggestions">
                    {move || {
                        suggestions
                            .get()
                            .into_iter()
                            .enumerate()
                            .map(|(i, (text, kind))| {
                                view! {
                                    <li
                                        role="option"
                                        id=option_id(i)
                                        aria-selected=move || (active.get() == i).to_string()
                                        // Before the textarea loses focus (which closes the list).
                                        on:mousedown=move |ev| {
                                            ev.prevent_default();
                                            accept(i);
                                        }
                                    >
                                        <span class="suggestion-text">{text}</span>
                                        <span class="suggestion-kind">{kind}</span>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
            </Show>
            <p class="field-error" id=error_id role="alert">{move || error.get()}</p>
        </div>
    }
}
