//! When to ask WeChat for a target: pure functions of the API state and
//! the time, so that the rules can be tested without a poller.
//!
//! * A period is first asked for at `release_hour` Beijing on the day
//!   after it ends; before that, only an empty slot is worth a call.
//! * "Not ready" is asked again after 15, 30, then every 60 minutes.
//! * An API in a failure backoff (`policy.rs`) is asked nothing until it
//!   ends.
//! * Data WeChat marks as not final (`is_delay`) is asked again every
//!   `PROVISIONAL_RECHECK` until it is.

use crate::collectors::Target;
use crate::dates::{beijing_date, beijing_midnight, Period};
use crate::state::ApiState;
use chrono::{DateTime, Datelike, Duration, Utc};

/// How long provisional data (`is_delay`) is kept before asking again.
pub const PROVISIONAL_RECHECK: chrono::Duration = chrono::Duration::hours(1);

/// Delays between "not ready" answers for the same period.
pub const NOT_READY_DELAYS_MIN: [i64; 3] = [15, 30, 60];

/// After a "not ready": ask again after 15, 30, then every 60 minutes, and
/// never before the period's usual release time.
pub fn schedule_retry(s: &mut ApiState, target: &Target, now: DateTime<Utc>, release_hour: f64) {
    let attempts = s.retry_at.get(target).map(|(_, n)| *n).unwrap_or(0);
    let delay = NOT_READY_DELAYS_MIN[(attempts as usize).min(NOT_READY_DELAYS_MIN.len() - 1)];
    let next = now + Duration::minutes(delay);
    let next = if live(target, now) {
        next
    } else {
        next.max(release_time(target, release_hour))
    };
    s.retry_at.insert(*target, (next, attempts + 1));
}

/// Whether the API is in a failure backoff at `now`.
pub fn backing_off(s: &ApiState, now: DateTime<Utc>) -> bool {
    s.backoff.as_ref().is_some_and(|b| now < b.until)
}

/// Whether `t` should be asked for at `now`.
pub fn due(s: &ApiState, t: &Target, now: DateTime<Utc>, release_hour: f64) -> bool {
    if backing_off(s, now) {
        return false;
    }
    if s.has(t) {
        // Final data never again; data that may still change when due.
        return s.provisional_until(t).is_some_and(|at| now >= at);
    }
    if let Some((at, _)) = s.retry_at.get(t) {
        return now >= *at;
    }
    // Before the release hour, only an API with nothing to show is worth
    // a call (a first start: it may still answer for a period released
    // earlier). A slot that is new while others are shown (a new publish
    // date of the article totals) waits like the rest. A period not over
    // yet (today's quota) is read as it is, at once.
    now >= release_time(t, release_hour) || s.results.is_empty() || live(t, now)
}

/// Whether `t` is a period not over yet (today's quota), read as it is
/// rather than released the day after.
fn live(t: &Target, now: DateTime<Utc>) -> bool {
    t.data_period.end >= beijing_date(now)
}

/// When WeChat normally releases `t`'s data: `release_hour` Beijing on the
/// day after the period ends.
pub fn release_time(t: &Target, release_hour: f64) -> DateTime<Utc> {
    beijing_midnight(t.data_period.end + Duration::days(1))
        + Duration::seconds((release_hour * 3600.0) as i64)
}

/// An instant whose latest complete period is the one before `now`'s.
pub fn previous_period_instant(now: DateTime<Utc>, period: Period) -> DateTime<Utc> {
    match period {
        Period::Daily => now - Duration::days(1),
        Period::Weekly => now - Duration::days(7),
        Period::Monthly => {
            let today = beijing_date(now);
            let first = today.with_day(1).unwrap_or(today);
            beijing_midnight(first) - Duration::days(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::DateRange;
    use crate::state::{Backoff, Fetched};
    use chrono::NaiveDate;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("instant")
    }

    fn day(s: &str) -> Target {
        let d: NaiveDate = s.parse().expect("date");
        Target {
            slot: 0,
            range: DateRange::day(d),
            data_period: DateRange::day(d),
        }
    }

    #[test]
    fn release_is_the_release_hour_beijing_after_the_period() {
        // 31 August's data: 10:00 Beijing on 1 September = 02:00 UTC.
        assert_eq!(
            release_time(&day("2025-08-31"), 10.0),
            t("2025-09-01T02:00:00Z")
        );
        assert_eq!(
            release_time(&day("2025-08-31"), 15.5),
            t("2025-09-01T07:30:00Z")
        );
        // A month ends with its last day, across a year and a leap day.
        let feb = DateRange::month_of("2024-02-10".parse().expect("date"));
        let target = Target {
            slot: 0,
            range: feb,
            data_period: feb,
        };
        assert_eq!(release_time(&target, 10.0), t("2024-03-01T02:00:00Z"));
    }

    #[test]
    fn due_waits_for_the_release_unless_the_slot_is_empty() {
        let target = day("2025-08-31");
        let mut s = ApiState::default();
        // Empty slot: worth a call before the release (first start).
        assert!(due(&s, &target, t("2025-09-01T00:30:00Z"), 10.0));
        s.results.push(Fetched {
            target: day("2025-08-30"),
            samples: Default::default(),
        });
        assert!(!due(&s, &target, t("2025-09-01T01:59:59Z"), 10.0));
        assert!(due(&s, &target, t("2025-09-01T02:00:00Z"), 10.0));
        // Fetched data is final: never asked again.
        s.results.push(Fetched {
            target,
            samples: Default::default(),
        });
        assert!(!due(&s, &target, t("2025-09-02T02:00:00Z"), 10.0));
    }

    #[test]
    fn not_ready_is_retried_after_15_30_then_60_minutes() {
        let target = day("2025-08-31");
        let mut s = ApiState::default();
        let mut now = t("2025-09-01T02:00:00Z");
        let mut gaps = Vec::new();
        for _ in 0..5 {
            schedule_retry(&mut s, &target, now, 10.0);
            let (at, _) = s.retry_at[&target];
            assert!(!due(&s, &target, at - Duration::seconds(1), 10.0));
            assert!(due(&s, &target, at, 10.0));
            gaps.push((at - now).num_minutes());
            now = at;
        }
        assert_eq!(gaps, [15, 30, 60, 60, 60]);
        // Never before the usual release time, whatever the attempts.
        let mut early = ApiState::default();
        schedule_retry(&mut early, &target, t("2025-08-31T20:00:00Z"), 10.0);
        assert_eq!(early.retry_at[&target].0, t("2025-09-01T02:00:00Z"));
    }

    #[test]
    fn a_backoff_holds_every_target_of_the_api_until_it_ends() {
        let target = day("2025-08-31");
        let s = ApiState {
            backoff: Some(Backoff {
                until: t("2025-09-01T03:00:00Z"),
                failures: 1,
            }),
            ..ApiState::default()
        };
        assert!(!due(&s, &target, t("2025-09-01T02:59:59Z"), 10.0));
        assert!(due(&s, &target, t("2025-09-01T03:00:00Z"), 10.0));
    }

    #[test]
    fn the_previous_period_is_before_the_latest_one() {
        let now = t("2025-03-01T03:00:00Z");
        for period in [Period::Daily, Period::Weekly, Period::Monthly] {
            let prev = period.latest(previous_period_instant(now, period));
            let latest = period.latest(now);
            assert_eq!(prev.shift(1, period), latest, "{period:?}");
        }
    }
}
