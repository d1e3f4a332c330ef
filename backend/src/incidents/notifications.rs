//! `/api/v1/notifications`: what the caller was paged about, in the app.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;
use vigil_shared::incident::{InAppNotification, MarkNotificationsRead, NotificationList};

use crate::audit::{self, Target};
use crate::auth::AuthUser;
use crate::error::{AppResult, Json};
use crate::state::AppState;

/// What the caller was paged about, newest first (the latest 100), and the unread count.
pub(super) async fn my_notifications(
    user: AuthUser,
    State(state): State<AppState>,
) -> AppResult<Json<NotificationList>> {
    let notifications = sqlx::query_as!(
        InAppNotification,
        r#"SELECT id, incident_id, message, created_at, read_at IS NOT NULL AS "read!"
           FROM user_notifications
           WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 100"#,
        user.id
    )
    .fetch_all(&state.db)
    .await?;
    let unread = sqlx::query_scalar!(
        r#"SELECT count(*) AS "unread!" FROM user_notifications
           WHERE user_id = $1 AND read_at IS NULL"#,
        user.id
    )
    .fetch_one(&state.db)
    .await?;
    Ok(Json(NotificationList {
        notifications,
        unread,
    }))
}

/// Marks the caller's notifications read (all, or up to an id: those the caller has seen).
pub(super) async fn mark_notifications_read(
    user: AuthUser,
    State(state): State<AppState>,
    Json(request): Json<MarkNotificationsRead>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let marked = sqlx::query!(
        "UPDATE user_notifications SET read_at = now()
         WHERE user_id = $1 AND read_at IS NULL AND ($2::bigint IS NULL OR id <= $2)",
        user.id,
        request.up_to
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if marked > 0 {
        audit::record(
            &mut *tx,
            user.audit_actor(),
            "notifications.read",
            Target::of("user", user.id),
            json!({ "count": marked, "up_to": request.up_to }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
