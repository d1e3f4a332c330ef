//! One incident: what it is and where its escalation stands, its alerts, its timeline, and —
//! for responders — the actions: acknowledge (`a`), escalate (`e`), resolve (`r`), snooze,
//! reassign, change the severity, add a note. Escalating and resolving ask first. The page
//! follows changes made elsewhere (the escalation worker, other responders) live.

use leptos::ev;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use vigil_shared::Role;
use vigil_shared::alerting::Severity;
use vigil_shared::incident::{
    IncidentAction, IncidentActionRequest, IncidentDetail, IncidentStatus,
};
use wasm_bindgen::JsCast;

use super::StatusBadge;
use crate::api::{self, ApiError, ApiResult};
use crate::components::{Loaded, Notice, SeverityBadge};
use crate::format;
use crate::live::live_events;
use crate::session::use_session;

/// Snooze lengths offered, in minutes.
const SNOOZES: [(i64, &str); 4] = [
    (15, "15 minutes"),
    (60, "1 hour"),
    (240, "4 hours"),
    (1_440, "1 day"),
];

/// What an action that asks first is about.
#[derive(Clone, Copy, PartialEq)]
enum Confirm {
    Escalate,
    Resolve,
}

#[component]
pub fn IncidentPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|id| id.parse::<i64>().ok())));
    let detail = LocalResource::new(move || {
        let id = id.get();
        async move {
            match id {
                Some(id) => api::get_incident(id).await,
                None => Err(ApiError {
                    status: 404,
                    code: "not_found".to_owned(),
                    message: "There is no incident at this address.".to_owned(),
                    fields: Default::default(),
                }),
            }
        }
    });
    live_events(&["incident"], move |heard| {
        if id
            .get_untracked()
            .is_some_and(|id| heard.concerns_incident(id))
        {
            detail.refetch();
        }
    });
    let failed = move || detail.with(|d| matches!(d, Some(Err(_))));

    // Kept while live updates replace the incident shown: an open dialog, a half-written note
    // and the outcome of the last action survive them.
    let controls = Controls {
        busy: RwSignal::new(false),
        notice: RwSignal::new(None),
        error: RwSignal::new(None),
        confirming: RwSignal::new(None),
        reason: RwSignal::new(String::new()),
        note: RwSignal::new(String::new()),
        detail,
    };
    let session = use_session();
    let keys = window_event_listener(ev::keydown, move |event| {
        if event.ctrl_key() || event.meta_key() || event.alt_key() || event.repeat() {
            return;
        }
        if controls.confirming.get_untracked().is_some() {
            if event.key() == "Escape" {
                controls.confirming.set(None);
            }
            return;
        }
        let typing = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|e| matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if typing || !session.can(Role::Responder) {
            return;
        }
        let Some(status) = controls.status() else {
            return;
        };
        match event.key().as_str() {
            "a" if status == IncidentStatus::Triggered => controls.acknowledge(),
            "e" => controls.ask(Confirm::Escalate),
            "r" => controls.ask(Confirm::Resolve),
            _ => return,
        }
        event.prevent_default();
    });
    on_cleanup(move || keys.remove());

    view! {
        <section class="page">
            <Show when=failed>
                <header class="page-header"><h1>"Incident"</h1></header>
            </Show>
            <Loaded resource=detail what="the incident" let:incident>
                <IncidentView incident=incident controls=controls/>
            </Loaded>
            <Show when=failed>
                <p><a href="/incidents">"Back to the incidents"</a></p>
            </Show>
            <ConfirmDialog controls=controls/>
        </section>
    }
}

#[component]
fn IncidentView(incident: IncidentDetail, controls: Controls) -> impl IntoView {
    let session = use_session();
    let for_actions = incident.clone();
    let i = &incident.incident;
    let id = i.id;
    let since = |t: &Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| {
            format!(
                "{} (after {})",
                format::time(&t),
                format::duration((t - i.triggered_at).num_seconds() as f64)
            )
        })
        .unwrap_or_else(|| "—".to_owned())
    };
    let escalation = match (&i.escalation_policy, i.status) {
        (None, _) => "No escalation policy.".to_owned(),
        (Some(policy), IncidentStatus::Resolved) => format!("{policy}: stopped (resolved)."),
        (Some(policy), _) => {
            let level = if i.level == 0 {
                "no level paged yet".to_owned()
            } else {
                format!("level {} paged", i.level)
            };
            let next = match (i.status, i.next_escalation_at) {
                (IncidentStatus::Triggered, Some(at)) => {
                    format!("; next level {}", format::relative(&at))
                }
                (IncidentStatus::Acknowledged, Some(at)) => {
                    format!("; triggers again {} unless resolved", format::relative(&at))
                }
                _ => String::new(),
            };
            format!("{policy}: {level}{next}.")
        }
    };

    view! {
        <header class="page-header">
            <h1>{format!("#{id} {}", i.title)}</h1>
            <div class="row-actions">
                <StatusBadge status=i.status/>
                <SeverityBadge severity=i.severity/>
            </div>
        </header>
        <p><a href="/incidents">"← All incidents"</a></p>
        <Show when=move || session.can(Role::Responder)>
            <IncidentActions incident=for_actions.clone() controls=controls/>
        </Show>
        <div class="grid two">
            <div class="card">
                <h2>"Details"</h2>
                <dl class="facts" aria-label="Incident details">
                    <dt>"Status"</dt><dd>{i.status.as_str()}</dd>
                    <dt>"Service"</dt><dd>{if i.service.is_empty() { "—".to_owned() } else { i.service.clone() }}</dd>
                    <dt>"Team"</dt><dd>{i.team.clone().unwrap_or_else(|| "—".to_owned())}</dd>
                    <dt>"Assignee"</dt><dd>{i.assignee.clone().unwrap_or_else(|| "nobody".to_owned())}</dd>
                    <dt>"Escalation"</dt><dd>{escalation}</dd>
                    <dt>"Triggered"</dt><dd>{format::time(&i.triggered_at)}</dd>
                    <dt>"Acknowledged"</dt><dd>{since(&i.acknowledged_at)}</dd>
                    <dt>"Resolved"</dt><dd>{since(&i.resolved_at)}</dd>
                    {i.snoozed_until.filter(|_| i.status == IncidentStatus::Acknowledged).map(|until| view! {
                        <dt>"Snoozed until"</dt><dd>{format::time(&until)}</dd>
                    })}
                    {(!i.resolution.is_empty()).then(|| view! { <dt>"Resolution"</dt><dd>{i.resolution.clone()}</dd> })}
                </dl>
                {(!i.description.is_empty()).then(|| view! { <p class="description">{i.description.clone()}</p> })}
            </div>
            <div class="card">
                <h2>"Alerts"</h2>
                {if incident.alerts.is_empty() {
                    view! { <p class="muted">"Opened by hand: no alerts."</p> }.into_any()
                } else {
                    view! {
                        <table class="table alerts-table" aria-label="Alerts of this incident">
                            <thead><tr><th>"Alert"</th><th>"State"</th><th>"Labels"</th><th>"Value"</th></tr></thead>
                            <tbody>
                                {incident.alerts.iter().map(|a| view! {
                                    <tr>
                                        <td>{a.name.clone()}" "<SeverityBadge severity=a.severity/></td>
                                        <td><span class=format!("badge state-{}", a.state)>{a.state.clone()}</span></td>
                                        <td class="labels">
                                            {a.labels.iter().filter(|(k, _)| k.as_str() != "alertname").map(|(k, v)| view! {
                                                <span class="label-pair">{format!("{k}={v}")}</span>
                                            }).collect_view()}
                                        </td>
                                        <td>{a.value.map(format::value).unwrap_or_default()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            </div>
        </div>
        <div class="card">
            <h2>"Timeline"</h2>
            <ol class="timeline" aria-label="Timeline">
                {incident.timeline.iter().rev().map(|entry| view! {
                    <li class=format!("timeline-{}", entry.kind)>
                        <time title=format::time(&entry.at)>{format::time(&entry.at)}</time>
                        <span class="timeline-actor">{entry.actor.clone()}</span>
                        <span class="timeline-message">{entry.message.clone()}</span>
                    </li>
                }).collect_view()}
            </ol>
        </div>
    }
}

/// The incident page's controls and their state: one action at a time, its outcome shown, the
/// incident replaced by the server's answer.
#[derive(Clone, Copy)]
struct Controls {
    busy: RwSignal<bool>,
    notice: RwSignal<Option<Result<String, ApiError>>>,
    error: RwSignal<Option<ApiError>>,
    /// The action asking for confirmation, if any.
    confirming: RwSignal<Option<Confirm>>,
    /// The reason or resolution note typed in the confirmation.
    reason: RwSignal<String>,
    note: RwSignal<String>,
    /// The incident shown; an action's answer replaces it.
    detail: LocalResource<ApiResult<IncidentDetail>>,
}

impl Controls {
    fn shown(self) -> Option<(i64, IncidentStatus)> {
        self.detail.with_untracked(|d| match d {
            Some(Ok(d)) => Some((d.incident.id, d.incident.status)),
            _ => None,
        })
    }

    fn status(self) -> Option<IncidentStatus> {
        self.shown().map(|(_, status)| status)
    }

    fn run(
        self,
        action: IncidentAction,
        request: IncidentActionRequest,
        done: String,
        after: impl FnOnce() + 'static,
    ) {
        let Some((id, _)) = self.shown() else {
            return;
        };
        if self.busy.get_untracked() {
            return;
        }
        self.busy.set(true);
        leptos::task::spawn_local(async move {
            match api::act_on_incident(id, action, &request).await {
                Ok(updated) => {
                    self.error.set(None);
                    self.notice.set(Some(Ok(done)));
                    after();
                    self.detail.set(Some(Ok(updated)));
                }
                Err(e) => {
                    self.notice.set(Some(Err(e.clone())));
                    self.error.set(Some(e));
                }
            }
            self.busy.set(false);
        });
    }

    fn act(self, action: IncidentAction, request: IncidentActionRequest, done: &str) {
        self.run(action, request, done.to_owned(), || {});
    }

    fn acknowledge(self) {
        self.act(
            IncidentAction::Acknowledge,
            IncidentActionRequest::default(),
            "Acknowledged.",
        );
    }

    /// Opens the confirmation of an escalation or resolution.
    fn ask(self, what: Confirm) {
        let open = self.status().is_some_and(|s| s != IncidentStatus::Resolved);
        if open && !self.busy.get_untracked() {
            self.reason.set(String::new());
            self.confirming.set(Some(what));
        }
    }

    fn confirm(self) {
        let Some(what) = self.confirming.get_untracked() else {
            return;
        };
        self.confirming.set(None);
        let request = IncidentActionRequest {
            message: self.reason.get_untracked(),
            ..Default::default()
        };
        match what {
            Confirm::Escalate => self.act(
                IncidentAction::Escalate,
                request,
                "Escalated: the next level is paged now.",
            ),
            Confirm::Resolve => self.act(IncidentAction::Resolve, request, "Resolved."),
        }
    }

    fn field_error(self, name: &'static str) -> impl Fn() -> Option<String> + Copy {
        let error = self.error;
        move || error.with(|e| e.as_ref().and_then(|e| e.field(name)))
    }
}

/// The responder's controls: acknowledge, escalate and resolve (also from the keyboard: `a`,
/// `e`, `r`), snooze, severity, assignment and notes.
#[component]
fn IncidentActions(incident: IncidentDetail, controls: Controls) -> impl IntoView {
    let session = use_session();
    let i = incident.incident;
    let status = i.status;
    let open = status != IncidentStatus::Resolved;
    let Controls { busy, note, .. } = controls;
    let snooze = RwSignal::new("60".to_owned());
    let severity = RwSignal::new(i.severity.as_str().to_owned());
    let me = session.user.with_untracked(|u| u.as_ref().map(|u| u.id));
    let assignee = RwSignal::new(i.assignee_id.map(|id| id.to_string()).unwrap_or_default());
    let people = LocalResource::new(api::user_directory);
    let act = move |action: IncidentAction, request: IncidentActionRequest, done: &str| {
        controls.act(action, request, done);
    };
    let field_error = move |name: &'static str| controls.field_error(name);
    let add_note = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let request = IncidentActionRequest {
            message: note.get_untracked(),
            ..Default::default()
        };
        // A refused note keeps what was typed.
        controls.run(
            IncidentAction::Notes,
            request,
            "Note added.".to_owned(),
            move || note.set(String::new()),
        );
    };

    view! {
        <div class="card incident-actions" role="toolbar" aria-label="Incident actions">
            <Notice notice=controls.notice/>
            <div class="row-actions">
                {(status == IncidentStatus::Triggered).then(|| view! {
                    <button class="button primary" type="button" aria-keyshortcuts="a" disabled=move || busy.get()
                        on:click=move |_| controls.acknowledge()>{IncidentAction::Acknowledge.label()}<kbd>"a"</kbd></button>
                })}
                {(status == IncidentStatus::Acknowledged).then(|| view! {
                    <button class="button" type="button" disabled=move || busy.get()
                        on:click=move |_| act(IncidentAction::Unacknowledge, IncidentActionRequest::default(), "Unacknowledged: triggered again.")>{IncidentAction::Unacknowledge.label()}</button>
                })}
                {open.then(|| view! {
                    <button class="button" type="button" aria-keyshortcuts="e" disabled=move || busy.get()
                        on:click=move |_| controls.ask(Confirm::Escalate)>{IncidentAction::Escalate.label()}<kbd>"e"</kbd></button>
                    <button class="button" type="button" aria-keyshortcuts="r" disabled=move || busy.get()
                        on:click=move |_| controls.ask(Confirm::Resolve)>{IncidentAction::Resolve.label()}<kbd>"r"</kbd></button>
                })}
            </div>
            {open.then(|| view! {
                <div class="inline-form">
                    <div class="field" class:has-error=move || field_error("until")().is_some()>
                        <label for="field-snooze">"Snooze for"</label>
                        <select id="field-snooze" on:change=move |ev| snooze.set(event_target_value(&ev)) prop:value=move || snooze.get()>
                            {SNOOZES.iter().map(|(minutes, label)| view! { <option value=minutes.to_string()>{*label}</option> }).collect_view()}
                        </select>
                        <p class="field-error">{field_error("until")}</p>
                    </div>
                    <button class="button" type="button" disabled=move || busy.get() on:click=move |_| {
                        let minutes = snooze.get_untracked().parse::<i64>().unwrap_or(60);
                        let until = chrono::Utc::now() + chrono::TimeDelta::minutes(minutes);
                        act(IncidentAction::Snooze, IncidentActionRequest { until: Some(until), ..Default::default() }, &format!("Snoozed until {}.", format::time(&until)));
                    }>{IncidentAction::Snooze.label()}</button>
                    <div class="field">
                        <label for="field-severity">"Severity"</label>
                        <select id="field-severity" on:change=move |ev| severity.set(event_target_value(&ev)) prop:value=move || severity.get()>
                            {[Severity::Critical, Severity::Warning, Severity::Info].map(|s| view! { <option value=s.as_str()>{s.as_str()}</option> }).collect_view()}
                        </select>
                    </div>
                    <button class="button" type="button" disabled=move || busy.get() on:click=move |_| {
                        let chosen = Severity::parse(&severity.get_untracked());
                        act(IncidentAction::Severity, IncidentActionRequest { severity: chosen, ..Default::default() }, "Severity changed.");
                    }>{IncidentAction::Severity.label()}</button>
                    {(i.assignee_id != me).then(|| view! {
                        <button class="button" type="button" disabled=move || busy.get()
                            on:click=move |_| act(IncidentAction::Reassign, IncidentActionRequest { assignee_id: me, ..Default::default() }, "Assigned to you.")>"Assign to me"</button>
                    })}
                    <div class="field" class:has-error=move || field_error("assignee_id")().is_some()>
                        <label for="field-assignee">"Assignee"</label>
                        <select id="field-assignee" on:change=move |ev| assignee.set(event_target_value(&ev)) prop:value=move || assignee.get()>
                            <option value="">"Nobody"</option>
                            {move || people.get().and_then(Result::ok).map(|d| d.users.into_iter().filter(|u| !u.disabled).map(|u| view! {
                                <option value=u.id.to_string() selected=assignee.get_untracked() == u.id.to_string()>{if u.display_name.is_empty() { u.email } else { format!("{} ({})", u.display_name, u.email) }}</option>
                            }).collect_view())}
                        </select>
                        <p class="field-error">{field_error("assignee_id")}</p>
                    </div>
                    <button class="button" type="button" disabled=move || busy.get() on:click=move |_| {
                        let to = assignee.get_untracked().parse().ok();
                        let done = if to.is_some() { "Reassigned." } else { "Unassigned." };
                        act(IncidentAction::Reassign, IncidentActionRequest { assignee_id: to, ..Default::default() }, done);
                    }>{IncidentAction::Reassign.label()}</button>
                </div>
            })}
            <form class="note-form" aria-label="Add a note" on:submit=add_note>
                <div class="field" class:has-error=move || field_error("message")().is_some()>
                    <label for="field-note">"Note"</label>
                    <textarea id="field-note" rows="2" placeholder="What you found, what you did" bind:value=note></textarea>
                    <p class="field-error">{field_error("message")}</p>
                </div>
                <button class="button" type="submit" disabled=move || busy.get()>{IncidentAction::Notes.label()}</button>
            </form>
        </div>
    }
}

/// Asks before escalating or resolving, with room for the reason or the resolution note.
/// Escape or Cancel closes it.
#[component]
fn ConfirmDialog(controls: Controls) -> impl IntoView {
    let Controls {
        confirming, reason, ..
    } = controls;
    move || {
        let what = confirming.get()?;
        let id = controls.shown().map(|(id, _)| id).unwrap_or_default();
        let (title, explain, label, button) = match what {
            Confirm::Escalate => (
                format!("Escalate incident #{id}?"),
                "The next level of its escalation policy is paged now.",
                "Reason (optional)",
                "Escalate",
            ),
            Confirm::Resolve => (
                format!("Resolve incident #{id}?"),
                "Escalation stops; the incident counts as resolved now.",
                "Resolution note (optional)",
                "Resolve",
            ),
        };
        Some(view! {
            <div class="dialog-backdrop">
                <form class="dialog card" role="dialog" aria-modal="true" aria-label=title.clone()
                    on:submit=move |ev: ev::SubmitEvent| { ev.prevent_default(); controls.confirm(); }>
                    <h2>{title.clone()}</h2>
                    <p>{explain}</p>
                    <div class="field">
                        <label for="field-confirm-message">{label}</label>
                        <textarea id="field-confirm-message" rows="2" bind:value=reason autofocus=true></textarea>
                    </div>
                    <div class="form-actions">
                        <button class="button primary" type="submit">{button}</button>
                        <button class="button" type="button" on:click=move |_| confirming.set(None)>"Cancel"</button>
                    </div>
                </form>
            </div>
        })
    }
}
