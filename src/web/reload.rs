//! Reloading the web config file while serving, failing closed: the file
//! and every certificate, key and CA it names are polled every second; a
//! valid change takes effect at once (TLS for new connections), while one
//! that is invalid, configures nothing, turns TLS off or removes every
//! basic-auth user is refused, logged and counted, and the last good
//! config stays in force: a half-written file must never open the port.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::web::config::{WebConfig, WebConfigError};
use crate::web::rate_limit::Bucket;
use crate::web::shared::Shared;

/// How often the web config file is checked for changes.
const RELOAD_POLL: Duration = Duration::from_secs(1);

/// SHA-256 over the config file and every file it references, so that a
/// renewed certificate is picked up even when the YAML is unchanged.
pub(super) fn files_digest(config_path: &Path, cfg: &WebConfig) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in std::iter::once(config_path).chain(cfg.referenced_files().iter().map(|p| p.as_path()))
    {
        match std::fs::read(p) {
            Ok(bytes) => {
                h.update((bytes.len() as u64).to_le_bytes());
                h.update(&bytes);
            }
            Err(e) => h.update(format!("error:{:?}", e.kind()).as_bytes()),
        }
    }
    h.finalize().into()
}

/// Why a valid file is still not applied while running: each of these is
/// what a truncated or half-written file looks like, and applying it would
/// open a protected port. Restart the exporter to make such a change.
fn refuse_reason(current: &WebConfig, new: &WebConfig) -> Option<&'static str> {
    if new.configures_nothing() && !current.configures_nothing() {
        Some("the file now configures nothing (empty, only comments, or truncated?)")
    } else if current.tls().is_some() && new.tls().is_none() {
        Some("the change would turn TLS off; restart the exporter to do that")
    } else if current.basic_auth_enabled() && !new.basic_auth_enabled() {
        Some(
            "the change would remove every basic_auth_users entry; restart the exporter to do that",
        )
    } else {
        None
    }
}

/// Polls `path` until shutdown; `seen` is the digest of what is in force.
pub(super) async fn watch_config(
    path: PathBuf,
    mut seen: [u8; 32],
    shared: Arc<Shared>,
    mut close_rx: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(RELOAD_POLL) => {}
            _ = close_rx.wait_for(|c| *c) => return,
        }
        let p = path.clone();
        let current = shared.config.load_full();
        // File I/O and certificate parsing are blocking; keep them off the
        // reactor threads.
        let res = tokio::task::spawn_blocking(move || changed(&p, &current, seen)).await;
        let current = shared.config.load_full();
        let outcome = match res {
            Ok(None) => continue,
            Ok(Some((digest, Ok(cfg)))) => {
                seen = digest;
                match refuse_reason(&current, &cfg) {
                    None => Ok(cfg),
                    Some(why) => Err(why.to_string()),
                }
            }
            // Logged once per bad content, not every poll.
            Ok(Some((digest, Err(e)))) => {
                seen = digest;
                Err(e.to_string())
            }
            Err(e) => Err(format!("reload task failed: {e}")),
        };
        match outcome {
            Ok(cfg) => apply(&shared, &path, &current, cfg),
            Err(reason) => refuse(&shared, &path, &reason),
        }
        if let Some(hook) = &shared.opts.on_reload {
            hook();
        }
    }
}

/// `None` when nothing changed since `seen`, else the new digest and what
/// loading the file gives.
fn changed(
    path: &Path,
    current: &WebConfig,
    seen: [u8; 32],
) -> Option<([u8; 32], Result<WebConfig, WebConfigError>)> {
    // The digest of the *old* set of referenced files tells whether
    // anything changed; only then is the file parsed again.
    let d = files_digest(path, current);
    if d == seen {
        return None;
    }
    let loaded = WebConfig::load(path);
    let d = match &loaded {
        Ok(cfg) => files_digest(path, cfg),
        Err(_) => d,
    };
    Some((d, loaded))
}

/// Puts `cfg` in force in place of `current`.
fn apply(shared: &Shared, path: &Path, current: &WebConfig, cfg: WebConfig) {
    for w in cfg.warnings() {
        tracing::warn!(warning = %w, "web config");
    }
    if current.tls().map(|t| t.client_auth()) != cfg.tls().map(|t| t.client_auth()) {
        tracing::warn!(
            from = ?current.tls().map(|t| t.client_auth()),
            to = ?cfg.tls().map(|t| t.client_auth()),
            "web config reload changes client certificate checks"
        );
    }
    tracing::info!(
        file = %path.display(),
        tls = cfg.tls().is_some(),
        basic_auth = cfg.basic_auth_enabled(),
        rate_limit = cfg.rate_limit().is_some(),
        "web config reloaded"
    );
    if cfg.rate_limit() != current.rate_limit() {
        *shared.limiter.lock().unwrap_or_else(|p| p.into_inner()) = Bucket::new(cfg.rate_limit());
    }
    shared.config.store(Arc::new(cfg));
    if let Some(m) = &shared.opts.metrics {
        m.last_reload_successful.set(1);
    }
}

/// Keeps the config in force, and says why.
fn refuse(shared: &Shared, path: &Path, reason: &str) {
    tracing::error!(
        file = %path.display(),
        error = %reason,
        "web config reload refused; keeping the previous configuration"
    );
    if let Some(m) = &shared.opts.metrics {
        m.last_reload_successful.set(0);
        m.reloads_refused.inc();
    }
}
