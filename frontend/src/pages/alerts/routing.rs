//! Notification routing (editors): the policies that send alerts to channels by their labels,
//! grouped and timed as Alertmanager's routes are, and the inhibition rules that keep alerts
//! quiet while a related, more important one fires.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vigil_shared::Role;
use vigil_shared::alerting::{InhibitionRule, InhibitionRuleRequest, Matcher};
use vigil_shared::notify::{Policy, PolicyRequest};

use super::silences::{parse_matchers, show_matcher};
use crate::api::{self, ApiError, ApiResult};
use crate::components::{
    ChannelPicker, CheckboxField, ErrorBanner, FormState, Loaded, Notice, SelectField, TextField,
    confirm,
};
use crate::session::use_session;

#[component]
pub fn RoutingPage() -> impl IntoView {
    let session = use_session();
    move || {
        if session.can(Role::Editor) {
            view! { <Routing/> }.into_any()
        } else {
            view! { <p class="banner banner-error">"Notification routing needs the editor role."</p> }.into_any()
        }
    }
}

/// Matchers one per line, as the forms show them.
fn matcher_text(matchers: &[Matcher]) -> String {
    matchers
        .iter()
        .map(show_matcher)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Label names separated by commas or spaces.
fn parse_names(text: &str) -> Vec<String> {
    text.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn matcher_cell(matchers: &[Matcher]) -> impl IntoView + use<> {
    matchers
        .iter()
        .map(|m| view! { <span class="label-pair">{show_matcher(m)}</span> })
        .collect_view()
}

/// Deletes `what` with `delete` after a confirmation, and reports how it went.
fn delete_action<F: Future<Output = ApiResult<()>> + 'static>(
    delete: impl Fn() -> F + Clone + 'static,
    what: String,
    on_change: Callback<Result<String, ApiError>>,
) -> impl Fn(leptos::ev::MouseEvent) + Clone {
    move |_| {
        if !confirm(&format!("Delete {what}?")) {
            return;
        }
        let (deleted, what) = (delete(), what.clone());
        leptos::task::spawn_local(async move {
            on_change.run(deleted.await.map(|()| format!("Deleted {what}.")));
        });
    }
}

#[component]
fn Routing() -> impl IntoView {
    let policies = LocalResource::new(api::list_policies);
    let inhibitions = LocalResource::new(api::list_inhibition_rules);
    let channels = LocalResource::new(api::list_channels);
    let escalation_policies = LocalResource::new(api::escalation_policy_names);
    // "pages On-call; split by cluster": what a policy says about incidents.
    let incident_settings = move |policy: &PolicyRequest| -> String {
        let mut parts = Vec::new();
        if let Some(id) = policy.escalation_policy_id {
            let name = escalation_policies
                .get()
                .and_then(|r| r.ok())
                .and_then(|l| l.into_iter().find(|p| p.id == id))
                .map_or_else(|| format!("#{id}"), |p| p.name);
            parts.push(format!("pages {name}"));
        }
        if !policy.incident_group_by.is_empty() {
            parts.push(format!("split by {}", policy.incident_group_by.join(", ")));
        }
        if parts.is_empty() {
            "—".to_owned()
        } else {
            parts.join("; ")
        }
    };
    let channel_names = move |ids: &[i64]| -> String {
        let names: Vec<String> = ids
            .iter()
            .map(|id| {
                channels
                    .get()
                    .and_then(|r| r.ok())
                    .and_then(|l| l.channels.into_iter().find(|c| c.id == *id))
                    .map_or_else(|| format!("#{id}"), |c| c.name)
            })
            .collect();
        if names.is_empty() {
            "nobody".to_owned()
        } else {
            names.join(", ")
        }
    };
    let policy = RwSignal::new(None::<Policy>);
    let inhibition = RwSignal::new(None::<InhibitionRule>);
    let notice = RwSignal::new(None::<Result<String, ApiError>>);
    let changed = Callback::new(move |message: Result<String, ApiError>| {
        notice.set(Some(message));
        policy.set(None);
        inhibition.set(None);
        policies.refetch();
        inhibitions.refetch();
    });
    let cancel = Callback::new(move |()| {
        policy.set(None);
        inhibition.set(None);
    });

    view! {
        <Notice notice=notice/>
        {move || view! { <PolicyForm policy=policy.get() escalation_policies on_saved=changed on_cancel=cancel/> }}
        <div class="card">
            <h2>"Notification policies"</h2>
            <p class="muted">
                "Tried in order; the first whose matchers all hold takes the alert (and the next ones too while it says continue). "
                "The default policy takes what no other policy took, and its timings also apply to channels chosen on a rule. "
                "The escalation policy and incident grouping apply to alerts whose rule does not set them; what a policy leaves unset comes from the default policy."
            </p>
            <Loaded resource=policies what="policies" let:list>
                <table class="table" aria-label="Notification policies">
                    <thead><tr>
                        <th>"#"</th><th>"Name"</th><th>"Matchers"</th><th>"Sends to"</th><th>"Group by"</th>
                        <th>"Wait · interval · repeat"</th><th>"Incidents"</th><th></th>
                    </tr></thead>
                    <tbody>
                        {list.policies.into_iter().map(|p| {
                            let id = p.id;
                            let delete = delete_action(move || api::delete_policy(id), format!("the policy {}", p.policy.name), changed);
                            let edit = p.clone();
                            let r = &p.policy;
                            view! {
                                <tr>
                                    <td>{r.position.map_or("last".to_owned(), |n| n.to_string())}</td>
                                    <td><strong>{r.name.clone()}</strong>{r.continue_matching.then_some(" (continue)")}</td>
                                    <td class="labels">
                                        {if p.is_default { view! { <span class="muted">"every other alert"</span> }.into_any() } else { matcher_cell(&r.matchers).into_any() }}
                                    </td>
                                    <td>{channel_names(&r.channel_ids)}</td>
                                    <td>{r.group_by.join(", ")}</td>
                                    <td>{format!("{} · {} · {}", r.group_wait, r.group_interval, r.repeat_interval)}</td>
                                    <td>{incident_settings(r)}</td>
                                    <td class="row-actions">
                                        <button class="button small" type="button" on:click=move |_| policy.set(Some(edit.clone()))>"Edit"</button>
                                        {(!p.is_default).then(|| view! { <button class="button small danger" type="button" on:click=delete>"Delete"</button> })}
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </Loaded>
        </div>
        {move || view! { <InhibitionForm rule=inhibition.get() on_saved=changed on_cancel=cancel/> }}
        <div class="card">
            <h2>"Inhibition rules"</h2>
            <Loaded resource=inhibitions what="inhibition rules" let:list>
                {match list {
                    list if list.rules.is_empty() => view! { <p class="muted">"No inhibition rules."</p> }.into_any(),
                    list => view! {
                        <table class="table" aria-label="Inhibition rules">
                            <thead><tr><th>"Name"</th><th>"While this fires"</th><th>"Mute"</th><th>"With equal"</th><th></th></tr></thead>
                            <tbody>
                                {list.rules.into_iter().map(|rule| {
                                    let id = rule.id;
                                    let delete = delete_action(move || api::delete_inhibition_rule(id), format!("the inhibition rule {}", rule.rule.name), changed);
                                    let edit = rule.clone();
                                    let r = &rule.rule;
                                    view! {
                                        <tr>
                                            <td><strong>{r.name.clone()}</strong></td>
                                            <td class="labels">{matcher_cell(&r.source_matchers)}</td>
                                            <td class="labels">{matcher_cell(&r.target_matchers)}</td>
                                            <td>{r.equal.join(", ")}</td>
                                            <td class="row-actions">
                                                <button class="button small" type="button" on:click=move |_| inhibition.set(Some(edit.clone()))>"Edit"</button>
                                                <button class="button small danger" type="button" on:click=delete>"Delete"</button>
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

/// A textarea of matchers, one per line, with the problem (local or from the server) below.
#[component]
fn MatchersField(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    view! {
        <div class="field" class:has-error=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <textarea id=id rows="3" bind:value=value placeholder="team=\"storage\"\nseverity=~\"critical|warning\""></textarea>
            <p class="field-error">{move || error.get()}</p>
        </div>
    }
}

#[component]
fn PolicyForm(
    policy: Option<Policy>,
    escalation_policies: LocalResource<Result<Vec<api::Named>, ApiError>>,
    on_saved: Callback<Result<String, ApiError>>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let id = policy.as_ref().map(|p| p.id);
    let is_default = policy.as_ref().is_some_and(|p| p.is_default);
    let start = policy.map(|p| p.policy).unwrap_or_default();
    let name = RwSignal::new(start.name.clone());
    let matchers = RwSignal::new(matcher_text(&start.matchers));
    let channels = RwSignal::new(start.channel_ids.clone());
    let group_by = RwSignal::new(start.group_by.join(", "));
    let group_wait = RwSignal::new(start.group_wait.clone());
    let group_interval = RwSignal::new(start.group_interval.clone());
    let repeat_interval = RwSignal::new(start.repeat_interval.clone());
    let continue_matching = RwSignal::new(start.continue_matching);
    let position = RwSignal::new(start.position.map(|p| p.to_string()).unwrap_or_default());
    let escalation_policy = RwSignal::new(
        start
            .escalation_policy_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
    );
    let incident_group_by = RwSignal::new(start.incident_group_by.join(", "));
    let form = FormState::new();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let parsed = match parse_matchers(&matchers.get_untracked()) {
            Ok(parsed) => parsed,
            Err(why) => return form.refuse("matchers", why),
        };
        let position = position.get_untracked();
        let position = match position.trim() {
            "" => None,
            text => match text.parse::<i32>() {
                Ok(n) if n >= 1 => Some(n),
                _ => return form.refuse("position", "must be 1 or more"),
            },
        };
        let request = PolicyRequest {
            name: name.get_untracked().trim().to_owned(),
            matchers: parsed,
            channel_ids: channels.get_untracked(),
            group_by: parse_names(&group_by.get_untracked()),
            group_wait: group_wait.get_untracked().trim().to_owned(),
            group_interval: group_interval.get_untracked().trim().to_owned(),
            repeat_interval: repeat_interval.get_untracked().trim().to_owned(),
            continue_matching: continue_matching.get_untracked(),
            position,
            escalation_policy_id: escalation_policy.get_untracked().parse().ok(),
            incident_group_by: parse_names(&incident_group_by.get_untracked()),
        };
        form.submit(
            async move { api::save_policy(id, &request).await },
            move |saved| on_saved.run(Ok(format!("Saved policy {}.", saved.policy.name))),
        );
    };

    view! {
        <form class="card" aria-label="Notification policy" on:submit=submit novalidate=true>
            <h2>{if id.is_some() { "Edit policy" } else { "New policy" }}</h2>
            <ErrorBanner error=form.general()/>
            <div class="form-grid">
                <TextField label="Name" name="policy-name" value=name error=form.field("name")/>
                {(!is_default).then(|| view! {
                    <MatchersField label="Matchers (one per line, all must hold)" name="policy-matchers" value=matchers error=form.field("matchers")/>
                    <TextField label="Position" name="position" value=position error=form.field("position") hint="1 is tried first; empty puts it last."/>
                })}
                <TextField label="Group by" name="group_by" value=group_by error=form.field("group_by") hint="Label names, comma-separated; ... groups by every label."/>
                <TextField label="Group wait" name="group_wait" value=group_wait error=form.field("group_wait") hint="Before a new group's first message."/>
                <TextField label="Group interval" name="group_interval" value=group_interval error=form.field("group_interval") hint="Between messages about a group's changes."/>
                <TextField label="Repeat interval" name="repeat_interval" value=repeat_interval error=form.field("repeat_interval") hint="Before an unchanged group is sent again."/>
                {move || escalation_policies.get().map(|list| {
                    let mut options = vec![(String::new(), "None".to_owned())];
                    options.extend(list.unwrap_or_default().into_iter().map(|p| (p.id.to_string(), p.name)));
                    view! { <SelectField label="Escalation policy" name="escalation_policy_id" value=escalation_policy options=options error=form.field("escalation_policy_id")/> }
                })}
                <TextField label="Incident grouping labels" name="incident_group_by" value=incident_group_by error=form.field("incident_group_by") hint="Comma-separated; their values split incidents. Empty: one per alert name."/>
            </div>
            <ChannelPicker chosen=channels/>
            <p class="field-error">{move || form.field("channel_ids").get()}</p>
            {(!is_default).then(|| view! { <CheckboxField label="Continue: later policies may take the alert too" name="continue" checked=continue_matching/> })}
            <div class="form-actions">
                <button class="button primary" type="submit" disabled=move || form.pending.get()>"Save policy"</button>
                {id.is_some().then(|| view! { <button class="button" type="button" on:click=move |_| on_cancel.run(())>"Cancel"</button> })}
            </div>
        </form>
    }
}

#[component]
fn InhibitionForm(
    rule: Option<InhibitionRule>,
    on_saved: Callback<Result<String, ApiError>>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let id = rule.as_ref().map(|r| r.id);
    let start = rule.map(|r| r.rule);
    let name = RwSignal::new(start.as_ref().map(|r| r.name.clone()).unwrap_or_default());
    let source = RwSignal::new(
        start
            .as_ref()
            .map(|r| matcher_text(&r.source_matchers))
            .unwrap_or_default(),
    );
    let target = RwSignal::new(
        start
            .as_ref()
            .map(|r| matcher_text(&r.target_matchers))
            .unwrap_or_default(),
    );
    let equal = RwSignal::new(start.map(|r| r.equal.join(", ")).unwrap_or_default());
    let form = FormState::new();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let mut parsed = Vec::new();
        for (field, text) in [("source_matchers", source), ("target_matchers", target)] {
            match parse_matchers(&text.get_untracked()) {
                Ok(matchers) => parsed.push(matchers),
                Err(why) => return form.refuse(field, why),
            }
        }
        let target_matchers = parsed.pop().unwrap_or_default();
        let request = InhibitionRuleRequest {
            name: name.get_untracked().trim().to_owned(),
            source_matchers: parsed.pop().unwrap_or_default(),
            target_matchers,
            equal: parse_names(&equal.get_untracked()),
        };
        form.submit(
            async move { api::save_inhibition_rule(id, &request).await },
            move |saved| on_saved.run(Ok(format!("Saved inhibition rule {}.", saved.rule.name))),
        );
    };

    view! {
        <form class="card" aria-label="Inhibition rule" on:submit=submit novalidate=true>
            <h2>{if id.is_some() { "Edit inhibition rule" } else { "New inhibition rule" }}</h2>
            <ErrorBanner error=form.general()/>
            <div class="form-grid">
                <TextField label="Name" name="inhibition-name" value=name error=form.field("name")/>
                <TextField label="With equal labels" name="equal" value=equal error=form.field("equal") hint="Only alerts sharing these labels' values with the firing one, e.g. cluster."/>
                <MatchersField label="While an alert matching these fires" name="source_matchers" value=source error=form.field("source_matchers")/>
                <MatchersField label="Mute alerts matching these" name="target_matchers" value=target error=form.field("target_matchers")/>
            </div>
            <div class="form-actions">
                <button class="button primary" type="submit" disabled=move || form.pending.get()>"Save inhibition rule"</button>
                {id.is_some().then(|| view! { <button class="button" type="button" on:click=move |_| on_cancel.run(())>"Cancel"</button> })}
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_and_label_lists_read_back_as_written() {
        let matchers = parse_matchers("team=\"db\"\n\nseverity=~\"crit.*\"").unwrap();
        assert_eq!(matchers.len(), 2);
        assert_eq!(parse_matchers(&matcher_text(&matchers)).unwrap(), matchers);
        assert!(parse_matchers("team").is_err());
        assert_eq!(
            parse_names("alertname, cluster  job"),
            ["alertname", "cluster", "job"]
        );
        assert!(parse_names(" ").is_empty());
    }
}
