//! Demo mode: one user per role with a known password, so a newcomer can log in as each, a
//! synthetic workload (see [`workload`]) so every page has live data to show, and a team,
//! on-call schedule, escalation policy and alert rules (see [`seed`]) so that the workload's
//! trouble opens incidents that page people.

pub mod seed;
pub mod workload;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use vigil_shared::Role;
use vigil_shared::admin::CreateUserRequest;

use crate::auth::token::random_bytes;
use crate::users::{self, NewUser};

pub const DEMO_USERS: [(&str, &str, Role); 4] = [
    ("admin@vigil.local", "Ada Admin", Role::Admin),
    ("editor@vigil.local", "Eddie Editor", Role::Editor),
    ("responder@vigil.local", "Rosa Responder", Role::Responder),
    ("viewer@vigil.local", "Vic Viewer", Role::Viewer),
];

/// Each demo role's home dashboard (a built-in's uid), set when the role has none: what a
/// viewer or editor watches (their services), what a responder needs (incidents and who is
/// on call), and Vigil's own health for the admin.
pub const DEMO_HOMES: [(Role, &str); 4] = [
    (Role::Viewer, "service-health"),
    (Role::Responder, "on-call"),
    (Role::Editor, "service-health"),
    (Role::Admin, "platform-overview"),
];

/// A password people can type: 16 characters from 96 random bits.
pub fn random_password() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<12>())
}

/// Creates the demo users, or resets them to `password` if they exist, so that the password
/// printed at start-up is always the one that works.
pub async fn seed_users(pool: &sqlx::PgPool, password: &str) -> anyhow::Result<()> {
    for (email, display_name, role) in DEMO_USERS {
        let user = NewUser::parse(&CreateUserRequest {
            email: email.to_owned(),
            display_name: display_name.to_owned(),
            password: password.to_owned(),
            role,
        })
        .map_err(|e| anyhow::anyhow!("demo user {email}: {e}"))?;
        users::upsert_with_password(pool, &user).await?;
    }
    Ok(())
}
