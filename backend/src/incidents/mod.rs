//! Incidents: opened by firing alerts (or by hand), acknowledged, escalated and resolved by
//! people and by escalation policies (the `oncall` area says who is paged).

mod actions;
mod analytics;
mod detail;
pub mod escalation;
mod list;
mod notifications;
mod service;

pub use service::{ServiceIncident, for_services, overlapping};

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(list::list).post(actions::open))
        .route("/incidents/export", get(list::export))
        .route("/incidents/analytics", get(analytics::analytics))
        .route("/incidents/{id}", get(detail::detail))
        .route("/incidents/{id}/{action}", post(actions::act))
        .route("/notifications", get(notifications::my_notifications))
        .route(
            "/notifications/read",
            post(notifications::mark_notifications_read),
        )
}
