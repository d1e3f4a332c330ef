//! Pages whose code is not in the main WebAssembly module but in chunks downloaded the first
//! time one of their pages is shown, so that what every visit downloads stays small while the
//! app grows (SPEC §12: ≤ 600 KB gzip).
//!
//! Each function below is a split point: `#[wasm_split(group)]` puts it, and whatever only
//! the functions of its group use, into the chunk `group`; code that several groups use goes
//! into shared chunks loaded with them. `cargo xtask build-web` does the splitting. A function
//! hands back how to draw its page, whose code lives in the chunk. Natively (unit tests) and
//! in an unsplit build they are plain calls.
//!
//! The groups follow the areas of the navigation: one chunk per area rather than per page,
//! so that moving between the tabs of an area downloads nothing more.

use std::future::Future;

use leptos::prelude::*;
use wasm_split_helpers::{SplitLoaderError, wasm_split};

use crate::components::Loading;
use crate::pages::{
    account, admin, alerts, dashboards, explore, incidents, oncall, reports, slos, targets,
};

/// Draws a page; its code is in a chunk that has been loaded.
pub type PageView = fn() -> AnyView;

/// A page from a chunk: "Loading the page…" while the chunk downloads, then the page, or
/// what went wrong with a way to try again (a failed download is not remembered).
pub fn lazy_page<F>(load: impl Fn() -> F + Copy + Send + Sync + 'static) -> AnyView
where
    F: Future<Output = Result<PageView, SplitLoaderError>> + 'static,
{
    // `None` while loading; the error itself is logged (it is not `Send`).
    let page = RwSignal::new(None::<Result<PageView, ()>>);
    let fetch = move || {
        page.set(None);
        leptos::task::spawn_local(async move {
            let loaded = load().await.map_err(|error| {
                leptos::logging::error!("could not load the page's code: {error}");
            });
            // The user may have left the page meanwhile.
            let _ = page.try_set(Some(loaded));
        });
    };
    fetch();
    (move || match page.get() {
        None => view! { <Loading what="the page"/> }.into_any(),
        Some(Ok(draw)) => draw(),
        Some(Err(())) => view! {
            <section class="page narrow">
                <div class="banner banner-error" role="alert">
                    "This page could not be loaded. Check your connection and try again."
                </div>
                <button class="button" on:click=move |_| fetch()>"Try again"</button>
            </section>
        }
        .into_any(),
    })
    .into_any()
}

// Alerting: alerts, rules, silences, channels and routing.

#[wasm_split(alerts, fallible)]
pub fn alerts_list() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <alerts::list::AlertsPage/> }.into_any())
}

#[wasm_split(alerts, fallible)]
pub fn alert_rules() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <alerts::rules::RulesPage/> }.into_any())
}

#[wasm_split(alerts, fallible)]
pub fn alert_rule_form() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <alerts::rule_form::RuleFormPage/> }.into_any())
}

#[wasm_split(alerts, fallible)]
pub fn alert_rules_import() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <alerts::import::ImportRulesPage/> }.into_any())
}

#[wasm_split(alerts, fallible)]
pub fn silences() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <alerts::silences::SilencesPage/> }.into_any())
}

#[wasm_split(alerts, fallible)]
pub fn channels() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <alerts::channels::ChannelsPage/> }.into_any())
}

#[wasm_split(alerts, fallible)]
pub fn routing() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <alerts::routing::RoutingPage/> }.into_any())
}

// Dashboards: one dashboard's page and the home page's dashboard, the list, the editor,
// importing, and versions.

#[wasm_split(dashboards, fallible)]
pub fn dashboard() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <dashboards::view::DashboardPage/> }.into_any())
}

#[wasm_split(dashboards, fallible)]
pub fn home_dashboard() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <dashboards::view::HomeDashboardPage/> }.into_any())
}

#[wasm_split(dashboards, fallible)]
pub fn dashboard_list() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <dashboards::list::DashboardListPage/> }.into_any())
}

#[wasm_split(dashboards, fallible)]
pub fn new_dashboard() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <dashboards::editor::NewDashboardPage/> }.into_any())
}

#[wasm_split(dashboards, fallible)]
pub fn edit_dashboard() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <dashboards::editor::EditDashboardPage/> }.into_any())
}

#[wasm_split(dashboards, fallible)]
pub fn import_dashboard() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <dashboards::import::ImportPage/> }.into_any())
}

#[wasm_split(dashboards, fallible)]
pub fn dashboard_versions() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <dashboards::versions::VersionsPage/> }.into_any())
}

// Incidents: the list, declaring one, and an incident's page. Most visits go on to an incident,
// so the app fetches this chunk once it is up (`preload_incidents`).

#[wasm_split(incidents, fallible, preload(preload_incidents))]
pub fn incidents_list() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <incidents::list::IncidentsPage/> }.into_any())
}

#[wasm_split(incidents, fallible)]
pub fn new_incident() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <incidents::new::NewIncidentPage/> }.into_any())
}

#[wasm_split(incidents, fallible)]
pub fn incident() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <incidents::detail::IncidentPage/> }.into_any())
}

// On-call: the overview, schedules and escalation policies.

#[wasm_split(oncall, fallible)]
pub fn oncall_overview() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <oncall::overview::OverviewPage/> }.into_any())
}

#[wasm_split(oncall, fallible)]
pub fn schedules() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <oncall::schedules::SchedulesPage/> }.into_any())
}

#[wasm_split(oncall, fallible)]
pub fn schedule() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <oncall::schedule::SchedulePage/> }.into_any())
}

#[wasm_split(oncall, fallible)]
pub fn escalation_policies() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <oncall::policies::PoliciesPage/> }.into_any())
}

#[wasm_split(oncall, fallible)]
pub fn escalation_policy() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <oncall::policy_form::PolicyPage/> }.into_any())
}

// SLOs: the list, one SLO's page, the form, and maintenance windows.

#[wasm_split(slos, fallible)]
pub fn slo_list() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <slos::list::SloListPage/> }.into_any())
}

#[wasm_split(slos, fallible)]
pub fn slo() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <slos::detail::SloPage/> }.into_any())
}

#[wasm_split(slos, fallible)]
pub fn slo_form() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <slos::form::SloFormPage/> }.into_any())
}

#[wasm_split(slos, fallible)]
pub fn maintenance() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <slos::maintenance::MaintenancePage/> }.into_any())
}

// SLA reports and their schedules.

#[wasm_split(reports, fallible)]
pub fn reports() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <reports::ReportsPage/> }.into_any())
}

// Admin: users, teams, API keys, the audit log and home dashboards.

#[wasm_split(admin, fallible)]
pub fn users() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <admin::users::UsersPage/> }.into_any())
}

#[wasm_split(admin, fallible)]
pub fn teams() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <admin::teams::TeamsPage/> }.into_any())
}

#[wasm_split(admin, fallible)]
pub fn api_keys() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <admin::api_keys::ApiKeysPage/> }.into_any())
}

#[wasm_split(admin, fallible)]
pub fn audit_log() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <admin::audit_log::AuditLogPage/> }.into_any())
}

#[wasm_split(admin, fallible)]
pub fn home_dashboards() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <admin::home_dashboards::HomeDashboardsPage/> }.into_any())
}

// Explore: queries and charts, and the scrape targets.

#[wasm_split(explore, fallible)]
pub fn explore() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <explore::ExplorePage/> }.into_any())
}

#[wasm_split(explore, fallible)]
pub fn targets() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <targets::TargetsPage/> }.into_any())
}

// The user's own account.

#[wasm_split(account, fallible)]
pub fn account() -> Result<PageView, SplitLoaderError> {
    Ok(|| view! { <account::AccountPage/> }.into_any())
}
