//! Dashboards (SPEC §6): the model as editors save it, checked field by field, its versions,
//! who sees and edits it (by role and by team, enforced on every endpoint), and home
//! dashboards per role, team and user.

pub mod access;
pub mod api;
pub mod grafana;
pub mod import;
pub mod provision;
pub mod store;
pub mod validate;

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    api::routes().merge(import::routes())
}
