//! Users' contact methods: the email addresses and webhooks an escalation pages a user at,
//! besides the in-app notification. Every user manages their own (`/auth/me/contact-methods`),
//! admins anyone's (`/users/{id}/contact-methods`). Deleting a method only marks it deleted,
//! so the deliveries made to it stay in its user's delivery log (`notify::contact`, which
//! sends to methods and keeps that log).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use serde_json::json;
use sqlx::{PgExecutor, PgPool};
use vigil_shared::contact::{ContactKind, ContactMethod, ContactMethodList, ContactMethodRequest};

use crate::audit::{self, AuditActor, Target};
use crate::auth::{Admin, AuthUser};
use crate::error::{AppError, AppResult, FieldErrors, Json, OnConstraint, Path};
use crate::outbound::Outbound;
use crate::state::AppState;

/// More would make one page a flood of messages.
pub const MAX_PER_USER: i64 = 20;

const MAX_LABEL: usize = 100;
const MAX_URL: usize = 2000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/me/contact-methods", get(list_mine).post(create_mine))
        .route("/auth/me/contact-methods/{id}", delete(delete_mine))
        .route(
            "/users/{id}/contact-methods",
            get(list_for_user).post(create_for_user),
        )
        .route(
            "/users/{id}/contact-methods/{method_id}",
            delete(delete_for_user),
        )
}

/// A contact method that passed validation.
#[derive(Debug, PartialEq)]
struct NewContactMethod {
    kind: ContactKind,
    address: String,
    label: String,
}

/// An address mail can be sent to (as lettre reads it), at most 254 bytes: the check for every
/// address Vigil mails (contact methods, scheduled reports' recipients).
pub fn parse_email(address: &str) -> Result<String, &'static str> {
    if address.len() > 254 || address.parse::<lettre::Address>().is_err() {
        return Err("must be an email address such as name@example.com");
    }
    Ok(address.to_owned())
}

fn parse_webhook_url(address: &str, outbound: &Outbound) -> Result<String, String> {
    const PROBLEM: &str = "must be an http:// or https:// URL such as https://example.com/hook";
    if address.len() > MAX_URL || address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(PROBLEM.to_owned());
    }
    let url = reqwest::Url::parse(address).map_err(|_| PROBLEM.to_owned())?;
    let has_host = url.host_str().is_some_and(|h| !h.is_empty());
    if !matches!(url.scheme(), "http" | "https") || !has_host {
        return Err(PROBLEM.to_owned());
    }
    outbound.check_url(&url)?;
    Ok(address.to_owned())
}

impl NewContactMethod {
    fn parse(request: &ContactMethodRequest, outbound: &Outbound) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let kind = ContactKind::parse(request.kind.trim());
        if kind.is_none() {
            errors.add("kind", "must be email or webhook");
        }
        let address = request.address.trim();
        let address = match kind {
            _ if address.is_empty() => Err("is required".to_owned()),
            Some(ContactKind::Email) => parse_email(address).map_err(str::to_owned),
            Some(ContactKind::Webhook) => parse_webhook_url(address, outbound),
            None => Ok(String::new()),
        }
        .map_err(|e| errors.add("address", e))
        .unwrap_or_default();
        let label = request.label.trim();
        if label.chars().count() > MAX_LABEL {
            errors.add("label", format!("must be at most {MAX_LABEL} characters"));
        } else if label.chars().any(char::is_control) {
            errors.add("label", "must not contain control characters");
        }
        match kind {
            Some(kind) if errors.is_empty() => Ok(NewContactMethod {
                kind,
                address,
                label: label.to_owned(),
            }),
            _ => Err(errors),
        }
    }
}

fn kind_of(text: &str) -> ContactKind {
    // The table's CHECK allows only these two.
    ContactKind::parse(text).unwrap_or(ContactKind::Webhook)
}

pub fn no_such_method() -> AppError {
    AppError::not_found("There is no contact method with this id.")
}

/// A user's methods (not deleted), or one of them.
pub async fn select<'e>(
    db: impl PgExecutor<'e>,
    user: i64,
    id: Option<i64>,
) -> Result<Vec<ContactMethod>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT id, user_id, kind, address, label, created_at FROM user_contact_methods
         WHERE user_id = $1 AND deleted_at IS NULL AND ($2::bigint IS NULL OR id = $2)
         ORDER BY created_at, id",
        user,
        id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ContactMethod {
            id: r.id,
            user_id: r.user_id,
            kind: kind_of(&r.kind),
            address: r.address,
            label: r.label,
            created_at: r.created_at,
        })
        .collect())
}

/// Where a delivery to a contact method goes (also for deleted methods: their deliveries
/// fail rather than vanish).
pub struct Recipient {
    pub kind: ContactKind,
    pub address: String,
    pub deleted: bool,
}

pub async fn recipient<'e>(
    db: impl PgExecutor<'e>,
    id: i64,
) -> Result<Option<Recipient>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT kind, address, deleted_at IS NOT NULL AS "deleted!"
           FROM user_contact_methods WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Recipient {
        kind: kind_of(&r.kind),
        address: r.address,
        deleted: r.deleted,
    }))
}

/// The ids and kinds of a user's methods (not deleted), emails first: whom a page reaches.
pub async fn active<'e>(
    db: impl PgExecutor<'e>,
    user: i64,
) -> Result<Vec<(i64, ContactKind)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT id, kind FROM user_contact_methods
         WHERE user_id = $1 AND deleted_at IS NULL ORDER BY kind, id",
        user
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, kind_of(&r.kind))).collect())
}

/// A method as its user's delivery log names it, deleted or not.
pub struct LoggedMethod {
    pub id: i64,
    pub kind: ContactKind,
    pub address: String,
    pub label: String,
    pub deleted: bool,
}

/// Every method user `user` ever had, deleted ones included.
pub async fn ever_had<'e>(
    db: impl PgExecutor<'e>,
    user: i64,
) -> Result<Vec<LoggedMethod>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, kind, address, label, deleted_at IS NOT NULL AS "deleted!"
           FROM user_contact_methods WHERE user_id = $1 ORDER BY id"#,
        user
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| LoggedMethod {
            id: r.id,
            kind: kind_of(&r.kind),
            address: r.address,
            label: r.label,
            deleted: r.deleted,
        })
        .collect())
}

/// Answers 404 unless user `user` exists.
pub async fn require_user<'e>(db: impl PgExecutor<'e>, user: i64) -> AppResult<()> {
    sqlx::query_scalar!("SELECT id FROM users WHERE id = $1", user)
        .fetch_optional(db)
        .await?
        .map(|_| ())
        .ok_or_else(|| AppError::not_found("There is no user with this id."))
}

async fn create(
    db: &PgPool,
    actor: AuditActor<'_>,
    user: i64,
    request: &ContactMethodRequest,
    outbound: &Outbound,
) -> AppResult<ContactMethod> {
    let new = NewContactMethod::parse(request, outbound).map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    // The user's row lock makes the count below hold against a concurrent create.
    sqlx::query_scalar!("SELECT id FROM users WHERE id = $1 FOR UPDATE", user)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| AppError::not_found("There is no user with this id."))?;
    let count = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM user_contact_methods
           WHERE user_id = $1 AND deleted_at IS NULL"#,
        user
    )
    .fetch_one(&mut *tx)
    .await?;
    if count >= MAX_PER_USER {
        return Err(AppError::conflict(format!(
            "A user can have at most {MAX_PER_USER} contact methods; delete one first."
        )));
    }
    let id = sqlx::query_scalar!(
        "INSERT INTO user_contact_methods (user_id, kind, address, label)
         VALUES ($1, $2, $3, $4) RETURNING id",
        user,
        new.kind.as_str(),
        new.address,
        new.label
    )
    .fetch_one(&mut *tx)
    .await
    .on_constraint("user_contact_methods_address_key", || {
        AppError::conflict_on("address", "This contact method already exists.")
    })?;
    // Not the address: a webhook URL often holds a secret token.
    audit::record(
        &mut *tx,
        actor,
        "contact_method.create",
        Target::of("contact_method", id),
        json!({ "user_id": user, "kind": new.kind, "label": new.label }),
    )
    .await?;
    let method = select(&mut *tx, user, Some(id))
        .await?
        .pop()
        .ok_or_else(no_such_method)?;
    tx.commit().await?;
    Ok(method)
}

async fn remove(db: &PgPool, actor: AuditActor<'_>, user: i64, id: i64) -> AppResult<StatusCode> {
    let mut tx = db.begin().await?;
    let kind = sqlx::query_scalar!(
        "UPDATE user_contact_methods SET deleted_at = now()
         WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL RETURNING kind",
        id,
        user
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(no_such_method)?;
    audit::record(
        &mut *tx,
        actor,
        "contact_method.delete",
        Target::of("contact_method", id),
        json!({ "user_id": user, "kind": kind }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_mine(
    user: AuthUser,
    State(state): State<AppState>,
) -> AppResult<Json<ContactMethodList>> {
    Ok(Json(ContactMethodList {
        methods: select(&state.db, user.id, None).await?,
    }))
}

async fn create_mine(
    user: AuthUser,
    State(state): State<AppState>,
    Json(request): Json<ContactMethodRequest>,
) -> AppResult<(StatusCode, Json<ContactMethod>)> {
    let method = create(
        &state.db,
        user.audit_actor(),
        user.id,
        &request,
        &state.config.outbound,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(method)))
}

async fn delete_mine(
    user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    remove(&state.db, user.audit_actor(), user.id, id).await
}

async fn list_for_user(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Path(user): Path<i64>,
) -> AppResult<Json<ContactMethodList>> {
    require_user(&state.db, user).await?;
    Ok(Json(ContactMethodList {
        methods: select(&state.db, user, None).await?,
    }))
}

async fn create_for_user(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Path(user): Path<i64>,
    Json(request): Json<ContactMethodRequest>,
) -> AppResult<(StatusCode, Json<ContactMethod>)> {
    let method = create(
        &state.db,
        admin.audit_actor(),
        user,
        &request,
        &state.config.outbound,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(method)))
}

async fn delete_for_user(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Path((user, id)): Path<(i64, i64)>,
) -> AppResult<StatusCode> {
    remove(&state.db, admin.audit_actor(), user, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: &str, address: &str) -> ContactMethodRequest {
        ContactMethodRequest {
            kind: kind.to_owned(),
            address: address.to_owned(),
            label: String::new(),
        }
    }

    #[test]
    fn addresses_are_checked_for_their_kind() {
        let email = NewContactMethod::parse(
            &request("email", " rosa@example.com "),
            &Outbound::default(),
        )
        .unwrap();
        assert_eq!(email.address, "rosa@example.com");
        let hook = NewContactMethod::parse(
            &request("webhook", "https://hooks.example/x?t=1"),
            &Outbound::default(),
        );
        assert_eq!(hook.unwrap().kind, ContactKind::Webhook);
        for (kind, bad) in [
            ("email", "rosa"),
            ("email", "rosa@exa mple.com"),
            ("email", ""),
            ("webhook", "ftp://example.com/hook"),
            ("webhook", "https://"),
            ("webhook", "example.com/hook"),
            ("webhook", "https://example.com/a b"),
        ] {
            let errors =
                NewContactMethod::parse(&request(kind, bad), &Outbound::default()).unwrap_err();
            assert!(errors.to_string().starts_with("address"), "{kind} {bad:?}");
        }
    }

    #[test]
    fn an_unknown_kind_and_a_long_label_are_named() {
        let mut bad = request("sms", "+491701234567");
        bad.label = "x".repeat(101);
        let errors = NewContactMethod::parse(&bad, &Outbound::default())
            .unwrap_err()
            .into_map();
        assert!(errors.contains_key("kind"), "{errors:?}");
        assert!(errors.contains_key("label"), "{errors:?}");
        assert!(!errors.contains_key("address"), "{errors:?}");
    }
}
