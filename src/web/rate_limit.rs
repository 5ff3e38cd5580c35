//! `rate_limit`: its keys, their validation (Go durations included), and
//! the token bucket that enforces it on requests.

use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::web::error::{invalid, WebConfigError};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRateLimit {
    /// A Go duration string ("1s") or an integer (nanoseconds, as Go's
    /// YAML reads a bare number into `time.Duration`).
    #[serde(default)]
    interval: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    burst: Option<i64>,
}

/// `rate_limit`: a token bucket refilled one token per `interval`, holding
/// at most `burst` (golang.org/x/time/rate semantics, which the toolkit
/// uses: burst 0 refuses everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub interval: Duration,
    pub burst: u32,
}

pub(super) fn build_rate_limit(r: RawRateLimit) -> Result<Option<RateLimit>, WebConfigError> {
    const IV: &str = "rate_limit.interval";
    let interval = match r.interval {
        None | Some(serde_yaml_ng::Value::Null) => Duration::ZERO,
        Some(serde_yaml_ng::Value::Number(n)) => match n.as_u64() {
            Some(ns) => Duration::from_nanos(ns),
            None => return Err(invalid(IV, "must be a non-negative duration")),
        },
        Some(serde_yaml_ng::Value::String(s)) => {
            parse_go_duration(&s).map_err(|why| invalid(IV, format!("{why} (e.g. \"1s\")")))?
        }
        Some(_) => return Err(invalid(IV, "must be a duration such as \"1s\"")),
    };
    let burst = r.burst.unwrap_or(0);
    let burst = u32::try_from(burst)
        .map_err(|_| invalid("rate_limit.burst", "must be between 0 and 4294967295"))?;
    // Interval 0 disables the limiter, as in the toolkit.
    Ok((!interval.is_zero()).then_some(RateLimit { interval, burst }))
}

/// Go's `time.ParseDuration` grammar: `[0-9.]+unit` repeated, units
/// ns, us (µs), ms, s, m, h; a bare "0" is zero. Negative values are
/// refused (a negative interval means nothing for a rate).
pub fn parse_go_duration(s: &str) -> Result<Duration, &'static str> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() || s.starts_with('-') {
        return Err("not a positive duration");
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or("missing unit")?;
        if num_len == 0 {
            return Err("invalid duration");
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| "invalid number")?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err("unknown unit (ns, us, ms, s, m, h)"),
        };
        rest = &rest[unit_len..];
        total += n * secs;
    }
    Duration::try_from_secs_f64(total).map_err(|_| "duration out of range")
}

/// `rate_limit` as golang.org/x/time/rate's `Limiter.Allow`: one token per
/// `interval`, at most `burst` stored, full at start.
pub(super) struct Bucket {
    limit: Option<RateLimit>,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    pub(super) fn new(limit: Option<RateLimit>) -> Self {
        Bucket {
            limit,
            tokens: limit.map(|l| l.burst as f64).unwrap_or(0.0),
            last: Instant::now(),
        }
    }

    pub(super) fn allow(&mut self) -> bool {
        let Some(l) = self.limit else { return true };
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() / l.interval.as_secs_f64();
        self.tokens = (self.tokens + refill).min(l.burst as f64);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_go_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_go_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["", "1", "-1s", "1d", "s"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bucket_follows_x_time_rate() {
        let mut b = Bucket::new(Some(RateLimit {
            interval: Duration::from_secs(3600),
            burst: 2,
        }));
        assert!(b.allow() && b.allow() && !b.allow());
        let mut zero = Bucket::new(Some(RateLimit {
            interval: Duration::from_secs(1),
            burst: 0,
        }));
        assert!(!zero.allow(), "burst 0 refuses everything, as in Go");
        assert!(Bucket::new(None).allow());
    }
}
