//! The simulator's `getFeedback` (`GET /wxaapi/feedback/list`): each
//! app's feedback box fills at a steady rate per type, the same for the
//! same seed, appid and instant, so a test can compute what was served
//! ([`total`]). Items carry made-up personal fields, as real ones carry
//! real ones; the exporter must never publish them.
//!
//! Validation (the page gives none; the simulator's choice): `page` ≥ 1,
//! `num` 1–100 and `type`, when given, 1–8; otherwise 47001.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Items per 100 hours, by type 1–8 (more "other" and "slow" than crashes).
const RATE_PER_100H: [u64; 8] = [3, 5, 8, 4, 2, 2, 10, 12];

/// Hours since this instant count; the box starts with a few items.
const EPOCH: i64 = 1_735_660_800; // 2025-01-01 00:00 Beijing

/// How many feedback items of `kind` (1–8) `appid` has at `now`.
pub fn total(seed: u64, appid: &str, kind: u32, now: DateTime<Utc>) -> u64 {
    let i = (kind.clamp(1, 8) - 1) as usize;
    let hours = ((now.timestamp() - EPOCH).max(0) / 3600) as u64;
    let base = appid
        .bytes()
        .fold(seed, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
        .wrapping_add(u64::from(kind))
        % 20;
    base + hours * RATE_PER_100H[i] / 100
}

/// The answer to a list call with `query`, or its errcode.
pub(crate) fn answer(
    seed: u64,
    appid: &str,
    query: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<Value, i64> {
    let num = |k: &str| query.get(k).map(|v| v.parse::<u64>().map_err(|_| 47001));
    let page = num("page").unwrap_or(Err(47001))?;
    let size = num("num").unwrap_or(Err(47001))?;
    if page == 0 || !(1..=100).contains(&size) {
        return Err(47001);
    }
    let kinds: Vec<u32> = match num("type").transpose()? {
        None => (1..=8).collect(),
        Some(t @ 1..=8) => vec![t as u32],
        Some(_) => return Err(47001),
    };
    let total_num: u64 = kinds.iter().map(|k| total(seed, appid, *k, now)).sum();
    let first = (page - 1) * size;
    let list: Vec<Value> = (first..(first + size).min(total_num))
        .map(|i| {
            let kind = kinds[(i as usize) % kinds.len()];
            json!({
                "record_id": total_num - i,
                "create_time": now.timestamp() - (i as i64) * 600,
                "content": "页面打不开",
                "phone": 18800000000u64 + i,
                "openid": format!("oSIM{i:08}"),
                "nickname": "反馈用户",
                "head_url": "",
                "type": kind,
                "mediaIds": [],
                "systemInfo": "{}",
            })
        })
        .collect();
    Ok(json!({"list": list, "total_num": total_num}))
}
