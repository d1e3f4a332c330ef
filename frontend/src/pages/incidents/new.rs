//! Opening an incident by hand (responders): something is wrong that no alert caught. It
//! escalates by the policy chosen here like any other incident.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use vigil_shared::Role;
use vigil_shared::alerting::Severity;
use vigil_shared::incident::IncidentRequest;

use crate::api;
use crate::components::{ErrorBanner, FormState, SelectField, TextField};
use crate::session::use_session;

#[component]
pub fn NewIncidentPage() -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let title = RwSignal::new(String::new());
    let severity = RwSignal::new("warning".to_owned());
    let service = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let policy = RwSignal::new(String::new());
    let policies = LocalResource::new(api::escalation_policy_names);
    let form = FormState::new();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let request = IncidentRequest {
            title: title.get_untracked(),
            description: description.get_untracked(),
            severity: Severity::parse(&severity.get_untracked()),
            service: service.get_untracked(),
            escalation_policy_id: policy.get_untracked().parse().ok(),
            ..Default::default()
        };
        let navigate = navigate.clone();
        form.submit(
            async move { api::open_incident(&request).await },
            move |opened| {
                navigate(
                    &format!("/incidents/{}", opened.incident.id),
                    Default::default(),
                );
            },
        );
    };

    view! {
        <section class="page narrow">
            <header class="page-header"><h1>"New incident"</h1></header>
            <p><a href="/incidents">"← All incidents"</a></p>
            <Show
                when=move || session.can(Role::Responder)
                fallback=|| view! { <p class="banner banner-error">"Opening incidents takes the responder role."</p> }
            >
                <form class="card form-grid" aria-label="New incident" on:submit=submit.clone() novalidate=true>
                    <ErrorBanner error=form.general()/>
                    <TextField label="Title" name="title" value=title error=form.field("title") required=true placeholder="Checkout pages load slowly"/>
                    <SelectField
                        label="Severity"
                        name="severity"
                        value=severity
                        options=[Severity::Critical, Severity::Warning, Severity::Info].map(|s| (s.as_str().to_owned(), s.as_str().to_owned())).to_vec()
                        error=form.field("severity")
                    />
                    <TextField label="Service" name="service" value=service error=form.field("service") placeholder="checkout"/>
                    <div class="field" class:has-error=move || form.field("escalation_policy_id").get().is_some()>
                        <label for="field-escalation_policy_id">"Escalation policy"</label>
                        <select id="field-escalation_policy_id" on:change=move |ev| policy.set(event_target_value(&ev)) prop:value=move || policy.get()>
                            <option value="">"None (nobody is paged)"</option>
                            {move || policies.get().and_then(Result::ok).map(|list| list.into_iter().map(|p| view! {
                                <option value=p.id.to_string()>{p.name}</option>
                            }).collect_view())}
                        </select>
                        <p class="field-error">{move || form.field("escalation_policy_id").get()}</p>
                    </div>
                    <div class="field">
                        <label for="field-description">"Description"</label>
                        <textarea id="field-description" rows="4" bind:value=description placeholder="What is wrong, who is affected"></textarea>
                    </div>
                    <div class="form-actions">
                        <button class="button primary" type="submit" disabled=move || form.pending.get()>"Open incident"</button>
                    </div>
                </form>
            </Show>
        </section>
    }
}
