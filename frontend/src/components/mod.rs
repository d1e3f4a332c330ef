//! Widgets and helpers shared by pages.

mod address;
mod channel_picker;
mod chart;
mod confirm;
mod feedback;
mod field;
mod form;
mod leave_warning;
mod loaded;
mod panels;
mod promql_editor;
mod query_builder;
mod severity;
mod shell;
mod time_range;

pub use address::replace_address;
pub use channel_picker::ChannelPicker;
pub use chart::{
    ChartData, ChartSeries, MAX_SERIES, ShadedSpan, ThresholdLine, TimeSeriesChart, preload_charts,
};
pub use confirm::confirm;
pub use feedback::{ErrorBanner, FieldErrors, Loading, NotBuilt, Notice, Spinner};
pub use field::{CheckboxField, SelectField, TextField};
pub use form::FormState;
pub use leave_warning::warn_before_leaving;
pub use loaded::{Loaded, load_failed};
pub use panels::{PanelBody, PanelData, markdown_html, threshold_color};
pub use promql_editor::PromqlEditor;
pub use query_builder::QueryBuilder;
pub use severity::{SEVERITY_FILTER, SeverityBadge};
pub use shell::Shell;
pub use time_range::{TimeRange, TimeRangePicker, now};
