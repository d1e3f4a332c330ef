//! A dashboard's history (`/dashboards/:uid/versions`): every save with its author, message
//! and time; two versions compared as a line diff of their JSON models; and, for those who
//! may edit it, restoring a version (saved as a new version, so nothing is lost).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use vigil_shared::dashboard::{Dashboard, DashboardVersion};

use super::diff::{Change, MAX_LINES, line_diff};
use crate::api::{self, ApiError};
use crate::components::{Loaded, Notice, confirm};
use crate::format;

#[component]
pub fn VersionsPage() -> impl IntoView {
    let params = use_params_map();
    let uid = move || params.with(|p| p.get("uid").unwrap_or_default());
    let resource = LocalResource::new(move || {
        let uid = uid();
        async move { api::dashboard_for_edit(&uid).await }
    });
    // Kept here: a restore loads the dashboard again, which draws its history anew.
    let notice = RwSignal::new(None::<Result<String, ApiError>>);
    view! {
        <section class="page">
            <Notice notice=notice/>
            <Loaded resource=resource what="the dashboard" let:dashboard>
                <History dashboard=dashboard notice=notice on_restore=move || resource.refetch()/>
            </Loaded>
        </section>
    }
}

#[component]
fn History(
    dashboard: Dashboard,
    notice: RwSignal<Option<Result<String, ApiError>>>,
    on_restore: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let id = dashboard.id;
    let current = dashboard.version;
    let can_edit = dashboard.can_edit && dashboard.provisioned.is_none();
    let versions = LocalResource::new(move || api::dashboard_versions(id));
    let uid = api::encode_component(&dashboard.uid);
    let restore = move |version: i32| {
        if !confirm(&format!(
            "Restore version {version}? It is saved as a new version; nothing is lost."
        )) {
            return;
        }
        leptos::task::spawn_local(async move {
            let outcome = api::restore_dashboard(id, version, current)
                .await
                .map(|saved| format!("Version {version} restored as version {}.", saved.version));
            let restored = outcome.is_ok();
            notice.set(Some(outcome));
            if restored {
                on_restore();
            }
        });
    };
    view! {
        <header class="page-header">
            <h1>{format!("History of {}", dashboard.model.title)}</h1>
            <div class="form-actions">
                <a class="button" href=format!("/dashboards/{uid}")>"Open dashboard"</a>
                <Show when=move || can_edit>
                    <a class="button" href=format!("/dashboards/{uid}/edit")>"Edit"</a>
                </Show>
            </div>
        </header>
        <div class="card">
            <Loaded resource=versions what="the versions" let:list>
                <Compare id=id versions=list_numbers(&list)/>
                <VersionTable list=list current=current can_edit=can_edit restore=restore/>
            </Loaded>
        </div>
    }
}

fn list_numbers(list: &[DashboardVersion]) -> Vec<i32> {
    list.iter().map(|v| v.version).collect()
}

#[component]
fn VersionTable(
    list: Vec<DashboardVersion>,
    current: i32,
    can_edit: bool,
    restore: impl Fn(i32) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <table class="table" aria-label="Versions">
            <thead><tr><th>"Version"</th><th>"Author"</th><th>"Message"</th><th>"Saved"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|v| {
                    let version = v.version;
                    view! {
                        <tr>
                            <td>{if version == current { format!("{version} (current)") } else { version.to_string() }}</td>
                            <td>{v.author.clone().unwrap_or_else(|| "—".to_owned())}</td>
                            <td>{v.message.clone()}</td>
                            <td title=format::time(&v.created_at)>{format::ago(&v.created_at)}</td>
                            <td class="row-actions">
                                {(can_edit && version != current).then(|| view! {
                                    <button class="button small" type="button"
                                        aria-label=format!("Restore version {version}")
                                        on:click=move |_| restore(version)>"Restore"</button>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Two versions picked and their models compared line by line.
#[component]
fn Compare(id: i64, versions: Vec<i32>) -> impl IntoView {
    if versions.len() < 2 {
        return view! { <p class="muted">"Only one version so far: nothing to compare."</p> }
            .into_any();
    }
    let older = RwSignal::new(versions[1].to_string());
    let newer = RwSignal::new(versions[0].to_string());
    let compared = RwSignal::new(None::<Result<(i32, i32, String, String), ApiError>>);
    let compare = move |_| {
        let (Ok(a), Ok(b)) = (
            older.get_untracked().parse::<i32>(),
            newer.get_untracked().parse::<i32>(),
        ) else {
            return;
        };
        leptos::task::spawn_local(async move {
            let answer = async {
                let old = api::dashboard_version(id, a).await?;
                let new = api::dashboard_version(id, b).await?;
                Ok((a, b, pretty(&old), pretty(&new)))
            };
            compared.set(Some(answer.await));
        });
    };
    let options = move || {
        versions
            .iter()
            .map(|v| view! { <option value=v.to_string()>{format!("Version {v}")}</option> })
            .collect_view()
    };
    view! {
        <form class="inline-form" aria-label="Compare versions" on:submit=move |ev| { ev.prevent_default(); compare(()); }>
            <div class="field">
                <label for="compare-old">"Compare"</label>
                <select id="compare-old" prop:value=move || older.get() on:change=move |ev| older.set(event_target_value(&ev))>{options.clone()}</select>
            </div>
            <div class="field">
                <label for="compare-new">"with"</label>
                <select id="compare-new" prop:value=move || newer.get() on:change=move |ev| newer.set(event_target_value(&ev))>{options}</select>
            </div>
            <button class="button" type="submit">"Show changes"</button>
        </form>
        {move || compared.get().map(|answer| match answer {
            Ok((a, b, old, new)) => diff_view(a, b, &old, &new),
            Err(error) => view! { <p class="banner banner-error" role="alert">{error.message}</p> }.into_any(),
        })}
    }
    .into_any()
}

fn pretty(model: &vigil_shared::dashboard::DashboardModel) -> String {
    serde_json::to_string_pretty(model).unwrap_or_default()
}

fn diff_view(a: i32, b: i32, old: &str, new: &str) -> AnyView {
    let Some(lines) = line_diff(old, new) else {
        return view! {
            <p class="banner banner-error" role="alert">
                {format!("These models are too long to compare here (more than {MAX_LINES} lines); download them from the editor instead.")}
            </p>
        }
        .into_any();
    };
    let changes = lines.iter().filter(|(c, _)| *c != Change::Same).count();
    let rows = lines
        .into_iter()
        .map(|(change, line)| {
            let (class, mark) = match change {
                Change::Same => ("diff-same", " "),
                Change::Removed => ("diff-removed", "-"),
                Change::Added => ("diff-added", "+"),
            };
            view! { <div class=class>{format!("{mark} {line}")}</div> }
        })
        .collect_view();
    view! {
        <h2>{format!("Version {a} → version {b}: {changes} lines changed")}</h2>
        <pre class="diff" aria-label="Changes">{rows}</pre>
    }
    .into_any()
}
