//! One module per page.

pub mod account;
pub mod admin;
pub mod alerts;
pub mod dashboards;
pub mod explore;
pub mod home;
pub mod incidents;
pub mod login;
pub mod oncall;
pub mod reports;
pub mod slos;
pub mod targets;
