//! Metrics: the data model, the series catalog, storage of samples in PostgreSQL (partitioned
//! by day, or TimescaleDB), rollups and retention.

pub mod cache;
pub mod copy;
pub mod model;
pub mod partitions;
pub mod retention;
pub mod rollup;
pub mod series;
pub mod store;

pub use model::{Labels, MetricMetadata, MetricType, Sample, SeriesWrite, WriteBatch};
pub use store::{MetricStore, Rejections, StoreConfig, WriteError, WriteOutcome};
