//! The generator's core, which `data.rs` and `data/articles.rs` both build
//! on: one app's key and scale, the uniform draws every number is made
//! from, the largest-remainder split, WeChat's rounding and the day
//! cumulative series count from. It imports nothing of `data`, so the two
//! need not import each other.

use crate::simulator::hash::{fnv1a, mix};
use chrono::{Datelike, NaiveDate};

/// Salt of the app's size; `data.rs` and `articles.rs` keep the others.
const S_APP: u64 = 1;

/// Rounds to WeChat's four decimals (`39.3706`).
pub(super) fn r4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Cumulative series (`visit_total`, `cumulate_user`) are sums of daily
/// values counted from this day, so a call costs a few hundred hash rounds
/// for current dates instead of one per day since 2014.
pub(super) fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default()
}

/// Generator for one app: the seed and appid folded into one key.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Gen {
    key: u64,
    pub(super) scale: f64,
    /// See `SimApp::pages`.
    pub(super) pages: Option<usize>,
}

impl Gen {
    pub fn new(seed: u64, appid: &str, scale: f64) -> Self {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        Self {
            key: mix(&[seed, fnv1a(appid)]),
            scale,
            pages: None,
        }
    }

    pub fn with_pages(self, pages: Option<usize>) -> Self {
        Self { pages, ..self }
    }

    /// A uniform number in [0, 1) for (salt, a, b).
    pub(super) fn u(&self, salt: u64, a: u64, b: u64) -> f64 {
        (mix(&[self.key, salt, a, b]) >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(super) fn dn(d: NaiveDate) -> u64 {
        d.num_days_from_ce() as u64
    }

    /// How big this app is relative to the configured scale (0.6–1.4).
    pub(super) fn app_factor(&self) -> f64 {
        0.6 + 0.8 * self.u(S_APP, 0, 0)
    }

    /// `total` split over `weights` (each jittered ±30% for `(salt, day)`),
    /// by largest remainder so the parts add up to `total` exactly.
    pub(super) fn split(&self, total: f64, weights: &[f64], salt: u64, day: u64) -> Vec<f64> {
        let w: Vec<f64> = weights
            .iter()
            .enumerate()
            .map(|(i, w)| w * (0.7 + 0.6 * self.u(salt, day, i as u64)))
            .collect();
        let sum: f64 = w.iter().sum();
        let total = total.max(0.0).round();
        if sum <= 0.0 || w.is_empty() {
            return vec![0.0; weights.len()];
        }
        let exact: Vec<f64> = w.iter().map(|x| total * x / sum).collect();
        let mut parts: Vec<f64> = exact.iter().map(|x| x.floor()).collect();
        let mut left = (total - parts.iter().sum::<f64>()).round() as usize;
        let mut order: Vec<usize> = (0..parts.len()).collect();
        order.sort_by(|&a, &b| {
            let (ra, rb) = (exact[a] - parts[a], exact[b] - parts[b]);
            rb.total_cmp(&ra).then(a.cmp(&b))
        });
        for i in order {
            if left == 0 {
                break;
            }
            parts[i] += 1.0;
            left -= 1;
        }
        parts
    }
}
