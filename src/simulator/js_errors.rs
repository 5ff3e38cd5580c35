//! The simulator's `getJsErrList` (`POST /wxaapi/log/jserr_list`): each
//! release of each app throws its own set of errors, each at its own rate,
//! through every Beijing day, the same for the same seed, appid, release
//! and instant, so a test can compute what was served ([`errors`]). Any
//! release name has errors (WeChat answers an unknown one with an empty
//! list; the simulator has no list of releases to check against).
//!
//! Validation (the page gives none; the simulator's choice): every field
//! of the page present; dates `yyyy-mm-dd`, start ≤ end; `errType` 0–3;
//! `orderby` `uv` or `pv`; `desc` `1` or `2`; `limit` 1–30 (the page's
//! maximum); otherwise 47001.

use super::hash::{fnv1a, mix};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Map, Value};

/// One error of a release on one day, as far as `now` has come.
#[derive(Clone, Debug, PartialEq)]
pub struct SimError {
    pub md5: String,
    pub message: String,
    pub stack: String,
    pub pv: u64,
    pub uv: u64,
    /// Users of the release that day, for `uvPercent`.
    pub users: u64,
}

impl SimError {
    /// `uvPercent` as WeChat writes it: a percentage in a string.
    pub fn uv_percent(&self) -> String {
        format!("{:.2}%", self.uv as f64 * 100.0 / self.users.max(1) as f64)
    }
}

/// `key` and the words `parts` hashed into one.
fn hash(key: u64, parts: &[&str]) -> u64 {
    let words: Vec<u64> = std::iter::once(key)
        .chain(parts.iter().map(|p| fnv1a(p)))
        .collect();
    mix(&words)
}

/// How much of Beijing day `day` has passed at `now`, 0 to 1.
fn day_fraction(day: NaiveDate, now: DateTime<Utc>) -> f64 {
    let secs = (now - crate::dates::beijing_midnight(day)).num_seconds();
    (secs as f64 / 86_400.0).clamp(0.0, 1.0)
}

/// The errors `version` (`"0"`: every release) of `appid` has thrown on
/// `day` by `now` (the whole day once it is over), those that happened.
pub fn errors(
    seed: u64,
    appid: &str,
    version: &str,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Vec<SimError> {
    let key = hash(seed, &[appid, version]);
    let day_key = hash(key, &[&day.to_string()]);
    let elapsed = day_fraction(day, now);
    let users = 2_000 + day_key % 6_000;
    // Every release has its own spread: some a few errors, "all" more
    // than one answer holds (30).
    let kinds = if version == "0" {
        20 + day_key % 25
    } else {
        2 + day_key % 14
    };
    (0..kinds)
        .filter_map(|i| {
            // Who the error is stays; how often it is thrown varies by day.
            let k = hash(key, &[&i.to_string()]);
            let per_day = (hash(day_key, &[&i.to_string()]) % 900) / (i + 1) + 1;
            let pv = (per_day as f64 * elapsed).floor() as u64;
            if pv == 0 {
                return None;
            }
            Some(SimError {
                md5: format!("{:016x}{:016x}", k, hash(k, &["md5"])),
                message: format!(
                    "TypeError: Cannot read property 'f{}' of undefined\n    at pages/p{}/index.js:{}",
                    k % 97,
                    i,
                    k % 300
                ),
                stack: format!("at Object.onLoad (pages/p{i}/index.js:{})", k % 300),
                pv,
                uv: pv.div_ceil(3),
                users,
            })
        })
        .collect()
}

/// The answer to a list call with body `obj`, or its errcode.
pub(crate) fn answer(
    seed: u64,
    appid: &str,
    obj: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Value, i64> {
    let text = |k: &str| obj.get(k).and_then(Value::as_str).ok_or(47001);
    let number = |k: &str| obj.get(k).and_then(Value::as_u64).ok_or(47001);
    let date = |k: &str| NaiveDate::parse_from_str(text(k)?, "%Y-%m-%d").map_err(|_| 47001);
    let (start, end) = (date("startTime")?, date("endTime")?);
    let version = text("appVersion")?;
    let orderby = text("orderby")?;
    let ascending = match text("desc")? {
        "1" => false,
        "2" => true,
        _ => return Err(47001),
    };
    let (offset, limit) = (number("offset")?, number("limit")?);
    text("keyword")?;
    text("openid")?;
    let err_type_ok = matches!(text("errType")?, "0" | "1" | "2" | "3");
    if start > end || version.is_empty() || !err_type_ok || !(1..=30).contains(&limit) {
        return Err(47001);
    }
    let mut list: Vec<SimError> = start
        .iter_days()
        .take_while(|d| *d <= end)
        .flat_map(|d| errors(seed, appid, version, d, now))
        .collect();
    let by_users = match orderby {
        "pv" => false,
        "uv" => true,
        _ => return Err(47001),
    };
    list.sort_by_key(|e| (if by_users { e.uv } else { e.pv }, e.md5.clone()));
    if !ascending {
        list.reverse();
    }
    let total = list.len();
    let data: Vec<Value> = list
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|e| {
            json!({
                "errorMsgMd5": e.md5,
                "errorMsg": e.message,
                "uv": e.uv,
                "pv": e.pv,
                "errorStackMd5": format!("{:016x}", fnv1a(&e.stack)),
                "errorStack": e.stack,
                "pvPercent": format!("{:.2}%", e.pv as f64 * 100.0 / (total as f64 * 50.0).max(1.0)),
                "uvPercent": e.uv_percent(),
            })
        })
        .collect();
    Ok(json!({"success": true, "openid": "", "data": data, "totalCount": total}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Map<String, Value> {
        let v = json!({"appVersion":"0","errType":"0","startTime":"2026-12-01",
            "endTime":"2026-12-01","keyword":"","openid":"","orderby":"pv",
            "desc":"1","offset":0,"limit":30});
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_list_is_ordered_paged_and_validated() {
        let now = "2026-12-01T12:00:00Z".parse().expect("instant");
        let a = answer(7, "wxa", &body(), now).expect("answer");
        let pv: Vec<u64> = a["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["pv"].as_u64())
            .collect();
        assert!(!pv.is_empty() && pv.len() <= 30);
        assert!(pv.windows(2).all(|w| w[0] >= w[1]), "{pv:?}");
        let mut asc = body();
        asc.insert("desc".into(), json!("2"));
        let a2 = answer(7, "wxa", &asc, now).expect("answer");
        assert_eq!(a2["totalCount"], a["totalCount"]);
        for (k, v) in [
            ("limit", json!(31)),
            ("limit", json!(0)),
            ("orderby", json!("time")),
            ("desc", json!("0")),
            ("errType", json!("4")),
            ("startTime", json!("20261201")),
            ("endTime", json!("2026-11-30")),
        ] {
            let mut b = body();
            b.insert(k.into(), v);
            assert_eq!(answer(7, "wxa", &b, now), Err(47001), "{k}");
        }
        let mut b = body();
        b.remove("keyword");
        assert_eq!(answer(7, "wxa", &b, now), Err(47001));
    }
}
