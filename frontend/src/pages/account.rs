//! The user's own account: details and changing their password.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vigil_shared::auth::ChangePasswordRequest;

use crate::api;
use crate::components::{ErrorBanner, FormState, TextField};
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
