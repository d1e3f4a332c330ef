//! Dashboards (SPEC §6).

pub mod grafana;
