//! The SLO form's preview: what the SLO being typed would have measured over the last 30 days
//! (its SLI against the objective and the budget left, drawn hour by hour), what the server
//! warns about (a query that returned nothing), and the PromQL it will run.

use leptos::prelude::*;
use vigil_shared::slo::{SloPoint, SloPreview, SloQueries};

use super::detail::sli_and_budget_charts;
use super::{budget_percent, objective_text, sli_text};
use crate::api::ApiError;
use crate::components::{ChartData, TimeSeriesChart, now};

/// The preview's state, which the form fills.
#[derive(Clone, Copy)]
pub struct PreviewState {
    pub answer: RwSignal<Option<SloPreview>>,
    /// Why the last preview failed, when not about a field (those show beside the field).
    pub error: RwSignal<Option<ApiError>>,
    pub running: RwSignal<bool>,
}

impl PreviewState {
    pub fn new() -> Self {
        PreviewState {
            answer: RwSignal::new(None),
            error: RwSignal::new(None),
            running: RwSignal::new(false),
        }
    }
}

const THIRTY_DAYS: f64 = 30.0 * 86_400.0;

#[component]
pub fn SloPreviewCard(
    state: PreviewState,
    /// The objective as typed, for the line on the chart.
    objective: Signal<Option<f64>>,
    /// The saved SLO's queries, shown until a preview answers.
    saved_queries: Option<SloQueries>,
    /// Whether the SLI has been written far enough to preview.
    ready: Signal<bool>,
    on_preview: Callback<()>,
) -> impl IntoView {
    let charts = Memo::new(move |_| {
        let objective = objective.get().unwrap_or(f64::NAN);
        state.answer.with(|answer| match answer {
            Some(preview) => {
                let at = |p: Option<&SloPoint>| p.map(|p| p.at.timestamp() as f64);
                let end = at(preview.points.last()).unwrap_or_else(|| now().floor());
                let start = at(preview.points.first()).unwrap_or(end - THIRTY_DAYS);
                sli_and_budget_charts(&preview.points, &[], objective, (start, end, 3_600.0))
            }
            None => (ChartData::default(), ChartData::default()),
        })
    });
    let summary = move || {
        if state.running.get() {
            return "Computing the last 30 days…".to_owned();
        }
        if !ready.get() {
            return "Write the SLI to see what it would have measured over the last 30 days."
                .to_owned();
        }
        state.answer.with(|answer| match answer {
            Some(preview) => format!(
                "Over the last 30 days: SLI {} against {}, {} of the error budget left.",
                sli_text(preview.sli),
                objective
                    .get()
                    .map_or_else(|| "no objective".to_owned(), objective_text),
                budget_percent(preview.budget.remaining_percent)
            ),
            None => "Press Preview, or pause typing, to see the last 30 days.".to_owned(),
        })
    };
    let queries = move || {
        state
            .answer
            .with(|a| a.as_ref().map(|p| p.queries.clone()))
            .or_else(|| saved_queries.clone())
    };
    let warnings = move || {
        state
            .answer
            .with(|a| a.as_ref().map(|p| p.warnings.clone()))
            .unwrap_or_default()
    };

    view! {
        <section class="card" aria-label="Preview">
            <div class="card-header">
                <h3>"Preview: the last 30 days"</h3>
                <button
                    class="button"
                    type="button"
                    disabled=move || state.running.get()
                    on:click=move |_| on_preview.run(())
                >"Preview"</button>
            </div>
            <p class="muted" role="status" data-testid="preview-summary">{summary}</p>
            {move || state.error.get().map(|e| view! { <div class="banner banner-error" role="alert">{e.message}</div> })}
            {move || {
                let warnings = warnings();
                (!warnings.is_empty()).then(|| view! {
                    <ul class="banner banner-warning" data-testid="preview-warnings">
                        {warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}
                    </ul>
                })
            }}
            {move || queries().map(|q| view! {
                <dl class="facts queries" aria-label="PromQL the server runs" data-testid="slo-queries">
                    <dt>"Good"</dt><dd><code class="query">{q.good}</code></dd>
                    <dt>"Total"</dt><dd><code class="query">{q.total}</code></dd>
                </dl>
            })}
            <Show when=move || state.answer.with(Option::is_some)>
                <div class="grid two">
                    <TimeSeriesChart data=Signal::derive(move || charts.get().0) label="Preview: the SLI with the objective line"/>
                    <TimeSeriesChart data=Signal::derive(move || charts.get().1) label="Preview: the error budget left"/>
                </div>
            </Show>
        </section>
    }
}
