//! Widgets shared by pages.

mod feedback;
mod field;
mod form;
mod shell;

pub use feedback::{ErrorBanner, Loading, NotBuilt, Spinner};
pub use field::{CheckboxField, SelectField, TextField};
pub use form::FormState;
pub use shell::Shell;
