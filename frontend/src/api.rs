//! The typed client for Vigil's HTTP API. Pages call these functions and never build URLs or
//! requests themselves.
//!
//! A 401 triggers one session refresh and a retry; if the session cannot be refreshed, the
//! handler registered with [`on_session_lost`] runs (the app sends the user to the login page).

use std::cell::RefCell;
use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use vigil_shared::admin::{
    ApiKeyList, AuditLogPage, CreateApiKeyRequest, CreateTeamRequest, CreateUserRequest,
    CreatedApiKey, ResetPasswordRequest, Team, TeamList, UpdateTeamRequest, UpdateUserRequest,
    UserList,
};
use vigil_shared::alerting::{
    AlertList, AlertRule, AlertRuleList, AlertRuleRequest, InhibitionRuleList, RuleImportReport,
    RuleImportRequest, Silence, SilenceList, SilenceRequest,
};
use vigil_shared::auth::{ChangePasswordRequest, LoginRequest, User};
use vigil_shared::contact::{
    ContactDelivery, ContactMethod, ContactMethodList, ContactMethodRequest,
};
use vigil_shared::directory::{TeamDirectory, UserDirectory};
use vigil_shared::error::ErrorBody;
use vigil_shared::incident::{
    Analytics, EscalationPolicy, EscalationPolicyList, IncidentAction, IncidentDetail,
    IncidentList, IncidentRequest, MarkNotificationsRead, NotificationList,
};
use vigil_shared::notify::{
    Channel, ChannelList, ChannelRequest, Delivery, DeliveryLog, PolicyList,
};
use vigil_shared::prometheus::{ApiResponse as PromResponse, QueryData, Status as PromStatus};
use vigil_shared::schedule::{
    OnCallList, Override, OverrideList, OverrideRequest, Schedule, ScheduleList, Shift, ShiftList,
};
use vigil_shared::scrape::{ScrapeTarget, ScrapeTargetList, ScrapeTargetRequest};
use vigil_shared::status::BuildInfo;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCredentials, RequestInit, Response};

/// A failed API call, as the server described it (or as the network failed).
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// HTTP status; 0 when the server could not be reached.
    pub status: u16,
    pub code: String,
    pub message: String,
    pub fields: BTreeMap<String, String>,
}

impl ApiError {
    fn network(detail: &str) -> Self {
        ApiError {
            status: 0,
            code: "network".to_owned(),
            message: format!(
                "Vigil could not be reached ({detail}). Check your connection and retry."
            ),
            fields: BTreeMap::new(),
        }
    }

    /// The problem with one form field, if the server named it.
    pub fn field(&self, name: &str) -> Option<String> {
        self.fields.get(name).cloned()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

thread_local! {
    static SESSION_LOST: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
}

/// Registers what to do when the session is gone for good (expired and not refreshable).
pub fn on_session_lost(handler: impl Fn() + 'static) {
    SESSION_LOST.with(|slot| *slot.borrow_mut() = Some(Box::new(handler)));
}

fn session_lost() {
    SESSION_LOST.with(|slot| {
        if let Some(handler) = slot.borrow().as_ref() {
            handler();
        }
    });
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

async fn send(method: Method, path: &str, body: Option<&str>) -> ApiResult<Response> {
    let init = RequestInit::new();
    init.set_method(method.as_str());
    init.set_credentials(RequestCredentials::SameOrigin);
    let headers = web_sys::Headers::new().map_err(|_| ApiError::network("headers"))?;
    headers
        .set("Accept", "application/json")
        .map_err(|_| ApiError::network("headers"))?;
    if let Some(body) = body {
        headers
            .set("Content-Type", "application/json")
            .map_err(|_| ApiError::network("headers"))?;
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&headers);
    let window = web_sys::window().ok_or_else(|| ApiError::network("no window"))?;
    let response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(|e| {
            ApiError::network(&e.as_string().unwrap_or_else(|| "request failed".to_owned()))
        })?;
    response
        .dyn_into::<Response>()
        .map_err(|_| ApiError::network("unexpected response"))
}

async fn text_of(response: &Response) -> String {
    match response.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn error_of(response: &Response) -> ApiError {
    error_from(response.status(), &text_of(response).await)
}

fn error_from(status: u16, text: &str) -> ApiError {
    match serde_json::from_str::<ErrorBody>(text) {
        Ok(body) => ApiError {
            status,
            code: body.error.code,
            message: body.error.message,
            fields: body.error.fields,
        },
        Err(_) => ApiError {
            status,
            code: "http".to_owned(),
            message: format!("The server answered {status}."),
            fields: BTreeMap::new(),
        },
    }
}

/// Tries to renew the session; `true` when the cookies were renewed (or another tab just did).
async fn refresh_session() -> bool {
    match send(Method::Post, "/api/v1/auth/refresh", None).await {
        Ok(response) if response.ok() => true,
        Ok(response) => error_of(&response).await.code == "refresh_superseded",
        Err(_) => false,
    }
}

/// Sends a request, renewing the session once on a 401; the answer whatever its status.
async fn exchange(method: Method, path: &str, body: Option<String>) -> ApiResult<Response> {
    let mut response = send(method, path, body.as_deref()).await?;
    let is_auth_endpoint =
        path.starts_with("/api/v1/auth/login") || path.starts_with("/api/v1/auth/refresh");
    if response.status() == 401 && !is_auth_endpoint {
        if refresh_session().await {
            response = send(method, path, body.as_deref()).await?;
        }
        if response.status() == 401 {
            let error = error_of(&response).await;
            session_lost();
            return Err(error);
        }
    }
    Ok(response)
}

async fn call(method: Method, path: &str, body: Option<String>) -> ApiResult<String> {
    let response = exchange(method, path, body).await?;
    if !response.ok() {
        return Err(error_of(&response).await);
    }
    Ok(text_of(&response).await)
}

/// A call to the Prometheus API, whose answers and errors have Prometheus' own shape.
async fn prometheus<T: DeserializeOwned>(path: &str) -> ApiResult<T> {
    let response = exchange(Method::Get, path, None).await?;
    let status = response.status();
    let text = text_of(&response).await;
    match serde_json::from_str::<PromResponse<T>>(&text) {
        Ok(PromResponse {
            status: PromStatus::Success,
            data: Some(data),
            ..
        }) => Ok(data),
        Ok(answer) => Err(ApiError {
            status,
            code: answer.error_type.unwrap_or_else(|| "error".to_owned()),
            message: answer
                .error
                .unwrap_or_else(|| format!("The server answered {status}.")),
            fields: BTreeMap::new(),
        }),
        Err(_) if !response.ok() => Err(error_from(status, &text)),
        Err(e) => Err(ApiError {
            status,
            code: "decode".to_owned(),
            message: format!("The server's answer could not be read: {e}"),
            fields: BTreeMap::new(),
        }),
    }
}

async fn json<T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: Option<String>,
) -> ApiResult<T> {
    let text = call(method, path, body).await?;
    serde_json::from_str(&text).map_err(|e| ApiError {
        status: 200,
        code: "decode".to_owned(),
        message: format!("The server's answer could not be read: {e}"),
        fields: BTreeMap::new(),
    })
}

fn encode(body: &impl Serialize) -> Option<String> {
    Some(serde_json::to_string(body).expect("request types serialize"))
}

// Auth

pub async fn login(request: &LoginRequest) -> ApiResult<User> {
    json(Method::Post, "/api/v1/auth/login", encode(request)).await
}

pub async fn logout() -> ApiResult<()> {
    call(Method::Post, "/api/v1/auth/logout", None)
        .await
        .map(drop)
}

/// The logged-in user, or `Ok(None)` when nobody is (without triggering the lost-session hook).
pub async fn current_user() -> ApiResult<Option<User>> {
    let mut response = send(Method::Get, "/api/v1/auth/me", None).await?;
    if response.status() == 401 {
        if !refresh_session().await {
            return Ok(None);
        }
        response = send(Method::Get, "/api/v1/auth/me", None).await?;
        if response.status() == 401 {
            return Ok(None);
        }
    }
    if !response.ok() {
        return Err(error_of(&response).await);
    }
    serde_json::from_str(&text_of(&response).await)
        .map(Some)
        .map_err(|e| ApiError::network(&e.to_string()))
}

pub async fn change_password(request: &ChangePasswordRequest) -> ApiResult<()> {
    call(Method::Post, "/api/v1/auth/password", encode(request))
        .await
        .map(drop)
}

pub async fn build_info() -> ApiResult<BuildInfo> {
    json(Method::Get, "/api/v1/status/buildinfo", None).await
}

// Users

pub async fn list_users() -> ApiResult<UserList> {
    json(Method::Get, "/api/v1/users", None).await
}

pub async fn create_user(request: &CreateUserRequest) -> ApiResult<User> {
    json(Method::Post, "/api/v1/users", encode(request)).await
}

pub async fn update_user(id: i64, request: &UpdateUserRequest) -> ApiResult<User> {
    json(
        Method::Patch,
        &format!("/api/v1/users/{id}"),
        encode(request),
    )
    .await
}

pub async fn reset_password(id: i64, request: &ResetPasswordRequest) -> ApiResult<()> {
    call(
        Method::Post,
        &format!("/api/v1/users/{id}/password"),
        encode(request),
    )
    .await
    .map(drop)
}

// Teams

pub async fn list_teams() -> ApiResult<TeamList> {
    json(Method::Get, "/api/v1/teams", None).await
}

pub async fn create_team(request: &CreateTeamRequest) -> ApiResult<Team> {
    json(Method::Post, "/api/v1/teams", encode(request)).await
}

pub async fn update_team(id: i64, request: &UpdateTeamRequest) -> ApiResult<Team> {
    json(
        Method::Patch,
        &format!("/api/v1/teams/{id}"),
        encode(request),
    )
    .await
}

pub async fn delete_team(id: i64) -> ApiResult<()> {
    call(Method::Delete, &format!("/api/v1/teams/{id}"), None)
        .await
        .map(drop)
}

// API keys

pub async fn list_api_keys() -> ApiResult<ApiKeyList> {
    json(Method::Get, "/api/v1/api-keys", None).await
}

pub async fn create_api_key(request: &CreateApiKeyRequest) -> ApiResult<CreatedApiKey> {
    json(Method::Post, "/api/v1/api-keys", encode(request)).await
}

pub async fn revoke_api_key(id: i64) -> ApiResult<()> {
    call(Method::Delete, &format!("/api/v1/api-keys/{id}"), None)
        .await
        .map(drop)
}

// Audit log

/// One page of the audit log, newest first; `before` continues from a previous page.
pub async fn audit_log(action: &str, actor: &str, before: Option<i64>) -> ApiResult<AuditLogPage> {
    let mut query = vec!["limit=100".to_owned()];
    if !action.trim().is_empty() {
        query.push(format!("action={}", encode_component(action.trim())));
    }
    if !actor.trim().is_empty() {
        query.push(format!("actor={}", encode_component(actor.trim())));
    }
    if let Some(before) = before {
        query.push(format!("before={before}"));
    }
    json(
        Method::Get,
        &format!("/api/v1/audit-log?{}", query.join("&")),
        None,
    )
    .await
}

// Alerting

/// Alerts by state (`live` = pending and firing, `all`, or one state) and severity (or all).
pub async fn list_alerts(state: &str, severity: &str) -> ApiResult<AlertList> {
    let mut path = format!("/api/v1/alerts?state={}", encode_component(state));
    if !severity.is_empty() {
        path.push_str(&format!("&severity={}", encode_component(severity)));
    }
    json(Method::Get, &path, None).await
}

pub async fn list_alert_rules() -> ApiResult<AlertRuleList> {
    json(Method::Get, "/api/v1/alert-rules", None).await
}

pub async fn get_alert_rule(id: i64) -> ApiResult<AlertRule> {
    json(Method::Get, &format!("/api/v1/alert-rules/{id}"), None).await
}

pub async fn create_alert_rule(request: &AlertRuleRequest) -> ApiResult<AlertRule> {
    json(Method::Post, "/api/v1/alert-rules", encode(request)).await
}

pub async fn replace_alert_rule(id: i64, request: &AlertRuleRequest) -> ApiResult<AlertRule> {
    json(
        Method::Put,
        &format!("/api/v1/alert-rules/{id}"),
        encode(request),
    )
    .await
}

pub async fn delete_alert_rule(id: i64) -> ApiResult<()> {
    call(Method::Delete, &format!("/api/v1/alert-rules/{id}"), None)
        .await
        .map(drop)
}

pub async fn import_alert_rules(request: &RuleImportRequest) -> ApiResult<RuleImportReport> {
    json(Method::Post, "/api/v1/alert-rules/import", encode(request)).await
}

pub async fn list_silences() -> ApiResult<SilenceList> {
    json(Method::Get, "/api/v1/silences", None).await
}

pub async fn create_silence(request: &SilenceRequest) -> ApiResult<Silence> {
    json(Method::Post, "/api/v1/silences", encode(request)).await
}

/// Ends a silence now.
pub async fn expire_silence(id: &str) -> ApiResult<()> {
    call(
        Method::Delete,
        &format!("/api/v1/silences/{}", encode_component(id)),
        None,
    )
    .await
    .map(drop)
}

// Notification channels

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

/// Creates (`POST collection`) or replaces (`PUT collection/{id}`) a resource.
pub async fn save<R: Serialize, T: DeserializeOwned>(
    collection: &str,
    id: Option<i64>,
    request: &R,
) -> ApiResult<T> {
    match id {
        Some(id) => json(Method::Put, &format!("{collection}/{id}"), encode(request)).await,
        None => json(Method::Post, collection, encode(request)).await,
    }
}

pub async fn delete_at(path: &str) -> ApiResult<()> {
    call(Method::Delete, path, None).await.map(drop)
}

pub const POLICIES: &str = "/api/v1/notification-policies";
pub const INHIBITION_RULES: &str = "/api/v1/inhibition-rules";

pub async fn list_policies() -> ApiResult<PolicyList> {
    json(Method::Get, POLICIES, None).await
}

/// A policy's id and name: all a picker needs (reading whole policies would cost the
/// WebAssembly their decoders).
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
    json::<NamedPolicies>(Method::Get, "/api/v1/escalation-policies", None)
        .await
        .map(|l| l.policies)
}

pub async fn list_inhibition_rules() -> ApiResult<InhibitionRuleList> {
    json(Method::Get, INHIBITION_RULES, None).await
}

// The caller's contact methods

const MY_CONTACT_METHODS: &str = "/api/v1/auth/me/contact-methods";

pub async fn my_contact_methods() -> ApiResult<ContactMethodList> {
    json(Method::Get, MY_CONTACT_METHODS, None).await
}

pub async fn add_contact_method(request: &ContactMethodRequest) -> ApiResult<ContactMethod> {
    json(Method::Post, MY_CONTACT_METHODS, encode(request)).await
}

pub async fn remove_contact_method(id: i64) -> ApiResult<()> {
    delete_at(&format!("{MY_CONTACT_METHODS}/{id}")).await
}

/// Sends a test message to one of the caller's methods now; answers how the delivery went.
pub async fn test_contact_method(id: i64) -> ApiResult<ContactDelivery> {
    json(
        Method::Post,
        &format!("{MY_CONTACT_METHODS}/{id}/test"),
        None,
    )
    .await
}

// Incidents

/// The incident list's filters, as the Incidents page and its address hold them. Empty
/// strings mean "any".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IncidentFilter {
    /// `open` (triggered or acknowledged), one status, or empty for all.
    pub status: String,
    pub severity: String,
    pub service: String,
    /// Words in the title or description.
    pub text: String,
    /// Only incidents assigned to the caller.
    pub mine: bool,
    /// A user's id, or empty for anyone.
    pub assignee: String,
    /// A team's id, or empty for any team.
    pub team: String,
    /// Triggered within the last `24h`, `7d` or `30d`, or empty for any time.
    pub period: String,
    /// `newest` (empty), `oldest`, `severity` or `updated`.
    pub sort: String,
    /// From 1.
    pub page: u32,
}

impl IncidentFilter {
    pub const PER_PAGE: u32 = 50;

    /// The filter as a query string (without `?`), as both the API and the page address take it.
    pub fn query(&self) -> String {
        let mut parts = Vec::new();
        for (name, value) in [
            ("status", &self.status),
            ("severity", &self.severity),
            ("service", &self.service),
            ("q", &self.text),
            ("assignee", &self.assignee),
            ("team", &self.team),
            ("period", &self.period),
            ("sort", &self.sort),
        ] {
            if !value.trim().is_empty() {
                parts.push(format!("{name}={}", encode_component(value.trim())));
            }
        }
        if self.mine {
            parts.push("mine=true".to_owned());
        }
        if self.page > 1 {
            parts.push(format!("page={}", self.page));
        }
        parts.join("&")
    }

    /// The filter as the API takes it: the period becomes the time it starts (`from`), counted
    /// back from now, so a live page keeps showing the last day rather than a fixed one.
    fn api_query(&self) -> String {
        let hours = match self.period.as_str() {
            "24h" => 24,
            "7d" => 7 * 24,
            "30d" => 30 * 24,
            _ => return self.query(),
        };
        let from = chrono::Utc::now() - chrono::Duration::hours(hours);
        let timed = IncidentFilter {
            period: String::new(),
            ..self.clone()
        };
        format!(
            "{}&from={}",
            timed.query(),
            encode_component(&from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        )
    }
}

pub async fn list_incidents(filter: &IncidentFilter) -> ApiResult<IncidentList> {
    json(
        Method::Get,
        &format!(
            "/api/v1/incidents?per_page={}&{}",
            IncidentFilter::PER_PAGE,
            filter.api_query()
        ),
        None,
    )
    .await
}

/// Where the browser downloads the filtered list as CSV (every page, up to 500 incidents).
pub fn incidents_csv_url(filter: &IncidentFilter) -> String {
    let all_pages = IncidentFilter {
        page: 1,
        ..filter.clone()
    };
    format!("/api/v1/incidents/export?{}", all_pages.api_query())
}

pub async fn get_incident(id: i64) -> ApiResult<IncidentDetail> {
    json(Method::Get, &format!("/api/v1/incidents/{id}"), None).await
}

pub async fn open_incident(request: &IncidentRequest) -> ApiResult<IncidentDetail> {
    json(Method::Post, "/api/v1/incidents", encode(request)).await
}

/// One of the actions responders take (`acknowledge`, `escalate`, `resolve`, `snooze`…);
/// answers the incident as it is afterwards.
pub async fn act_on_incident(
    id: i64,
    action: &str,
    request: &IncidentAction,
) -> ApiResult<IncidentDetail> {
    json(
        Method::Post,
        &format!("/api/v1/incidents/{id}/{action}"),
        encode(request),
    )
    .await
}

/// What the caller was paged about (newest first) and how many are unread.
pub async fn my_notifications() -> ApiResult<NotificationList> {
    json(Method::Get, "/api/v1/notifications", None).await
}

/// Marks the caller's notifications up to `up_to` (the newest one shown) as read.
pub async fn mark_notifications_read(up_to: i64) -> ApiResult<()> {
    call(
        Method::Post,
        "/api/v1/notifications/read",
        encode(&MarkNotificationsRead { up_to: Some(up_to) }),
    )
    .await
    .map(drop)
}

// On-call: schedules, escalation policies, analytics

pub const SCHEDULES: &str = "/api/v1/schedules";
pub const ESCALATION_POLICIES: &str = "/api/v1/escalation-policies";

/// Every user's name, for anyone logged in (the user list itself is the admin's).
pub async fn user_directory() -> ApiResult<UserDirectory> {
    json(Method::Get, "/api/v1/users/directory", None).await
}

pub async fn team_directory() -> ApiResult<TeamDirectory> {
    json(Method::Get, "/api/v1/teams/directory", None).await
}

pub async fn list_schedules() -> ApiResult<ScheduleList> {
    json(Method::Get, SCHEDULES, None).await
}

pub async fn get_schedule(id: i64) -> ApiResult<Schedule> {
    json(Method::Get, &format!("{SCHEDULES}/{id}"), None).await
}

/// Who is on call now, in the shift (or override) covering this instant; `None` before the
/// rotation starts. Read from `…/shifts` rather than `…/oncall`, whose answer would cost the
/// WebAssembly one more decoder for the same facts.
/// Who is on call now on every schedule.
pub async fn on_call_everywhere() -> ApiResult<OnCallList> {
    json(Method::Get, "/api/v1/oncall", None).await
}

pub async fn on_call_now(id: i64) -> ApiResult<Option<Shift>> {
    let now = Utc::now();
    let shifts = schedule_shifts(id, now, now + chrono::TimeDelta::seconds(1)).await?;
    Ok(shifts.shifts.into_iter().find(|s| s.starts_at <= now))
}

fn instant(at: DateTime<Utc>) -> String {
    encode_component(&at.to_rfc3339_opts(SecondsFormat::Secs, true))
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

/// MTTA and MTTR of the incidents triggered from `from` to `to`.
pub async fn incident_analytics(from: DateTime<Utc>, to: DateTime<Utc>) -> ApiResult<Analytics> {
    let path = format!(
        "/api/v1/incidents/analytics?from={}&to={}",
        instant(from),
        instant(to)
    );
    json(Method::Get, &path, None).await
}

/// How many incidents are open, by status (only the counts are read, not the incidents).
#[derive(Clone, serde::Deserialize)]
pub struct OpenIncidents {
    pub triggered: i64,
    pub acknowledged: i64,
}

pub async fn open_incident_counts() -> ApiResult<OpenIncidents> {
    json(
        Method::Get,
        "/api/v1/incidents?status=open&per_page=1",
        None,
    )
    .await
}

// Scrape targets

pub async fn list_scrape_targets() -> ApiResult<ScrapeTargetList> {
    json(Method::Get, "/api/v1/scrape-targets", None).await
}

pub async fn create_scrape_target(request: &ScrapeTargetRequest) -> ApiResult<ScrapeTarget> {
    json(Method::Post, "/api/v1/scrape-targets", encode(request)).await
}

pub async fn update_scrape_target(
    id: i64,
    request: &ScrapeTargetRequest,
) -> ApiResult<ScrapeTarget> {
    json(
        Method::Patch,
        &format!("/api/v1/scrape-targets/{id}"),
        encode(request),
    )
    .await
}

pub async fn delete_scrape_target(id: i64) -> ApiResult<()> {
    call(
        Method::Delete,
        &format!("/api/v1/scrape-targets/{id}"),
        None,
    )
    .await
    .map(drop)
}

// Prometheus API (queries and the names autocomplete offers)

/// A range query: one series per result, values every `step` seconds from `start` to `end`.
pub async fn query_range(query: &str, start: f64, end: f64, step: f64) -> ApiResult<QueryData> {
    prometheus(&format!(
        "/prometheus/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step={step}",
        encode_component(query)
    ))
    .await
}

/// An instant query at `time` (unix seconds).
pub async fn query_instant(query: &str, time: f64) -> ApiResult<QueryData> {
    prometheus(&format!(
        "/prometheus/api/v1/query?query={}&time={time:.3}",
        encode_component(query)
    ))
    .await
}

/// The values of a label (`__name__` for metric names), of series matching `selector` if given.
pub async fn label_values(label: &str, selector: Option<&str>) -> ApiResult<Vec<String>> {
    let mut path = format!(
        "/prometheus/api/v1/label/{}/values",
        encode_component(label)
    );
    if let Some(selector) = selector {
        path.push_str(&format!("?match[]={}", encode_component(selector)));
    }
    prometheus(&path).await
}

/// The label names of series matching `selector` (of all series without one).
pub async fn label_names(selector: Option<&str>) -> ApiResult<Vec<String>> {
    let mut path = "/prometheus/api/v1/labels".to_owned();
    if let Some(selector) = selector {
        path.push_str(&format!("?match[]={}", encode_component(selector)));
    }
    prometheus(&path).await
}

pub fn encode_component(text: &str) -> String {
    js_sys::encode_uri_component(text).into()
}
