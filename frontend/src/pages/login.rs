//! The login page: email and password, errors shown in place, then back to where the user was
//! going (or their home page).

use leptos::ev::SubmitEvent;
use leptos::html;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_navigate, use_query_map};
use vigil_shared::auth::LoginRequest;

use crate::api::{self, ApiError};
use crate::components::{Spinner, TextField};
use crate::session::{safe_next, use_session};

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = use_session();
    let query = use_query_map();
    let next = Memo::new(move |_| safe_next(query.with(|q| q.get("next"))));

    move || {
        if session.user.with(Option::is_some) {
            view! { <Redirect path=next.get_untracked()/> }.into_any()
        } else {
            view! { <LoginForm next=next/> }.into_any()
        }
    }
}

#[component]
fn LoginForm(next: Memo<String>) -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let pending = RwSignal::new(false);
    let email_input = NodeRef::<html::Input>::new();
    let password_input = NodeRef::<html::Input>::new();

    // The email field has focus when the page opens.
    Effect::new(move |_| {
        if let Some(input) = email_input.get() {
            let _ = input.focus();
        }
    });

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        pending.set(true);
        error.set(None);
        let request = LoginRequest {
            email: email.get_untracked(),
            password: password.get_untracked(),
        };
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match api::login(&request).await {
                Ok(user) => {
                    session.user.set(Some(user));
                    if let Some(next) = next.try_get_untracked() {
                        navigate(&next, Default::default());
                    }
                }
                Err(failure) => {
                    let email_problem = failure.fields.contains_key("email");
                    error.set(Some(failure));
                    // Put the cursor where the fix goes: usually the password, selected for retyping.
                    if email_problem {
                        if let Some(input) = email_input.try_get_untracked().flatten() {
                            let _ = input.focus();
                        }
                    } else if let Some(input) = password_input.try_get_untracked().flatten() {
                        let _ = input.focus();
                        input.select();
                    }
                }
            }
            pending.set(false);
        });
    };

    let field_error = move |name: &'static str| {
        Signal::derive(move || error.with(|e| e.as_ref().and_then(|e| e.field(name))))
    };
    // Errors not about one field (wrong credentials, lockout, network) show above the button.
    let form_error = move || {
        error.with(|e| {
            e.as_ref()
                .filter(|e| e.fields.is_empty())
                .map(|e| e.message.clone())
        })
    };

    view! {
        <div class="login-page">
            <form class="card login-card" on:submit=submit novalidate=true>
                <div class="login-brand">
                    <span class="brand-mark" aria-hidden="true">"◉"</span>
                    <h1>"Vigil"</h1>
                </div>
                <p class="muted">"Log in to watch over your services."</p>
                <TextField
                    label="Email"
                    name="email"
                    value=email
                    input_type="email"
                    autocomplete="username"
                    error=field_error("email")
                    node_ref=email_input
                />
                <TextField
                    label="Password"
                    name="password"
                    value=password
                    input_type="password"
                    autocomplete="current-password"
                    error=field_error("password")
                    node_ref=password_input
                />
                <p class="form-error" role="alert" aria-live="assertive">{form_error}</p>
                <button class="button primary wide" type="submit" disabled=move || pending.get()>
                    <Show when=move || pending.get()><Spinner/></Show>
                    {move || if pending.get() { " Logging in…" } else { "Log in" }}
                </button>
            </form>
        </div>
    }
}
