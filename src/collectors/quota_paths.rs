//! The paths whose daily quota `api_quota` asks for, and the target slot
//! of each: what `Ctx::new`, `ApiSpec::call_in` and the collector share.
//! A leaf of `collectors/` (config and api ids only).

use crate::config::AppConfig;

/// The paths whose quota `app` publishes, sorted: its own APIs' paths
/// (the performance modules share one) and its `quota_paths`.
pub fn paths(app: &AppConfig) -> Vec<String> {
    let mut out: Vec<String> = app
        .enabled_apis()
        .iter()
        .map(|a| a.path().to_string())
        .chain(app.quota_paths.iter().cloned())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The slot of a path: a stable 32-bit FNV-1a hash, so that a path keeps
/// its target (and its state) when the config adds or removes others.
pub fn slot_of(path: &str) -> u32 {
    path.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The path of `slot` among `paths`.
pub fn path_of(paths: &[String], slot: u32) -> Option<&str> {
    paths
        .iter()
        .find(|p| slot_of(p) == slot)
        .map(String::as_str)
}
