//! Walking a parsed expression over every step of a query.

use std::sync::Arc;

use promql_parser::parser::{Expr, MatrixSelector, SubqueryExpr, VectorSelector};

use super::limits::Budget;
use super::rollups::RollupData;
use super::value::{RangeSeries, RangeVector, Series, SeriesCollector, Value, WindowEnd};
use super::{
    DEFAULT_SUBQUERY_STEP_MS, FetchedData, LOOKBACK_MS, QueryError, aggregate, at_ms, binary,
    functions, offset_ms, selector_key,
};
use crate::metrics::model::{Sample, is_stale_nan};

/// Stack left below which evaluating a sub-expression moves to a new stack segment, and that
/// segment's size: expressions are at most `--query-max-depth` deep, but a level of
/// evaluation takes several kilobytes of stack in an unoptimised build.
const STACK_RED_ZONE: usize = 128 * 1024;
const STACK_SEGMENT: usize = 2 * 1024 * 1024;

/// Samples a range function looks at between two readings of the clock.
const CLOCK_EVERY_SAMPLES: usize = 16_384;

/// Evaluates expressions at a fixed list of step times over pre-fetched data.
pub struct Evaluator<'a> {
    data: &'a FetchedData,
    rollups: &'a RollupData,
    steps: Vec<i64>,
    /// The outermost query's start and end, for `@ start()` and `@ end()`.
    query: (i64, i64),
    budget: &'a Budget,
}

impl<'a> Evaluator<'a> {
    pub fn new(
        data: &'a FetchedData,
        rollups: &'a RollupData,
        steps: &[i64],
        query: (i64, i64),
        budget: &'a Budget,
    ) -> Self {
        Evaluator {
            data,
            rollups,
            steps: steps.to_vec(),
            query,
            budget,
        }
    }

    pub fn budget(&self) -> &Budget {
        self.budget
    }

    pub fn steps(&self) -> &[i64] {
        &self.steps
    }

    pub fn rollups(&self) -> &RollupData {
        self.rollups
    }

    /// Evaluates `expr`, charging what its value holds to the budget: what its operands held
    /// is given back once they are consumed, so the budget follows what is in memory at once.
    pub fn eval(&self, expr: &Expr) -> Result<Value, QueryError> {
        self.budget.check_time()?;
        let mark = self.budget.in_use();
        let value = stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.eval_node(expr))?;
        self.budget.check_time()?;
        self.budget.release_to(mark);
        self.budget.charge(value.samples_held())?;
        Ok(value)
    }

    fn eval_node(&self, expr: &Expr) -> Result<Value, QueryError> {
        match expr {
            Expr::NumberLiteral(n) => Ok(Value::Scalar(vec![n.val; self.steps.len()])),
            Expr::StringLiteral(s) => Ok(Value::String(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr),
            Expr::Unary(u) => self.negate(self.eval(&u.expr)?),
            Expr::VectorSelector(vs) => self.vector_selector(vs),
            Expr::MatrixSelector(ms) => Ok(self.matrix_selector(ms)),
            Expr::Subquery(sq) => self.subquery(sq),
            Expr::Aggregate(a) => aggregate::eval(self, a),
            Expr::Binary(b) => binary::eval(self, b),
            Expr::Call(call) => functions::call(self, call),
            Expr::Extension(_) => Err(QueryError::execution("unsupported expression")),
        }
    }

    fn negate(&self, value: Value) -> Result<Value, QueryError> {
        match value {
            Value::Scalar(v) => Ok(Value::Scalar(v.into_iter().map(|x| -x).collect())),
            Value::Vector(series) => {
                let mut out = SeriesCollector::new(self.steps.len(), self.budget);
                for s in series {
                    out.add(Series {
                        labels: s.labels.without_name(),
                        points: s.points.into_iter().map(|p| p.map(|x| -x)).collect(),
                    })?;
                }
                Ok(Value::Vector(out.finish()))
            }
            other => Err(QueryError::execution(format!(
                "unary minus is only allowed on scalars and instant vectors, not a {}",
                other.kind()
            ))),
        }
    }

    /// Each series' latest sample at or before each step, no older than the lookback; a
    /// staleness marker there means the series has ended.
    fn vector_selector(&self, vs: &VectorSelector) -> Result<Value, QueryError> {
        Ok(Value::Vector(self.pick_samples(vs, |sample| sample.value)?))
    }

    /// The sample an instant selector picks at each step, mapped through `f` (its value, or
    /// its time for `timestamp()`).
    /// Each series is charged to the budget before its points are made.
    pub fn pick_samples(
        &self,
        vs: &VectorSelector,
        f: impl Fn(&Sample) -> f64,
    ) -> Result<Vec<Series>, QueryError> {
        let fetched = self
            .data
            .get(&selector_key(vs))
            .map_or(&[][..], Vec::as_slice);
        let offset = offset_ms(&vs.offset);
        let at = at_ms(&vs.at, self.query.0, self.query.1);
        let mut picked = Vec::new();
        for fetched in fetched {
            self.budget.charge(self.steps.len() + 1)?;
            self.budget.check_time()?;
            let samples = &fetched.samples;
            let mut next = 0usize;
            let points: Vec<Option<f64>> = self
                .steps
                .iter()
                .map(|&t| {
                    let reference = at.unwrap_or(t) - offset;
                    while next < samples.len() && samples[next].timestamp_ms <= reference {
                        next += 1;
                    }
                    let latest = samples[..next].last()?;
                    (latest.timestamp_ms >= reference - LOOKBACK_MS && !is_stale_nan(latest.value))
                        .then(|| f(latest))
                })
                .collect();
            let series = Series {
                labels: fetched.labels.clone(),
                points,
            };
            if !series.is_empty() {
                picked.push(series);
            }
        }
        Ok(picked)
    }

    fn matrix_selector(&self, ms: &MatrixSelector) -> Value {
        let vs = &ms.vs;
        let fetched = self
            .data
            .get(&selector_key(vs))
            .map_or(&[][..], Vec::as_slice);
        let offset = offset_ms(&vs.offset);
        let window_end = match at_ms(&vs.at, self.query.0, self.query.1) {
            Some(at) => WindowEnd::Fixed(at - offset),
            None => WindowEnd::Relative(offset),
        };
        let series = fetched
            .iter()
            .map(|f| RangeSeries {
                labels: f.labels.clone(),
                // Staleness markers are not samples of a range.
                samples: if f.samples.iter().any(|s| is_stale_nan(s.value)) {
                    Arc::new(
                        f.samples
                            .iter()
                            .filter(|s| !is_stale_nan(s.value))
                            .copied()
                            .collect(),
                    )
                } else {
                    f.samples.clone()
                },
            })
            .collect();
        Value::Range(RangeVector {
            series,
            range_ms: ms.range.as_millis() as i64,
            window_end,
            owned_samples: 0,
        })
    }

    /// Evaluates the inner expression at every multiple of the subquery step inside the
    /// windows the outer steps need, giving a range vector (as Prometheus does).
    fn subquery(&self, sq: &SubqueryExpr) -> Result<Value, QueryError> {
        let step = sq
            .step
            .map_or(DEFAULT_SUBQUERY_STEP_MS, |d| d.as_millis() as i64)
            .max(1);
        let range = sq.range.as_millis() as i64;
        let offset = offset_ms(&sq.offset);
        let at = at_ms(&sq.at, self.query.0, self.query.1);
        let (first_end, last_end) = match at {
            Some(at) => (at - offset, at - offset),
            None => (
                self.steps.first().copied().unwrap_or_default() - offset,
                self.steps.last().copied().unwrap_or_default() - offset,
            ),
        };
        let start = first_end.saturating_sub(range);
        let mut aligned = step.saturating_mul(start.div_euclid(step));
        if aligned < start {
            aligned = aligned.saturating_add(step);
        }
        // The steps are counted before they are made: their times, and the inner value's
        // points (at least one series' worth), must fit in what the query has left.
        let count = if last_end < aligned {
            0
        } else {
            usize::try_from((i128::from(last_end) - i128::from(aligned)) / i128::from(step) + 1)
                .unwrap_or(usize::MAX)
        };
        self.budget.ensure_room(count.saturating_mul(2))?;
        self.budget.charge(count)?;
        let inner_steps: Vec<i64> = (0..count as i64).map(|i| aligned + i * step).collect();
        let inner = Evaluator {
            data: self.data,
            rollups: self.rollups,
            steps: inner_steps,
            query: self.query,
            budget: self.budget,
        };
        let series = match inner.eval(&sq.expr)? {
            Value::Vector(series) => series,
            other => {
                return Err(QueryError::execution(format!(
                    "subquery is only allowed on instant vectors, not a {}",
                    other.kind()
                )));
            }
        };
        let window_end = match at {
            Some(at) => WindowEnd::Fixed(at - offset),
            None => WindowEnd::Relative(offset),
        };
        let owned_samples = series.iter().map(|s| s.points.len()).sum();
        Ok(Value::Range(RangeVector {
            owned_samples,
            series: series
                .into_iter()
                .map(|s| RangeSeries {
                    labels: s.labels,
                    samples: Arc::new(
                        inner
                            .steps
                            .iter()
                            .zip(s.points)
                            .filter_map(|(&timestamp_ms, v)| {
                                v.map(|value| Sample {
                                    timestamp_ms,
                                    value,
                                })
                            })
                            .collect(),
                    ),
                })
                .collect(),
            range_ms: range,
            window_end,
        }))
    }

    /// Calls `f` with the samples of each window of `series`, step by step.
    pub fn windows<T>(
        &self,
        range: &RangeVector,
        series: &RangeSeries,
        mut f: impl FnMut(&[Sample], Window) -> Option<T>,
    ) -> Vec<Option<T>> {
        let samples = &series.samples;
        let (mut lo, mut hi) = (0usize, 0usize);
        let (mut out_of_time, mut work) = (false, 0usize);
        self.steps
            .iter()
            .map(|&t| {
                // Out of time, the remaining windows are skipped (and `eval` refuses the
                // result). The clock is read after every few thousand samples looked at:
                // reading it for each window cost a third of a dashboard refresh.
                if work >= CLOCK_EVERY_SAMPLES {
                    work = 0;
                    out_of_time = out_of_time || self.budget.expired();
                }
                if out_of_time {
                    return None;
                }
                let end = range.window_end.at(t);
                let start = end - range.range_ms;
                while lo < samples.len() && samples[lo].timestamp_ms < start {
                    lo += 1;
                }
                hi = hi.max(lo);
                while hi < samples.len() && samples[hi].timestamp_ms <= end {
                    hi += 1;
                }
                work += hi - lo + 1;
                f(
                    &samples[lo..hi],
                    Window {
                        start,
                        end,
                        range: range.range_ms,
                        step_time: t,
                    },
                )
            })
            .collect()
    }
}

/// Where one window lies (inclusive at both ends, as in Prometheus 2.x).
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub start: i64,
    pub end: i64,
    pub range: i64,
    /// The step's evaluation time (not shifted by offsets).
    pub step_time: i64,
}
