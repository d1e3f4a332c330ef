//! The user's own account: details, their home dashboard, the contact methods escalations
//! page them through, and changing their password.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vigil_shared::auth::ChangePasswordRequest;
use vigil_shared::contact::{ContactMethod, ContactMethodRequest};
use vigil_shared::dashboard::{DashboardSummary, HomeDashboard, OwnHomeDashboard};
use vigil_shared::notify::DeliveryStatus;

use crate::api::{self, ApiError, ApiResult, DashboardFilter};
use crate::components::{ErrorBanner, FormState, Loaded, Notice, SelectField, TextField};
use crate::session::use_session;

#[component]
pub fn AccountPage() -> impl IntoView {
    let session = use_session();
    let current = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let form = FormState::new();
    let saved = RwSignal::new(false);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        let request = ChangePasswordRequest {
            current_password: current.get_untracked(),
            new_password: new_password.get_untracked(),
        };
        form.submit(
            async move { api::change_password(&request).await },
            move |()| {
                saved.set(true);
                current.set(String::new());
                new_password.set(String::new());
            },
        );
    };

    view! {
        <section class="page narrow">
            <header class="page-header"><h1>"Account"</h1></header>
            <div class="card">
                {move || session.user.get().map(|u| view! {
                    <dl class="facts">
                        <dt>"Email"</dt><dd>{u.email}</dd>
                        <dt>"Name"</dt><dd>{u.display_name}</dd>
                        <dt>"Role"</dt><dd><span class="badge">{u.role.to_string()}</span></dd>
                        <dt>"Teams"</dt>
                        <dd>{if u.teams.is_empty() { "none".to_owned() } else { u.teams.iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(", ") }}</dd>
                    </dl>
                })}
            </div>
            <MyHomeDashboard/>
            <ContactMethods/>
            <form class="card" on:submit=submit>
                <h2>"Change password"</h2>
                <ErrorBanner error=form.general()/>
                <Show when=move || saved.get()>
                    <div class="banner banner-ok" role="status">"Password changed. Your other sessions were logged out."</div>
                </Show>
                <TextField label="Current password" name="current_password" value=current input_type="password"
                    autocomplete="current-password" error=form.field("current_password")/>
                <TextField label="New password" name="new_password" value=new_password input_type="password"
                    autocomplete="new-password" error=form.field("new_password") hint="At least 8 characters."/>
                <button class="button primary" type="submit" disabled=move || form.pending.get()>"Change password"</button>
            </form>
        </section>
    }
}

/// The dashboard this user lands on: their own choice, or (none chosen) their team's or
/// role's.
#[component]
fn MyHomeDashboard() -> impl IntoView {
    let loaded = LocalResource::new(|| async { home_and_dashboards().await });
    view! {
        <div class="card">
            <h2>"My home dashboard"</h2>
            <Loaded resource=loaded what="dashboards" let:answer>
                <HomeChoice home=answer.0 dashboards=answer.1/>
            </Loaded>
        </div>
    }
}

async fn home_and_dashboards() -> ApiResult<(HomeDashboard, Vec<DashboardSummary>)> {
    let home = api::my_home_dashboard().await?;
    let dashboards = api::list_dashboards(&DashboardFilter::default()).await?;
    Ok((home, dashboards))
}

#[component]
fn HomeChoice(home: HomeDashboard, dashboards: Vec<DashboardSummary>) -> impl IntoView {
    let chosen = match (&home.dashboard, home.chosen_by.as_str()) {
        (Some(dashboard), "user") => dashboard.id.to_string(),
        _ => String::new(),
    };
    let followed = match (&home.dashboard, home.chosen_by.as_str()) {
        (Some(dashboard), "team" | "role") => {
            format!("Follow my team and role (now {})", dashboard.title)
        }
        _ => "Follow my team and role".to_owned(),
    };
    let pick = RwSignal::new(chosen);
    let form = FormState::new();
    let saved = RwSignal::new(false);
    let options = std::iter::once((String::new(), followed))
        .chain(dashboards.into_iter().map(|d| (d.id.to_string(), d.title)))
        .collect();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        let request = OwnHomeDashboard {
            dashboard_id: pick.get_untracked().parse().ok(),
        };
        form.submit(
            async move { api::set_own_home_dashboard(&request).await },
            move |()| saved.set(true),
        );
    };
    view! {
        <form class="inline-form" aria-label="My home dashboard" on:submit=submit novalidate=true>
            <SelectField label="Home dashboard" name="dashboard_id" value=pick options=options error=form.field("dashboard_id")/>
            <button class="button" type="submit" disabled=move || form.pending.get()>"Save"</button>
        </form>
        <ErrorBanner error=form.general()/>
        <Show when=move || saved.get()>
            <div class="banner banner-ok" role="status">"Home dashboard saved."</div>
        </Show>
    }
}

/// Where escalations page this user besides the app: email addresses and webhooks, each with
/// a test message to check it works.
#[component]
fn ContactMethods() -> impl IntoView {
    let methods = LocalResource::new(api::my_contact_methods);
    let notice = RwSignal::new(None::<Result<String, ApiError>>);
    let kind = RwSignal::new("email".to_owned());
    let address = RwSignal::new(String::new());
    let label = RwSignal::new(String::new());
    let form = FormState::new();

    let add = move |ev: SubmitEvent| {
        ev.prevent_default();
        let request = ContactMethodRequest {
            kind: kind.get_untracked(),
            address: address.get_untracked(),
            label: label.get_untracked(),
        };
        form.submit(
            async move { api::add_contact_method(&request).await },
            move |method| {
                address.set(String::new());
                label.set(String::new());
                notice.set(Some(Ok(format!("Added {}.", method.address))));
                methods.refetch();
            },
        );
    };
    let changed = Callback::new(move |outcome: Result<String, ApiError>| {
        notice.set(Some(outcome));
        methods.refetch();
    });

    view! {
        <div class="card">
            <h2>"Contact methods"</h2>
            <p class="muted">"When an escalation policy pages you, Vigil notifies you in the app and at each of these."</p>
            <Notice notice=notice/>
            <Loaded resource=methods what="contact methods" let:list>
                {match list {
                    list if list.methods.is_empty() => view! { <p class="muted">"None yet: only in-app notifications."</p> }.into_any(),
                    list => view! {
                        <table class="table" aria-label="Contact methods">
                            <thead><tr><th>"Kind"</th><th>"Address"</th><th>"Label"</th><th></th></tr></thead>
                            <tbody>
                                {list.methods.into_iter().map(|m| view! { <ContactMethodRow method=m on_change=changed/> }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }}
            </Loaded>
            <form class="inline-form" aria-label="New contact method" on:submit=add novalidate=true>
                <SelectField label="Kind" name="kind" value=kind error=form.field("kind")
                    options=vec![("email".to_owned(), "Email".to_owned()), ("webhook".to_owned(), "Webhook".to_owned())]/>
                <TextField label="Address" name="address" value=address error=form.field("address")
                    placeholder="you@example.com or https://…"/>
                <TextField label="Label (optional)" name="label" value=label error=form.field("label")/>
                <button class="button" type="submit" disabled=move || form.pending.get()>"Add"</button>
            </form>
            <ErrorBanner error=form.general()/>
        </div>
    }
}

#[component]
fn ContactMethodRow(
    method: ContactMethod,
    on_change: Callback<Result<String, ApiError>>,
) -> impl IntoView {
    let id = method.id;
    let address = method.address.clone();
    let test = move |_| {
        leptos::task::spawn_local(async move {
            let outcome =
                api::test_contact_method(id)
                    .await
                    .and_then(|d| match d.delivery.status {
                        DeliveryStatus::Sent => Ok(format!("Test message sent to {}.", d.address)),
                        DeliveryStatus::Pending => Ok(format!(
                            "Test message to {} queued; it will be retried.",
                            d.address
                        )),
                        DeliveryStatus::Failed => Err(ApiError {
                            status: 200,
                            code: "delivery_failed".to_owned(),
                            message: format!(
                                "The test message to {} failed: {}",
                                d.address,
                                d.delivery.last_error.unwrap_or_default()
                            ),
                            fields: Default::default(),
                        }),
                    });
            on_change.run(outcome);
        });
    };
    let remove = move |_| {
        let address = address.clone();
        leptos::task::spawn_local(async move {
            let outcome = api::remove_contact_method(id)
                .await
                .map(|()| format!("Removed {address}."));
            on_change.run(outcome);
        });
    };
    view! {
        <tr>
            <td>{method.kind.as_str()}</td>
            <td><code>{method.address.clone()}</code></td>
            <td>{method.label.clone()}</td>
            <td class="row-actions">
                <button class="button small" type="button" on:click=test>"Send test"</button>
                <button class="button small danger" type="button" on:click=remove>"Remove"</button>
            </td>
        </tr>
    }
}
