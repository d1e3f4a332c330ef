//! The alert rules, by group, with their thresholds; editors open one to change it or start
//! a new one.

use leptos::prelude::*;
use vigil_shared::Role;
use vigil_shared::alerting::AlertRule;

use crate::api;
use crate::components::Loaded;
use crate::session::use_session;

fn thresholds(rule: &AlertRule) -> String {
    let c = rule.rule.comparison.symbol();
    let mut parts = Vec::new();
    if let Some(w) = rule.rule.warning_threshold {
        parts.push(format!("warning {c} {w}"));
    }
    if let Some(t) = rule.rule.critical_threshold {
        parts.push(format!("critical {c} {t}"));
    }
    parts.join(" · ")
}

#[component]
pub fn RulesPage() -> impl IntoView {
    let session = use_session();
    let rules = LocalResource::new(api::list_alert_rules);

    view! {
        <div class="card">
            <div class="card-header">
                <h2>"Alert rules"</h2>
                <Show when=move || session.can(Role::Editor)>
                    <div class="row-actions">
                        <a class="button" href="/alerts/rules/import">"Import rule file"</a>
                        <a class="button primary" href="/alerts/rules/new">"New rule"</a>
                    </div>
                </Show>
            </div>
            <Loaded resource=rules what="rules" let:list>
                {match list {
                    list if list.rules.is_empty() => view! {
                        <p class="muted empty-state">"No alert rules yet."</p>
                    }.into_any(),
                    list => view! {
                        <table class="table" aria-label="Alert rules">
                            <thead><tr>
                                <th>"Rule"</th><th>"Group"</th><th>"Query"</th><th>"Thresholds"</th>
                                <th>"For"</th><th>"Every"</th><th>"Status"</th>
                            </tr></thead>
                            <tbody>
                                {list.rules.into_iter().map(|rule| {
                                    let summary = thresholds(&rule);
                                    view! {
                                        <tr class:disabled=!rule.rule.enabled>
                                            <td><a href=format!("/alerts/rules/{}", rule.id)>{rule.rule.name.clone()}</a></td>
                                            <td>{rule.rule.group.clone()}</td>
                                            <td><code class="query">{rule.rule.query.clone()}</code></td>
                                            <td>{summary}</td>
                                            <td>{rule.rule.for_duration.clone()}</td>
                                            <td>{rule.rule.interval.clone()}</td>
                                            <td>{if rule.rule.enabled { "enabled" } else { "paused" }}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }}
            </Loaded>
        </div>
    }
}
