//! On-call: schedules (who is on call when) and escalation policies (who is paged about an
//! incident, in which order). Incidents ask this area whom to page; it owns `schedules`,
//! `schedule_participants`, `schedule_overrides`, `escalation_policies`, `escalation_levels`
//! and `escalation_targets`.

pub mod policies;
pub mod schedules;

use axum::Router;
use vigil_shared::incident::TargetKind;

use crate::references::{Names, Referrer};
use crate::state::AppState;

/// Escalation policies page users, teams, schedules and channels; schedules rotate users.
pub const REFERRERS: &[Referrer] = &[
    Referrer {
        table: "users",
        what: "schedules",
        names: |db, user| {
            Box::pin(async move {
                sqlx::query_scalar!(
                    "SELECT s.name FROM schedules s
                     WHERE EXISTS (SELECT 1 FROM schedule_participants p
                                   WHERE p.schedule_id = s.id AND p.user_id = $1)
                     ORDER BY lower(s.name)",
                    user
                )
                .fetch_all(&db)
                .await
            })
        },
    },
    policies_paging("users", |db, id| {
        Box::pin(policies::paging(db, TargetKind::User, id))
    }),
    policies_paging("teams", |db, id| {
        Box::pin(policies::paging(db, TargetKind::Team, id))
    }),
    policies_paging("schedules", |db, id| {
        Box::pin(policies::paging(db, TargetKind::Schedule, id))
    }),
    policies_paging("notification_channels", |db, id| {
        Box::pin(policies::paging(db, TargetKind::Channel, id))
    }),
];

const fn policies_paging(table: &'static str, names: Names) -> Referrer {
    Referrer {
        table,
        what: "escalation policies",
        names,
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(policies::routes())
        .merge(schedules::routes())
}
