//! SLA reports (`/reports`, SPEC §9): pick a period, a time zone and services, read the report
//! on the page, and download the same report as PDF, CSV or JSON — plain links the browser
//! follows with the session cookie. Editors also schedule reports emailed every week or month.
//! The choices live in the address (`/reports?period=last-month&services=checkout&slos=3`),
//! so a report can be shared and the SLO page can link to its own.

mod period;
mod schedules;
mod view;

use std::collections::BTreeSet;

use chrono::{DurationRound, TimeDelta, Utc};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use vigil_shared::Role;
use vigil_shared::slo::SloList;

use self::period::{Period, custom_days, preset_days};
use crate::api::{self, ReportQuery};
use crate::components::{Loaded, replace_address};
use crate::session::use_session;
use crate::zone;

/// What the report is asked for, as chosen on the page.
#[derive(Clone, Copy)]
struct Choices {
    period: RwSignal<Period>,
    /// `YYYY-MM-DD`, for custom dates.
    from: RwSignal<String>,
    to: RwSignal<String>,
    time_zone: RwSignal<String>,
    services: RwSignal<BTreeSet<String>>,
    slos: RwSignal<Vec<i64>>,
}

impl Choices {
    /// The choices in the page's address, else this month in the browser's time zone.
    fn from_address() -> Self {
        let params = use_query_map();
        let param = |name: &str| params.with_untracked(|p| p.get(name)).unwrap_or_default();
        let list = |name: &str| -> Vec<String> {
            param(name)
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        Choices {
            period: RwSignal::new(Period::parse(&param("period")).unwrap_or(Period::ThisMonth)),
            from: RwSignal::new(param("from")),
            to: RwSignal::new(param("to")),
            time_zone: RwSignal::new(
                Some(param("tz"))
                    .filter(|tz| !tz.is_empty())
                    .unwrap_or_else(zone::browser_time_zone),
            ),
            services: RwSignal::new(list("services").into_iter().collect()),
            slos: RwSignal::new(list("slos").iter().filter_map(|s| s.parse().ok()).collect()),
        }
    }

    /// The page's address for these choices.
    fn address(&self) -> String {
        let period = self.period.get();
        let mut parts = vec![format!("period={}", period.param())];
        if period == Period::Custom {
            parts.push(format!("from={}", api::encode_component(&self.from.get())));
            parts.push(format!("to={}", api::encode_component(&self.to.get())));
        }
        parts.push(format!(
            "tz={}",
            api::encode_component(&self.time_zone.get())
        ));
        let services: Vec<String> = self
            .services
            .get()
            .iter()
            .map(|s| api::encode_component(s))
            .collect();
        if !services.is_empty() {
            parts.push(format!("services={}", services.join(",")));
        }
        let slos: Vec<String> = self.slos.get().iter().map(i64::to_string).collect();
        if !slos.is_empty() {
            parts.push(format!("slos={}", slos.join(",")));
        }
        format!("/reports?{}", parts.join("&"))
    }

    /// The report these choices ask for, or what is wrong with them: (field, why).
    fn query(&self) -> Result<ReportQuery, (&'static str, &'static str)> {
        let time_zone = self.time_zone.get().trim().to_owned();
        let today = zone::today_in(&time_zone).ok_or((
            "tz",
            "not a time zone the browser knows; write one such as Europe/Berlin or UTC",
        ))?;
        let (first, after_last) = match self.period.get() {
            Period::Custom => {
                let (first, after) = custom_days(&self.from.get(), &self.to.get())?;
                (first, Some(after))
            }
            preset => preset_days(preset, today),
        };
        let midnight = |day| zone::midnight_in(&time_zone, day).ok_or(("tz", "not a time zone"));
        let from = midnight(first)?;
        let to = match after_last {
            Some(day) => midnight(day)?,
            // This month so far: up to the last whole minute.
            None => Utc::now()
                .duration_trunc(TimeDelta::minutes(1))
                .unwrap_or_else(|_| Utc::now()),
        };
        Ok(ReportQuery {
            from,
            to,
            time_zone,
            services: self.services.get().into_iter().collect(),
            slos: self.slos.get(),
        })
    }
}

#[component]
pub fn ReportsPage() -> impl IntoView {
    let session = use_session();
    let choices = Choices::from_address();
    let query = Memo::new(move |_| choices.query());
    Effect::new(move |_| replace_address(&choices.address()));
    let report = LocalResource::new(move || {
        let query = query.get();
        async move {
            match query {
                Ok(query) => api::sla_report(&query).await.map(Some),
                Err(_) => Ok(None),
            }
        }
    });
    // The services and SLOs there are, for the pickers.
    let slo_list = LocalResource::new(api::list_slos);
    let slos = Signal::derive(move || {
        slo_list.get().and_then(Result::ok).unwrap_or(SloList {
            slos: Vec::new(),
            statuses: Vec::new(),
        })
    });
    let services = Signal::derive(move || {
        slos.with(|list| {
            list.slos
                .iter()
                .map(|s| s.slo.service.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
        })
    });
    let problem = move |field: &'static str| {
        move || match query.get() {
            Err((f, why)) if f == field => Some(why),
            _ => None,
        }
    };

    view! {
        <section class="page">
            <header class="page-header">
                <h1>"SLA reports"</h1>
            </header>
            <div class="card">
                <div class="filters" role="group" aria-label="Report settings">
                    <div class="field">
                        <label for="field-period">"Period"</label>
                        <select
                            id="field-period"
                            on:change=move |ev| choices.period.set(Period::parse(&event_target_value(&ev)).unwrap_or(Period::ThisMonth))
                            prop:value=move || choices.period.get().param()
                        >
                            {Period::ALL.iter().map(|(period, param, label)| {
                                let selected = choices.period.get_untracked() == *period;
                                view! { <option value=*param selected=selected>{*label}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                    <Show when=move || choices.period.get() == Period::Custom>
                        <div class="field" class:has-error=move || problem("from")().is_some()>
                            <label for="field-report-from">"First day"</label>
                            <input id="field-report-from" type="date" bind:value=choices.from/>
                            <p class="field-error">{problem("from")}</p>
                        </div>
                        <div class="field" class:has-error=move || problem("to")().is_some()>
                            <label for="field-report-to">"Last day"</label>
                            <input id="field-report-to" type="date" bind:value=choices.to/>
                            <p class="field-error">{problem("to")}</p>
                        </div>
                    </Show>
                    <div class="field" class:has-error=move || problem("tz")().is_some()>
                        <label for="field-report-tz">"Time zone"</label>
                        <input id="field-report-tz" type="text" bind:value=choices.time_zone autocomplete="off"/>
                        <p class="field-error">{problem("tz")}</p>
                    </div>
                    <ServicePicker services=services chosen=choices.services/>
                </div>
                <SloFilter chosen=choices.slos slos=slos/>
                {move || query.get().ok().map(|query| view! {
                    <div class="row-actions downloads" role="group" aria-label="Download">
                        <span class="muted">"Download:"</span>
                        <a class="button" href=api::sla_report_url(&query, "pdf") download>"PDF"</a>
                        <a class="button" href=api::sla_report_url(&query, "csv") download>"CSV"</a>
                        <a class="button" href=api::sla_report_url(&query, "json") download>"JSON"</a>
                    </div>
                })}
            </div>
            <Loaded resource=report what="the report" let:report>
                {report.map(view::report_view)}
            </Loaded>
            <Show when=move || session.can(Role::Editor)>
                <schedules::ReportSchedules services=services/>
            </Show>
        </section>
    }
}

/// Services to report on, ticked (none ticked: every service).
#[component]
fn ServicePicker(
    services: Signal<Vec<String>>,
    chosen: RwSignal<BTreeSet<String>>,
) -> impl IntoView {
    view! {
        <fieldset class="field service-picker">
            <legend>"Services"</legend>
            <div class="checkbox-row">
                {move || {
                    // Services named in the address but without an SLO still show, ticked.
                    let mut all: BTreeSet<String> = services.get().into_iter().collect();
                    all.extend(chosen.get());
                    all.into_iter().map(|service| {
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
                    }).collect_view()
                }}
            </div>
            <p class="field-hint">{move || if chosen.with(BTreeSet::is_empty) { "All services." } else { "Only the services ticked." }}</p>
        </fieldset>
    }
}

/// The SLOs the report is narrowed to (from an SLO's "Report for this SLO"), with a way back
/// to all of them.
#[component]
fn SloFilter(chosen: RwSignal<Vec<i64>>, slos: Signal<SloList>) -> impl IntoView {
    move || {
        let ids = chosen.get();
        (!ids.is_empty()).then(|| {
            let names: Vec<String> = ids
                .iter()
                .map(|id| {
                    slos.with(|list| {
                        list.slos
                            .iter()
                            .find(|s| s.id == *id)
                            .map_or_else(|| format!("SLO #{id}"), |s| s.slo.name.clone())
                    })
                })
                .collect();
            view! {
                <p class="slo-filter">
                    {format!("Only {}. ", names.join(", "))}
                    <button class="button small" type="button" on:click=move |_| chosen.set(Vec::new())>"All SLOs"</button>
                </p>
            }
        })
    }
}
