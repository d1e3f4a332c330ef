//! `GET /api/v1/annotations`: what happened in a range, for a dashboard's charts — manual
//! annotations, incidents (opened to resolved) and alert firing periods, merged.

use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use vigil_shared::dashboard::Annotation;

use super::manual;
use crate::alerting::periods::{self, FiringPeriod};
use crate::auth::ReadAccess;
use crate::dashboards::access::Who;
use crate::error::{AppError, AppResult, FieldErrors, Json, Query};
use crate::incidents::{self, ServiceIncident};
use crate::promql::api::parse_time;
use crate::state::AppState;

/// Widest range one request may ask for.
pub const MAX_RANGE_DAYS: i64 = 400;
/// Most annotations one answer holds, and how many when the request does not say.
pub const MAX_LIMIT: i64 = 1_000;
pub const DEFAULT_LIMIT: i64 = 500;
/// The range when none is given: a dashboard's default.
const DEFAULT_RANGE_HOURS: i64 = 6;

/// The query string as written; each field is checked (and named when wrong) below.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    from: Option<String>,
    to: Option<String>,
    /// Comma-separated; an annotation must carry them all.
    tags: Option<String>,
    dashboard_id: Option<String>,
    limit: Option<String>,
}

/// The request, checked.
#[derive(Debug, PartialEq)]
struct Filter {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    tags: Vec<String>,
    dashboard_id: Option<i64>,
    limit: i64,
}

fn filter(query: &ListQuery, now: DateTime<Utc>) -> Result<Filter, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut time = |field: &str, text: &Option<String>| match text.as_deref() {
        None | Some("") => None,
        Some(text) => {
            let at = parse_time(text).and_then(DateTime::<Utc>::from_timestamp_millis);
            if at.is_none() {
                errors.add(
                    field,
                    "must be an RFC 3339 time (2026-12-06T18:00:00Z) or unix seconds",
                );
            }
            at
        }
    };
    let to = time("to", &query.to).unwrap_or(now);
    let from = time("from", &query.from).unwrap_or(to - Duration::hours(DEFAULT_RANGE_HOURS));
    if from > to {
        errors.add("to", "must not be before from");
    } else if to - from > Duration::days(MAX_RANGE_DAYS) {
        errors.add(
            "from",
            format!("the range may span at most {MAX_RANGE_DAYS} days"),
        );
    }
    let tags: Vec<String> = query
        .tags
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .map(str::to_owned)
        .collect();
    if tags.len() > manual::MAX_TAGS
        || tags
            .iter()
            .any(|tag| tag.chars().count() > manual::MAX_TAG_CHARS)
    {
        errors.add(
            "tags",
            format!(
                "at most {} tags of at most {} characters each",
                manual::MAX_TAGS,
                manual::MAX_TAG_CHARS
            ),
        );
    }
    let dashboard_id = match query.dashboard_id.as_deref() {
        None | Some("") => None,
        Some(text) => {
            let id = text.parse::<i64>().ok().filter(|id| *id > 0);
            if id.is_none() {
                errors.add("dashboard_id", "must be a dashboard's id");
            }
            id
        }
    };
    let limit = match query.limit.as_deref() {
        None | Some("") => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|limit| (1..=MAX_LIMIT).contains(limit))
            .unwrap_or_else(|| {
                errors.add("limit", format!("must be a number from 1 to {MAX_LIMIT}"));
                DEFAULT_LIMIT
            }),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Filter {
        from,
        to,
        tags,
        dashboard_id,
        limit,
    })
}

/// Whether annotations of one kind can carry every one of `tags`, given that each carries
/// `kind` and `<key>:<value>` for one value: `None` if not, else the value they must have
/// (`Some(None)`: any).
fn narrowed(tags: &[String], kind: &str, key: &str) -> Option<Option<String>> {
    let mut value: Option<&str> = None;
    for tag in tags {
        if tag == kind {
            continue;
        }
        match tag
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(':'))
        {
            Some(wanted) if !wanted.is_empty() && value.is_none_or(|v| v == wanted) => {
                value = Some(wanted);
            }
            _ => return None,
        }
    }
    Some(value.map(str::to_owned))
}

fn incident_annotation(incident: ServiceIncident) -> Annotation {
    let mut tags = vec!["incident".to_owned()];
    if !incident.service.is_empty() {
        tags.push(format!("service:{}", incident.service));
    }
    Annotation {
        id: format!("incident:{}", incident.id),
        source: "incident".to_owned(),
        time: incident.triggered_at,
        time_end: incident.resolved_at,
        title: incident.title,
        text: String::new(),
        tags,
        severity: Some(incident.severity),
        link: Some(format!("/incidents/{}", incident.id)),
    }
}

fn alert_annotation(period: FiringPeriod) -> Annotation {
    Annotation {
        id: format!(
            "alert:{}:{}",
            period.fingerprint,
            period.fired_at.timestamp()
        ),
        source: "alert".to_owned(),
        time: period.fired_at,
        time_end: period.resolved_at,
        tags: vec![
            "alert".to_owned(),
            format!("alertname:{}", period.alertname),
        ],
        title: period.alertname,
        text: period.summary,
        severity: Some(period.severity),
        link: Some(match period.rule_id {
            Some(rule) => format!("/alerts/rules/{rule}"),
            None => "/alerts".to_owned(),
        }),
    }
}

/// Every annotation overlapping the range that carries the tags asked for, oldest first; when
/// more than `limit` overlap, the newest `limit` of them.
pub(super) async fn list(
    ReadAccess(caller): ReadAccess,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<Vec<Annotation>>> {
    let filter = filter(&query, Utc::now()).map_err(AppError::Validation)?;
    let (from, to, limit) = (filter.from, filter.to, filter.limit);
    let mut conn = state.db.acquire().await?;
    if let Some(dashboard) = filter.dashboard_id {
        let who = Who::caller(&mut conn, &caller).await?;
        super::check_dashboard(&mut conn, &who, dashboard).await?;
    }
    let mut found = manual::overlapping(
        &mut conn,
        from,
        to,
        &filter.tags,
        filter.dashboard_id,
        limit,
    )
    .await?;
    if let Some(service) = narrowed(&filter.tags, "incident", "service") {
        let open = incidents::overlapping(&mut conn, from, to, service.as_deref(), limit).await?;
        found.extend(open.into_iter().map(incident_annotation));
    }
    if let Some(alertname) = narrowed(&filter.tags, "alert", "alertname") {
        let fired = periods::overlapping(&mut conn, from, to, alertname.as_deref(), limit).await?;
        found.extend(fired.into_iter().map(alert_annotation));
    }
    found.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| a.id.cmp(&b.id)));
    found.truncate(limit as usize);
    found.reverse();
    Ok(Json(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn tags_decide_which_kinds_can_match() {
        assert_eq!(narrowed(&[], "incident", "service"), Some(None));
        assert_eq!(
            narrowed(&tags(&["incident"]), "incident", "service"),
            Some(None)
        );
        assert_eq!(
            narrowed(
                &tags(&["incident", "service:checkout"]),
                "incident",
                "service"
            ),
            Some(Some("checkout".to_owned()))
        );
        assert_eq!(narrowed(&tags(&["incident"]), "alert", "alertname"), None);
        assert_eq!(narrowed(&tags(&["deploy"]), "incident", "service"), None);
        assert_eq!(
            narrowed(&tags(&["service:a", "service:b"]), "incident", "service"),
            None
        );
        assert_eq!(narrowed(&tags(&["service:"]), "incident", "service"), None);
    }

    #[test]
    fn the_range_and_limit_are_checked_field_by_field() {
        let now = Utc::now();
        let query = |pairs: &[(&str, &str)]| -> ListQuery {
            let text: String = pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&");
            serde_urlencoded_like(&text)
        };
        let ok = filter(
            &query(&[("from", "1765000000"), ("to", "2025-12-06T06:00:00Z")]),
            now,
        )
        .unwrap();
        assert_eq!(ok.from.timestamp(), 1_765_000_000);
        assert_eq!(ok.limit, DEFAULT_LIMIT);
        let fields = |pairs: &[(&str, &str)]| -> Vec<String> {
            filter(&query(pairs), now)
                .unwrap_err()
                .into_map()
                .into_keys()
                .collect()
        };
        assert_eq!(fields(&[("from", "yesterday")]), ["from"]);
        assert_eq!(fields(&[("from", "2000"), ("to", "1000")]), ["to"]);
        assert_eq!(fields(&[("from", "0"), ("to", "40000000")]), ["from"]);
        assert_eq!(fields(&[("limit", "1001")]), ["limit"]);
        assert_eq!(fields(&[("dashboard_id", "x")]), ["dashboard_id"]);
        let long = "t".repeat(51);
        assert_eq!(fields(&[("tags", &long)]), ["tags"]);
    }

    /// A query string read as the handler's extractor reads it.
    fn serde_urlencoded_like(text: &str) -> ListQuery {
        let uri: axum::http::Uri = format!("/?{text}").parse().unwrap();
        axum::extract::Query::<ListQuery>::try_from_uri(&uri)
            .unwrap()
            .0
    }
}
