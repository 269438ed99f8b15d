//! Sign-in rate limiting: failed attempts are counted per account and per client address in
//! a sliding window; past the limit, sign-in answers 429 until the oldest failure ages out.
//!
//! In memory, per process: a restart forgets, which costs an attacker a restart of someone
//! else's server. Behind a reverse proxy every client shares the proxy's address, so the
//! per-address limit is set well above the per-account one.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sign-ins one account may have within [`WINDOW`].
pub const PER_ACCOUNT: usize = 5;
/// Failed sign-ins one client address may have within [`WINDOW`].
pub const PER_ADDRESS: usize = 20;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys kept at most; past this the oldest windows are dropped (a flood of made-up emails
/// must not grow memory without bound).
const MAX_KEYS: usize = 100_000;

#[derive(Default)]
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl SignInLimiter {
    /// `Some(wait)` when `account` or `address` has failed too often lately.
    pub fn check(&self, account: &str, address: &str, now: Instant) -> Option<Duration> {
        let mut failures = self.failures.lock().expect("limiter");
        [
            (account_key(account), PER_ACCOUNT),
            (address_key(address), PER_ADDRESS),
        ]
        .into_iter()
        .filter_map(|(key, limit)| {
            let times = failures.get_mut(&key)?;
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= WINDOW)
            {
                times.pop_front();
            }
            (times.len() >= limit).then(|| WINDOW - now.duration_since(times[0]))
        })
        .max()
    }

    pub fn failed(&self, account: &str, address: &str, now: Instant) {
        let mut failures = self.failures.lock().expect("limiter");
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < WINDOW)
            });
        }
        for key in [account_key(account), address_key(address)] {
            failures.entry(key).or_default().push_back(now);
        }
    }

    /// A successful sign-in clears the account's failures (not the address's).
    pub fn succeeded(&self, account: &str) {
        self.failures
            .lock()
            .expect("limiter")
            .remove(&account_key(account));
    }
}

fn account_key(account: &str) -> String {
    format!("account:{}", account.to_lowercase())
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_held_after_five_failures_until_the_window_passes() {
        let limiter = SignInLimiter::default();
        let t0 = Instant::now();
        for i in 0..PER_ACCOUNT {
            assert_eq!(
                limiter.check("Kim@example.com", "10.0.0.1", t0),
                None,
                "try {i}"
            );
            limiter.failed("kim@example.com", "10.0.0.1", t0);
        }
        let wait = limiter.check("KIM@example.com", "10.0.0.2", t0).unwrap();
        assert_eq!(wait, WINDOW, "held whatever the address or case");
        assert_eq!(limiter.check("ann@example.com", "10.0.0.2", t0), None);
        assert_eq!(
            limiter.check("kim@example.com", "10.0.0.1", t0 + WINDOW),
            None
        );

        limiter.succeeded("kim@example.com");
        assert_eq!(limiter.check("kim@example.com", "10.0.0.3", t0), None);
    }

    #[test]
    fn one_address_trying_many_accounts_is_held_too() {
        let limiter = SignInLimiter::default();
        let t0 = Instant::now();
        for i in 0..PER_ADDRESS {
            limiter.failed(&format!("user{i}@example.com"), "10.0.0.9", t0);
        }
        assert!(limiter.check("new@example.com", "10.0.0.9", t0).is_some());
        assert!(limiter.check("new@example.com", "10.0.0.8", t0).is_none());
    }
}
