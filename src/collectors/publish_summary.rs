//! Official Account publish analytics (2025): the account's published
//! content on yesterday (`getbizsummary`): readers, sharers, likes, hearts
//! (在看), comments, and any other number WeChat adds. `is_delay: true`
//! marks numbers that may still change: they are published as
//! provisional and asked for again until WeChat says they are final.

use super::common::latest_period;
use super::common::{dated_rows, is_delay, Collected, Collector, Ctx, Plan, ShapeError, Target};
use crate::dates::Period;
use crate::families::{Family, Sample};

use serde::{Deserialize, Serialize};
// The answer's types (the simulator serialises the same ones).

/// A row of `getbizsummary`: the account's published content on one day.
/// `detail` is kept as a map: every number in it is published, the
/// documented ones under their own names.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct BizSummaryRow {
    pub ref_date: String,
    #[serde(default)]
    pub detail: serde_json::Map<String, serde_json::Value>,
}

/// The documented numbers of `detail`, and their families.
const KNOWN: [(&str, Family); 5] = [
    ("read_user", Family::OaPublishReaders),
    ("share_user", Family::OaPublishSharers),
    ("like_user", Family::OaPublishLikes),
    ("zaikan_user", Family::OaPublishHearts),
    ("comment_count", Family::OaPublishComments),
];

pub struct PublishSummary;

impl Collector for PublishSummary {
    fn plan(&self, p: &Plan) -> Vec<Target> {
        let now = p.now;
        latest_period(Period::Daily, now)
    }

    fn collect(
        &self,
        ctx: &Ctx,
        target: &Target,
        body: serde_json::Value,
    ) -> Result<Collected, ShapeError> {
        let delayed = is_delay(&body);
        let Some((rows, skipped)) =
            dated_rows::<BizSummaryRow>(ctx, target, body, |r| &r.ref_date)?
        else {
            return Ok(Collected::NotReady);
        };
        let mut out = Vec::new();
        // A released day without a row: nothing was read; the documented
        // numbers are 0.
        let detail = rows
            .into_iter()
            .next()
            .map(|r| r.detail)
            .unwrap_or_default();
        for (field, family) in KNOWN {
            let v = detail.get(field).and_then(serde_json::Value::as_f64);
            out.push(Sample::new(family, &[("app", ctx.app)], v.unwrap_or(0.0)));
        }
        for (field, v) in &detail {
            if KNOWN.iter().any(|(k, _)| k == field) {
                continue;
            }
            if let Some(v) = v.as_f64() {
                out.push(Sample::new(
                    Family::OaPublishDetail,
                    &[("app", ctx.app), ("field", field.as_str())],
                    v,
                ));
            }
        }
        Ok(Collected::settled(out, skipped, delayed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target() -> Target {
        crate::collectors::common::fixtures::day_target("2025-11-10")
    }

    fn ctx() -> Ctx<'static> {
        crate::collectors::common::fixtures::ctx("news", 20)
    }

    #[test]
    fn every_number_is_published_and_is_delay_makes_it_provisional() {
        let body = json!({
            "list": [{"ref_date": "2025-11-10", "detail": {
                "read_user": 4123, "share_user": 366, "zaikan_user": 191,
                "like_user": 386, "comment_count": 12, "collect_user": 7,
                "read_user_source": [{"user_source": 0, "read_user": 100}]
            }}],
            "is_delay": true
        });
        let Collected::Provisional(s) = PublishSummary.collect(&ctx(), &target(), body).unwrap()
        else {
            panic!("is_delay: provisional");
        };
        let get = |f: Family, labels: &str| {
            s.iter()
                .find(|x| x.family == f && x.labels.contains(labels))
                .map(|x| x.value)
        };
        assert_eq!(get(Family::OaPublishReaders, "news"), Some(4123.0));
        assert_eq!(get(Family::OaPublishHearts, "news"), Some(191.0));
        assert_eq!(get(Family::OaPublishComments, "news"), Some(12.0));
        // An undocumented number is kept under its own name.
        assert_eq!(
            get(Family::OaPublishDetail, "field=\"collect_user\""),
            Some(7.0)
        );
        assert_eq!(s.len(), 6, "lists are not numbers: {s:?}");
        let final_body = json!({"list": [{"ref_date": "2025-11-10", "detail": {"read_user": 1}}], "is_delay": false});
        assert!(matches!(
            PublishSummary
                .collect(&ctx(), &target(), final_body)
                .unwrap(),
            Collected::Samples(_)
        ));
    }
}
