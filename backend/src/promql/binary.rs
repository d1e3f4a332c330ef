//! Binary operators: arithmetic, comparisons (filtering, or `bool`), and the set operators
//! `and`/`or`/`unless`, with Prometheus' vector matching (`on`, `ignoring`, `group_left`,
//! `group_right`) and its rules for the result's labels.

use std::collections::HashMap;

use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};

use super::QueryError;
use super::eval::Evaluator;
use super::limits::Budget;
use super::value::{Series, SeriesCollector, Value};
use crate::metrics::model::{Labels, METRIC_NAME};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
}

impl Op {
    fn parse(text: &str) -> Result<Op, QueryError> {
        Ok(match text {
            "+" => Op::Add,
            "-" => Op::Sub,
            "*" => Op::Mul,
            "/" => Op::Div,
            "%" => Op::Mod,
            "^" => Op::Pow,
            "atan2" => Op::Atan2,
            "==" => Op::Eq,
            "!=" => Op::Ne,
            ">" => Op::Gt,
            "<" => Op::Lt,
            ">=" => Op::Ge,
            "<=" => Op::Le,
            "and" => Op::And,
            "or" => Op::Or,
            "unless" => Op::Unless,
            other => {
                return Err(QueryError::bad_data(format!(
                    "unknown binary operator {other}"
                )));
            }
        })
    }

    fn is_comparison(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Gt | Op::Lt | Op::Ge | Op::Le)
    }

    fn is_set(self) -> bool {
        matches!(self, Op::And | Op::Or | Op::Unless)
    }

    /// Arithmetic changes what a series measures, so its name goes. (Prometheus 2.42 keeps
    /// it for `atan2`, and so does Vigil, to give the same answers.)
    fn drops_name(self) -> bool {
        matches!(
            self,
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Mod | Op::Pow
        )
    }

    /// Prometheus' `vectorElemBinop`: the value and whether a comparison keeps it.
    fn apply(self, lhs: f64, rhs: f64) -> (f64, bool) {
        match self {
            Op::Add => (lhs + rhs, true),
            Op::Sub => (lhs - rhs, true),
            Op::Mul => (lhs * rhs, true),
            Op::Div => (lhs / rhs, true),
            Op::Mod => (lhs % rhs, true),
            Op::Pow => (lhs.powf(rhs), true),
            Op::Atan2 => (lhs.atan2(rhs), true),
            Op::Eq => (lhs, lhs == rhs),
            Op::Ne => (lhs, lhs != rhs),
            Op::Gt => (lhs, lhs > rhs),
            Op::Lt => (lhs, lhs < rhs),
            Op::Ge => (lhs, lhs >= rhs),
            Op::Le => (lhs, lhs <= rhs),
            Op::And | Op::Or | Op::Unless => (lhs, true),
        }
    }
}

pub fn eval(ev: &Evaluator, expr: &BinaryExpr) -> Result<Value, QueryError> {
    let op = Op::parse(&expr.op.to_string())?;
    let return_bool = expr.modifier.as_ref().is_some_and(|m| m.return_bool);
    let lhs = ev.eval(&expr.lhs)?;
    let rhs = ev.eval(&expr.rhs)?;
    let steps = ev.steps().len();
    match (lhs, rhs) {
        (Value::Scalar(l), Value::Scalar(r)) => Ok(Value::Scalar(
            l.into_iter()
                .zip(r)
                .map(|(a, b)| {
                    let (value, keep) = op.apply(a, b);
                    if op.is_comparison() {
                        if keep { 1.0 } else { 0.0 }
                    } else {
                        value
                    }
                })
                .collect(),
        )),
        (Value::Vector(v), Value::Scalar(s)) => {
            vector_scalar(op, v, &s, false, return_bool, ev.budget())
        }
        (Value::Scalar(s), Value::Vector(v)) => {
            vector_scalar(op, v, &s, true, return_bool, ev.budget())
        }
        (Value::Vector(l), Value::Vector(r)) => {
            let (on, names) = matching(expr);
            if op.is_set() {
                return Ok(Value::Vector(set_operation(op, l, r, on, &names, steps)));
            }
            vector_vector(
                op,
                expr,
                (l, r),
                on,
                &names,
                return_bool,
                (steps, ev.budget()),
            )
        }
        (l, r) => Err(QueryError::bad_data(format!(
            "binary operators need scalars or instant vectors, not a {} and a {}",
            l.kind(),
            r.kind()
        ))),
    }
}

fn vector_scalar(
    op: Op,
    series: Vec<Series>,
    scalar: &[f64],
    scalar_on_left: bool,
    return_bool: bool,
    budget: &Budget,
) -> Result<Value, QueryError> {
    let mut out = SeriesCollector::new(scalar.len(), budget);
    for s in series {
        let labels = if op.drops_name() || return_bool {
            s.labels.without_name()
        } else {
            s.labels.clone()
        };
        let points = s
            .points
            .into_iter()
            .enumerate()
            .map(|(step, p)| {
                let v = p?;
                let (lhs, rhs) = if scalar_on_left {
                    (scalar[step], v)
                } else {
                    (v, scalar[step])
                };
                let (mut value, keep) = op.apply(lhs, rhs);
                // A comparison keeps the vector's value, whichever side it is on.
                if op.is_comparison() && scalar_on_left {
                    value = v;
                }
                if return_bool {
                    return Some(if keep { 1.0 } else { 0.0 });
                }
                keep.then_some(value)
            })
            .collect();
        out.add(Series { labels, points })?;
    }
    Ok(Value::Vector(out.finish()))
}

/// `(on, label names)` of the expression's matching clause; no clause means "ignoring()".
fn matching(expr: &BinaryExpr) -> (bool, Vec<String>) {
    match expr.modifier.as_ref().and_then(|m| m.matching.as_ref()) {
        Some(LabelModifier::Include(labels)) => (true, labels.labels.clone()),
        Some(LabelModifier::Exclude(labels)) => (false, labels.labels.clone()),
        None => (false, Vec::new()),
    }
}

fn signature(labels: &Labels, on: bool, names: &[String]) -> Labels {
    if on {
        labels.retain(|n| names.iter().any(|m| m == n))
    } else {
        labels.retain(|n| n != METRIC_NAME && !names.iter().any(|m| m == n))
    }
}

fn set_operation(
    op: Op,
    lhs: Vec<Series>,
    rhs: Vec<Series>,
    on: bool,
    names: &[String],
    steps: usize,
) -> Vec<Series> {
    let lhs_sigs: Vec<Labels> = lhs
        .iter()
        .map(|s| signature(&s.labels, on, names))
        .collect();
    let rhs_sigs: Vec<Labels> = rhs
        .iter()
        .map(|s| signature(&s.labels, on, names))
        .collect();
    let present =
        |series: &[Series], sigs: &[Labels], step: usize| -> std::collections::HashSet<Labels> {
            series
                .iter()
                .zip(sigs)
                .filter(|(s, _)| s.points[step].is_some())
                .map(|(_, sig)| sig.clone())
                .collect()
        };
    let mut lhs_points: Vec<Vec<Option<f64>>> = lhs.iter().map(|s| s.points.clone()).collect();
    let mut rhs_points: Vec<Vec<Option<f64>>> = vec![vec![None; steps]; rhs.len()];
    for step in 0..steps {
        match op {
            Op::And => {
                let right = present(&rhs, &rhs_sigs, step);
                for (i, sig) in lhs_sigs.iter().enumerate() {
                    if !right.contains(sig) {
                        lhs_points[i][step] = None;
                    }
                }
            }
            Op::Unless => {
                let right = present(&rhs, &rhs_sigs, step);
                for (i, sig) in lhs_sigs.iter().enumerate() {
                    if right.contains(sig) {
                        lhs_points[i][step] = None;
                    }
                }
            }
            Op::Or => {
                let left = present(&lhs, &lhs_sigs, step);
                for (i, sig) in rhs_sigs.iter().enumerate() {
                    if !left.contains(sig) {
                        rhs_points[i][step] = rhs[i].points[step];
                    }
                }
            }
            _ => unreachable!("only set operators come here"),
        }
    }
    // Results keep their own labels; series with the same labels on both sides share a row.
    let mut out: Vec<Series> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for (labels, points) in lhs
        .into_iter()
        .map(|s| s.labels)
        .zip(lhs_points)
        .chain(rhs.into_iter().map(|s| s.labels).zip(rhs_points))
    {
        match index.get(&labels) {
            Some(&i) => {
                for (slot, p) in out[i].points.iter_mut().zip(points) {
                    if slot.is_none() {
                        *slot = p;
                    }
                }
            }
            None => {
                index.insert(labels.clone(), out.len());
                out.push(Series { labels, points });
            }
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

#[allow(clippy::too_many_arguments)]
fn vector_vector(
    op: Op,
    expr: &BinaryExpr,
    (lhs, rhs): (Vec<Series>, Vec<Series>),
    on: bool,
    names: &[String],
    return_bool: bool,
    (steps, budget): (usize, &Budget),
) -> Result<Value, QueryError> {
    let card = expr
        .modifier
        .as_ref()
        .map_or(&VectorMatchCardinality::OneToOne, |m| &m.card);
    let (include, one_to_many) = match card {
        VectorMatchCardinality::ManyToOne(labels) => (labels.labels.clone(), false),
        VectorMatchCardinality::OneToMany(labels) => (labels.labels.clone(), true),
        _ => (Vec::new(), false),
    };
    let one_to_one = matches!(card, VectorMatchCardinality::OneToOne);
    // "many" is the side whose series all appear in the result; for group_right it is the rhs.
    let (many, one) = if one_to_many { (rhs, lhs) } else { (lhs, rhs) };
    let many_sigs: Vec<Labels> = many
        .iter()
        .map(|s| signature(&s.labels, on, names))
        .collect();
    let one_sigs: Vec<Labels> = one
        .iter()
        .map(|s| signature(&s.labels, on, names))
        .collect();

    // Result labels depend only on the pair of series; compute each pair's once.
    let mut result_labels: HashMap<(usize, usize), Labels> = HashMap::new();
    let mut out = SeriesCollector::new(steps, budget);
    for step in 0..steps {
        let mut one_by_sig: HashMap<&Labels, usize> = HashMap::new();
        for (i, s) in one.iter().enumerate() {
            if s.points[step].is_none() {
                continue;
            }
            if let Some(previous) = one_by_sig.insert(&one_sigs[i], i) {
                let side = if one_to_many { "left" } else { "right" };
                return Err(QueryError::execution(format!(
                    "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                    one_sigs[i], one[previous].labels, s.labels
                )));
            }
        }
        let mut matched_sigs: HashMap<&Labels, usize> = HashMap::new();
        for (i, s) in many.iter().enumerate() {
            let Some(many_value) = s.points[step] else {
                continue;
            };
            let Some(&j) = one_by_sig.get(&many_sigs[i]) else {
                continue;
            };
            if one_to_one && let Some(previous) = matched_sigs.insert(&many_sigs[i], i) {
                let _ = previous;
                return Err(QueryError::execution(format!(
                    "found duplicate series for the match group {} on the left hand-side of the operation: many-to-many matching not allowed: matching labels must be unique on one side",
                    many_sigs[i]
                )));
            }
            let one_value = one[j].points[step].expect("only present series are indexed");
            let (left, right) = if one_to_many {
                (one_value, many_value)
            } else {
                (many_value, one_value)
            };
            let (value, keep) = op.apply(left, right);
            let value = if return_bool {
                if keep { 1.0 } else { 0.0 }
            } else if !keep {
                continue;
            } else {
                value
            };
            let labels = result_labels
                .entry((i, j))
                .or_insert_with(|| {
                    result_metric(
                        &s.labels,
                        &one[j].labels,
                        op,
                        on,
                        names,
                        one_to_one,
                        &include,
                        return_bool,
                    )
                })
                .clone();
            out.set(&labels, step, value).map_err(|_| {
                QueryError::execution(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                )
            })?;
        }
    }
    Ok(Value::Vector(out.finish()))
}

/// Prometheus' `resultMetric`: the labels of one result of a vector/vector operation.
#[allow(clippy::too_many_arguments)]
fn result_metric(
    many: &Labels,
    one: &Labels,
    op: Op,
    on: bool,
    names: &[String],
    one_to_one: bool,
    include: &[String],
    return_bool: bool,
) -> Labels {
    let mut labels = many.clone();
    if op.drops_name() || return_bool {
        labels = labels.without_name();
    }
    if one_to_one {
        labels = if on {
            labels.retain(|n| names.iter().any(|m| m == n))
        } else {
            labels.retain(|n| !names.iter().any(|m| m == n))
        };
    }
    for name in include {
        labels = labels.with(name, one.get(name).unwrap_or(""));
    }
    labels
}
