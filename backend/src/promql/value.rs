//! What PromQL expressions evaluate to, over every step of a query at once.
//!
//! An instant vector is kept series by series, each with one optional value per step: labels
//! are computed once per series rather than once per step, which is what makes range queries
//! over thousands of steps cheap.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use crate::metrics::model::{Labels, Sample};

use super::QueryError;
use super::limits::Budget;

/// One series of an instant vector: its value at each step (`None` where it has none).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub points: Vec<Option<f64>>,
}

impl Series {
    pub fn is_empty(&self) -> bool {
        self.points.iter().all(Option::is_none)
    }
}

/// A range vector: samples of each series plus how each step looks into them.
#[derive(Clone, Debug)]
pub struct RangeVector {
    pub series: Vec<RangeSeries>,
    /// The window length.
    pub range_ms: i64,
    /// Added to a step's time to get the window's end (`-offset`, or the `@` time).
    pub window_end: WindowEnd,
    /// Samples this value made itself (a subquery's), as opposed to ones shared with the
    /// fetched data, which the query's budget has already counted.
    pub owned_samples: usize,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WindowEnd {
    /// The step's time minus this offset.
    Relative(i64),
    /// A fixed time (the `@` modifier), offset already applied.
    Fixed(i64),
}

impl WindowEnd {
    pub fn at(self, step_time: i64) -> i64 {
        match self {
            WindowEnd::Relative(offset) => step_time - offset,
            WindowEnd::Fixed(time) => time,
        }
    }
}

#[derive(Clone, Debug)]
pub struct RangeSeries {
    pub labels: Labels,
    /// Sorted by time, staleness markers removed.
    pub samples: Arc<Vec<Sample>>,
}

/// The value of an expression over all steps.
#[derive(Clone, Debug)]
pub enum Value {
    Scalar(Vec<f64>),
    String(String),
    Vector(Vec<Series>),
    Range(RangeVector),
}

impl Value {
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Scalar(_) => "scalar",
            Value::String(_) => "string",
            Value::Vector(_) => "instant vector",
            Value::Range(_) => "range vector",
        }
    }

    /// What this value holds in memory, in samples (16 bytes): a point of a series or a
    /// scalar's value per step counts as one, and so does each series' labels.
    pub fn samples_held(&self) -> usize {
        match self {
            Value::Scalar(values) => values.len(),
            Value::String(_) => 0,
            Value::Vector(series) => series.iter().map(|s| s.points.len() + 1).sum(),
            Value::Range(range) => range.owned_samples,
        }
    }

    pub fn into_vector(self) -> Result<Vec<Series>, QueryError> {
        match self {
            Value::Vector(v) => Ok(v),
            other => Err(QueryError::execution(format!(
                "expected an instant vector, got a {}",
                other.kind()
            ))),
        }
    }

    pub fn into_scalar(self) -> Result<Vec<f64>, QueryError> {
        match self {
            Value::Scalar(v) => Ok(v),
            other => Err(QueryError::execution(format!(
                "expected a scalar, got a {}",
                other.kind()
            ))),
        }
    }
}

/// Collects output series by label set, merging points of series that end up with the same
/// labels, and refusing two values for one label set at one step (Prometheus' "vector cannot
/// contain metrics with the same labelset"). Each new label set is charged to the query's
/// budget before its points are made.
pub struct SeriesCollector<'b> {
    steps: usize,
    budget: &'b Budget,
    order: Vec<Labels>,
    by_labels: HashMap<Labels, Vec<Option<f64>>>,
}

impl<'b> SeriesCollector<'b> {
    pub fn new(steps: usize, budget: &'b Budget) -> Self {
        SeriesCollector {
            steps,
            budget,
            order: Vec::new(),
            by_labels: HashMap::new(),
        }
    }

    pub fn points_mut(&mut self, labels: &Labels) -> Result<&mut Vec<Option<f64>>, QueryError> {
        match self.by_labels.entry(labels.clone()) {
            Entry::Occupied(points) => Ok(points.into_mut()),
            Entry::Vacant(slot) => {
                self.budget.charge(self.steps + 1)?;
                self.order.push(labels.clone());
                Ok(slot.insert(vec![None; self.steps]))
            }
        }
    }

    /// Sets one value; errors if that label set already has a value at that step.
    pub fn set(&mut self, labels: &Labels, step: usize, value: f64) -> Result<(), QueryError> {
        let points = self.points_mut(labels)?;
        if points[step].is_some() {
            return Err(QueryError::execution(
                "vector cannot contain metrics with the same labelset",
            ));
        }
        points[step] = Some(value);
        Ok(())
    }

    /// Adds a whole series (its points kept as they are when its labels are new), checking
    /// for collisions step by step.
    pub fn add(&mut self, series: Series) -> Result<(), QueryError> {
        let points = match self.by_labels.entry(series.labels) {
            Entry::Occupied(points) => points.into_mut(),
            Entry::Vacant(slot) => {
                self.budget.charge(series.points.len() + 1)?;
                self.order.push(slot.key().clone());
                slot.insert(series.points);
                return Ok(());
            }
        };
        for (slot, value) in points.iter_mut().zip(series.points) {
            if let Some(value) = value {
                if slot.is_some() {
                    return Err(QueryError::execution(
                        "vector cannot contain metrics with the same labelset",
                    ));
                }
                *slot = Some(value);
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> Vec<Series> {
        self.order
            .into_iter()
            .filter_map(|labels| {
                let points = self.by_labels.remove(&labels)?;
                let series = Series { labels, points };
                (!series.is_empty()).then_some(series)
            })
            .collect()
    }
}
