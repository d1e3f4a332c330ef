//! A panel drawn as it will be on the dashboard, while it is edited: its queries run over the
//! dashboard's default range, once the fields have been still for a moment.

use std::time::Duration;

use leptos::prelude::*;
use vigil_shared::dashboard::{Panel, PanelQuery};
use vigil_shared::prometheus::QueryData;

use super::Editor;
use crate::api;
use crate::components::TimeRange;

/// How long the fields must be still before the preview redraws.
const SETTLE: Duration = Duration::from_millis(400);
/// Points a range query asks for, about.
const POINTS: f64 = 250.0;
/// The finest step asked, seconds (the scrape interval).
const MIN_STEP: f64 = 15.0;

/// What the panel's queries answered over a window.
#[derive(Clone, Debug, PartialEq)]
pub struct Answers {
    pub start: f64,
    pub end: f64,
    pub step: f64,
    /// One per query, in order.
    pub results: Vec<Result<QueryData, String>>,
}

/// The step of a range query over `seconds`: about [`POINTS`] points, never finer than
/// [`MIN_STEP`], in whole seconds.
pub fn step_for(seconds: f64) -> f64 {
    (seconds / POINTS).max(MIN_STEP).round()
}

/// Runs every query of the panel over `range` (instant ones at its end).
async fn run(queries: Vec<PanelQuery>, range: TimeRange) -> Answers {
    let (start, end) = range.window();
    let step = step_for(end - start);
    let mut results = Vec::with_capacity(queries.len());
    for query in &queries {
        let answer = if query.expr.trim().is_empty() {
            Err("No query yet.".to_owned())
        } else if query.instant {
            api::query_instant(&query.expr, end).await.map_err(|e| e.message)
        } else {
            api::query_range(&query.expr, start, end, step).await.map_err(|e| e.message)
        };
        results.push(answer);
    }
    Answers {
        start,
        end,
        step,
        results,
    }
}

/// `panel`, drawn `height` px high with its data, redrawn when it has settled after a change.
#[component]
pub fn PanelPreview(#[prop(into)] panel: Signal<Panel>, height: Signal<u32>) -> impl IntoView {
    let editor = expect_context::<Editor>();
    let settled = RwSignal::new(panel.get_untracked());
    let ticket = StoredValue::new(0_u32);
    Effect::new(move |first: Option<()>| {
        let next = panel.get();
        if first.is_none() {
            return;
        }
        let mine = ticket.get_value().wrapping_add(1);
        ticket.set_value(mine);
        set_timeout(
            move || {
                if ticket.try_get_value() == Some(mine) {
                    settled.try_set(next);
                }
            },
            SETTLE,
        );
    });
    let queries = Memo::new(move |_| {
        settled.with(|p| p.kind.uses_queries().then(|| p.queries.clone()))
    });
    let range = Memo::new(move |_| {
        editor
            .model
            .with(|m| TimeRange::parse(&m.time.range).unwrap_or_default())
    });
    let answers = LocalResource::new(move || {
        let (queries, range) = (queries.get(), range.get());
        async move {
            match queries {
                Some(queries) => Some(run(queries, range).await),
                None => None,
            }
        }
    });
    let answers = Signal::derive(move || answers.get().flatten());
    view! {
        <div class="panel-preview-body" style=move || format!("height: {}px", height.get())>
            {move || summary(settled.get(), answers.get())}
        </div>
    }
}

/// What the panel would show, in words: its kind and title, and what each query answered.
fn summary(panel: Panel, answers: Option<Answers>) -> impl IntoView {
    let lines: Vec<String> = answers
        .map(|a| {
            a.results
                .iter()
                .enumerate()
                .map(|(i, r)| match r {
                    Ok(QueryData::Vector(v)) => format!("Query {}: {} series", i + 1, v.len()),
                    Ok(QueryData::Matrix(m)) => format!("Query {}: {} series", i + 1, m.len()),
                    Ok(_) => format!("Query {}: one value", i + 1),
                    Err(why) => format!("Query {}: {why}", i + 1),
                })
                .collect()
        })
        .unwrap_or_default();
    view! {
        <p><strong>{panel.title}</strong>" · "{panel.kind.label()}</p>
        <ul class="muted">{lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_give_a_few_hundred_points_and_no_finer_than_the_scrape() {
        assert_eq!(step_for(6.0 * 3600.0), 86.0);
        assert_eq!(step_for(300.0), MIN_STEP);
    }
}
