//! On-call: schedules (who is on call when, overrides) and escalation policies.

use chrono::{DateTime, Utc};
use vigil_shared::incident::{EscalationPolicy, EscalationPolicyList, EscalationPolicyRequest};
use vigil_shared::schedule::{
    OnCallList, Override, OverrideList, OverrideRequest, Schedule, ScheduleList, ScheduleRequest,
    Shift, ShiftList,
};

use super::{ApiResult, Method, delete_at, encode, instant, json, save};

const SCHEDULES: &str = "/api/v1/schedules";
const ESCALATION_POLICIES: &str = "/api/v1/escalation-policies";

pub async fn list_schedules() -> ApiResult<ScheduleList> {
    json(Method::Get, SCHEDULES, None).await
}

pub async fn get_schedule(id: i64) -> ApiResult<Schedule> {
    json(Method::Get, &format!("{SCHEDULES}/{id}"), None).await
}

/// Who is on call now on every schedule.
pub async fn on_call_everywhere() -> ApiResult<OnCallList> {
    json(Method::Get, "/api/v1/oncall", None).await
}

/// Who is on call now on one schedule, in the shift (or override) covering this instant;
/// `None` before the rotation starts.
pub async fn on_call_now(id: i64) -> ApiResult<Option<Shift>> {
    let now = Utc::now();
    let shifts = schedule_shifts(id, now, now + chrono::TimeDelta::seconds(1)).await?;
    Ok(shifts.shifts.into_iter().find(|s| s.starts_at <= now))
}

/// Who is on call when from `from` to `to` (at most 62 days), overrides cut in.
pub async fn schedule_shifts(
    id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ApiResult<ShiftList> {
    let path = format!(
        "{SCHEDULES}/{id}/shifts?from={}&to={}",
        instant(from),
        instant(to)
    );
    json(Method::Get, &path, None).await
}

/// A schedule's overrides that have not ended yet.
pub async fn list_overrides(id: i64) -> ApiResult<OverrideList> {
    json(Method::Get, &format!("{SCHEDULES}/{id}/overrides"), None).await
}

pub async fn create_override(id: i64, request: &OverrideRequest) -> ApiResult<Override> {
    json(
        Method::Post,
        &format!("{SCHEDULES}/{id}/overrides"),
        encode(request),
    )
    .await
}

pub async fn delete_override(id: i64, override_id: i64) -> ApiResult<()> {
    delete_at(&format!("{SCHEDULES}/{id}/overrides/{override_id}")).await
}

pub async fn list_escalation_policies() -> ApiResult<EscalationPolicyList> {
    json(Method::Get, ESCALATION_POLICIES, None).await
}

pub async fn get_escalation_policy(id: i64) -> ApiResult<EscalationPolicy> {
    json(Method::Get, &format!("{ESCALATION_POLICIES}/{id}"), None).await
}

/// Creates a schedule (`id` is `None`) or replaces one; answers its id and name.
pub async fn save_schedule(id: Option<i64>, request: &ScheduleRequest) -> ApiResult<Named> {
    save(SCHEDULES, id, request).await
}

pub async fn delete_schedule(id: i64) -> ApiResult<()> {
    delete_at(&format!("{SCHEDULES}/{id}")).await
}

/// Creates an escalation policy (`id` is `None`) or replaces one; answers its id and name.
pub async fn save_escalation_policy(
    id: Option<i64>,
    request: &EscalationPolicyRequest,
) -> ApiResult<Named> {
    save(ESCALATION_POLICIES, id, request).await
}

pub async fn delete_escalation_policy(id: i64) -> ApiResult<()> {
    delete_at(&format!("{ESCALATION_POLICIES}/{id}")).await
}

/// A schedule's or escalation policy's id and name: all a picker or a saved form needs
/// (reading whole ones would cost the WebAssembly their decoders).
#[derive(Clone, serde::Deserialize)]
pub struct Named {
    pub id: i64,
    pub name: String,
}

#[derive(serde::Deserialize)]
struct NamedPolicies {
    policies: Vec<Named>,
}

pub async fn escalation_policy_names() -> ApiResult<Vec<Named>> {
    json::<NamedPolicies>(Method::Get, ESCALATION_POLICIES, None)
        .await
        .map(|l| l.policies)
}
