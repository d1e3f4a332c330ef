//! Alerting: rules with warning and critical thresholds over PromQL, their evaluation into
//! alerts, and the annotations' templates.

pub mod alertmanager;
pub mod alerts;
pub mod evaluator;
pub mod import;
pub mod inbox;
pub mod inhibition;
pub mod rules;
pub mod silences;
pub mod template;

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    rules::routes()
        .merge(alerts::routes())
        .merge(silences::routes())
        .merge(inhibition::routes())
}
