//! Users' contact methods: where an escalation pages a person besides the in-app
//! notification (an email address, or a webhook that gets Alertmanager's JSON).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::notify::Delivery;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactKind {
    /// Sent through the server's mail relay (`--smtp-url`).
    Email,
    /// Alertmanager's webhook payload (version 4), as webhook channels send it.
    Webhook,
}

impl ContactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Email => "email",
            ContactKind::Webhook => "webhook",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "email" => Some(ContactKind::Email),
            "webhook" => Some(ContactKind::Webhook),
            _ => None,
        }
    }
}

/// A new contact method. `kind` is `"email"` or `"webhook"` ([`ContactKind::as_str`]); it is
/// text so that an unknown kind is answered beside the field like any other mistake.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactMethodRequest {
    #[serde(default)]
    pub kind: String,
    /// An email address, or an `http://` / `https://` URL.
    #[serde(default)]
    pub address: String,
    /// Optional: "personal phone", say.
    #[serde(default)]
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContactMethod {
    pub id: i64,
    pub user_id: i64,
    pub kind: ContactKind,
    pub address: String,
    pub label: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContactMethodList {
    pub methods: Vec<ContactMethod>,
}

/// One message sent (or being retried) to a contact method; kept, and still naming the
/// method, after the method is deleted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContactDelivery {
    pub contact_method_id: i64,
    pub kind: ContactKind,
    pub address: String,
    pub label: String,
    pub method_deleted: bool,
    #[serde(flatten)]
    pub delivery: Delivery,
}

/// Newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContactDeliveryLog {
    pub deliveries: Vec<ContactDelivery>,
}
