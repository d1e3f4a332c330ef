//! Who and which teams exist, as anyone logged in may read them: enough to show names and to
//! pick people or teams in forms (schedule participants, escalation targets) without the
//! admin-only user and team APIs.

use serde::{Deserialize, Serialize};

use crate::auth::TeamRef;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DirectoryUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    /// Disabled users are listed so that old schedules and policies still name them; forms
    /// offer only the others.
    pub disabled: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserDirectory {
    pub users: Vec<DirectoryUser>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamDirectory {
    pub teams: Vec<TeamRef>,
}
