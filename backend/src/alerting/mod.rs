//! Alerting: rules with warning and critical thresholds over PromQL, and their annotations'
//! templates.

pub mod import;
pub mod rules;
pub mod template;

pub use rules::routes;
