//! `POST /api/v1/dashboards/import`: a dashboard in Vigil's JSON or Grafana's (told apart by
//! shape), converted, checked and saved, with a report of what could not be converted. A dry
//! run converts and checks only. Provisioning reads its files through [`read`] too.

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};
use sqlx::PgConnection;
use vigil_shared::dashboard::{DashboardModel, ImportDashboard, ImportNote, ImportReport};

use super::access::Who;
use super::api::{parse, summary_of};
use super::grafana::{self, Converted, Format};
use super::store::{self, Key, Stored};
use super::validate;
use crate::audit::{self, Target};
use crate::auth::{AuthUser, Editor};
use crate::error::{AppError, AppResult, FieldErrors, Json};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboards/import", post(import))
        .layer(DefaultBodyLimit::max(validate::MAX_BODY_BYTES))
}

/// A dashboard read from either format and checked: its format and what it converts to. The
/// problems are keyed by JSON path: Grafana's (`schemaVersion`) when it could not be
/// converted, the model's (`panels.panel-3.queries[0].expr`) when the result is invalid.
pub fn read(dashboard: &Value) -> Result<(Format, Converted), FieldErrors> {
    let (format, mut converted) = match grafana::detect(dashboard) {
        Some(Format::Grafana) => (
            Format::Grafana,
            grafana::convert(dashboard).map_err(|e| field_error(&e.path, e.message))?,
        ),
        Some(Format::Vigil) => (Format::Vigil, vigil_model(dashboard)?),
        None => {
            return Err(field_error(
                "dashboard",
                "is neither Vigil's model (with `panels` and `layout`) nor a Grafana \
                 dashboard (with `schemaVersion` and a `panels` list)",
            ));
        }
    };
    if let Some(uid) = converted.uid.take() {
        match validate::uid(&uid) {
            Ok(()) => converted.uid = Some(uid),
            Err(problem) => converted.notes.push(ImportNote {
                path: "uid".to_owned(),
                message: format!("`{uid}` {problem}; a new uid is made up"),
            }),
        }
    }
    let problems = validate::model(&converted.model);
    if problems.is_empty() {
        Ok((format, converted))
    } else {
        Err(problems)
    }
}

/// Vigil's model as exported: the model itself (a `uid` beside its fields is kept), or the
/// API's answer holding it under `model`.
fn vigil_model(dashboard: &Value) -> Result<Converted, FieldErrors> {
    let model = dashboard
        .get("model")
        .filter(|m| m.is_object())
        .unwrap_or(dashboard);
    let model: DashboardModel = serde_path_to_error::deserialize(model)
        .map_err(|error| field_error(&error.path().to_string(), error.into_inner().to_string()))?;
    Ok(Converted {
        uid: dashboard
            .get("uid")
            .and_then(Value::as_str)
            .map(str::to_owned),
        model,
        notes: Vec::new(),
    })
}

fn field_error(path: &str, message: impl Into<String>) -> FieldErrors {
    let mut problems = FieldErrors::new();
    problems.add(if path.is_empty() { "dashboard" } else { path }, message);
    problems
}

async fn import(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Json(body): Json<Value>,
) -> AppResult<(StatusCode, Json<ImportReport>)> {
    let request: ImportDashboard = parse(body)?;
    let (format, converted) = read(&request.dashboard).map_err(AppError::Validation)?;
    let mut report = ImportReport {
        format: format.name().to_owned(),
        panels: converted.model.panels.len(),
        variables: converted.model.variables.len(),
        model: converted.model,
        dashboard: None,
        notes: converted.notes,
    };
    if request.dry_run {
        return Ok((StatusCode::OK, Json(report)));
    }
    let message = format!("imported from {}", format.name());
    let mut tx = state.db.begin().await?;
    let who = Who::user(&mut tx, &editor).await?;
    let existing = match &converted.uid {
        Some(uid) => store::lock(&mut tx, &Key::Uid(uid.clone())).await?,
        None => None,
    };
    let (status, stored, action) = match existing {
        None => {
            let stored = store::create(
                &mut tx,
                &report.model,
                converted.uid.as_deref(),
                Some(editor.id),
                &message,
            )
            .await?;
            (StatusCode::CREATED, stored, "dashboard.import")
        }
        Some(current) => {
            check_overwrite(&who, &current, request.overwrite)?;
            let stored =
                store::update(&mut tx, &current, &report.model, Some(editor.id), &message).await?;
            (StatusCode::OK, stored, "dashboard.import_overwrite")
        }
    };
    record(&mut tx, &editor, action, &stored, format).await?;
    tx.commit().await?;
    report.dashboard = Some(summary_of(&who, stored));
    Ok((status, Json(report)))
}

/// Whether an import may replace `current`, the dashboard holding its uid: only when asked
/// to, by someone who may edit it, and not over a provisioned one (its file would undo it).
fn check_overwrite(who: &Who, current: &Stored, overwrite: bool) -> AppResult<()> {
    let taken = || {
        AppError::conflict_on(
            "uid",
            format!(
                "A dashboard with the uid {} already exists; import with overwrite to save \
                 this as its new version.",
                current.uid
            ),
        )
    };
    if !overwrite || !who.sees(&current.model.viewable_by) {
        return Err(taken());
    }
    if !who.edits(&current.model.viewable_by, &current.model.editable_by) {
        return Err(AppError::forbidden(
            "A dashboard with this uid exists and you may not change it.",
        ));
    }
    if let Some(source) = &current.provisioned {
        return Err(AppError::conflict_on(
            "uid",
            format!(
                "The dashboard with this uid is provisioned from {source}; it cannot be replaced by an import."
            ),
        ));
    }
    Ok(())
}

async fn record(
    conn: &mut PgConnection,
    editor: &AuthUser,
    action: &str,
    stored: &Stored,
    format: Format,
) -> AppResult<()> {
    audit::record(
        &mut *conn,
        editor.audit_actor(),
        action,
        Target::of("dashboard", stored.id),
        json!({ "uid": stored.uid, "title": stored.model.title, "version": stored.version,
                "format": format.name() }),
    )
    .await?;
    Ok(())
}
