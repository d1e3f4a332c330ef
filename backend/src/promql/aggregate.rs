//! Aggregation operators (`sum`, `avg`, `topk`, … with `by`/`without`), step by step, with
//! Prometheus 2.42's arithmetic.

use promql_parser::parser::{AggregateExpr, Expr, LabelModifier};

use super::QueryError;
use super::eval::Evaluator;
use super::functions::quantile;
use super::value::{Series, SeriesCollector, Value};
use crate::metrics::model::{Labels, METRIC_NAME, is_valid_label_name};
use vigil_shared::prometheus::format_value;

pub fn eval(ev: &Evaluator, aggregate: &AggregateExpr) -> Result<Value, QueryError> {
    let op = aggregate.op.to_string();
    let series = ev.eval(&aggregate.expr)?.into_vector()?;
    let steps = ev.steps().len();
    let grouping = |labels: &Labels| -> Labels {
        match &aggregate.modifier {
            Some(LabelModifier::Include(by)) => labels.retain(|n| by.labels.iter().any(|l| l == n)),
            Some(LabelModifier::Exclude(without)) => {
                labels.retain(|n| n != METRIC_NAME && !without.labels.iter().any(|l| l == n))
            }
            None => Labels::default(),
        }
    };

    // Groups in first-seen order, each with its members' indices.
    let mut groups: Vec<(Labels, Vec<usize>)> = Vec::new();
    let mut index: std::collections::HashMap<Labels, usize> = std::collections::HashMap::new();
    for (i, s) in series.iter().enumerate() {
        let key = grouping(&s.labels);
        match index.get(&key) {
            Some(&g) => groups[g].1.push(i),
            None => {
                index.insert(key.clone(), groups.len());
                groups.push((key, vec![i]));
            }
        }
    }

    match op.as_str() {
        "topk" | "bottomk" => {
            let k = param_scalar(ev, aggregate)?;
            let top = op == "topk";
            let mut points: Vec<Vec<Option<f64>>> = vec![vec![None; steps]; series.len()];
            for (_, members) in &groups {
                for step in 0..steps {
                    let wanted = k[step];
                    // Also skips NaN.
                    if wanted.partial_cmp(&1.0).is_none_or(|o| o.is_lt()) {
                        continue;
                    }
                    let mut present: Vec<(usize, f64)> = members
                        .iter()
                        .filter_map(|&i| series[i].points[step].map(|v| (i, v)))
                        .collect();
                    // Best first; NaN is never preferred over a number (it goes last).
                    present.sort_by(|a, b| match (a.1.is_nan(), b.1.is_nan()) {
                        (true, true) => std::cmp::Ordering::Equal,
                        (true, false) => std::cmp::Ordering::Greater,
                        (false, true) => std::cmp::Ordering::Less,
                        _ => {
                            let order = a.1.partial_cmp(&b.1).expect("no NaN");
                            if top { order.reverse() } else { order }
                        }
                    });
                    for &(i, v) in present.iter().take(wanted.min(1e9) as usize) {
                        points[i][step] = Some(v);
                    }
                }
            }
            let mut selected: Vec<Series> = series
                .into_iter()
                .zip(points)
                .map(|(s, points)| Series {
                    labels: s.labels,
                    points,
                })
                .filter(|s| !s.is_empty())
                .collect();
            // For instant queries, Prometheus lists topk largest first and bottomk smallest first.
            if steps == 1 {
                selected.sort_by(|a, b| {
                    let (x, y) = (
                        a.points[0].unwrap_or(f64::NAN),
                        b.points[0].unwrap_or(f64::NAN),
                    );
                    let order = x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal);
                    if top { order.reverse() } else { order }
                });
            }
            Ok(Value::Vector(selected))
        }
        "count_values" => {
            let label = match &aggregate.param {
                Some(param) => match ev.eval(param)? {
                    Value::String(s) => s,
                    other => {
                        return Err(QueryError::bad_data(format!(
                            "count_values needs a string parameter, got a {}",
                            other.kind()
                        )));
                    }
                },
                None => return Err(QueryError::bad_data("count_values needs a label name")),
            };
            if !is_valid_label_name(&label) {
                return Err(QueryError::bad_data(format!(
                    "invalid label name \"{label}\""
                )));
            }
            let mut out = SeriesCollector::new(steps, ev.budget());
            for (key, members) in &groups {
                for step in 0..steps {
                    let mut counts: Vec<(String, f64)> = Vec::new();
                    for &i in members {
                        if let Some(v) = series[i].points[step] {
                            let text = format_value(v);
                            match counts.iter_mut().find(|(t, _)| *t == text) {
                                Some((_, n)) => *n += 1.0,
                                None => counts.push((text, 1.0)),
                            }
                        }
                    }
                    for (text, n) in counts {
                        let labels = key.with(&label, &text);
                        out.points_mut(&labels)?[step] = Some(n);
                    }
                }
            }
            Ok(Value::Vector(out.finish()))
        }
        _ => {
            let q = if op == "quantile" {
                Some(param_scalar(ev, aggregate)?)
            } else {
                None
            };
            let mut out = Vec::with_capacity(groups.len());
            for (key, members) in groups {
                let points = (0..steps)
                    .map(|step| {
                        let values: Vec<f64> = members
                            .iter()
                            .filter_map(|&i| series[i].points[step])
                            .collect();
                        if values.is_empty() {
                            return Ok(None);
                        }
                        Ok(Some(match op.as_str() {
                            "sum" => values.iter().sum(),
                            "avg" => average(&values),
                            "count" => values.len() as f64,
                            "group" => 1.0,
                            "min" => values
                                .iter()
                                .copied()
                                .fold(f64::NAN, |m, v| if m > v || m.is_nan() { v } else { m }),
                            "max" => values
                                .iter()
                                .copied()
                                .fold(f64::NAN, |m, v| if m < v || m.is_nan() { v } else { m }),
                            "stddev" => variance(&values).sqrt(),
                            "stdvar" => variance(&values),
                            "quantile" => {
                                let mut values = values;
                                quantile(q.as_ref().expect("set for quantile")[step], &mut values)
                            }
                            other => {
                                return Err(QueryError::bad_data(format!(
                                    "aggregation \"{other}\" is not supported by Vigil yet"
                                )));
                            }
                        }))
                    })
                    .collect::<Result<Vec<_>, QueryError>>()?;
                let series = Series {
                    labels: key,
                    points,
                };
                if !series.is_empty() {
                    out.push(series);
                }
            }
            Ok(Value::Vector(out))
        }
    }
}

fn param_scalar(ev: &Evaluator, aggregate: &AggregateExpr) -> Result<Vec<f64>, QueryError> {
    let param: &Expr = aggregate
        .param
        .as_deref()
        .ok_or_else(|| QueryError::bad_data(format!("{} needs a parameter", aggregate.op)))?;
    ev.eval(param)?.into_scalar()
}

/// Prometheus' incremental mean, which copes with infinities and avoids overflow.
fn average(values: &[f64]) -> f64 {
    let mut mean = values[0];
    let mut count = 1.0;
    for &v in &values[1..] {
        count += 1.0;
        if mean.is_infinite() {
            if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                continue;
            }
            if !v.is_infinite() && !v.is_nan() {
                continue;
            }
        }
        mean += v / count - mean / count;
    }
    mean
}

/// Welford's running variance, as Prometheus computes `stdvar`.
fn variance(values: &[f64]) -> f64 {
    let mut mean = values[0];
    let mut value = 0.0;
    let mut count = 1.0;
    for &v in &values[1..] {
        count += 1.0;
        let delta = v - mean;
        mean += delta / count;
        value += delta * (v - mean);
    }
    value / count
}
