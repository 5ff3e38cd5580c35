//! What a run tells its operator on stderr: the progress line while it
//! runs, and the `Report` with its summary at the end.

use super::plan::UnitKey;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;

/// A unit that was tried and failed; it is retried by the next run.
#[derive(Clone, Debug)]
pub struct Failure {
    pub unit: UnitKey,
    pub error: String,
}

/// What a completed run did.
#[derive(Debug, Default)]
pub struct Report {
    /// Calls made by this run.
    pub calls: u64,
    /// Units found finished in the progress file.
    pub resumed: usize,
    pub units: usize,
    pub failures: Vec<Failure>,
    /// Units answered "not ready" (no data for that period).
    pub not_ready: usize,
    /// Units WeChat answered with `is_delay: true` (numbers that may still
    /// change): neither written nor recorded, so a rerun asks again.
    pub provisional: usize,
    /// APIs skipped because they cannot be backfilled, per app.
    pub skipped: Vec<String>,
    /// Files written and their sizes.
    pub files: Vec<(PathBuf, u64)>,
    /// Sample lines written.
    pub lines: u64,
    pub elapsed: std::time::Duration,
}

impl Report {
    /// The end-of-run summary for stderr.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let bytes: u64 = self.files.iter().map(|f| f.1).sum();
        let _ = writeln!(
            s,
            "backfill: {} unit(s), {} call(s) this run, {} resumed from progress, {} not ready, {} provisional, {} failed; {} sample line(s), {} byte(s) in {} file(s), {:.1} s",
            self.units,
            self.calls,
            self.resumed,
            self.not_ready,
            self.provisional,
            self.failures.len(),
            self.lines,
            bytes,
            self.files.len(),
            self.elapsed.as_secs_f64()
        );
        for (path, size) in &self.files {
            let _ = writeln!(s, "  wrote {} ({size} bytes)", path.display());
        }
        for note in &self.skipped {
            let _ = writeln!(s, "  skipped {note}");
        }
        const SHOWN: usize = 20;
        for f in self.failures.iter().take(SHOWN) {
            let _ = writeln!(s, "  failed {}: {}", f.unit, f.error);
        }
        if self.provisional > 0 {
            let _ = writeln!(
                s,
                "  {} unit(s) may still change (is_delay) and were not written: run the same command again once WeChat marks them final (the running exporter shows them meanwhile, with wechat_exporter_data_final 0)",
                self.provisional
            );
        }
        if self.failures.len() > SHOWN {
            let _ = writeln!(s, "  … and {} more", self.failures.len() - SHOWN);
        }
        if !self.failures.is_empty() {
            let _ = writeln!(
                s,
                "  failed units were not written; run the same command again to retry them"
            );
        }
        s
    }
}

/// The progress line on stderr: `\r`-redrawn on a terminal, a plain line
/// every 5% otherwise (logs and CI keep every line). No crate: one line of
/// text does not need a dependency.
pub(super) struct ProgressLine {
    enabled: bool,
    tty: bool,
    total: usize,
    done: usize,
    last_plain: usize,
}

impl ProgressLine {
    pub(super) fn new(enabled: bool, total: usize, done: usize) -> Self {
        Self {
            enabled,
            tty: std::io::stderr().is_terminal(),
            total,
            done,
            last_plain: done,
        }
    }

    pub(super) fn step(&mut self, calls: u64, failed: usize, what: &UnitKey) {
        self.done += 1;
        if !self.enabled {
            return;
        }
        let pct = self.done * 100 / self.total.max(1);
        let line = format!(
            "backfill: {}/{} units ({pct}%), {calls} call(s) made, {} remaining, {failed} failed; {} {} {}",
            self.done,
            self.total,
            self.total - self.done,
            what.app,
            what.api.label(),
            what.range.begin
        );
        if self.tty {
            eprint!("\r\x1b[2K{line}");
        } else if self.done - self.last_plain >= (self.total / 20).max(1) || self.done == self.total
        {
            self.last_plain = self.done;
            eprintln!("{line}");
        }
    }

    /// What to print before a line of our own so that it does not land in
    /// the middle of a redrawn progress line.
    pub(super) fn clear(&self) -> &'static str {
        if self.tty && self.enabled {
            "\r\x1b[2K"
        } else {
            ""
        }
    }

    pub(super) fn finish(&self) {
        if self.enabled && self.tty {
            eprintln!();
        }
    }
}
