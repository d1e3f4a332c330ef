//! Login attempt limits, kept in memory: per client address a limit (past it, 429), per
//! account a slowdown (past its limit, each attempt waits a second more, up to five) — never a
//! refusal, which anyone could trigger to keep a person out of their own account. A login
//! that succeeds gives its attempt back, so the limits slow down guessing, not a team behind
//! one address logging in at the start of the day.
//!
//! The durable defence is the lockout of one address from one account, stored in the
//! database (see `auth::login`), which every replica sees.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub attempts: u32,
    pub per: Duration,
}

#[derive(Debug)]
pub struct LoginLimiter {
    per_ip: Limit,
    per_account: Limit,
    windows: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    attempts: u32,
}

/// Drop expired windows once the map holds this many, so a flood of addresses cannot grow it
/// without bound.
const PRUNE_AT: usize = 10_000;

impl LoginLimiter {
    pub fn new(per_ip: Limit, per_account: Limit) -> Self {
        LoginLimiter {
            per_ip,
            per_account,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `ip` on `account`: `Err(retry_after)` when the address is over
    /// its limit, else how long the attempt should wait (the account's slowdown).
    pub fn attempt(&self, ip: Option<&str>, account: &str) -> Result<Duration, Duration> {
        self.attempt_at(Instant::now(), ip, account)
    }

    /// Gives back the attempt of a login that succeeded.
    pub fn succeeded(&self, ip: Option<&str>, account: &str) {
        let mut windows = self.windows.lock().expect("limiter lock poisoned");
        for key in Self::keys(ip, account) {
            if let Some(window) = windows.get_mut(&key) {
                window.attempts = window.attempts.saturating_sub(1);
            }
        }
    }

    fn keys(ip: Option<&str>, account: &str) -> impl Iterator<Item = String> {
        std::iter::once(format!("account:{}", account.to_lowercase()))
            .chain(ip.map(|ip| format!("ip:{ip}")))
    }

    fn attempt_at(
        &self,
        now: Instant,
        ip: Option<&str>,
        account: &str,
    ) -> Result<Duration, Duration> {
        let mut windows = self.windows.lock().expect("limiter lock poisoned");
        if windows.len() >= PRUNE_AT {
            let longest = self.per_ip.per.max(self.per_account.per);
            windows.retain(|_, w| now.duration_since(w.started) < longest);
        }
        let mut count = |key: String, limit: Limit| {
            let window = windows.entry(key).or_insert(Window {
                started: now,
                attempts: 0,
            });
            if now.duration_since(window.started) >= limit.per {
                *window = Window {
                    started: now,
                    attempts: 0,
                };
            }
            window.attempts += 1;
            (
                window.attempts.saturating_sub(limit.attempts),
                limit.per.saturating_sub(now.duration_since(window.started)),
            )
        };
        let mut keys = Self::keys(ip, account);
        let account_key = keys.next().expect("the account's key comes first");
        let (over_account, _) = count(account_key, self.per_account);
        if let Some(ip_key) = keys.next() {
            let (over_ip, wait) = count(ip_key, self.per_ip);
            if over_ip > 0 {
                return Err(wait.max(Duration::from_secs(1)));
            }
        }
        Ok(Duration::from_secs(u64::from(
            over_account.min(MAX_SLOWDOWN_SECONDS),
        )))
    }
}

/// The longest an attempt at a much-guessed account waits.
const MAX_SLOWDOWN_SECONDS: u32 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> LoginLimiter {
        LoginLimiter::new(
            Limit {
                attempts: 3,
                per: Duration::from_secs(60),
            },
            Limit {
                attempts: 2,
                per: Duration::from_secs(30),
            },
        )
    }

    #[test]
    fn an_account_guessed_from_everywhere_is_slowed_down_never_refused() {
        let limiter = limiter();
        let now = Instant::now();
        let delay = |address: &str| limiter.attempt_at(now, Some(address), "a@x").unwrap();
        assert_eq!(delay("10.0.0.1"), Duration::ZERO);
        assert_eq!(delay("10.0.0.2"), Duration::ZERO);
        assert_eq!(delay("10.0.0.3"), Duration::from_secs(1));
        assert_eq!(delay("10.0.0.4"), Duration::from_secs(2));
        for n in 5..20 {
            assert!(delay(&format!("10.0.0.{n}")) <= Duration::from_secs(5));
        }
        // Other accounts are not slowed.
        assert_eq!(
            limiter.attempt_at(now, Some("10.0.1.1"), "b@x").unwrap(),
            Duration::ZERO
        );
        let later = now + Duration::from_secs(31);
        assert_eq!(
            limiter.attempt_at(later, Some("10.0.2.1"), "A@x").unwrap(),
            Duration::ZERO
        );
    }

    #[test]
    fn an_address_is_limited_across_accounts_and_the_window_resets() {
        let limiter = limiter();
        let now = Instant::now();
        for account in ["a", "b", "c"] {
            assert!(limiter.attempt_at(now, Some("10.0.0.1"), account).is_ok());
        }
        assert!(limiter.attempt_at(now, Some("10.0.0.1"), "d").is_err());
        assert!(limiter.attempt_at(now, Some("10.0.0.2"), "e").is_ok());
        let later = now + Duration::from_secs(61);
        assert!(limiter.attempt_at(later, Some("10.0.0.1"), "f").is_ok());
    }

    #[test]
    fn logins_that_succeed_do_not_count() {
        let limiter = limiter();
        let now = Instant::now();
        for account in ["a", "b", "c", "d", "e", "a", "a"] {
            assert!(limiter.attempt_at(now, Some("10.0.0.1"), account).is_ok());
            limiter.succeeded(Some("10.0.0.1"), account);
        }
        // Failures still count: three from the address, whoever they try.
        for account in ["f", "g", "h"] {
            assert!(limiter.attempt_at(now, Some("10.0.0.1"), account).is_ok());
        }
        assert!(limiter.attempt_at(now, Some("10.0.0.1"), "i").is_err());
    }
}
