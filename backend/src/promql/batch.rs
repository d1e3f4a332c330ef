//! `POST /api/v1/query/batch`: every query of one view of a dashboard in a single request.
//!
//! Each item is a range query (with `step`) or an instant query at `end`, evaluated by the same
//! [`Engine`] as `/prometheus/api/v1/query_range` and `/query` — so within the same limits, in
//! the same query slots and through the same sample cache (a refresh of a sliding window reads
//! only what changed). Items that ask the same thing are evaluated once. The batch is checked
//! whole before any work (422 naming the item and field); after that each item answers on its
//! own: a query that fails (bad PromQL, over a limit, out of time) fails only its item.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use futures::StreamExt;
use tokio::time::Instant;
use vigil_shared::dashboard::{BatchAnswer, BatchItem, BatchQuery, BatchResult};
use vigil_shared::prometheus::QueryData;

use super::api::{seconds_to_ms, to_data};
use super::{Engine, MAX_POINTS, QueryError, QueryLimits, QueryOutput};
use crate::auth::ReadAccess;
use crate::error::{AppError, AppResult, FieldErrors, Json};
use crate::state::AppState;

/// Most items one batch may hold (a dashboard of 50 panels with 4 queries each).
pub const MAX_ITEMS: usize = 200;
/// Longest expression an item may have.
pub const MAX_EXPR_BYTES: usize = 10 * 1024;
/// Longest item id (the caller's own name for the item, echoed back).
pub const MAX_ID_BYTES: usize = 200;

pub fn routes() -> Router<AppState> {
    Router::new().route("/query/batch", post(batch))
}

/// When an item is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Times {
    Instant {
        time_ms: i64,
    },
    Range {
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    },
}

/// One query to evaluate; items asking the same thing share it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Query {
    expr: String,
    times: Times,
}

/// A checked batch: the distinct queries, each with how many items it answers, and for every
/// item (in order) the index of its query.
#[derive(Debug, Default, PartialEq)]
struct Plan {
    queries: Vec<(Query, usize)>,
    item_query: Vec<usize>,
}

async fn batch(
    _access: ReadAccess,
    State(state): State<AppState>,
    Json(request): Json<BatchQuery>,
) -> AppResult<Json<BatchAnswer>> {
    let plan = plan(&request.queries)?;
    state
        .telemetry
        .record_query_batch(request.queries.len(), plan.queries.len());
    let answers = run(&state, &plan).await;
    let results = request
        .queries
        .into_iter()
        .zip(&plan.item_query)
        .map(|(item, &query)| match &answers[query] {
            Ok(data) => BatchResult {
                id: item.id,
                data: Some(data.clone()),
                error: None,
            },
            Err(message) => BatchResult {
                id: item.id,
                data: None,
                error: Some(message.clone()),
            },
        })
        .collect();
    Ok(Json(BatchAnswer { results }))
}

/// Checks every item's bounds and merges the items that ask the same thing.
fn plan(items: &[BatchItem]) -> AppResult<Plan> {
    if items.len() > MAX_ITEMS {
        return Err(AppError::invalid(
            "queries",
            format!(
                "holds {} queries; at most {MAX_ITEMS} are accepted in one batch",
                items.len()
            ),
        ));
    }
    let mut errors = FieldErrors::new();
    let mut plan = Plan::default();
    let mut seen: HashMap<Query, usize> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        let Some(query) = check(item, &format!("queries[{index}]"), &mut errors) else {
            continue;
        };
        let next = plan.queries.len();
        let at = *seen.entry(query.clone()).or_insert(next);
        if at == next {
            plan.queries.push((query, 0));
        }
        plan.queries[at].1 += 1;
        plan.item_query.push(at);
    }
    errors.into_result().map(|()| plan)
}

/// One item's query, or its problems added to `errors` under `path`. The checks are those of
/// `/prometheus/api/v1/query_range`, made here so that none of them costs a query slot.
fn check(item: &BatchItem, path: &str, errors: &mut FieldErrors) -> Option<Query> {
    let problems_before = errors.len();
    if item.id.len() > MAX_ID_BYTES {
        errors.add(
            &format!("{path}.id"),
            format!("must be at most {MAX_ID_BYTES} bytes long"),
        );
    }
    if item.expr.len() > MAX_EXPR_BYTES {
        errors.add(
            &format!("{path}.expr"),
            format!(
                "is {} bytes long; at most {MAX_EXPR_BYTES} are accepted",
                item.expr.len()
            ),
        );
    }
    let time = |field: &str, seconds: f64, errors: &mut FieldErrors| {
        let ms = seconds_to_ms(seconds);
        if ms.is_none() {
            errors.add(
                &format!("{path}.{field}"),
                "must be a unix time in seconds between the years 1653 and 2286",
            );
        }
        ms
    };
    let end_ms = time("end", item.end, errors);
    let times = match item.step {
        None => end_ms.map(|time_ms| Times::Instant { time_ms }),
        Some(step) => {
            let start_ms = match item.start {
                Some(start) => time("start", start, errors),
                None => {
                    errors.add(
                        &format!("{path}.start"),
                        "is required with a step (a range query)",
                    );
                    None
                }
            };
            let step_ms = (step * 1000.0).round();
            let step_ms = if (1.0..1e15).contains(&step_ms) {
                Some(step_ms as i64)
            } else {
                errors.add(
                    &format!("{path}.step"),
                    "must be a positive number of seconds (at least 0.001)",
                );
                None
            };
            range(path, start_ms, end_ms, step_ms, errors)
        }
    };
    if errors.len() != problems_before {
        return None;
    }
    Some(Query {
        expr: item.expr.clone(),
        times: times?,
    })
}

/// A range query's times, or their problem: the end before the start, or more points per
/// series than Prometheus allows.
fn range(
    path: &str,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    step_ms: Option<i64>,
    errors: &mut FieldErrors,
) -> Option<Times> {
    let (start_ms, end_ms, step_ms) = (start_ms?, end_ms?, step_ms?);
    if end_ms < start_ms {
        errors.add(&format!("{path}.end"), "must not be before start");
        return None;
    }
    if (end_ms - start_ms) / step_ms >= MAX_POINTS {
        errors.add(
            &format!("{path}.step"),
            format!(
                "gives {} points per series; at most {MAX_POINTS} are allowed (take a larger step)",
                (end_ms - start_ms) / step_ms + 1
            ),
        );
        return None;
    }
    Some(Times::Range {
        start_ms,
        end_ms,
        step_ms,
    })
}

/// Evaluates the plan's queries, a few at a time (as many as the server computes at once,
/// `--query-max-concurrency`), all within one deadline (`--query-timeout` for the whole
/// batch). The answers kept for the response are bounded too: together they may hold at most
/// `--query-max-samples` points, counting an answer once per item it answers.
async fn run(state: &AppState, plan: &Plan) -> Vec<Result<QueryData, String>> {
    let limits = state.config.query.clone();
    let deadline = Instant::now() + limits.timeout;
    let held = AtomicUsize::new(0);
    let at_once = state.metrics.config().max_concurrent_queries.max(1);
    let (limits, held) = (&limits, &held);
    futures::stream::iter(plan.queries.iter().cloned())
        .map(|(query, copies)| async move {
            let output = evaluate(state, &query, limits, deadline)
                .await
                .map_err(|error| error.message)?;
            let points = points(&output).saturating_mul(copies);
            let total = held.fetch_add(points, Ordering::Relaxed) + points;
            if total > limits.max_samples {
                return Err(format!(
                    "the batch's answers would hold more than {} points (the limit is set by \
                         --query-max-samples); ask for fewer queries or a larger step",
                    limits.max_samples
                ));
            }
            Ok(to_data(output))
        })
        .buffered(at_once)
        .collect()
        .await
}

/// One query, with what is left of the batch's time.
async fn evaluate(
    state: &AppState,
    query: &Query,
    limits: &QueryLimits,
    deadline: Instant,
) -> Result<QueryOutput, QueryError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left < Duration::from_millis(1) {
        return Err(QueryError::timeout(limits.timeout));
    }
    let engine = Engine::new(&state.metrics).with_limits(QueryLimits {
        timeout: left,
        ..limits.clone()
    });
    let result = match query.times {
        Times::Instant { time_ms } => engine.instant(&query.expr, time_ms).await,
        Times::Range {
            start_ms,
            end_ms,
            step_ms,
        } => engine.range(&query.expr, start_ms, end_ms, step_ms).await,
    };
    // A timeout names the batch's limit, not the part of it this query had left.
    result.map_err(|error| match error.kind {
        super::ErrorKind::Timeout => QueryError::timeout(limits.timeout),
        _ => error,
    })
}

/// Points an answer holds.
fn points(output: &QueryOutput) -> usize {
    match output {
        QueryOutput::Vector { samples, .. } => samples.len(),
        QueryOutput::Matrix(series) => series.iter().map(|(_, points)| points.len()).sum(),
        QueryOutput::Scalar { .. } | QueryOutput::String { .. } => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(expr: &str, start: Option<f64>, end: f64, step: Option<f64>) -> BatchItem {
        BatchItem {
            id: "q".to_owned(),
            expr: expr.to_owned(),
            start,
            end,
            step,
        }
    }

    fn fields(error: AppError) -> Vec<String> {
        match error {
            AppError::Validation(fields) => fields.into_map().into_keys().collect(),
            other => panic!("not a validation error: {other}"),
        }
    }

    #[test]
    fn identical_items_share_one_query_and_instants_ignore_their_start() {
        let plan = plan(&[
            item("up", Some(0.0), 600.0, Some(60.0)),
            item("up", None, 600.0, None),
            item("up", Some(0.0), 600.0, Some(60.0)),
            item("up", Some(100.0), 600.0, None),
            item("up", Some(0.0), 600.0, Some(30.0)),
        ])
        .unwrap();
        assert_eq!(plan.item_query, [0, 1, 0, 1, 2]);
        let copies: Vec<usize> = plan.queries.iter().map(|(_, copies)| *copies).collect();
        assert_eq!(copies, [2, 2, 1]);
    }

    #[test]
    fn bounds_are_named_by_item_and_field() {
        let long = "x".repeat(MAX_EXPR_BYTES + 1);
        let error = plan(&[
            item("up", Some(0.0), 600.0, Some(60.0)),
            item(&long, None, 600.0, None),
            item("up", Some(600.0), 0.0, Some(60.0)),
            item("up", Some(0.0), 600.0, Some(0.0)),
            item("up", None, 600.0, Some(60.0)),
            item("up", Some(0.0), 86_400.0 * 30.0, Some(1.0)),
            item("up", None, f64::NAN, None),
        ])
        .unwrap_err();
        assert_eq!(
            fields(error),
            [
                "queries[1].expr",
                "queries[2].end",
                "queries[3].step",
                "queries[4].start",
                "queries[5].step",
                "queries[6].end",
            ]
        );
        let many = vec![item("up", None, 0.0, None); MAX_ITEMS + 1];
        assert_eq!(fields(plan(&many).unwrap_err()), ["queries"]);
        assert!(plan(&many[..MAX_ITEMS]).is_ok());
    }
}
