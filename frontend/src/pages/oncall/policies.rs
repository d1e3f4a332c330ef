//! The escalation policies (`/oncall/policies`): who each pages, level by level; editors start
//! a new one.

use std::fmt::Write as _;

use leptos::prelude::*;
use vigil_shared::incident::{EscalationPolicyList, EscalationPolicyRequest};

use super::{Directory, esc, html_block, is_editor, load_html, use_directory};
use crate::api;

/// The levels in a line: `0 min: Eddie Editor · 15 min: team SRE, schedule Primary`.
pub fn levels_summary(directory: &Directory, policy: &EscalationPolicyRequest) -> String {
    policy
        .levels
        .iter()
        .map(|level| {
            let targets: Vec<String> = level.targets.iter().map(|t| directory.target(t)).collect();
            format!("{} min: {}", level.delay_minutes, targets.join(", "))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

#[component]
pub fn PoliciesPage() -> impl IntoView {
    let directory = use_directory();
    let editor = is_editor();
    let policies = load_html(move || async move {
        // The names of the schedules and channels the levels page, first. The table reads
        // them untracked: this request sets them, and must not run again because it did.
        directory.load_targets(editor).await;
        api::list_escalation_policies()
            .await
            .map(|list| untrack(|| policies_table(&directory, &list)))
    });

    view! {
        <div class="card">
            <div class="card-header">
                <h2>"Escalation policies"</h2>
                {editor.then(|| view! { <a class="button primary" href="/oncall/policies/new">"New policy"</a> })}
            </div>
            <p class="muted">"Who is paged about an incident, level after level, until someone acknowledges it."</p>
            {html_block(policies, "escalation policies")}
        </div>
    }
}

fn policies_table(directory: &Directory, list: &EscalationPolicyList) -> String {
    if list.policies.is_empty() {
        return "<p class=\"muted empty-state\">No escalation policies yet.</p>".to_owned();
    }
    let mut html = "<table class=\"table\" aria-label=\"Escalation policies\"><thead><tr><th>Policy</th>\
        <th>Levels (delay: who)</th><th>Repeats</th><th>Acknowledgment timeout</th><th>Auto-resolve</th>\
        </tr></thead><tbody>"
        .to_owned();
    for p in &list.policies {
        let r = &p.policy;
        let repeats = if r.repeat_count == 0 {
            "never".to_owned()
        } else {
            format!("{} × after {} min", r.repeat_count, r.repeat_after_minutes)
        };
        let timeout = r
            .ack_timeout_minutes
            .map_or_else(|| "none".to_owned(), |m| format!("{m} min"));
        let _ = write!(
            html,
            "<tr><td><a href=\"/oncall/policies/{}\">{}</a></td><td>{}</td><td>{repeats}</td><td>{timeout}</td><td>{}</td></tr>",
            p.id,
            esc(&r.name),
            esc(&levels_summary(directory, r)),
            if r.auto_resolve { "yes" } else { "no" }
        );
    }
    html + "</tbody></table>"
}
