//! SLOs (definitions, status, history and the preview of an unsaved one), maintenance windows
//! and corrections, SLA reports (the JSON the page shows, the addresses of its downloads) and
//! the schedules that email them.

use chrono::{DateTime, Utc};
use vigil_shared::slo::{
    MaintenanceWindow, MaintenanceWindowList, MaintenanceWindowRequest, ReportSchedule,
    ReportScheduleList, ReportScheduleRequest, SlaReport, Slo, SloHistory, SloList, SloPreview,
    SloRequest, SloStatus,
};

use super::{
    ApiResult, Method, call, delete_at, encode, encode_component, instant, json, label_values, save,
};

pub async fn list_slos() -> ApiResult<SloList> {
    json(Method::Get, "/api/v1/slos", None).await
}

pub async fn get_slo(id: i64) -> ApiResult<Slo> {
    json(Method::Get, &format!("/api/v1/slos/{id}"), None).await
}

/// Creates (`id` None) or replaces an SLO.
pub async fn save_slo(id: Option<i64>, request: &SloRequest) -> ApiResult<Slo> {
    save("/api/v1/slos", id, request).await
}

pub async fn delete_slo(id: i64) -> ApiResult<()> {
    delete_at(&format!("/api/v1/slos/{id}")).await
}

pub async fn slo_status(id: i64) -> ApiResult<SloStatus> {
    json(Method::Get, &format!("/api/v1/slos/{id}/status"), None).await
}

/// The SLO's SLI and budget from `from` to `to`, a point every `step_seconds`, with the spans
/// not counted and the incidents that used budget.
pub async fn slo_history(
    id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step_seconds: i64,
) -> ApiResult<SloHistory> {
    let path = format!(
        "/api/v1/slos/{id}/history?from={}&to={}&step={step_seconds}",
        instant(from),
        instant(to)
    );
    json(Method::Get, &path, None).await
}

/// What an unsaved SLO would have measured over the last 30 days, and the PromQL it runs.
pub async fn preview_slo(request: &SloRequest) -> ApiResult<SloPreview> {
    json(Method::Post, "/api/v1/slos/preview", encode(request)).await
}

/// The selector of a histogram's bucket series, whose `le` labels are the thresholds a latency
/// SLI may use: `http_request_duration_seconds{job="api"}` (with or without `_bucket`) becomes
/// `http_request_duration_seconds_bucket{job="api"}`. `None` without a metric name.
pub fn bucket_selector(histogram: &str) -> Option<String> {
    let text = histogram.trim();
    let (name, matchers) = match text.find('{') {
        Some(at) => (text[..at].trim(), text[at..].trim()),
        None => (text, ""),
    };
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
    if !starts_well || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        return None;
    }
    let bucket = if name.ends_with("_bucket") {
        name.to_owned()
    } else {
        format!("{name}_bucket")
    };
    Some(format!("{bucket}{matchers}"))
}

/// The bucket bounds (`le` values, in seconds for a latency histogram) the histogram's series
/// have, smallest first, `+Inf` left out; as the server writes them (`0.25`).
pub async fn histogram_bounds(histogram: &str) -> ApiResult<Vec<String>> {
    let Some(selector) = bucket_selector(histogram) else {
        return Ok(Vec::new());
    };
    let values = label_values("le", Some(&selector)).await?;
    let mut bounds: Vec<(f64, String)> = values
        .into_iter()
        .filter_map(|text| {
            let bound = text.parse::<f64>().ok().filter(|b| b.is_finite())?;
            Some((bound, text))
        })
        .collect();
    bounds.sort_by(|a, b| a.0.total_cmp(&b.0));
    bounds.dedup_by(|a, b| a.0 == b.0);
    Ok(bounds.into_iter().map(|(_, text)| text).collect())
}

pub async fn list_maintenance_windows() -> ApiResult<MaintenanceWindowList> {
    json(Method::Get, "/api/v1/maintenance-windows", None).await
}

/// Creates (`id` None) or replaces a maintenance window or correction.
pub async fn save_maintenance_window(
    id: Option<i64>,
    request: &MaintenanceWindowRequest,
) -> ApiResult<MaintenanceWindow> {
    save("/api/v1/maintenance-windows", id, request).await
}

pub async fn delete_maintenance_window(id: i64) -> ApiResult<()> {
    delete_at(&format!("/api/v1/maintenance-windows/{id}")).await
}

/// What an SLA report covers: a period (`to` not included), the time zone its days are
/// counted in, and which services and SLOs (empty: all).
#[derive(Clone, Debug, PartialEq)]
pub struct ReportQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub time_zone: String,
    pub services: Vec<String>,
    pub slos: Vec<i64>,
}

impl ReportQuery {
    /// The query string the report API takes (without `format`).
    fn query(&self) -> String {
        let mut query = format!(
            "from={}&to={}&tz={}",
            instant(self.from),
            instant(self.to),
            encode_component(&self.time_zone)
        );
        if !self.services.is_empty() {
            let services: Vec<String> = self.services.iter().map(|s| encode_component(s)).collect();
            query.push_str(&format!("&services={}", services.join(",")));
        }
        if !self.slos.is_empty() {
            let slos: Vec<String> = self.slos.iter().map(i64::to_string).collect();
            query.push_str(&format!("&slos={}", slos.join(",")));
        }
        query
    }
}

/// The report as data, for showing on the page.
pub async fn sla_report(report: &ReportQuery) -> ApiResult<SlaReport> {
    json(
        Method::Get,
        &format!("/api/v1/reports/sla?{}&format=json", report.query()),
        None,
    )
    .await
}

/// Where the browser downloads the same report as a file: `format` is `pdf`, `csv` or `json`.
pub fn sla_report_url(report: &ReportQuery, format: &str) -> String {
    format!("/api/v1/reports/sla?{}&format={format}", report.query())
}

pub async fn list_report_schedules() -> ApiResult<ReportScheduleList> {
    json(Method::Get, "/api/v1/reports/schedules", None).await
}

/// Creates (`id` None) or replaces a scheduled report.
pub async fn save_report_schedule(
    id: Option<i64>,
    request: &ReportScheduleRequest,
) -> ApiResult<ReportSchedule> {
    save("/api/v1/reports/schedules", id, request).await
}

pub async fn delete_report_schedule(id: i64) -> ApiResult<()> {
    delete_at(&format!("/api/v1/reports/schedules/{id}")).await
}

/// Emails the schedule's report for its latest period now; the delivery shows in the log.
pub async fn send_report_now(id: i64) -> ApiResult<()> {
    call(
        Method::Post,
        &format!("/api/v1/reports/schedules/{id}/send"),
        None,
    )
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_names_its_bucket_series() {
        assert_eq!(
            bucket_selector(r#"http_request_duration_seconds{job="api"}"#).as_deref(),
            Some(r#"http_request_duration_seconds_bucket{job="api"}"#)
        );
        assert_eq!(
            bucket_selector(" http_request_duration_seconds_bucket ").as_deref(),
            Some("http_request_duration_seconds_bucket")
        );
        assert_eq!(bucket_selector(r#"{__name__="x"}"#), None);
        assert_eq!(bucket_selector(""), None);
        assert_eq!(bucket_selector("rate(x[5m])"), None);
    }
}
