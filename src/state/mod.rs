//! What the exporter knows about each app and API: the state the poller
//! writes, the snapshot renders and the state file saves. A leaf module:
//! it imports no other part of the exporter but dates, families and blocks, so
//! poller, snapshot and storage depend on it and not on each other.

use crate::api::{Api, AppKind};
pub mod blocks;

use crate::collectors::Target;
use crate::dates::DateRange;
use blocks::Blocks;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// One fetched, final answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Fetched {
    pub target: Target,
    /// Its samples, kept as the exposition lines `/metrics` serves
    /// (`Vec<Sample>` converts with `.into()`; `iter()` gives them back).
    pub samples: Blocks,
}

/// An API-scoped failure streak: no call to this API before `until`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backoff {
    pub until: DateTime<Utc>,
    /// Consecutive failures; the next delay doubles with each.
    pub failures: u32,
}

/// What the poller knows about one API of one app.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ApiState {
    /// Final data, at most one per slot once pruned.
    pub results: Vec<Fetched>,
    /// Targets that answered "not ready": when to ask again, attempts so far.
    #[serde(skip)]
    pub retry_at: BTreeMap<Target, (DateTime<Utc>, u32)>,
    /// Results WeChat marked as not final yet (`is_delay`), and when to
    /// ask for them again. Saved, so a restart keeps asking.
    #[serde(default)]
    pub provisional: Vec<(Target, DateTime<Utc>)>,
    /// Set after a failure of this API alone (see `policy.rs`).
    #[serde(skip)]
    pub backoff: Option<Backoff>,
    pub poll_success: Option<bool>,
    pub data_ready: bool,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Set when WeChat says the app may not use this API.
    pub disabled: Option<String>,
}

impl ApiState {
    pub fn has(&self, t: &Target) -> bool {
        self.results.iter().any(|f| f.target == *t)
    }

    pub fn has_slot(&self, slot: u32) -> bool {
        self.results.iter().any(|f| f.target.slot == slot)
    }

    /// Per slot, the newest result: what `/metrics` shows. Newest is the
    /// later range, and for one range (a publish date's totals, asked for
    /// again each day) the later data period.
    pub fn published(&self) -> impl Iterator<Item = &Fetched> {
        self.results.iter().filter(|f| {
            !self
                .results
                .iter()
                .any(|o| o.target.slot == f.target.slot && newer(&o.target, &f.target))
        })
    }

    /// The targets whose final answer held nothing.
    pub fn empty_targets(&self) -> Vec<Target> {
        self.results
            .iter()
            .filter(|f| f.samples.is_empty() && self.provisional_until(&f.target).is_none())
            .map(|f| f.target)
            .collect()
    }

    /// Keeps only what can still be published.
    pub fn prune(&mut self, plan: &[Target]) {
        let newest: BTreeMap<u32, (DateRange, DateRange)> = self
            .published()
            .map(|f| (f.target.slot, (f.target.range, f.target.data_period)))
            .collect();
        let slots: Vec<u32> = plan.iter().map(|t| t.slot).collect();
        self.results.retain(|f| {
            slots.contains(&f.target.slot)
                && newest.get(&f.target.slot) == Some(&(f.target.range, f.target.data_period))
        });
        self.retry_at.retain(|t, _| plan.contains(t));
        self.provisional.retain(|(t, _)| plan.contains(t));
    }

    /// When a provisional result of `t` is to be asked for again.
    pub fn provisional_until(&self, t: &Target) -> Option<DateTime<Utc>> {
        self.provisional
            .iter()
            .find(|(p, _)| p == t)
            .map(|(_, at)| *at)
    }

    /// Keeps `samples` as the result of `t`, replacing an earlier one;
    /// a provisional result is asked for again at `again`.
    pub fn store(&mut self, t: Target, samples: Blocks, again: Option<DateTime<Utc>>) {
        self.results.retain(|f| f.target != t);
        self.results.push(Fetched { target: t, samples });
        self.provisional.retain(|(p, _)| *p != t);
        if let Some(at) = again {
            self.provisional.push((t, at));
        }
    }
}

/// Whether `a` is a newer answer for its slot than `b`.
fn newer(a: &Target, b: &Target) -> bool {
    (a.range, a.data_period) > (b.range, b.data_period)
}

/// What the poller knows about one app.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AppState {
    pub apis: BTreeMap<Api, ApiState>,
    pub paused_until: Option<DateTime<Utc>>,
    pub pause_reason: Option<String>,
    /// Consecutive app-scoped failures of the same kind, for a growing pause.
    pub hard_failures: u32,
    pub polled_once: bool,
    pub last_error: Option<String>,
}

/// An app as the snapshot renders it and the state file saves it.
pub struct AppRef<'a> {
    pub name: &'a str,
    pub kind: AppKind,
    pub state: &'a Mutex<AppState>,
}

/// Locks an app's state. A panic elsewhere cannot leave it half-written in
/// a way that matters more than losing the exporter: keep going.
pub fn lock(state: &Mutex<AppState>) -> MutexGuard<'_, AppState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Saved state by app name: the appid it belonged to and its state.
pub type SavedApps = BTreeMap<String, (String, AppState)>;
