//! When simulated data exists: a day is released at the release hour
//! (Beijing) of the next day, retention keys once their period is, and the
//! newest day's publish numbers settle at `PUBLISH_FINAL_HOUR`. Pure
//! functions of dates, shared by the accessors in `mod.rs` and the server.

use crate::dates::{beijing_midnight, latest_day, DateRange, Period};
use chrono::{DateTime, Duration, NaiveDate, Utc};

/// The Beijing hour at which the newest day's publish numbers
/// (`getbizsummary`) settle: before it they come with `is_delay: true`.
pub const PUBLISH_FINAL_HOUR: f64 = 12.0;

/// Keeps a release hour usable whatever a caller passes (NaN, negative).
pub(super) fn sane_release_hour(h: f64) -> f64 {
    if h.is_finite() {
        h.clamp(0.0, 72.0)
    } else {
        10.0
    }
}

/// Whether `day` is released at `now`: `release_hour` on the next day.
pub(crate) fn released(day: NaiveDate, now: DateTime<Utc>, release_hour: f64) -> bool {
    let at = beijing_midnight(day + Duration::days(1))
        + Duration::milliseconds((release_hour * 3_600_000.0) as i64);
    now >= at
}

/// The newest released day at `now`.
pub(crate) fn last_released(now: DateTime<Utc>, release_hour: f64) -> NaiveDate {
    let mut d = latest_day(now);
    // release_hour ≤ 72 bounds this to four steps.
    while !released(d, now, release_hour) {
        d -= Duration::days(1);
    }
    d
}

/// Keys of `period` whose period has been released for `cohort`.
pub(crate) fn released_keys(cohort: DateRange, period: Period, last: NaiveDate) -> Vec<u32> {
    period
        .retention_offsets()
        .iter()
        .copied()
        .filter(|&k| cohort.shift(k as i32, period).end <= last)
        .collect()
}
