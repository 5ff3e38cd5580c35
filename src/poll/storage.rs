//! `--storage.path`: the poller's final data kept across restarts, so a
//! restarted exporter serves at once and spends no call on data it has.
//!
//! One writer: the periodic saver owns the file and makes the final save
//! when told to stop (two writers sharing one temporary name once left a
//! truncated file when SIGKILL followed SIGTERM). Each save writes a
//! temporary file (mode 0600: the state names every app), fsyncs it, renames
//! it over the old one and fsyncs the directory, so a crash or a SIGKILL at
//! any point leaves the old or the new file, whole. Saves are counted in
//! `wechat_exporter_state_save_failures_total` and the last-save gauges.
//! A file that does not parse, has another format version, or belongs to
//! another appid is reported and ignored: losing a cache is never fatal.

use crate::poll::poller::Poller;
use crate::state::AppState;
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
pub use crate::state::SavedApps;

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
    /// Serialises writers of this directory's state file, so that even
    /// direct `save` calls never share the temporary file.
    writing: std::sync::Arc<std::sync::Mutex<()>>,
}

impl Storage {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            writing: Default::default(),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// Reads and checks the state file; `Ok(None)` when there is none.
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
        let bytes = serde_json::to_vec(&file).map_err(|e| StorageError::Io {
            path: self.path().display().to_string(),
            reason: format!("cannot encode: {e}"),
        })?;
        let _one_writer = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        write_atomic(&self.path(), &bytes)
    }

    /// Saves and records the outcome in the self-metrics; off the async
    /// threads, as encoding and writing 30 MB (300 apps) takes a while.
    async fn save_counted(&self, poller: &std::sync::Arc<Poller>) -> bool {
        let (me, p) = (self.clone(), poller.clone());
        let result = tokio::task::spawn_blocking(move || me.save(&p))
            .await
            .unwrap_or_else(|e| {
                Err(StorageError::Io {
                    path: self.path().display().to_string(),
                    reason: format!("save task failed: {e}"),
                })
            });
        let ok = result.is_ok();
        poller.metrics.state_saved(ok);
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot save state");
            // Scrapes read the snapshot: show the failure now.
            poller.publish(true);
        }
        ok
    }

    /// The only writer of the state file: saves every `every`, and once more
    /// when `stop` turns true (send it after the poller stopped, so that the
    /// last save holds everything the poller got), then returns.
    pub async fn save_periodically(
        self,
        poller: std::sync::Arc<Poller>,
        every: std::time::Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            let stopping = tokio::select! {
                _ = tokio::time::sleep(every) => false,
                // A dropped sender is a stop too: nobody can ask any more.
                _ = stop.wait_for(|s| *s) => true,
            };
            self.save_counted(&poller).await;
            if stopping {
                return;
            }
        }
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    use std::io::Write;
    let io = |what: &str, e: std::io::Error| StorageError::Io {
        path: path.display().to_string(),
        reason: format!("{what}: {e}"),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io("cannot create the directory", e))?;
    let tmp = path.with_extension("json.tmp");
    // A leftover from a crash may have another owner or mode: start afresh.
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(&tmp)
        .map_err(|e| io("cannot create the temporary file", e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| io("cannot write the temporary file", e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| io("cannot rename the temporary file", e))?;
    // The rename is durable only once the directory entry is on disk.
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("cannot sync the directory", e))?;
    Ok(())
}
