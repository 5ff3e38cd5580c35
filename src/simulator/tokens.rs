//! Access-token bookkeeping: stable tokens, legacy tokens, revocation.
//!
//! Mirrors the platform rules in wechat-api.md: the stable endpoint hands
//! everyone the same token until fewer than 300 s remain; a forced refresh
//! kills the old stable token at once (20 a day, 30 s apart); every legacy
//! call issues a new token and leaves the previous legacy token 5 minutes of
//! grace. Stable and legacy tokens never affect each other.

use super::hash::mix;
use crate::dates::beijing_date;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::HashMap;

/// The platform renews stable tokens this long before they expire.
const RENEW_WINDOW_SECS: i64 = 300;
/// How long a superseded legacy token keeps working.
const LEGACY_GRACE_SECS: i64 = 300;
pub(crate) const FORCE_PER_DAY: u32 = 20;
pub(crate) const FORCE_MIN_GAP_SECS: i64 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Stable,
    Legacy,
}

#[derive(Clone, Debug)]
struct TokenInfo {
    appid: String,
    kind: Kind,
    expires_at: DateTime<Utc>,
    /// Set when a newer legacy token replaced this one: dead (40001) after.
    superseded_until: Option<DateTime<Utc>>,
    revoked: bool,
}

#[derive(Clone, Debug, Default)]
struct AppTokens {
    stable: Option<String>,
    legacy: Option<String>,
    force_day: Option<NaiveDate>,
    force_count: u32,
    last_force: Option<DateTime<Utc>>,
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// 40001: unknown, revoked, force-refreshed away or superseded.
    Invalid,
    /// 42001: past its expiry.
    Expired,
}

pub(crate) struct Tokens {
    seed: u64,
    ttl: Duration,
    counter: u64,
    by_token: HashMap<String, TokenInfo>,
    apps: HashMap<String, AppTokens>,
}

impl Tokens {
    pub fn new(seed: u64, ttl: std::time::Duration) -> Self {
        let ttl = Duration::from_std(ttl).unwrap_or(Duration::seconds(7200));
        Self {
            seed,
            ttl: ttl.max(Duration::seconds(1)),
            counter: 0,
            by_token: HashMap::new(),
            apps: HashMap::new(),
        }
    }

    /// A ~136-character token like the real ones (`86_…`), deterministic
    /// from the seed and the number of tokens issued so far.
    fn mint(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
        self.counter += 1;
        let mut s = format!("{}_", 80 + self.counter % 20);
        let mut h = mix(&[self.seed, 0x70CE_4E11, self.counter]);
        for i in 0..133u64 {
            if i % 10 == 0 {
                h = mix(&[h, i]);
            }
            s.push(ALPHABET[(h & 63) as usize] as char);
            h >>= 6;
        }
        s
    }

    /// Forgets tokens dead for more than a day so long runs stay small.
    fn prune(&mut self, now: DateTime<Utc>) {
        if self.by_token.len() < 4096 {
            return;
        }
        let horizon = now - Duration::days(1);
        self.by_token.retain(|_, t| t.expires_at > horizon);
    }

    fn issue(&mut self, appid: &str, kind: Kind, now: DateTime<Utc>) -> String {
        self.prune(now);
        let tok = self.mint();
        self.by_token.insert(
            tok.clone(),
            TokenInfo {
                appid: appid.to_string(),
                kind,
                expires_at: now + self.ttl,
                superseded_until: None,
                revoked: false,
            },
        );
        tok
    }

    /// The stable endpoint. Returns (token, expires_in seconds) or an errcode.
    pub fn stable(
        &mut self,
        appid: &str,
        now: DateTime<Utc>,
        force: bool,
    ) -> Result<(String, i64), i64> {
        // With a short test TTL a 300 s window would renew on every call.
        let window = Duration::seconds(RENEW_WINDOW_SECS).min(self.ttl / 2);
        let app = self.apps.entry(appid.to_string()).or_default().clone();
        if force {
            let today = beijing_date(now);
            let count = if app.force_day == Some(today) {
                app.force_count
            } else {
                0
            };
            if count >= FORCE_PER_DAY {
                return Err(45009);
            }
            if let Some(last) = app.last_force {
                if now - last < Duration::seconds(FORCE_MIN_GAP_SECS) {
                    return Err(45011);
                }
            }
            // Every stable token of the app dies now; legacy ones live on.
            for t in self.by_token.values_mut() {
                if t.appid == appid && t.kind == Kind::Stable {
                    t.revoked = true;
                }
            }
            let tok = self.issue(appid, Kind::Stable, now);
            let a = self.apps.entry(appid.to_string()).or_default();
            a.force_day = Some(today);
            a.force_count = count + 1;
            a.last_force = Some(now);
            a.stable = Some(tok.clone());
            return Ok((tok, self.ttl.num_seconds()));
        }
        if let Some(cur) = &app.stable {
            if let Some(info) = self.by_token.get(cur) {
                let left = info.expires_at - now;
                if !info.revoked && left >= window {
                    return Ok((cur.clone(), left.num_seconds()));
                }
            }
        }
        // The previous stable token stays valid until its own expiry.
        let tok = self.issue(appid, Kind::Stable, now);
        self.apps.entry(appid.to_string()).or_default().stable = Some(tok.clone());
        Ok((tok, self.ttl.num_seconds()))
    }

    /// The legacy endpoint: always a new token; the previous one has 5 minutes.
    pub fn legacy(&mut self, appid: &str, now: DateTime<Utc>) -> (String, i64) {
        let prev = self
            .apps
            .get(appid)
            .and_then(|a| a.legacy.clone())
            .and_then(|p| self.by_token.get_mut(&p).map(|i| (p, i)));
        if let Some((_, info)) = prev {
            let until = now + Duration::seconds(LEGACY_GRACE_SECS);
            info.superseded_until = Some(info.superseded_until.map_or(until, |u| u.min(until)));
        }
        let tok = self.issue(appid, Kind::Legacy, now);
        self.apps.entry(appid.to_string()).or_default().legacy = Some(tok.clone());
        (tok, self.ttl.num_seconds())
    }

    /// Which app a token belongs to, valid or not (for logs and fault filters).
    pub fn owner(&self, token: &str) -> Option<String> {
        self.by_token.get(token).map(|t| t.appid.clone())
    }

    /// The app a token may be used for at `now`.
    pub fn check(&self, token: &str, now: DateTime<Utc>) -> Result<String, TokenError> {
        let info = self.by_token.get(token).ok_or(TokenError::Invalid)?;
        if info.revoked || info.superseded_until.is_some_and(|u| now >= u) {
            return Err(TokenError::Invalid);
        }
        if now >= info.expires_at {
            return Err(TokenError::Expired);
        }
        Ok(info.appid.clone())
    }

    /// Every token of `appid` becomes invalid; the next stable call issues anew.
    pub fn revoke(&mut self, appid: &str) {
        for t in self.by_token.values_mut() {
            if t.appid == appid {
                t.revoked = true;
            }
        }
        if let Some(a) = self.apps.get_mut(appid) {
            a.stable = None;
            a.legacy = None;
        }
    }
}
