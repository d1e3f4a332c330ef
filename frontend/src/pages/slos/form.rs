//! The SLO form (`/slos/new`, `/slos/{id}/edit`): service and owner, the SLI (events ratio,
//! latency under a bucket bound, or time slices), the objective and window, burn-rate alerts —
//! previewed over the last 30 days (after a pause in typing, or on "Preview") with the PromQL
//! the server will run, before saving. Server complaints show beside their fields and what
//! was typed stays.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};
use vigil_shared::Role;
use vigil_shared::slo::{Slo, SloQueries};

use super::fields::{SloText, WINDOWS, objective_value};
use super::preview::{PreviewState, SloPreviewCard};
use crate::api::{self, ApiError};
use crate::components::{
    CheckboxField, ErrorBanner, FieldErrors, FormState, Loaded, PromqlEditor, TextField,
    warn_before_leaving,
};
use crate::session::use_session;
use crate::zone;

/// The form's values, one signal per field (see [`SloText`] for what each holds).
#[derive(Clone, Copy)]
struct Fields {
    name: RwSignal<String>,
    service: RwSignal<String>,
    owner_team: RwSignal<String>,
    description: RwSignal<String>,
    labels: RwSignal<String>,
    kind: RwSignal<String>,
    counts_good: RwSignal<bool>,
    events: RwSignal<String>,
    total: RwSignal<String>,
    histogram: RwSignal<String>,
    threshold: RwSignal<String>,
    condition: RwSignal<String>,
    objective: RwSignal<String>,
    window: RwSignal<String>,
    duration: RwSignal<String>,
    time_zone: RwSignal<String>,
    burn_alerts: RwSignal<bool>,
    min_events: RwSignal<String>,
}

impl Fields {
    fn new(text: SloText) -> Self {
        Fields {
            name: RwSignal::new(text.name),
            service: RwSignal::new(text.service),
            owner_team: RwSignal::new(text.owner_team),
            description: RwSignal::new(text.description),
            labels: RwSignal::new(text.labels),
            kind: RwSignal::new(text.kind),
            counts_good: RwSignal::new(text.counts_good),
            events: RwSignal::new(text.events),
            total: RwSignal::new(text.total),
            histogram: RwSignal::new(text.histogram),
            threshold: RwSignal::new(text.threshold),
            condition: RwSignal::new(text.condition),
            objective: RwSignal::new(text.objective),
            window: RwSignal::new(text.window),
            duration: RwSignal::new(text.duration),
            time_zone: RwSignal::new(text.time_zone),
            burn_alerts: RwSignal::new(text.burn_alerts),
            min_events: RwSignal::new(text.min_events),
        }
    }

    /// What is typed now (tracked: a memo or effect reading it follows every field).
    fn text(&self) -> SloText {
        SloText {
            name: self.name.get(),
            service: self.service.get(),
            owner_team: self.owner_team.get(),
            description: self.description.get(),
            labels: self.labels.get(),
            kind: self.kind.get(),
            counts_good: self.counts_good.get(),
            events: self.events.get(),
            total: self.total.get(),
            histogram: self.histogram.get(),
            threshold: self.threshold.get(),
            condition: self.condition.get(),
            objective: self.objective.get(),
            window: self.window.get(),
            duration: self.duration.get(),
            time_zone: self.time_zone.get(),
            burn_alerts: self.burn_alerts.get(),
            min_events: self.min_events.get(),
        }
    }
}

/// Where complaints about fields come from: found before sending, from saving, or from the
/// preview.
#[derive(Clone, Copy)]
struct Complaints {
    form: FormState,
    preview: RwSignal<Option<ApiError>>,
}

impl Complaints {
    /// The complaint to show beside a field the server may call by any of `names`.
    fn beside(&self, names: &'static [&'static str]) -> Signal<Option<String>> {
        let Complaints { form, preview } = *self;
        Signal::derive(move || {
            let of = |e: &Option<ApiError>| {
                e.as_ref()
                    .and_then(|e| names.iter().find_map(|n| e.field(n)))
            };
            form.problems
                .with(|p| names.iter().find_map(|n| p.get(*n).cloned()))
                .or_else(|| form.error.with(of))
                .or_else(|| preview.with(of))
        })
    }
}

/// Every field name the form shows a complaint beside; the server's complaints about any
/// other name are listed above the form, so none goes unseen.
const SHOWN_FIELDS: [&str; 19] = [
    "name",
    "service",
    "owner_team_id",
    "description",
    "labels",
    "sli",
    "sli.good",
    "sli.bad",
    "sli.total",
    "sli.histogram",
    "sli.threshold",
    "sli.condition",
    "objective",
    "window",
    "window.duration",
    "window.time_zone",
    "window.unit",
    "burn_alerts",
    "min_events",
];

#[component]
pub fn SloFormPage() -> impl IntoView {
    let params = use_params_map();
    let id = params.with_untracked(|p| p.get("id").and_then(|id| id.parse::<i64>().ok()));
    match id {
        None => view! { <SloForm slo=None/> }.into_any(),
        Some(id) => {
            let slo = LocalResource::new(move || api::get_slo(id));
            view! {
                <Loaded resource=slo what="the SLO" let:slo>
                    <SloForm slo=Some(slo)/>
                </Loaded>
            }
            .into_any()
        }
    }
}

#[component]
fn SloForm(slo: Option<Slo>) -> impl IntoView {
    let session = use_session();
    let can_edit = move || session.can(Role::Editor);
    let navigate = StoredValue::new_local(use_navigate());
    let slo_id = slo.as_ref().map(|s| s.id);
    let saved_queries: Option<SloQueries> = slo.as_ref().map(|s| s.queries.clone());
    let initial = match &slo {
        Some(slo) => SloText::of(&slo.slo, zone::browser_time_zone()),
        None => SloText::new(zone::browser_time_zone()),
    };
    let fields = Fields::new(initial.clone());
    let dirty = Memo::new(move |_| fields.text() != initial);
    warn_before_leaving(dirty, "This SLO has unsaved changes. Leave without saving?");

    let form = FormState::new();
    let preview = PreviewState::new();
    let field = Complaints {
        form,
        preview: preview.error,
    };
    let unshown = move || {
        let mut listed = Vec::new();
        for error in [form.error.get(), preview.error.get()]
            .into_iter()
            .flatten()
        {
            for (name, why) in error.fields {
                if !SHOWN_FIELDS.contains(&name.as_str()) {
                    listed.push(format!("{name}: {why}"));
                }
            }
        }
        listed
    };

    // The preview: after a pause in typing, for what the SLI, objective and window say now.
    let generation = StoredValue::new(0_u64);
    // The generation of the newest preview asked for, which alone says when it is done.
    let newest_run = StoredValue::new(0_u64);
    let run_preview = move |problems_beside_fields: bool| {
        // The preview is about the SLI, objective and window: labels and alert settings not
        // yet right do not stop it.
        let text = SloText {
            labels: String::new(),
            min_events: "0".to_owned(),
            ..fields.text_untracked()
        };
        let mut request = match text.request(zone::is_time_zone) {
            Ok(request) => request,
            Err(problems) => {
                if problems_beside_fields {
                    form.problems.set(problems);
                }
                return;
            }
        };
        if problems_beside_fields {
            form.problems.set(Default::default());
        }
        // A name and service may come later.
        if request.name.is_empty() {
            request.name = "preview".to_owned();
        }
        if request.service.is_empty() {
            request.service = "preview".to_owned();
        }
        generation.update_value(|g| *g += 1);
        let this_run = generation.get_value();
        newest_run.set_value(this_run);
        preview.running.set(true);
        leptos::task::spawn_local(async move {
            let answer = api::preview_slo(&request).await;
            // `try_`: the user may have left the form meanwhile.
            if newest_run.try_get_value() == Some(this_run) {
                preview.running.set(false);
            }
            // Typed since: a newer preview is coming (or the SLI is no longer complete).
            if generation.try_get_value() != Some(this_run) {
                return;
            }
            match answer {
                Ok(answer) => {
                    preview.error.set(None);
                    preview.answer.set(Some(answer));
                }
                Err(error) => {
                    preview.answer.set(None);
                    preview.error.set(Some(error));
                }
            }
        });
    };
    let preview_key = Memo::new(move |_| {
        let t = fields.text();
        (
            t.sli_written(),
            [
                t.kind,
                t.counts_good.to_string(),
                t.events,
                t.total,
                t.histogram,
                t.threshold,
                t.condition,
                t.objective,
                t.window,
                t.duration,
                t.time_zone,
            ],
        )
    });
    Effect::new(move |_| {
        let (written, _) = preview_key.get();
        generation.update_value(|g| *g += 1);
        let this_change = generation.get_value();
        if !written {
            return;
        }
        set_timeout(
            move || {
                if generation.try_get_value() == Some(this_change) {
                    run_preview(false);
                }
            },
            std::time::Duration::from_millis(800),
        );
    });
    let ready = Signal::derive(move || preview_key.with(|(written, _)| *written));
    let objective = Signal::derive(move || fields.objective.with(|o| objective_value(o)));

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let request = match fields.text_untracked().request(zone::is_time_zone) {
            Ok(request) => request,
            Err(problems) => return form.problems.set(problems),
        };
        form.submit(
            async move { api::save_slo(slo_id, &request).await },
            // Saved: on to its page (unless the user has left the form meanwhile).
            move |slo| {
                let _ = navigate
                    .try_with_value(|n| n(&format!("/slos/{}", slo.id), Default::default()));
            },
        );
    };
    let title = move || match slo_id {
        Some(_) => format!("Edit SLO: {}", fields.name.get()),
        None => "New SLO".to_owned(),
    };
    let cancel = slo_id.map_or_else(|| "/slos".to_owned(), |id| format!("/slos/{id}"));

    view! {
        <form class="rule-form slo-form" aria-label="SLO" on:submit=submit novalidate=true>
            <div class="card-header">
                <h2>{title}</h2>
                <Show when=move || dirty.get() && can_edit()>
                    <span class="badge" role="status">"Unsaved changes"</span>
                </Show>
            </div>
            <ErrorBanner error=form.general()/>
            <FieldErrors errors=Signal::derive(unshown)/>
            {move || (!can_edit()).then(|| view! { <p class="banner">"You can read this SLO; changing it needs the editor role."</p> })}
            <fieldset class="form-fieldset" disabled=move || !can_edit()>
                <AboutCard fields=fields field=field/>
                <SliCard fields=fields field=field/>
                <ObjectiveCard fields=fields field=field/>
                <SloPreviewCard
                    state=preview
                    objective=objective
                    saved_queries=saved_queries
                    ready=ready
                    on_preview=Callback::new(move |()| run_preview(true))
                />
            </fieldset>
            <Show when=can_edit>
                <div class="form-actions sticky-actions">
                    <button class="button primary" type="submit" disabled=move || form.pending.get()>
                        {move || if form.pending.get() { "Saving…" } else { "Save SLO" }}
                    </button>
                    <a class="button" href=cancel.clone()>"Cancel"</a>
                </div>
            </Show>
        </form>
    }
}

impl Fields {
    fn text_untracked(&self) -> SloText {
        untrack(|| self.text())
    }
}

/// The name, service, owner, description and labels.
#[component]
fn AboutCard(fields: Fields, field: Complaints) -> impl IntoView {
    // Services offered: the `job`s the server has series of.
    let services =
        LocalResource::new(|| async { api::label_values("job", None).await.unwrap_or_default() });
    let teams = LocalResource::new(|| async {
        let mut options = vec![(String::new(), "No owner".to_owned())];
        if let Ok(list) = api::team_directory().await {
            options.extend(list.teams.into_iter().map(|t| (t.id.to_string(), t.name)));
        }
        options
    });
    let service_error = field.beside(&["service"]);
    let labels_error = field.beside(&["labels"]);
    let team_error = field.beside(&["owner_team_id"]);
    view! {
        <div class="card">
            <h3>"SLO"</h3>
            <div class="form-grid">
                <TextField label="Name" name="name" value=fields.name error=field.beside(&["name"]) required=true placeholder="Checkout availability"/>
                <div class="field" class:has-error=move || service_error.get().is_some()>
                    <label for="field-service">"Service"</label>
                    <input id="field-service" name="service" list="slo-services" bind:value=fields.service placeholder="checkout" autocomplete="off"/>
                    <datalist id="slo-services">
                        {move || services.get().unwrap_or_default().into_iter().map(|s| view! { <option value=s></option> }).collect_view()}
                    </datalist>
                    <p class="field-error">{move || service_error.get()}</p>
                </div>
                <div class="field" class:has-error=move || team_error.get().is_some()>
                    <label for="field-owner-team">"Owner team"</label>
                    <select
                        id="field-owner-team"
                        on:change=move |ev| fields.owner_team.set(event_target_value(&ev))
                        prop:value=move || fields.owner_team.get()
                    >
                        {move || teams.get().unwrap_or_default().into_iter().map(|(id, name)| {
                            let selected = fields.owner_team.get_untracked() == id;
                            view! { <option value=id selected=selected>{name}</option> }
                        }).collect_view()}
                    </select>
                    <p class="field-error">{move || team_error.get()}</p>
                </div>
                <TextField label="Description" name="description" value=fields.description error=field.beside(&["description"])/>
            </div>
            <div class="field" class:has-error=move || labels_error.get().is_some()>
                <label for="field-labels">"Labels (one name=value per line)"</label>
                <textarea id="field-labels" rows="2" bind:value=fields.labels placeholder="tier=1"></textarea>
                <p class="field-error">{move || labels_error.get()}</p>
            </div>
        </div>
    }
}

/// A radio button bound to a text signal.
#[component]
fn Radio(
    group: &'static str,
    value: &'static str,
    #[prop(into)] label: String,
    chosen: RwSignal<String>,
) -> impl IntoView {
    let id = format!("field-{group}-{value}");
    let label_for = id.clone();
    view! {
        <label class="checkbox" for=label_for>
            <input
                id=id
                type="radio"
                name=group
                value=value
                prop:checked=move || chosen.get() == value
                on:change=move |_| chosen.set(value.to_owned())
            />
            <span>{label}</span>
        </label>
    }
}

/// What counts as good: the kind of SLI and its queries.
#[component]
fn SliCard(fields: Fields, field: Complaints) -> impl IntoView {
    let sli_error = field.beside(&["sli"]);
    let counted = RwSignal::new(if fields.counts_good.get_untracked() {
        "good".to_owned()
    } else {
        "bad".to_owned()
    });
    Effect::new(move |_| fields.counts_good.set(counted.get() == "good"));
    let no_run = Callback::new(|()| {});
    let events = move || {
        let error = field.beside(&["sli.good", "sli.bad"]);
        if fields.counts_good.get() {
            view! { <PromqlEditor value=fields.events on_run=no_run error=error id="field-sli-events" label="Good events selector" placeholder="http_requests_total{job=\"checkout\", status!~\"5..\"}"/> }
        } else {
            view! { <PromqlEditor value=fields.events on_run=no_run error=error id="field-sli-events" label="Bad events selector" placeholder="http_requests_total{job=\"checkout\", status=~\"5..\"}"/> }
        }
    };
    view! {
        <div class="card">
            <h3>"What counts as good (SLI)"</h3>
            <fieldset class="field radio-row" class:has-error=move || sli_error.get().is_some()>
                <legend>"Kind of SLI"</legend>
                <Radio group="sli-kind" value="events" label="Events ratio" chosen=fields.kind/>
                <Radio group="sli-kind" value="latency" label="Latency" chosen=fields.kind/>
                <Radio group="sli-kind" value="time_slices" label="Time slices" chosen=fields.kind/>
                <p class="field-error">{move || sli_error.get()}</p>
            </fieldset>
            {move || match fields.kind.get().as_str() {
                "latency" => view! { <LatencyFields fields=fields field=field/> }.into_any(),
                "time_slices" => view! {
                    <p class="muted">"The share of minutes in which the condition returns a result; a minute without one is bad."</p>
                    <PromqlEditor value=fields.condition on_run=no_run error=field.beside(&["sli.condition"]) id="field-sli-condition" label="Condition" placeholder="up{job=\"checkout\"} == 1"/>
                }.into_any(),
                _ => view! {
                    <p class="muted">"Counters, which the server sums and counts the increase of. Pick the selector that is easier to write: the good events, or the bad ones."</p>
                    <fieldset class="field radio-row">
                        <legend>"The selector counts"</legend>
                        <Radio group="sli-counts" value="good" label="good events" chosen=counted/>
                        <Radio group="sli-counts" value="bad" label="bad events" chosen=counted/>
                    </fieldset>
                    {events}
                    <PromqlEditor value=fields.total on_run=no_run error=field.beside(&["sli.total"]) id="field-sli-total" label="Total events selector" placeholder="http_requests_total{job=\"checkout\"}"/>
                }.into_any(),
            }}
        </div>
    }
}

/// A latency SLI: the histogram, and a threshold among the bucket bounds it has.
#[component]
fn LatencyFields(fields: Fields, field: Complaints) -> impl IntoView {
    let bounds = RwSignal::new(None::<Vec<String>>);
    let generation = StoredValue::new(0_u64);
    Effect::new(move |_| {
        let histogram = fields.histogram.get();
        generation.update_value(|g| *g += 1);
        let this_change = generation.get_value();
        set_timeout(
            move || {
                if generation.try_get_value() != Some(this_change) {
                    return;
                }
                leptos::task::spawn_local(async move {
                    let found = api::histogram_bounds(&histogram).await.unwrap_or_default();
                    if generation.try_get_value() == Some(this_change) {
                        bounds.set(Some(found));
                    }
                });
            },
            std::time::Duration::from_millis(400),
        );
    });
    let threshold_error = field.beside(&["sli.threshold"]);
    let options = move || {
        let mut found = bounds.get().unwrap_or_default();
        let chosen = fields.threshold.get();
        if !chosen.is_empty() && !found.contains(&chosen) {
            found.insert(0, chosen);
        }
        found
    };
    let hint = move || match bounds.get() {
        None => "The bucket bounds load once the histogram is written.",
        Some(found) if found.is_empty() => {
            "No buckets found for this histogram: check its name and labels."
        }
        Some(_) => "Requests at or under this bound (le) count as good.",
    };
    view! {
        <p class="muted">"The share of requests faster than a threshold, from a histogram's buckets."</p>
        <PromqlEditor value=fields.histogram on_run=Callback::new(|()| {}) error=field.beside(&["sli.histogram"]) id="field-sli-histogram" label="Histogram" placeholder="http_request_duration_seconds{job=\"payments\"}"/>
        <div class="field" class:has-error=move || threshold_error.get().is_some()>
            <label for="field-sli-threshold">"Threshold (seconds)"</label>
            <select
                id="field-sli-threshold"
                on:change=move |ev| fields.threshold.set(event_target_value(&ev))
                prop:value=move || fields.threshold.get()
            >
                <option value="">"Pick a bucket bound"</option>
                {move || options().into_iter().map(|bound| {
                    let label = bound_label(&bound);
                    let selected = fields.threshold.get_untracked() == bound;
                    view! { <option value=bound selected=selected>{label}</option> }
                }).collect_view()}
            </select>
            <p class="field-hint">{hint}</p>
            <p class="field-error">{move || threshold_error.get()}</p>
        </div>
    }
}

/// A bucket bound as people read it: `0.25 s (250 ms)`.
fn bound_label(bound: &str) -> String {
    match bound.parse::<f64>() {
        Ok(seconds) if seconds < 1.0 => format!("{bound} s ({} ms)", (seconds * 1000.0).round()),
        _ => format!("{bound} s"),
    }
}

/// The objective, the window and the burn-rate alerts.
#[component]
fn ObjectiveCard(fields: Fields, field: Complaints) -> impl IntoView {
    let window_error = field.beside(&["window", "window.unit"]);
    view! {
        <div class="card">
            <h3>"Objective and window"</h3>
            <div class="form-grid">
                <TextField label="Objective (%)" name="objective" value=fields.objective error=field.beside(&["objective"]) placeholder="99.9" hint="The share of good events (or minutes) to reach, e.g. 99.9."/>
                <div class="field" class:has-error=move || window_error.get().is_some()>
                    <label for="field-window">"Window"</label>
                    <select
                        id="field-window"
                        on:change=move |ev| fields.window.set(event_target_value(&ev))
                        prop:value=move || fields.window.get()
                    >
                        {WINDOWS.iter().map(|(value, label)| {
                            let selected = fields.window.get_untracked() == *value;
                            view! { <option value=*value selected=selected>{*label}</option> }
                        }).collect_view()}
                    </select>
                    <p class="field-error">{move || window_error.get()}</p>
                </div>
                {move || match fields.window.get().as_str() {
                    "custom" => Some(view! {
                        <TextField label="Duration" name="window.duration" value=fields.duration error=field.beside(&["window.duration"]) placeholder="14d" hint="From 1h to 400d."/>
                    }.into_any()),
                    "month" | "quarter" => Some(view! {
                        <TextField label="Time zone" name="window.time_zone" value=fields.time_zone error=field.beside(&["window.time_zone"]) hint="Where the month or quarter starts, e.g. Europe/Berlin."/>
                    }.into_any()),
                    _ => None,
                }}
            </div>
            <div class="form-grid">
                <div>
                    <CheckboxField label="Burn-rate alerts" name="burn_alerts" checked=fields.burn_alerts/>
                    <p class="field-hint">"Page at 14.4× (1h & 5m) and 6× (6h & 30m); ticket at 3× (1d & 2h) and 1× (3d & 6h)."</p>
                </div>
                <TextField label="Minimum events" name="min_events" value=fields.min_events error=field.beside(&["min_events"]) hint="Burn alerts stay quiet while the long window saw fewer events."/>
            </div>
        </div>
    }
}
