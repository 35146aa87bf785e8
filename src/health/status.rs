//! The one-word status of a connection: its stored status, with `active`
//! split into `healthy` and `degraded` by what the figures show.

use chrono::{DateTime, Utc};

use super::report::HealthStatus;
use super::rows::ConnectionRows;
use crate::domain::status::ConnectionStatus;

/// docs/contract/health.md: `degraded` means active but with dead jobs, unmapped postings,
/// Lever errors in the last hour, throttled now, or sweeps failing.
pub fn status(c: Option<&ConnectionRows>, now: DateTime<Utc>) -> HealthStatus {
    let Some(c) = c else {
        return HealthStatus::NotConnected;
    };
    match c.status {
        ConnectionStatus::Pending => HealthStatus::Pending,
        ConnectionStatus::NeedsReauth => HealthStatus::NeedsReauth,
        ConnectionStatus::NeedsSetup => HealthStatus::NeedsSetup,
        ConnectionStatus::Disconnected => HealthStatus::Disconnected,
        ConnectionStatus::Active if degraded(c, now) => HealthStatus::Degraded,
        ConnectionStatus::Active => HealthStatus::Healthy,
    }
}

fn degraded(c: &ConnectionRows, now: DateTime<Utc>) -> bool {
    c.queue.dead() > 0
        || !c.unmapped.is_empty()
        || c.lever_errors_last_hour > 0
        || throttled(c, now)
        || c.sweep.failing_since.is_some()
}

/// Lever's rate limit holds the account back right now.
pub fn throttled(c: &ConnectionRows, now: DateTime<Utc>) -> bool {
    c.record.throttled_until.is_some_and(|t| t > now)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::health::report::UnmappedPosting;
    use crate::health::tests::active;

    #[test]
    fn never_connected_is_not_connected() {
        assert_eq!(status(None, Utc::now()), HealthStatus::NotConnected);
    }

    #[test]
    fn stored_statuses_pass_through() {
        let now = Utc::now();
        for (stored, want) in [
            (ConnectionStatus::Pending, HealthStatus::Pending),
            (ConnectionStatus::NeedsReauth, HealthStatus::NeedsReauth),
            (ConnectionStatus::NeedsSetup, HealthStatus::NeedsSetup),
            (ConnectionStatus::Disconnected, HealthStatus::Disconnected),
        ] {
            let mut c = active(now);
            // Figures that would degrade an active connection change nothing here.
            c.queue.dead_events = 3;
            c.status = stored;
            assert_eq!(status(Some(&c), now), want, "{stored}");
        }
    }

    #[test]
    fn active_without_trouble_is_healthy() {
        let now = Utc::now();
        assert_eq!(status(Some(&active(now)), now), HealthStatus::Healthy);
    }

    #[test]
    fn each_kind_of_trouble_degrades() {
        let now = Utc::now();
        let cases: [fn(&mut ConnectionRows, DateTime<Utc>); 5] = [
            |c, _| c.queue.dead_events = 1,
            |c, _| c.queue.dead_jobs = 1,
            |c, _| c.lever_errors_last_hour = 2,
            |c, now| c.record.throttled_until = Some(now + Duration::seconds(5)),
            |c, _| {
                c.unmapped.push(UnmappedPosting {
                    posting_id: "p1".into(),
                    title: None,
                    rule: crate::domain::status::Rule::Any,
                })
            },
        ];
        for (n, make) in cases.iter().enumerate() {
            let mut c = active(now);
            make(&mut c, now);
            assert_eq!(status(Some(&c), now), HealthStatus::Degraded, "case {n}");
        }
    }

    #[test]
    fn a_past_throttle_does_not_degrade() {
        let now = Utc::now();
        let mut c = active(now);
        c.record.throttled_until = Some(now - Duration::seconds(1));
        assert_eq!(status(Some(&c), now), HealthStatus::Healthy);
    }
}
