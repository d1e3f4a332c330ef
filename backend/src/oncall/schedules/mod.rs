//! On-call schedules (`/api/v1/schedules`): who is paged when an escalation policy targets a
//! schedule. Anyone logged in may read them (responders need to know who is on call); editors
//! change them.
//!
//! A schedule rotates through its participants. Daily and weekly rotations hand off on the
//! local wall clock of the schedule's time zone: a 09:00 handoff in Europe/Berlin stays at
//! 09:00 across DST changes, so the shift spanning a change lasts 23 or 25 hours. Custom
//! rotations hand off every `shift_hours` of elapsed time from the first handoff, whatever
//! the local clock says. Overrides put someone else on call for a while; when overrides
//! overlap, the one created last wins.
//!
//! Who is on call is computed, never stored: [`Rota`] and [`timeline`] are pure functions of
//! the schedule and its overrides, so they are tested without a database, and every replica
//! answers the same.

mod api;
pub mod rotation;
mod store;
mod validate;

pub use api::{id_by_name, insert};
pub use store::on_call_at;

use axum::Router;
use axum::routing::{delete as delete_route, get};

use crate::state::AppState;
use api::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/schedules", get(list).post(create))
        .route("/schedules/{id}", get(get_one).put(replace).delete(delete))
        .route("/schedules/{id}/oncall", get(on_call_now))
        .route("/oncall", get(on_call_everywhere))
        .route("/schedules/{id}/shifts", get(shifts))
        .route(
            "/schedules/{id}/overrides",
            get(list_overrides).post(create_override),
        )
        .route(
            "/schedules/{id}/overrides/{override_id}",
            delete_route(delete_override),
        )
}
