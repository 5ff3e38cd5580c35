//! Why a web config file was refused: `WebConfigError`, whose messages
//! name the key at fault and never quote the file, and `invalid`, the one
//! way every part of the loader builds an error about a key.

use std::path::PathBuf;

/// Why a web config file was refused. Messages name the field and never
/// contain key material, password hashes or other file content.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error("cannot read web config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// YAML syntax errors and unknown keys (the key is named, values never).
    #[error("invalid web config: {0}")]
    Parse(String),
    #[error("invalid web config: {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

pub(super) fn invalid(field: &'static str, reason: impl Into<String>) -> WebConfigError {
    WebConfigError::Invalid {
        field,
        reason: reason.into(),
    }
}
