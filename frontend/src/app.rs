//! The app: session check at start-up, then the router.

use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::path;

use crate::api;
use crate::chunks::{self, lazy_page};
use crate::components::{NotBuilt, Shell, Spinner};
use crate::pages::{admin, alerts, home, login, oncall, slos};
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

    // Most visits go on to an incident: once someone is logged in, fetch that page's code
    // in the background so it shows at once.
    Effect::new(move |preloading: Option<bool>| {
        if preloading == Some(true) {
            return true;
        }
        let logged_in = session.user.with(Option::is_some);
        if logged_in {
            leptos::task::spawn_local(async {
                if let Err(error) = chunks::preload_incidents().await {
                    leptos::logging::warn!("could not fetch the incident pages' code: {error}");
                }
            });
        }
        logged_in
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
                        <Route path=path!("account") view=|| lazy_page(chunks::account)/>
                        <Route path=path!("dashboards") view=|| lazy_page(chunks::dashboard_list)/>
                        <Route path=path!("dashboards/new") view=|| lazy_page(chunks::new_dashboard)/>
                        <Route path=path!("dashboards/import") view=|| lazy_page(chunks::import_dashboard)/>
                        <Route path=path!("dashboards/:uid/edit") view=|| lazy_page(chunks::edit_dashboard)/>
                        <Route path=path!("dashboards/:uid/versions") view=|| lazy_page(chunks::dashboard_versions)/>
                        <Route path=path!("dashboards/:uid") view=|| lazy_page(chunks::dashboard)/>
                        <Route path=path!("explore") view=|| lazy_page(chunks::explore)/>
                        <Route path=path!("explore/targets") view=|| lazy_page(chunks::targets)/>
                        <ParentRoute path=path!("alerts") view=alerts::AlertsLayout>
                            <Route path=path!("") view=|| lazy_page(chunks::alerts_list)/>
                            <Route path=path!("rules") view=|| lazy_page(chunks::alert_rules)/>
                            <Route path=path!("rules/new") view=|| lazy_page(chunks::alert_rule_form)/>
                            <Route path=path!("rules/import") view=|| lazy_page(chunks::alert_rules_import)/>
                            <Route path=path!("silences") view=|| lazy_page(chunks::silences)/>
                            <Route path=path!("channels") view=|| lazy_page(chunks::channels)/>
                            <Route path=path!("routing") view=|| lazy_page(chunks::routing)/>
                            <Route path=path!("rules/:id") view=|| lazy_page(chunks::alert_rule_form)/>
                        </ParentRoute>
                        <Route path=path!("incidents") view=|| lazy_page(chunks::incidents_list)/>
                        <Route path=path!("incidents/new") view=|| lazy_page(chunks::new_incident)/>
                        <Route path=path!("incidents/:id") view=|| lazy_page(chunks::incident)/>
                        <ParentRoute path=path!("oncall") view=oncall::OncallLayout>
                            <Route path=path!("") view=|| lazy_page(chunks::oncall_overview)/>
                            <Route path=path!("schedules") view=|| lazy_page(chunks::schedules)/>
                            <Route path=path!("schedules/:id") view=|| lazy_page(chunks::schedule)/>
                            <Route path=path!("policies") view=|| lazy_page(chunks::escalation_policies)/>
                            <Route path=path!("policies/:id") view=|| lazy_page(chunks::escalation_policy)/>
                        </ParentRoute>
                        <ParentRoute path=path!("slos") view=slos::SlosLayout>
                            <Route path=path!("") view=|| lazy_page(chunks::slo_list)/>
                            <Route path=path!("new") view=|| lazy_page(chunks::slo_form)/>
                            <Route path=path!("maintenance") view=|| lazy_page(chunks::maintenance)/>
                            <Route path=path!(":id") view=|| lazy_page(chunks::slo)/>
                            <Route path=path!(":id/edit") view=|| lazy_page(chunks::slo_form)/>
                        </ParentRoute>
                        <Route path=path!("reports") view=|| lazy_page(chunks::reports)/>
                        <Route
                            path=path!("traces")
                            view=|| view! { <NotBuilt title="Traces" purpose="Search traces and see their spans as a waterfall."/> }
                        />
                        <ParentRoute path=path!("admin") view=admin::AdminLayout>
                            <Route path=path!("") view=|| view! { <Redirect path="/admin/users"/> }/>
                            <Route path=path!("users") view=|| lazy_page(chunks::users)/>
                            <Route path=path!("teams") view=|| lazy_page(chunks::teams)/>
                            <Route path=path!("api-keys") view=|| lazy_page(chunks::api_keys)/>
                            <Route path=path!("audit-log") view=|| lazy_page(chunks::audit_log)/>
                            <Route path=path!("home-dashboards") view=|| lazy_page(chunks::home_dashboards)/>
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
