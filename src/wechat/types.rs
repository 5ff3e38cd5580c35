//! The shapes every WeChat answer shares: item-by-item lists
//! ([`Lenient`]), `{"list": [...]}`, key/value pairs, the error body and
//! token answers. Each API's own response types live beside its
//! collector (`collectors/<api>.rs`); the rules below hold for them too.
//!
//! Numbers are `f64` because WeChat sends `211` one day and `39.3706` the
//! next; fields are `Option` because real responses leave fields out (a
//! missing field is an absent series, never 0). Open sets (distribution
//! indexes, scene keys, sources) stay strings or numbers, not enums.
//! The simulator serialises the same types, so both sides share one shape.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A list parsed item by item: an item that does not fit its type is
/// skipped and remembered, the others are kept. Real answers vary, and one
/// odd page row or scene must not cost the rest of the answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Lenient<T> {
    items: Vec<T>,
    /// The index in the original list of each kept item.
    positions: Vec<usize>,
    pub skipped: Vec<Skipped>,
}

/// One list item that did not fit.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    /// Its index in the list, and the path inside it of what did not fit.
    pub index: usize,
    pub path: String,
    pub reason: String,
    pub excerpt: String,
}

/// The first characters of a JSON value, for a log line.
pub fn excerpt(v: &serde_json::Value) -> String {
    const MAX: usize = 80;
    let text = v.to_string();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            positions: Vec::new(),
            skipped: Vec::new(),
        }
    }
}

impl<T> From<Vec<T>> for Lenient<T> {
    fn from(items: Vec<T>) -> Self {
        Self {
            positions: (0..items.len()).collect(),
            items,
            skipped: Vec::new(),
        }
    }
}

impl<T: PartialEq> PartialEq<Vec<T>> for Lenient<T> {
    fn eq(&self, other: &Vec<T>) -> bool {
        self.skipped.is_empty() && &self.items == other
    }
}

impl<T> FromIterator<T> for Lenient<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        iter.into_iter().collect::<Vec<T>>().into()
    }
}

impl<T> std::ops::Deref for Lenient<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.items
    }
}

impl<T> Lenient<T> {
    /// The kept items, owned.
    pub fn into_items(self) -> Vec<T> {
        self.items
    }

    /// The kept items with their index in the original list.
    pub fn indexed(&self) -> impl Iterator<Item = (usize, &T)> {
        self.positions.iter().copied().zip(self.items.iter())
    }

    /// Kept items, reordered by `cmp` (their positions follow them).
    pub fn sort_by(&mut self, mut cmp: impl FnMut(&T, &T) -> std::cmp::Ordering) {
        let mut pairs: Vec<(usize, T)> = std::mem::take(&mut self.positions)
            .into_iter()
            .zip(std::mem::take(&mut self.items))
            .collect();
        pairs.sort_by(|a, b| cmp(&a.1, &b.1));
        (self.positions, self.items) = pairs.into_iter().unzip();
    }
}

impl<'a, T> IntoIterator for &'a Lenient<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Vec::<serde_json::Value>::deserialize(d)?;
        let mut out = Lenient::default();
        for (index, v) in raw.into_iter().enumerate() {
            match serde_path_to_error::deserialize::<_, T>(&v) {
                Ok(item) => {
                    out.items.push(item);
                    out.positions.push(index);
                }
                Err(e) => out.skipped.push(Skipped {
                    index,
                    path: e.path().to_string(),
                    reason: e.inner().to_string(),
                    excerpt: excerpt(&v),
                }),
            }
        }
        Ok(out)
    }
}

impl<T: Serialize> Serialize for Lenient<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.items.serialize(s)
    }
}

/// WeChat's error envelope: present on failures, usually absent on success.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ErrorBody {
    #[serde(default)]
    pub errcode: Option<i64>,
    #[serde(default)]
    pub errmsg: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: f64,
}

/// `{"list": [...]}`, the shape of summary, trend and Official Account data.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ListResponse<T> {
    #[serde(
        default = "Lenient::default",
        bound(deserialize = "T: DeserializeOwned")
    )]
    pub list: Lenient<T>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct KeyValue {
    pub key: f64,
    pub value: f64,
}

/// For `skip_serializing_if`: the simulator leaves out empty lists.
pub fn no_items<T>(l: &Lenient<T>) -> bool {
    l.is_empty()
}
