//! Incidents: opened by firing alerts (or by hand), acknowledged, escalated and resolved by
//! people and by escalation policies; on-call schedules say who is paged.

pub mod api;
pub mod escalation;
pub mod policies;
pub mod schedules;

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(api::routes())
        .merge(policies::routes())
        .merge(schedules::routes())
}
