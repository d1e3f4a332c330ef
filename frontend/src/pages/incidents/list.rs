//! The incident list: filtered by status (with a count per status), severity, service, words,
//! assignee ("assigned to me" among them), team and period, sorted, paged, exported as CSV — and live: incidents opened or changed
//! anywhere show without reloading. The filters live in the address, so a view can be shared.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use vigil_shared::Role;
use vigil_shared::incident::{
    Incident, IncidentAction, IncidentActionRequest, IncidentList, IncidentStatus,
};

use super::StatusBadge;
use crate::api::{self, ApiError, IncidentFilter};
use crate::components::{Loaded, Notice, SEVERITY_FILTER, SeverityBadge, replace_address};
use crate::format;
use crate::live::live_events;
use crate::session::use_session;

const PERIODS: [(&str, &str); 4] = [
    ("", "Any time"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
];

const SORTS: [(&str, &str); 4] = [
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("severity", "Most severe first"),
    ("updated", "Recently changed"),
];

/// The status tabs: what the page calls them and how many each has, from the list's counts.
fn status_tabs(list: Option<&IncidentList>) -> [(&'static str, &'static str, Option<i64>); 5] {
    let count = |f: fn(&IncidentList) -> i64| list.map(f);
    [
        ("open", "Open", count(|l| l.triggered + l.acknowledged)),
        ("triggered", "Triggered", count(|l| l.triggered)),
        ("acknowledged", "Acknowledged", count(|l| l.acknowledged)),
        ("resolved", "Resolved", count(|l| l.resolved)),
        (
            "all",
            "All",
            count(|l| l.triggered + l.acknowledged + l.resolved),
        ),
    ]
}

#[component]
pub fn IncidentsPage() -> impl IntoView {
    let session = use_session();
    let params = use_query_map();
    let param = move |name: &str| params.with_untracked(|p| p.get(name)).unwrap_or_default();
    let status = RwSignal::new(
        Some(param("status"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "open".to_owned()),
    );
    let severity = RwSignal::new(param("severity"));
    let service = RwSignal::new(param("service"));
    let text = RwSignal::new(param("q"));
    let mine = RwSignal::new(param("mine") == "true");
    let assignee = RwSignal::new(param("assignee"));
    let team = RwSignal::new(param("team"));
    let period = RwSignal::new(param("period"));
    let sort = RwSignal::new(
        Some(param("sort"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "newest".to_owned()),
    );
    let page = RwSignal::new(param("page").parse::<u32>().unwrap_or(1).max(1));

    let filter = Memo::new(move |_| IncidentFilter {
        status: status.get(),
        severity: severity.get(),
        service: service.get(),
        text: text.get(),
        mine: mine.get(),
        assignee: assignee.get(),
        team: team.get(),
        period: period.get(),
        sort: sort.get(),
        page: page.get(),
    });

    let incidents = LocalResource::new(move || {
        let filter = for_api(filter.get());
        async move { api::list_incidents(&filter).await }
    });
    let notice = RwSignal::new(None::<Result<String, ApiError>>);
    // The address follows the filters.
    Effect::new(move |_| {
        let mut shown = filter.get();
        if shown.status == "open" {
            shown.status.clear();
        }
        if shown.sort == "newest" {
            shown.sort.clear();
        }
        let query = shown.query();
        replace_address(&if query.is_empty() {
            "/incidents".to_owned()
        } else {
            format!("/incidents?{query}")
        });
    });
    live_events(&["incident"], move |_| incidents.refetch());

    // Any change of filter starts again at the first page.
    let set = move |signal: RwSignal<String>, value: String| {
        signal.set(value);
        page.set(1);
    };
    let acknowledged = Callback::new(move |outcome: Result<String, ApiError>| {
        notice.set(Some(outcome));
        incidents.refetch();
    });
    let people = LocalResource::new(api::user_directory);
    let teams = LocalResource::new(api::team_directory);
    let counts = move || incidents.with(|r| status_tabs(r.as_ref().and_then(|r| r.as_ref().ok())));

    view! {
        <section class="page">
            <header class="page-header">
                <h1>"Incidents"</h1>
                <div class="row-actions">
                    <a class="button" href=move || api::incidents_csv_url(&for_api(filter.get())) download="incidents.csv">"Export CSV"</a>
                    <Show when=move || session.can(Role::Responder)>
                        <a class="button primary" href="/incidents/new">"New incident"</a>
                    </Show>
                </div>
            </header>
            <div class="status-tabs" role="group" aria-label="Status">
                {move || counts().into_iter().map(|(value, label, count)| {
                    let text = match count {
                        Some(n) => format!("{label} {n}"),
                        None => label.to_owned(),
                    };
                    view! {
                        <button
                            type="button"
                            class="status-tab"
                            aria-pressed=move || (status.get() == value).to_string()
                            on:click=move |_| set(status, value.to_owned())
                        >{text}</button>
                    }
                }).collect_view()}
            </div>
            <div class="card filters" role="search" aria-label="Filter incidents">
                <div class="field">
                    <label for="field-incident-q">"Search"</label>
                    <input id="field-incident-q" type="search" placeholder="Words in the title"
                        prop:value=move || text.get() on:change=move |ev| set(text, event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label for="field-incident-service">"Service"</label>
                    <input id="field-incident-service" type="text" placeholder="Any service"
                        prop:value=move || service.get() on:change=move |ev| set(service, event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label for="field-incident-severity">"Severity"</label>
                    <select id="field-incident-severity" prop:value=move || severity.get()
                        on:change=move |ev| set(severity, event_target_value(&ev))>
                        {SEVERITY_FILTER.iter().map(|(value, label)| view! { <option value=*value>{*label}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="field-incident-sort">"Order"</label>
                    <select id="field-incident-sort" prop:value=move || sort.get()
                        on:change=move |ev| set(sort, event_target_value(&ev))>
                        {SORTS.iter().map(|(value, label)| view! { <option value=*value>{*label}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="field-incident-assignee">"Assignee"</label>
                    <select id="field-incident-assignee" prop:value=move || assignee.get()
                        on:change=move |ev| { mine.set(false); set(assignee, event_target_value(&ev)); }>
                        <option value="">"Anyone"</option>
                        {move || people.get().and_then(Result::ok).map(|list| list.users.into_iter().map(|u| {
                            let id = u.id.to_string();
                            // Options arrive after the select's value is set: each knows if it is the one.
                            let chosen = assignee.get_untracked() == id;
                            view! { <option value=id selected=chosen>{u.display_name}</option> }
                        }).collect_view())}
                    </select>
                </div>
                <div class="field">
                    <label for="field-incident-team">"Team"</label>
                    <select id="field-incident-team" prop:value=move || team.get()
                        on:change=move |ev| set(team, event_target_value(&ev))>
                        <option value="">"Any team"</option>
                        {move || teams.get().and_then(Result::ok).map(|list| list.teams.into_iter().map(|t| {
                            let id = t.id.to_string();
                            let chosen = team.get_untracked() == id;
                            view! { <option value=id selected=chosen>{t.name}</option> }
                        }).collect_view())}
                    </select>
                </div>
                <div class="field">
                    <label for="field-incident-period">"Triggered"</label>
                    <select id="field-incident-period" prop:value=move || period.get()
                        on:change=move |ev| set(period, event_target_value(&ev))>
                        {PERIODS.iter().map(|(value, label)| view! { <option value=*value>{*label}</option> }).collect_view()}
                    </select>
                </div>
                <label class="checkbox" for="field-incident-mine">
                    <input id="field-incident-mine" type="checkbox" prop:checked=move || mine.get()
                        on:change=move |ev| {
                            mine.set(event_target_checked(&ev));
                            assignee.set(String::new());
                            page.set(1);
                        }/>
                    <span>"My incidents"</span>
                </label>
                <p class="muted live-note" aria-live="polite">
                    <span class="live-dot" aria-hidden="true"></span>
                    {move || incidents.with(Option::is_some).then_some("Live: updates as incidents change.")}
                </p>
            </div>
            <Notice notice=notice/>
            <div class="card">
                <Loaded resource=incidents what="incidents" let:list>
                    {match list {
                        list if list.incidents.is_empty() => view! {
                            <p class="muted empty-state">"No incidents match."</p>
                        }.into_any(),
                        list => {
                            let first = (page.get_untracked() - 1) * IncidentFilter::PER_PAGE;
                            let shown = list.incidents.len() as u32;
                            let more = i64::from(first + shown) < list.total;
                            view! {
                                <table class="table incidents-table" aria-label="Incidents">
                                    <thead><tr>
                                        <th>"Severity"</th><th>"Incident"</th><th>"Status"</th><th>"Assignee"</th>
                                        <th>"Level"</th><th>"Alerts"</th><th>"Triggered"</th><th></th>
                                    </tr></thead>
                                    <tbody>
                                        {list.incidents.into_iter().map(|incident| view! {
                                            <IncidentRow incident=incident on_acknowledged=acknowledged/>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                <div class="pager">
                                    <span class="muted">{format!("{}–{} of {}", first + 1, first + shown, list.total)}</span>
                                    <button class="button small" type="button" disabled=first == 0
                                        on:click=move |_| page.update(|p| *p = p.saturating_sub(1).max(1))>"Previous"</button>
                                    <button class="button small" type="button" disabled=!more
                                        on:click=move |_| page.update(|p| *p += 1)>"Next"</button>
                                </div>
                            }.into_any()
                        }
                    }}
                </Loaded>
            </div>
        </section>
    }
}

/// The page's filter as the API takes it: the "all" tab is no status filter.
fn for_api(mut f: IncidentFilter) -> IncidentFilter {
    if f.status == "all" {
        f.status.clear();
    }
    f
}

#[component]
fn IncidentRow(
    incident: Incident,
    on_acknowledged: Callback<Result<String, ApiError>>,
) -> impl IntoView {
    let session = use_session();
    let id = incident.id;
    let triggered = incident.status == IncidentStatus::Triggered;
    let busy = RwSignal::new(false);
    let acknowledge = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let outcome = api::act_on_incident(
                id,
                IncidentAction::Acknowledge,
                &IncidentActionRequest::default(),
            )
            .await
            .map(|_| format!("Incident #{id} acknowledged."));
            busy.set(false);
            on_acknowledged.run(outcome);
        });
    };
    let alerts = if incident.alert_count == 0 {
        "—".to_owned()
    } else {
        format!(
            "{} firing of {}",
            incident.firing_count, incident.alert_count
        )
    };
    let level = if incident.level == 0 {
        "—".to_owned()
    } else {
        incident.level.to_string()
    };
    view! {
        <tr class=format!("severity-row-{}", incident.severity.as_str())>
            <td><SeverityBadge severity=incident.severity/></td>
            <td>
                <a href=format!("/incidents/{id}")>{format!("#{id} {}", incident.title)}</a>
                <div class="muted small">{incident.service.clone()}</div>
            </td>
            <td><StatusBadge status=incident.status/></td>
            <td>{incident.assignee.clone().unwrap_or_else(|| "—".to_owned())}</td>
            <td>{level}</td>
            <td>{alerts}</td>
            <td title=format::time(&incident.triggered_at)>{format::ago(&incident.triggered_at)}</td>
            <td>
                <Show when=move || triggered && session.can(Role::Responder)>
                    <button class="button small" type="button" disabled=move || busy.get()
                        aria-label=format!("Acknowledge incident #{id}") on:click=acknowledge>"Acknowledge"</button>
                </Show>
            </td>
        </tr>
    }
}
