//! Routing firing alerts to channels through the notification policies, and flushing the
//! groups they form on Alertmanager's timings.
//!
//! Both halves run in every replica's delivery worker and keep their state only in the
//! database: an alert waiting to be placed (news in alerting's `inbox`) and a group due for a
//! flush (`next_flush_at`) are each claimed with `FOR UPDATE SKIP LOCKED`, so a message is
//! composed once however many replicas run, and a restart resumes the same timings.
//!
//! A group forms when its first alert is placed and is flushed `group_wait` later. From then
//! on it is looked at every `group_interval`: a new firing alert, a severity change or (for
//! channels that want them) a resolution sends a message with the group's current alerts; an
//! unchanged group is sent again once `repeat_interval` has passed since the last message.
//! Silenced and inhibited alerts are left out when the message is composed. A group whose
//! alerts have all resolved and been reported is removed.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::types::Json as SqlJson;
use sqlx::{PgConnection, PgPool};
use vigil_shared::alerting::{AlertState, Matcher};

use super::message::{Message, MessageAlert};
use crate::alerting::inbox::{self, Reader};
use crate::alerting::silences::{self, CompiledMatcher};
use crate::alerting::{alerts, inhibition};

/// `group_by` entry that groups by every label.
pub const ALL_LABELS: &str = "...";

/// A policy as routing applies it.
pub struct RoutingPolicy {
    pub id: i64,
    pub is_default: bool,
    pub matchers: Vec<CompiledMatcher>,
    pub channel_ids: Vec<i64>,
    pub group_by: Vec<String>,
    pub group_wait_ms: i64,
    pub continue_matching: bool,
    pub escalation_policy_id: Option<i64>,
    pub incident_group_by: Vec<String>,
}

/// Where one alert goes: a channel, through a policy (`None`: its rule's own channels).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub channel: i64,
    pub policy: Option<i64>,
    pub group_labels: BTreeMap<String, String>,
    pub group_wait_ms: i64,
}

/// The policies in the order they are tried, the default one last.
pub async fn load_policies(conn: &mut PgConnection) -> Result<Vec<RoutingPolicy>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, is_default, group_by, group_wait_ms, continue_matching,
                  escalation_policy_id, incident_group_by,
                  ARRAY(SELECT c.channel_id FROM notification_policy_channels c
                        WHERE c.policy_id = p.id ORDER BY c.channel_id) AS "channel_ids!",
                  matchers AS "matchers!: SqlJson<Vec<Matcher>>"
           FROM notification_policies p ORDER BY is_default, position, id"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(RoutingPolicy {
                id: r.id,
                is_default: r.is_default,
                matchers: r
                    .matchers
                    .0
                    .iter()
                    .map(CompiledMatcher::new)
                    .collect::<Result<_, _>>()
                    .ok()?,
                channel_ids: r.channel_ids,
                group_by: r.group_by,
                group_wait_ms: r.group_wait_ms,
                continue_matching: r.continue_matching,
                escalation_policy_id: r.escalation_policy_id,
                incident_group_by: r.incident_group_by,
            })
        })
        .collect())
}

/// The labels of `labels` named in `group_by` (all of them for `...`).
pub fn group_labels(
    group_by: &[String],
    labels: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    if group_by.iter().any(|l| l == ALL_LABELS) {
        return labels.clone();
    }
    group_by
        .iter()
        .filter_map(|name| labels.get(name).map(|v| (name.clone(), v.clone())))
        .collect()
}

/// `{alertname="HighLatency", cluster="eu"}`: one text per set of group labels.
pub fn group_key(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

/// The policies that take an alert with `labels`, in order: the first matching one and the
/// later ones while they say `continue`, or the default policy when none matches.
fn taking<'p>(
    policies: &'p [RoutingPolicy],
    labels: &BTreeMap<String, String>,
) -> Vec<&'p RoutingPolicy> {
    let mut taken = Vec::new();
    for policy in policies.iter().filter(|p| !p.is_default) {
        if policy.matchers.iter().all(|m| m.matches(labels)) {
            taken.push(policy);
            if !policy.continue_matching {
                break;
            }
        }
    }
    if taken.is_empty() {
        taken.extend(policies.iter().find(|p| p.is_default));
    }
    taken
}

/// Where an alert with `labels` goes: the channels of the policies that take it (see
/// [`taking`]); plus the channels chosen on its rule, grouped and timed as the default policy
/// says, unless a policy already sends to that channel.
pub fn routes_for(
    policies: &[RoutingPolicy],
    rule_channels: &[i64],
    labels: &BTreeMap<String, String>,
) -> Vec<Route> {
    let mut routes: Vec<Route> = Vec::new();
    let push =
        |routes: &mut Vec<Route>, policy: &RoutingPolicy, channels: &[i64], via: Option<i64>| {
            for &channel in channels {
                if routes.iter().any(|r| r.channel == channel) {
                    continue;
                }
                routes.push(Route {
                    channel,
                    policy: via,
                    group_labels: group_labels(&policy.group_by, labels),
                    group_wait_ms: policy.group_wait_ms,
                });
            }
        };
    for policy in taking(policies, labels) {
        push(&mut routes, policy, &policy.channel_ids, Some(policy.id));
    }
    if let Some(default) = policies.iter().find(|p| p.is_default) {
        push(&mut routes, default, rule_channels, None);
    }
    routes
}

/// What the notification policies say about the incident of an alert, for what its rule leaves
/// unsaid: each setting with the id of the policy it comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IncidentRoute {
    /// (notification policy, escalation policy it pages).
    pub escalation: Option<(i64, i64)>,
    /// (notification policy, labels that split incidents).
    pub group_by: Option<(i64, Vec<String>)>,
}

/// The incident settings for an alert with `labels`: each from the first policy taking the
/// alert that has it, else from the default policy — as an Alertmanager route inherits what
/// it leaves unset from the root route.
pub fn incident_route(
    policies: &[RoutingPolicy],
    labels: &BTreeMap<String, String>,
) -> IncidentRoute {
    let mut candidates = taking(policies, labels);
    if let Some(default) = policies.iter().find(|p| p.is_default)
        && !candidates.iter().any(|p| p.is_default)
    {
        candidates.push(default);
    }
    IncidentRoute {
        escalation: candidates
            .iter()
            .find_map(|p| Some((p.id, p.escalation_policy_id?))),
        group_by: candidates
            .iter()
            .find(|p| !p.incident_group_by.is_empty())
            .map(|p| (p.id, p.incident_group_by.clone())),
    }
}

/// Places alerts that started firing (or changed severity) into their notification groups (a
/// new group is due `group_wait` after the alert's change); returns how many news it took.
pub async fn route_pending(db: &PgPool, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
    let mut tx = db.begin().await?;
    let news = inbox::take(&mut tx, Reader::Notify, 500).await?;
    if news.is_empty() {
        return Ok(0);
    }
    let alerts = alerts::firing_for_routing(&mut tx, &news).await?;
    let policies = load_policies(&mut tx).await?;
    for alert in &alerts {
        let mut groups = Vec::new();
        for route in routes_for(&policies, &alert.rule_channels, &alert.labels) {
            // group_wait counts from when the alert started firing (or changed severity).
            let due = alert.updated_at.min(now) + TimeDelta::milliseconds(route.group_wait_ms);
            let group = sqlx::query_scalar!(
                "INSERT INTO notification_groups (channel_id, policy_id, group_key, group_labels,
                                                  next_flush_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (channel_id, (COALESCE(policy_id, 0)), group_key)
                 DO UPDATE SET next_flush_at = notification_groups.next_flush_at
                 RETURNING id",
                route.channel,
                route.policy,
                group_key(&route.group_labels),
                serde_json::to_value(&route.group_labels).unwrap_or_default(),
                due,
                now
            )
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query!(
                "INSERT INTO notification_group_alerts (group_id, alert_id) VALUES ($1, $2)
                 ON CONFLICT (group_id, alert_id) DO UPDATE SET left_at = NULL",
                group,
                alert.id
            )
            .execute(&mut *tx)
            .await?;
            groups.push(group);
        }
        // Groups it no longer routes to (after a severity change) report it resolved.
        sqlx::query!(
            "UPDATE notification_group_alerts SET left_at = $3
             WHERE alert_id = $1 AND left_at IS NULL AND NOT (group_id = ANY($2))",
            alert.id,
            &groups,
            now
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(news.len())
}

/// One alert of a group as a flush sees it.
#[derive(Clone, Debug)]
pub struct Member {
    pub id: i64,
    pub severity: String,
    /// Firing, still routed to this group, and neither silenced nor inhibited.
    pub firing: bool,
    /// Resolved, or no longer routed to this group.
    pub resolved: bool,
}

impl Member {
    fn key(&self) -> String {
        format!("{}:{}", self.id, self.severity)
    }
}

/// What a flush does.
#[derive(Debug, PartialEq, Eq)]
pub struct Flush {
    /// The alerts (ids) to send now, firing then resolved; nothing to send when empty.
    pub firing: Vec<i64>,
    pub resolved: Vec<i64>,
    /// What the group remembers as reported firing afterwards.
    pub notified: Vec<String>,
}

/// Decides a flush, as Alertmanager's notification log does: send when an alert fires that
/// the last message did not report (or reported at another severity), when a reported alert
/// resolved and the channel wants resolutions, or when `repeat_due` and something fires.
pub fn plan(
    members: &[Member],
    notified: &[String],
    repeat_due: bool,
    send_resolved: bool,
) -> Flush {
    let notified: BTreeSet<&str> = notified.iter().map(String::as_str).collect();
    let reported_ids: BTreeSet<i64> = notified.iter().filter_map(|k| key_id(k)).collect();
    let firing: Vec<&Member> = members.iter().filter(|m| m.firing).collect();
    let resolved: Vec<i64> = members
        .iter()
        .filter(|m| m.resolved && reported_ids.contains(&m.id))
        .map(|m| m.id)
        .collect();
    let firing_keys: Vec<String> = firing.iter().map(|m| m.key()).collect();
    let changed = firing_keys.iter().any(|k| !notified.contains(k.as_str()));
    let send =
        changed || (send_resolved && !resolved.is_empty()) || (repeat_due && !firing.is_empty());
    if send {
        Flush {
            firing: firing.iter().map(|m| m.id).collect(),
            resolved: if send_resolved { resolved } else { Vec::new() },
            notified: firing_keys,
        }
    } else {
        // Nothing goes out; resolved alerts are forgotten, muted ones stay remembered so
        // that their return is not news.
        let gone: BTreeSet<i64> = members
            .iter()
            .filter(|m| m.resolved)
            .map(|m| m.id)
            .collect();
        Flush {
            firing: Vec::new(),
            resolved: Vec::new(),
            notified: notified
                .iter()
                .filter(|k| key_id(k).is_none_or(|id| !gone.contains(&id)))
                .map(|k| (*k).to_owned())
                .collect(),
        }
    }
}

/// The alert id of a remembered `"id:severity"` key.
fn key_id(key: &str) -> Option<i64> {
    key.split(':').next()?.parse().ok()
}

/// Flushes every group due at `now` (queueing the messages it decides to send); returns how
/// many messages were queued.
pub async fn flush_due(db: &PgPool, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
    let mut conn = db.acquire().await?;
    let active = silences::active(&mut *conn, now).await?;
    let inhibitors = inhibition::load(&mut *conn).await?;
    let sources = if inhibitors.is_empty() {
        Vec::new()
    } else {
        inhibition::firing(&mut *conn).await?
    };
    drop(conn);
    let mut queued = 0;
    for _ in 0..1000 {
        let mut tx = db.begin().await?;
        let Some(group) = sqlx::query!(
            r#"SELECT g.id, g.channel_id, g.group_labels AS "group_labels!: SqlJson<BTreeMap<String, String>>",
                      g.last_sent_at, g.notified, c.name AS channel_name, c.send_resolved,
                      p.group_interval_ms, p.repeat_interval_ms
               FROM notification_groups g
               JOIN notification_channels c ON c.id = g.channel_id
               JOIN notification_policies p
                 ON p.id = COALESCE(g.policy_id,
                                    (SELECT id FROM notification_policies WHERE is_default))
               WHERE g.next_flush_at <= $1
               ORDER BY g.next_flush_at LIMIT 1
               FOR UPDATE OF g SKIP LOCKED"#,
            now
        )
        .fetch_optional(&mut *tx)
        .await?
        else {
            break;
        };
        let memberships = sqlx::query!(
            r#"SELECT alert_id, left_at IS NOT NULL AS "left!"
               FROM notification_group_alerts WHERE group_id = $1 ORDER BY alert_id"#,
            group.id
        )
        .fetch_all(&mut *tx)
        .await?;
        let ids: Vec<i64> = memberships.iter().map(|m| m.alert_id).collect();
        let left: HashSet<i64> = memberships
            .iter()
            .filter(|m| m.left)
            .map(|m| m.alert_id)
            .collect();
        let group_alerts = alerts::by_ids(&mut tx, &ids).await?;
        let members: Vec<Member> = group_alerts
            .iter()
            .map(|a| {
                let resolved = left.contains(&a.id) || a.state != AlertState::Firing;
                let muted = !silences::silenced_by(&active, &a.labels).is_empty()
                    || !inhibition::inhibited_by(&inhibitors, &sources, a.id, &a.labels).is_empty();
                Member {
                    id: a.id,
                    severity: a.severity.as_str().to_owned(),
                    firing: !resolved && !muted,
                    resolved,
                }
            })
            .collect();
        let repeat_due = group
            .last_sent_at
            .is_none_or(|at| now - at >= TimeDelta::milliseconds(group.repeat_interval_ms));
        let flush = plan(&members, &group.notified, repeat_due, group.send_resolved);
        let sending = !flush.firing.is_empty() || !flush.resolved.is_empty();
        if sending {
            let alerts: Vec<MessageAlert> = flush
                .firing
                .iter()
                .chain(&flush.resolved)
                .filter_map(|id| group_alerts.iter().find(|a| a.id == *id))
                .map(|a| {
                    let resolved = flush.resolved.contains(&a.id);
                    MessageAlert::of(a, resolved.then(|| a.resolved_at.unwrap_or(now)))
                })
                .collect();
            let message = Message::new(
                &group.channel_name,
                group.group_labels.0.clone(),
                alerts,
                "",
            );
            super::enqueue(&mut *tx, group.channel_id, "alert", &message, now).await?;
            queued += 1;
        }
        // Resolved members have been reported (or need not be): they leave the group.
        let gone: Vec<i64> = members
            .iter()
            .filter(|m| m.resolved)
            .map(|m| m.id)
            .collect();
        sqlx::query!(
            "DELETE FROM notification_group_alerts WHERE group_id = $1 AND alert_id = ANY($2)",
            group.id,
            &gone
        )
        .execute(&mut *tx)
        .await?;
        let remaining = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM notification_group_alerts WHERE group_id = $1"#,
            group.id
        )
        .fetch_one(&mut *tx)
        .await?;
        if remaining == 0 {
            sqlx::query!("DELETE FROM notification_groups WHERE id = $1", group.id)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query!(
                "UPDATE notification_groups
                 SET next_flush_at = $2, notified = $3,
                     last_sent_at = CASE WHEN $4 THEN $5 ELSE last_sent_at END
                 WHERE id = $1",
                group.id,
                now + TimeDelta::milliseconds(group.group_interval_ms),
                &flush.notified,
                sending,
                now
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    }
    Ok(queued)
}

/// Places new firing alerts, then flushes the groups due at `now`; returns the messages
/// queued.
pub async fn run(db: &PgPool, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
    while route_pending(db, now).await? > 0 {}
    flush_due(db, now).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_shared::alerting::MatchOp;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    fn policy(id: i64, matchers: &[(&str, &str)], channels: &[i64], go_on: bool) -> RoutingPolicy {
        RoutingPolicy {
            id,
            is_default: false,
            matchers: matchers
                .iter()
                .map(|(n, v)| {
                    CompiledMatcher::new(&Matcher {
                        name: (*n).into(),
                        value: (*v).into(),
                        op: MatchOp::Regex,
                    })
                    .unwrap()
                })
                .collect(),
            channel_ids: channels.to_vec(),
            group_by: vec!["alertname".into(), "team".into()],
            group_wait_ms: 10_000,
            continue_matching: go_on,
            escalation_policy_id: None,
            incident_group_by: Vec::new(),
        }
    }

    fn default_policy(channels: &[i64]) -> RoutingPolicy {
        RoutingPolicy {
            is_default: true,
            group_by: vec!["alertname".into()],
            group_wait_ms: 30_000,
            ..policy(1, &[], channels, false)
        }
    }

    #[test]
    fn the_first_matching_policy_takes_the_alert_unless_it_continues() {
        let policies = [
            policy(2, &[("team", "db")], &[10], false),
            policy(3, &[("severity", "critical")], &[11], false),
            default_policy(&[12]),
        ];
        let db = labels(&[
            ("alertname", "Slow"),
            ("team", "db"),
            ("severity", "critical"),
        ]);
        let routes = routes_for(&policies, &[], &db);
        assert_eq!(routes.len(), 1);
        assert_eq!(routes[0].channel, 10);
        assert_eq!(routes[0].policy, Some(2));
        assert_eq!(
            routes[0].group_labels,
            labels(&[("alertname", "Slow"), ("team", "db")])
        );

        let continuing = [
            policy(2, &[("team", "db")], &[10], true),
            policy(3, &[("severity", "critical")], &[11], false),
            default_policy(&[12]),
        ];
        let channels: Vec<i64> = routes_for(&continuing, &[], &db)
            .iter()
            .map(|r| r.channel)
            .collect();
        assert_eq!(channels, [10, 11]);
    }

    #[test]
    fn unmatched_alerts_go_to_the_default_policy_and_rule_channels_always_apply() {
        let policies = [
            policy(2, &[("team", "db")], &[10], false),
            default_policy(&[12]),
        ];
        let web = labels(&[("alertname", "Slow"), ("team", "web")]);
        let routes = routes_for(&policies, &[13, 12], &web);
        let summary: Vec<(i64, Option<i64>)> =
            routes.iter().map(|r| (r.channel, r.policy)).collect();
        assert_eq!(summary, [(12, Some(1)), (13, None)], "channel 12 only once");
        assert_eq!(routes[1].group_labels, labels(&[("alertname", "Slow")]));
        assert_eq!(routes[1].group_wait_ms, 30_000);
    }

    #[test]
    fn incident_settings_come_from_the_policies_taking_the_alert_then_the_default() {
        let paging = |p: RoutingPolicy, escalation: Option<i64>, by: &[&str]| RoutingPolicy {
            escalation_policy_id: escalation,
            incident_group_by: by.iter().map(|l| (*l).to_owned()).collect(),
            ..p
        };
        let policies = [
            paging(policy(2, &[("team", "db")], &[], true), None, &["cluster"]),
            paging(policy(3, &[("team", "db")], &[], false), Some(30), &["pod"]),
            paging(policy(4, &[("team", "db")], &[], false), Some(40), &[]),
            paging(policy(5, &[("team", "web")], &[], false), None, &[]),
            paging(default_policy(&[]), Some(10), &["job"]),
        ];
        let db = labels(&[("alertname", "Slow"), ("team", "db")]);
        assert_eq!(
            incident_route(&policies, &db),
            IncidentRoute {
                escalation: Some((3, 30)),
                group_by: Some((2, vec!["cluster".into()])),
            },
            "policy 4 matches too, but policy 3 took the alert without continue"
        );
        let web = labels(&[("alertname", "Slow"), ("team", "web")]);
        assert_eq!(
            incident_route(&policies, &web),
            IncidentRoute {
                escalation: Some((1, 10)),
                group_by: Some((1, vec!["job".into()])),
            },
            "what the taking policy leaves unset comes from the default"
        );
        let other = labels(&[("alertname", "Slow")]);
        assert_eq!(incident_route(&policies, &other).escalation, Some((1, 10)));
        let quiet = [policy(2, &[], &[], false), default_policy(&[])];
        assert_eq!(incident_route(&quiet, &db), IncidentRoute::default());
    }

    #[test]
    fn grouping_by_every_label() {
        let all = labels(&[("alertname", "A"), ("pod", "p-1")]);
        assert_eq!(group_labels(&[ALL_LABELS.into()], &all), all);
        assert_eq!(group_key(&all), r#"{alertname="A", pod="p-1"}"#);
        assert_eq!(group_key(&BTreeMap::new()), "{}");
    }

    fn member(id: i64, severity: &str, firing: bool, resolved: bool) -> Member {
        Member {
            id,
            severity: severity.into(),
            firing,
            resolved,
        }
    }

    #[test]
    fn a_flush_sends_news_and_repeats_only_when_due() {
        let first = plan(&[member(1, "warning", true, false)], &[], false, true);
        assert_eq!(first.firing, [1]);
        assert_eq!(first.notified, ["1:warning"]);

        let unchanged = plan(
            &[member(1, "warning", true, false)],
            &first.notified,
            false,
            true,
        );
        assert!(unchanged.firing.is_empty(), "nothing new, repeat not due");
        assert_eq!(unchanged.notified, ["1:warning"]);

        let repeat = plan(
            &[member(1, "warning", true, false)],
            &first.notified,
            true,
            true,
        );
        assert_eq!(repeat.firing, [1]);

        let escalated = plan(
            &[member(1, "critical", true, false)],
            &first.notified,
            false,
            true,
        );
        assert_eq!(escalated.firing, [1], "a severity change is news");

        let joined = plan(
            &[
                member(1, "warning", true, false),
                member(2, "warning", true, false),
            ],
            &first.notified,
            false,
            true,
        );
        assert_eq!(joined.firing, [1, 2], "the message carries the whole group");
    }

    #[test]
    fn resolutions_go_to_channels_that_want_them_and_unreported_ones_are_dropped() {
        let notified = vec!["1:warning".to_owned()];
        let members = [
            member(1, "warning", false, true),
            member(2, "warning", false, true),
        ];
        let sent = plan(&members, &notified, false, true);
        assert_eq!(sent.resolved, [1], "alert 2 was never reported firing");
        assert!(sent.firing.is_empty());
        assert!(sent.notified.is_empty());

        let quiet = plan(&members, &notified, false, false);
        assert!(quiet.resolved.is_empty() && quiet.firing.is_empty());
        assert!(quiet.notified.is_empty());
    }

    #[test]
    fn muted_alerts_are_left_out_and_their_return_is_not_news() {
        let notified = vec!["1:warning".to_owned()];
        let muted = plan(&[member(1, "warning", false, false)], &notified, true, true);
        assert!(
            muted.firing.is_empty(),
            "a silenced group sends nothing, not even a repeat"
        );
        assert_eq!(muted.notified, notified);
        let back = plan(
            &[member(1, "warning", true, false)],
            &muted.notified,
            false,
            true,
        );
        assert!(back.firing.is_empty());
    }
}
