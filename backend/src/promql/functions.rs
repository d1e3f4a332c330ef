//! PromQL functions, following Prometheus 2.42's algorithms (including their handling of
//! counter resets, extrapolation, NaN and infinities).

use chrono::{Datelike, TimeZone, Timelike, Utc};
use promql_parser::label::MatchOp;
use promql_parser::parser::{Call, Expr};
use regex::Regex;

use super::eval::{Evaluator, Window};
use super::rollups;
use super::value::{RangeVector, Series, SeriesCollector, Value};
use super::{QueryError, selector_key, selector_matchers};
use crate::metrics::model::{Labels, METRIC_NAME, Sample, is_valid_label_name};

pub fn call(ev: &Evaluator, call: &Call) -> Result<Value, QueryError> {
    let args = &call.args.args;
    let name = call.func.name;
    match name {
        "rate" => range_function(ev, args, true, |w, win| {
            extrapolated_rate(w, win, true, true)
        }),
        "increase" => range_function(ev, args, true, |w, win| {
            extrapolated_rate(w, win, true, false)
        }),
        "delta" => range_function(ev, args, true, |w, win| {
            extrapolated_rate(w, win, false, false)
        }),
        "irate" => range_function(ev, args, true, |w, _| instant_value(w, true)),
        "idelta" => range_function(ev, args, true, |w, _| instant_value(w, false)),
        "deriv" => range_function(ev, args, true, |w, _| {
            (w.len() >= 2).then(|| linear_regression(w, w[0].timestamp_ms).0)
        }),
        "changes" => range_function(ev, args, true, |w, _| (!w.is_empty()).then(|| changes(w))),
        "resets" => range_function(ev, args, true, |w, _| (!w.is_empty()).then(|| resets(w))),
        "sum_over_time" | "count_over_time" | "min_over_time" | "max_over_time"
        | "avg_over_time"
            if rollup_answer(ev, args).is_some() =>
        {
            rollup_over_time(ev, name, args)
        }
        "avg_over_time" => range_function(ev, args, true, |w, _| {
            (!w.is_empty()).then(|| avg_over_time(w))
        }),
        "sum_over_time" => range_function(ev, args, true, |w, _| {
            (!w.is_empty()).then(|| kahan_sum(w.iter().map(|s| s.value)))
        }),
        "count_over_time" => range_function(ev, args, true, |w, _| {
            (!w.is_empty()).then_some(w.len() as f64)
        }),
        "min_over_time" => range_function(ev, args, true, |w, _| {
            (!w.is_empty()).then(|| {
                w.iter()
                    .map(|s| s.value)
                    .fold(f64::NAN, |m, v| if v < m || m.is_nan() { v } else { m })
            })
        }),
        "max_over_time" => range_function(ev, args, true, |w, _| {
            (!w.is_empty()).then(|| {
                w.iter()
                    .map(|s| s.value)
                    .fold(f64::NAN, |m, v| if v > m || m.is_nan() { v } else { m })
            })
        }),
        "last_over_time" => range_function(ev, args, false, |w, _| w.last().map(|s| s.value)),
        "present_over_time" => {
            range_function(ev, args, true, |w, _| (!w.is_empty()).then_some(1.0))
        }
        "stddev_over_time" => range_function(ev, args, true, |w, _| {
            (!w.is_empty()).then(|| variance_over_time(w).sqrt())
        }),
        "stdvar_over_time" => range_function(ev, args, true, |w, _| {
            (!w.is_empty()).then(|| variance_over_time(w))
        }),
        "quantile_over_time" => {
            let q = scalar_arg(ev, args, 0)?;
            range_function_at(ev, &args[1], true, |w, _, step| {
                (!w.is_empty()).then(|| {
                    let mut values: Vec<f64> = w.iter().map(|s| s.value).collect();
                    quantile(q[step], &mut values)
                })
            })
        }
        "predict_linear" => {
            let duration = scalar_arg(ev, args, 1)?;
            range_function_at(ev, &args[0], true, |w, win, step| {
                (w.len() >= 2).then(|| {
                    let (slope, intercept) = linear_regression(w, win.step_time);
                    slope * duration[step] + intercept
                })
            })
        }
        "absent_over_time" => absent_over_time(ev, args),
        "abs" => math(ev, args, f64::abs),
        "ceil" => math(ev, args, f64::ceil),
        "floor" => math(ev, args, f64::floor),
        "exp" => math(ev, args, f64::exp),
        "ln" => math(ev, args, f64::ln),
        "log2" => math(ev, args, f64::log2),
        "log10" => math(ev, args, f64::log10),
        "sqrt" => math(ev, args, f64::sqrt),
        "sgn" => math(ev, args, |v| {
            if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                v
            }
        }),
        "deg" => math(ev, args, |v| v * 180.0 / std::f64::consts::PI),
        "rad" => math(ev, args, |v| v * std::f64::consts::PI / 180.0),
        "acos" => math(ev, args, f64::acos),
        "acosh" => math(ev, args, f64::acosh),
        "asin" => math(ev, args, f64::asin),
        "asinh" => math(ev, args, f64::asinh),
        "atan" => math(ev, args, f64::atan),
        "atanh" => math(ev, args, f64::atanh),
        "cos" => math(ev, args, f64::cos),
        "cosh" => math(ev, args, f64::cosh),
        "sin" => math(ev, args, f64::sin),
        "sinh" => math(ev, args, f64::sinh),
        "tan" => math(ev, args, f64::tan),
        "tanh" => math(ev, args, f64::tanh),
        "round" => {
            let to_nearest = if args.len() > 1 {
                scalar_arg(ev, args, 1)?
            } else {
                vec![1.0; ev.steps().len()]
            };
            math_at(ev, &args[0], |v, step| {
                // Prometheus rounds half up, via the inverse for better precision.
                let inverse = 1.0 / to_nearest[step];
                Some((v * inverse + 0.5).floor() / inverse)
            })
        }
        "clamp" => {
            let (min, max) = (scalar_arg(ev, args, 1)?, scalar_arg(ev, args, 2)?);
            math_at(ev, &args[0], |v, step| {
                (max[step] >= min[step]).then(|| min[step].max(max[step].min(v)))
            })
        }
        "clamp_min" => {
            let min = scalar_arg(ev, args, 1)?;
            math_at(ev, &args[0], |v, step| Some(min[step].max(v)))
        }
        "clamp_max" => {
            let max = scalar_arg(ev, args, 1)?;
            math_at(ev, &args[0], |v, step| Some(max[step].min(v)))
        }
        "timestamp" => timestamp(ev, args),
        "time" => Ok(Value::Scalar(
            ev.steps().iter().map(|t| *t as f64 / 1000.0).collect(),
        )),
        "vector" => {
            let values = scalar_arg(ev, args, 0)?;
            Ok(Value::Vector(vec![Series {
                labels: Labels::default(),
                points: values.into_iter().map(Some).collect(),
            }]))
        }
        "scalar" => {
            let series = ev.eval(&args[0])?.into_vector()?;
            Ok(Value::Scalar(
                (0..ev.steps().len())
                    .map(|step| {
                        let mut present = series.iter().filter_map(|s| s.points[step]);
                        match (present.next(), present.next()) {
                            (Some(v), None) => v,
                            _ => f64::NAN,
                        }
                    })
                    .collect(),
            ))
        }
        "absent" => absent(ev, args),
        "sort" => sort(ev, args, false),
        "sort_desc" => sort(ev, args, true),
        "label_replace" => label_replace(ev, args),
        "label_join" => label_join(ev, args),
        "histogram_quantile" => histogram_quantile(ev, args),
        "minute" => date_part(ev, args, |t| t.minute() as f64),
        "hour" => date_part(ev, args, |t| t.hour() as f64),
        "day_of_week" => date_part(ev, args, |t| t.weekday().num_days_from_sunday() as f64),
        "day_of_month" => date_part(ev, args, |t| t.day() as f64),
        "day_of_year" => date_part(ev, args, |t| t.ordinal() as f64),
        "days_in_month" => date_part(ev, args, |t| {
            let (y, m) = (t.year(), t.month());
            let next = if m == 12 {
                chrono::NaiveDate::from_ymd_opt(y + 1, 1, 1)
            } else {
                chrono::NaiveDate::from_ymd_opt(y, m + 1, 1)
            };
            next.and_then(|n| n.pred_opt())
                .map_or(f64::NAN, |d| d.day() as f64)
        }),
        "month" => date_part(ev, args, |t| t.month() as f64),
        "year" => date_part(ev, args, |t| t.year() as f64),
        other => Err(QueryError::bad_data(format!(
            "function \"{other}\" is not supported by Vigil yet"
        ))),
    }
}

fn scalar_arg(ev: &Evaluator, args: &[Box<Expr>], index: usize) -> Result<Vec<f64>, QueryError> {
    let expr = args
        .get(index)
        .ok_or_else(|| QueryError::bad_data("missing function argument"))?;
    ev.eval(expr)?.into_scalar()
}

fn string_arg(ev: &Evaluator, args: &[Box<Expr>], index: usize) -> Result<String, QueryError> {
    match ev.eval(&args[index])? {
        Value::String(s) => Ok(s),
        other => Err(QueryError::bad_data(format!(
            "expected a string argument, got a {}",
            other.kind()
        ))),
    }
}

fn range_arg(ev: &Evaluator, expr: &Expr) -> Result<RangeVector, QueryError> {
    match ev.eval(expr)? {
        Value::Range(range) => Ok(range),
        other => Err(QueryError::bad_data(format!(
            "expected a range vector, got a {}",
            other.kind()
        ))),
    }
}

/// Applies `f` to every window of every series of the range vector argument.
fn range_function(
    ev: &Evaluator,
    args: &[Box<Expr>],
    drop_name: bool,
    f: impl Fn(&[Sample], Window) -> Option<f64>,
) -> Result<Value, QueryError> {
    range_function_at(ev, &args[0], drop_name, |w, win, _| f(w, win))
}

fn range_function_at(
    ev: &Evaluator,
    expr: &Expr,
    drop_name: bool,
    f: impl Fn(&[Sample], Window, usize) -> Option<f64>,
) -> Result<Value, QueryError> {
    let range = range_arg(ev, expr)?;
    let mut out = SeriesCollector::new(ev.steps().len(), ev.budget());
    for series in &range.series {
        let mut step = 0usize;
        let points = ev.windows(&range, series, |window, win| {
            let value = f(window, win, step);
            step += 1;
            value
        });
        out.add(Series {
            labels: if drop_name {
                series.labels.without_name()
            } else {
                series.labels.clone()
            },
            points,
        })?;
    }
    Ok(Value::Vector(out.finish()))
}

/// The selector key and window of `args[0]` when rollups answer it.
fn rollup_answer(ev: &Evaluator, args: &[Box<Expr>]) -> Option<usize> {
    match args.first().map(|a| a.as_ref()) {
        Some(Expr::MatrixSelector(ms)) => {
            let key = selector_key(&ms.vs);
            ev.rollups().covers(key).then_some(key)
        }
        _ => None,
    }
}

fn rollup_over_time(ev: &Evaluator, name: &str, args: &[Box<Expr>]) -> Result<Value, QueryError> {
    let Some(Expr::MatrixSelector(ms)) = args.first().map(|a| a.as_ref()) else {
        return Err(QueryError::execution(
            "rollup evaluation needs a range selector",
        ));
    };
    let (resolution, series) = &ev.rollups().by_selector[&selector_key(&ms.vs)];
    let size = resolution.seconds() * 1000;
    let range = ms.range.as_millis() as i64;
    let offset = super::offset_ms(&ms.vs.offset);
    let mut out = SeriesCollector::new(ev.steps().len(), ev.budget());
    for (labels, buckets) in series {
        let points = ev
            .steps()
            .iter()
            .map(|&t| rollups::over_time(name, buckets, size, range, t - offset))
            .collect();
        out.add(Series {
            labels: labels.without_name(),
            points,
        })?;
    }
    Ok(Value::Vector(out.finish()))
}

/// `rate`, `increase` and `delta`: the change over the window, corrected for counter resets
/// and extrapolated towards the window's edges (Prometheus' `extrapolatedRate`).
fn extrapolated_rate(
    samples: &[Sample],
    window: Window,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let first = samples[0];
    let last = samples[samples.len() - 1];
    let mut result = last.value - first.value;
    if is_counter {
        let mut previous = 0.0;
        for sample in samples {
            if sample.value < previous {
                result += previous;
            }
            previous = sample.value;
        }
    }
    let mut duration_to_start = (first.timestamp_ms - window.start) as f64 / 1000.0;
    let duration_to_end = (window.end - last.timestamp_ms) as f64 / 1000.0;
    let sampled_interval = (last.timestamp_ms - first.timestamp_ms) as f64 / 1000.0;
    let average_between = sampled_interval / (samples.len() - 1) as f64;
    if is_counter && result > 0.0 && first.value >= 0.0 {
        // A counter cannot go below zero: do not extrapolate past where it would reach it.
        let duration_to_zero = sampled_interval * (first.value / result);
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    let threshold = average_between * 1.1;
    let mut extrapolate_to = sampled_interval;
    extrapolate_to += if duration_to_start < threshold {
        duration_to_start
    } else {
        average_between / 2.0
    };
    extrapolate_to += if duration_to_end < threshold {
        duration_to_end
    } else {
        average_between / 2.0
    };
    result *= extrapolate_to / sampled_interval;
    if is_rate {
        result /= window.range as f64 / 1000.0;
    }
    Some(result)
}

/// `irate` and `idelta`: from the last two samples.
fn instant_value(samples: &[Sample], is_rate: bool) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let last = samples[samples.len() - 1];
    let previous = samples[samples.len() - 2];
    let mut result = if is_rate && last.value < previous.value {
        last.value
    } else {
        last.value - previous.value
    };
    let interval = last.timestamp_ms - previous.timestamp_ms;
    if interval == 0 {
        return None;
    }
    if is_rate {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}

fn kahan_sum_inc(increment: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + increment;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= increment.abs() {
        c + ((sum - t) + increment)
    } else {
        c + ((increment - t) + sum)
    };
    (t, c)
}

fn kahan_sum(values: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut c) = (0.0, 0.0);
    for v in values {
        (sum, c) = kahan_sum_inc(v, sum, c);
    }
    sum + c
}

/// Least-squares slope and intercept (at `intercept_time`), as Prometheus computes them.
fn linear_regression(samples: &[Sample], intercept_time: i64) -> (f64, f64) {
    let mut n = 0.0;
    let (mut sum_x, mut c_x) = (0.0, 0.0);
    let (mut sum_y, mut c_y) = (0.0, 0.0);
    let (mut sum_xy, mut c_xy) = (0.0, 0.0);
    let (mut sum_x2, mut c_x2) = (0.0, 0.0);
    let init_y = samples[0].value;
    let mut const_y = true;
    for (i, sample) in samples.iter().enumerate() {
        if const_y && i > 0 && sample.value != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (sample.timestamp_ms - intercept_time) as f64 / 1e3;
        (sum_x, c_x) = kahan_sum_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_sum_inc(sample.value, sum_y, c_y);
        (sum_xy, c_xy) = kahan_sum_inc(x * sample.value, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_sum_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let (sum_x, sum_y, sum_xy, sum_x2) = (sum_x + c_x, sum_y + c_y, sum_xy + c_xy, sum_x2 + c_x2);
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

fn changes(samples: &[Sample]) -> f64 {
    let mut changes = 0.0;
    let mut previous = samples[0].value;
    for sample in &samples[1..] {
        let current = sample.value;
        if current != previous && !(current.is_nan() && previous.is_nan()) {
            changes += 1.0;
        }
        previous = current;
    }
    changes
}

fn resets(samples: &[Sample]) -> f64 {
    let mut resets = 0.0;
    let mut previous = samples[0].value;
    for sample in &samples[1..] {
        if sample.value < previous {
            resets += 1.0;
        }
        previous = sample.value;
    }
    resets
}

/// The mean, computed incrementally so that large values do not overflow (Prometheus' way).
fn avg_over_time(samples: &[Sample]) -> f64 {
    let (mut mean, mut count, mut c) = (0.0f64, 0.0f64, 0.0f64);
    for sample in samples {
        count += 1.0;
        let v = sample.value;
        if mean.is_infinite() {
            if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                continue;
            }
            if !v.is_infinite() && !v.is_nan() {
                continue;
            }
        }
        (mean, c) = kahan_sum_inc(v / count - mean / count, mean, c);
    }
    if mean.is_infinite() { mean } else { mean + c }
}

fn variance_over_time(samples: &[Sample]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) =
        (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for sample in samples {
        count += 1.0;
        let delta = sample.value - (mean + c_mean);
        (mean, c_mean) = kahan_sum_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_sum_inc(delta * (sample.value - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// The φ-quantile by linear interpolation between the nearest ranks (NaNs sort first).
pub fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).expect("no NaN left"),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// A per-value function of an instant vector; the metric name is dropped.
fn math(ev: &Evaluator, args: &[Box<Expr>], f: impl Fn(f64) -> f64) -> Result<Value, QueryError> {
    math_at(ev, &args[0], |v, _| Some(f(v)))
}

fn math_at(
    ev: &Evaluator,
    expr: &Expr,
    f: impl Fn(f64, usize) -> Option<f64>,
) -> Result<Value, QueryError> {
    let series = ev.eval(expr)?.into_vector()?;
    let mut out = SeriesCollector::new(ev.steps().len(), ev.budget());
    for s in series {
        out.add(Series {
            labels: s.labels.without_name(),
            points: s
                .points
                .into_iter()
                .enumerate()
                .map(|(step, p)| p.and_then(|v| f(v, step)))
                .collect(),
        })?;
    }
    Ok(Value::Vector(out.finish()))
}

/// The time of each sample (for a selector argument) or of each step (otherwise), in seconds.
fn timestamp(ev: &Evaluator, args: &[Box<Expr>]) -> Result<Value, QueryError> {
    let mut inner = args[0].as_ref();
    while let Expr::Paren(p) = inner {
        inner = &p.expr;
    }
    if let Expr::VectorSelector(vs) = inner {
        let mut out = SeriesCollector::new(ev.steps().len(), ev.budget());
        for series in ev.pick_samples(vs, |sample| sample.timestamp_ms as f64 / 1000.0)? {
            out.add(Series {
                labels: series.labels.without_name(),
                points: series.points,
            })?;
        }
        return Ok(Value::Vector(out.finish()));
    }
    let steps = ev.steps().to_vec();
    math_at(ev, &args[0], |_, step| Some(steps[step] as f64 / 1000.0))
}

fn absent(ev: &Evaluator, args: &[Box<Expr>]) -> Result<Value, QueryError> {
    let series = ev.eval(&args[0])?.into_vector()?;
    let labels = absent_labels(&args[0]);
    let points = (0..ev.steps().len())
        .map(|step| (!series.iter().any(|s| s.points[step].is_some())).then_some(1.0))
        .collect();
    let series = Series { labels, points };
    Ok(Value::Vector(if series.is_empty() {
        vec![]
    } else {
        vec![series]
    }))
}

fn absent_over_time(ev: &Evaluator, args: &[Box<Expr>]) -> Result<Value, QueryError> {
    let range = range_arg(ev, &args[0])?;
    let mut present = vec![false; ev.steps().len()];
    for series in &range.series {
        for (step, any) in ev
            .windows(&range, series, |w, _| (!w.is_empty()).then_some(()))
            .into_iter()
            .enumerate()
        {
            present[step] |= any.is_some();
        }
    }
    let labels = absent_labels(&args[0]);
    let series = Series {
        labels,
        points: present.into_iter().map(|p| (!p).then_some(1.0)).collect(),
    };
    Ok(Value::Vector(if series.is_empty() {
        vec![]
    } else {
        vec![series]
    }))
}

/// The labels `absent()` answers with: the selector's equality matchers (name excluded).
fn absent_labels(expr: &Expr) -> Labels {
    let selector = match expr {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::default(),
    };
    let groups = selector_matchers(selector);
    let Some(matchers) = groups.first() else {
        return Labels::default();
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut repeated: Vec<String> = Vec::new();
    for m in matchers {
        if m.name == METRIC_NAME || !matches!(m.op, MatchOp::Equal) {
            continue;
        }
        if pairs.iter().any(|(n, _)| *n == m.name) {
            repeated.push(m.name.clone());
        }
        pairs.push((m.name.clone(), m.value.clone()));
    }
    // A label matched twice with "=" gives no label (Prometheus' rule).
    pairs.retain(|(n, _)| !repeated.contains(n));
    Labels::from_pairs(pairs)
}

fn sort(ev: &Evaluator, args: &[Box<Expr>], descending: bool) -> Result<Value, QueryError> {
    let mut series = ev.eval(&args[0])?.into_vector()?;
    // Ordering only shows in instant queries (one step).
    series.sort_by(|a, b| {
        let (x, y) = (
            a.points[0].unwrap_or(f64::NAN),
            b.points[0].unwrap_or(f64::NAN),
        );
        match (x.is_nan(), y.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ if descending => y.partial_cmp(&x).expect("no NaN"),
            _ => x.partial_cmp(&y).expect("no NaN"),
        }
    });
    Ok(Value::Vector(series))
}

fn label_replace(ev: &Evaluator, args: &[Box<Expr>]) -> Result<Value, QueryError> {
    let series = ev.eval(&args[0])?.into_vector()?;
    let destination = string_arg(ev, args, 1)?;
    let replacement = string_arg(ev, args, 2)?;
    let source = string_arg(ev, args, 3)?;
    let pattern = string_arg(ev, args, 4)?;
    let regex = Regex::new(&format!("^(?s:{pattern})$")).map_err(|e| {
        QueryError::bad_data(format!(
            "invalid regular expression in label_replace(): {pattern}: {e}"
        ))
    })?;
    if !is_valid_label_name(&destination) && destination != METRIC_NAME {
        return Err(QueryError::bad_data(format!(
            "invalid destination label name in label_replace(): {destination}"
        )));
    }
    let mut out = SeriesCollector::new(ev.steps().len(), ev.budget());
    for s in series {
        let value = s.labels.get(&source).unwrap_or("");
        let labels = match regex.captures(value) {
            Some(captures) => {
                let mut expanded = String::new();
                captures.expand(&replacement, &mut expanded);
                s.labels.with(&destination, &expanded)
            }
            None => s.labels.clone(),
        };
        out.add(Series {
            labels,
            points: s.points,
        })?;
    }
    Ok(Value::Vector(out.finish()))
}

fn label_join(ev: &Evaluator, args: &[Box<Expr>]) -> Result<Value, QueryError> {
    let series = ev.eval(&args[0])?.into_vector()?;
    let destination = string_arg(ev, args, 1)?;
    let separator = string_arg(ev, args, 2)?;
    let sources: Vec<String> = (3..args.len())
        .map(|i| string_arg(ev, args, i))
        .collect::<Result<_, _>>()?;
    if !is_valid_label_name(&destination) {
        return Err(QueryError::bad_data(format!(
            "invalid destination label name in label_join(): {destination}"
        )));
    }
    let mut out = SeriesCollector::new(ev.steps().len(), ev.budget());
    for s in series {
        let joined = sources
            .iter()
            .map(|name| s.labels.get(name).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(&separator);
        out.add(Series {
            labels: s.labels.with(&destination, &joined),
            points: s.points,
        })?;
    }
    Ok(Value::Vector(out.finish()))
}

fn histogram_quantile(ev: &Evaluator, args: &[Box<Expr>]) -> Result<Value, QueryError> {
    let q = scalar_arg(ev, args, 0)?;
    let series = ev.eval(&args[1])?.into_vector()?;
    // Buckets grouped by their labels without `le` (and the metric name).
    let mut groups: Vec<(Labels, Vec<(f64, &Series)>)> = Vec::new();
    for s in &series {
        let Some(upper) = s.labels.get("le").and_then(parse_bound) else {
            continue;
        };
        let key = s.labels.retain(|n| n != "le" && n != METRIC_NAME);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push((upper, s)),
            None => groups.push((key, vec![(upper, s)])),
        }
    }
    let mut out = SeriesCollector::new(ev.steps().len(), ev.budget());
    for (labels, members) in groups {
        let points = (0..ev.steps().len())
            .map(|step| {
                let mut buckets: Vec<(f64, f64)> = members
                    .iter()
                    .filter_map(|(upper, s)| s.points[step].map(|count| (*upper, count)))
                    .collect();
                (!buckets.is_empty()).then(|| bucket_quantile(q[step], &mut buckets))
            })
            .collect();
        out.add(Series { labels, points })?;
    }
    Ok(Value::Vector(out.finish()))
}

fn parse_bound(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        other => other.parse().ok(),
    }
}

/// The quantile of a classic histogram's cumulative buckets `(upper bound, count)`, assuming
/// observations spread evenly within a bucket (Prometheus' `bucketQuantile`).
fn bucket_quantile(q: f64, buckets: &mut [(f64, f64)]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // Merge buckets with the same bound.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for &(upper, count) in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.0 == upper => last.1 += count,
            _ => merged.push((upper, count)),
        }
    }
    // Counts must not decrease (scrapes of different buckets can race).
    let mut max = f64::NEG_INFINITY;
    for bucket in &mut merged {
        if bucket.1 > max {
            max = bucket.1;
        } else if bucket.1 < max {
            bucket.1 = max;
        }
    }
    if merged.len() < 2 {
        return f64::NAN;
    }
    let observations = merged[merged.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = merged[..merged.len() - 1].partition_point(|bucket| bucket.1 < rank);
    if b == merged.len() - 1 {
        return merged[merged.len() - 2].0;
    }
    if b == 0 && merged[0].0 <= 0.0 {
        return merged[0].0;
    }
    let mut bucket_start = 0.0;
    let bucket_end = merged[b].0;
    let mut count = merged[b].1;
    if b > 0 {
        bucket_start = merged[b - 1].0;
        count -= merged[b - 1].1;
        rank -= merged[b - 1].1;
    }
    bucket_start + (bucket_end - bucket_start) * (rank / count)
}

fn date_part(
    ev: &Evaluator,
    args: &[Box<Expr>],
    part: impl Fn(chrono::DateTime<Utc>) -> f64,
) -> Result<Value, QueryError> {
    let at = |seconds: f64| -> Option<f64> {
        let ms = (seconds * 1000.0) as i64;
        Utc.timestamp_millis_opt(ms).single().map(&part)
    };
    if args.is_empty() {
        return Ok(Value::Vector(vec![Series {
            labels: Labels::default(),
            points: ev.steps().iter().map(|t| at(*t as f64 / 1000.0)).collect(),
        }]));
    }
    math_at(ev, &args[0], |v, _| {
        if v.is_finite() { at(v) } else { Some(f64::NAN) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(points: &[(i64, f64)]) -> Vec<Sample> {
        points
            .iter()
            .map(|&(t, v)| Sample {
                timestamp_ms: t * 1000,
                value: v,
            })
            .collect()
    }

    fn window(start: i64, end: i64) -> Window {
        Window {
            start: start * 1000,
            end: end * 1000,
            range: (end - start) * 1000,
            step_time: end * 1000,
        }
    }

    #[test]
    fn rate_extrapolates_to_the_window_edges() {
        // A counter going up 10 every 60 s, samples at 0..=300 s, window [0, 300] s.
        let s = samples(&[
            (0, 0.0),
            (60, 10.0),
            (120, 20.0),
            (180, 30.0),
            (240, 40.0),
            (300, 50.0),
        ]);
        let rate = extrapolated_rate(&s, window(0, 300), true, true).unwrap();
        assert!((rate - 50.0 / 300.0).abs() < 1e-12, "{rate}");
    }

    #[test]
    fn rate_counts_a_reset_as_a_continuation() {
        let s = samples(&[(0, 10.0), (60, 20.0), (120, 5.0), (180, 15.0)]);
        // Increase: 10 + (20 reset) + 5 + 10 = 35 - but computed as last-first+20 = 25
        let increase = extrapolated_rate(&s, window(0, 180), true, false).unwrap();
        assert!((increase - 25.0).abs() < 1e-9, "{increase}");
    }

    #[test]
    fn irate_uses_the_last_two_samples() {
        let s = samples(&[(0, 0.0), (60, 10.0), (90, 40.0)]);
        assert_eq!(instant_value(&s, true), Some(1.0));
        assert_eq!(instant_value(&s[..1], true), None);
    }

    #[test]
    fn quantiles_interpolate_and_saturate() {
        assert_eq!(quantile(0.5, &mut [1.0, 2.0, 3.0, 4.0]), 2.5);
        assert_eq!(quantile(-0.1, &mut [1.0]), f64::NEG_INFINITY);
        assert_eq!(quantile(1.1, &mut [1.0]), f64::INFINITY);
        assert!(quantile(0.5, &mut []).is_nan());
    }

    #[test]
    fn histogram_quantiles_interpolate_within_the_bucket() {
        let mut buckets = vec![
            (0.1, 10.0),
            (0.5, 60.0),
            (1.0, 100.0),
            (f64::INFINITY, 100.0),
        ];
        // Rank 50 lies in (0.1, 0.5] with 50 observations: 0.1 + 0.4 * (40/50).
        let q = bucket_quantile(0.5, &mut buckets);
        assert!((q - 0.42).abs() < 1e-12, "{q}");
        // Without a +Inf bucket the answer is NaN.
        assert!(bucket_quantile(0.5, &mut [(0.1, 1.0)]).is_nan());
    }
}
