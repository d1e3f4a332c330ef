//! The audit log: who did what, when and from where; filterable, newest first.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vigil_shared::admin::AuditEntry;

use crate::api::{self, ApiError};
use crate::components::{ErrorBanner, Spinner, TextField};
use crate::format;

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let action = RwSignal::new(String::new());
    let actor = RwSignal::new(String::new());
    let entries = RwSignal::new(Vec::<AuditEntry>::new());
    let next_before = RwSignal::new(None::<i64>);
    let error = RwSignal::new(None::<ApiError>);
    let loading = RwSignal::new(false);

    let load = move |before: Option<i64>| {
        loading.set(true);
        leptos::task::spawn_local(async move {
            match api::audit_log(&action.get_untracked(), &actor.get_untracked(), before).await {
                Ok(page) => {
                    error.set(None);
                    if before.is_some() {
                        entries.update(|e| e.extend(page.entries));
                    } else {
                        entries.set(page.entries);
                    }
                    next_before.set(page.next_before);
                }
                Err(e) => error.set(Some(e)),
            }
            loading.set(false);
        });
    };
    load(None);

    let filter = move |ev: SubmitEvent| {
        ev.prevent_default();
        load(None);
    };

    view! {
        <form class="card filters" on:submit=filter aria-label="Filter the audit log">
            <TextField label="Action starts with" name="audit-action" value=action placeholder="user."/>
            <TextField label="Actor contains" name="audit-actor" value=actor placeholder="admin@"/>
            <div class="form-actions"><button class="button" type="submit">"Filter"</button></div>
        </form>
        <div class="card">
            <ErrorBanner error=error/>
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
            <Show when=move || loading.get()>
                <div class="loading" role="status"><Spinner/>" Loading entries…"</div>
            </Show>
            <Show when=move || !loading.get() && entries.with(Vec::is_empty)>
                <p class="muted">"No entries match."</p>
            </Show>
            <Show when=move || next_before.get().is_some()>
                <button class="button" on:click=move |_| load(next_before.get_untracked())>"Load older entries"</button>
            </Show>
        </div>
    }
}
