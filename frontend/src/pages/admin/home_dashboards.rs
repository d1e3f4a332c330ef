//! The home dashboards (`/admin/home-dashboards`): the dashboard each role, and each team,
//! lands on. A user's own choice (on their account page) comes first, then their teams',
//! then their role's.

use std::collections::BTreeMap;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vigil_shared::Role;
use vigil_shared::auth::TeamRef;
use vigil_shared::dashboard::{DashboardSummary, HomeDashboards};

use crate::api::{self, ApiResult, DashboardFilter};
use crate::components::{ErrorBanner, FieldErrors, FormState, Loaded};

#[component]
pub fn HomeDashboardsPage() -> impl IntoView {
    let loaded = LocalResource::new(|| async { load().await });
    view! {
        <div class="card">
            <h2>"Home dashboards"</h2>
            <p class="muted">"What people see first: a user's own choice, else their team's (the first of their teams that has one), else their role's."</p>
            <Loaded resource=loaded what="the home dashboards" let:answer>
                <HomeForm current=answer.0 dashboards=answer.1 teams=answer.2/>
            </Loaded>
        </div>
    }
}

async fn load() -> ApiResult<(HomeDashboards, Vec<DashboardSummary>, Vec<TeamRef>)> {
    let current = api::home_dashboards().await?;
    let dashboards = api::list_dashboards(&DashboardFilter::default()).await?;
    let teams = api::team_directory().await?.teams;
    Ok((current, dashboards, teams))
}

/// A select's value for a dashboard id (empty for none).
fn choice(id: Option<&i64>) -> String {
    id.map(i64::to_string).unwrap_or_default()
}

#[component]
fn HomeForm(
    current: HomeDashboards,
    dashboards: Vec<DashboardSummary>,
    teams: Vec<TeamRef>,
) -> impl IntoView {
    let form = FormState::new();
    let saved = RwSignal::new(false);
    let roles: Vec<(Role, RwSignal<String>)> = Role::ALL
        .into_iter()
        .map(|role| (role, RwSignal::new(choice(current.roles.get(&role)))))
        .collect();
    let team_choices: Vec<(TeamRef, RwSignal<String>)> = teams
        .into_iter()
        .map(|team| {
            let chosen = choice(current.teams.get(&team.id.to_string()));
            (team, RwSignal::new(chosen))
        })
        .collect();
    let options: Vec<(String, String)> = std::iter::once((String::new(), "None".to_owned()))
        .chain(
            dashboards
                .iter()
                .map(|d| (d.id.to_string(), d.title.clone())),
        )
        .collect();
    let request = {
        let (roles, team_choices) = (roles.clone(), team_choices.clone());
        move || HomeDashboards {
            roles: roles
                .iter()
                .filter_map(|(role, pick)| Some((*role, pick.get_untracked().parse().ok()?)))
                .collect(),
            teams: team_choices
                .iter()
                .filter_map(|(team, pick)| {
                    Some((team.id.to_string(), pick.get_untracked().parse().ok()?))
                })
                .collect::<BTreeMap<_, _>>(),
        }
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        let request = request();
        form.submit(
            async move { api::save_home_dashboards(&request).await },
            move |()| saved.set(true),
        );
    };
    let select = move |id: String,
                       label: String,
                       pick: RwSignal<String>,
                       options: Vec<(String, String)>| {
        let current = pick.get_untracked();
        view! {
            <div class="field">
                <label for=id.clone()>{label}</label>
                <select id=id prop:value=move || pick.get() on:change=move |ev| pick.set(event_target_value(&ev))>
                    {options.into_iter().map(|(value, text)| {
                        let selected = value == current;
                        view! { <option value=value selected=selected>{text}</option> }
                    }).collect_view()}
                </select>
            </div>
        }
    };
    view! {
        <form class="form-grid" aria-label="Home dashboards" on:submit=submit novalidate=true>
            <ErrorBanner error=form.general()/>
            <FieldErrors errors=form.elsewhere(&[])/>
            <Show when=move || saved.get()>
                <div class="banner banner-ok" role="status">"Home dashboards saved."</div>
            </Show>
            <h3>"By role"</h3>
            {roles.into_iter().map(|(role, pick)| select(format!("home-role-{role}"), format!("Role {role}"), pick, options.clone())).collect_view()}
            <h3>"By team"</h3>
            {team_choices.is_empty().then(|| view! { <p class="muted">"No teams yet."</p> })}
            {team_choices.into_iter().map(|(team, pick)| select(format!("home-team-{}", team.id), format!("Team {}", team.name), pick, options.clone())).collect_view()}
            <div class="form-actions">
                <button class="button primary" type="submit" disabled=move || form.pending.get()>"Save home dashboards"</button>
            </div>
        </form>
    }
}
