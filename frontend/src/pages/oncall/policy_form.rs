//! One escalation policy (`/oncall/policies/new`, `/oncall/policies/{id}`): ordered levels,
//! each a delay and the people, teams, schedules and channels it pages, then how the whole
//! policy repeats. Editors change it; others read it.

use std::collections::BTreeMap;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};
use vigil_shared::incident::{
    EscalationLevel, EscalationPolicy, EscalationPolicyRequest, EscalationTarget, TargetKind,
};

use super::{is_editor, use_directory};
use crate::api;
use crate::components::{
    CheckboxField, ErrorBanner, FormState, Loaded, TextField, confirm, replace_address,
};

/// `/oncall/policies/{id}`, and `/oncall/policies/new` (any id that is not a number).
#[component]
pub fn PolicyPage() -> impl IntoView {
    let params = use_params_map();
    move || match params.with(|p| p.get("id").and_then(|id| id.parse::<i64>().ok())) {
        None => view! { <PolicyForm policy=None/> }.into_any(),
        Some(id) => {
            let policy = LocalResource::new(move || api::get_escalation_policy(id));
            view! {
                <Loaded resource=policy what="the policy" let:policy>
                    <PolicyForm policy=Some(policy)/>
                </Loaded>
            }
            .into_any()
        }
    }
}

/// A level as typed: its delay (text until sent) and its targets.
#[derive(Clone, Copy)]
struct LevelDraft {
    delay: RwSignal<String>,
    targets: RwSignal<Vec<EscalationTarget>>,
}

impl LevelDraft {
    fn new(level: EscalationLevel) -> Self {
        LevelDraft {
            delay: RwSignal::new(level.delay_minutes.to_string()),
            targets: RwSignal::new(level.targets),
        }
    }
}

const KINDS: [(TargetKind, &str); 4] = [
    (TargetKind::User, "Person"),
    (TargetKind::Team, "Team"),
    (TargetKind::Schedule, "Whoever is on call on a schedule"),
    (TargetKind::Channel, "Notification channel"),
];

/// Whole minutes as typed, or the problem with them.
fn minutes(text: &str) -> Result<u32, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{:?} is not a whole number of minutes", text.trim()))
}

#[component]
fn PolicyForm(policy: Option<EscalationPolicy>) -> impl IntoView {
    let editor = is_editor();
    let directory = use_directory();
    leptos::task::spawn_local(directory.load_targets(editor));
    let navigate = StoredValue::new_local(use_navigate());
    let policy_id = RwSignal::new(policy.as_ref().map(|p| p.id));
    let start = policy.map(|p| p.policy).unwrap_or(EscalationPolicyRequest {
        name: String::new(),
        description: String::new(),
        levels: vec![EscalationLevel {
            delay_minutes: 0,
            targets: Vec::new(),
        }],
        repeat_count: 0,
        repeat_after_minutes: 30,
        ack_timeout_minutes: None,
        auto_resolve: true,
    });
    let name = RwSignal::new(start.name);
    let description = RwSignal::new(start.description);
    let levels = RwSignal::new(
        start
            .levels
            .into_iter()
            .map(LevelDraft::new)
            .collect::<Vec<_>>(),
    );
    let repeat_count = RwSignal::new(start.repeat_count.to_string());
    let repeat_after = RwSignal::new(start.repeat_after_minutes.to_string());
    let ack_timeout = RwSignal::new(
        start
            .ack_timeout_minutes
            .map(|m| m.to_string())
            .unwrap_or_default(),
    );
    let auto_resolve = RwSignal::new(start.auto_resolve);

    let form = FormState::new();
    let notice = RwSignal::new(None::<String>);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        let mut problems = BTreeMap::new();
        let mut number = |field: &str, text: String| {
            minutes(&text)
                .map_err(|why| problems.insert(field.to_owned(), why))
                .unwrap_or_default()
        };
        let levels: Vec<EscalationLevel> = levels
            .get_untracked()
            .iter()
            .enumerate()
            .map(|(i, level)| EscalationLevel {
                delay_minutes: number(&format!("levels.{i}"), level.delay.get_untracked()),
                targets: level.targets.get_untracked(),
            })
            .collect();
        let repeat_count = number("repeat_count", repeat_count.get_untracked());
        let repeat_after_minutes = number("repeat_after_minutes", repeat_after.get_untracked());
        let ack_timeout = ack_timeout.get_untracked();
        let ack_timeout_minutes =
            (!ack_timeout.trim().is_empty()).then(|| number("ack_timeout_minutes", ack_timeout));
        if !problems.is_empty() {
            return form.problems.set(problems);
        }
        let request = EscalationPolicyRequest {
            name: name.get_untracked().trim().to_owned(),
            description: description.get_untracked(),
            levels,
            repeat_count,
            repeat_after_minutes,
            ack_timeout_minutes,
            auto_resolve: auto_resolve.get_untracked(),
        };
        let id = policy_id.get_untracked();
        form.submit(
            async move { api::save_escalation_policy(id, &request).await },
            move |saved| {
                notice.set(Some(format!("Saved escalation policy {}.", saved.name)));
                if policy_id.get_untracked().is_none() {
                    policy_id.set(Some(saved.id));
                    replace_address(&format!("/oncall/policies/{}", saved.id));
                }
            },
        );
    };
    let delete = move |_| {
        let Some(id) = policy_id.get_untracked() else {
            return;
        };
        if !confirm(&format!(
            "Delete the escalation policy {}? Rules and incidents using it will page nobody.",
            name.get_untracked()
        )) {
            return;
        }
        form.submit(
            async move { api::delete_escalation_policy(id).await },
            move |()| navigate.with_value(|n| n("/oncall/policies", Default::default())),
        );
    };
    let levels_error = form.field("levels");
    // What is wrong with level `i` (from 0): the server names it `levels.{i}` (or a field of
    // it, `levels.{i}.…`).
    let level_problem = move |i: usize| {
        let key = format!("levels.{i}");
        Signal::derive(move || {
            form.problems.with(|p| p.get(&key).cloned()).or_else(|| {
                form.error.with(|e| {
                    let messages: Vec<&str> = e
                        .iter()
                        .flat_map(|e| &e.fields)
                        .filter(|(field, _)| {
                            field
                                .strip_prefix(key.as_str())
                                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
                        })
                        .map(|(_, message)| message.as_str())
                        .collect();
                    (!messages.is_empty()).then(|| messages.join("; "))
                })
            })
        })
    };
    // Adding, removing or moving a level renumbers the levels: problems reported by number
    // would point at the wrong ones, so they go until the next save.
    let change_levels = move |change: &dyn Fn(&mut Vec<LevelDraft>)| {
        levels.update(|l| change(l));
        form.problems.set(BTreeMap::new());
        form.error.set(None);
    };
    let add_level = move |_| {
        change_levels(&|l| {
            l.push(LevelDraft::new(EscalationLevel {
                delay_minutes: 15,
                targets: Vec::new(),
            }))
        })
    };

    view! {
        <form class="card" aria-label="Escalation policy" on:submit=submit novalidate=true>
            <h2>{move || match policy_id.get() {
                Some(_) => format!("Escalation policy: {}", name.get()),
                None => "New escalation policy".to_owned(),
            }}</h2>
            {move || notice.get().map(|n| view! { <div class="banner banner-ok" role="status">{n}</div> })}
            <ErrorBanner error=form.general()/>
            {(!editor).then(|| view! { <p class="banner">"You can read this policy; changing it needs the editor role."</p> })}
            <fieldset class="form-fieldset" disabled=!editor>
                <div class="form-grid">
                    <TextField label="Name" name="name" value=name error=form.field("name")/>
                    <TextField label="Description" name="description" value=description error=form.field("description")/>
                </div>
                <div class="levels">
                    {move || {
                        let all = levels.get();
                        let count = all.len();
                        all.into_iter().enumerate().map(|(i, level)| {
                            let n = i + 1;
                            let error = level_problem(i);
                            let delay_id = format!("field-level-{i}-delay");
                            let move_by = move |to: usize| change_levels(&|l| l.swap(i, to));
                            view! {
                                <fieldset class="level" class:has-error=move || error.get().is_some()>
                                    <legend>{format!("Level {n}")}</legend>
                                    <div class="level-body">
                                        <div class="field">
                                            <label for=delay_id.clone()>"Delay (minutes)"</label>
                                            <input id=delay_id inputmode="numeric" bind:value=level.delay/>
                                            <p class="field-hint">{if i == 0 { "After the incident triggers." } else { "After the previous level." }}</p>
                                        </div>
                                        <Targets targets=level.targets level=n editor=editor/>
                                    </div>
                                    <p class="field-error">{move || error.get()}</p>
                                    {editor.then(|| view! {
                                        <div class="row-actions">
                                            <button class="button small" type="button" disabled={i == 0} on:click=move |_| move_by(i.saturating_sub(1))>{format!("Move level {n} up")}</button>
                                            <button class="button small" type="button" disabled={n == count} on:click=move |_| move_by((i + 1).min(count - 1))>{format!("Move level {n} down")}</button>
                                            <button class="button small danger" type="button" on:click=move |_| change_levels(&|l| { l.remove(i); })>{format!("Remove level {n}")}</button>
                                        </div>
                                    })}
                                </fieldset>
                            }
                        }).collect_view()
                    }}
                    <p class="field-error">{move || levels_error.get()}</p>
                    {editor.then(|| view! { <button class="button" type="button" on:click=add_level>"Add level"</button> })}
                </div>
                <div class="form-grid">
                    <TextField label="Repeat the levels (times)" name="repeat_count" value=repeat_count error=form.field("repeat_count") hint="0: page each level once."/>
                    <TextField label="Repeat after (minutes)" name="repeat_after_minutes" value=repeat_after error=form.field("repeat_after_minutes") hint="After the last level, before starting again."/>
                    <TextField label="Acknowledgment timeout (minutes)" name="ack_timeout_minutes" value=ack_timeout error=form.field("ack_timeout_minutes") hint="Acknowledged but unresolved this long: it triggers again. Empty: never."/>
                </div>
                <CheckboxField label="Resolve the incident when all its alerts resolve" name="auto_resolve" checked=auto_resolve/>
            </fieldset>
            {editor.then(|| view! {
                <div class="form-actions">
                    <button class="button primary" type="submit" disabled=move || form.pending.get()>
                        {move || if form.pending.get() { "Saving…" } else { "Save policy" }}
                    </button>
                    <a class="button" href="/oncall/policies">"Back to policies"</a>
                    {move || policy_id.get().map(|_| view! {
                        <button class="button danger" type="button" on:click=delete>"Delete policy"</button>
                    })}
                </div>
            })}
        </form>
    }
}

/// Whom one level pages, with a picker for editors.
#[component]
fn Targets(targets: RwSignal<Vec<EscalationTarget>>, level: usize, editor: bool) -> impl IntoView {
    let directory = use_directory();
    let kind = RwSignal::new(0_usize);
    let pick = RwSignal::new(String::new());
    let kind_id = format!("field-level-{level}-kind");
    let pick_id = format!("field-level-{level}-target");
    let add = move |_| {
        let Ok(id) = pick.get_untracked().parse::<i64>() else {
            return;
        };
        let target = EscalationTarget {
            kind: KINDS[kind.get_untracked()].0,
            id,
        };
        targets.update(|t| {
            if !t.contains(&target) {
                t.push(target);
            }
        });
        pick.set(String::new());
    };
    view! {
        <div class="targets">
            <span class="field-label">"Pages"</span>
            <ul class="chips" aria-label=format!("Level {level} targets")>
                {move || targets.get().into_iter().map(|target| {
                    let name = directory.target(&target);
                    view! {
                        <li class="chip">
                            {name.clone()}
                            {editor.then(|| view! {
                                <button class="chip-remove" type="button" aria-label=format!("Remove {name}") on:click=move |_| targets.update(|t| t.retain(|x| *x != target))>"×"</button>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {move || targets.with(Vec::is_empty).then(|| view! { <p class="muted">"Nobody yet."</p> })}
            {editor.then(|| view! {
                <div class="inline-form">
                    <div class="field">
                        <label for=kind_id.clone()>"Kind"</label>
                        <select id=kind_id.clone() on:change=move |ev| { kind.set(event_target_value(&ev).parse().unwrap_or(0)); pick.set(String::new()); }>
                            {KINDS.iter().enumerate().map(|(i, (_, label))| view! { <option value=i.to_string()>{*label}</option> }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for=pick_id.clone()>"Target"</label>
                        <select id=pick_id.clone() on:change=move |ev| pick.set(event_target_value(&ev)) prop:value=move || pick.get()>
                            <option value="">"Choose…"</option>
                            {move || directory.targets_of(KINDS[kind.get()].0).into_iter().map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
                        </select>
                    </div>
                    <button class="button" type="button" on:click=add>{format!("Add to level {level}")}</button>
                </div>
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_are_whole_numbers() {
        assert_eq!(minutes(" 15 "), Ok(15));
        assert!(minutes("1.5").is_err());
        assert!(minutes("-1").is_err());
        assert!(minutes("").is_err());
    }
}
