//! Scrape targets, as Prometheus' targets page shows them: health, last scrape, how long it
//! took, how many samples, the last error. Editors add, pause and remove targets.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vigil_shared::Role;
use vigil_shared::scrape::{ScrapeTarget, ScrapeTargetRequest, TargetHealth};

use crate::api::{self, ApiError};
use crate::components::{ErrorBanner, FormState, Loaded, Notice, TextField, confirm};
use crate::format;
use crate::session::use_session;

#[component]
pub fn TargetsPage() -> impl IntoView {
    let session = use_session();
    let targets = LocalResource::new(api::list_scrape_targets);
    let notice = RwSignal::new(None::<Result<String, ApiError>>);
    let changed = Callback::new(move |message: Result<String, ApiError>| {
        notice.set(Some(message));
        targets.refetch();
    });

    view! {
        <section class="page">
            <header class="page-header">
                <h1>"Scrape targets"</h1>
                <a href="/explore">"Back to Explore"</a>
            </header>
            <p class="muted">"Vigil fetches these Prometheus /metrics endpoints on their interval and adds up, scrape_duration_seconds and scrape_samples_scraped for each. Its own metrics come in as job vigil without a target here."</p>
            <Show when=move || session.can(Role::Editor)>
                <NewTargetForm on_created=changed/>
            </Show>
            <div class="card">
                <Notice notice=notice/>
                <Loaded resource=targets what="targets" let:list>
                    {match list {
                        list if list.targets.is_empty() => view! { <p class="muted">"No scrape targets."</p> }.into_any(),
                        list => view! {
                            <table class="table" aria-label="Scrape targets">
                                <thead><tr>
                                    <th>"Job"</th><th>"Endpoint"</th><th>"Health"</th><th>"Last scrape"</th>
                                    <th>"Took"</th><th>"Samples"</th><th>"Error"</th><th></th>
                                </tr></thead>
                                <tbody>
                                    {list.targets.into_iter().map(|t| view! { <TargetRow target=t on_change=changed/> }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }}
                </Loaded>
            </div>
        </section>
    }
}

#[component]
fn TargetRow(target: ScrapeTarget, on_change: Callback<Result<String, ApiError>>) -> impl IntoView {
    let session = use_session();
    let (health, class) = match (target.target.enabled, target.health) {
        (false, _) => ("paused", "badge badge-muted"),
        (true, TargetHealth::Up) => ("up", "badge badge-ok"),
        (true, TargetHealth::Down) => ("down", "badge state-firing"),
        (true, TargetHealth::Unknown) => ("unknown", "badge"),
    };
    let id = target.id;
    let request = target.target.clone();
    let toggle = move |_| {
        let mut request = request.clone();
        request.enabled = !request.enabled;
        leptos::task::spawn_local(async move {
            let result = api::update_scrape_target(id, &request).await.map(|t| {
                format!(
                    "{} is {}.",
                    t.target.url,
                    if t.target.enabled {
                        "scraped again"
                    } else {
                        "paused"
                    }
                )
            });
            on_change.run(result);
        });
    };
    let url = target.target.url.clone();
    let remove = move |_| {
        if !confirm(&format!("Stop scraping {url}? Its stored samples stay.")) {
            return;
        }
        let url = url.clone();
        leptos::task::spawn_local(async move {
            on_change.run(
                api::delete_scrape_target(id)
                    .await
                    .map(|()| format!("Removed {url}.")),
            );
        });
    };
    let enabled = target.target.enabled;
    view! {
        <tr class:disabled=!enabled>
            <td>{target.target.job.clone()}</td>
            <td class="details">{target.target.url.clone()}{format!(" · every {}", target.target.interval)}</td>
            <td><span class=class>{health}</span></td>
            <td>{target.last_scrape_at.as_ref().map(format::ago).unwrap_or_else(|| "never".to_owned())}</td>
            <td>{target.last_duration_ms.map(|ms| format!("{ms} ms")).unwrap_or_default()}</td>
            <td>{target.last_sample_count.map(|n| n.to_string()).unwrap_or_default()}</td>
            <td class="danger-text">{target.last_error.clone().unwrap_or_default()}</td>
            <td class="row-actions">
                <Show when=move || session.can(Role::Editor)>
                    <button class="button small" type="button" on:click=toggle.clone()>{if enabled { "Pause" } else { "Resume" }}</button>
                    <button class="button small danger" type="button" on:click=remove.clone()>"Remove"</button>
                </Show>
            </td>
        </tr>
    }
}

#[component]
fn NewTargetForm(on_created: Callback<Result<String, ApiError>>) -> impl IntoView {
    let job = RwSignal::new(String::new());
    let url = RwSignal::new(String::new());
    let interval = RwSignal::new("15s".to_owned());
    let timeout = RwSignal::new("10s".to_owned());
    let labels = RwSignal::new(String::new());
    let form = FormState::new();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let mut parsed = std::collections::BTreeMap::new();
        for pair in labels
            .get_untracked()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match pair.split_once('=') {
                Some((k, v)) => {
                    parsed.insert(k.trim().to_owned(), v.trim().trim_matches('"').to_owned());
                }
                None => {
                    return form.refuse(
                        "labels",
                        format!("write name=value pairs ({pair:?} has no =)"),
                    );
                }
            }
        }
        let request = ScrapeTargetRequest {
            job: job.get_untracked().trim().to_owned(),
            url: url.get_untracked().trim().to_owned(),
            interval: interval.get_untracked().trim().to_owned(),
            timeout: timeout.get_untracked().trim().to_owned(),
            labels: parsed,
            enabled: true,
        };
        form.submit(
            async move { api::create_scrape_target(&request).await },
            move |target| {
                url.set(String::new());
                on_created.run(Ok(format!(
                    "Scraping {} as job {}.",
                    target.target.url, target.target.job
                )));
            },
        );
    };

    view! {
        <form class="card" aria-label="New scrape target" on:submit=submit novalidate=true>
            <h2>"New target"</h2>
            <ErrorBanner error=form.general()/>
            <div class="form-grid">
                <TextField label="Job" name="job" value=job error=form.field("job") placeholder="node"/>
                <TextField label="Metrics URL" name="url" value=url error=form.field("url") placeholder="http://host:9100/metrics"/>
                <TextField label="Interval" name="interval" value=interval error=form.field("interval")/>
                <TextField label="Timeout" name="timeout" value=timeout error=form.field("timeout")/>
                <TextField label="Extra labels" name="labels" value=labels error=form.field("labels") placeholder="env=prod, team=web"/>
            </div>
            <div class="form-actions">
                <button class="button primary" type="submit" disabled=move || form.pending.get()>"Add target"</button>
            </div>
        </form>
    }
}
