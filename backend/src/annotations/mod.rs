//! Annotations (SPEC §6): what happened, drawn on dashboards' time-series panels. People add
//! manual annotations (a note on a time or a period, for every dashboard or one); incidents
//! (opened to resolved) and alert firing periods are annotations without any setup, read from
//! the incidents and alerting areas when a dashboard asks.

mod manual;
mod read;

use axum::Router;
use axum::routing::{delete, get};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/annotations", get(read::list).post(manual::create))
        .route("/annotations/{id}", delete(manual::remove))
}
