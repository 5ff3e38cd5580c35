//! Calendar arithmetic in Beijing time (UTC+8, no daylight saving).
//!
//! Every WeChat date is a Beijing date, whatever the host's time zone; nothing
//! here reads the local zone, so `TZ` cannot change an answer.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};

/// Beijing's fixed offset. China has not observed daylight saving since 1991.
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The Beijing calendar date at instant `t`.
pub fn beijing_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&beijing()).date_naive()
}

/// Hours since Beijing midnight at `t`, as a fraction (10.5 = 10:30).
pub fn beijing_hour(t: DateTime<Utc>) -> f64 {
    let local = t.with_timezone(&beijing());
    let secs = local.time().signed_duration_since(chrono::NaiveTime::MIN);
    secs.num_seconds() as f64 / 3600.0
}

/// The instant of Beijing midnight at the start of `d`.
pub fn beijing_midnight(d: NaiveDate) -> DateTime<Utc> {
    beijing()
        .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
        .single()
        .expect("a fixed offset maps every local time to one instant")
        .with_timezone(&Utc)
}

/// The next Beijing midnight strictly after `t`.
pub fn next_beijing_midnight(t: DateTime<Utc>) -> DateTime<Utc> {
    beijing_midnight(beijing_date(t) + Duration::days(1))
}

/// The latest complete day at `t`: yesterday in Beijing.
pub fn latest_day(t: DateTime<Utc>) -> NaiveDate {
    beijing_date(t) - Duration::days(1)
}

/// A span of whole Beijing days, both ends included.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct DateRange {
    pub begin: NaiveDate,
    pub end: NaiveDate,
}

impl DateRange {
    pub fn day(d: NaiveDate) -> Self {
        Self { begin: d, end: d }
    }

    /// Number of days in the range, both ends counted.
    pub fn days(&self) -> i64 {
        (self.end - self.begin).num_days() + 1
    }

    /// The natural week (Monday to Sunday) that contains `d`.
    pub fn week_of(d: NaiveDate) -> Self {
        let begin = d - Duration::days(d.weekday().num_days_from_monday() as i64);
        Self {
            begin,
            end: begin + Duration::days(6),
        }
    }

    /// The natural month that contains `d`.
    pub fn month_of(d: NaiveDate) -> Self {
        let begin = d.with_day(1).expect("day 1 exists in every month");
        Self {
            begin,
            end: month_end(begin),
        }
    }

    /// The range as WeChat's Mini Program `begin_date`/`end_date` (`yyyymmdd`).
    pub fn compact(&self) -> (String, String) {
        (compact(self.begin), compact(self.end))
    }

    /// The range as the Official Account `begin_date`/`end_date` (`yyyy-mm-dd`).
    pub fn dashed(&self) -> (String, String) {
        (dashed(self.begin), dashed(self.end))
    }

    pub fn is_natural_week(&self) -> bool {
        self.begin.weekday() == chrono::Weekday::Mon && self.end == self.begin + Duration::days(6)
    }

    pub fn is_natural_month(&self) -> bool {
        self.begin.day() == 1 && self.end == month_end(self.begin)
    }

    /// The range shifted by `n` periods of its own kind: days for a day, weeks
    /// for a week, months for a month. Negative `n` goes back.
    pub fn shift(&self, n: i32, period: Period) -> Self {
        match period {
            Period::Daily => Self::day(self.begin + Duration::days(n as i64)),
            Period::Weekly => Self::week_of(self.begin + Duration::weeks(n as i64)),
            Period::Monthly => Self::month_of(add_months(self.begin, n)),
        }
    }
}

/// The three period kinds WeChat aggregates over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Daily,
    Weekly,
    Monthly,
}

impl Period {
    /// The `period` label value.
    pub fn label(&self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Weekly => "weekly",
            Period::Monthly => "monthly",
        }
    }

    /// The latest complete period at `t`: yesterday, last natural week or
    /// last natural month, all in Beijing time.
    pub fn latest(&self, t: DateTime<Utc>) -> DateRange {
        let today = beijing_date(t);
        match self {
            Period::Daily => DateRange::day(today - Duration::days(1)),
            Period::Weekly => DateRange::week_of(today - Duration::days(7)),
            Period::Monthly => {
                DateRange::month_of(add_months(today.with_day(1).unwrap_or(today), -1))
            }
        }
    }

    /// Retention offsets WeChat reports for cohorts of this period.
    pub fn retention_offsets(&self) -> &'static [u32] {
        match self {
            Period::Daily => &[0, 1, 2, 3, 4, 5, 6, 7, 14, 30],
            Period::Weekly => &[0, 1, 2, 3, 4],
            Period::Monthly => &[0, 1],
        }
    }

    /// The cohort whose key `offset` is the newest complete value at `t`:
    /// day-k retention is the cohort of k+1 days ago.
    pub fn retention_cohort(&self, t: DateTime<Utc>, offset: u32) -> DateRange {
        self.latest(t).shift(-(offset as i32), *self)
    }
}

/// The last day of the month that `d` falls in.
pub fn month_end(d: NaiveDate) -> NaiveDate {
    let first = d.with_day(1).expect("day 1 exists in every month");
    add_months(first, 1) - Duration::days(1)
}

/// `d` moved by `n` calendar months, clamped to the target month's last day.
pub fn add_months(d: NaiveDate, n: i32) -> NaiveDate {
    let total = d.year() * 12 + d.month0() as i32 + n;
    let (y, m0) = (total.div_euclid(12), total.rem_euclid(12) as u32);
    let mut day = d.day();
    loop {
        if let Some(r) = NaiveDate::from_ymd_opt(y, m0 + 1, day) {
            return r;
        }
        day -= 1;
    }
}

/// `yyyymmdd`.
pub fn compact(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// `yyyy-mm-dd`.
pub fn dashed(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Parses `yyyymmdd` strictly (eight digits, a real date).
pub fn parse_compact(s: &str) -> Option<NaiveDate> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y%m%d").ok()
}

/// Parses `yyyy-mm-dd` strictly.
pub fn parse_dashed(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if s.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// The `ref_date` WeChat puts on a Mini Program row for `range` of `period`:
/// `20170313`, `20170306-20170312` or `201702`.
pub fn mp_ref_date(range: &DateRange, period: Period) -> String {
    match period {
        Period::Daily => compact(range.begin),
        Period::Weekly => format!("{}-{}", compact(range.begin), compact(range.end)),
        Period::Monthly => range.begin.format("%Y%m").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn beijing_day_starts_at_16_utc() {
        assert_eq!(beijing_date(utc("2025-01-01T15:59:59Z")), d(2025, 1, 1));
        assert_eq!(beijing_date(utc("2025-01-01T16:00:00Z")), d(2025, 1, 2));
        assert_eq!(beijing_midnight(d(2025, 1, 2)), utc("2025-01-01T16:00:00Z"));
    }

    #[test]
    fn week_crossing_the_year() {
        // 2024-12-30 is a Monday; its week ends in 2025.
        let w = DateRange::week_of(d(2025, 1, 1));
        assert_eq!(w.begin, d(2024, 12, 30));
        assert_eq!(w.end, d(2025, 1, 5));
        assert!(w.is_natural_week());
        // On Monday 2025-01-06 (Beijing) the last complete week is that one.
        assert_eq!(Period::Weekly.latest(utc("2025-01-06T02:00:00Z")), w);
        // Still Sunday in Beijing one second before midnight: the week before.
        assert_eq!(
            Period::Weekly.latest(utc("2025-01-05T15:59:59Z")).begin,
            d(2024, 12, 23)
        );
    }

    #[test]
    fn months_and_leap_days() {
        assert_eq!(month_end(d(2024, 2, 10)), d(2024, 2, 29));
        assert_eq!(month_end(d(2023, 2, 10)), d(2023, 2, 28));
        assert_eq!(add_months(d(2024, 3, 31), -1), d(2024, 2, 29));
        assert_eq!(add_months(d(2025, 1, 15), -2), d(2024, 11, 15));
        let m = Period::Monthly.latest(utc("2024-03-01T01:00:00Z"));
        assert_eq!((m.begin, m.end), (d(2024, 2, 1), d(2024, 2, 29)));
        assert!(m.is_natural_month());
        assert_eq!(mp_ref_date(&m, Period::Monthly), "202402");
        // Leap day is yesterday on 1 March.
        assert_eq!(latest_day(utc("2024-03-01T00:00:00Z")), d(2024, 2, 29));
        // January's previous month is last year's December.
        let m = Period::Monthly.latest(utc("2025-01-10T00:00:00Z"));
        assert_eq!((m.begin, m.end), (d(2024, 12, 1), d(2024, 12, 31)));
    }

    #[test]
    fn retention_cohorts() {
        let t = utc("2025-03-10T04:00:00Z"); // 12:00 Beijing, 10 March
        assert_eq!(Period::Daily.retention_cohort(t, 0).begin, d(2025, 3, 9));
        assert_eq!(Period::Daily.retention_cohort(t, 7).begin, d(2025, 3, 2));
        assert_eq!(Period::Daily.retention_cohort(t, 30).begin, d(2025, 2, 7));
        let w = Period::Weekly.retention_cohort(t, 4);
        assert_eq!((w.begin, w.end), (d(2025, 2, 3), d(2025, 2, 9)));
        let m = Period::Monthly.retention_cohort(t, 1);
        assert_eq!((m.begin, m.end), (d(2025, 1, 1), d(2025, 1, 31)));
    }

    #[test]
    fn strict_parsing() {
        assert_eq!(parse_compact("20240229"), Some(d(2024, 2, 29)));
        assert_eq!(parse_compact("20230229"), None);
        assert_eq!(parse_compact("2024-02-2"), None);
        assert_eq!(parse_compact("+2024022"), None);
        assert_eq!(parse_dashed("2014-12-07"), Some(d(2014, 12, 7)));
        assert_eq!(parse_dashed("20141207"), None);
    }
}
