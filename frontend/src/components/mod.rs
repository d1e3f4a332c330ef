//! Widgets shared by pages.

mod feedback;
mod field;
mod shell;

pub use feedback::{ErrorBanner, Loading, NotBuilt, Spinner};
pub use field::{CheckboxField, SelectField, TextField};
pub use shell::Shell;
