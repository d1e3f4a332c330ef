//! The app: session check at start-up, then the router.

use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::path;

use crate::api;
use crate::components::{NotBuilt, Shell, Spinner};
use crate::pages::{account, admin, alerts, explore, home, incidents, login, oncall, targets};
use crate::session::Session;
use crate::theme::provide_theme;

#[component]
pub fn App() -> impl IntoView {
    let session = Session::new();
    provide_context(session);
    provide_theme();

    // A session that cannot be renewed sends the user to the login page (the shell redirects
    // as soon as nobody is logged in, remembering where they were).
    api::on_session_lost(move || session.user.set(None));

    leptos::task::spawn_local(async move {
        match api::current_user().await {
            Ok(user) => session.user.set(user),
            Err(error) => leptos::logging::warn!("could not check the session: {error}"),
        }
        session.checked.set(true);
    });

    view! {
        <Router>
            <Show
                when=move || session.checked.get()
                fallback=|| view! { <div class="splash"><Spinner/><span>"Loading Vigil…"</span></div> }
            >
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/login") view=login::LoginPage/>
                    <ParentRoute path=path!("") view=Shell>
                        <Route path=path!("") view=home::HomePage/>
                        <Route path=path!("account") view=account::AccountPage/>
                        <Route
                            path=path!("dashboards")
                            view=|| view! { <NotBuilt title="Dashboards" purpose="Role-based dashboards of panels drawn from PromQL queries."/> }
                        />
                        <Route path=path!("explore") view=explore::ExplorePage/>
                        <Route path=path!("explore/targets") view=targets::TargetsPage/>
                        <ParentRoute path=path!("alerts") view=alerts::AlertsLayout>
                            <Route path=path!("") view=alerts::list::AlertsPage/>
                            <Route path=path!("rules") view=alerts::rules::RulesPage/>
                            <Route path=path!("rules/new") view=alerts::rule_form::RuleFormPage/>
                            <Route path=path!("rules/import") view=alerts::import::ImportRulesPage/>
                            <Route path=path!("silences") view=alerts::silences::SilencesPage/>
                            <Route path=path!("channels") view=alerts::channels::ChannelsPage/>
                            <Route path=path!("routing") view=alerts::routing::RoutingPage/>
                            <Route path=path!("rules/:id") view=alerts::rule_form::RuleFormPage/>
                        </ParentRoute>
                        <Route path=path!("incidents") view=incidents::list::IncidentsPage/>
                        <Route path=path!("incidents/new") view=incidents::new::NewIncidentPage/>
                        <Route path=path!("incidents/:id") view=incidents::detail::IncidentPage/>
                        <ParentRoute path=path!("oncall") view=oncall::OncallLayout>
                            <Route path=path!("") view=oncall::overview::OverviewPage/>
                            <Route path=path!("schedules") view=oncall::schedules::SchedulesPage/>
                            <Route path=path!("schedules/:id") view=oncall::schedule::SchedulePage/>
                            <Route path=path!("policies") view=oncall::policies::PoliciesPage/>
                            <Route path=path!("policies/:id") view=oncall::policy_form::PolicyPage/>
                        </ParentRoute>
                        <Route
                            path=path!("slos")
                            view=|| view! { <NotBuilt title="SLOs & Reports" purpose="Service level objectives, error budgets and SLA reports (PDF, CSV, JSON)."/> }
                        />
                        <Route
                            path=path!("traces")
                            view=|| view! { <NotBuilt title="Traces" purpose="Search traces and see their spans as a waterfall."/> }
                        />
                        <ParentRoute path=path!("admin") view=admin::AdminLayout>
                            <Route path=path!("") view=|| view! { <Redirect path="/admin/users"/> }/>
                            <Route path=path!("users") view=admin::users::UsersPage/>
                            <Route path=path!("teams") view=admin::teams::TeamsPage/>
                            <Route path=path!("api-keys") view=admin::api_keys::ApiKeysPage/>
                            <Route path=path!("audit-log") view=admin::audit_log::AuditLogPage/>
                        </ParentRoute>
                    </ParentRoute>
                </Routes>
            </Show>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    view! {
        <section class="page narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <a href="/">"Go to the home page"</a> "."</p>
        </section>
    }
}

/// Changes the address bar without navigating or adding a history entry: for a page whose
/// address should follow what it shows (a query typed on Explore, a rule just created).
pub fn replace_address(url: &str) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
}
