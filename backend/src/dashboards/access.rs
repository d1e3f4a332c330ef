//! Who sees and who edits a dashboard. A dashboard the caller may not see does not exist for
//! them (404 on every endpoint), so these checks come before anything is told about it.

use sqlx::PgConnection;
use vigil_shared::Role;
use vigil_shared::dashboard::Access;

use crate::auth::{AuthUser, Caller};
use crate::teams;

/// A caller as permissions see them: a role and the teams they belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Who {
    pub role: Role,
    pub teams: Vec<i64>,
}

impl Who {
    /// A logged-in user, with their teams as they are now.
    pub async fn user(conn: &mut PgConnection, user: &AuthUser) -> Result<Who, sqlx::Error> {
        Ok(Who {
            role: user.role,
            teams: teams::of_user(conn, user.id).await?,
        })
    }

    /// A user, or an API key with the read scope: a key belongs to no one, so it reads as a
    /// viewer in no team.
    pub async fn caller(conn: &mut PgConnection, caller: &Caller) -> Result<Who, sqlx::Error> {
        match caller {
            Caller::User(user) => Who::user(conn, user).await,
            Caller::ApiKey(_) => Ok(Who {
                role: Role::Viewer,
                teams: Vec::new(),
            }),
        }
    }

    /// Whether they see a dashboard open to `viewable_by` (admins see every one).
    pub fn sees(&self, viewable_by: &Access) -> bool {
        self.role == Role::Admin || viewable_by.admits(self.role, &self.teams)
    }

    /// Whether they may change a dashboard they see, apart from its being provisioned:
    /// editors listed in `editable_by` (every editor when it is empty), and admins.
    pub fn edits(&self, viewable_by: &Access, editable_by: &Access) -> bool {
        self.sees(viewable_by)
            && self.role.includes(Role::Editor)
            && (self.role == Role::Admin || editable_by.admits(self.role, &self.teams))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: Role, teams: &[i64]) -> Who {
        Who {
            role,
            teams: teams.to_vec(),
        }
    }

    fn access(roles: &[Role], teams: &[i64]) -> Access {
        Access {
            roles: roles.to_vec(),
            teams: teams.to_vec(),
        }
    }

    #[test]
    fn empty_lists_let_every_role_see_and_every_editor_edit() {
        let open = Access::default();
        for role in Role::ALL {
            assert!(who(role, &[]).sees(&open));
            assert_eq!(
                who(role, &[]).edits(&open, &open),
                role.includes(Role::Editor)
            );
        }
    }

    #[test]
    fn roles_and_teams_admit_and_admins_always_pass() {
        let editors_only = access(&[Role::Editor], &[]);
        let team_seven = access(&[], &[7]);
        assert!(!who(Role::Viewer, &[]).sees(&editors_only));
        assert!(who(Role::Viewer, &[7]).sees(&team_seven));
        assert!(!who(Role::Editor, &[3]).sees(&team_seven));
        assert!(who(Role::Admin, &[]).sees(&team_seven));
        // Listed by team, but a viewer never edits.
        assert!(!who(Role::Viewer, &[7]).edits(&Access::default(), &team_seven));
        assert!(who(Role::Editor, &[7]).edits(&Access::default(), &team_seven));
        assert!(!who(Role::Editor, &[8]).edits(&Access::default(), &team_seven));
        assert!(who(Role::Admin, &[]).edits(&Access::default(), &team_seven));
        // Who may not see it may not edit it either.
        assert!(!who(Role::Editor, &[]).edits(&team_seven, &Access::default()));
    }
}
