//! Deliveries to people's contact methods, as their owners see them: the delivery log across
//! a user's methods (deleted ones included) and "send a test now". The methods themselves
//! belong to `users::contact_methods`; this reads them through it.

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use chrono::Utc;
use serde_json::json;
use sqlx::PgPool;
use sqlx::types::Json as SqlJson;
use vigil_shared::contact::{ContactDelivery, ContactDeliveryLog};

use super::message::Message;
use super::send::Outbox;
use super::{DeliveryRow, deliver, enqueue_to_contact_method, test_message};
use crate::audit::{self, Target};
use crate::auth::{Admin, AuthUser};
use crate::error::{AppError, AppResult, Json, Path};
use crate::state::AppState;
use crate::users::contact_methods;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/me/contact-methods/deliveries", get(my_deliveries))
        .route("/auth/me/contact-methods/{id}/test", post(test_mine))
        .route(
            "/users/{id}/contact-methods/deliveries",
            get(deliveries_for_user),
        )
}

/// A user's delivery log across their methods, deleted ones included, newest first; or one
/// delivery.
async fn delivery_log(
    db: &PgPool,
    user: i64,
    only: Option<i64>,
) -> Result<Vec<ContactDelivery>, sqlx::Error> {
    let methods: HashMap<i64, contact_methods::LoggedMethod> = contact_methods::ever_had(db, user)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let ids: Vec<i64> = methods.keys().copied().collect();
    let rows = sqlx::query!(
        r#"SELECT id, reason, status, payload AS "payload!: SqlJson<Message>", attempts,
                  next_attempt_at, last_error, created_at, sent_at,
                  contact_method_id AS "contact_method_id!"
           FROM notification_deliveries
           WHERE contact_method_id = ANY($1) AND ($2::bigint IS NULL OR id = $2)
           ORDER BY created_at DESC, id DESC LIMIT 200"#,
        &ids,
        only
    )
    .fetch_all(db)
    .await?;
    let mut log = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(method) = methods.get(&r.contact_method_id) else {
            continue;
        };
        log.push(ContactDelivery {
            contact_method_id: method.id,
            kind: method.kind,
            address: method.address.clone(),
            label: method.label.clone(),
            method_deleted: method.deleted,
            delivery: DeliveryRow {
                id: r.id,
                reason: r.reason,
                status: r.status,
                payload: r.payload,
                attempts: r.attempts,
                next_attempt_at: r.next_attempt_at,
                last_error: r.last_error,
                created_at: r.created_at,
                sent_at: r.sent_at,
            }
            .try_into()?,
        });
    }
    Ok(log)
}

async fn my_deliveries(
    user: AuthUser,
    State(state): State<AppState>,
) -> AppResult<Json<ContactDeliveryLog>> {
    Ok(Json(ContactDeliveryLog {
        deliveries: delivery_log(&state.db, user.id, None).await?,
    }))
}

async fn deliveries_for_user(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Path(user): Path<i64>,
) -> AppResult<Json<ContactDeliveryLog>> {
    contact_methods::require_user(&state.db, user).await?;
    Ok(Json(ContactDeliveryLog {
        deliveries: delivery_log(&state.db, user, None).await?,
    }))
}

/// Sends a test message to one of the caller's methods now and answers how it went (it is
/// also in their delivery log).
async fn test_mine(
    user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<ContactDelivery>> {
    let method = contact_methods::select(&state.db, user.id, Some(id))
        .await?
        .pop()
        .ok_or_else(contact_methods::no_such_method)?;
    let name = if method.label.is_empty() {
        format!("your {} contact method", method.kind.as_str())
    } else {
        method.label.clone()
    };
    let message = test_message(&name, &user.email);
    let now = Utc::now();
    let mut tx = state.db.begin().await?;
    let delivery = enqueue_to_contact_method(&mut *tx, method.id, "test", &message, now).await?;
    audit::record(
        &mut *tx,
        user.audit_actor(),
        "contact_method.test",
        Target::of("contact_method", method.id),
        json!({ "user_id": user.id, "kind": method.kind }),
    )
    .await?;
    tx.commit().await?;
    let outbox = Outbox::new(state.config.smtp.clone(), state.config.outbound.clone());
    deliver(&state.db, &outbox, delivery, now).await?;
    delivery_log(&state.db, user.id, Some(delivery))
        .await?
        .pop()
        .map(Json)
        .ok_or_else(|| AppError::not_found("The test delivery vanished."))
}
