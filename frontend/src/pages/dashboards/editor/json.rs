//! The whole model as JSON, for those who would rather type it (or paste part of another
//! dashboard): applied after it parses, with where it does not.

use leptos::prelude::*;
use vigil_shared::dashboard::DashboardModel;

use super::Editor;

/// Why a JSON text did not parse, with where: `Line 3, column 7: expected `,` or `}``.
pub fn json_problem(error: &serde_json::Error) -> String {
    let what = error.to_string();
    // serde_json ends its message with " at line L column C"; say it first instead.
    let what = what
        .rsplit_once(" at line ")
        .map_or(what.as_str(), |(head, _)| head);
    format!("Line {}, column {}: {what}", error.line(), error.column())
}

#[component]
pub fn JsonTab(
    /// Runs once the text has replaced the model.
    on_applied: Callback<()>,
) -> impl IntoView {
    let editor = expect_context::<Editor>();
    let text = RwSignal::new(
        editor
            .model
            .with_untracked(serde_json::to_string_pretty)
            .unwrap_or_default(),
    );
    let problem = RwSignal::new(None::<String>);
    let apply = move |_| match serde_json::from_str::<DashboardModel>(&text.get_untracked()) {
        Ok(model) => {
            problem.set(None);
            editor.error.set(None);
            editor.replace(model);
            on_applied.run(());
        }
        Err(error) => problem.set(Some(json_problem(&error))),
    };
    view! {
        <div class="card" role="group" aria-label="JSON model">
            <div class="field" class:has-error=move || problem.get().is_some()>
                <label for="field-model-json">"Dashboard JSON"</label>
                <textarea id="field-model-json" class="promql json-model" rows="30" spellcheck="false"
                    readonly=editor.read_only aria-describedby="field-model-json-error"
                    prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                <p class="field-error" id="field-model-json-error" role="alert">{move || problem.get()}</p>
            </div>
            <div class="form-actions">
                <button class="button primary" type="button" disabled=editor.read_only on:click=apply>"Apply"</button>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_say_where() {
        let error = serde_json::from_str::<DashboardModel>("{\n  \"title\": 3\n}").unwrap_err();
        let problem = json_problem(&error);
        assert!(problem.starts_with("Line 2, column "), "{problem}");
        assert!(!problem.contains(" at line "), "{problem}");
    }
}
