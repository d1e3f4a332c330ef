//! Alerting: rules with warning and critical thresholds over PromQL, their evaluation into
//! alerts, and the annotations' templates.

pub mod alertmanager;
pub mod alerts;
pub mod evaluator;
pub mod fingerprint;
pub mod import;
pub mod inbox;
pub mod inhibition;
pub mod periods;
pub mod record;
pub mod rules;
pub mod silences;
pub mod template;

use axum::Router;
use axum::routing::post;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    rules::routes()
        .route("/alert-rules/import", post(import::import_rules))
        .merge(alerts::routes())
        .merge(silences::routes())
        .merge(inhibition::routes())
}
