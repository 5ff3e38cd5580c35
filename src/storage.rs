//! `--storage.path`: the poller's final data kept across restarts, so a
//! restarted exporter serves at once and spends no call on data it has.
//!
//! The file is written whole to a temporary name and renamed over the old
//! one, so a crash leaves either the old or the new file. A file that does
//! not parse, has another format version, or belongs to another appid is
//! reported and ignored: losing a cache is never fatal.

use crate::model::AppState;
use crate::poller::Poller;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How often a running exporter saves its state (and once at shutdown).
pub const SAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

const FORMAT: &str = "wechat-exporter-state";
/// 2: data as exposition text (`blocks.rs`); version 1 files (samples) are
/// read and written back as 2.
const VERSION: u32 = 2;
const OLDEST_READABLE: u32 = 1;

/// Saved state: app name → (appid, state).
pub use crate::model::SavedApps;

#[derive(Serialize, Deserialize)]
struct StateFile {
    format: String,
    version: u32,
    /// app name → (appid, state)
    apps: BTreeMap<String, (String, AppState)>,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("state file {path}: {reason}")]
    Io { path: String, reason: String },
    #[error(
        "state file {path} is not a wechat-exporter state file of version {VERSION}: {reason}"
    )]
    Foreign { path: String, reason: String },
}

#[derive(Clone)]
pub struct Storage {
    dir: PathBuf,
}

impl Storage {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    pub fn load(&self) -> Result<Option<SavedApps>, StorageError> {
        let path = self.path();
        let p = path.display().to_string();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(StorageError::Io {
                    path: p,
                    reason: e.to_string(),
                })
            }
        };
        let file: StateFile =
            serde_json::from_slice(&bytes).map_err(|e| StorageError::Foreign {
                path: p.clone(),
                reason: e.to_string(),
            })?;
        if file.format != FORMAT || !(OLDEST_READABLE..=VERSION).contains(&file.version) {
            return Err(StorageError::Foreign {
                path: p,
                reason: format!("format {} version {}", file.format, file.version),
            });
        }
        Ok(Some(file.apps))
    }

    pub fn save(&self, poller: &Poller) -> Result<(), StorageError> {
        let apps = poller
            .apps()
            .iter()
            .map(|a| {
                (
                    a.config.name.clone(),
                    (a.config.appid.clone(), a.lock().clone()),
                )
            })
            .collect();
        let file = StateFile {
            format: FORMAT.into(),
            version: VERSION,
            apps,
        };
        write_atomic(&self.path(), &serde_json::to_vec(&file).unwrap_or_default())
    }
}

impl Storage {
    /// Saves every `every` until `shutdown` turns true; then once more.
    pub async fn save_periodically(
        self,
        poller: std::sync::Arc<Poller>,
        every: std::time::Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => {}
            }
            if let Err(e) = self.save(&poller) {
                tracing::warn!(error = %e, "cannot save state");
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let io = |e: std::io::Error| StorageError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("json.tmp");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}
