//! The one way pages load what they show. A page makes a `LocalResource` of its API call,
//! which loads again by itself when a signal the call reads changes (a filter, the address)
//! and on `refetch()` (after a change, on a live event), and shows it with [`Loaded`]. Lists
//! that only fill a picker read their resource directly and stay empty if it fails.

use leptos::prelude::*;

use crate::api::ApiResult;
use crate::components::Loading;

/// Shows what `resource` answered: "Loading {what}…" until the first answer, then the answer
/// drawn by `children`, kept on screen while a newer one loads. A failed load shows the
/// server's message in its place (its own `ErrorBoundary`), so the rest of the page and the
/// app keep working, and the next answer that succeeds replaces it.
#[component]
pub fn Loaded<T, V, F>(
    resource: LocalResource<ApiResult<T>>,
    /// What is loading, as in "Loading {what}…".
    what: &'static str,
    /// Draws the answer.
    children: F,
) -> impl IntoView
where
    T: Clone + 'static,
    F: Fn(T) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    // `try_get`: an answer may arrive as its page goes away (a lost session sends the user to
    // the login page), when the resource is gone.
    let draw = move || {
        resource
            .try_get()
            .flatten()
            .map(|answer| answer.map(|value| children(value).into_any()))
    };
    loaded(Box::new(draw), what)
}

/// Draws the answer, `None` while there is none yet.
type Draw = Box<dyn Fn() -> Option<ApiResult<AnyView>> + Send + Sync>;

/// [`Loaded`] with the answer's type erased: one instance of the loading and error machinery
/// for every page (one per type of answer would cost the WebAssembly several KB each).
fn loaded(draw: Draw, what: &'static str) -> AnyView {
    view! {
        <Transition fallback=move || view! { <Loading what=what/> }>
            <ErrorBoundary fallback=load_failed>
                {move || draw()}
            </ErrorBoundary>
        </Transition>
    }
    .into_any()
}

/// Why something could not be shown, where it would have been: the server's message (or the
/// network's), as the API client words it.
pub fn load_failed(errors: ArcRwSignal<Errors>) -> impl IntoView {
    move || {
        errors.with(|errors| {
            errors
                .iter()
                .map(|(_, error)| {
                    view! { <p class="banner banner-error" role="alert">{error.to_string()}</p> }
                })
                .collect_view()
        })
    }
}
