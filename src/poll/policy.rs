//! The one failure policy: what a failed call means for the rest of the
//! round and for later rounds. The poller and the backfill both ask
//! [`decide`]; neither has rules of its own.
//!
//! Scope first (see `ErrorClass::scope`): an API-scoped failure (an answer
//! that does not parse, `-1`/5xx/timeouts after the call's own retries,
//! 61500/61501, 48001/61007/61502, unknown errcodes) only ever stops that
//! API, and every other API of the app is still polled in the same round.
//! An app-scoped failure (credentials, IP whitelist, risky IP, quota, a
//! token rejected right after renewal, no connection to WeChat at all)
//! ends the app's round, because every other call would fail the same way.
//! A target-scoped failure (getApiQuota refusing one configured path) only
//! holds back that target; the API's other targets are asked as usual.
//!
//! Connection-level failures (DNS, connection refused, TLS, proxy) are
//! app-scoped but pause nothing: the call's own retries have already been
//! spent, the round ends for that app, and the next round tries again.

use crate::dates::next_beijing_midnight;
use crate::wechat::error::{ErrorClass, Scope};
use chrono::{DateTime, Duration, Utc};

/// What to do after a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No call to this API before `until`; the app's other APIs go on.
    BackOffApi { until: DateTime<Utc> },
    /// WeChat says the app may not use this API: stop polling it.
    DisableApi,
    /// Every API of the app stops for this round; the next round retries.
    EndAppRound,
    /// No call for the app before `until`.
    PauseApp {
        until: DateTime<Utc>,
        reason: &'static str,
    },
    /// This target is not asked again before `until`; the API's other
    /// targets go on in the same round.
    SkipTarget { until: DateTime<Utc> },
}

impl Decision {
    pub fn scope(&self) -> Scope {
        match self {
            Decision::BackOffApi { .. } | Decision::DisableApi => Scope::Api,
            Decision::EndAppRound | Decision::PauseApp { .. } => Scope::App,
            Decision::SkipTarget { .. } => Scope::Target,
        }
    }
}

/// `base · 2^(streak−1)`, at most `cap`.
fn doubling(base_min: i64, cap_min: i64, streak: u32) -> Duration {
    let factor = 1i64 << streak.saturating_sub(1).min(20);
    Duration::minutes(base_min.saturating_mul(factor).min(cap_min))
}

/// Whether the app-scoped streak (`AppState::hard_failures`) counts
/// failures of `class`: only the ones whose pause grows with it, so that a
/// quota pause or an unreachable round never lengthens a later pause.
pub fn grows_app_streak(class: ErrorClass) -> bool {
    matches!(
        class,
        ErrorClass::Token | ErrorClass::Credentials | ErrorClass::IpWhitelist | ErrorClass::RiskyIp
    )
}

/// The decision for a failure of `class`, the `streak`-th in a row in its
/// scope (1 for the first), at `now`. Not-ready answers are no failure and
/// never reach here.
pub fn decide(class: ErrorClass, streak: u32, now: DateTime<Utc>) -> Decision {
    let api_backoff = |base, cap| Decision::BackOffApi {
        until: now + doubling(base, cap, streak),
    };
    match class {
        // The call's retries are spent: WeChat fails this endpoint for now.
        ErrorClass::Transient => api_backoff(5, 60),
        // The same answer would come back: give WeChat (or a fix) time.
        ErrorClass::Unexpected => api_backoff(30, 6 * 60),
        ErrorClass::BadRequest | ErrorClass::Unknown | ErrorClass::NotReady => {
            api_backoff(60, 12 * 60)
        }
        ErrorClass::Unauthorized => Decision::DisableApi,
        // A configured path WeChat refuses: the same answer would come
        // back, and the config is fixed by a human.
        ErrorClass::PathRejected => Decision::SkipTarget {
            until: now + doubling(60, 12 * 60, streak),
        },
        ErrorClass::Unreachable => Decision::EndAppRound,
        // Once may be a race with another service's refresh: the next
        // round tries again. Again and again: minutes, growing.
        ErrorClass::Token if streak <= 1 => Decision::EndAppRound,
        ErrorClass::Token => Decision::PauseApp {
            until: now + doubling(2, 60, streak - 1),
            reason: "token rejected right after renewal",
        },
        ErrorClass::DailyQuota => Decision::PauseApp {
            until: next_beijing_midnight(now),
            reason: "daily quota reached (45009)",
        },
        ErrorClass::RateLimited => Decision::PauseApp {
            until: now + Duration::minutes(5),
            reason: "per-minute rate limit (45011)",
        },
        // The platform remembers a ticket failure and makes no call until
        // the ticket file changes (or 10 minutes pass), so every app asks
        // again each round at no cost and recovers as soon as it is fixed.
        ErrorClass::TicketExpired | ErrorClass::TicketInvalid => Decision::EndAppRound,
        ErrorClass::Credentials
        | ErrorClass::IpWhitelist
        | ErrorClass::RiskyIp
        | ErrorClass::PlatformIp
        | ErrorClass::NotAuthorizedToPlatform
        | ErrorClass::RefreshTokenInvalid => Decision::PauseApp {
            until: now + doubling(60, 8 * 60, streak),
            reason: class.advice(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("instant")
    }

    fn minutes_until(d: Decision, now: DateTime<Utc>) -> i64 {
        match d {
            Decision::BackOffApi { until } | Decision::PauseApp { until, .. } => {
                (until - now).num_minutes()
            }
            other => panic!("no time in {other:?}"),
        }
    }

    #[test]
    fn decisions_agree_with_the_class_scope() {
        use ErrorClass::*;
        let now = t("2025-09-01T03:00:00Z");
        for class in [
            Transient,
            Unreachable,
            Unexpected,
            Token,
            DailyQuota,
            RateLimited,
            Credentials,
            IpWhitelist,
            RiskyIp,
            Unauthorized,
            BadRequest,
            Unknown,
            TicketExpired,
            TicketInvalid,
            NotAuthorizedToPlatform,
            PlatformIp,
            RefreshTokenInvalid,
            PathRejected,
        ] {
            assert_eq!(decide(class, 1, now).scope(), class.scope(), "{class:?}");
        }
    }

    #[test]
    fn platform_failures_never_loop() {
        let now = t("2025-09-01T03:00:00Z");
        // The platform holds a ticket failure itself: apps just end the round.
        for class in [ErrorClass::TicketExpired, ErrorClass::TicketInvalid] {
            assert_eq!(decide(class, 5, now), Decision::EndAppRound);
        }
        // One app's refresh token or authorization: that app waits hours.
        for class in [
            ErrorClass::RefreshTokenInvalid,
            ErrorClass::NotAuthorizedToPlatform,
            ErrorClass::PlatformIp,
        ] {
            let waits: Vec<i64> = (1..=5)
                .map(|n| minutes_until(decide(class, n, now), now))
                .collect();
            assert_eq!(waits, [60, 120, 240, 480, 480], "{class:?}");
        }
    }

    #[test]
    fn api_backoffs_double_up_to_their_cap() {
        let now = t("2025-09-01T03:00:00Z");
        let seq = |class: ErrorClass| -> Vec<i64> {
            (1..=8)
                .map(|n| minutes_until(decide(class, n, now), now))
                .collect()
        };
        assert_eq!(seq(ErrorClass::Transient), [5, 10, 20, 40, 60, 60, 60, 60]);
        assert_eq!(
            seq(ErrorClass::Unexpected),
            [30, 60, 120, 240, 360, 360, 360, 360]
        );
        assert_eq!(
            seq(ErrorClass::BadRequest),
            [60, 120, 240, 480, 720, 720, 720, 720]
        );
        // A token rejected after renewal: the next round retries once,
        // then it backs off from minutes, not hours.
        assert_eq!(decide(ErrorClass::Token, 1, now), Decision::EndAppRound);
        let token: Vec<i64> = (2..=8)
            .map(|n| minutes_until(decide(ErrorClass::Token, n, now), now))
            .collect();
        assert_eq!(token, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(
            seq(ErrorClass::Credentials),
            [60, 120, 240, 480, 480, 480, 480, 480]
        );
        // A huge streak neither overflows nor passes the cap.
        assert_eq!(
            minutes_until(decide(ErrorClass::Transient, u32::MAX, now), now),
            60
        );
    }

    #[test]
    fn quota_pauses_until_beijing_midnight() {
        // 23:30 Beijing on 1 September.
        let now = t("2025-09-01T15:30:00Z");
        assert_eq!(
            decide(ErrorClass::DailyQuota, 1, now),
            Decision::PauseApp {
                until: t("2025-09-01T16:00:00Z"),
                reason: "daily quota reached (45009)"
            }
        );
    }

    #[test]
    fn only_growing_pauses_count_a_streak() {
        use ErrorClass::*;
        for class in [Token, Credentials, IpWhitelist, RiskyIp] {
            assert!(grows_app_streak(class), "{class:?}");
        }
        for class in [Unreachable, DailyQuota, RateLimited, Transient, Unexpected] {
            assert!(!grows_app_streak(class), "{class:?}");
        }
    }

    #[test]
    fn no_connection_ends_the_round_without_a_pause() {
        let now = t("2025-09-01T03:00:00Z");
        assert_eq!(
            decide(ErrorClass::Unreachable, 3, now),
            Decision::EndAppRound
        );
        assert_eq!(
            decide(ErrorClass::Unauthorized, 1, now),
            Decision::DisableApi
        );
    }
}
