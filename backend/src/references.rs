//! References between areas. Each area owns its tables; a row that names a row of another
//! area does so through a foreign key, so the database keeps the reference true:
//!
//! - a write naming an id that does not exist fails, and the writing area answers 422 on the
//!   field that named it (`OnConstraint::on_constraint` with the key's name);
//! - deleting a row that is still named fails (`ON DELETE RESTRICT`), and [`refuse_delete`]
//!   answers 409 naming who still refers to it.
//!
//! To name them, the referring areas describe their references as [`Referrer`]s, which the
//! router registers at start-up: the area being deleted from never imports the areas that
//! point at it.
//!
//! So that a form can be told every problem at once, [`missing`] answers before a write what
//! a foreign key would refuse; the key still decides for a row deleted in between.

use std::sync::OnceLock;

use futures::future::BoxFuture;
use sqlx::{PgConnection, PgPool};

use crate::error::{AppError, AppResult};

/// Looks up the names of those referring to one row.
pub type Names = fn(PgPool, i64) -> BoxFuture<'static, Result<Vec<String>, sqlx::Error>>;

/// One kind of reference to the rows of `table`, described by the area that holds it.
pub struct Referrer {
    /// The table referred to.
    pub table: Table,
    /// Who refers, plural, e.g. `alert rules`.
    pub what: &'static str,
    /// The names of those referring to one row, in the order a person would look for them.
    pub names: Names,
}

/// A [`Referrer`] of the rows of [`Table`]`::$table`: the names `$sql` selects, given the
/// referred row's id as `$1`.
#[macro_export]
macro_rules! referrer {
    ($table:ident, $what:literal, $sql:literal) => {
        $crate::references::Referrer {
            table: $crate::references::Table::$table,
            what: $what,
            names: |db, id| {
                Box::pin(async move { sqlx::query_scalar!($sql, id).fetch_all(&db).await })
            },
        }
    };
}

static REFERRERS: OnceLock<Vec<&'static Referrer>> = OnceLock::new();

/// Makes every area's referrers known; the first call wins (they are the same every time).
pub fn register(areas: &[&'static [Referrer]]) {
    REFERRERS.get_or_init(|| areas.iter().flat_map(|area| area.iter()).collect());
}

/// A table other areas refer to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Users,
    Teams,
    Schedules,
    NotificationChannels,
    EscalationPolicies,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Teams => "teams",
            Table::Schedules => "schedules",
            Table::NotificationChannels => "notification_channels",
            Table::EscalationPolicies => "escalation_policies",
        }
    }

    /// One row, as a person calls it.
    fn noun(self) -> &'static str {
        match self {
            Table::Users => "user",
            Table::Teams => "team",
            Table::Schedules => "schedule",
            Table::NotificationChannels => "channel",
            Table::EscalationPolicies => "escalation policy",
        }
    }
}

/// The most ids one field of a request may name (a team's members, a rule's channels…).
pub const MAX_IDS: usize = 500;

/// The ids of `ids` that name no row of `table`, sorted and each once: what a foreign key to
/// it would refuse.
pub async fn missing(
    conn: &mut PgConnection,
    table: Table,
    ids: &[i64],
) -> Result<Vec<i64>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT wanted FROM unnest($1::bigint[]) AS wanted
         WHERE NOT EXISTS (SELECT 1 FROM {} t WHERE t.id = wanted)
         GROUP BY wanted ORDER BY wanted",
        table.name()
    );
    sqlx::query_scalar(&sql).bind(ids).fetch_all(conn).await
}

/// Whether `error` is a foreign key refusing a write or a delete.
pub fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|db| db.is_foreign_key_violation())
}

/// The result of deleting row `id` of `table`, with a refusal by a foreign key answered 409
/// naming who still refers to the row.
pub async fn refuse_delete<T>(
    result: Result<T, sqlx::Error>,
    db: &PgPool,
    table: Table,
    id: i64,
) -> AppResult<T> {
    match result {
        Err(error) if is_foreign_key_violation(&error) => {
            Err(still_referenced(db, table, id).await?)
        }
        result => Ok(result?),
    }
}

/// The 409 for deleting a row that is still referred to.
async fn still_referenced(db: &PgPool, table: Table, id: i64) -> AppResult<AppError> {
    let mut users = Vec::new();
    for referrer in REFERRERS.get().into_iter().flatten() {
        if referrer.table == table {
            let names = (referrer.names)(db.clone(), id).await?;
            if !names.is_empty() {
                users.push(format!("{} ({})", referrer.what, first_names(&names)));
            }
        }
    }
    let noun = table.noun();
    Ok(AppError::conflict(if users.is_empty() {
        format!("This {noun} is still in use; remove it from what uses it first.")
    } else {
        format!(
            "This {noun} is still used by {}; remove it from them first.",
            and_list(&users)
        )
    }))
}

/// The first few of `names`, and how many more there are: a message stays readable however
/// many rules page a channel.
fn first_names(names: &[String]) -> String {
    const SHOWN: usize = 10;
    match names.len().checked_sub(SHOWN) {
        Some(more) if more > 0 => format!("{} and {more} more", names[..SHOWN].join(", ")),
        _ => names.join(", "),
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_a_sentence() {
        let items = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(and_list(&items(&["alert rules (A)"])), "alert rules (A)");
        assert_eq!(and_list(&items(&["a", "b"])), "a and b");
        assert_eq!(and_list(&items(&["a", "b", "c"])), "a, b and c");
        let many: Vec<String> = (1..=12).map(|i| format!("r{i}")).collect();
        assert_eq!(
            first_names(&many),
            "r1, r2, r3, r4, r5, r6, r7, r8, r9, r10 and 2 more"
        );
        assert_eq!(first_names(&many[..10]), many[..10].join(", "));
    }
}
