//! Where alerts go: notification channels (with their delivery logs), the notification
//! policies that route alerts to them, and the inhibition rules that keep alerts quiet.

use vigil_shared::alerting::{InhibitionRule, InhibitionRuleList, InhibitionRuleRequest};
use vigil_shared::notify::{
    Channel, ChannelList, ChannelRequest, Delivery, DeliveryLog, Policy, PolicyList, PolicyRequest,
};

use super::{ApiResult, Method, call, delete_at, encode, json, save};

const POLICIES: &str = "/api/v1/notification-policies";
const INHIBITION_RULES: &str = "/api/v1/inhibition-rules";

pub async fn list_channels() -> ApiResult<ChannelList> {
    json(Method::Get, "/api/v1/notification-channels", None).await
}

pub async fn create_channel(request: &ChannelRequest) -> ApiResult<Channel> {
    json(
        Method::Post,
        "/api/v1/notification-channels",
        encode(request),
    )
    .await
}

pub async fn update_channel(id: i64, request: &ChannelRequest) -> ApiResult<Channel> {
    json(
        Method::Put,
        &format!("/api/v1/notification-channels/{id}"),
        encode(request),
    )
    .await
}

pub async fn delete_channel(id: i64) -> ApiResult<()> {
    call(
        Method::Delete,
        &format!("/api/v1/notification-channels/{id}"),
        None,
    )
    .await
    .map(drop)
}

/// Sends a test notification now and answers how the delivery went.
pub async fn test_channel(id: i64) -> ApiResult<Delivery> {
    json(
        Method::Post,
        &format!("/api/v1/notification-channels/{id}/test"),
        None,
    )
    .await
}

pub async fn channel_deliveries(id: i64) -> ApiResult<DeliveryLog> {
    json(
        Method::Get,
        &format!("/api/v1/notification-channels/{id}/deliveries"),
        None,
    )
    .await
}

pub async fn list_policies() -> ApiResult<PolicyList> {
    json(Method::Get, POLICIES, None).await
}

/// Creates a policy (`id` is `None`) or replaces one.
pub async fn save_policy(id: Option<i64>, request: &PolicyRequest) -> ApiResult<Policy> {
    save(POLICIES, id, request).await
}

pub async fn delete_policy(id: i64) -> ApiResult<()> {
    delete_at(&format!("{POLICIES}/{id}")).await
}

pub async fn list_inhibition_rules() -> ApiResult<InhibitionRuleList> {
    json(Method::Get, INHIBITION_RULES, None).await
}

/// Creates an inhibition rule (`id` is `None`) or replaces one.
pub async fn save_inhibition_rule(
    id: Option<i64>,
    request: &InhibitionRuleRequest,
) -> ApiResult<InhibitionRule> {
    save(INHIBITION_RULES, id, request).await
}

pub async fn delete_inhibition_rule(id: i64) -> ApiResult<()> {
    delete_at(&format!("{INHIBITION_RULES}/{id}")).await
}
