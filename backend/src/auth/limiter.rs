//! Login attempt limits per client IP and per account, kept in memory. A login that succeeds
//! gives its attempt back, so the limits slow down guessing, not a team behind one address
//! logging in at the start of the day.
//!
//! This slows down guessing from one place; the durable defence is the account lockout
//! stored with the user (see `auth::login`), which every replica sees.

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

    /// Counts an attempt from `ip` on `account`; `Err(retry_after)` when either is over its limit.
    pub fn attempt(&self, ip: Option<&str>, account: &str) -> Result<(), Duration> {
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

    fn attempt_at(&self, now: Instant, ip: Option<&str>, account: &str) -> Result<(), Duration> {
        let mut windows = self.windows.lock().expect("limiter lock poisoned");
        if windows.len() >= PRUNE_AT {
            let longest = self.per_ip.per.max(self.per_account.per);
            windows.retain(|_, w| now.duration_since(w.started) < longest);
        }
        let limits = [self.per_account, self.per_ip];
        let mut retry_after = None;
        for (key, limit) in Self::keys(ip, account).zip(limits) {
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
            if window.attempts > limit.attempts {
                let wait = limit.per.saturating_sub(now.duration_since(window.started));
                retry_after = Some(retry_after.map_or(wait, |w: Duration| w.max(wait)));
            }
        }
        match retry_after {
            Some(wait) => Err(wait.max(Duration::from_secs(1))),
            None => Ok(()),
        }
    }
}

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
    fn an_account_is_limited_whatever_the_address() {
        let limiter = limiter();
        let now = Instant::now();
        assert!(limiter.attempt_at(now, Some("10.0.0.1"), "a@x").is_ok());
        assert!(limiter.attempt_at(now, Some("10.0.0.2"), "A@x").is_ok());
        let wait = limiter
            .attempt_at(now, Some("10.0.0.3"), "a@x")
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(30));
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
