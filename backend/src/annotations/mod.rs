//! Annotations (SPEC §6): what happened, drawn on dashboards' time-series panels. People add
//! manual annotations (a note on a time or a period, for every dashboard or one); incidents
//! (opened to resolved) and alert firing periods are annotations without any setup, read from
//! the incidents and alerting areas when a dashboard asks.

mod manual;
mod read;

use axum::Router;
use axum::routing::{delete, get};
use sqlx::PgConnection;

use crate::dashboards::access::Who;
use crate::dashboards::store::{self, Key};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/annotations", get(read::list).post(manual::create))
        .route("/annotations/{id}", delete(manual::remove))
}

/// Refuses a dashboard id that names no dashboard `who` sees (422 on `dashboard_id`, the
/// same whether it does not exist or is hidden from them): its annotations are its own.
async fn check_dashboard(conn: &mut PgConnection, who: &Who, id: i64) -> AppResult<()> {
    let seen = match store::find(conn, &Key::Id(id)).await? {
        Some(dashboard) => who.sees(&dashboard.model.viewable_by),
        None => false,
    };
    if !seen {
        return Err(AppError::invalid(
            "dashboard_id",
            format!("there is no dashboard {id} (or you may not see it)"),
        ));
    }
    Ok(())
}
