//! API keys: create (the secret is shown once), list, revoke.

use chrono::{NaiveDate, TimeZone, Utc};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vigil_shared::admin::{ApiKey, ApiKeyScope, CreateApiKeyRequest, CreatedApiKey};

use crate::api::{self, ApiError};
use crate::components::{CheckboxField, ErrorBanner, FormState, Loaded, TextField, confirm};
use crate::format;

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let keys = LocalResource::new(api::list_api_keys);
    let created = RwSignal::new(None::<CreatedApiKey>);
    let row_error = RwSignal::new(None::<ApiError>);

    let on_created = Callback::new(move |key: CreatedApiKey| {
        created.set(Some(key));
        keys.refetch();
    });
    let revoke = Callback::new(move |key: ApiKey| {
        if !confirm(&format!(
            "Revoke the API key \"{}\"? Clients using it will be refused.",
            key.name
        )) {
            return;
        }
        leptos::task::spawn_local(async move {
            match api::revoke_api_key(key.id).await {
                Ok(()) => row_error.set(None),
                Err(e) => row_error.set(Some(e)),
            }
            keys.refetch();
        });
    });

    view! {
        <CreateKeyForm on_created=on_created/>
        {move || created.get().map(|key| view! {
            <div class="card secret-card" role="status">
                <h2>{format!("Key \"{}\" created", key.key.name)}</h2>
                <p>"Copy it now: it will not be shown again. Clients send it as "
                    <code>"Authorization: Bearer <key>"</code>"."</p>
                <div class="secret">
                    <code data-testid="api-key-secret">{key.secret.clone()}</code>
                    <button class="button small" on:click={
                        let secret = key.secret.clone();
                        move |_| copy_to_clipboard(&secret)
                    }>"Copy"</button>
                </div>
                <button class="button small" on:click=move |_| created.set(None)>"Done"</button>
            </div>
        })}
        <div class="card">
            <h2>"API keys"</h2>
            <ErrorBanner error=row_error/>
            <Loaded resource=keys what="API keys" let:list>
                {match list {
                    list if list.api_keys.is_empty() => view! {
                        <p class="muted">"No API keys yet. Create one for Prometheus, an OpenTelemetry collector or Grafana."</p>
                    }.into_any(),
                    list => view! {
                        <table class="table" aria-label="API keys">
                            <thead><tr>
                                <th>"Name"</th><th>"Key"</th><th>"Scopes"</th><th>"Created"</th>
                                <th>"Last used"</th><th>"Expires"</th><th>"Status"</th><th></th>
                            </tr></thead>
                            <tbody>
                                {list.api_keys.into_iter().map(|key| {
                                    let revoked = key.revoked_at.is_some();
                                    let scopes = key.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
                                    let for_revoke = key.clone();
                                    view! {
                                        <tr class:disabled=revoked>
                                            <td>{key.name.clone()}</td>
                                            <td><code>{format!("{}…", key.prefix)}</code></td>
                                            <td>{scopes}</td>
                                            <td title=format::time(&key.created_at)>
                                                {format!("{} by {}", format::ago(&key.created_at), key.created_by.clone().unwrap_or_else(|| "—".to_owned()))}
                                            </td>
                                            <td>{key.last_used_at.as_ref().map_or_else(|| "never".to_owned(), format::ago)}</td>
                                            <td>{format::maybe_time(&key.expires_at)}</td>
                                            <td>{if revoked { "revoked" } else { "active" }}</td>
                                            <td>
                                                <Show when=move || !revoked>
                                                    <button class="button small danger" on:click={
                                                        let key = for_revoke.clone();
                                                        move |_| revoke.run(key.clone())
                                                    }>"Revoke"</button>
                                                </Show>
                                            </td>
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

fn copy_to_clipboard(text: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
}

#[component]
fn CreateKeyForm(on_created: Callback<CreatedApiKey>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let ingest = RwSignal::new(true);
    let read = RwSignal::new(false);
    let expires = RwSignal::new(String::new());
    let form = FormState::new();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let mut scopes = Vec::new();
        if ingest.get_untracked() {
            scopes.push(ApiKeyScope::Ingest);
        }
        if read.get_untracked() {
            scopes.push(ApiKeyScope::Read);
        }
        // A date means "valid through that day" (UTC).
        let expires_at = NaiveDate::parse_from_str(&expires.get_untracked(), "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .map(|at| Utc.from_utc_datetime(&at));
        let request = CreateApiKeyRequest {
            name: name.get_untracked(),
            scopes,
            expires_at,
        };
        form.submit(
            async move { api::create_api_key(&request).await },
            move |key| {
                name.set(String::new());
                expires.set(String::new());
                on_created.run(key);
            },
        );
    };
    let field = move |name: &'static str| form.field(name);

    view! {
        <form class="card form-grid" on:submit=submit aria-label="New API key">
            <h2>"New API key"</h2>
            <ErrorBanner error=form.general()/>
            <TextField label="Name" name="key-name" value=name error=field("name") placeholder="prometheus-remote-write"/>
            <fieldset class="field" class:has-error=move || field("scopes").get().is_some()>
                <legend>"Scopes"</legend>
                <CheckboxField label="ingest — write metrics, traces and alerts" name="scope-ingest" checked=ingest/>
                <CheckboxField label="read — query through the Prometheus API" name="scope-read" checked=read/>
                <p class="field-error">{move || field("scopes").get()}</p>
            </fieldset>
            <TextField label="Expires" name="expires" value=expires input_type="date" error=field("expires_at")
                hint="Optional; the key stops working after this day (UTC)."/>
            <div class="form-actions">
                <button class="button primary" type="submit" disabled=move || form.pending.get()>"Create key"</button>
            </div>
        </form>
    }
}
