//! Failed console sign-ins, throttled per client address: a governor keyed
//! limiter counts failures (a burst of [`BURST`], then one per
//! [`REFILL`]); once an address runs out, every sign-in from it, right or
//! wrong, is refused until the limiter lets it through again, so guessing
//! cannot go on and cannot tell a right key from a wrong one meanwhile.
//! The count is per instance: behind a balancer of N instances an address
//! gets about N times the burst, harmless against keys of 256 random bits.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Failures allowed at once from one address.
pub const BURST: u32 = 5;
/// One more failure allowed per this long.
pub const REFILL: Duration = Duration::from_secs(12);

pub struct SignInThrottle {
    failures: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses refused until the given instant.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self::new()
    }
}

impl SignInThrottle {
    pub fn new() -> Self {
        let burst = NonZeroU32::new(BURST).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(REFILL)
            .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
            .allow_burst(burst);
        Self {
            failures: RateLimiter::keyed(quota),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds this address must still wait, if it is blocked.
    pub fn wait(&self, ip: IpAddr) -> Option<u64> {
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match blocked.get(&ip) {
            Some(until) if *until > now => Some((*until - now).as_secs().max(1)),
            Some(_) => {
                blocked.remove(&ip);
                None
            }
            None => None,
        }
    }

    /// Counts a failed sign-in; returns the wait when this one used up the allowance.
    pub fn failed(&self, ip: IpAddr) -> Option<u64> {
        // Forget addresses whose allowance has refilled, so the limiter's
        // map holds only recent failures, not every address that ever failed.
        self.failures.retain_recent();
        self.failures.shrink_to_fit();
        match self.failures.check_key(&ip) {
            Ok(()) => None,
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
                // Keep the map small: forget addresses whose wait is over.
                let now = Instant::now();
                blocked.retain(|_, until| *until > now);
                blocked.insert(ip, now + wait);
                Some(wait.as_secs().max(1))
            }
        }
    }
}
