//! Time not counted against SLOs (`/slos/maintenance`): planned maintenance windows, once or
//! every week, which editors set up; and corrections — a past period marked "not counted",
//! with a reason — which responders may make too. Each covers every SLO, a service's, or one.

use std::collections::BTreeSet;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vigil_shared::Role;
use vigil_shared::slo::{
    ExclusionKind, MaintenanceSchedule, MaintenanceScope, MaintenanceWindow,
    MaintenanceWindowRequest, Weekday,
};

use crate::api::{self, ApiError};
use crate::components::{ErrorBanner, FieldErrors, FormState, Loaded, Notice, TextField, confirm};
use crate::format;
use crate::session::use_session;
use crate::zone;

const WEEKDAYS: [(Weekday, &str); 7] = [
    (Weekday::Mon, "Mon"),
    (Weekday::Tue, "Tue"),
    (Weekday::Wed, "Wed"),
    (Weekday::Thu, "Thu"),
    (Weekday::Fri, "Fri"),
    (Weekday::Sat, "Sat"),
    (Weekday::Sun, "Sun"),
];

fn day_name(day: Weekday) -> &'static str {
    WEEKDAYS
        .iter()
        .find(|(d, _)| *d == day)
        .map_or("?", |(_, name)| name)
}

/// The SLOs scopes may name: id, name, service.
type SloNames = Vec<(i64, String, String)>;

fn scope_text(scope: &MaintenanceScope, slos: &SloNames) -> String {
    match scope {
        MaintenanceScope::Global => "every SLO".to_owned(),
        MaintenanceScope::Service { service } => format!("service {service}"),
        MaintenanceScope::Slo { slo_id } => {
            slos.iter().find(|(id, _, _)| id == slo_id).map_or_else(
                || format!("SLO #{slo_id}"),
                |(_, name, _)| format!("SLO {name}"),
            )
        }
    }
}

fn schedule_text(schedule: &MaintenanceSchedule) -> String {
    match schedule {
        MaintenanceSchedule::Once { start, end } => {
            format!("{} to {}", format::time(start), format::time(end))
        }
        MaintenanceSchedule::Weekly {
            days,
            start,
            duration,
            time_zone,
        } => {
            let days: Vec<&str> = days.iter().map(|d| day_name(*d)).collect();
            format!(
                "every {} at {start} for {duration} ({time_zone})",
                days.join(", ")
            )
        }
    }
}

/// Whether the logged-in user may change a window of this kind: maintenance is the editors',
/// corrections are the responders' too.
fn may_change(kind: ExclusionKind) -> bool {
    let session = use_session();
    match kind {
        ExclusionKind::Maintenance => session.can(Role::Editor),
        ExclusionKind::Correction => session.can(Role::Responder),
    }
}

#[component]
pub fn MaintenancePage() -> impl IntoView {
    let session = use_session();
    let windows = LocalResource::new(api::list_maintenance_windows);
    let slo_list = LocalResource::new(api::list_slos);
    let slos = Signal::derive(move || {
        slo_list
            .get()
            .and_then(Result::ok)
            .map(|list| {
                list.slos
                    .into_iter()
                    .map(|s| (s.id, s.slo.name, s.slo.service))
                    .collect::<SloNames>()
            })
            .unwrap_or_default()
    });
    let editing = RwSignal::new(None::<MaintenanceWindow>);
    let notice = RwSignal::new(None::<Result<String, ApiError>>);
    let changed = Callback::new(move |message: Result<String, ApiError>| {
        notice.set(Some(message));
        editing.set(None);
        windows.refetch();
    });

    view! {
        <Show when=move || session.can(Role::Responder)>
            {move || view! { <WindowForm window=editing.get() slos=slos on_saved=changed on_cancel=Callback::new(move |()| editing.set(None))/> }}
        </Show>
        <div class="card">
            <h2>"Maintenance windows and corrections"</h2>
            <p class="muted">"Time in these windows is not counted: it neither uses error budget nor adds good events."</p>
            <Notice notice=notice/>
            <Loaded resource=windows what="maintenance windows" let:list>
                {match list.windows {
                    windows if windows.is_empty() => view! { <p class="muted empty-state">"No maintenance windows or corrections."</p> }.into_any(),
                    windows => view! {
                        <table class="table" aria-label="Maintenance windows">
                            <thead><tr>
                                <th>"Kind"</th><th>"Reason"</th><th>"Covers"</th><th>"When"</th><th>"By"</th><th></th>
                            </tr></thead>
                            <tbody>
                                {windows.into_iter().map(|window| view! {
                                    <WindowRow window=window slos=slos on_edit=Callback::new(move |w| editing.set(Some(w))) on_change=changed/>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }}
            </Loaded>
        </div>
    }
}

#[component]
fn WindowRow(
    window: MaintenanceWindow,
    slos: Signal<SloNames>,
    on_edit: Callback<MaintenanceWindow>,
    on_change: Callback<Result<String, ApiError>>,
) -> impl IntoView {
    let id = window.id;
    let kind = window.window.kind;
    let (kind_text, kind_class) = match kind {
        ExclusionKind::Maintenance => ("maintenance", "badge"),
        ExclusionKind::Correction => ("not counted", "badge state-pending"),
    };
    let reason = window.window.reason.clone();
    let scope = window.window.scope.clone();
    let delete = move |_| {
        if !confirm(&format!(
            "Delete \"{reason}\"? Its time counts against SLOs again."
        )) {
            return;
        }
        leptos::task::spawn_local(async move {
            let outcome = api::delete_maintenance_window(id)
                .await
                .map(|()| "Deleted; that time counts again.".to_owned());
            // The page may be gone by the time the server answers.
            on_change.try_run(outcome);
        });
    };
    let editable = window.clone();
    view! {
        <tr>
            <td><span class=kind_class>{kind_text}</span></td>
            <td>{window.window.reason.clone()}</td>
            <td>{move || scope_text(&scope, &slos.get())}</td>
            <td>{schedule_text(&window.window.schedule)}</td>
            <td>{window.created_by.clone().unwrap_or_default()}</td>
            <td>
                <Show when=move || may_change(kind)>
                    <div class="row-actions">
                        <button class="button small" type="button" on:click={
                            let editable = editable.clone();
                            move |_| on_edit.run(editable.clone())
                        }>"Edit"</button>
                        <button class="button small danger" type="button" on:click=delete.clone()>"Delete"</button>
                    </div>
                </Show>
            </td>
        </tr>
    }
}

/// The form for a new window (or the one being edited).
#[component]
fn WindowForm(
    window: Option<MaintenanceWindow>,
    slos: Signal<SloNames>,
    on_saved: Callback<Result<String, ApiError>>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let session = use_session();
    let editor = session.can(Role::Editor);
    let id = window.as_ref().map(|w| w.id);
    let request = window.map(|w| w.window);
    let kind = RwSignal::new(match request.as_ref().map(|r| r.kind) {
        Some(ExclusionKind::Maintenance) => "maintenance",
        Some(ExclusionKind::Correction) => "correction",
        None if editor => "maintenance",
        None => "correction",
    });
    let reason = RwSignal::new(
        request
            .as_ref()
            .map(|r| r.reason.clone())
            .unwrap_or_default(),
    );
    let (scope_kind, scope_service, scope_slo) = match request.as_ref().map(|r| &r.scope) {
        Some(MaintenanceScope::Service { service }) => ("service", service.clone(), String::new()),
        Some(MaintenanceScope::Slo { slo_id }) => ("slo", String::new(), slo_id.to_string()),
        _ => ("global", String::new(), String::new()),
    };
    let scope_kind = RwSignal::new(scope_kind.to_owned());
    let scope_service = RwSignal::new(scope_service);
    let scope_slo = RwSignal::new(scope_slo);
    let schedule_kind = RwSignal::new("once".to_owned());
    let start = RwSignal::new(String::new());
    let end = RwSignal::new(String::new());
    let days = RwSignal::new(BTreeSet::<Weekday>::new());
    let weekly_start = RwSignal::new("02:00".to_owned());
    let duration = RwSignal::new("2h".to_owned());
    let time_zone = RwSignal::new(zone::browser_time_zone());
    match request.as_ref().map(|r| &r.schedule) {
        Some(MaintenanceSchedule::Once { start: s, end: e }) => {
            start.set(zone::local_input(s));
            end.set(zone::local_input(e));
        }
        Some(MaintenanceSchedule::Weekly {
            days: d,
            start: s,
            duration: length,
            time_zone: tz,
        }) => {
            schedule_kind.set("weekly".to_owned());
            days.set(d.iter().copied().collect());
            weekly_start.set(s.clone());
            duration.set(length.clone());
            time_zone.set(tz.clone());
        }
        None => {}
    }
    let correction = move || kind.get() == "correction";
    let form = FormState::new();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let mut problems = std::collections::BTreeMap::new();
        let mut refuse = |field: &str, why: &str| {
            problems.insert(field.to_owned(), why.to_owned());
        };
        let why = reason.get_untracked().trim().to_owned();
        if why.is_empty() {
            refuse("reason", "say why this time should not count");
        }
        let scope = match scope_kind.get_untracked().as_str() {
            "service" => {
                let service = scope_service.get_untracked().trim().to_owned();
                if service.is_empty() {
                    refuse("scope.service", "name the service");
                }
                MaintenanceScope::Service { service }
            }
            "slo" => match scope_slo.get_untracked().parse() {
                Ok(slo_id) => MaintenanceScope::Slo { slo_id },
                Err(_) => {
                    refuse("scope.slo_id", "pick the SLO");
                    MaintenanceScope::Global
                }
            },
            _ => MaintenanceScope::Global,
        };
        let schedule = if schedule_kind.get_untracked() == "weekly" && !correction() {
            let zone_name = time_zone.get_untracked().trim().to_owned();
            if days.with_untracked(BTreeSet::is_empty) {
                refuse("schedule.days", "pick at least one day");
            }
            if format::duration_seconds(&duration.get_untracked()).is_none_or(|s| s <= 0.0) {
                refuse("schedule.duration", "write a duration such as 30m or 2h");
            }
            if !zone::is_time_zone(&zone_name) {
                refuse(
                    "schedule.time_zone",
                    "write a time zone such as Europe/Berlin or UTC",
                );
            }
            MaintenanceSchedule::Weekly {
                days: days.get_untracked().into_iter().collect(),
                start: weekly_start.get_untracked(),
                duration: duration.get_untracked().trim().to_owned(),
                time_zone: zone_name,
            }
        } else {
            let from = zone::from_local_input(&start.get_untracked());
            let to = zone::from_local_input(&end.get_untracked());
            match (from, to) {
                (Some(from), Some(to)) if from < to => MaintenanceSchedule::Once {
                    start: from,
                    end: to,
                },
                (Some(_), Some(_)) => {
                    refuse("schedule.end", "must be after the start");
                    return form.problems.set(problems);
                }
                (from, _) => {
                    if from.is_none() {
                        refuse("schedule.start", "give the start");
                    }
                    refuse("schedule.end", "give the end");
                    return form.problems.set(problems);
                }
            }
        };
        if !problems.is_empty() {
            return form.problems.set(problems);
        }
        let request = MaintenanceWindowRequest {
            kind: if correction() {
                ExclusionKind::Correction
            } else {
                ExclusionKind::Maintenance
            },
            reason: why,
            scope,
            schedule,
        };
        let correcting = correction();
        form.submit(
            async move { api::save_maintenance_window(id, &request).await },
            move |_| {
                on_saved.try_run(Ok(if correcting {
                    "Marked: that period is not counted.".to_owned()
                } else {
                    "Saved the maintenance window.".to_owned()
                }));
            },
        );
    };

    let field = move |name: &'static str| form.field(name);
    let kind_radio = move |value: &'static str, label: &'static str| {
        view! {
            <label class="checkbox">
                <input type="radio" name="window-kind" value=value prop:checked=move || kind.get() == value on:change=move |_| kind.set(value)/>
                <span>{label}</span>
            </label>
        }
    };
    let schedule_radio = move |value: &'static str, label: &'static str| {
        view! {
            <label class="checkbox">
                <input type="radio" name="window-schedule" value=value prop:checked=move || schedule_kind.get() == value on:change=move |_| schedule_kind.set(value.to_owned())/>
                <span>{label}</span>
            </label>
        }
    };
    let title = move || match (id, correction()) {
        (Some(_), _) => "Edit",
        (None, true) => "Mark a period not counted",
        (None, false) => "New maintenance window",
    };

    view! {
        <form class="card" aria-label="Maintenance window" on:submit=submit novalidate=true>
            <h2>{title}</h2>
            <ErrorBanner error=form.general()/>
            <FieldErrors errors=form.elsewhere(&["reason", "scope.service", "scope.slo_id", "schedule.start", "schedule.end", "schedule.days", "schedule.duration", "schedule.time_zone"])/>
            {editor.then(|| view! {
                <fieldset class="field radio-row">
                    <legend>"Kind"</legend>
                    {kind_radio("maintenance", "Planned maintenance")}
                    {kind_radio("correction", "Mark period not counted (correction)")}
                </fieldset>
            })}
            <TextField label="Reason" name="reason" value=reason error=field("reason") required=true placeholder="Database upgrade"/>
            <div class="form-grid">
                <div class="field">
                    <label for="field-scope">"Covers"</label>
                    <select id="field-scope" on:change=move |ev| scope_kind.set(event_target_value(&ev)) prop:value=move || scope_kind.get()>
                        <option value="global">"Every SLO"</option>
                        <option value="service">"One service's SLOs"</option>
                        <option value="slo">"One SLO"</option>
                    </select>
                </div>
                {move || match scope_kind.get().as_str() {
                    "service" => Some(view! {
                        <div class="field" class:has-error=move || field("scope.service").get().is_some()>
                            <label for="field-scope-service">"Service"</label>
                            <input id="field-scope-service" list="maintenance-services" bind:value=scope_service autocomplete="off"/>
                            <datalist id="maintenance-services">
                                {move || {
                                    let services: BTreeSet<String> = slos.get().into_iter().map(|(_, _, s)| s).collect();
                                    services.into_iter().map(|s| view! { <option value=s></option> }).collect_view()
                                }}
                            </datalist>
                            <p class="field-error">{move || field("scope.service").get()}</p>
                        </div>
                    }.into_any()),
                    "slo" => Some(view! {
                        <div class="field" class:has-error=move || field("scope.slo_id").get().is_some()>
                            <label for="field-scope-slo">"SLO"</label>
                            <select id="field-scope-slo" on:change=move |ev| scope_slo.set(event_target_value(&ev)) prop:value=move || scope_slo.get()>
                                <option value="">"Pick an SLO"</option>
                                {move || slos.get().into_iter().map(|(id, name, service)| {
                                    let value = id.to_string();
                                    let selected = scope_slo.get_untracked() == value;
                                    view! { <option value=value selected=selected>{format!("{name} ({service})")}</option> }
                                }).collect_view()}
                            </select>
                            <p class="field-error">{move || field("scope.slo_id").get()}</p>
                        </div>
                    }.into_any()),
                    _ => None,
                }}
            </div>
            <Show when=move || !correction()>
                <fieldset class="field radio-row">
                    <legend>"When"</legend>
                    {schedule_radio("once", "Once")}
                    {schedule_radio("weekly", "Every week")}
                </fieldset>
            </Show>
            {move || if schedule_kind.get() == "weekly" && !correction() {
                view! {
                    <fieldset class="field radio-row" class:has-error=move || field("schedule.days").get().is_some()>
                        <legend>"Days"</legend>
                        {WEEKDAYS.iter().map(|(day, name)| {
                            let day = *day;
                            view! {
                                <label class="checkbox">
                                    <input
                                        type="checkbox"
                                        prop:checked=move || days.with(|d| d.contains(&day))
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            days.update(|d| { if on { d.insert(day); } else { d.remove(&day); } });
                                        }
                                    />
                                    <span>{*name}</span>
                                </label>
                            }
                        }).collect_view()}
                        <p class="field-error">{move || field("schedule.days").get()}</p>
                    </fieldset>
                    <div class="form-grid">
                        <TextField label="Starts at" name="schedule.start" value=weekly_start error=field("schedule.start") input_type="time"/>
                        <TextField label="Lasts" name="schedule.duration" value=duration error=field("schedule.duration") hint="e.g. 30m, 2h."/>
                        <TextField label="Time zone" name="schedule.time_zone" value=time_zone error=field("schedule.time_zone")/>
                    </div>
                }.into_any()
            } else {
                view! {
                    <div class="form-grid">
                        <TextField label="From" name="schedule.start" value=start error=field("schedule.start") input_type="datetime-local"/>
                        <TextField label="To" name="schedule.end" value=end error=field("schedule.end") input_type="datetime-local"/>
                    </div>
                }.into_any()
            }}
            <div class="form-actions">
                <button class="button primary" type="submit" disabled=move || form.pending.get()>
                    {move || if correction() { "Mark period not counted" } else { "Save window" }}
                </button>
                {id.map(|_| view! { <button class="button" type="button" on:click=move |_| on_cancel.run(())>"Cancel"</button> })}
            </div>
        </form>
    }
}
