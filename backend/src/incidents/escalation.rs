//! Opening incidents from firing alerts, and the escalation worker that pages each level of
//! an incident's policy in turn until someone acknowledges.
//!
//! The worker keeps nothing in memory: an incident due for its next step has
//! `next_escalation_at <= now`, is claimed with `FOR UPDATE SKIP LOCKED`, and every level
//! notified is a row in `escalation_steps` keyed by the incident and the step number, so two
//! workers (or one restarted in the middle of a policy) never notify a level twice.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use vigil_shared::alerting::AlertState;
use vigil_shared::incident::{EscalationPolicyRequest, IncidentStatus, TargetKind};
use vigil_shared::live::LiveEvent;

use crate::alerting::alerts::{self, IncidentAlert};
use crate::alerting::inbox::{self, Reader};
use crate::audit::{self, AuditActor, Target};
use crate::events;
use crate::notify::{
    self,
    message::{Message, MessageAlert},
    routing::{self, IncidentRoute},
};
use crate::oncall::{policies, schedules};
use crate::teams;
use crate::users::{self, contact_methods};

/// The actor of what the server does by itself.
pub const VIGIL: &str = "vigil";

/// Appends a timeline entry.
pub async fn timeline(
    conn: &mut PgConnection,
    incident: i64,
    at: DateTime<Utc>,
    actor: &str,
    kind: &str,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO incident_timeline (incident_id, at, actor, kind, message)
         VALUES ($1, $2, $3, $4, $5)",
        incident,
        at,
        actor,
        kind,
        message
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Tells every replica's live views that an incident changed.
pub async fn announce(conn: &mut PgConnection, incident: i64) -> Result<(), sqlx::Error> {
    let status = sqlx::query_scalar!("SELECT status FROM incidents WHERE id = $1", incident)
        .fetch_one(&mut *conn)
        .await?;
    let status = crate::db::stored("incidents.status", &status)?;
    let event = LiveEvent::Incident {
        id: incident,
        status,
    };
    events::publish(conn, &event).await
}

/// The value of the labels that name an incident's service.
fn service_of(labels: &BTreeMap<String, String>) -> String {
    ["service", "job"]
        .iter()
        .find_map(|l| labels.get(*l))
        .cloned()
        .unwrap_or_default()
}

/// Opens an incident for a firing alert, or adds the alert to the open incident of its group.
/// Raises the incident's severity to the alert's.
///
/// The group is the alert's rule (for alerts from the Alertmanager API, their `alertname`) and
/// the values of the rule's `incident_group_by` labels; the incident pages the rule's
/// escalation policy. What the rule leaves unset comes from the notification policies
/// (`route`): then the policies that provide it are part of the group too, so alerts taken by
/// different policies never share an incident. When no policy provides anything, the group is
/// as it always was, so open incidents keep gathering their alerts.
async fn attach(
    conn: &mut PgConnection,
    alert: &IncidentAlert,
    route: &IncidentRoute,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let alert_id = alert.id;
    let labels = &alert.labels;
    let name = alert
        .rule_name
        .clone()
        .or_else(|| labels.get("alertname").cloned())
        .unwrap_or_else(|| "alert".to_owned());
    let settings = incident_settings(alert.escalation_policy_id, alert.group_by.clone(), route);
    let group: Vec<(String, String)> = settings
        .group_by
        .iter()
        .filter_map(|l| labels.get(l).map(|v| (l.clone(), v.clone())))
        .collect();
    let routes: Vec<String> = settings.routes.iter().map(i64::to_string).collect();
    let routes = routes.join(",");
    let key = match (routes.is_empty(), alert.rule_id) {
        (true, Some(rule)) => format!("rule:{rule}:{group:?}"),
        (true, None) => format!("alertname:{name:?}"),
        (false, Some(rule)) => format!("route:{routes}:rule:{rule}:{group:?}"),
        (false, None) => format!("route:{routes}:alertname:{name:?}:{group:?}"),
    };
    let title = if group.is_empty() {
        name.clone()
    } else {
        let values: Vec<&str> = group.iter().map(|(_, v)| v.as_str()).collect();
        format!("{name} ({})", values.join(", "))
    };
    let severity = alert.severity;
    let policy = match settings.escalation_policy_id {
        Some(id) => policies::load(&mut *conn, id).await?,
        None => None,
    };
    let first_due = policy
        .as_ref()
        .and_then(|p| p.levels.first())
        .map(|l| now + TimeDelta::minutes(i64::from(l.delay_minutes)));
    let team = match labels.get("team") {
        Some(team) => teams::id_by_name(&mut *conn, team).await?,
        None => None,
    };
    let opened = sqlx::query_scalar!(
        "INSERT INTO incidents (title, description, status, severity, service, team_id,
                                escalation_policy_id, group_key, next_escalation_at,
                                triggered_at, updated_at)
         VALUES ($1, $2, 'triggered', $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (group_key) WHERE status <> 'resolved' AND group_key IS NOT NULL
         DO NOTHING RETURNING id",
        title,
        alert
            .annotations
            .get("summary")
            .cloned()
            .unwrap_or_default(),
        severity.as_str(),
        service_of(labels),
        team,
        settings.escalation_policy_id.filter(|_| policy.is_some()),
        key,
        first_due,
        now
    )
    .fetch_optional(&mut *conn)
    .await?;
    let incident = match opened {
        Some(id) => {
            timeline(
                conn,
                id,
                now,
                VIGIL,
                "triggered",
                &format!("Opened by the alert {}.", describe(&name, labels)),
            )
            .await?;
            id
        }
        None => {
            let Some(id) = sqlx::query_scalar!(
                "SELECT id FROM incidents WHERE group_key = $1 AND status <> 'resolved' FOR UPDATE",
                key
            )
            .fetch_optional(&mut *conn)
            .await?
            else {
                return Ok(());
            };
            id
        }
    };
    let added = sqlx::query!(
        "INSERT INTO incident_alerts (incident_id, alert_id, added_at) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
        incident,
        alert_id,
        now
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if added > 0 && opened.is_none() {
        timeline(
            conn,
            incident,
            now,
            VIGIL,
            "alert",
            &format!("The alert {} joined.", describe(&name, labels)),
        )
        .await?;
    }
    let raised = sqlx::query_scalar!(
        "UPDATE incidents SET severity = $2, updated_at = $3
         WHERE id = $1 AND status <> 'resolved'
           AND (CASE severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END)
             < (CASE $2 WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END)
         RETURNING id",
        incident,
        severity.as_str(),
        now
    )
    .fetch_optional(&mut *conn)
    .await?;
    if raised.is_some() {
        timeline(
            conn,
            incident,
            now,
            VIGIL,
            "severity",
            &format!("Severity raised to {} by an alert.", severity.as_str()),
        )
        .await?;
    }
    if opened.is_some() || added > 0 || raised.is_some() {
        announce(conn, incident).await?;
    }
    Ok(())
}

/// Opens (or joins) the incidents of alerts that started firing or changed severity, as
/// alerting reports them (its `inbox`); returns how many reports it took.
pub async fn pick_up(db: &PgPool, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
    let mut tx = db.begin().await?;
    let news = inbox::take(&mut tx, Reader::Incidents, 500).await?;
    if news.is_empty() {
        return Ok(0);
    }
    let policies = routing::load_policies(&mut tx).await?;
    for &id in &news {
        if let Some(alert) = alerts::firing_for_incident(&mut tx, id).await? {
            let route = routing::incident_route(&policies, &alert.labels);
            attach(&mut tx, &alert, &route, now).await?;
        }
    }
    tx.commit().await?;
    Ok(news.len())
}

/// How an alert's incident is grouped and paged.
#[derive(Debug, PartialEq, Eq)]
struct IncidentSettings {
    escalation_policy_id: Option<i64>,
    group_by: Vec<String>,
    /// The notification policies that provided the settings used (none, one or two).
    routes: Vec<i64>,
}

/// The rule's own settings (`rule_policy`, `rule_group_by`) where it has them, the
/// notification policies' for the rest.
fn incident_settings(
    rule_policy: Option<i64>,
    rule_group_by: Vec<String>,
    route: &IncidentRoute,
) -> IncidentSettings {
    let rule_groups = !rule_group_by.is_empty();
    let (group_by, grouped_by) = match &route.group_by {
        Some((by, labels)) if !rule_groups => (labels.clone(), Some(*by)),
        _ => (rule_group_by, None),
    };
    let (escalation_policy_id, paged_by) = match (rule_policy, route.escalation) {
        (None, Some((by, policy))) => (Some(policy), Some(by)),
        (policy, _) => (policy, None),
    };
    // A rule that splits its incidents itself keeps its groups, whoever pages them.
    let mut routes: Vec<i64> = if rule_groups {
        Vec::new()
    } else {
        grouped_by.into_iter().chain(paged_by).collect()
    };
    routes.dedup();
    IncidentSettings {
        escalation_policy_id,
        group_by,
        routes,
    }
}

/// `HighLatency{job="checkout"}`.
fn describe(name: &str, labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "alertname")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    if pairs.is_empty() {
        name.to_owned()
    } else {
        format!("{name}{{{}}}", pairs.join(", "))
    }
}

/// Where an incident's escalation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// The level notified next (from 0); `levels.len()` once exhausted.
    pub level: i32,
    pub round: i32,
}

/// After notifying `at.level`: the next position and how long until it, or `None` when the
/// policy has run out (all levels, all repeats).
pub fn next_position(
    policy: &EscalationPolicyRequest,
    at: Position,
) -> Option<(Position, TimeDelta)> {
    let next = at.level as usize + 1;
    if let Some(level) = policy.levels.get(next) {
        Some((
            Position {
                level: next as i32,
                round: at.round,
            },
            TimeDelta::minutes(i64::from(level.delay_minutes)),
        ))
    } else if (at.round as u32) < policy.repeat_count {
        Some((
            Position {
                level: 0,
                round: at.round + 1,
            },
            TimeDelta::minutes(i64::from(policy.repeat_after_minutes)),
        ))
    } else {
        None
    }
}

/// Pages the level the incident (locked by the caller) is at, records it, and moves the
/// incident on to its next level. Answers false when there is nothing to notify (no policy,
/// or the policy has run out).
pub async fn escalate_step(
    conn: &mut PgConnection,
    incident: i64,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<bool, sqlx::Error> {
    let Some(row) = sqlx::query!(
        "SELECT title, severity, level, round, steps, escalation_policy_id
         FROM incidents WHERE id = $1",
        incident
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(false);
    };
    let policy = match row.escalation_policy_id {
        Some(id) => policies::load(&mut *conn, id).await?,
        None => None,
    };
    let Some(policy) = policy else {
        return Ok(false);
    };
    let Some(level) = policy.levels.get(row.level.max(0) as usize) else {
        return Ok(false);
    };
    let recorded = sqlx::query!(
        "INSERT INTO escalation_steps (incident_id, step, level, round, at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        incident,
        row.steps,
        row.level,
        row.round,
        now
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if recorded == 0 {
        return Ok(false);
    }
    let paged = notify_targets(
        conn,
        incident,
        &row.title,
        &row.severity,
        level.targets.as_slice(),
        now,
    )
    .await?;
    let round = if row.round > 0 {
        format!(" (repeat {})", row.round)
    } else {
        String::new()
    };
    let who = if paged.is_empty() {
        "nobody (no one on call)".to_owned()
    } else {
        paged.join(", ")
    };
    timeline(
        conn,
        incident,
        now,
        actor,
        "notified",
        &format!("Level {}{round} notified: {who}.", row.level + 1),
    )
    .await?;
    let here = Position {
        level: row.level,
        round: row.round,
    };
    let (next, due) = match next_position(&policy, here) {
        Some((next, wait)) => (next, Some(now + wait)),
        None => (
            Position {
                level: policy.levels.len() as i32,
                round: row.round,
            },
            None,
        ),
    };
    sqlx::query!(
        "UPDATE incidents
         SET level = $2, round = $3, steps = steps + 1, updated_at = $5,
             next_escalation_at = CASE WHEN status = 'triggered' THEN $4 ELSE next_escalation_at END
         WHERE id = $1",
        incident,
        next.level,
        next.round,
        due,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Notifies a level's targets: users (in-app, and a message to each of their contact
/// methods), a team's members, whoever is on call on a schedule, and notification channels
/// (a message in the channel's format). Each user is paged once however many targets reach
/// them. Answers who, and how when it was more than in-app: `rosa@x (in-app, email)`.
async fn notify_targets(
    conn: &mut PgConnection,
    incident: i64,
    title: &str,
    severity: &str,
    targets: &[vigil_shared::incident::EscalationTarget],
    now: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    let mut users = BTreeSet::new();
    let mut channels = Vec::new();
    for target in targets {
        match target.kind {
            TargetKind::User => {
                users.insert(target.id);
            }
            TargetKind::Team => {
                users.extend(teams::member_ids(&mut *conn, target.id).await?);
            }
            TargetKind::Schedule => {
                if let Some(user) = schedules::on_call_at(&mut *conn, target.id, now).await? {
                    users.insert(user);
                }
            }
            TargetKind::Channel => channels.push(target.id),
        }
    }
    let mut paged = Vec::new();
    let text = format!("Incident #{incident} needs you: {title} ({severity}).");
    // The message contact methods get, built once for the step when someone has a method.
    let mut page: Option<Message> = None;
    for user in users {
        // Disabled users are not paged.
        let Some(email) = users::active_email(&mut *conn, user).await? else {
            continue;
        };
        sqlx::query!(
            "INSERT INTO user_notifications (user_id, incident_id, message, created_at)
             VALUES ($1, $2, $3, $4)",
            user,
            incident,
            text,
            now
        )
        .execute(&mut *conn)
        .await?;
        let methods = contact_methods::active(&mut *conn, user).await?;
        if methods.is_empty() {
            paged.push(email);
            continue;
        }
        let shared = match page.take() {
            Some(message) => message,
            None => incident_message(conn, incident, title, severity, "", now).await?,
        };
        let mut message = shared.clone();
        message.receiver.clone_from(&email);
        page = Some(shared);
        let mut how = vec!["in-app"];
        for (method, kind) in methods {
            notify::enqueue_to_contact_method(&mut *conn, method, "alert", &message, now).await?;
            if !how.contains(&kind.as_str()) {
                how.push(kind.as_str());
            }
        }
        paged.push(format!("{email} ({})", how.join(", ")));
    }
    for channel in channels {
        let Some(name) = notify::channel_name(&mut *conn, channel).await? else {
            continue;
        };
        let message = incident_message(conn, incident, title, severity, &name, now).await?;
        notify::enqueue(&mut *conn, channel, "alert", &message, now).await?;
        paged.push(format!("channel {name}"));
    }
    Ok(paged)
}

/// The message a channel gets about an incident: its firing alerts, or (opened by hand) one
/// alert standing for the incident itself.
async fn incident_message(
    conn: &mut PgConnection,
    incident: i64,
    title: &str,
    severity: &str,
    receiver: &str,
    now: DateTime<Utc>,
) -> Result<Message, sqlx::Error> {
    let ids = sqlx::query_scalar!(
        "SELECT alert_id FROM incident_alerts WHERE incident_id = $1 ORDER BY alert_id",
        incident
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut alerts: Vec<MessageAlert> = alerts::by_ids(conn, &ids)
        .await?
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .map(|a| MessageAlert::of(a, None))
        .collect();
    if alerts.is_empty() {
        alerts.push(MessageAlert::new(
            false,
            BTreeMap::from([
                ("alertname".to_owned(), title.to_owned()),
                ("severity".to_owned(), severity.to_owned()),
                ("incident".to_owned(), incident.to_string()),
            ]),
            BTreeMap::from([(
                "summary".to_owned(),
                format!("Incident #{incident}: {title}"),
            )]),
            now,
            None,
            String::new(),
        ));
    }
    let group = BTreeMap::from([("incident".to_owned(), incident.to_string())]);
    Ok(Message::new(receiver, group, alerts, ""))
}

/// Acts on every incident due at `now`: pages its next level, or — acknowledged ones whose
/// acknowledgment timed out or whose snooze ended — triggers it again and pages the level it
/// was at. Returns how many incidents were acted on.
pub async fn process_due(db: &PgPool, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
    let mut done = 0;
    for _ in 0..500 {
        let mut tx = db.begin().await?;
        let Some(row) = sqlx::query!(
            "SELECT id, status, snoozed_until, steps FROM incidents
             WHERE next_escalation_at <= $1 AND status <> 'resolved'
             ORDER BY next_escalation_at LIMIT 1
             FOR UPDATE SKIP LOCKED",
            now
        )
        .fetch_optional(&mut *tx)
        .await?
        else {
            break;
        };
        if IncidentStatus::parse(&row.status) == Some(IncidentStatus::Acknowledged) {
            let why = if row.snoozed_until.is_some() {
                "The snooze ended: triggered again."
            } else {
                "Not resolved within the acknowledgment timeout: triggered again."
            };
            retrigger(&mut tx, row.id, now).await?;
            timeline(&mut tx, row.id, now, VIGIL, "triggered", why).await?;
        }
        if !escalate_step(&mut tx, row.id, now, VIGIL).await? {
            sqlx::query!(
                "UPDATE incidents SET next_escalation_at = NULL WHERE id = $1",
                row.id
            )
            .execute(&mut *tx)
            .await?;
        }
        announce(&mut tx, row.id).await?;
        tx.commit().await?;
        done += 1;
    }
    Ok(done)
}

/// Back to triggered, at the level notified last (so that it is paged again), due now.
pub async fn retrigger(
    conn: &mut PgConnection,
    incident: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE incidents i
         SET status = 'triggered', snoozed_until = NULL, next_escalation_at = $2, updated_at = $2,
             (level, round) = (
                 SELECT COALESCE((SELECT s.level FROM escalation_steps s
                                  WHERE s.incident_id = i.id ORDER BY s.step DESC LIMIT 1), 0),
                        COALESCE((SELECT s.round FROM escalation_steps s
                                  WHERE s.incident_id = i.id ORDER BY s.step DESC LIMIT 1), 0))
         WHERE id = $1",
        incident,
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Open incidents looked at per transaction by [`resolve_finished`].
const RESOLVE_PAGE: i64 = 500;

/// Resolves open incidents whose alerts have all resolved, when their policy (or, without
/// one, the default) says so. Returns how many.
pub async fn resolve_finished(db: &PgPool, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
    let (mut resolved, mut after) = (0, 0);
    loop {
        let (page, last) = resolve_finished_after(db, now, after).await?;
        resolved += page;
        match last {
            Some(last) => after = last,
            None => return Ok(resolved),
        }
    }
}

/// One page of [`resolve_finished`]: the open incidents after id `after`. Returns how many
/// it resolved, and the last id looked at when another page may follow.
async fn resolve_finished_after(
    db: &PgPool,
    now: DateTime<Utc>,
    after: i64,
) -> Result<(usize, Option<i64>), sqlx::Error> {
    let mut tx = db.begin().await?;
    let open = sqlx::query!(
        r#"SELECT i.id, i.escalation_policy_id,
                  ARRAY(SELECT ia.alert_id FROM incident_alerts ia
                        WHERE ia.incident_id = i.id) AS "alert_ids!"
           FROM incidents i
           WHERE status <> 'resolved' AND group_key IS NOT NULL AND i.id > $1
             AND EXISTS (SELECT 1 FROM incident_alerts ia WHERE ia.incident_id = i.id)
           ORDER BY i.id LIMIT $2"#,
        after,
        RESOLVE_PAGE
    )
    .fetch_all(&mut *tx)
    .await?;
    let last = (open.len() as i64 == RESOLVE_PAGE)
        .then(|| open.last().map(|i| i.id))
        .flatten();
    let alert_ids: Vec<i64> = open
        .iter()
        .flat_map(|i| i.alert_ids.iter().copied())
        .collect();
    let live = alerts::in_states(
        &mut tx,
        &alert_ids,
        &[AlertState::Pending, AlertState::Firing],
    )
    .await?;
    let finished: Vec<_> = open
        .into_iter()
        .filter(|i| !i.alert_ids.iter().any(|a| live.contains(a)))
        .collect();
    if finished.is_empty() {
        return Ok((0, last));
    }
    let finished_alerts: Vec<i64> = finished
        .iter()
        .flat_map(|i| i.alert_ids.iter().copied())
        .collect();
    let policy_ids: Vec<i64> = finished
        .iter()
        .filter_map(|i| i.escalation_policy_id)
        .collect();
    let policies = policies::summaries(&mut *tx, &policy_ids).await?;
    // Without a policy (or with one deleted since) an incident resolves by itself.
    let auto_resolving: Vec<i64> = finished
        .iter()
        .filter(|i| {
            i.escalation_policy_id
                .and_then(|p| policies.get(&p))
                .is_none_or(|p| p.auto_resolve)
        })
        .map(|i| i.id)
        .collect();
    // Alerts never return from resolved (a new firing is a new alert), so those found finished
    // stay so; an incident resolved by hand or joined by another alert since is left alone.
    let resolved = sqlx::query_scalar!(
        "UPDATE incidents i
         SET status = 'resolved', resolved_at = $3, next_escalation_at = NULL,
             snoozed_until = NULL, resolution = 'All its alerts resolved.', updated_at = $3
         WHERE i.id = ANY($1) AND i.status <> 'resolved'
           AND NOT EXISTS (SELECT 1 FROM incident_alerts ia
                           WHERE ia.incident_id = i.id AND ia.alert_id <> ALL($2))
         RETURNING i.id",
        &auto_resolving,
        &finished_alerts,
        now
    )
    .fetch_all(&mut *tx)
    .await?;
    for &id in &resolved {
        timeline(
            &mut tx,
            id,
            now,
            VIGIL,
            "resolved",
            "Resolved: all its alerts resolved.",
        )
        .await?;
        audit::record(
            &mut *tx,
            AuditActor::SYSTEM,
            "incident.resolve",
            Target::of("incident", id),
            json!({ "automatic": true }),
        )
        .await?;
        announce(&mut tx, id).await?;
    }
    tx.commit().await?;
    Ok((resolved.len(), last))
}

/// Picks up every alert waiting for its incident.
pub async fn pick_up_all(db: &PgPool, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    while pick_up(db, now).await? > 0 {}
    Ok(())
}

/// Background worker: every second until shutdown, auto-resolves finished incidents and acts
/// on the due ones.
pub async fn escalation_worker(db: PgPool, shutdown: CancellationToken) {
    let mut ticker = crate::ticker::Ticker::every(Duration::from_secs(1), shutdown);
    while ticker.tick().await {
        let picking_up = pick_up_all(&db, Utc::now());
        ticker
            .run("opening incidents for firing alerts", picking_up)
            .await;
        let resolving = resolve_finished(&db, Utc::now());
        ticker.run("resolving finished incidents", resolving).await;
        let escalating = process_due(&db, Utc::now());
        ticker.run("escalating incidents", escalating).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_shared::incident::{EscalationLevel, EscalationTarget};

    fn policy(delays: &[u32], repeat_count: u32) -> EscalationPolicyRequest {
        EscalationPolicyRequest {
            name: "p".into(),
            description: String::new(),
            levels: delays
                .iter()
                .map(|d| EscalationLevel {
                    delay_minutes: *d,
                    targets: vec![EscalationTarget {
                        kind: TargetKind::User,
                        id: 1,
                    }],
                })
                .collect(),
            repeat_count,
            repeat_after_minutes: 15,
            ack_timeout_minutes: None,
            auto_resolve: true,
        }
    }

    fn at(level: i32, round: i32) -> Position {
        Position { level, round }
    }

    #[test]
    fn levels_follow_each_other_by_their_delays_then_the_policy_repeats() {
        let p = policy(&[0, 10, 20], 1);
        assert_eq!(
            next_position(&p, at(0, 0)),
            Some((at(1, 0), TimeDelta::minutes(10)))
        );
        assert_eq!(
            next_position(&p, at(1, 0)),
            Some((at(2, 0), TimeDelta::minutes(20)))
        );
        assert_eq!(
            next_position(&p, at(2, 0)),
            Some((at(0, 1), TimeDelta::minutes(15)))
        );
        assert_eq!(next_position(&p, at(2, 1)), None, "one repeat only");
        assert_eq!(next_position(&policy(&[5], 0), at(0, 0)), None);
    }

    #[test]
    fn a_rule_s_own_settings_win_and_the_route_fills_in_the_rest() {
        let route = IncidentRoute {
            escalation: Some((7, 70)),
            group_by: Some((8, vec!["cluster".into()])),
        };
        let settings = |policy, by: &[&str], route: &IncidentRoute| {
            incident_settings(policy, by.iter().map(|l| (*l).to_owned()).collect(), route)
        };
        assert_eq!(
            settings(None, &[], &route),
            IncidentSettings {
                escalation_policy_id: Some(70),
                group_by: vec!["cluster".into()],
                routes: vec![8, 7],
            }
        );
        assert_eq!(
            settings(Some(5), &["pod"], &route),
            IncidentSettings {
                escalation_policy_id: Some(5),
                group_by: vec!["pod".into()],
                routes: Vec::new(),
            },
            "the rule says everything: grouped as it always was"
        );
        assert_eq!(
            settings(None, &["pod"], &route),
            IncidentSettings {
                escalation_policy_id: Some(70),
                group_by: vec!["pod".into()],
                routes: Vec::new(),
            },
            "a rule that splits its incidents keeps its groups"
        );
        let paging_only = IncidentRoute {
            escalation: Some((7, 70)),
            group_by: None,
        };
        assert_eq!(settings(None, &[], &paging_only).routes, [7]);
        assert_eq!(
            settings(Some(5), &[], &paging_only).routes,
            [0_i64; 0],
            "nothing of the route's is used"
        );
        let one_route = IncidentRoute {
            escalation: Some((8, 70)),
            group_by: Some((8, vec!["cluster".into()])),
        };
        assert_eq!(settings(None, &[], &one_route).routes, [8]);
        assert_eq!(
            settings(None, &[], &IncidentRoute::default()),
            IncidentSettings {
                escalation_policy_id: None,
                group_by: Vec::new(),
                routes: Vec::new(),
            }
        );
    }

    #[test]
    fn alerts_are_described_by_name_and_labels() {
        let labels = BTreeMap::from([
            ("alertname".to_owned(), "Down".to_owned()),
            ("job".to_owned(), "api".to_owned()),
        ]);
        assert_eq!(describe("Down", &labels), r#"Down{job="api"}"#);
        assert_eq!(service_of(&labels), "api");
        assert_eq!(describe("Down", &BTreeMap::new()), "Down");
    }
}
