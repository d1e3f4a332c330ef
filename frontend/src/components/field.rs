//! Form fields that show the server's complaint about them beside them, and keep what was typed.

use leptos::html;
use leptos::prelude::*;

/// A labelled text input bound to a signal, with its error (if any) below it.
#[component]
pub fn TextField(
    #[prop(into)] label: String,
    /// The form's field name; also the input's id and the key of the server's field error.
    #[prop(into)]
    name: String,
    value: RwSignal<String>,
    #[prop(into, optional)] error: Signal<Option<String>>,
    #[prop(optional)] input_type: Option<&'static str>,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] placeholder: Option<&'static str>,
    #[prop(optional)] required: bool,
    #[prop(optional)] node_ref: Option<NodeRef<html::Input>>,
    #[prop(optional, into)] hint: Option<String>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let node_ref = node_ref.unwrap_or_default();
    view! {
        <div class="field" class:has-error=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=input_type.unwrap_or("text")
                autocomplete=autocomplete
                placeholder=placeholder
                required=required
                node_ref=node_ref
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=error_id.clone()
                bind:value=value
            />
            {hint.map(|hint| view! { <p class="field-hint">{hint}</p> })}
            <p class="field-error" id=error_id>{move || error.get()}</p>
        </div>
    }
}

/// A labelled select of `(value, label)` options bound to a signal.
#[component]
pub fn SelectField(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    value: RwSignal<String>,
    options: Vec<(String, String)>,
    #[prop(into, optional)] error: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    view! {
        <div class="field" class:has-error=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <select
                id=id
                name=name
                aria-describedby=error_id.clone()
                on:change=move |ev| value.set(event_target_value(&ev))
                prop:value=move || value.get()
            >
                {options
                    .into_iter()
                    .map(|(option, text)| {
                        let selected = value.get_untracked() == option;
                        view! { <option value=option selected=selected>{text}</option> }
                    })
                    .collect_view()}
            </select>
            <p class="field-error" id=error_id>{move || error.get()}</p>
        </div>
    }
}

/// A labelled checkbox bound to a signal.
#[component]
pub fn CheckboxField(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    checked: RwSignal<bool>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let label_for = id.clone();
    view! {
        <label class="checkbox" for=label_for>
            <input id=id name=name type="checkbox" bind:checked=checked/>
            <span>{label}</span>
        </label>
    }
}
