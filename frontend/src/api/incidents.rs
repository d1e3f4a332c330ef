//! Incidents (the filtered list, its CSV export, one incident and the actions on it), the
//! caller's notifications, and incident analytics (MTTA and MTTR).

use chrono::{DateTime, Utc};
use vigil_shared::incident::{
    Analytics, IncidentAction, IncidentActionRequest, IncidentDetail, IncidentList,
    IncidentRequest, MarkNotificationsRead, NotificationList,
};

use super::{ApiResult, Method, call, encode, encode_component, instant, json};

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
        let from = Utc::now() - chrono::Duration::hours(hours);
        let timed = IncidentFilter {
            period: String::new(),
            ..self.clone()
        };
        format!("{}&from={}", timed.query(), instant(from))
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

/// One of the actions responders take; answers the incident as it is afterwards.
pub async fn act_on_incident(
    id: i64,
    action: IncidentAction,
    request: &IncidentActionRequest,
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
