//! Manual annotations: responders and up add them (a note on a time or a period, for every
//! dashboard or one); their author or an editor deletes them. Both are audited.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Datelike, Utc};
use serde_json::json;
use sqlx::PgConnection;
use vigil_shared::Role;
use vigil_shared::dashboard::{Annotation, NewAnnotation};

use crate::audit::{self, Target};
use crate::auth::{AuthUser, Responder};
use crate::dashboards::access::Who;
use crate::error::{AppError, AppResult, FieldErrors, Json, OnConstraint, Path};
use crate::state::AppState;

pub const MAX_TEXT_CHARS: usize = 2_000;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 50;
/// Most manual annotations kept: past it, adding one is refused (409) until some are deleted.
pub const MAX_ANNOTATIONS: i64 = 100_000;
/// Longest title taken from the text's first line.
const TITLE_CHARS: usize = 100;
/// The prefix of manual annotations' ids in the API (`manual:12`).
const ID_PREFIX: &str = "manual:";

/// A stored annotation.
#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    time: DateTime<Utc>,
    time_end: Option<DateTime<Utc>>,
    text: String,
    tags: Vec<String>,
    created_by: Option<i64>,
}

impl Row {
    /// As the API shows it: titled by the text's first line, the text in full below it when
    /// it says more.
    fn into_annotation(self) -> Annotation {
        let first_line = self.text.lines().next().unwrap_or_default().trim();
        let mut title: String = first_line.chars().take(TITLE_CHARS).collect();
        if title.len() < first_line.len() {
            title.push('…');
        }
        Annotation {
            id: format!("{ID_PREFIX}{}", self.id),
            source: "manual".to_owned(),
            time: self.time,
            time_end: self.time_end,
            text: if title == self.text {
                String::new()
            } else {
                self.text
            },
            title,
            tags: self.tags,
            severity: None,
            link: None,
        }
    }
}

/// A new annotation, checked.
#[derive(Debug, PartialEq)]
struct Checked {
    time: DateTime<Utc>,
    time_end: Option<DateTime<Utc>>,
    text: String,
    tags: Vec<String>,
    dashboard_id: Option<i64>,
}

/// Checks every field of `request` (times default to `now`), naming each one that is wrong.
fn check(request: &NewAnnotation, now: DateTime<Utc>) -> Result<Checked, FieldErrors> {
    let mut errors = FieldErrors::new();
    let text = request.text.trim();
    if text.is_empty() {
        errors.add("text", "must not be empty");
    } else if text.chars().count() > MAX_TEXT_CHARS {
        errors.add(
            "text",
            format!("must be at most {MAX_TEXT_CHARS} characters long"),
        );
    }
    let time = request.time.unwrap_or(now);
    for (field, at) in [("time", Some(time)), ("time_end", request.time_end)] {
        if at.is_some_and(|at| !(1970..=9999).contains(&at.year())) {
            errors.add(field, "must be between the years 1970 and 9999");
        }
    }
    if request.time_end.is_some_and(|end| end < time) {
        errors.add("time_end", "must not be before time");
    }
    let tags = check_tags(&request.tags, &mut errors);
    if request.dashboard_id.is_some_and(|id| id <= 0) {
        errors.add("dashboard_id", "must be a dashboard's id");
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Checked {
        time,
        time_end: request.time_end,
        text: text.to_owned(),
        tags,
        dashboard_id: request.dashboard_id,
    })
}

/// The tags trimmed and without repeats, or their problem added to `errors`. Commas are
/// refused: the list is filtered by a comma-separated `tags` parameter.
fn check_tags(tags: &[String], errors: &mut FieldErrors) -> Vec<String> {
    if tags.len() > MAX_TAGS {
        errors.add("tags", format!("at most {MAX_TAGS} tags are allowed"));
        return Vec::new();
    }
    let mut kept: Vec<String> = Vec::new();
    for tag in tags.iter().map(|tag| tag.trim()) {
        if tag.is_empty() || tag.chars().count() > MAX_TAG_CHARS || tag.contains(',') {
            errors.add(
                "tags",
                format!(
                    "each tag must be 1 to {MAX_TAG_CHARS} characters long, without commas \
                     (\"{tag}\" is not)"
                ),
            );
        } else if !kept.iter().any(|k| k == tag) {
            kept.push(tag.to_owned());
        }
    }
    kept
}

pub(super) async fn create(
    Responder(user): Responder,
    State(state): State<AppState>,
    Json(request): Json<NewAnnotation>,
) -> AppResult<(StatusCode, Json<Annotation>)> {
    let new = check(&request, Utc::now()).map_err(AppError::Validation)?;
    let mut tx = state.db.begin().await?;
    if let Some(dashboard) = new.dashboard_id {
        let who = Who::user(&mut tx, &user).await?;
        super::check_dashboard(&mut tx, &who, dashboard).await?;
    }
    // Counted under a lock, so concurrent adds cannot pass the bound together.
    sqlx::query("LOCK TABLE annotations IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM annotations")
        .fetch_one(&mut *tx)
        .await?;
    if count >= MAX_ANNOTATIONS {
        return Err(AppError::conflict(format!(
            "There are already {MAX_ANNOTATIONS} annotations, the most Vigil keeps; delete \
             some first."
        )));
    }
    let row: Row = sqlx::query_as(
        "INSERT INTO annotations (time, time_end, text, tags, dashboard_id, created_by)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, time, time_end, text, tags, created_by",
    )
    .bind(new.time)
    .bind(new.time_end)
    .bind(&new.text)
    .bind(&new.tags)
    .bind(new.dashboard_id)
    .bind(user.id)
    .fetch_one(&mut *tx)
    .await
    .on_constraint("annotations_dashboard_id_fkey", || {
        AppError::invalid("dashboard_id", "the dashboard was just deleted")
    })?;
    let annotation = row.into_annotation();
    audit::record(
        &mut *tx,
        user.audit_actor(),
        "annotation.create",
        Target::of("annotation", &annotation.id),
        json!({ "time": new.time, "time_end": new.time_end, "text": new.text,
                "tags": new.tags, "dashboard_id": new.dashboard_id }),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(annotation)))
}

/// The stored id an API id names: `manual:12` (or plain `12`). Incidents and alerts are not
/// deleted as annotations.
fn stored_id(id: &str) -> AppResult<i64> {
    if id.starts_with("incident:") || id.starts_with("alert:") {
        return Err(AppError::bad_request(
            "Incidents and alert firing periods are shown as annotations but are not \
             annotations of their own; only manual ones (manual:<id>) can be deleted.",
        ));
    }
    id.strip_prefix(ID_PREFIX)
        .unwrap_or(id)
        .parse()
        .map_err(|_| AppError::not_found(format!("There is no annotation {id}.")))
}

pub(super) async fn remove(
    user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let stored = stored_id(&id)?;
    let mut tx = state.db.begin().await?;
    let row: Row = sqlx::query_as(
        "SELECT id, time, time_end, text, tags, created_by FROM annotations
         WHERE id = $1 FOR UPDATE",
    )
    .bind(stored)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::not_found(format!("There is no annotation {id}.")))?;
    if row.created_by != Some(user.id) && !user.role.includes(Role::Editor) {
        return Err(AppError::forbidden(
            "Only the annotation's author or an editor may delete it.",
        ));
    }
    sqlx::query("DELETE FROM annotations WHERE id = $1")
        .bind(stored)
        .execute(&mut *tx)
        .await?;
    let annotation = row.into_annotation();
    audit::record(
        &mut *tx,
        user.audit_actor(),
        "annotation.delete",
        Target::of("annotation", &annotation.id),
        json!({ "annotation": annotation }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The manual annotations overlapping `[from, to]` that carry every one of `tags`: global
/// ones, and those of `dashboard` when one is named. The newest `limit`, newest first.
pub(super) async fn overlapping(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    tags: &[String],
    dashboard: Option<i64>,
    limit: i64,
) -> Result<Vec<Annotation>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, time, time_end, text, tags, created_by FROM annotations
         WHERE time <= $2 AND coalesce(time_end, time) >= $1
           AND tags @> $3
           AND (dashboard_id IS NULL OR dashboard_id = $4)
         ORDER BY time DESC, id DESC
         LIMIT $5",
    )
    .bind(from)
    .bind(to)
    .bind(tags)
    .bind(dashboard)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Row::into_annotation).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: &str) -> NewAnnotation {
        NewAnnotation {
            time: None,
            time_end: None,
            text: text.to_owned(),
            tags: Vec::new(),
            dashboard_id: None,
        }
    }

    fn fields(errors: FieldErrors) -> Vec<String> {
        errors.into_map().into_keys().collect()
    }

    #[test]
    fn a_new_annotation_is_trimmed_and_its_tags_kept_once() {
        let now = Utc::now();
        let checked = check(
            &NewAnnotation {
                tags: vec![" deploy ".into(), "deploy".into(), "v2".into()],
                ..request("  Deployed v2  ")
            },
            now,
        )
        .unwrap();
        assert_eq!(checked.text, "Deployed v2");
        assert_eq!(checked.tags, ["deploy", "v2"]);
        assert_eq!(checked.time, now);
    }

    #[test]
    fn every_wrong_field_is_named() {
        let now = Utc::now();
        let errors = check(
            &NewAnnotation {
                time_end: Some(now - chrono::Duration::minutes(1)),
                tags: vec!["a,b".into()],
                dashboard_id: Some(0),
                ..request(" ")
            },
            now,
        )
        .unwrap_err();
        assert_eq!(fields(errors), ["dashboard_id", "tags", "text", "time_end"]);
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(fields(check(&request(&long), now).unwrap_err()), ["text"]);
        let many = NewAnnotation {
            tags: (0..=MAX_TAGS).map(|i| i.to_string()).collect(),
            ..request("ok")
        };
        assert_eq!(fields(check(&many, now).unwrap_err()), ["tags"]);
    }

    #[test]
    fn a_manual_annotation_is_titled_by_its_first_line() {
        let row = |text: &str| Row {
            id: 7,
            time: Utc::now(),
            time_end: None,
            text: text.to_owned(),
            tags: Vec::new(),
            created_by: None,
        };
        let one_line = row("Deployed v2").into_annotation();
        assert_eq!(one_line.id, "manual:7");
        assert_eq!(
            (one_line.title.as_str(), one_line.text.as_str()),
            ("Deployed v2", "")
        );
        let two_lines = row("Deployed v2\nwith the new cache").into_annotation();
        assert_eq!(two_lines.title, "Deployed v2");
        assert_eq!(two_lines.text, "Deployed v2\nwith the new cache");
    }

    #[test]
    fn only_manual_ids_name_stored_annotations() {
        assert_eq!(stored_id("manual:12").unwrap(), 12);
        assert_eq!(stored_id("12").unwrap(), 12);
        assert!(matches!(
            stored_id("incident:3"),
            Err(AppError::BadRequest { .. })
        ));
        assert!(matches!(stored_id("manual:x"), Err(AppError::NotFound(_))));
    }
}
