//! Failed logins, counted per account and client (`login_attempts`): the lockouts they start,
//! and forgetting them.

/// Locks `client` out of `email` when it has counted at least `failures` attempts and is not
/// locked out already; true when this call started the lockout.
pub(super) async fn lock_out(
    conn: &mut sqlx::PgConnection,
    email: &str,
    client: &str,
    failures: i32,
    lockout: &crate::config::LockoutPolicy,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        r#"UPDATE login_attempts
           SET failures = 0, locked_until = now() + make_interval(secs => $4)
           WHERE email = $1 AND client = $2 AND failures >= $3
             AND (locked_until IS NULL OR locked_until <= now())
           RETURNING true AS "locked!""#,
        email,
        client,
        failures,
        lockout.duration.as_secs_f64()
    )
    .fetch_optional(conn)
    .await?
    .is_some())
}

/// The key an address is limited and locked out by: itself, or for IPv6 its /64 — one
/// host's usual share, so rotating through it gains nothing.
pub(super) fn limits_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        _ => ip.to_owned(),
    }
}

/// Forgets the failed logins of `email` from every address (its password was just reset).
pub async fn forget_failed_logins(
    conn: &mut sqlx::PgConnection,
    email: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM login_attempts WHERE email = lower($1)", email)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets what no longer matters: failures nobody has repeated for a day (their lockout
/// over) from addresses that have not logged into the account for 90 days.
pub async fn prune_failed_logins(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "DELETE FROM login_attempts
         WHERE updated_at < now() - interval '1 day'
           AND (locked_until IS NULL OR locked_until < now())
           AND (last_success_at IS NULL OR last_success_at < now() - interval '90 days')"
    )
    .execute(pool)
    .await?
    .rows_affected())
}
