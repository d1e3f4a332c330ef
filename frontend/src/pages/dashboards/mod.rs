//! Dashboards (SPEC §6): finding them (the list, by title, tag and folder), building them (the
//! editor: settings, variables, the layout grid and each panel's editor with a live preview,
//! or the JSON model itself), importing Vigil's or Grafana's JSON, and their saved versions
//! (compared line by line, restored). Showing one dashboard is `pages::dashboards::view`.

mod diff;
pub mod editor;
pub mod import;
pub mod list;
pub mod versions;
pub mod view;

use leptos::prelude::*;
use vigil_shared::Role;

use crate::session::use_session;

/// Editing pages for editors only; others read why instead of a form they could not save.
#[component]
pub fn EditorsOnly(#[prop(into)] title: String, children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    move || {
        if session.can(Role::Editor) {
            children().into_any()
        } else {
            view! {
                <section class="page narrow">
                    <h1>{title.clone()}</h1>
                    <p class="banner banner-error">"Building and importing dashboards needs the editor role."</p>
                    <a href="/dashboards">"Back to dashboards"</a>
                </section>
            }
            .into_any()
        }
    }
}
