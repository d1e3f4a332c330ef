//! Vigil's web UI: a Leptos single-page app talking to the Vigil API.

pub mod api;
pub mod app;
pub mod chunks;
pub mod completion;
pub mod components;
pub mod format;
pub mod live;
pub mod pages;
pub mod session;
pub mod theme;
pub mod units;
pub mod zone;
