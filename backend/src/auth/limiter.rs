//! Login attempt limits, kept in memory: per client address (30 a minute), and per account
//! for attempts from addresses that have never logged into it (10 a minute) — its owner,
//! from an address they used before, is not held up by someone guessing from elsewhere. A
//! login that succeeds gives its attempt back, so the limits slow down guessing, not a team
//! behind one address logging in at the start of the day.
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

    /// Counts an attempt from the address `client` (`''` when unknown: not limited);
    /// `Err(retry_after)` past its limit.
    pub fn address_attempt(&self, client: &str) -> Result<(), Duration> {
        if client.is_empty() {
            return Ok(());
        }
        self.count(Instant::now(), format!("ip:{client}"), self.per_ip)
    }

    /// Counts an attempt at `account` from an address that never logged into it;
    /// `Err(retry_after)` past its limit.
    pub fn account_attempt(&self, account: &str) -> Result<(), Duration> {
        self.count(
            Instant::now(),
            format!("account:{}", account.to_lowercase()),
            self.per_account,
        )
    }

    /// Gives back the attempts of a login that succeeded.
    pub fn succeeded(&self, client: &str, account: &str) {
        let mut windows = self.windows.lock().expect("limiter lock poisoned");
        for key in [
            format!("ip:{client}"),
            format!("account:{}", account.to_lowercase()),
        ] {
            if let Some(window) = windows.get_mut(&key) {
                window.attempts = window.attempts.saturating_sub(1);
            }
        }
    }

    fn count(&self, now: Instant, key: String, limit: Limit) -> Result<(), Duration> {
        let mut windows = self.windows.lock().expect("limiter lock poisoned");
        if windows.len() >= PRUNE_AT {
            let longest = self.per_ip.per.max(self.per_account.per);
            windows.retain(|_, w| now.duration_since(w.started) < longest);
        }
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
            return Err(wait.max(Duration::from_secs(1)));
        }
        Ok(())
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

    fn address(limiter: &LoginLimiter, now: Instant, client: &str) -> Result<(), Duration> {
        limiter.count(now, format!("ip:{client}"), limiter.per_ip)
    }

    fn account(limiter: &LoginLimiter, now: Instant, name: &str) -> Result<(), Duration> {
        limiter.count(
            now,
            format!("account:{}", name.to_lowercase()),
            limiter.per_account,
        )
    }

    #[test]
    fn an_account_is_limited_whatever_the_address() {
        let limiter = limiter();
        let now = Instant::now();
        assert!(account(&limiter, now, "a@x").is_ok());
        assert!(account(&limiter, now, "A@x").is_ok());
        assert_eq!(account(&limiter, now, "a@x"), Err(Duration::from_secs(30)));
        assert!(account(&limiter, now, "b@x").is_ok());
    }

    #[test]
    fn an_address_is_limited_across_accounts_and_the_window_resets() {
        let limiter = limiter();
        let now = Instant::now();
        for _ in 0..3 {
            assert!(address(&limiter, now, "10.0.0.1").is_ok());
        }
        assert!(address(&limiter, now, "10.0.0.1").is_err());
        assert!(address(&limiter, now, "10.0.0.2").is_ok());
        let later = now + Duration::from_secs(61);
        assert!(address(&limiter, later, "10.0.0.1").is_ok());
        assert!(
            limiter.address_attempt("").is_ok(),
            "an unknown address is not limited"
        );
    }

    #[test]
    fn logins_that_succeed_do_not_count() {
        let limiter = limiter();
        for name in ["a", "b", "c", "d", "e", "a", "a"] {
            assert!(limiter.address_attempt("10.0.0.1").is_ok());
            limiter.succeeded("10.0.0.1", name);
        }
        // Failures still count: three from the address, whoever they try.
        for _ in 0..3 {
            assert!(limiter.address_attempt("10.0.0.1").is_ok());
        }
        assert!(limiter.address_attempt("10.0.0.1").is_err());
    }
}
