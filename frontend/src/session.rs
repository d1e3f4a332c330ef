//! Who is logged in, shared with every page through context.

use leptos::prelude::*;
use vigil_shared::Role;
use vigil_shared::auth::User;

#[derive(Clone, Copy)]
pub struct Session {
    /// The logged-in user; `None` when logged out.
    pub user: RwSignal<Option<User>>,
    /// Whether the first "who am I" check has finished (until then nothing is shown).
    pub checked: RwSignal<bool>,
}

impl Session {
    pub fn new() -> Self {
        Session {
            user: RwSignal::new(None),
            checked: RwSignal::new(false),
        }
    }

    /// Whether the logged-in user has at least `role`; `false` when logged out.
    pub fn can(&self, role: Role) -> bool {
        self.user
            .with(|user| user.as_ref().is_some_and(|u| u.role.includes(role)))
    }
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// A safe place to return to after logging in: a path on this site, never another origin.
pub fn safe_next(next: Option<String>) -> String {
    match next {
        Some(path)
            if path.starts_with('/') && !path.starts_with("//") && !path.starts_with("/login") =>
        {
            path
        }
        _ => "/".to_owned(),
    }
}
