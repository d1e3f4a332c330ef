//! On-call schedules: who is paged when an escalation policy points at a schedule. A schedule
//! rotates through its participants (daily, weekly, or every N hours), handing off at a fixed
//! local time in its own time zone; overrides put someone else on call for a while.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// How often the person on call changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rotation {
    /// Every day at `handoff_time`, local time.
    Daily,
    /// Every seven days at `handoff_time`, local time.
    Weekly,
    /// Every `shift_hours` hours of elapsed time from the first handoff (DST does not move it).
    Custom,
}

impl Rotation {
    pub fn as_str(self) -> &'static str {
        match self {
            Rotation::Daily => "daily",
            Rotation::Weekly => "weekly",
            Rotation::Custom => "custom",
        }
    }
}

/// A schedule as the form sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// An IANA time zone name such as `Europe/Berlin`; handoffs follow its local clock.
    pub timezone: String,
    pub rotation: Rotation,
    /// Length of each shift in hours, for custom rotations only (1 to 2160).
    #[serde(default)]
    pub shift_hours: Option<u32>,
    /// The local date of the first handoff.
    pub start_date: NaiveDate,
    /// The local wall-clock time of each handoff, `HH:MM` (24-hour).
    #[serde(default = "default_handoff_time")]
    pub handoff_time: String,
    /// User ids in rotation order; the first takes the first shift. Someone may appear more
    /// than once to take more of the shifts.
    #[serde(default)]
    pub participants: Vec<i64>,
}

fn default_handoff_time() -> String {
    "09:00".to_owned()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub id: i64,
    #[serde(flatten)]
    pub schedule: ScheduleRequest,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleList {
    pub schedules: Vec<Schedule>,
}

/// Puts `user_id` on call from `starts_at` until `ends_at`, whatever the rotation says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverrideRequest {
    pub user_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Override {
    pub id: i64,
    pub user_id: i64,
    pub user_email: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// A schedule's overrides that have not ended yet, soonest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverrideList {
    pub overrides: Vec<Override>,
}

/// A stretch of time one person is on call: a rotation shift, or an override cut into it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shift {
    pub user_id: i64,
    pub user_email: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Whether an override (rather than the rotation) put this person on call.
    pub is_override: bool,
}

/// Who is on call on a schedule at one instant; nobody before the first handoff.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OnCall {
    pub schedule_id: i64,
    pub at: DateTime<Utc>,
    pub user_id: Option<i64>,
    pub user_email: Option<String>,
    /// The shift (or override) covering `at`.
    pub shift: Option<Shift>,
}

/// Who is on call on every schedule at one instant, in the schedules' order (by name).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OnCallList {
    pub at: DateTime<Utc>,
    pub on_call: Vec<OnCall>,
}

/// The final shifts overlapping a time window, in time order, for a calendar.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShiftList {
    pub shifts: Vec<Shift>,
}
