//! Importing a Prometheus rule file (editors): paste its YAML, see which rules landed and why
//! the others did not, rule by rule.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vigil_shared::alerting::{RuleImportReport, RuleImportRequest};

use crate::api;
use crate::components::{ErrorBanner, FormState};

const EXAMPLE: &str = "groups:
  - name: checkout
    rules:
      - alert: CheckoutErrors
        expr: sum(rate(http_requests_total{job=\"checkout\",status=~\"5..\"}[5m])) > 1
        for: 5m
        labels: {severity: critical}
        annotations: {summary: \"Checkout is failing\"}";

#[component]
pub fn ImportRulesPage() -> impl IntoView {
    let yaml = RwSignal::new(String::new());
    let report = RwSignal::new(None::<RuleImportReport>);
    let form = FormState::new();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let request = RuleImportRequest {
            yaml: yaml.get_untracked(),
        };
        form.submit(
            async move { api::import_alert_rules(&request).await },
            move |answer| report.set(Some(answer)),
        );
    };
    view! {
        <form class="card" aria-label="Import rules" on:submit=submit novalidate=true>
            <h2>"Import a Prometheus rule file"</h2>
            <p class="muted">"Alerting rules (" <code>"alert"</code> ", " <code>"expr"</code> ", " <code>"for"</code> ", " <code>"labels"</code> ", " <code>"annotations"</code> ") become Vigil rules in their group; a rule whose expression compares with a number gets that number as its threshold."</p>
            <ErrorBanner error=form.general()/>
            <div class="field" class:has-error=move || form.field("yaml").get().is_some()>
                <label for="field-yaml">"Rule file (YAML)"</label>
                <textarea id="field-yaml" class="promql" rows="12" spellcheck="false" bind:value=yaml placeholder=EXAMPLE></textarea>
                <p class="field-error">{move || form.field("yaml").get()}</p>
            </div>
            <div class="form-actions">
                <button class="button primary" type="submit" disabled=move || form.pending.get()>"Import rules"</button>
                <a class="button" href="/alerts/rules">"Back to rules"</a>
            </div>
        </form>
        {move || report.get().map(|report| view! {
            <div class="card" role="status" aria-label="Import report">
                <h2>{format!("Imported {} rules, {} refused", report.imported.len(), report.errors.len())}</h2>
                <ul class="import-report">
                    {report.imported.into_iter().map(|rule| view! {
                        <li class="ok-text"><a href=format!("/alerts/rules/{}", rule.id)>{rule.rule.name.clone()}</a>{format!(" (group {})", rule.rule.group)}</li>
                    }).collect_view()}
                    {report.errors.into_iter().map(|error| {
                        let problems: Vec<String> = error.fields.iter().map(|(f, p)| format!("{f} {p}")).collect();
                        view! { <li class="danger-text">{format!("{} (group {}): {}", error.rule, error.group, problems.join("; "))}</li> }
                    }).collect_view()}
                </ul>
            </div>
        })}
    }
}
