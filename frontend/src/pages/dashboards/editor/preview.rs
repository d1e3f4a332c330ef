//! A panel drawn as it will be on the dashboard, while it is edited: its queries run over the
//! dashboard's default range, each variable standing for its first value, once the fields
//! have been still for a moment.

use std::collections::BTreeMap;
use std::time::Duration;

use leptos::prelude::*;
use vigil_shared::dashboard::vars::{self, Format, Scope, Selection};
use vigil_shared::dashboard::{Panel, PanelQuery, Variable, VariableSource};

use super::Editor;
use crate::api;
use crate::components::TimeRange;
use crate::components::{PanelBody, PanelData};

/// How long the fields must be still before the preview redraws.
const SETTLE: Duration = Duration::from_millis(400);
/// Width the step is fitted to, px (about a panel's).
const WIDTH_PX: u32 = 600;
/// The usual scrape interval, seconds, for `$__rate_interval`.
const SCRAPE_SECONDS: f64 = 15.0;

/// The first value each variable offers, as a preview shows the panel: its default, else the
/// first of its list (for a label values query, the first the server knows).
async fn first_values(variables: &[Variable]) -> BTreeMap<String, Selection> {
    let mut values = BTreeMap::new();
    for variable in variables {
        let first = match (variable.default.first(), &variable.source) {
            (Some(default), _) => Some(default.clone()),
            (None, VariableSource::Custom { values } | VariableSource::Interval { values, .. }) => {
                values.first().cloned()
            }
            (None, VariableSource::TextBox { value }) => Some(value.clone()),
            (None, VariableSource::Query { query, .. }) => match vars::parse_label_values(query) {
                Some(asked) => api::label_values(&asked.label, asked.selector.as_deref())
                    .await
                    .ok()
                    .and_then(|found| found.into_iter().next()),
                None => None,
            },
        };
        if let Some(first) = first {
            values.insert(variable.name.clone(), Selection::Values(vec![first]));
        }
    }
    values
}

/// Runs every query of the panel over `range` (instant ones at its end), the variables
/// filled in; hidden ones are not asked.
async fn run(queries: Vec<PanelQuery>, variables: Vec<Variable>, range: TimeRange) -> PanelData {
    let (start, end) = range.window();
    let step = vars::step_for(end - start, WIDTH_PX);
    let scope = Scope {
        values: first_values(&variables).await,
        interval: step,
        rate_interval: vars::rate_interval(step, SCRAPE_SECONDS),
        range: end - start,
    };
    let mut results = Vec::with_capacity(queries.len());
    for query in &queries {
        let expr = vars::interpolate(&query.expr, &scope, Format::Query);
        let answer = if query.hidden {
            Err("Hidden.".to_owned())
        } else if expr.trim().is_empty() {
            Err("No query yet.".to_owned())
        } else if query.instant {
            api::query_instant(&expr, end).await.map_err(|e| e.message)
        } else {
            api::query_range(&expr, start, end, step)
                .await
                .map_err(|e| e.message)
        };
        results.push(answer);
    }
    PanelData {
        start,
        end,
        step,
        results,
        annotations: Vec::new(),
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
    let queries =
        Memo::new(move |_| settled.with(|p| p.kind.uses_queries().then(|| p.queries.clone())));
    let range = Memo::new(move |_| {
        editor
            .model
            .with(|m| TimeRange::parse(&m.time.range).unwrap_or_default())
    });
    let variables = Memo::new(move |_| editor.model.with(|m| m.variables.clone()));
    let data = LocalResource::new(move || {
        let (queries, variables, range) = (queries.get(), variables.get(), range.get());
        async move {
            match queries {
                Some(queries) => run(queries, variables, range).await,
                // Vigil's own kinds and text fetch (or have) what they draw.
                None => PanelData::default(),
            }
        }
    });
    let data = Signal::derive(move || data.get());
    view! {
        <div class="panel-preview-body" style=move || format!("height: {}px", height.get())>
            <PanelBody panel=settled data=data height=height/>
        </div>
    }
}
