//! The user's own account: details and changing their password.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vigil_shared::auth::ChangePasswordRequest;

use crate::api::{self, ApiError};
use crate::components::{ErrorBanner, TextField};
use crate::session::use_session;

#[component]
pub fn AccountPage() -> impl IntoView {
    let session = use_session();
    let current = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let saved = RwSignal::new(false);
    let pending = RwSignal::new(false);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        pending.set(true);
        saved.set(false);
        error.set(None);
        let request = ChangePasswordRequest {
            current_password: current.get_untracked(),
            new_password: new_password.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match api::change_password(&request).await {
                Ok(()) => {
                    saved.set(true);
                    current.set(String::new());
                    new_password.set(String::new());
                }
                Err(e) => error.set(Some(e)),
            }
            pending.set(false);
        });
    };
    let field = move |name: &'static str| {
        Signal::derive(move || error.with(|e| e.as_ref().and_then(|e| e.field(name))))
    };
    let general_error = Signal::derive(move || error.get().filter(|e| e.fields.is_empty()));

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
            <form class="card" on:submit=submit>
                <h2>"Change password"</h2>
                <ErrorBanner error=general_error/>
                <Show when=move || saved.get()>
                    <div class="banner banner-ok" role="status">"Password changed. Your other sessions were logged out."</div>
                </Show>
                <TextField label="Current password" name="current_password" value=current input_type="password"
                    autocomplete="current-password" error=field("current_password")/>
                <TextField label="New password" name="new_password" value=new_password input_type="password"
                    autocomplete="new-password" error=field("new_password") hint="At least 8 characters."/>
                <button class="button primary" type="submit" disabled=move || pending.get()>"Change password"</button>
            </form>
        </section>
    }
}
