//! The progress file `OUTPUT.progress`: a header naming what decides the
//! calls (a backfill of other arguments is refused, not mixed in), then
//! one JSON line per finished unit, appended before the next call.

use super::error::{io_err, BackfillError};
use super::plan::UnitKey;
use crate::config::Config;
use crate::state::Fetched;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

const PROGRESS_VERSION: u32 = 1;

/// A finished unit as stored: the samples per target. Not-ready units are
/// stored with no results so that they are not asked again.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Record {
    pub(super) unit: UnitKey,
    pub(super) results: Vec<Fetched>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Header {
    version: u32,
    /// Everything that decides which calls are made; a mismatch is refused.
    fingerprint: serde_json::Value,
}

/// Everything that decides which calls are made.
pub(super) fn fingerprint(config: &Config, from: NaiveDate, to: NaiveDate) -> serde_json::Value {
    let apps: Vec<_> = config
        .apps
        .iter()
        .map(|a| {
            serde_json::json!({
                "name": a.name,
                "appid": a.appid,
                "kind": a.kind,
                "apis": a.enabled_apis(),
                "page_limit": a.page_limit,
            })
        })
        .collect();
    serde_json::json!({
        "from": from,
        "to": to,
        "api_url": crate::secret::redact_url(&config.wechat.api_url),
        "apps": apps,
    })
}

/// Reads the progress file (if any): the finished units. A torn last line
/// (killed mid-write) is ignored; that unit is fetched again.
pub(super) fn load_progress(
    path: &Path,
    fp: &serde_json::Value,
) -> Result<Vec<Record>, BackfillError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(path, e)),
    };
    let mut lines = std::io::BufReader::new(file).lines();
    let header: Option<Header> = match lines.next() {
        Some(Ok(l)) => serde_json::from_str(&l).ok(),
        _ => None,
    };
    let Some(header) = header else {
        return Err(BackfillError::Progress {
            path: path.display().to_string(),
            reason: "not a backfill progress file; delete it or choose another --output".into(),
        });
    };
    if header.version != PROGRESS_VERSION || header.fingerprint != *fp {
        return Err(BackfillError::Progress {
            path: path.display().to_string(),
            reason: "was written by a backfill with other --from/--to or another config (apps, APIs, page_limit, api_url); rerun with those arguments to continue it, or delete the file (or pick another --output) to start over".into(),
        });
    }
    let mut out = Vec::new();
    for line in lines {
        let line = line.map_err(|e| io_err(path, e))?;
        if let Ok(r) = serde_json::from_str::<Record>(&line) {
            out.push(r);
        }
    }
    Ok(out)
}

/// The progress file open for appending; each line is written as its
/// unit finishes, unbuffered, so that an interrupted run loses none.
pub(super) struct ProgressFile {
    path: PathBuf,
    file: std::fs::File,
}

impl ProgressFile {
    /// Opens the progress file for appending, writing the header if new.
    pub(super) fn open(path: &Path, fp: &serde_json::Value) -> Result<Self, BackfillError> {
        let exists = path.exists();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| io_err(path, e))?;
        if !exists {
            let header = Header {
                version: PROGRESS_VERSION,
                fingerprint: fp.clone(),
            };
            let line = serde_json::to_string(&header).map_err(|e| io_err(path, e))?;
            writeln!(f, "{line}").map_err(|e| io_err(path, e))?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            file: f,
        })
    }

    /// Appends one finished unit.
    pub(super) fn append(&mut self, rec: &Record) -> Result<(), BackfillError> {
        let line = serde_json::to_string(rec).map_err(|e| io_err(&self.path, e))?;
        writeln!(self.file, "{line}").map_err(|e| io_err(&self.path, e))
    }

    pub(super) fn close(mut self) {
        let _ = self.file.flush();
    }
}

/// `OUTPUT.progress`.
pub fn progress_path(output: &Path) -> PathBuf {
    let mut s = output.as_os_str().to_owned();
    s.push(".progress");
    PathBuf::from(s)
}
