//! JavaScript errors of a Mini Program (`getJsErrList`,
//! `POST /wxaapi/log/jserr_list`) per Beijing day, for every release
//! (slot 0, `appVersion: "0"`) and for each release the app lists in
//! `js_error_versions` (slot `i`, the `i`-th, newest first): today so far
//! (`day="today"`), and yesterday's whole day (`day="yesterday"`, slot
//! [`YESTERDAY`] + `i`).
//!
//! One call per release asks for the day's 30 most frequent errors (the
//! page's maximum `limit`): their summed `pv`, the count of distinct
//! errors (`totalCount`) and the largest `uvPercent` are published per
//! release; the all-releases call also publishes its 10 most frequent
//! errors of the day, keyed by `errorMsgMd5`, with the message on one info
//! series. Both days have them: just after midnight today's list is empty
//! or nearly, and yesterday's whole day is what a team looks at then. The
//! stack and the users are never published.
//!
//! The page takes dates (`"xxxx-xx-xx"`), not hours: today's numbers grow
//! until Beijing midnight, so today's answers are provisional and asked
//! again hourly; yesterday is asked once, at the day's first poll (the log
//! is whole at midnight: `ApiSpec::release_hour`), and kept:
//! `25 × (1 + releases)` calls a day.

use super::common::{
    day_targets, parse, skipped_notes, today_targets, Collected, Collector, Ctx, Plan, ShapeError,
    Target,
};
use crate::families::{Family, Sample};
use crate::wechat::types::Lenient;
use serde::{Deserialize, Deserializer, Serialize};

/// Added to a release's slot for its yesterday target.
pub const YESTERDAY: u32 = 100;

/// The most errors one call returns (the page: "一次拉取最大值, 最大 30").
pub const LIMIT: u32 = 30;

/// The errors of the all-releases answer published one by one.
pub const TOP_MESSAGES: usize = 10;

/// The longest message published (characters of its first line).
const MESSAGE_CHARS: usize = 120;

/// One error of the list. `uvPercent` and `pvPercent` are strings in the
/// page and the SDKs (`"0.15%"` or `"0.15"`); a number is read as well.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct JsError {
    #[serde(rename = "errorMsgMd5")]
    pub error_msg_md5: String,
    #[serde(rename = "errorMsg", default)]
    pub error_msg: String,
    pub uv: f64,
    pub pv: f64,
    #[serde(
        rename = "uvPercent",
        default,
        deserialize_with = "percent",
        skip_serializing_if = "Option::is_none"
    )]
    pub uv_percent: Option<f64>,
}

/// The answer of `/wxaapi/log/jserr_list`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct JsErrList {
    #[serde(default)]
    pub data: Lenient<JsError>,
    #[serde(rename = "totalCount")]
    pub total_count: f64,
}

/// A percentage sent as `"0.15%"`, `"0.15"` or `0.15`, as a ratio (0.0015).
fn percent<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(f64),
        Text(String),
    }
    let v = match Option::<Raw>::deserialize(d)? {
        None => return Ok(None),
        Some(Raw::Number(n)) => n,
        Some(Raw::Text(t)) => {
            let t = t.trim().trim_end_matches('%').trim();
            if t.is_empty() {
                return Ok(None);
            }
            t.parse::<f64>().map_err(serde::de::Error::custom)?
        }
    };
    Ok(v.is_finite().then_some(v / 100.0))
}

/// The release a slot names (today's or yesterday's target alike):
/// `None` for every release (slot 0 and [`YESTERDAY`]).
pub fn version_of(versions: &[String], slot: u32) -> Option<&str> {
    let i = usize::try_from(slot % YESTERDAY).ok()?.checked_sub(1)?;
    versions.get(i).map(String::as_str)
}

/// The first line of `msg`, at most [`MESSAGE_CHARS`] characters, without
/// control characters: a label, not a stack.
pub fn message_label(msg: &str) -> String {
    let line = msg.lines().next().unwrap_or("").trim();
    let mut out: String = line
        .chars()
        .filter(|c| !c.is_control())
        .take(MESSAGE_CHARS)
        .collect();
    if line.chars().count() > MESSAGE_CHARS {
        out.push('…');
    }
    out
}

pub struct JsErrors;

impl Collector for JsErrors {
    fn plan(&self, p: &Plan) -> Vec<Target> {
        let releases = p.app.js_error_versions.len() as u32;
        let yesterday = crate::dates::beijing_date(p.now) - chrono::Duration::days(1);
        let mut targets = today_targets(p.now, 0..=releases);
        targets.extend(day_targets(
            yesterday,
            (0..=releases).map(|r| YESTERDAY + r),
        ));
        targets
    }

    fn collect(
        &self,
        ctx: &Ctx,
        target: &Target,
        body: serde_json::Value,
    ) -> Result<Collected, ShapeError> {
        let (release, today) = match target.slot.checked_sub(YESTERDAY) {
            Some(r) => (r, false),
            None => (target.slot, true),
        };
        let day = if today { "today" } else { "yesterday" };
        let version = match release {
            0 => "all",
            _ => match version_of(&ctx.slot_names, release) {
                Some(v) => v,
                // A release no longer listed (a reload dropped it).
                None => return Ok(Collected::NotReady),
            },
        };
        let a: JsErrList = parse(body)?;
        let labels = [("app", ctx.app), ("version", version), ("day", day)];
        let mut skipped = Vec::new();
        skipped_notes("data", &a.data, &mut skipped);
        let errors = a.data.into_items();
        let mut out = vec![
            Sample::new(
                Family::MpJsErrors,
                &labels,
                errors.iter().map(|e| e.pv).sum(),
            ),
            Sample::new(Family::MpJsErrorKinds, &labels, a.total_count),
            Sample::new(
                Family::MpJsErrorTopUserRatio,
                &labels,
                errors
                    .iter()
                    .filter_map(|e| e.uv_percent)
                    .fold(0.0, f64::max),
            ),
        ];
        if release == 0 {
            top_messages(ctx.app, day, errors, &mut out);
        } else if today {
            let rank = (release - 1).to_string();
            out.push(Sample::new(
                Family::MpJsErrorVersionInfo,
                &[("app", ctx.app), ("version", version), ("rank", &rank)],
                1.0,
            ));
        }
        // Today's numbers grow until midnight; yesterday's are final, and
        // report what did not fit.
        Ok(Collected::settled(out, skipped, today))
    }
}

/// The [`TOP_MESSAGES`] most frequent errors of `day` (by `pv`, then
/// digest), each digest once: WeChat lists one error per message and stack,
/// so a message can repeat with another stack; its numbers are summed.
fn top_messages(app: &str, day: &str, errors: Vec<JsError>, out: &mut Vec<Sample>) {
    let mut by_digest: Vec<JsError> = Vec::new();
    for e in errors {
        let digest_ok = !e.error_msg_md5.is_empty()
            && e.error_msg_md5.len() <= 64
            && e.error_msg_md5.chars().all(|c| c.is_ascii_alphanumeric());
        if !digest_ok {
            continue;
        }
        match by_digest
            .iter_mut()
            .find(|k| k.error_msg_md5 == e.error_msg_md5)
        {
            Some(k) => {
                k.pv += e.pv;
                k.uv += e.uv;
            }
            None => by_digest.push(e),
        }
    }
    by_digest.sort_by(|a, b| {
        b.pv.total_cmp(&a.pv)
            .then_with(|| a.error_msg_md5.cmp(&b.error_msg_md5))
    });
    for e in by_digest.iter().take(TOP_MESSAGES) {
        let id = [
            ("app", app),
            ("digest", e.error_msg_md5.as_str()),
            ("day", day),
        ];
        let message = message_label(&e.error_msg);
        out.push(Sample::new(
            Family::MpJsErrorMessageInfo,
            &[
                ("app", app),
                ("digest", e.error_msg_md5.as_str()),
                ("day", day),
                ("message", &message),
            ],
            1.0,
        ));
        out.push(Sample::new(Family::MpJsErrorMessageOccurrences, &id, e.pv));
        out.push(Sample::new(Family::MpJsErrorMessageUsers, &id, e.uv));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Api, AppKind};
    use crate::collectors::common::fixtures::{app, value};

    fn ctx(versions: &[&str]) -> Ctx<'static> {
        let mut c = crate::collectors::common::fixtures::ctx("shop", 20);
        c.slot_names = versions.iter().map(|v| v.to_string()).collect();
        c
    }

    #[test]
    fn one_target_per_release_and_one_for_all() {
        let mut a = app(AppKind::Miniprogram);
        a.js_error_versions = vec!["2.1.0".into(), "2.0.3".into()];
        let now = "2026-01-01T17:00:00Z".parse().expect("instant");
        let t = JsErrors.plan(&Plan::new(now, Api::JsErrors, &a));
        let slots: Vec<_> = t.iter().map(|t| t.slot).collect();
        assert_eq!(slots, [0, 1, 2, YESTERDAY, YESTERDAY + 1, YESTERDAY + 2]);
        // 01:00 Beijing on 2 January: today and the 1st.
        assert_eq!(t[0].range.begin.to_string(), "2026-01-02");
        assert_eq!(t[3].range.begin.to_string(), "2026-01-01");
        assert_eq!(version_of(&a.js_error_versions, 2), Some("2.0.3"));
        assert_eq!(
            version_of(&a.js_error_versions, YESTERDAY + 2),
            Some("2.0.3")
        );
        assert_eq!(version_of(&a.js_error_versions, 0), None);
        assert_eq!(version_of(&a.js_error_versions, 3), None);
    }

    #[test]
    fn a_release_answer_sums_its_errors() {
        let a = app(AppKind::Miniprogram);
        let now = "2026-01-01T17:00:00Z".parse().expect("instant");
        let mut targets = JsErrors.plan(&Plan::new(now, Api::JsErrors, &a));
        targets[0].slot = 2;
        let body = serde_json::json!({"errcode":0,"totalCount":41,"data":[
            {"errorMsgMd5":"a1","errorMsg":"x","uv":3,"pv":9,"uvPercent":"1.5%","errorStack":"at p (o1)"},
            {"errorMsgMd5":"b2","errorMsg":"y","uv":1,"pv":2,"uvPercent":"0.25"},
            {"errorMsgMd5":"c3","errorMsg":"z","uv":"bad","pv":2}]});
        let Ok(Collected::Provisional(s)) =
            JsErrors.collect(&ctx(&["2.1.0", "2.0.3"]), &targets[0], body)
        else {
            panic!("provisional samples");
        };
        let v = |f| value(&s, f, "version=\"2.0.3\",day=\"today\"");
        assert_eq!(v(Family::MpJsErrors), Some(11.0));
        assert_eq!(v(Family::MpJsErrorKinds), Some(41.0));
        assert_eq!(v(Family::MpJsErrorTopUserRatio), Some(0.015));
        assert_eq!(
            value(&s, Family::MpJsErrorVersionInfo, "rank=\"1\""),
            Some(1.0)
        );
        // Per-message series come from the all-releases call only.
        assert_eq!(
            value(&s, Family::MpJsErrorMessageInfo, "app=\"shop\""),
            None
        );
        assert!(s.iter().all(|x| !x.labels.contains("o1")));
        let bad = serde_json::json!({"errcode":0,"data":[]});
        assert!(JsErrors
            .collect(&ctx(&["2.1.0", "2.0.3"]), &targets[0], bad)
            .is_err());
    }

    #[test]
    fn yesterday_is_final_and_labelled() {
        let a = app(AppKind::Miniprogram);
        let now = "2026-01-01T17:00:00Z".parse().expect("instant");
        let targets = JsErrors.plan(&Plan::new(now, Api::JsErrors, &a));
        let body = serde_json::json!({"errcode":0,"totalCount":1,"data":[
            {"errorMsgMd5":"a1","errorMsg":"x","uv":3,"pv":9,"uvPercent":"1.5%"},
            {"errorMsgMd5":"b2","pv":"many","uv":1}]});
        for (slot, version) in [(YESTERDAY, "all"), (YESTERDAY + 1, "2.1.0")] {
            let t = Target { slot, ..targets[1] };
            // Final, with the item that did not fit reported.
            let Ok(Collected::Partial {
                samples: s,
                skipped,
            }) = JsErrors.collect(&ctx(&["2.1.0"]), &t, body.clone())
            else {
                panic!("final samples");
            };
            assert!(skipped[0].starts_with("data[1]"), "{skipped:?}");
            let labels = format!("version=\"{version}\",day=\"yesterday\"");
            assert_eq!(value(&s, Family::MpJsErrors, &labels), Some(9.0));
            // Ranks are today's alone; messages come from every release's
            // answer, each day's under its own name.
            assert!(s.iter().all(|x| x.family != Family::MpJsErrorVersionInfo));
            let message = value(
                &s,
                Family::MpJsErrorMessageOccurrences,
                "digest=\"a1\",day=\"yesterday\"",
            );
            assert_eq!(message, (version == "all").then_some(9.0));
            assert!(s.iter().all(|x| !x.labels.contains("day=\"today\"")));
        }
    }

    #[test]
    fn the_all_releases_answer_names_its_top_messages() {
        let a = app(AppKind::Miniprogram);
        let now = "2026-01-01T17:00:00Z".parse().expect("instant");
        let targets = JsErrors.plan(&Plan::new(now, Api::JsErrors, &a));
        let long = format!("TypeError: {}\n    at page.js:1", "x".repeat(200));
        let mut data: Vec<_> = (0..14)
            .map(|i| serde_json::json!({"errorMsgMd5":format!("d{i:02}"),"errorMsg":"m","uv":1,"pv":i}))
            .collect();
        data.push(serde_json::json!({"errorMsgMd5":"d13","errorMsg":long,"uv":2,"pv":100}));
        let body = serde_json::json!({"errcode":0,"totalCount":15,"data":data});
        let Ok(Collected::Provisional(s)) = JsErrors.collect(&ctx(&[]), &targets[0], body) else {
            panic!("provisional samples");
        };
        let info: Vec<_> = s
            .iter()
            .filter(|x| x.family == Family::MpJsErrorMessageInfo)
            .collect();
        assert_eq!(info.len(), TOP_MESSAGES);
        // d13 twice (two stacks): summed, first.
        assert_eq!(
            value(&s, Family::MpJsErrorMessageOccurrences, "digest=\"d13\""),
            Some(113.0)
        );
        assert_eq!(
            value(&s, Family::MpJsErrorMessageUsers, "digest=\"d13\""),
            Some(3.0)
        );
        assert_eq!(
            value(&s, Family::MpJsErrorMessageOccurrences, "digest=\"d03\""),
            None
        );
        assert!(info.iter().all(|x| !x.labels.contains("page.js")));
        assert_eq!(message_label(&long).chars().count(), MESSAGE_CHARS + 1);
    }
}
