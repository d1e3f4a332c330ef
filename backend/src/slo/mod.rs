//! Service level objectives (SPEC §9): definitions, their per-minute history, status and
//! burn-rate alerts, maintenance windows and corrections, and SLA reports (JSON, CSV, PDF),
//! also emailed on a schedule.

pub mod api;
pub mod burn;
pub mod definition;
pub mod history;
pub mod maintenance;
pub mod pdf;
pub mod report;
pub mod schedule;
pub mod status;
pub mod store;

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(api::routes())
        .merge(maintenance::routes())
        .merge(report::routes())
        .merge(schedule::routes())
}
