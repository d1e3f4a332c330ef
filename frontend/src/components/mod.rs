//! Widgets shared by pages.

mod chart;
mod feedback;
mod field;
mod form;
mod promql_editor;
mod shell;
mod time_range;

pub use chart::{ChartData, ChartSeries, MAX_SERIES, ShadedSpan, ThresholdLine, TimeSeriesChart};
pub use feedback::{ErrorBanner, Loading, NotBuilt, Notice, Spinner};
pub use field::{CheckboxField, SelectField, TextField};
pub use form::FormState;
pub use promql_editor::PromqlEditor;
pub use shell::Shell;
pub use time_range::{TimeRange, TimeRangePicker, now};
