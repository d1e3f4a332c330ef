//! Importing a dashboard (`/dashboards/import`, editors): Vigil's own JSON or Grafana's, pasted
//! or read from a file. "Check" converts it without saving and shows what the conversion made
//! and left out (with the JSON path of each); "Import" saves it and opens it. Exporting is the
//! editor's "Download JSON".

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use vigil_shared::dashboard::{ImportDashboard, ImportReport};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::EditorsOnly;
use super::editor::json_problem;
use crate::api;
use crate::components::{ErrorBanner, FieldErrors, FormState};

/// Largest file read (the server refuses larger bodies anyway).
const MAX_FILE_BYTES: f64 = 5.0 * 1024.0 * 1024.0;

#[component]
pub fn ImportPage() -> impl IntoView {
    view! {
        <EditorsOnly title="Import a dashboard">
            <ImportForm/>
        </EditorsOnly>
    }
}

#[component]
fn ImportForm() -> impl IntoView {
    let text = RwSignal::new(String::new());
    let overwrite = RwSignal::new(false);
    let report = RwSignal::new(None::<ImportReport>);
    let form = FormState::new();
    let navigate = use_navigate();

    let send = move |dry_run: bool| {
        report.set(None);
        let dashboard = match serde_json::from_str::<serde_json::Value>(&text.get_untracked()) {
            Ok(value) => value,
            Err(error) => {
                form.refuse("dashboard", json_problem(&error));
                return;
            }
        };
        let request = ImportDashboard {
            dashboard,
            dry_run,
            overwrite: overwrite.get_untracked(),
        };
        let navigate = navigate.clone();
        form.submit(
            async move { api::import_dashboard(&request).await },
            move |answer| match (&answer.dashboard, dry_run) {
                (Some(saved), false) => {
                    navigate(
                        &format!("/dashboards/{}", api::encode_component(&saved.uid)),
                        Default::default(),
                    );
                }
                _ => report.set(Some(answer)),
            },
        );
    };
    let check = {
        let send = send.clone();
        move |_| send(true)
    };
    let import = move |_| send(false);

    let read_file = move |ev: leptos::ev::Event| {
        let Some(file) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            .and_then(|input| input.files())
            .and_then(|files| files.get(0))
        else {
            return;
        };
        if file.size() > MAX_FILE_BYTES {
            form.refuse("dashboard", "The file is larger than 5 MB.");
            return;
        }
        leptos::task::spawn_local(async move {
            match JsFuture::from(file.text())
                .await
                .ok()
                .and_then(|v| v.as_string())
            {
                Some(content) => {
                    report.set(None);
                    text.set(content);
                }
                None => form.refuse("dashboard", "The file could not be read."),
            }
        });
    };

    view! {
        <section class="page narrow">
            <header class="page-header"><h1>"Import a dashboard"</h1></header>
            <form class="card" aria-label="Import a dashboard" novalidate=true on:submit=|ev| ev.prevent_default()>
                <p class="muted">"Vigil's own JSON (from \"Download JSON\") or a Grafana dashboard's JSON model. Grafana panels, variables and rows are converted; what cannot be is listed before you import."</p>
                <ErrorBanner error=form.general()/>
                <FieldErrors errors=form.elsewhere(&["dashboard"])/>
                <div class="field">
                    <label for="import-file">"Upload a JSON file"</label>
                    <input id="import-file" type="file" accept=".json,application/json" on:change=read_file/>
                </div>
                <div class="field" class:has-error=move || form.field("dashboard").get().is_some()>
                    <label for="field-dashboard">"Or paste the JSON"</label>
                    <textarea id="field-dashboard" class="promql" rows="12" spellcheck="false"
                        aria-describedby="field-dashboard-error"
                        prop:value=move || text.get()
                        on:input=move |ev| { report.set(None); text.set(event_target_value(&ev)); }></textarea>
                    <p class="field-error" id="field-dashboard-error">{move || form.field("dashboard").get()}</p>
                </div>
                <label class="checkbox">
                    <input type="checkbox" bind:checked=overwrite/>
                    <span>"Replace the dashboard with the same uid, if there is one (as its new version)"</span>
                </label>
                <div class="form-actions">
                    <button class="button" type="button" on:click=check disabled=move || form.pending.get()>"Check"</button>
                    <button class="button primary" type="button" on:click=import disabled=move || form.pending.get()>"Import"</button>
                    <a class="button" href="/dashboards">"Cancel"</a>
                </div>
            </form>
            {move || report.get().map(report_view)}
        </section>
    }
}

fn report_view(report: ImportReport) -> impl IntoView {
    let format = if report.format == "grafana" {
        "Grafana"
    } else {
        "Vigil"
    };
    view! {
        <div class="card" role="status" aria-label="Conversion report">
            <h2>{format!("{} ({format} JSON): {} panels, {} variables", report.model.title, report.panels, report.variables)}</h2>
            {if report.notes.is_empty() {
                view! { <p class="ok-text">"Everything converts."</p> }.into_any()
            } else {
                view! {
                    <p>{format!("{} notes on what was left out or changed:", report.notes.len())}</p>
                    <ul class="import-report">
                        {report.notes.into_iter().map(|note| view! {
                            <li><code>{note.path}</code>" "{note.message}</li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </div>
    }
}
