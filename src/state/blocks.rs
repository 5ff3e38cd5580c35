//! The published form of one answer's samples: their exposition lines,
//! rendered once when the data arrives, one contiguous block per family.
//! The text is as small as the data gets on the wire, and `/metrics` is
//! built from these blocks by reference (see `snapshot.rs`): the state
//! and every scrape share the same bytes.
//!
//! `Sample`s can be had back (`iter`, for backfill and tests), and the
//! state file stores the text (`{"Family": "lines"}`); an old file's list
//! of samples is read as well.

use crate::families::{write_value, Family, Sample};
use bytes::Bytes;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Identity of a block set: the snapshot's gzip cache knows a group of
/// blocks by these, never by address (a freed block's address is reused).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The rendered samples of one answer.
#[derive(Clone)]
pub struct Blocks {
    id: u64,
    /// By family, in `Family::ALL` order, none empty; slices of one buffer.
    parts: Box<[(Family, Bytes)]>,
}

impl Blocks {
    /// Renders `samples` (their order within a family is kept).
    pub fn new(mut samples: Vec<Sample>) -> Self {
        samples.sort_by_key(|s| s.family);
        let mut text = String::with_capacity(samples.iter().map(|s| s.labels.len() + 64).sum());
        let mut ranges: Vec<(Family, usize, usize)> = Vec::new();
        for s in &samples {
            let at = text.len();
            line(&mut text, s);
            match ranges.last_mut() {
                Some((f, _, end)) if *f == s.family => *end = text.len(),
                _ => ranges.push((s.family, at, text.len())),
            }
        }
        // Kept for as long as the data is published: no spare capacity.
        text.shrink_to_fit();
        let buf = Bytes::from(text.into_bytes());
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            parts: ranges
                .into_iter()
                .map(|(f, a, b)| (f, buf.slice(a..b)))
                .collect(),
        }
    }

    /// A unique number per rendering; clones share it.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The exposition lines of each family present.
    pub fn parts(&self) -> &[(Family, Bytes)] {
        &self.parts
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Bytes of exposition text.
    pub fn text_len(&self) -> usize {
        self.parts.iter().map(|(_, b)| b.len()).sum()
    }

    /// The samples back, family by family.
    pub fn iter(&self) -> impl Iterator<Item = Sample> + '_ {
        self.parts.iter().flat_map(|(f, b)| {
            // Blocks are only ever built by `new`, so every line parses.
            b.split(|&c| c == b'\n')
                .filter(|l| !l.is_empty())
                .filter_map(move |l| parse_line(*f, l))
        })
    }
}

impl Default for Blocks {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

impl From<Vec<Sample>> for Blocks {
    fn from(s: Vec<Sample>) -> Self {
        Self::new(s)
    }
}

impl PartialEq for Blocks {
    fn eq(&self, other: &Self) -> bool {
        self.parts == other.parts
    }
}

impl std::fmt::Debug for Blocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Blocks {
    type Item = Sample;
    type IntoIter = Box<dyn Iterator<Item = Sample> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// Appends `name{labels} value\n`.
fn line(out: &mut String, s: &Sample) {
    out.push_str(s.family.name());
    out.push('{');
    out.push_str(&s.labels);
    out.push_str("} ");
    write_value(out, s.value);
    out.push('\n');
}

/// One line of `family`, as `line` wrote it; `None` if it is not one.
fn parse_line(family: Family, l: &[u8]) -> Option<Sample> {
    let l = std::str::from_utf8(l).ok()?;
    let rest = l.strip_prefix(family.name())?.strip_prefix('{')?;
    // Label values may hold `} ` but the value never does: split at the last.
    let (labels, value) = rest.rsplit_once("} ")?;
    let value = match value {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Sample {
        family,
        labels: labels.to_string(),
        value,
    })
}

impl Serialize for Blocks {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let map: BTreeMap<Family, &str> = self
            .parts
            .iter()
            // Built from a `String`: always UTF-8.
            .map(|(f, b)| (*f, std::str::from_utf8(b).unwrap_or_default()))
            .collect();
        map.serialize(s)
    }
}

/// What a state or backfill file holds: the text (version 2) or, from
/// files written before, the samples.
#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    Text(BTreeMap<Family, String>),
    Samples(Vec<Sample>),
}

impl<'de> Deserialize<'de> for Blocks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Stored::deserialize(d)? {
            Stored::Samples(s) => Ok(Blocks::new(s)),
            Stored::Text(map) => {
                // A file is outside input: every line must parse, and is
                // rendered again, so that what is served is well-formed.
                let mut samples = Vec::new();
                for (family, text) in &map {
                    for l in text.split('\n').filter(|l| !l.is_empty()) {
                        samples.push(parse_line(*family, l.as_bytes()).ok_or_else(|| {
                            D::Error::custom(format!(
                                "not a {} sample line: {:.80}",
                                family.name(),
                                l
                            ))
                        })?);
                    }
                }
                Ok(Blocks::new(samples))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Sample> {
        vec![
            Sample::new(
                Family::MpPageVisits,
                &[("app", "a"), ("page", "p} 1\"\n")],
                3.0,
            ),
            Sample::new(Family::MpVisits, &[("app", "a")], 1.5),
            Sample::new(Family::MpPageVisits, &[("app", "a"), ("page", "q")], 2.0),
            Sample::new(Family::MpVisits, &[("app", "b")], f64::NAN),
            Sample::new(Family::MpSessions, &[("app", "b")], f64::INFINITY),
        ]
    }

    #[test]
    fn one_block_per_family_in_family_order_keeping_sample_order() {
        let b = Blocks::new(samples());
        let fams: Vec<Family> = b.parts().iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fams,
            [Family::MpSessions, Family::MpVisits, Family::MpPageVisits]
        );
        assert_eq!(
            std::str::from_utf8(&b.parts()[2].1).unwrap(),
            "wechat_miniprogram_page_visits{app=\"a\",page=\"p} 1\\\"\\n\"} 3\n\
             wechat_miniprogram_page_visits{app=\"a\",page=\"q\"} 2\n"
        );
    }

    #[test]
    fn samples_come_back() {
        let b = Blocks::new(samples());
        let back: Vec<Sample> = b.iter().collect();
        assert_eq!(back.len(), 5);
        let mut want = samples();
        want.sort_by_key(|s| s.family);
        for (g, w) in back.iter().zip(&want) {
            assert_eq!((g.family, &g.labels), (w.family, &w.labels));
            assert!(g.value == w.value || (g.value.is_nan() && w.value.is_nan()));
        }
    }

    #[test]
    fn stored_as_text_and_read_back_in_both_formats() {
        let b = Blocks::new(samples());
        let json = serde_json::to_string(&b).unwrap();
        assert!(json.starts_with("{\"MpSessions\":\"wechat_miniprogram_sessions{"));
        let back: Blocks = serde_json::from_str(&json).unwrap();
        assert_eq!(back, b);
        assert_ne!(back.id(), b.id(), "a new rendering has its own identity");
        // Version 1 files hold samples (JSON has no NaN: finite values).
        let finite: Vec<Sample> = samples()
            .into_iter()
            .filter(|s| s.value.is_finite())
            .collect();
        let old = serde_json::to_string(&finite).unwrap();
        let from_old: Blocks = serde_json::from_str(&old).unwrap();
        let new = Blocks::new(finite);
        assert_eq!(from_old, new);
        assert!(serde_json::to_string(&new).unwrap().len() < old.len());
    }

    #[test]
    fn a_bad_line_in_a_file_is_an_error_not_served() {
        for bad in [
            r#"{"MpVisits":"wechat_miniprogram_sessions{app=\"a\"} 1\n"}"#,
            r#"{"MpVisits":"wechat_miniprogram_visits{app=\"a\"} x\n"}"#,
            r#"{"MpVisits":"wechat_miniprogram_visits{app=\"a\"}\n# HELP x\n"}"#,
        ] {
            assert!(serde_json::from_str::<Blocks>(bad).is_err(), "{bad}");
        }
    }
}
