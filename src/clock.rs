//! The one source of "now" for the poller and the simulator.
//!
//! Production uses the system clock. Tests share one [`Clock::manual`] between
//! the simulator and the poller so that thirty simulated days run in seconds
//! and both sides agree on what "yesterday" is.

use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// A clock that only moves when told to; clones share the same time.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self {
            manual: Some(Arc::new(Mutex::new(start))),
        }
    }

    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            // A poisoned lock still holds a valid instant.
            Some(m) => *m.lock().unwrap_or_else(|e| e.into_inner()),
            None => Utc::now(),
        }
    }

    /// Moves a manual clock to `t`; no effect on the system clock.
    pub fn set(&self, t: DateTime<Utc>) {
        if let Some(m) = &self.manual {
            *m.lock().unwrap_or_else(|e| e.into_inner()) = t;
        }
    }

    /// Moves a manual clock forward; no effect on the system clock.
    pub fn advance(&self, d: Duration) {
        if let Some(m) = &self.manual {
            let mut g = m.lock().unwrap_or_else(|e| e.into_inner());
            *g += d;
        }
    }
}
