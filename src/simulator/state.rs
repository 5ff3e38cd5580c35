//! The simulator's mutable state (apps, tokens, faults, the request log,
//! quotas, the platform) behind its one lock, and `Inner`, what every clone
//! of the simulator and the server share. No `.await` is ever held across
//! the lock.

use super::faults::Faults;
use super::platform::SimPlatform;
use super::tokens::Tokens;
use super::types::{NotReady, RecordedRequest, SimApp};
use crate::clock::Clock;
use chrono::NaiveDate;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Mutable state behind one lock; no `.await` is ever held across it.
pub(crate) struct State {
    pub(super) release_hour: f64,
    pub(super) not_ready: NotReady,
    pub(super) apps: HashMap<String, SimApp>,
    pub(super) tokens: Tokens,
    pub(super) faults: Faults,
    pub(super) log: Vec<RecordedRequest>,
    /// Datacube calls per app on one Beijing day.
    pub(super) quota: HashMap<String, (NaiveDate, u32)>,
    /// Calls per app and path on one Beijing day (`getApiQuota`).
    pub(super) path_calls: super::quota::PathCalls,
    pub(super) rid_counter: u64,
    /// A third-party platform, once `enable_platform` was called.
    pub(super) platform: Option<SimPlatform>,
}

pub(crate) struct Inner {
    pub(super) seed: u64,
    pub(super) clock: Clock,
    pub(super) state: Mutex<State>,
}

impl Inner {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock still holds consistent state: every update is a
        // few plain assignments.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
