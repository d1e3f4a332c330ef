//! The dashboard's own settings: title, description, tags, folder, the time range and refresh
//! it opens with, what pointing at a chart shows on the others, the links beside its title,
//! and who may see and change it (roles and teams).

use leptos::prelude::*;
use vigil_shared::Role;
use vigil_shared::auth::TeamRef;
use vigil_shared::dashboard::{Access, DashboardLink, DashboardModel, Tooltip};

use super::Editor;
use super::inputs;
use crate::api;

/// Time ranges offered, as the time picker writes them.
const RANGES: [&str; 10] = [
    "5m", "15m", "30m", "1h", "3h", "6h", "12h", "24h", "2d", "7d",
];
/// Refresh intervals offered; empty is none.
const REFRESHES: [&str; 7] = ["", "10s", "30s", "1m", "5m", "15m", "1h"];
/// What pointing at a chart shows on the others, in words.
fn tooltip_label(tooltip: Tooltip) -> &'static str {
    match tooltip {
        Tooltip::Single => "Only the chart pointed at",
        Tooltip::SharedCrosshair => "A crosshair on every chart",
        Tooltip::SharedTooltip => "A crosshair and values on every chart",
    }
}

#[component]
pub fn Settings() -> impl IntoView {
    let editor = expect_context::<Editor>();
    let teams = LocalResource::new(api::team_directory);
    let team_list = move || {
        teams
            .get()
            .and_then(Result::ok)
            .map(|d| d.teams)
            .unwrap_or_default()
    };
    let ranges = RANGES
        .iter()
        .map(|r| ((*r).to_owned(), format!("Last {r}")))
        .collect();
    let refreshes = REFRESHES
        .iter()
        .map(|r| {
            let label = if r.is_empty() {
                "Off".to_owned()
            } else {
                format!("Every {r}")
            };
            ((*r).to_owned(), label)
        })
        .collect();
    let tooltips = Tooltip::ALL
        .into_iter()
        .map(|t| (t.as_str().to_owned(), tooltip_label(t).to_owned()))
        .collect();
    view! {
        <div class="card" aria-label="Settings" role="group">
            <h2>"Settings"</h2>
            <div class="form-grid">
                {inputs::text("dash-title".into(), "Title", |m| m.title.clone(), |m, v| m.title = v, editor.field("title"))}
                {inputs::text("dash-folder".into(), "Folder", |m| m.folder.clone(), |m, v| m.folder = v, editor.field("folder"))}
                {inputs::list("dash-tags".into(), "Tags", |m| m.tags.clone(), |m, v| m.tags = v, editor.field("tags"))}
                {inputs::select("dash-range".into(), "Default time range", ranges,
                    |m| m.time.range.clone(), |m, v| m.time.range = v, editor.field("time.range"))}
                {inputs::select("dash-refresh".into(), "Auto-refresh", refreshes,
                    |m| m.time.refresh.clone().unwrap_or_default(),
                    |m, v| m.time.refresh = (!v.is_empty()).then_some(v), editor.field("time.refresh"))}
                {inputs::select("dash-tooltip".into(), "Pointing at a chart shows", tooltips,
                    |m| m.tooltip.as_str().to_owned(), |m, v| m.tooltip = Tooltip::parse(&v).unwrap_or_default(), editor.field("tooltip"))}
            </div>
            {inputs::area("dash-description".into(), "Description", |m| m.description.clone(), |m, v| m.description = v, editor.field("description"))}
            <Links/>
            <div class="grid two">
                {move || access_picker("viewable", "Who may see it", "Everyone when nothing is ticked.", team_list(), |m| &mut m.viewable_by, |m| m.viewable_by.clone())}
                {move || access_picker("editable", "Who may change it", "Every editor when nothing is ticked; viewers and responders never.", team_list(), |m| &mut m.editable_by, |m| m.editable_by.clone())}
            </div>
        </div>
    }
}

/// The links shown beside the dashboard's title, each a title and an address.
#[component]
fn Links() -> impl IntoView {
    let editor = expect_context::<Editor>();
    let count = Memo::new(move |_| editor.model.with(|m| m.links.len()));
    let add = move |_| editor.edit(|m| m.links.push(DashboardLink::default()));
    view! {
        <fieldset class="links-editor">
            <legend>"Links"</legend>
            <p class="field-hint">"Shown beside the title. An address is http(s)://… or a path such as /dashboards/…"</p>
            {move || editor.field("links").get().map(|problem| view! { <p class="field-error" role="alert">{problem}</p> })}
            <For each=move || 0..count.get() key=|i| *i let:index>
                <LinkRow index/>
            </For>
            <button class="button small" type="button" on:click=add>"Add link"</button>
        </fieldset>
    }
}

#[component]
fn LinkRow(index: usize) -> impl IntoView {
    let editor = expect_context::<Editor>();
    let id = move |field: &str| format!("link-{index}-{field}");
    let path = move |field: &str| format!("links[{index}].{field}");
    let link = move |m: &DashboardModel| m.links.get(index).cloned().unwrap_or_default();
    let with_link = move |m: &mut DashboardModel, change: &dyn Fn(&mut DashboardLink)| {
        if let Some(link) = m.links.get_mut(index) {
            change(link);
        }
    };
    let remove = move |_| {
        editor.edit(|m| {
            if index < m.links.len() {
                m.links.remove(index);
            }
        })
    };
    view! {
        <div class="link-row form-grid" role="group" aria-label=format!("Link {}", index + 1)>
            {inputs::text(id("title"), "Title", move |m| link(m).title, move |m, v| with_link(m, &|l| l.title = v.clone()), editor.field(path("title")))}
            {inputs::text(id("url"), "Address", move |m| link(m).url, move |m, v| with_link(m, &|l| l.url = v.clone()), editor.field(path("url")))}
            <div class="row-actions">
                <button class="button small danger" type="button" aria-label=format!("Remove link {}", index + 1)
                    on:click=remove>"Remove"</button>
            </div>
        </div>
    }
}

/// Ticks for roles and teams making up one of the dashboard's access lists.
fn access_picker(
    id: &'static str,
    legend: &'static str,
    hint: &'static str,
    teams: Vec<TeamRef>,
    access: fn(&mut DashboardModel) -> &mut Access,
    read: fn(&DashboardModel) -> Access,
) -> impl IntoView {
    let editor = expect_context::<Editor>();
    let roles = Role::ALL.into_iter().map(|role| {
        let has = move || editor.model.with(|m| read(m).roles.contains(&role));
        let toggle = move |on: bool| {
            editor.edit(|m| {
                let roles = &mut access(m).roles;
                roles.retain(|r| *r != role);
                if on {
                    roles.push(role);
                    roles.sort();
                }
            })
        };
        view! {
            <label class="checkbox">
                <input type="checkbox" name=format!("{id}-role") value=role.as_str()
                    prop:checked=has on:change=move |ev| toggle(event_target_checked(&ev))/>
                <span>{format!("Role {role}")}</span>
            </label>
        }
    });
    let teams = teams.into_iter().map(|team| {
        let team_id = team.id;
        let has = move || editor.model.with(|m| read(m).teams.contains(&team_id));
        let toggle = move |on: bool| {
            editor.edit(|m| {
                let teams = &mut access(m).teams;
                teams.retain(|t| *t != team_id);
                if on {
                    teams.push(team_id);
                    teams.sort();
                }
            })
        };
        view! {
            <label class="checkbox">
                <input type="checkbox" name=format!("{id}-team") value=team_id.to_string()
                    prop:checked=has on:change=move |ev| toggle(event_target_checked(&ev))/>
                <span>{format!("Team {}", team.name)}</span>
            </label>
        }
    });
    view! {
        <fieldset class="member-picker">
            <legend>{legend}</legend>
            <p class="field-hint">{hint}</p>
            {roles.collect_view()}
            {teams.collect_view()}
        </fieldset>
    }
}
