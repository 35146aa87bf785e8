//! Repeated errors, logged sparingly. While the database is down, every
//! delivery and every batch fails the same way: logging each would write
//! megabytes a minute. Every occurrence is counted in
//! `arkiter_db_errors_total{site}`; a line is written for the first one of a
//! site and then at most once per [`LOG_EVERY`], saying how many were not.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// At most one line per site in this time.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Per site: when it was last logged, and how many since.
static SITES: LazyLock<Mutex<HashMap<&'static str, (Instant, u64)>>> =
    LazyLock::new(Default::default);

/// Counts one error at `site`; `Some(n)` when it should be logged, `n` being
/// how many at that site were not logged since the last line.
pub fn allow(site: &'static str) -> Option<u64> {
    super::metrics::error(site);
    let Ok(mut sites) = SITES.lock() else {
        return Some(0);
    };
    let now = Instant::now();
    match sites.get_mut(site) {
        Some((last, skipped)) if now.duration_since(*last) < LOG_EVERY => {
            *skipped += 1;
            None
        }
        Some((last, skipped)) => {
            let n = *skipped;
            (*last, *skipped) = (now, 0);
            Some(n)
        }
        None => {
            sites.insert(site, (now, 0));
            Some(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::allow;

    #[test]
    fn one_line_then_counted() {
        assert_eq!(allow("errlog_test"), Some(0));
        for _ in 0..100 {
            assert_eq!(allow("errlog_test"), None);
        }
        assert_eq!(allow("errlog_test_other"), Some(0));
    }
}
