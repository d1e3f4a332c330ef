//! Incidents: opened by firing alerts (or by hand), acknowledged, escalated and resolved by
//! people and by escalation policies (the `oncall` area says who is paged).

pub mod api;
pub mod escalation;

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().merge(api::routes())
}
