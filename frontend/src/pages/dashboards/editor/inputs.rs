//! Inputs bound to a part of the model: each reads its value from the model and writes what
//! is typed back into it, with the server's complaint (or its own) beneath it.

use leptos::prelude::*;
use vigil_shared::dashboard::DashboardModel;

use super::Editor;

/// Reads a value out of the model.
pub trait ReadModel<T>: Fn(&DashboardModel) -> T + Copy + Send + Sync + 'static {}
impl<T, F: Fn(&DashboardModel) -> T + Copy + Send + Sync + 'static> ReadModel<T> for F {}

/// Writes a value into the model.
pub trait WriteModel<T>: Fn(&mut DashboardModel, T) + Copy + Send + Sync + 'static {}
impl<T, F: Fn(&mut DashboardModel, T) + Copy + Send + Sync + 'static> WriteModel<T> for F {}

fn wrap(id: String, label: &'static str, error: Signal<Option<String>>, input: AnyView) -> AnyView {
    let error_id = format!("{id}-error");
    view! {
        <div class="field" class:has-error=move || error.get().is_some()>
            <label for=id>{label}</label>
            {input}
            <p class="field-error" id=error_id>{move || error.get()}</p>
        </div>
    }
    .into_any()
}

/// A one-line text, written as it is typed.
pub fn text(
    id: String,
    label: &'static str,
    get: impl ReadModel<String>,
    set: impl WriteModel<String>,
    error: Signal<Option<String>>,
) -> AnyView {
    let editor = expect_context::<Editor>();
    let input = view! {
        <input id=id.clone() type="text" aria-describedby=format!("{id}-error")
            aria-invalid=move || error.get().is_some().then_some("true")
            prop:value=move || editor.model.with(get)
            on:input=move |ev| editor.edit(|m| set(m, event_target_value(&ev)))/>
    };
    wrap(id, label, error, input.into_any())
}

/// Several lines of text.
pub fn area(
    id: String,
    label: &'static str,
    get: impl ReadModel<String>,
    set: impl WriteModel<String>,
    error: Signal<Option<String>>,
) -> AnyView {
    let editor = expect_context::<Editor>();
    let input = view! {
        <textarea id=id.clone() rows="4" aria-describedby=format!("{id}-error")
            prop:value=move || editor.model.with(get)
            on:input=move |ev| editor.edit(|m| set(m, event_target_value(&ev)))></textarea>
    };
    wrap(id, label, error, input.into_any())
}

/// A list typed as comma-separated words, read when the field is left (so that a comma just
/// typed is not tidied away).
pub fn list(
    id: String,
    label: &'static str,
    get: impl ReadModel<Vec<String>>,
    set: impl WriteModel<Vec<String>>,
    error: Signal<Option<String>>,
) -> AnyView {
    let editor = expect_context::<Editor>();
    let input = view! {
        <input id=id.clone() type="text" aria-describedby=format!("{id}-error")
            placeholder="comma, separated"
            prop:value=move || editor.model.with(get).join(", ")
            on:change=move |ev| editor.edit(|m| set(m, split_list(&event_target_value(&ev))))/>
    };
    wrap(id, label, error, input.into_any())
}

/// `a, b ,c,` as `["a", "b", "c"]`.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A number, or nothing when empty; what does not parse is refused beside the field.
pub fn number(
    id: String,
    label: &'static str,
    get: impl ReadModel<Option<f64>>,
    set: impl WriteModel<Option<f64>>,
    error: Signal<Option<String>>,
) -> AnyView {
    let editor = expect_context::<Editor>();
    let problem = RwSignal::new(None::<String>);
    let shown = Signal::derive(move || problem.get().or_else(|| error.get()));
    let input = view! {
        <input id=id.clone() type="text" inputmode="decimal" aria-describedby=format!("{id}-error")
            prop:value=move || editor.model.with(get).map(|v| v.to_string()).unwrap_or_default()
            on:change=move |ev| {
                let text = event_target_value(&ev);
                match parse_number(&text) {
                    Ok(value) => {
                        problem.set(None);
                        editor.edit(|m| set(m, value));
                    }
                    Err(why) => problem.set(Some(why)),
                }
            }/>
    };
    wrap(id, label, shown, input.into_any())
}

/// An optional number as typed: empty is none.
pub fn parse_number(text: &str) -> Result<Option<f64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(Some(value)),
        _ => Err(format!("`{text}` is not a number.")),
    }
}

/// A choice among `(value, label)` options.
pub fn select(
    id: String,
    label: &'static str,
    options: Vec<(String, String)>,
    get: impl ReadModel<String>,
    set: impl WriteModel<String>,
    error: Signal<Option<String>>,
) -> AnyView {
    let editor = expect_context::<Editor>();
    let current = editor.model.with_untracked(get);
    let input = view! {
        <select id=id.clone() aria-describedby=format!("{id}-error")
            prop:value=move || editor.model.with(get)
            on:change=move |ev| editor.edit(|m| set(m, event_target_value(&ev)))>
            {options.into_iter().map(|(value, text)| {
                let selected = value == current;
                view! { <option value=value selected=selected>{text}</option> }
            }).collect_view()}
        </select>
    };
    wrap(id, label, error, input.into_any())
}

/// A checkbox.
pub fn check(
    id: String,
    label: &'static str,
    get: impl ReadModel<bool>,
    set: impl WriteModel<bool>,
) -> AnyView {
    let editor = expect_context::<Editor>();
    let label_for = id.clone();
    view! {
        <label class="checkbox" for=label_for>
            <input id=id type="checkbox"
                prop:checked=move || editor.model.with(get)
                on:change=move |ev| editor.edit(|m| set(m, event_target_checked(&ev)))/>
            <span>{label}</span>
        </label>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_split_at_commas_and_trimmed() {
        assert_eq!(split_list(" a, b ,,c,"), vec!["a", "b", "c"]);
        assert!(split_list("  ").is_empty());
    }

    #[test]
    fn numbers_may_be_left_empty_but_not_garbled() {
        assert_eq!(parse_number(" "), Ok(None));
        assert_eq!(parse_number("2.5"), Ok(Some(2.5)));
        assert!(parse_number("12px").is_err());
        assert!(parse_number("NaN").is_err());
    }
}
