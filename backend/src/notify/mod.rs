//! Notifications: channels (`/api/v1/notification-channels`, editors), their delivery log,
//! "send test", and the delivery worker that retries failed sends with exponential back-off —
//! to channels and to users' contact methods alike.
//!
//! Every notification is first a row in `notification_deliveries`, then sent: a crash between
//! the two loses nothing, and any replica's worker picks due rows with `FOR UPDATE SKIP
//! LOCKED`, so each is sent by one replica.

mod contact;
pub mod message;
pub mod policies;
pub mod routing;
pub mod send;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use sqlx::types::Json as SqlJson;
use sqlx::{PgExecutor, PgPool};
use tokio_util::sync::CancellationToken;
use vigil_shared::contact::ContactKind;
use vigil_shared::notify::{
    Channel, ChannelKind, ChannelList, ChannelRequest, Delivery, DeliveryLog, DeliveryStatus,
    SmtpTls,
};

use self::message::{Message, MessageAlert};
use self::send::{Outbox, SendError, SmtpRelay, Target};
use crate::audit::{self, Target as AuditTarget};
use crate::auth::Editor;
use crate::error::{AppError, AppResult, FieldErrors, Json, OnConstraint, Path};
use crate::outbound::Outbound;
use crate::references::{self, Table};
use crate::state::AppState;
use crate::users::contact_methods;

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i32 = 8;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/notification-channels",
            get(list_channels).post(create_channel),
        )
        .route(
            "/notification-channels/{id}",
            get(get_channel).put(update_channel).delete(delete_channel),
        )
        .route("/notification-channels/{id}/test", post(test_channel))
        .route("/notification-channels/{id}/deliveries", get(deliveries))
        .merge(policies::routes())
        .merge(contact::routes())
}

/// What is stored for a channel.
#[derive(Debug)]
struct Stored {
    kind: ChannelKind,
    settings: Value,
    secrets: Value,
}

fn valid_http_url(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() > 8
        && !url.contains(' ')
}

fn valid_email(address: &str) -> bool {
    address.parse::<lettre::Address>().is_ok()
}

/// Checks a channel; secrets left empty keep those of `existing`.
fn validate(
    request: &ChannelRequest,
    existing: Option<&Value>,
    outbound: &Outbound,
) -> Result<Stored, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.add("name", "is required (at most 100 characters)");
    }
    let Some(kind) = request.kind else {
        errors.add("kind", "must be webhook, slack or email");
        return Err(errors);
    };
    let kept = |field: &str, given: &str| -> String {
        if given.is_empty() {
            existing
                .and_then(|e| e.get(field))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        } else {
            given.to_owned()
        }
    };
    let (settings, secrets) = match kind {
        ChannelKind::Webhook | ChannelKind::Slack => {
            let url = kept("url", request.url.trim());
            if !valid_http_url(&url) {
                errors.add("url", "must be an http:// or https:// address");
            } else if let Err(why) = reqwest::Url::parse(&url)
                .map_err(|_| "must be an http:// or https:// address".to_owned())
                .and_then(|parsed| outbound.check_url(&parsed))
            {
                errors.add("url", why);
            }
            let mut secrets = json!({ "url": url });
            if kind == ChannelKind::Webhook {
                secrets["hmac_secret"] = json!(kept("hmac_secret", &request.hmac_secret));
            }
            (json!({}), secrets)
        }
        ChannelKind::Email => {
            if request.to.is_empty() {
                errors.add("to", "at least one recipient is required");
            } else if let Some(bad) = request.to.iter().find(|a| !valid_email(a)) {
                errors.add("to", format!("{bad:?} is not an email address"));
            }
            if !valid_email(request.from.trim()) {
                errors.add("from", "must be an email address");
            }
            let host = request.smtp_host.trim();
            if host.is_empty() {
                errors.add("smtp_host", "is required");
            } else if let Err(why) = match host.parse::<std::net::IpAddr>() {
                Ok(ip) => outbound.check_ip(ip),
                Err(_) => outbound.check_name(host),
            } {
                errors.add("smtp_host", why);
            }
            let port = request.smtp_port.unwrap_or(match request.smtp_tls {
                SmtpTls::None => 25,
                SmtpTls::Starttls => 587,
                SmtpTls::Tls => 465,
            });
            if port == 0 {
                errors.add("smtp_port", "must be between 1 and 65535");
            }
            (
                json!({
                    "to": request.to,
                    "from": request.from.trim(),
                    "smtp_host": request.smtp_host.trim(),
                    "smtp_port": port,
                    "smtp_username": request.smtp_username.trim(),
                    "smtp_tls": request.smtp_tls,
                }),
                json!({ "smtp_password": kept("smtp_password", &request.smtp_password) }),
            )
        }
    };
    if errors.is_empty() {
        Ok(Stored {
            kind,
            settings,
            secrets,
        })
    } else {
        Err(errors)
    }
}

/// The URL's scheme and host only: the path of a Slack or webhook URL is its secret.
fn mask(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?']).next().unwrap_or_default();
            format!("{scheme}://{host}/…")
        }
        None => String::new(),
    }
}

fn text(value: &Value, field: &str) -> String {
    value
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A `notification_channels` row.
struct ChannelRow {
    id: i64,
    name: String,
    kind: String,
    settings: Value,
    secrets: Value,
    send_resolved: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn to_channel(row: ChannelRow) -> Channel {
    let ChannelRow {
        id,
        name,
        kind,
        settings,
        secrets,
        send_resolved,
        created_at,
        updated_at,
    } = row;
    let (settings, secrets) = (&settings, &secrets);
    let kind = serde_json::from_value(json!(kind)).unwrap_or(ChannelKind::Webhook);
    let to: Vec<String> =
        serde_json::from_value(settings.get("to").cloned().unwrap_or_default()).unwrap_or_default();
    let url = text(secrets, "url");
    Channel {
        id,
        name,
        kind,
        send_resolved,
        target: match kind {
            ChannelKind::Email => to.join(", "),
            _ => mask(&url),
        },
        to,
        from: text(settings, "from"),
        smtp_host: text(settings, "smtp_host"),
        smtp_port: settings
            .get("smtp_port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok()),
        smtp_username: text(settings, "smtp_username"),
        smtp_tls: serde_json::from_value(settings.get("smtp_tls").cloned().unwrap_or_default())
            .unwrap_or_default(),
        url_set: !url.is_empty(),
        hmac_secret_set: !text(secrets, "hmac_secret").is_empty(),
        smtp_password_set: !text(secrets, "smtp_password").is_empty(),
        created_at,
        updated_at,
    }
}

async fn select<'e>(db: impl PgExecutor<'e>, id: Option<i64>) -> Result<Vec<Channel>, sqlx::Error> {
    let rows = sqlx::query_as!(
        ChannelRow,
        r#"SELECT id, name, kind, settings, secrets, send_resolved, created_at, updated_at
           FROM notification_channels WHERE $1::bigint IS NULL OR id = $1
           ORDER BY lower(name)"#,
        id
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(to_channel).collect())
}

async fn find<'e>(db: impl PgExecutor<'e>, id: i64) -> AppResult<Channel> {
    select(db, Some(id))
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("There is no notification channel with this id."))
}

/// A channel's target with its secrets, for sending.
pub async fn target<'e>(
    db: impl PgExecutor<'e>,
    id: i64,
) -> Result<Option<(String, Target)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT name, kind, settings, secrets FROM notification_channels WHERE id = $1",
        id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        let target = match r.kind.as_str() {
            "slack" => Target::Slack {
                url: text(&r.secrets, "url"),
            },
            "email" => Target::Email {
                to: serde_json::from_value(r.settings.get("to").cloned().unwrap_or_default())
                    .unwrap_or_default(),
                from: text(&r.settings, "from"),
                host: text(&r.settings, "smtp_host"),
                port: r
                    .settings
                    .get("smtp_port")
                    .and_then(Value::as_u64)
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(25),
                username: text(&r.settings, "smtp_username"),
                password: text(&r.secrets, "smtp_password"),
                relay: false,
                tls: serde_json::from_value(
                    r.settings.get("smtp_tls").cloned().unwrap_or_default(),
                )
                .unwrap_or_default(),
            },
            _ => Target::Webhook {
                url: text(&r.secrets, "url"),
                hmac_secret: text(&r.secrets, "hmac_secret"),
            },
        };
        (r.name, target)
    }))
}

fn name_taken() -> AppError {
    AppError::conflict_on("name", "A channel with this name already exists.")
}

async fn list_channels(
    _editor: Editor,
    State(state): State<AppState>,
) -> AppResult<Json<ChannelList>> {
    Ok(Json(ChannelList {
        channels: select(&state.db, None).await?,
    }))
}

async fn get_channel(
    _editor: Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<Channel>> {
    find(&state.db, id).await.map(Json)
}

async fn create_channel(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Json(request): Json<ChannelRequest>,
) -> AppResult<(StatusCode, Json<Channel>)> {
    let stored = validate(&request, None, &state.config.outbound).map_err(AppError::Validation)?;
    let mut tx = state.db.begin().await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO notification_channels (name, kind, settings, secrets, send_resolved)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        request.name.trim(),
        stored.kind.as_str(),
        stored.settings,
        stored.secrets,
        request.send_resolved
    )
    .fetch_one(&mut *tx)
    .await
    .on_constraint("notification_channels_name_key", name_taken)?;
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "notification_channel.create",
        AuditTarget::of("notification_channel", id),
        json!({ "name": request.name.trim(), "kind": stored.kind }),
    )
    .await?;
    let channel = find(&mut *tx, id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(channel)))
}

async fn update_channel(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(request): Json<ChannelRequest>,
) -> AppResult<Json<Channel>> {
    let mut tx = state.db.begin().await?;
    let existing = sqlx::query_scalar!(
        "SELECT secrets FROM notification_channels WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::not_found("There is no notification channel with this id."))?;
    let stored = validate(&request, Some(&existing), &state.config.outbound)
        .map_err(AppError::Validation)?;
    sqlx::query!(
        "UPDATE notification_channels
         SET name = $2, kind = $3, settings = $4, secrets = $5, send_resolved = $6,
             updated_at = now()
         WHERE id = $1",
        id,
        request.name.trim(),
        stored.kind.as_str(),
        stored.settings,
        stored.secrets,
        request.send_resolved
    )
    .execute(&mut *tx)
    .await
    .on_constraint("notification_channels_name_key", name_taken)?;
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "notification_channel.update",
        AuditTarget::of("notification_channel", id),
        json!({ "name": request.name.trim() }),
    )
    .await?;
    let channel = find(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(Json(channel))
}

async fn delete_channel(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let deleted = sqlx::query_scalar!(
        "DELETE FROM notification_channels WHERE id = $1 RETURNING name",
        id
    )
    .fetch_optional(&mut *tx)
    .await;
    let name = references::refuse_delete(deleted, &state.db, Table::NotificationChannels, id)
        .await?
        .ok_or_else(|| AppError::not_found("There is no notification channel with this id."))?;
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "notification_channel.delete",
        AuditTarget::of("notification_channel", id),
        json!({ "name": name }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A sample message for "send test".
pub fn test_message(channel: &str, user: &str) -> Message {
    let labels = BTreeMap::from([
        ("alertname".to_owned(), "VigilTestNotification".to_owned()),
        ("severity".to_owned(), "info".to_owned()),
    ]);
    let annotations = BTreeMap::from([(
        "summary".to_owned(),
        format!("A test notification sent by {user} through “{channel}”."),
    )]);
    Message::new(
        channel,
        BTreeMap::from([("alertname".to_owned(), "VigilTestNotification".to_owned())]),
        vec![MessageAlert::new(
            false,
            labels,
            annotations,
            Utc::now(),
            None,
            String::new(),
        )],
        "",
    )
}

/// Sends a test message now and answers how it went (also in the delivery log).
async fn test_channel(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<Delivery>> {
    let channel = find(&state.db, id).await?;
    let message = test_message(&channel.name, &editor.email);
    let now = Utc::now();
    let delivery = enqueue(&state.db, id, "test", &message, now).await?;
    let outbox = Outbox::new(state.config.smtp.clone(), state.config.outbound.clone());
    deliver(&state.db, &outbox, delivery, now).await?;
    Ok(Json(
        delivery_log(&state.db, id, Some(delivery))
            .await?
            .pop()
            .ok_or_else(|| AppError::not_found("The test delivery vanished."))?,
    ))
}

async fn deliveries(
    _editor: Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<DeliveryLog>> {
    find(&state.db, id).await?;
    Ok(Json(DeliveryLog {
        deliveries: delivery_log(&state.db, id, None).await?,
    }))
}

/// A `notification_deliveries` row as delivery logs show it.
pub struct DeliveryRow {
    pub id: i64,
    pub reason: String,
    pub status: String,
    pub payload: SqlJson<Message>,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = sqlx::Error;

    fn try_from(r: DeliveryRow) -> Result<Self, sqlx::Error> {
        let status = crate::db::stored("notification_deliveries.status", &r.status)?;
        Ok(Delivery {
            id: r.id,
            reason: r.reason,
            title: r.payload.0.title(),
            next_attempt_at: (status == DeliveryStatus::Pending).then_some(r.next_attempt_at),
            status,
            attempts: r.attempts,
            last_error: r.last_error,
            created_at: r.created_at,
            sent_at: r.sent_at,
        })
    }
}

async fn delivery_log(
    db: &PgPool,
    channel: i64,
    only: Option<i64>,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let rows = sqlx::query_as!(
        DeliveryRow,
        r#"SELECT id, reason, status, payload AS "payload!: SqlJson<Message>", attempts,
                  next_attempt_at, last_error, created_at, sent_at
           FROM notification_deliveries
           WHERE channel_id = $1 AND ($2::bigint IS NULL OR id = $2)
           ORDER BY created_at DESC, id DESC LIMIT 200"#,
        channel,
        only
    )
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Delivery::try_from).collect()
}

/// The name of channel `id`, if there is one.
pub async fn channel_name<'e>(
    db: impl PgExecutor<'e>,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!("SELECT name FROM notification_channels WHERE id = $1", id)
        .fetch_optional(db)
        .await
}

/// Queues `message` for `channel`, due at `now`; returns the delivery's id.
pub async fn enqueue<'e>(
    db: impl PgExecutor<'e>,
    channel: i64,
    reason: &str,
    message: &Message,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO notification_deliveries (channel_id, reason, status, payload,
                                              next_attempt_at, created_at)
         VALUES ($1, $2, 'pending', $3, $4, $4) RETURNING id",
        channel,
        reason,
        serde_json::to_value(message).unwrap_or_default(),
        now
    )
    .fetch_one(db)
    .await
}

/// Queues `message` for a user's contact method, due at `now`; returns the delivery's id.
pub async fn enqueue_to_contact_method<'e>(
    db: impl PgExecutor<'e>,
    contact_method: i64,
    reason: &str,
    message: &Message,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO notification_deliveries (contact_method_id, reason, status, payload,
                                              next_attempt_at, created_at)
         VALUES ($1, $2, 'pending', $3, $4, $4) RETURNING id",
        contact_method,
        reason,
        serde_json::to_value(message).unwrap_or_default(),
        now
    )
    .fetch_one(db)
    .await
}

/// Where a contact method's delivery goes: its webhook, or its address through the server's
/// mail relay. Errors that no retry can cure are permanent.
fn contact_target(
    method: &contact_methods::Recipient,
    smtp: Option<&SmtpRelay>,
) -> Result<Target, SendError> {
    let permanent = |message: &str| SendError {
        message: message.to_owned(),
        retry: false,
    };
    if method.deleted {
        return Err(permanent("the contact method was deleted"));
    }
    match method.kind {
        ContactKind::Webhook => Ok(Target::Webhook {
            url: method.address.clone(),
            hmac_secret: String::new(),
        }),
        ContactKind::Email => smtp
            .map(|relay| relay.email_to(&method.address))
            .ok_or_else(|| permanent("no SMTP server configured (--smtp-url)")),
    }
}

/// The wait before attempt `attempts + 1`: 10 s, 20 s, 40 s… up to 10 minutes.
pub fn backoff(attempts: i32) -> TimeDelta {
    let seconds = 10i64.saturating_mul(1i64 << attempts.clamp(0, 16)).min(600);
    TimeDelta::seconds(seconds)
}

/// Attempts one delivery (if it is still pending and nobody else holds it) and records the
/// outcome: sent, a retry later, or given up.
pub async fn deliver(
    db: &PgPool,
    outbox: &Outbox,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    let row = sqlx::query!(
        r#"SELECT channel_id, contact_method_id, attempts,
                  payload AS "payload!: SqlJson<Message>"
           FROM notification_deliveries WHERE id = $1 AND status = 'pending'
           FOR UPDATE SKIP LOCKED"#,
        id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(());
    };
    let target = match (row.channel_id, row.contact_method_id) {
        (Some(channel), _) => match target(&mut *tx, channel).await? {
            Some((_, target)) => Ok(target),
            None => Err(SendError {
                message: "the channel was deleted".to_owned(),
                retry: false,
            }),
        },
        (None, Some(method)) => match contact_methods::recipient(&mut *tx, method).await? {
            Some(recipient) => contact_target(&recipient, outbox.smtp.as_ref()),
            None => Err(SendError {
                message: "the contact method was deleted".to_owned(),
                retry: false,
            }),
        },
        (None, None) => Err(SendError {
            message: "the delivery has no recipient".to_owned(),
            retry: false,
        }),
    };
    let outcome = match target {
        Ok(target) => outbox.send(&target, &row.payload.0).await,
        Err(error) => Err(error),
    };
    let attempts = row.attempts + 1;
    match outcome {
        Ok(()) => {
            sqlx::query!(
                "UPDATE notification_deliveries
                 SET status = 'sent', attempts = $2, sent_at = $3, last_error = NULL
                 WHERE id = $1",
                id,
                attempts,
                now
            )
            .execute(&mut *tx)
            .await?;
        }
        Err(error) => {
            let give_up = !error.retry || attempts >= MAX_ATTEMPTS;
            tracing::warn!(delivery = id, error = %error.message, give_up, "a notification failed");
            sqlx::query!(
                "UPDATE notification_deliveries
                 SET status = $2, attempts = $3, last_error = $4, next_attempt_at = $5
                 WHERE id = $1",
                id,
                if give_up { "failed" } else { "pending" },
                attempts,
                error.message,
                now + backoff(row.attempts)
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await
}

/// Attempts every delivery due at `now`; returns how many were attempted.
pub async fn deliver_due(
    db: &PgPool,
    outbox: &Outbox,
    now: DateTime<Utc>,
) -> Result<usize, sqlx::Error> {
    let due = sqlx::query_scalar!(
        "SELECT id FROM notification_deliveries
         WHERE status = 'pending' AND next_attempt_at <= $1
         ORDER BY next_attempt_at LIMIT 100",
        now
    )
    .fetch_all(db)
    .await?;
    for id in &due {
        deliver(db, outbox, *id, now).await?;
    }
    Ok(due.len())
}

/// Background worker: every second until shutdown, places new firing alerts into their
/// notification groups, flushes the groups that are due, and sends due notifications (email
/// contact methods through `smtp`, the server's relay; webhooks and channel mail servers only
/// where `outbound` allows).
pub async fn delivery_worker(
    db: PgPool,
    smtp: Option<SmtpRelay>,
    outbound: Outbound,
    shutdown: CancellationToken,
) {
    let outbox = Outbox::new(smtp, outbound);
    let mut ticker = crate::ticker::Ticker::every(Duration::from_secs(1), shutdown);
    while ticker.tick().await {
        let routing = routing::run(&db, Utc::now());
        ticker.run("routing notifications", routing).await;
        let sending = deliver_due(&db, &outbox, Utc::now());
        ticker.run("sending notifications", sending).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_ten_minutes() {
        assert_eq!(backoff(0), TimeDelta::seconds(10));
        assert_eq!(backoff(1), TimeDelta::seconds(20));
        assert_eq!(backoff(3), TimeDelta::seconds(80));
        assert_eq!(backoff(10), TimeDelta::seconds(600));
    }

    #[test]
    fn urls_are_shown_without_their_secret_part() {
        assert_eq!(
            mask("https://hooks.slack.com/services/T000/B000/XXXX"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            mask("http://127.0.0.1:9000/hook?token=abc"),
            "http://127.0.0.1:9000/…"
        );
    }

    #[test]
    fn a_blank_secret_keeps_the_saved_one() {
        let request = ChannelRequest {
            name: "ops".into(),
            kind: Some(ChannelKind::Webhook),
            ..Default::default()
        };
        let saved = json!({ "url": "https://example.com/hook", "hmac_secret": "s3cret" });
        let stored = validate(&request, Some(&saved), &Outbound::default()).unwrap();
        assert_eq!(stored.secrets, saved);
        assert!(
            validate(&request, None, &Outbound::default())
                .unwrap_err()
                .to_string()
                .contains("url")
        );
    }
}
