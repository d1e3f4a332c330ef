//! PromQL: queries parsed with the `promql-parser` crate and evaluated by Vigil over the
//! samples in PostgreSQL, with Prometheus' semantics (those of Prometheus 2.42, the reference
//! the known-answer tests were recorded with): a 5-minute lookback, staleness markers, closed
//! `[t - range, t]` windows, and its extrapolation rules for `rate` and friends.
//!
//! A query runs in three phases: plan (find every selector and the time window it needs),
//! fetch (one read per selector), evaluate (walk the expression over all steps at once).

mod aggregate;
pub mod api;
pub mod batch;
mod binary;
mod eval;
mod functions;
pub mod limits;
mod rollups;
pub mod value;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{AtModifier, Expr, Offset, VectorSelector};

use crate::metrics::MetricStore;
use crate::metrics::model::{Labels, METRIC_NAME, Sample};
use crate::metrics::store::SampleReadError;

pub use eval::Evaluator;
pub use limits::{Budget, QueryLimits};
use value::Value;

/// Prometheus' default lookback for instant selectors.
pub const LOOKBACK_MS: i64 = 5 * 60 * 1000;
/// Step of subqueries that give none (Prometheus' default evaluation interval).
pub const DEFAULT_SUBQUERY_STEP_MS: i64 = 60_000;
/// Most points per series a range query may ask for (Prometheus' limit).
pub const MAX_POINTS: i64 = 11_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The query or its parameters are wrong (HTTP 400, `bad_data`).
    BadData,
    /// The query is valid but cannot be evaluated (HTTP 422, `execution`).
    Execution,
    /// The query ran out of time (HTTP 503, `timeout`).
    Timeout,
    /// The database cannot be reached (HTTP 503, `unavailable`).
    Unavailable,
    /// Something broke on our side (HTTP 500, `internal`).
    Internal,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    pub kind: ErrorKind,
    pub message: String,
}

impl QueryError {
    pub fn bad_data(message: impl Into<String>) -> Self {
        QueryError {
            kind: ErrorKind::BadData,
            message: message.into(),
        }
    }

    pub fn execution(message: impl Into<String>) -> Self {
        QueryError {
            kind: ErrorKind::Execution,
            message: message.into(),
        }
    }

    pub fn timeout(after: Duration) -> Self {
        QueryError {
            kind: ErrorKind::Timeout,
            message: format!(
                "query timed out in expression evaluation after {}s (the limit is set by --query-timeout)",
                after.as_secs_f64()
            ),
        }
    }
}

impl From<sqlx::Error> for QueryError {
    fn from(error: sqlx::Error) -> Self {
        if crate::error::is_unavailable(&error) {
            QueryError {
                kind: ErrorKind::Unavailable,
                message: "the database is unavailable".to_owned(),
            }
        } else {
            tracing::error!(%error, "query failed in the database");
            QueryError {
                kind: ErrorKind::Internal,
                message: "the query failed inside Vigil; it has been logged".to_owned(),
            }
        }
    }
}

/// The result of a query, ready for the HTTP API.
#[derive(Clone, Debug, PartialEq)]
pub enum QueryOutput {
    /// Instant query: each series' value at the evaluation time.
    Vector {
        time_ms: i64,
        samples: Vec<(Labels, f64)>,
    },
    /// Range query (or an instant query of a range selector): each series' points.
    Matrix(Vec<(Labels, Vec<(i64, f64)>)>),
    Scalar {
        time_ms: i64,
        value: f64,
    },
    String {
        time_ms: i64,
        value: String,
    },
}

/// The series a selector matched and their samples over the window the query needs.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub labels: Labels,
    /// Sorted by time; staleness markers kept (they end a series for instant selectors).
    pub samples: Arc<Vec<Sample>>,
}

/// Fetched data by selector (keyed by the selector node's address in the parsed expression).
pub type FetchedData = HashMap<usize, Vec<Fetched>>;

pub fn selector_key(selector: &VectorSelector) -> usize {
    selector as *const VectorSelector as usize
}

/// Parses a query within the default limits, with Prometheus' wording for errors.
pub fn parse(query: &str) -> Result<Expr, QueryError> {
    limits::parse(query, &QueryLimits::default())
}

/// Every matcher of a selector, the metric name included.
pub fn selector_matchers(selector: &VectorSelector) -> Vec<Vec<Matcher>> {
    let mut groups: Vec<Vec<Matcher>> = if selector.matchers.or_matchers.is_empty() {
        vec![selector.matchers.matchers.clone()]
    } else {
        selector.matchers.or_matchers.clone()
    };
    if let Some(name) = &selector.name {
        for group in &mut groups {
            if !group.iter().any(|m| m.name == METRIC_NAME) {
                group.push(Matcher::new(MatchOp::Equal, METRIC_NAME, name));
            }
        }
    }
    groups
}

pub fn offset_ms(offset: &Option<Offset>) -> i64 {
    match offset {
        Some(Offset::Pos(d)) => d.as_millis() as i64,
        Some(Offset::Neg(d)) => -(d.as_millis() as i64),
        None => 0,
    }
}

fn millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

/// The fixed evaluation time an `@` modifier asks for.
pub fn at_ms(at: &Option<AtModifier>, query_start: i64, query_end: i64) -> Option<i64> {
    match at {
        None => None,
        Some(AtModifier::Start) => Some(query_start),
        Some(AtModifier::End) => Some(query_end),
        Some(AtModifier::At(time)) => Some(millis(*time)),
    }
}

fn duration_ms(d: &Duration) -> i64 {
    d.as_millis() as i64
}

/// One read the query needs.
struct Fetch {
    key: usize,
    matchers: Vec<Vec<Matcher>>,
    start_ms: i64,
    end_ms: i64,
}

/// Walks the expression, recording for each selector the time window its evaluation at
/// times in `[lo, hi]` reads.
fn plan(expr: &Expr, lo: i64, hi: i64, query: (i64, i64), out: &mut Vec<Fetch>) {
    match expr {
        Expr::VectorSelector(vs) => {
            let offset = offset_ms(&vs.offset);
            let (lo, hi) = match at_ms(&vs.at, query.0, query.1) {
                Some(at) => (at, at),
                None => (lo, hi),
            };
            out.push(Fetch {
                key: selector_key(vs),
                matchers: selector_matchers(vs),
                start_ms: lo - offset - LOOKBACK_MS,
                end_ms: hi - offset,
            });
        }
        Expr::MatrixSelector(ms) => {
            let vs = &ms.vs;
            let offset = offset_ms(&vs.offset);
            let (lo, hi) = match at_ms(&vs.at, query.0, query.1) {
                Some(at) => (at, at),
                None => (lo, hi),
            };
            out.push(Fetch {
                key: selector_key(vs),
                matchers: selector_matchers(vs),
                start_ms: lo - offset - duration_ms(&ms.range),
                end_ms: hi - offset,
            });
        }
        Expr::Subquery(sq) => {
            let offset = offset_ms(&sq.offset);
            let (lo, hi) = match at_ms(&sq.at, query.0, query.1) {
                Some(at) => (at, at),
                None => (lo, hi),
            };
            plan(
                &sq.expr,
                lo - offset - duration_ms(&sq.range),
                hi - offset,
                query,
                out,
            );
        }
        Expr::Aggregate(a) => {
            plan(&a.expr, lo, hi, query, out);
            if let Some(param) = &a.param {
                plan(param, lo, hi, query, out);
            }
        }
        Expr::Unary(u) => plan(&u.expr, lo, hi, query, out),
        Expr::Binary(b) => {
            plan(&b.lhs, lo, hi, query, out);
            plan(&b.rhs, lo, hi, query, out);
        }
        Expr::Paren(p) => plan(&p.expr, lo, hi, query, out),
        Expr::Call(call) => {
            for arg in &call.args.args {
                plan(arg, lo, hi, query, out);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Cancels a query's budget when the evaluation's future is dropped.
struct CancelOnDrop(Arc<Budget>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Runs queries against a metric store, each within the engine's limits.
pub struct Engine<'a> {
    store: &'a MetricStore,
    use_rollups: bool,
    limits: QueryLimits,
}

impl<'a> Engine<'a> {
    pub fn new(store: &'a MetricStore) -> Self {
        Engine {
            store,
            use_rollups: true,
            limits: QueryLimits::default(),
        }
    }

    /// An engine that always reads raw samples (to check rollups against).
    pub fn raw_only(store: &'a MetricStore) -> Self {
        Engine {
            use_rollups: false,
            ..Engine::new(store)
        }
    }

    /// The same engine with other limits (those the server was started with, say).
    pub fn with_limits(self, limits: QueryLimits) -> Self {
        Engine { limits, ..self }
    }

    /// Evaluates `query` at one time.
    pub async fn instant(&self, query: &str, time_ms: i64) -> Result<QueryOutput, QueryError> {
        let expr = Arc::new(limits::parse(query, &self.limits)?);
        let steps = vec![time_ms];
        let value = self.evaluate(expr, steps, time_ms, time_ms, 1).await?;
        Ok(match value {
            Value::Scalar(v) => QueryOutput::Scalar {
                time_ms,
                value: v[0],
            },
            Value::String(s) => QueryOutput::String { time_ms, value: s },
            Value::Vector(series) => QueryOutput::Vector {
                time_ms,
                samples: series
                    .into_iter()
                    .filter_map(|s| s.points[0].map(|v| (s.labels, v)))
                    .collect(),
            },
            Value::Range(range) => {
                let end = range.window_end.at(time_ms);
                let start = end - range.range_ms;
                QueryOutput::Matrix(
                    range
                        .series
                        .into_iter()
                        .filter_map(|s| {
                            let points: Vec<(i64, f64)> = s
                                .samples
                                .iter()
                                .filter(|p| p.timestamp_ms >= start && p.timestamp_ms <= end)
                                .map(|p| (p.timestamp_ms, p.value))
                                .collect();
                            (!points.is_empty()).then_some((s.labels, points))
                        })
                        .collect(),
                )
            }
        })
    }

    /// Evaluates `query` at `start`, `start + step`, … up to `end`.
    pub async fn range(
        &self,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryOutput, QueryError> {
        if end_ms < start_ms {
            return Err(QueryError::bad_data(
                "invalid parameter \"end\": end timestamp must not be before start time",
            ));
        }
        if step_ms <= 0 {
            return Err(QueryError::bad_data(
                "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
            ));
        }
        if (end_ms - start_ms) / step_ms >= MAX_POINTS {
            return Err(QueryError::bad_data(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
            ));
        }
        let expr = Arc::new(limits::parse(query, &self.limits)?);
        match expr.value_type() {
            ValueType::Vector | ValueType::Scalar => {}
            other => {
                return Err(QueryError::bad_data(format!(
                    "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                    match other {
                        ValueType::Matrix => "range vector",
                        ValueType::String => "string",
                        _ => "unknown",
                    }
                )));
            }
        }
        let steps: Vec<i64> = (0..=(end_ms - start_ms) / step_ms)
            .map(|i| start_ms + i * step_ms)
            .collect();
        let value = self
            .evaluate(expr, steps.clone(), start_ms, end_ms, step_ms)
            .await?;
        let mut matrix: Vec<(Labels, Vec<(i64, f64)>)> = match value {
            Value::Scalar(values) => vec![(
                Labels::default(),
                steps.iter().copied().zip(values).collect(),
            )],
            Value::Vector(series) => series
                .into_iter()
                .filter_map(|s| {
                    let points: Vec<(i64, f64)> = steps
                        .iter()
                        .zip(&s.points)
                        .filter_map(|(t, v)| v.map(|v| (*t, v)))
                        .collect();
                    (!points.is_empty()).then_some((s.labels, points))
                })
                .collect(),
            other => {
                return Err(QueryError::execution(format!(
                    "invalid expression type \"{}\" for range query",
                    other.kind()
                )));
            }
        };
        matrix.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(QueryOutput::Matrix(matrix))
    }

    /// Fetches what `expr` reads and evaluates it at `steps`, within one budget: the fetch
    /// stops at the query's deadline, and the evaluation runs on a blocking thread (it is
    /// CPU work that must not hold up the server's other requests) and checks the deadline
    /// as it goes.
    async fn evaluate(
        &self,
        expr: Arc<Expr>,
        steps: Vec<i64>,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Value, QueryError> {
        let budget = Arc::new(Budget::new(&self.limits));
        // If the caller stops waiting (a client that went away), the evaluation stops too.
        let _cancel_when_dropped = CancelOnDrop(budget.clone());
        let started = std::time::Instant::now();
        let deadline = budget.deadline().into();
        let _slot = tokio::time::timeout_at(deadline, self.store.query_slot())
            .await
            .map_err(|_| QueryError::timeout(self.limits.timeout))?;
        let fetched = tokio::time::timeout_at(
            deadline,
            self.fetch(&expr, steps.len(), start_ms, end_ms, step_ms, &budget),
        )
        .await
        .map_err(|_| QueryError::timeout(self.limits.timeout))??;
        let (data, rollup_data, loaded) = fetched;
        let fetch_time = started.elapsed();
        let rollup_selectors = rollup_data.by_selector.len();
        let step_count = steps.len();
        let value = tokio::task::spawn_blocking(move || {
            let evaluator =
                Evaluator::new(&data, &rollup_data, &steps, (start_ms, end_ms), &budget);
            evaluator.eval(&expr)
        })
        .await
        .map_err(|error| {
            tracing::error!(%error, "a query's evaluation panicked");
            QueryError {
                kind: ErrorKind::Internal,
                message: "the query failed inside Vigil; it has been logged".to_owned(),
            }
        })?;
        tracing::debug!(
            steps = step_count,
            samples = loaded,
            rollup_selectors,
            fetch_ms = fetch_time.as_millis() as u64,
            eval_ms = (started.elapsed() - fetch_time).as_millis() as u64,
            "query evaluated"
        );
        value
    }

    /// Reads the samples and rollup rows every selector of `expr` needs, charging them to
    /// `budget` (a read stops as soon as it would pass it).
    async fn fetch(
        &self,
        expr: &Expr,
        step_count: usize,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
        budget: &Budget,
    ) -> Result<(FetchedData, rollups::RollupData, usize), QueryError> {
        let mut fetches = Vec::new();
        plan(expr, start_ms, end_ms, (start_ms, end_ms), &mut fetches);
        self.store.catalog.refresh(self.store.pool()).await?;

        // Instant queries pass a step of 0: any single time may use rollups if aligned.
        let rollup_step = if step_count == 1 { 0 } else { step_ms };
        let rollup_data = if self.use_rollups {
            rollups::plan(self.store, expr, start_ms, end_ms, rollup_step)
                .await?
                .fetch(self.store, budget)
                .await?
        } else {
            rollups::RollupData::default()
        };
        let mut data: FetchedData = HashMap::new();
        let mut loaded = 0usize;
        for fetch in fetches {
            if rollup_data.covers(fetch.key) {
                continue;
            }
            let mut selected: Vec<(i64, Labels)> = Vec::new();
            for group in &fetch.matchers {
                for found in self.store.catalog.select(group) {
                    if !selected.iter().any(|(id, _)| *id == found.0) {
                        selected.push(found);
                    }
                }
            }
            let ids: Vec<i64> = selected.iter().map(|(id, _)| *id).collect();
            let samples = self
                .store
                .samples_within(&ids, fetch.start_ms, fetch.end_ms, budget.remaining())
                .await
                .map_err(|error| match error {
                    SampleReadError::OverLimit => budget.too_many(),
                    SampleReadError::Database(error) => QueryError::from(error),
                })?;
            // Cached series may hold samples beyond the window; count only the window's.
            let in_window = |samples: &[Sample]| {
                samples.partition_point(|s| s.timestamp_ms <= fetch.end_ms)
                    - samples.partition_point(|s| s.timestamp_ms < fetch.start_ms)
            };
            let count = samples.iter().map(|s| in_window(s)).sum::<usize>();
            budget.charge(count)?;
            loaded += count;
            let entry = data.entry(fetch.key).or_default();
            for ((_, labels), samples) in selected.into_iter().zip(samples) {
                if in_window(&samples) > 0 {
                    entry.push(Fetched { labels, samples });
                }
            }
        }
        Ok((data, rollup_data, loaded))
    }
}
