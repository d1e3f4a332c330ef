//! Answering `sum/count/min/max/avg_over_time(x[r])` from rollups instead of raw samples,
//! where that gives the same answer.
//!
//! A window `[t - r, t]` is the union of whole buckets `[t - r, t)` plus the samples at exactly
//! `t`, which open the bucket starting at `t`: its `first` sample, when `first_ts = t`. So the
//! answer is exact when `r`, the offset and every evaluation time are multiples of the bucket
//! size, every bucket involved is final, and no bucket holds a NaN (NaN, staleness markers
//! included, orders differently in SQL than in PromQL). Sums are added in another order than
//! over raw samples and may differ in the last bits.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use promql_parser::parser::{Expr, VectorSelector};

use super::limits::Budget;
use super::{QueryError, offset_ms, selector_key, selector_matchers};
use crate::metrics::MetricStore;
use crate::metrics::model::Labels;
use crate::metrics::rollup::{self, Bucket, Resolution};

/// Functions a rollup can answer.
pub const ROLLUP_FUNCTIONS: [&str; 5] = [
    "sum_over_time",
    "count_over_time",
    "min_over_time",
    "max_over_time",
    "avg_over_time",
];

/// A rollup bucket's size in samples (16 bytes each), for the query's budget.
const BUCKET_SAMPLES: usize = std::mem::size_of::<Bucket>().div_ceil(16);

struct Candidate<'e> {
    selector: &'e VectorSelector,
    resolution: Resolution,
    /// First and last bucket start the query reads.
    first_bucket: i64,
    last_bucket: i64,
}

/// The selectors this query will read from rollups.
#[derive(Default)]
pub struct RollupPlan<'e> {
    candidates: Vec<Candidate<'e>>,
}

/// The rollup rows of each series a selector matched.
pub type SeriesBuckets = Vec<(Labels, Vec<Bucket>)>;

/// Rollup rows by selector.
#[derive(Default)]
pub struct RollupData {
    pub by_selector: HashMap<usize, (Resolution, SeriesBuckets)>,
}

impl RollupData {
    pub fn covers(&self, key: usize) -> bool {
        self.by_selector.contains_key(&key)
    }
}

/// Finds the `*_over_time` calls a rollup can answer for evaluation times
/// `start, start + step, …, end` (an instant query passes `step = 0`).
pub async fn plan<'e>(
    store: &MetricStore,
    expr: &'e Expr,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
) -> Result<RollupPlan<'e>, QueryError> {
    let mut found = Vec::new();
    collect(expr, &mut found);
    let mut plan = RollupPlan::default();
    if found.is_empty() {
        return Ok(plan);
    }
    let mut final_until: HashMap<&'static str, Option<i64>> = HashMap::new();
    for resolution in [Resolution::Hour, Resolution::Minute] {
        final_until.insert(
            resolution.key(),
            rollup::rolled_up_to(store.pool(), resolution)
                .await?
                .map(|t| t.timestamp_millis()),
        );
    }
    for (selector, range_ms) in found {
        let offset = offset_ms(&selector.offset);
        for resolution in [Resolution::Hour, Resolution::Minute] {
            let size = resolution.seconds() * 1000;
            let aligned = range_ms % size == 0
                && offset % size == 0
                && start_ms % size == 0
                && (step_ms == 0 || step_ms % size == 0)
                && range_ms >= size;
            let Some(Some(done)) = final_until.get(resolution.key()) else {
                continue;
            };
            // The last window also reads the bucket starting at its end.
            let last_bucket = end_ms - offset;
            if aligned && last_bucket + size <= *done {
                plan.candidates.push(Candidate {
                    selector,
                    resolution,
                    first_bucket: start_ms - offset - range_ms,
                    last_bucket,
                });
                break;
            }
        }
    }
    Ok(plan)
}

fn collect<'e>(expr: &'e Expr, out: &mut Vec<(&'e VectorSelector, i64)>) {
    match expr {
        Expr::Call(call) => {
            if ROLLUP_FUNCTIONS.contains(&call.func.name)
                && let Some(Expr::MatrixSelector(ms)) = call.args.args.first().map(|a| a.as_ref())
                && ms.vs.at.is_none()
            {
                out.push((&ms.vs, ms.range.as_millis() as i64));
                return;
            }
            for arg in &call.args.args {
                collect(arg, out);
            }
        }
        Expr::Aggregate(a) => {
            collect(&a.expr, out);
            if let Some(p) = &a.param {
                collect(p, out);
            }
        }
        Expr::Unary(u) => collect(&u.expr, out),
        Expr::Binary(b) => {
            collect(&b.lhs, out);
            collect(&b.rhs, out);
        }
        Expr::Paren(p) => collect(&p.expr, out),
        // Inside a subquery evaluation times are the subquery's, not the query's: raw only.
        Expr::Subquery(_) => {}
        _ => {}
    }
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

impl RollupPlan<'_> {
    /// Reads the planned rollups. A selector whose buckets hold any NaN is left out, so the
    /// engine reads its raw samples instead.
    /// The rows are charged to `budget`, and refused before they are read when the most
    /// they could be does not fit.
    pub async fn fetch(
        &self,
        store: &MetricStore,
        budget: &Budget,
    ) -> Result<RollupData, QueryError> {
        let mut data = RollupData::default();
        for candidate in &self.candidates {
            let mut selected: Vec<(i64, Labels)> = Vec::new();
            for group in selector_matchers(candidate.selector) {
                for found in store.catalog.select(&group) {
                    if !selected.iter().any(|(id, _)| *id == found.0) {
                        selected.push(found);
                    }
                }
            }
            let ids: Vec<i64> = selected.iter().map(|(id, _)| *id).collect();
            let size_ms = candidate.resolution.seconds() * 1000;
            let per_series = (candidate.last_bucket - candidate.first_bucket) / size_ms + 1;
            budget.ensure_room(
                ids.len()
                    .saturating_mul(usize::try_from(per_series).unwrap_or(usize::MAX))
                    .saturating_mul(BUCKET_SAMPLES),
            )?;
            let buckets = rollup::buckets(
                store.pool(),
                candidate.resolution,
                &ids,
                time(candidate.first_bucket),
                time(candidate.last_bucket),
            )
            .await?;
            budget.charge(buckets.iter().map(Vec::len).sum::<usize>() * BUCKET_SAMPLES)?;
            if buckets.iter().flatten().any(|b| b.nan_count > 0) {
                continue;
            }
            let series = selected
                .into_iter()
                .map(|(_, labels)| labels)
                .zip(buckets)
                .filter(|(_, b)| !b.is_empty())
                .collect();
            data.by_selector.insert(
                selector_key(candidate.selector),
                (candidate.resolution, series),
            );
        }
        Ok(data)
    }
}

/// The `*_over_time` aggregate of the window ending at `end` (inclusive) and `range` long,
/// from the buckets of one series (sorted by start).
pub fn over_time(
    function: &str,
    buckets: &[Bucket],
    size_ms: i64,
    range_ms: i64,
    end: i64,
) -> Option<f64> {
    let from = end - range_ms;
    let lo = buckets.partition_point(|b| b.start_ms < from);
    let hi = buckets.partition_point(|b| b.start_ms < end);
    let mut count = 0i64;
    let mut sum = 0.0;
    let mut min = f64::NAN;
    let mut max = f64::NAN;
    let mut take = |n: i64, s: f64, lo_value: f64, hi_value: f64| {
        count += n;
        sum += s;
        if lo_value < min || min.is_nan() {
            min = lo_value;
        }
        if hi_value > max || max.is_nan() {
            max = hi_value;
        }
    };
    for bucket in &buckets[lo..hi] {
        debug_assert!(bucket.start_ms + size_ms <= end);
        take(bucket.count, bucket.sum, bucket.min, bucket.max);
    }
    if let Some(boundary) = buckets.get(hi)
        && boundary.start_ms == end
        && boundary.first_ms == end
    {
        take(1, boundary.first, boundary.first, boundary.first);
    }
    if count == 0 {
        return None;
    }
    Some(match function {
        "sum_over_time" => sum,
        "count_over_time" => count as f64,
        "min_over_time" => min,
        "max_over_time" => max,
        "avg_over_time" => sum / count as f64,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(start_ms: i64, values: &[(i64, f64)]) -> Bucket {
        Bucket {
            start_ms,
            count: values.len() as i64,
            sum: values.iter().map(|v| v.1).sum(),
            min: values.iter().map(|v| v.1).fold(f64::INFINITY, f64::min),
            max: values.iter().map(|v| v.1).fold(f64::NEG_INFINITY, f64::max),
            first_ms: values[0].0,
            first: values[0].1,
            last_ms: values[values.len() - 1].0,
            last: values[values.len() - 1].1,
            nan_count: 0,
        }
    }

    #[test]
    fn a_window_takes_whole_buckets_plus_the_sample_exactly_at_its_end() {
        // Samples at 0, 30 s, 60 s, 90 s, 120 s; window [0, 120 s] holds all five.
        let buckets = vec![
            bucket(0, &[(0, 1.0), (30_000, 2.0)]),
            bucket(60_000, &[(60_000, 3.0), (90_000, 4.0)]),
            bucket(120_000, &[(120_000, 10.0), (150_000, 20.0)]),
        ];
        assert_eq!(
            over_time("count_over_time", &buckets, 60_000, 120_000, 120_000),
            Some(5.0)
        );
        assert_eq!(
            over_time("sum_over_time", &buckets, 60_000, 120_000, 120_000),
            Some(20.0)
        );
        assert_eq!(
            over_time("max_over_time", &buckets, 60_000, 120_000, 120_000),
            Some(10.0)
        );
        assert_eq!(
            over_time("min_over_time", &buckets, 60_000, 120_000, 120_000),
            Some(1.0)
        );
        assert_eq!(
            over_time("avg_over_time", &buckets, 60_000, 120_000, 120_000),
            Some(4.0)
        );
        // Window [60 s, 180 s]: buckets at 60 s and 120 s, nothing at exactly 180 s.
        assert_eq!(
            over_time("count_over_time", &buckets, 60_000, 120_000, 180_000),
            Some(4.0)
        );
        // A window with nothing in it has no value.
        assert_eq!(
            over_time("count_over_time", &buckets, 60_000, 60_000, 600_000),
            None
        );
    }
}
