//! Service level objectives and SLA reports (SPEC §9).

pub mod pdf;
