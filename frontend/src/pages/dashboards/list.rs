//! The dashboards (`/dashboards`): searched by title, narrowed by tag and folder, grouped by
//! folder; provisioned ones are marked (they change only in their files). Editors start a new
//! dashboard or import one here.

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use vigil_shared::Role;
use vigil_shared::dashboard::{DashboardSummary, MAX_LISTED};

use crate::api::{self, DashboardFilter};
use crate::components::Loaded;
use crate::format;
use crate::session::use_session;

#[component]
pub fn DashboardListPage() -> impl IntoView {
    let session = use_session();
    let q = RwSignal::new(String::new());
    let tag = RwSignal::new(String::new());
    let folder = RwSignal::new(String::new());
    // Every dashboard, for the tag and folder choices; the filtered list below.
    let everything =
        LocalResource::new(|| async { api::list_dashboards(&DashboardFilter::default()).await });
    let dashboards = LocalResource::new(move || {
        let filter = DashboardFilter {
            q: q.get(),
            tag: tag.get(),
            folder: folder.get(),
        };
        async move { api::list_dashboards(&filter).await }
    });
    let choices = move || {
        everything
            .get()
            .and_then(Result::ok)
            .map(|list| {
                let tags: BTreeSet<String> = list.iter().flat_map(|d| d.tags.clone()).collect();
                let folders: BTreeSet<String> = list
                    .iter()
                    .map(|d| d.folder.clone())
                    .filter(|f| !f.is_empty())
                    .collect();
                (tags, folders)
            })
            .unwrap_or_default()
    };

    view! {
        <section class="page">
            <header class="page-header">
                <h1>"Dashboards"</h1>
                <Show when=move || session.can(Role::Editor)>
                    <div class="form-actions">
                        <a class="button primary" href="/dashboards/new">"New dashboard"</a>
                        <a class="button" href="/dashboards/import">"Import"</a>
                    </div>
                </Show>
            </header>
            <div class="card">
                <div class="filters" role="search" aria-label="Find dashboards">
                    <div class="field">
                        <label for="dashboard-search">"Search"</label>
                        <input id="dashboard-search" type="search" placeholder="Title"
                            prop:value=move || q.get() on:input=move |ev| q.set(event_target_value(&ev))/>
                    </div>
                    <div class="field">
                        <label for="dashboard-tag">"Tag"</label>
                        <select id="dashboard-tag" on:change=move |ev| tag.set(event_target_value(&ev)) prop:value=move || tag.get()>
                            <option value="">"Any tag"</option>
                            {move || choices().0.into_iter().map(|t| view! { <option value=t.clone()>{t.clone()}</option> }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="dashboard-folder">"Folder"</label>
                        <select id="dashboard-folder" on:change=move |ev| folder.set(event_target_value(&ev)) prop:value=move || folder.get()>
                            <option value="">"Any folder"</option>
                            {move || choices().1.into_iter().map(|f| view! { <option value=f.clone()>{f.clone()}</option> }).collect_view()}
                        </select>
                    </div>
                </div>
                <Loaded resource=dashboards what="dashboards" let:list>
                    {folders(list)}
                </Loaded>
            </div>
        </section>
    }
}

/// The dashboards by folder, the top level first, each folder's by title.
fn folders(list: Vec<DashboardSummary>) -> AnyView {
    if list.is_empty() {
        return view! { <p class="muted empty-state">"No dashboards match."</p> }.into_any();
    }
    let cut = cut_note(list.len())
        .map(|note| view! { <p class="banner banner-warning" role="status">{note}</p> });
    let mut by_folder: BTreeMap<String, Vec<DashboardSummary>> = BTreeMap::new();
    for dashboard in list {
        by_folder
            .entry(dashboard.folder.clone())
            .or_default()
            .push(dashboard);
    }
    let folders = by_folder
        .into_iter()
        .map(|(folder, mut dashboards)| {
            dashboards.sort_by_key(|d| d.title.to_lowercase());
            let name = if folder.is_empty() {
                "General".to_owned()
            } else {
                folder
            };
            view! {
                <section class="dashboard-folder" aria-label=format!("Folder {name}")>
                    <h2>{name.clone()}</h2>
                    <ul class="dashboard-list">
                        {dashboards.into_iter().map(row).collect_view()}
                    </ul>
                </section>
            }
        })
        .collect_view();
    view! { {cut} {folders} }.into_any()
}

/// What to say when the server's list stopped at its bound.
fn cut_note(listed: usize) -> Option<String> {
    (listed >= MAX_LISTED).then(|| {
        format!(
            "Only the first {MAX_LISTED} dashboards (by folder and title) are listed: search, or \
             pick a tag or a folder, to find the others."
        )
    })
}

fn row(dashboard: DashboardSummary) -> impl IntoView {
    let href = format!("/dashboards/{}", api::encode_component(&dashboard.uid));
    view! {
        <li class="dashboard-row">
            <a href=href.clone()>{dashboard.title.clone()}</a>
            {dashboard.provisioned.clone().map(|source| view! {
                <span class="badge badge-muted" title=format!("Provisioned from {source}; read-only")>"provisioned"</span>
            })}
            <span class="tag-list">
                {dashboard.tags.iter().map(|t| view! { <span class="badge">{t.clone()}</span> }).collect_view()}
            </span>
            <span class="muted">{format!("v{} · updated {}", dashboard.version, format::ago(&dashboard.updated_at))}</span>
            {(dashboard.can_edit && dashboard.provisioned.is_none()).then(|| view! {
                <a class="button small" href=format!("{href}/edit") aria-label=format!("Edit {}", dashboard.title)>"Edit"</a>
            })}
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_cut_at_the_bound_says_so() {
        assert_eq!(cut_note(MAX_LISTED - 1), None);
        assert!(
            cut_note(MAX_LISTED)
                .unwrap()
                .contains("first 1000 dashboards")
        );
    }
}
