//! Scraping, as Prometheus does it: `/api/v1/scrape-targets` (editors write, every user reads),
//! a worker that fetches each target's metrics on its interval, and Vigil scraping its own
//! `/metrics` (in-process) so there is always data.

pub mod parse;
pub mod worker;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;
use sqlx::PgExecutor;
use sqlx::types::Json as SqlJson;
use vigil_shared::scrape::{ScrapeTarget, ScrapeTargetList, ScrapeTargetRequest};

use crate::alerting::rules::prometheus_duration;
use crate::audit::{self, Target};
use crate::auth::{AuthUser, Editor};
use crate::error::{AppError, AppResult, FieldErrors, Json, OnConstraint, Path};
use crate::metrics::model::is_valid_label_name;
use crate::outbound::Outbound;
use crate::state::AppState;
use promql_parser::util::duration::display_duration;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/scrape-targets", get(list).post(create))
        .route(
            "/scrape-targets/{id}",
            get(get_one).patch(update).delete(delete),
        )
}

struct Valid {
    job: String,
    url: String,
    interval: Duration,
    timeout: Duration,
    labels: BTreeMap<String, String>,
    enabled: bool,
}

fn validate(request: &ScrapeTargetRequest, outbound: &Outbound) -> Result<Valid, FieldErrors> {
    let mut errors = FieldErrors::new();
    let job = request.job.trim();
    if job.is_empty() || job.chars().count() > 100 {
        errors.add("job", "is required (at most 100 characters)");
    }
    let url = request.url.trim();
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {
            if let Err(why) = outbound.check_url(&parsed) {
                errors.add("url", why);
            }
        }
        _ => errors.add(
            "url",
            "must be an http:// or https:// address such as http://host:9100/metrics",
        ),
    }
    let mut duration = |field: &str, text: &str| match prometheus_duration(text) {
        Ok(d) if d >= Duration::from_secs(1) && d <= Duration::from_secs(86_400) => d,
        Ok(_) => {
            errors.add(field, "must be between 1s and 1d");
            Duration::ZERO
        }
        Err(_) => {
            errors.add(
                field,
                format!("{text:?} is not a duration; write e.g. 15s or 1m"),
            );
            Duration::ZERO
        }
    };
    let interval = duration("interval", &request.interval);
    let timeout = duration("timeout", &request.timeout);
    if !interval.is_zero() && timeout > interval {
        errors.add("timeout", "must not be longer than the interval");
    }
    for name in request.labels.keys() {
        if !is_valid_label_name(name) || name.starts_with("__") {
            errors.add("labels", format!("{name:?} is not a valid label name"));
        } else if matches!(name.as_str(), "job" | "instance") {
            errors.add("labels", format!("{name:?} is set from the target itself"));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Valid {
        job: job.to_owned(),
        url: url.to_owned(),
        interval,
        timeout,
        labels: request.labels.clone(),
        enabled: request.enabled,
    })
}

async fn select<'e>(
    db: impl PgExecutor<'e>,
    id: Option<i64>,
) -> Result<Vec<ScrapeTarget>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, job, url, interval_seconds, timeout_seconds, enabled, health,
                  last_scrape_at, last_duration_ms, last_error, last_sample_count,
                  labels AS "labels!: SqlJson<BTreeMap<String, String>>"
           FROM scrape_targets WHERE $1::bigint IS NULL OR id = $1 ORDER BY job, url"#,
        id
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(ScrapeTarget {
                id: r.id,
                target: ScrapeTargetRequest {
                    job: r.job,
                    url: r.url,
                    interval: display_duration(&Duration::from_secs(
                        r.interval_seconds.max(0) as u64
                    )),
                    timeout: display_duration(
                        &Duration::from_secs(r.timeout_seconds.max(0) as u64),
                    ),
                    labels: r.labels.0,
                    enabled: r.enabled,
                },
                health: crate::db::stored("scrape_targets.health", &r.health)?,
                last_scrape_at: r.last_scrape_at,
                last_duration_ms: r.last_duration_ms,
                last_error: r.last_error,
                last_sample_count: r.last_sample_count,
            })
        })
        .collect()
}

async fn find<'e>(db: impl PgExecutor<'e>, id: i64) -> AppResult<ScrapeTarget> {
    select(db, Some(id))
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("There is no scrape target with this id."))
}

fn url_taken() -> AppError {
    AppError::conflict_on("url", "This URL is already scraped.")
}

async fn list(_user: AuthUser, State(state): State<AppState>) -> AppResult<Json<ScrapeTargetList>> {
    Ok(Json(ScrapeTargetList {
        targets: select(&state.db, None).await?,
    }))
}

async fn get_one(
    _user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<ScrapeTarget>> {
    find(&state.db, id).await.map(Json)
}

async fn create(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Json(request): Json<ScrapeTargetRequest>,
) -> AppResult<(StatusCode, Json<ScrapeTarget>)> {
    let valid = validate(&request, &state.config.outbound).map_err(AppError::Validation)?;
    let mut tx = state.db.begin().await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO scrape_targets (job, url, interval_seconds, timeout_seconds, labels, enabled)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        valid.job,
        valid.url,
        valid.interval.as_secs() as i32,
        valid.timeout.as_secs() as i32,
        serde_json::to_value(&valid.labels).unwrap_or_default(),
        valid.enabled
    )
    .fetch_one(&mut *tx)
    .await
    .on_constraint("scrape_targets_url_key", url_taken)?;
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "scrape_target.create",
        Target::of("scrape_target", id),
        json!({ "job": valid.job, "url": valid.url }),
    )
    .await?;
    let target = find(&mut *tx, id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(target)))
}

async fn update(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(request): Json<ScrapeTargetRequest>,
) -> AppResult<Json<ScrapeTarget>> {
    let valid = validate(&request, &state.config.outbound).map_err(AppError::Validation)?;
    let mut tx = state.db.begin().await?;
    let updated = sqlx::query!(
        "UPDATE scrape_targets
         SET job = $2, url = $3, interval_seconds = $4, timeout_seconds = $5, labels = $6,
             enabled = $7, updated_at = now(), next_scrape_at = now()
         WHERE id = $1",
        id,
        valid.job,
        valid.url,
        valid.interval.as_secs() as i32,
        valid.timeout.as_secs() as i32,
        serde_json::to_value(&valid.labels).unwrap_or_default(),
        valid.enabled
    )
    .execute(&mut *tx)
    .await
    .on_constraint("scrape_targets_url_key", url_taken)?;
    if updated.rows_affected() == 0 {
        return Err(AppError::not_found(
            "There is no scrape target with this id.",
        ));
    }
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "scrape_target.update",
        Target::of("scrape_target", id),
        json!({ "job": valid.job, "url": valid.url }),
    )
    .await?;
    let target = find(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(Json(target))
}

async fn delete(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let deleted = sqlx::query!("DELETE FROM scrape_targets WHERE id = $1", id)
        .execute(&mut *tx)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(AppError::not_found(
            "There is no scrape target with this id.",
        ));
    }
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "scrape_target.delete",
        Target::of("scrape_target", id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
