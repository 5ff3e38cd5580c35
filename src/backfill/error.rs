//! How a backfill fails: `BackfillError` and the exit code each kind
//! means, so that a script can tell "fix the command" from "rerun".

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// A flag is wrong; names the flag.
    #[error("{flag}: {reason}")]
    Usage { flag: &'static str, reason: String },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The progress file belongs to another backfill.
    #[error("{path}: {reason}")]
    Progress { path: String, reason: String },
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    /// Stopped early on purpose; rerunning continues.
    #[error("stopped after {calls} call(s) this run, {remaining} remaining: {reason}. Progress is saved in {progress}; run the same command again to continue")]
    Stopped {
        calls: u64,
        remaining: usize,
        reason: String,
        progress: String,
    },
}

impl BackfillError {
    /// 2: fix the command or config; 3: stopped, rerun to continue; 1: other.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Usage { .. } | Self::Config(_) | Self::Progress { .. } => 2,
            Self::Stopped { .. } => 3,
            Self::Io { .. } => 1,
        }
    }
}

pub(super) fn io_err(path: &Path, e: impl std::fmt::Display) -> BackfillError {
    BackfillError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

pub(super) fn usage(flag: &'static str, reason: impl Into<String>) -> BackfillError {
    BackfillError::Usage {
        flag,
        reason: reason.into(),
    }
}
