//! Loading states, errors, and pages of areas still to come.

use leptos::prelude::*;

use crate::api::ApiError;

#[component]
pub fn Spinner() -> impl IntoView {
    view! { <span class="spinner" aria-hidden="true"></span> }
}

/// A loading state that says what is loading.
#[component]
pub fn Loading(#[prop(into)] what: String) -> impl IntoView {
    view! {
        <div class="loading" role="status" aria-live="polite">
            <Spinner/>
            <span>{format!("Loading {what}…")}</span>
        </div>
    }
}

/// An error from the server (or the network), shown where the user is looking.
#[component]
pub fn ErrorBanner(#[prop(into)] error: Signal<Option<ApiError>>) -> impl IntoView {
    move || {
        error.get().map(|error| {
            view! {
                <div class="banner banner-error" role="alert">
                    {error.message}
                </div>
            }
        })
    }
}

/// Complaints a form cannot show beside a field (see `FormState::elsewhere`), listed.
#[component]
pub fn FieldErrors(#[prop(into)] errors: Signal<Vec<String>>) -> impl IntoView {
    move || {
        let errors = errors.get();
        (!errors.is_empty()).then(|| {
            view! {
                <ul class="banner banner-error" role="alert">
                    {errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}
                </ul>
            }
        })
    }
}

/// The outcome of the last action on a page: a confirmation, or what went wrong.
#[component]
pub fn Notice(#[prop(into)] notice: Signal<Option<Result<String, ApiError>>>) -> impl IntoView {
    move || {
        notice.get().map(|n| match n {
            Ok(message) => {
                view! { <div class="banner banner-ok" role="status">{message}</div> }.into_any()
            }
            Err(error) => {
                view! { <div class="banner banner-error" role="alert">{error.message}</div> }
                    .into_any()
            }
        })
    }
}

/// The page of an area whose issue has not landed yet: says so plainly.
#[component]
pub fn NotBuilt(#[prop(into)] title: String, #[prop(into)] purpose: String) -> impl IntoView {
    view! {
        <section class="page">
            <header class="page-header"><h1>{title}</h1></header>
            <div class="card empty-state">
                <p class="muted">"Not built yet."</p>
                <p>{purpose}</p>
            </div>
        </section>
    }
}
