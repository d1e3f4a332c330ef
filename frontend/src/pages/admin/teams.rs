//! Teams: create with members, change members, delete.

use std::collections::BTreeSet;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vigil_shared::admin::{CreateTeamRequest, Team, UpdateTeamRequest};
use vigil_shared::auth::User;

use crate::api::{self, ApiError};
use crate::components::{ErrorBanner, FormState, Loaded, TextField, confirm};

#[component]
pub fn TeamsPage() -> impl IntoView {
    let teams = LocalResource::new(api::list_teams);
    let users = LocalResource::new(api::list_users);
    let error = RwSignal::new(None::<ApiError>);
    let changed = Callback::new(move |result: Result<(), ApiError>| {
        error.set(result.err());
        teams.refetch();
    });
    let all_users = Signal::derive(move || {
        users
            .get()
            .and_then(Result::ok)
            .map(|list| list.users)
            .unwrap_or_default()
    });

    view! {
        <CreateTeamForm users=all_users on_created=changed/>
        <div class="card">
            <h2>"Teams"</h2>
            <ErrorBanner error=error/>
            <Loaded resource=teams what="teams" let:list>
                {match list {
                    list if list.teams.is_empty() => view! {
                        <p class="muted">"No teams yet. Teams group people for dashboards and escalation policies."</p>
                    }.into_any(),
                    list => list.teams.into_iter().map(|team| view! {
                        <TeamCard team=team users=all_users on_change=changed/>
                    }).collect_view().into_any(),
                }}
            </Loaded>
        </div>
    }
}

/// Checkboxes for picking members among all users.
#[component]
fn MemberPicker(
    users: Signal<Vec<User>>,
    selected: RwSignal<BTreeSet<i64>>,
    #[prop(into)] name: String,
) -> impl IntoView {
    view! {
        <fieldset class="field member-picker">
            <legend>"Members"</legend>
            {move || users.get().into_iter().map(|user| {
                let id = user.id;
                let input_id = format!("{name}-{id}");
                let label_for = input_id.clone();
                view! {
                    <label class="checkbox" for=label_for>
                        <input id=input_id type="checkbox"
                            prop:checked=move || selected.with(|s| s.contains(&id))
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } });
                            }/>
                        <span>{user.display_name.clone()} " " <span class="muted">{user.email.clone()}</span></span>
                    </label>
                }
            }).collect_view()}
        </fieldset>
    }
}

#[component]
fn CreateTeamForm(
    users: Signal<Vec<User>>,
    on_created: Callback<Result<(), ApiError>>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let members = RwSignal::new(BTreeSet::<i64>::new());
    let form = FormState::new();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let request = CreateTeamRequest {
            name: name.get_untracked(),
            description: description.get_untracked(),
            member_ids: members.get_untracked().into_iter().collect(),
        };
        form.submit(async move { api::create_team(&request).await }, move |_| {
            name.set(String::new());
            description.set(String::new());
            members.set(BTreeSet::new());
            on_created.run(Ok(()));
        });
    };
    let field = move |name: &'static str| form.field(name);

    view! {
        <form class="card form-grid" on:submit=submit aria-label="New team">
            <h2>"New team"</h2>
            <ErrorBanner error=form.general()/>
            <TextField label="Name" name="team-name" value=name error=field("name")/>
            <TextField label="Description" name="team-description" value=description error=field("description")/>
            <MemberPicker users=users selected=members name="new-team-member"/>
            <p class="field-error">{move || field("member_ids").get()}</p>
            <div class="form-actions"><button class="button primary" type="submit">"Create team"</button></div>
        </form>
    }
}

#[component]
fn TeamCard(
    team: Team,
    users: Signal<Vec<User>>,
    on_change: Callback<Result<(), ApiError>>,
) -> impl IntoView {
    let id = team.id;
    let editing = RwSignal::new(false);
    let members = RwSignal::new(
        team.members
            .iter()
            .map(|m| m.user_id)
            .collect::<BTreeSet<_>>(),
    );
    let name = team.name.clone();
    let save = move |_| {
        let request = UpdateTeamRequest {
            member_ids: Some(members.get_untracked().into_iter().collect()),
            ..Default::default()
        };
        leptos::task::spawn_local(async move {
            let result = api::update_team(id, &request).await.map(drop);
            if result.is_ok() {
                editing.set(false);
            }
            on_change.run(result);
        });
    };
    let delete = move |_| {
        if !confirm(&format!("Delete the team \"{name}\"?")) {
            return;
        }
        leptos::task::spawn_local(async move { on_change.run(api::delete_team(id).await) });
    };
    let member_names = team
        .members
        .iter()
        .map(|m| {
            if m.display_name.is_empty() {
                m.email.clone()
            } else {
                m.display_name.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");

    view! {
        <article class="team">
            <header class="team-header">
                <h3>{team.name.clone()}</h3>
                <div class="row-actions">
                    <button class="button small" on:click=move |_| editing.update(|e| *e = !*e)>"Edit members"</button>
                    <button class="button small danger" on:click=delete>"Delete"</button>
                </div>
            </header>
            <p class="muted">{team.description.clone()}</p>
            <p>{if member_names.is_empty() { "No members.".to_owned() } else { member_names }}</p>
            <Show when=move || editing.get()>
                <MemberPicker users=users selected=members name=format!("team-{id}-member")/>
                <button class="button small primary" on:click=save>"Save members"</button>
            </Show>
        </article>
    }
}
