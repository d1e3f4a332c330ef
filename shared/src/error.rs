//! The one error body every endpoint answers with: `{"error": {"code", "message", "fields"?}}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable, machine-readable code such as `validation_failed` or `unauthorized`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// Per-field problems of a rejected form, keyed by the field's JSON name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}
