//! On-call: schedules (who is on call when) and escalation policies (who is paged about an
//! incident, in which order). Incidents ask this area whom to page; it owns `schedules`,
//! `schedule_participants`, `schedule_overrides`, `escalation_policies`, `escalation_levels`
//! and `escalation_targets`.

pub mod policies;
pub mod schedules;

use axum::Router;

use crate::references::Referrer;
use crate::state::AppState;

/// Escalation policies page users, teams, schedules and channels; schedules rotate users.
pub const REFERRERS: &[Referrer] = &[
    crate::referrer!(
        Users,
        "schedules",
        "SELECT s.name FROM schedules s
         WHERE EXISTS (SELECT 1 FROM schedule_participants p
                       WHERE p.schedule_id = s.id AND p.user_id = $1)
         ORDER BY lower(s.name)"
    ),
    crate::referrer!(
        Users,
        "escalation policies",
        "SELECT p.name FROM escalation_policies p
         WHERE EXISTS (SELECT 1 FROM escalation_targets t
                       WHERE t.policy_id = p.id AND t.user_id = $1)
         ORDER BY lower(p.name)"
    ),
    crate::referrer!(
        Teams,
        "escalation policies",
        "SELECT p.name FROM escalation_policies p
         WHERE EXISTS (SELECT 1 FROM escalation_targets t
                       WHERE t.policy_id = p.id AND t.team_id = $1)
         ORDER BY lower(p.name)"
    ),
    crate::referrer!(
        Schedules,
        "escalation policies",
        "SELECT p.name FROM escalation_policies p
         WHERE EXISTS (SELECT 1 FROM escalation_targets t
                       WHERE t.policy_id = p.id AND t.schedule_id = $1)
         ORDER BY lower(p.name)"
    ),
    crate::referrer!(
        NotificationChannels,
        "escalation policies",
        "SELECT p.name FROM escalation_policies p
         WHERE EXISTS (SELECT 1 FROM escalation_targets t
                       WHERE t.policy_id = p.id AND t.channel_id = $1)
         ORDER BY lower(p.name)"
    ),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(policies::routes())
        .merge(schedules::routes())
}
