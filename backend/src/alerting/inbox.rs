//! News of firing alerts for the areas that react to them. An alert that starts firing, or
//! changes severity while firing, is posted once per [`Reader`] in the transaction that made
//! the change; each reader takes its news in the transaction that acts on it (`take`), so a
//! crash in between loses nothing and two replicas never act on the same news.

use sqlx::PgConnection;

/// An area that reacts to firing alerts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// Places alerts into notification groups.
    Notify,
    /// Opens incidents, or adds alerts to open ones.
    Incidents,
}

impl Reader {
    const ALL: [Reader; 2] = [Reader::Notify, Reader::Incidents];

    fn as_str(self) -> &'static str {
        match self {
            Reader::Notify => "notify",
            Reader::Incidents => "incidents",
        }
    }
}

/// Tells every reader about alert `alert_id` (once however often it is told before they look).
pub(super) async fn post(conn: &mut PgConnection, alert_id: i64) -> Result<(), sqlx::Error> {
    let readers = Reader::ALL.map(Reader::as_str);
    sqlx::query!(
        "INSERT INTO alert_inbox (reader, alert_id) SELECT unnest($1::text[]), $2
         ON CONFLICT DO NOTHING",
        &readers as &[&str],
        alert_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes up to `limit` of `reader`'s news, oldest alerts first: the alert ids, gone from the
/// inbox when the caller's transaction commits. News another transaction is taking is skipped.
pub async fn take(
    conn: &mut PgConnection,
    reader: Reader,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut ids = sqlx::query_scalar!(
        "DELETE FROM alert_inbox
         WHERE reader = $1 AND alert_id IN (
             SELECT alert_id FROM alert_inbox WHERE reader = $1
             ORDER BY alert_id LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING alert_id",
        reader.as_str(),
        limit
    )
    .fetch_all(conn)
    .await?;
    ids.sort_unstable();
    Ok(ids)
}
