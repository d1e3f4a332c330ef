//! One schedule (`/oncall/schedules/new`, `/oncall/schedules/{id}`): its rotation in a form
//! (editors change it, others read it), who is on call now, a calendar of the coming weeks
//! with overrides marked, and the overrides themselves.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};
use vigil_shared::schedule::{
    OverrideList, OverrideRequest, Rotation, Schedule, ScheduleRequest, Shift,
};

use super::{
    Directory, browser_time_zone, day_label, esc, from_local_input, html_block, is_editor,
    load_html, local_input, midnights, on_call_html, use_directory, when,
};
use crate::api::{self, ApiError};
use crate::components::{
    ErrorBanner, FormState, Loaded, Notice, SelectField, TextField, confirm, replace_address,
};

/// Time zones offered as one types (any IANA name is accepted).
const TIME_ZONES: [&str; 30] = [
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Amsterdam",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Kyiv",
    "Europe/Istanbul",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "America/Mexico_City",
    "America/Sao_Paulo",
    "Africa/Johannesburg",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Australia/Sydney",
    "Pacific/Auckland",
];

/// `/oncall/schedules/{id}`, and `/oncall/schedules/new` (any id that is not a number).
#[component]
pub fn SchedulePage() -> impl IntoView {
    let params = use_params_map();
    move || match params.with(|p| p.get("id").and_then(|id| id.parse::<i64>().ok())) {
        None => view! { <ScheduleForm schedule=None/> }.into_any(),
        Some(id) => {
            let schedule = LocalResource::new(move || api::get_schedule(id));
            view! {
                <Loaded resource=schedule what="the schedule" let:schedule>
                    <ScheduleForm schedule=Some(schedule)/>
                </Loaded>
            }
            .into_any()
        }
    }
}

#[component]
fn ScheduleForm(schedule: Option<Schedule>) -> impl IntoView {
    let editor = is_editor();
    let directory = use_directory();
    let navigate = StoredValue::new_local(use_navigate());
    let schedule_id = RwSignal::new(schedule.as_ref().map(|s| s.id));
    let start = schedule.map(|s| s.schedule);
    let text = |f: fn(&ScheduleRequest) -> String, default: String| {
        RwSignal::new(start.as_ref().map_or(default, f))
    };
    let name = text(|s| s.name.clone(), String::new());
    let description = text(|s| s.description.clone(), String::new());
    let timezone = text(|s| s.timezone.clone(), browser_time_zone());
    let rotation = text(|s| s.rotation.as_str().to_owned(), "weekly".to_owned());
    let shift_hours = text(
        |s| s.shift_hours.map(|h| h.to_string()).unwrap_or_default(),
        "12".to_owned(),
    );
    let start_date = text(
        |s| s.start_date.to_string(),
        local_input(&Utc::now()).chars().take(10).collect(),
    );
    let handoff_time = text(|s| s.handoff_time.clone(), "09:00".to_owned());
    let participants = RwSignal::new(start.map(|s| s.participants).unwrap_or_default());
    // Bumped after each change, so that who is on call and the calendar are asked again.
    let version = RwSignal::new(0_u32);

    let form = FormState::new();
    let notice = RwSignal::new(None::<Result<String, ApiError>>);
    let field = move |name: &'static str| form.field(name);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        let Ok(date) = start_date.get_untracked().trim().parse::<NaiveDate>() else {
            return form.refuse("start_date", "pick a date");
        };
        let rotation = match rotation.get_untracked().as_str() {
            "daily" => Rotation::Daily,
            "custom" => Rotation::Custom,
            _ => Rotation::Weekly,
        };
        let hours = match rotation {
            Rotation::Custom => match shift_hours.get_untracked().trim().parse::<u32>() {
                Ok(hours) => Some(hours),
                Err(_) => return form.refuse("shift_hours", "write a whole number of hours"),
            },
            _ => None,
        };
        let request = ScheduleRequest {
            name: name.get_untracked().trim().to_owned(),
            description: description.get_untracked(),
            timezone: timezone.get_untracked().trim().to_owned(),
            rotation,
            shift_hours: hours,
            start_date: date,
            handoff_time: handoff_time.get_untracked().trim().to_owned(),
            participants: participants.get_untracked(),
        };
        let id = schedule_id.get_untracked();
        form.submit(
            async move { api::save_schedule(id, &request).await },
            move |saved| {
                notice.set(Some(Ok(format!("Saved schedule {}.", saved.name))));
                if schedule_id.get_untracked().is_none() {
                    schedule_id.set(Some(saved.id));
                    replace_address(&format!("/oncall/schedules/{}", saved.id));
                }
                version.update(|v| *v += 1);
            },
        );
    };
    let delete = move |_| {
        let Some(id) = schedule_id.get_untracked() else {
            return;
        };
        if !confirm(&format!("Delete the schedule {}?", name.get_untracked())) {
            return;
        }
        form.submit(async move { api::delete_schedule(id).await }, move |()| {
            navigate.with_value(|n| n("/oncall/schedules", Default::default()))
        });
    };

    view! {
        <form class="card" aria-label="Schedule" on:submit=submit novalidate=true>
            <h2>{move || match schedule_id.get() {
                Some(_) => format!("Schedule: {}", name.get()),
                None => "New schedule".to_owned(),
            }}</h2>
            <Notice notice=notice/>
            <ErrorBanner error=form.general()/>
            {(!editor).then(|| view! { <p class="banner">"You can read this schedule; changing it needs the editor role."</p> })}
            <fieldset class="form-fieldset" disabled=!editor>
                <div class="form-grid">
                    <TextField label="Name" name="name" value=name error=field("name")/>
                    <TextField label="Description" name="description" value=description error=field("description")/>
                    <div class="field" class:has-error=move || field("timezone").get().is_some()>
                        <label for="field-timezone">"Time zone"</label>
                        <input id="field-timezone" list="time-zones" bind:value=timezone aria-describedby="field-timezone-error"/>
                        <datalist id="time-zones">
                            {TIME_ZONES.iter().map(|z| view! { <option value=*z></option> }).collect_view()}
                        </datalist>
                        <p class="field-hint">"An IANA name such as Europe/Berlin; handoffs follow its clock."</p>
                        <p class="field-error" id="field-timezone-error">{move || field("timezone").get()}</p>
                    </div>
                    <SelectField
                        label="Rotation"
                        name="rotation"
                        value=rotation
                        error=field("rotation")
                        options=vec![
                            ("daily".to_owned(), "Daily".to_owned()),
                            ("weekly".to_owned(), "Weekly".to_owned()),
                            ("custom".to_owned(), "Custom shift length".to_owned()),
                        ]
                    />
                    {move || (rotation.get() == "custom").then(|| view! {
                        <TextField label="Shift length (hours)" name="shift_hours" value=shift_hours error=field("shift_hours")/>
                    })}
                    <TextField label="Start date" name="start_date" input_type="date" value=start_date error=field("start_date") hint="The day of the first handoff."/>
                    <TextField label="Handoff time" name="handoff_time" input_type="time" value=handoff_time error=field("handoff_time")/>
                </div>
                <Participants chosen=participants error=field("participants") editor=editor/>
            </fieldset>
            {editor.then(|| view! {
                <div class="form-actions">
                    <button class="button primary" type="submit" disabled=move || form.pending.get()>
                        {move || if form.pending.get() { "Saving…" } else { "Save schedule" }}
                    </button>
                    <a class="button" href="/oncall/schedules">"Back to schedules"</a>
                    {move || schedule_id.get().map(|_| view! {
                        <button class="button danger" type="button" on:click=delete>"Delete schedule"</button>
                    })}
                </div>
            })}
        </form>
        {move || schedule_id.get().map(|id| {
            let on_call = load_html(move || {
                version.track();
                async move {
                    api::on_call_now(id)
                        .await
                        .map(|shift| on_call_html(&directory, &shift))
                }
            });
            view! {
            <div class="card">
                <h2>"On call now"</h2>
                {html_block(on_call, "who is on call")}
            </div>
            <Calendar schedule_id=id version=version/>
            <Overrides schedule_id=id version=version editor=editor/>
            }
        })}
    }
}

/// A `<select>` of the people one may pick; its value is a user id (empty: nobody chosen).
#[component]
fn PersonSelect(id: &'static str, value: RwSignal<String>) -> impl IntoView {
    let directory = use_directory();
    view! {
        <select id=id on:change=move |ev| value.set(event_target_value(&ev)) prop:value=move || value.get()>
            <option value="">"Choose a person…"</option>
            {move || directory.people().into_iter().map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
        </select>
    }
}

/// The rotation order: the first person takes the first shift. Editors add, remove and move.
#[component]
fn Participants(
    chosen: RwSignal<Vec<i64>>,
    error: Signal<Option<String>>,
    editor: bool,
) -> impl IntoView {
    let directory = use_directory();
    let pick = RwSignal::new(String::new());
    let add = move |_| {
        if let Ok(id) = pick.get_untracked().parse::<i64>() {
            chosen.update(|c| c.push(id));
            pick.set(String::new());
        }
    };
    let swap = move |i: usize, j: usize| chosen.update(|c| c.swap(i, j));
    view! {
        <div class="field" class:has-error=move || error.get().is_some()>
            <span class="field-label" id="participants-label">"Participants, in rotation order"</span>
            <ol class="ordered-list" aria-labelledby="participants-label">
                {move || {
                    let people = chosen.get();
                    let last = people.len().saturating_sub(1);
                    people.into_iter().enumerate().map(|(i, id)| {
                        let who = directory.person(id);
                        view! {
                            <li>
                                <span>{who.clone()}</span>
                                {editor.then(|| view! {
                                    <span class="row-actions">
                                        <button class="button small" type="button" disabled={i == 0} aria-label=format!("Move {who} up") on:click=move |_| swap(i, i.saturating_sub(1))>"↑"</button>
                                        <button class="button small" type="button" disabled={i == last} aria-label=format!("Move {who} down") on:click=move |_| swap(i, i + 1)>"↓"</button>
                                        <button class="button small danger" type="button" aria-label=format!("Remove {who}") on:click=move |_| chosen.update(|c| { c.remove(i); })>"Remove"</button>
                                    </span>
                                })}
                            </li>
                        }
                    }).collect_view()
                }}
            </ol>
            {move || chosen.with(Vec::is_empty).then(|| view! { <p class="muted">"Nobody yet."</p> })}
            {editor.then(|| view! {
                <div class="inline-form">
                    <div class="field">
                        <label for="field-add-participant">"Add a participant"</label>
                        <PersonSelect id="field-add-participant" value=pick/>
                    </div>
                    <button class="button" type="button" on:click=add>"Add participant"</button>
                </div>
            })}
            <p class="field-error">{move || error.get()}</p>
        </div>
    }
}

/// The coming weeks, one row per day of the viewer's calendar, each a 24-hour bar showing who
/// is on call when; overrides are striped and say so.
#[component]
fn Calendar(schedule_id: i64, version: RwSignal<u32>) -> impl IntoView {
    let directory = use_directory();
    let weeks = RwSignal::new("2".to_owned());
    let shifts = load_html(move || {
        version.track();
        let days = weeks.get().parse::<u32>().unwrap_or(2) * 7;
        async move {
            let bounds = midnights(days);
            let at = |ms: f64| DateTime::from_timestamp_millis(ms as i64).unwrap_or_default();
            let (from, to) = (at(bounds[0]), at(bounds[bounds.len() - 1]));
            api::schedule_shifts(schedule_id, from, to)
                .await
                .map(|list| calendar_html(&directory, &bounds, &list.shifts))
        }
    });
    view! {
        <section class="card" aria-label="On-call calendar">
            <div class="card-header">
                <h2>"Calendar"</h2>
                <SelectField
                    label="Show"
                    name="calendar-weeks"
                    value=weeks
                    options=vec![("2".to_owned(), "2 weeks".to_owned()), ("4".to_owned(), "4 weeks".to_owned())]
                />
            </div>
            <p class="muted calendar-legend">"Times in your time zone. " <span class="badge override-badge">"override"</span></p>
            {html_block(shifts, "the calendar")}
        </section>
    }
}

/// The calendar's rows: for each day (between consecutive local midnights in `bounds`), a bar
/// with a block per shift placed by time of day, and a line at the current time.
fn calendar_html(directory: &Directory, bounds: &[f64], shifts: &[Shift]) -> String {
    let now = Utc::now().timestamp_millis() as f64;
    let mut html =
        "<div class=\"calendar\"><div class=\"calendar-hours\" aria-hidden=\"true\"><span></span>\
        <span>00:00</span><span>06:00</span><span>12:00</span><span>18:00</span></div>"
            .to_owned();
    for day in bounds.windows(2) {
        let (start, end) = (day[0], day[1]);
        let percent = |ms: f64| (ms.clamp(start, end) - start) / (end - start) * 100.0;
        let _ = write!(
            html,
            "<div class=\"calendar-day\"><span class=\"calendar-date\">{}</span><div class=\"calendar-bar\">",
            esc(&day_label(start))
        );
        for s in shifts {
            let (from, to) = (
                s.starts_at.timestamp_millis() as f64,
                s.ends_at.timestamp_millis() as f64,
            );
            if from >= end || to <= start {
                continue;
            }
            let who = esc(&directory.person(s.user_id));
            let (class, mark) = if s.is_override {
                (" override", " (override)")
            } else {
                ("", "")
            };
            let _ = write!(
                html,
                "<div class=\"shift person-{}{class}\" style=\"left:{:.2}%;width:{:.2}%\" title=\"{who}: {} – {}{mark}\">{who}{mark}</div>",
                s.user_id.rem_euclid(6),
                percent(from),
                percent(to) - percent(from),
                esc(&when(&s.starts_at)),
                esc(&when(&s.ends_at)),
            );
        }
        if (start..end).contains(&now) {
            let _ = write!(
                html,
                "<div class=\"now-line\" style=\"left:{:.2}%\" title=\"now\"></div>",
                percent(now)
            );
        }
        html.push_str("</div></div>");
    }
    html + "</div>"
}

/// The overrides as a table; editors get a Remove button on each (see [`Overrides`]).
fn overrides_table(directory: &Directory, list: &OverrideList, editor: bool) -> String {
    if list.overrides.is_empty() {
        return "<p class=\"muted\">No current or coming overrides.</p>".to_owned();
    }
    let mut html =
        "<table class=\"table\" aria-label=\"Overrides\"><thead><tr><th>Who</th><th>From</th>\
        <th>Until</th><th></th></tr></thead><tbody>"
            .to_owned();
    for o in &list.overrides {
        let who = esc(&directory.person(o.user_id));
        let _ = write!(
            html,
            "<tr><td>{who}</td><td>{}</td><td>{}</td><td>",
            esc(&when(&o.starts_at)),
            esc(&when(&o.ends_at))
        );
        if editor {
            let _ = write!(
                html,
                "<button class=\"button small danger\" type=\"button\" data-override=\"{}\" aria-label=\"Remove the override for {who}\">Remove</button>",
                o.id
            );
        }
        html.push_str("</td></tr>");
    }
    html + "</tbody></table>"
}

/// Overrides that have not ended: editors add (someone else on call for a while) and remove.
#[component]
fn Overrides(schedule_id: i64, version: RwSignal<u32>, editor: bool) -> impl IntoView {
    let directory = use_directory();
    let overrides = load_html(move || {
        version.track();
        async move {
            api::list_overrides(schedule_id)
                .await
                .map(|list| overrides_table(&directory, &list, editor))
        }
    });
    let notice = RwSignal::new(None::<Result<String, ApiError>>);
    let changed = move |result: Result<String, ApiError>| {
        notice.set(Some(result));
        version.update(|v| *v += 1);
    };

    let remove = move |ev: leptos::ev::MouseEvent| {
        use wasm_bindgen::JsCast;
        let Some(id) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("[data-override]").ok().flatten())
            .and_then(|e| e.get_attribute("data-override"))
            .and_then(|id| id.parse::<i64>().ok())
        else {
            return;
        };
        leptos::task::spawn_local(async move {
            changed(
                api::delete_override(schedule_id, id)
                    .await
                    .map(|()| "Removed the override.".to_owned()),
            );
        });
    };

    let who = RwSignal::new(String::new());
    let now = Utc::now();
    let from = RwSignal::new(local_input(&now));
    let to = RwSignal::new(local_input(&(now + TimeDelta::hours(8))));
    let form = FormState::new();
    let field = move |name: &'static str| form.field(name);
    let add = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Ok(user_id) = who.get_untracked().parse::<i64>() else {
            return form.refuse("user_id", "choose who is on call");
        };
        let Some(starts_at) = from_local_input(&from.get_untracked()) else {
            return form.refuse("starts_at", "pick a date and time");
        };
        let Some(ends_at) = from_local_input(&to.get_untracked()) else {
            return form.refuse("ends_at", "pick a date and time");
        };
        let request = OverrideRequest {
            user_id,
            starts_at,
            ends_at,
        };
        form.submit(
            async move { api::create_override(schedule_id, &request).await.map(drop) },
            move |()| {
                changed(Ok(format!(
                    "Added an override for {}.",
                    directory.person(user_id)
                )))
            },
        );
    };

    view! {
        <div class="card">
            <h2>"Overrides"</h2>
            <p class="muted">"Someone else on call for a while, whatever the rotation says; the newest override wins where they overlap."</p>
            <Notice notice=notice/>
            // The table is HTML text; its Remove buttons are heard here, as their clicks bubble.
            <div on:click=remove>{html_block(overrides, "overrides")}</div>
            {editor.then(|| view! {
                <form class="override-form" aria-label="New override" on:submit=add novalidate=true>
                    <h3>"Add an override"</h3>
                    <ErrorBanner error=form.general()/>
                    <div class="form-grid">
                        <div class="field" class:has-error=move || field("user_id").get().is_some()>
                            <label for="field-override-user">"Who"</label>
                            <PersonSelect id="field-override-user" value=who/>
                            <p class="field-error">{move || field("user_id").get()}</p>
                        </div>
                        <TextField label="From" name="starts_at" input_type="datetime-local" value=from error=field("starts_at")/>
                        <TextField label="Until" name="ends_at" input_type="datetime-local" value=to error=field("ends_at")/>
                    </div>
                    <div class="form-actions">
                        <button class="button primary" type="submit" disabled=move || form.pending.get()>"Add override"</button>
                    </div>
                </form>
            })}
        </div>
    }
}
