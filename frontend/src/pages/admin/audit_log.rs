//! The audit log: who did what, when and from where; filterable, newest first.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vigil_shared::admin::AuditLogPage;

use crate::api;
use crate::components::{ErrorBanner, FormState, Loaded, Loading, TextField};
use crate::format;

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let action = RwSignal::new(String::new());
    let actor = RwSignal::new(String::new());
    // The filter in force: what was typed when "Filter" was last pressed.
    let filter = RwSignal::new((String::new(), String::new()));
    let newest = LocalResource::new(move || {
        let (action, actor) = filter.get();
        async move { api::audit_log(&action, &actor, None).await }
    });

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        // Asks again even when the filter is the same (a signal set always notifies).
        filter.set((action.get_untracked(), actor.get_untracked()));
    };

    view! {
        <form class="card filters" on:submit=submit aria-label="Filter the audit log">
            <TextField label="Action starts with" name="audit-action" value=action placeholder="user."/>
            <TextField label="Actor contains" name="audit-actor" value=actor placeholder="admin@"/>
            <div class="form-actions"><button class="button" type="submit">"Filter"</button></div>
        </form>
        <div class="card">
            <Loaded resource=newest what="entries" let:page>
                <AuditEntries first=page filter=filter.get_untracked()/>
            </Loaded>
        </div>
    }
}

/// The entries matching a filter, from its first page on; "Load older entries" adds the next.
#[component]
fn AuditEntries(first: AuditLogPage, filter: (String, String)) -> impl IntoView {
    let entries = RwSignal::new(first.entries);
    let next_before = RwSignal::new(first.next_before);
    let older = FormState::new();
    let load_older = move |_| {
        let (action, actor) = filter.clone();
        let before = next_before.get_untracked();
        older.submit(
            async move { api::audit_log(&action, &actor, before).await },
            move |page| {
                entries.update(|e| e.extend(page.entries));
                next_before.set(page.next_before);
            },
        );
    };

    view! {
        <ErrorBanner error=older.error/>
        <table class="table" aria-label="Audit log">
            <thead><tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"Target"</th><th>"Details"</th><th>"From"</th></tr></thead>
            <tbody>
                <For each=move || entries.get() key=|e| e.id let:entry>
                    <tr>
                        <td title=format::time(&entry.at)>{format::time(&entry.at)}</td>
                        <td>{entry.actor.clone()}</td>
                        <td><code>{entry.action.clone()}</code></td>
                        <td>{match (&entry.target_type, &entry.target_id) {
                            (Some(kind), Some(id)) => format!("{kind} {id}"),
                            _ => "—".to_owned(),
                        }}</td>
                        <td class="details">{if entry.details.as_object().is_some_and(|o| o.is_empty()) { String::new() } else { entry.details.to_string() }}</td>
                        <td>{entry.ip.clone().unwrap_or_default()}</td>
                    </tr>
                </For>
            </tbody>
        </table>
        <Show when=move || entries.with(Vec::is_empty)>
            <p class="muted">"No entries match."</p>
        </Show>
        <Show when=move || older.pending.get()>
            <Loading what="entries"/>
        </Show>
        <Show when=move || next_before.get().is_some()>
            <button class="button" on:click=load_older.clone()>"Load older entries"</button>
        </Show>
    }
}
