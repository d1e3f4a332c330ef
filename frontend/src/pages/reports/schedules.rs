//! Scheduled SLA reports (editors): a weekly or monthly report emailed with its PDF to a list
//! of recipients, the log of what was sent, and "Send now" to send the latest one at once.

use std::collections::BTreeSet;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vigil_shared::slo::{
    ReportCadence, ReportDelivery, ReportSchedule, ReportScheduleList, ReportScheduleRequest,
};

use crate::api::{self, ApiError};
use crate::components::{
    CheckboxField, ErrorBanner, FieldErrors, FormState, Loaded, Notice, TextField, confirm,
};
use crate::format;
use crate::zone;

/// Most deliveries listed.
const DELIVERIES_SHOWN: usize = 50;

fn cadence_text(cadence: ReportCadence) -> &'static str {
    match cadence {
        ReportCadence::Weekly => "weekly",
        ReportCadence::Monthly => "monthly",
    }
}

#[component]
pub fn ReportSchedules(services: Signal<Vec<String>>) -> impl IntoView {
    let schedules = LocalResource::new(api::list_report_schedules);
    let editing = RwSignal::new(None::<ReportSchedule>);
    let notice = RwSignal::new(None::<Result<String, ApiError>>);
    let changed = Callback::new(move |message: Result<String, ApiError>| {
        notice.set(Some(message));
        editing.set(None);
        schedules.refetch();
    });
    let edit = Callback::new(move |schedule: ReportSchedule| editing.set(Some(schedule)));

    view! {
        <div class="card">
            <h2>"Scheduled reports"</h2>
            <p class="muted">"Emailed with the PDF once each week or month is over, for the period just ended."</p>
            <Notice notice=notice/>
            <Loaded resource=schedules what="scheduled reports" let:list>
                {schedule_tables(list, edit, changed)}
            </Loaded>
        </div>
        {move || view! {
            <ScheduleForm
                schedule=editing.get()
                services=services
                on_saved=changed
                on_cancel=Callback::new(move |()| editing.set(None))
            />
        }}
    }
}

fn schedule_tables(
    list: ReportScheduleList,
    edit: Callback<ReportSchedule>,
    changed: Callback<Result<String, ApiError>>,
) -> AnyView {
    if list.schedules.is_empty() {
        return view! { <p class="muted empty-state">"No scheduled reports yet."</p> }.into_any();
    }
    let names: Vec<(i64, String, String)> = list
        .schedules
        .iter()
        .map(|s| (s.id, s.schedule.name.clone(), s.schedule.time_zone.clone()))
        .collect();
    let mut deliveries = list.deliveries;
    deliveries.sort_by_key(|d| std::cmp::Reverse(d.sent_at));
    deliveries.truncate(DELIVERIES_SHOWN);
    view! {
        <table class="table" aria-label="Scheduled reports">
            <thead><tr>
                <th>"Name"</th><th>"Every"</th><th>"Time zone"</th><th>"Services"</th>
                <th>"Recipients"</th><th>"Next"</th><th>"Status"</th><th></th>
            </tr></thead>
            <tbody>
                {list.schedules.into_iter().map(|s| schedule_row(s, edit, changed)).collect_view()}
            </tbody>
        </table>
        <h3>"Delivery log"</h3>
        {delivery_log(&deliveries, &names)}
    }
    .into_any()
}

fn schedule_row(
    schedule: ReportSchedule,
    edit: Callback<ReportSchedule>,
    changed: Callback<Result<String, ApiError>>,
) -> impl IntoView {
    let id = schedule.id;
    let name = schedule.schedule.name.clone();
    let send = {
        let name = name.clone();
        move |_| {
            let name = name.clone();
            leptos::task::spawn_local(async move {
                let outcome = api::send_report_now(id)
                    .await
                    .map(|()| format!("Sending {name} now; the delivery log shows how it went."));
                changed.try_run(outcome);
            });
        }
    };
    let delete = {
        let name = name.clone();
        move |_| {
            if !confirm(&format!("Delete the scheduled report {name}?")) {
                return;
            }
            let name = name.clone();
            leptos::task::spawn_local(async move {
                let outcome = api::delete_report_schedule(id)
                    .await
                    .map(|()| format!("Deleted the scheduled report {name}."));
                changed.try_run(outcome);
            });
        }
    };
    let editable = schedule.clone();
    let s = schedule.schedule;
    view! {
        <tr class:disabled=!s.enabled>
            <td>{s.name.clone()}</td>
            <td>{cadence_text(s.cadence)}</td>
            <td>{s.time_zone.clone()}</td>
            <td>{if s.services.is_empty() { "all".to_owned() } else { s.services.join(", ") }}</td>
            <td>{s.recipients.join(", ")}</td>
            <td>{format::time(&schedule.next_run_at)}</td>
            <td>{if s.enabled { "on" } else { "paused" }}</td>
            <td>
                <div class="row-actions">
                    <button class="button small" type="button" on:click=move |_| edit.run(editable.clone())>"Edit"</button>
                    <button class="button small" type="button" on:click=send>"Send now"</button>
                    <button class="button small danger" type="button" on:click=delete>"Delete"</button>
                </div>
            </td>
        </tr>
    }
}

fn delivery_log(deliveries: &[ReportDelivery], names: &[(i64, String, String)]) -> AnyView {
    if deliveries.is_empty() {
        return view! { <p class="muted">"Nothing sent yet."</p> }.into_any();
    }
    let schedule = |id: i64| names.iter().find(|(i, _, _)| *i == id);
    let name = |id: i64| schedule(id).map_or_else(|| format!("#{id}"), |(_, n, _)| n.clone());
    // The period as the days it covers, in the schedule's time zone.
    let period = |d: &ReportDelivery| {
        let zone = schedule(d.schedule_id).map_or("UTC", |(_, _, tz)| tz.as_str());
        let last = d.period_to - chrono::TimeDelta::seconds(1);
        format!(
            "{} to {}",
            zone::date_in(zone, &d.period_from),
            zone::date_in(zone, &last)
        )
    };
    view! {
        <table class="table" aria-label="Report deliveries">
            <thead><tr><th>"Report"</th><th>"Period"</th><th>"Sent"</th><th>"Result"</th><th>"Detail"</th></tr></thead>
            <tbody>
                {deliveries.iter().map(|d| view! {
                    <tr>
                        <td>{name(d.schedule_id)}</td>
                        <td>{period(d)}</td>
                        <td>{format::time(&d.sent_at)}</td>
                        <td>{if d.ok {
                            view! { <span class="badge health-ok">"sent"</span> }.into_any()
                        } else {
                            view! { <span class="badge health-breached">"failed"</span> }.into_any()
                        }}</td>
                        <td class="details">{d.detail.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Email addresses one per line (or separated by commas or spaces).
fn recipients(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}

#[component]
fn ScheduleForm(
    schedule: Option<ReportSchedule>,
    services: Signal<Vec<String>>,
    on_saved: Callback<Result<String, ApiError>>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let id = schedule.as_ref().map(|s| s.id);
    let request = schedule.map(|s| s.schedule);
    let name = RwSignal::new(request.as_ref().map(|r| r.name.clone()).unwrap_or_default());
    let cadence = RwSignal::new(
        request
            .as_ref()
            .map_or("monthly", |r| cadence_text(r.cadence))
            .to_owned(),
    );
    let time_zone = RwSignal::new(
        request
            .as_ref()
            .map(|r| r.time_zone.clone())
            .unwrap_or_else(zone::browser_time_zone),
    );
    let chosen = RwSignal::new(
        request
            .as_ref()
            .map(|r| r.services.iter().cloned().collect::<BTreeSet<_>>())
            .unwrap_or_default(),
    );
    let to = RwSignal::new(
        request
            .as_ref()
            .map(|r| r.recipients.join("\n"))
            .unwrap_or_default(),
    );
    let enabled = RwSignal::new(request.as_ref().is_none_or(|r| r.enabled));
    let form = FormState::new();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let addresses = recipients(&to.get_untracked());
        if addresses.is_empty() {
            return form.refuse("recipients", "give at least one email address");
        }
        if let Some(bad) = addresses.iter().find(|a| !a.contains('@')) {
            return form.refuse("recipients", format!("{bad:?} is not an email address"));
        }
        let request = ReportScheduleRequest {
            name: name.get_untracked().trim().to_owned(),
            cadence: if cadence.get_untracked() == "weekly" {
                ReportCadence::Weekly
            } else {
                ReportCadence::Monthly
            },
            time_zone: time_zone.get_untracked().trim().to_owned(),
            services: chosen.get_untracked().into_iter().collect(),
            recipients: addresses,
            enabled: enabled.get_untracked(),
        };
        form.submit(
            async move { api::save_report_schedule(id, &request).await },
            move |saved| {
                on_saved.try_run(Ok(format!(
                    "Saved the scheduled report {}.",
                    saved.schedule.name
                )));
            },
        );
    };
    let recipients_error = form.field("recipients");
    let services_error = form.field("services");

    view! {
        <form class="card" aria-label="Scheduled report" on:submit=submit novalidate=true>
            <h2>{if id.is_some() { "Edit scheduled report" } else { "New scheduled report" }}</h2>
            <ErrorBanner error=form.general()/>
            <FieldErrors errors=form.elsewhere(&["name", "cadence", "time_zone", "services", "recipients", "enabled"])/>
            <div class="form-grid">
                <TextField label="Name" name="name" value=name error=form.field("name") required=true placeholder="Monthly SLA for management"/>
                <div class="field">
                    <label for="field-cadence">"Every"</label>
                    <select id="field-cadence" on:change=move |ev| cadence.set(event_target_value(&ev)) prop:value=move || cadence.get()>
                        <option value="monthly" selected=cadence.get_untracked() == "monthly">"Month (sent on the 1st)"</option>
                        <option value="weekly" selected=cadence.get_untracked() == "weekly">"Week (sent on Monday)"</option>
                    </select>
                    <p class="field-error">{move || form.field("cadence").get()}</p>
                </div>
                <TextField label="Time zone" name="time_zone" value=time_zone error=form.field("time_zone")/>
            </div>
            <fieldset class="field service-picker" class:has-error=move || services_error.get().is_some()>
                <legend>"Services"</legend>
                <div class="checkbox-row">
                    {move || services.get().into_iter().map(|service| {
                        let name = service.clone();
                        let toggled = service.clone();
                        view! {
                            <label class="checkbox">
                                <input
                                    type="checkbox"
                                    prop:checked=move || chosen.with(|c| c.contains(&name))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        let service = toggled.clone();
                                        chosen.update(|c| { if on { c.insert(service); } else { c.remove(&service); } });
                                    }
                                />
                                <span>{service}</span>
                            </label>
                        }
                    }).collect_view()}
                </div>
                <p class="field-hint">"None ticked: every service."</p>
                <p class="field-error">{move || services_error.get()}</p>
            </fieldset>
            <div class="field" class:has-error=move || recipients_error.get().is_some()>
                <label for="field-recipients">"Recipients (one email per line)"</label>
                <textarea id="field-recipients" rows="3" bind:value=to placeholder="sla@example.com"></textarea>
                <p class="field-error">{move || recipients_error.get()}</p>
            </div>
            <CheckboxField label="Enabled" name="enabled" checked=enabled/>
            <div class="form-actions">
                <button class="button primary" type="submit" disabled=move || form.pending.get()>"Save schedule"</button>
                {id.map(|_| view! { <button class="button" type="button" on:click=move |_| on_cancel.run(())>"Cancel"</button> })}
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_read_however_they_are_separated() {
        assert_eq!(
            recipients("a@example.com\n b@example.com, c@example.com;d@example.com\n\n"),
            [
                "a@example.com",
                "b@example.com",
                "c@example.com",
                "d@example.com"
            ]
        );
        assert!(recipients("  \n").is_empty());
    }
}
