//! Basic auth (`basic_auth_users`): the `Authorization` header parsed,
//! the password checked with bcrypt one check at a time, results cached
//! as the toolkit does, and unknown users checked against a decoy so that
//! timing does not tell which users exist.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::http::HeaderValue;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::web::config::WebConfig;

/// Basic-auth results remembered, successes and failures (the toolkit
/// keeps 100); bcrypt costs ~50-250 ms per check.
const AUTH_CACHE_MAX: usize = 256;

/// Basic-auth checker with a cache of results, as exporter-toolkit does.
///
/// Unknown users are verified against a decoy hash of the highest cost
/// configured, so response time does not reveal which users exist; bcrypt
/// runs one at a time so a flood of bad passwords costs one core, not all;
/// every result, success or failure, is cached under SHA-256(user, hash,
/// password) so a repeated wrong password costs one bcrypt, not one per
/// request, the plaintext is never stored, and a changed hash invalidates
/// the entry.
#[derive(Default)]
pub(super) struct Authenticator {
    cache: Arc<Mutex<HashMap<[u8; 32], bool>>>,
    bcrypt_lock: Arc<Mutex<()>>,
}

/// A bcrypt hash of a fixed string at `cost`, made once per cost.
fn decoy_hash(cost: u32) -> String {
    static DECOYS: OnceLock<Mutex<HashMap<u32, String>>> = OnceLock::new();
    let map = DECOYS.get_or_init(Default::default);
    if let Some(h) = map.lock().unwrap_or_else(|p| p.into_inner()).get(&cost) {
        return h.clone();
    }
    let h = bcrypt::hash("wechat-exporter timing equaliser", cost.clamp(4, 31)).unwrap_or_default();
    map.lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(cost, h.clone());
    h
}

fn parse_basic(value: Option<&HeaderValue>) -> Option<(String, Vec<u8>)> {
    let v = value?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((user, decoded[colon + 1..].to_vec()))
}

impl Authenticator {
    pub(super) async fn check(&self, cfg: &WebConfig, value: Option<&HeaderValue>) -> bool {
        let Some((user, password)) = parse_basic(value) else {
            return false;
        };
        let known_hash = cfg.password_hash(&user).map(str::to_owned);
        let known = known_hash.is_some();
        let cost = cfg.max_bcrypt_cost();

        let key = cache_key(&user, known_hash.as_deref(), cost, &password);
        if let Some(&ok) = self.lock_cache().get(&key) {
            return ok && known;
        }

        let lock = self.bcrypt_lock.clone();
        let cache = self.cache.clone();
        let verified = tokio::task::spawn_blocking(move || {
            let _serial = lock.lock().unwrap_or_else(|p| p.into_inner());
            // A flood of one wrong password arrives all at once: the checks
            // that queued behind the first find its result here.
            if let Some(&ok) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
                return ok;
            }
            let hash = known_hash.unwrap_or_else(|| decoy_hash(cost));
            bcrypt::verify(&password, &hash).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        let ok = known && verified;
        let mut cache = self.lock_cache();
        if cache.len() >= AUTH_CACHE_MAX {
            // Evict a tenth, like the toolkit; HashMap order is randomised
            // per process, so this is not a predictable eviction.
            let drop: Vec<[u8; 32]> = cache.keys().take(AUTH_CACHE_MAX / 10).copied().collect();
            for k in drop {
                cache.remove(&k);
            }
        }
        cache.insert(key, ok);
        ok
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], bool>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// SHA-256 of (user, hash or the decoy's tag, password): the cache never
/// holds a password, and a changed hash misses.
fn cache_key(user: &str, known_hash: Option<&str>, cost: u32, password: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    let decoy_tag = format!("decoy:{cost}");
    for part in [
        user.as_bytes(),
        known_hash.unwrap_or(&decoy_tag).as_bytes(),
        password,
    ] {
        // Length prefixes keep ("ab","c") and ("a","bc") distinct.
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::str::FromStr;

    fn basic(user: &str, pass: &str) -> HeaderValue {
        let enc = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        HeaderValue::from_str(&format!("Basic {enc}")).unwrap()
    }

    #[test]
    fn parse_basic_header() {
        assert_eq!(
            parse_basic(Some(&basic("al", "p:w"))),
            Some(("al".to_string(), b"p:w".to_vec()))
        );
        assert_eq!(
            parse_basic(Some(&HeaderValue::from_static("Bearer x"))),
            None
        );
        assert_eq!(
            parse_basic(Some(&HeaderValue::from_static("Basic !!"))),
            None
        );
        assert_eq!(parse_basic(None), None);
    }

    #[tokio::test]
    async fn authenticator_caches_successes_and_failures() {
        let hash = bcrypt::hash("secret", 4).unwrap();
        let cfg = WebConfig::from_yaml(
            &format!("basic_auth_users:\n  alice: '{hash}'\n"),
            Path::new("."),
        )
        .unwrap();
        let a = Authenticator::default();
        assert!(!a.check(&cfg, Some(&basic("alice", "wrong"))).await);
        assert_eq!(a.lock_cache().len(), 1, "a failure is cached");
        assert!(!a.check(&cfg, Some(&basic("alice", "wrong"))).await);
        assert_eq!(a.lock_cache().len(), 1);
        assert!(a.check(&cfg, Some(&basic("alice", "secret"))).await);
        assert!(a.check(&cfg, Some(&basic("alice", "secret"))).await);
        assert_eq!(a.lock_cache().len(), 2);
        // An unknown user never passes, even with a cached decoy result.
        assert!(!a.check(&cfg, Some(&basic("mallory", "secret"))).await);
        assert!(!a.check(&cfg, Some(&basic("mallory", "secret"))).await);
    }

    #[test]
    fn decoy_has_the_requested_cost() {
        let h = decoy_hash(5);
        assert_eq!(bcrypt::HashParts::from_str(&h).unwrap().get_cost(), 5);
    }
}
