//! Official Account message analysis: messages and senders by type for
//! the latest day, week and month (`getupstreammsg`, `…week`, `…month`),
//! by hour of yesterday (`getupstreammsghour`), and senders by how many
//! messages they sent (`getupstreammsgdist`, `…week`, `…month`).
//!
//! Week and month answers are dated on the period's first day (Monday or
//! the 1st) and are asked for with that day alone. A type or interval with
//! no row sent nothing: 0 once the day is known to be released.

use super::common::{
    dated_rows, hour_label, key_label, latest_period, sum_pairs, Collected, Collector, Ctx, Plan,
    ShapeError, Target,
};
use super::names;
use crate::dates::{DateRange, Period};
use crate::families::{Family, Sample};
use chrono::{DateTime, Utc};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
// The answer's types (the simulator serialises the same ones).

/// A row of `getupstreammsg`, `…week`, `…month` and `…hour`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct UpstreamMsgRow {
    pub ref_date: String,
    /// `hhmm` as a number (0, 100, …, 2300); hourly answers only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_hour: Option<f64>,
    pub msg_type: f64,
    /// Not on the page, but in real answers (kept by SDKs such as
    /// chanxuehong/wechat's `mp/datacube/upstream_msg.go`): a row per
    /// source, summed per type here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_source: Option<f64>,
    #[serde(default)]
    pub msg_user: Option<f64>,
    #[serde(default)]
    pub msg_count: Option<f64>,
}

/// A row of `getupstreammsgdist`, `…distweek` and `…distmonth`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct UpstreamMsgDistRow {
    pub ref_date: String,
    pub count_interval: f64,
    #[serde(default)]
    pub msg_user: Option<f64>,
}

/// The target of the latest complete period, weeks and months asked for by
/// their first day (`Span::PeriodStart`).
fn period_target(period: Period, now: DateTime<Utc>) -> Vec<Target> {
    let latest = period.latest(now);
    let range = match period {
        Period::Daily => latest,
        Period::Weekly | Period::Monthly => DateRange::day(latest.begin),
    };
    vec![Target {
        slot: 0,
        range,
        data_period: latest,
    }]
}

/// Messages and senders by type for a day, week or month.
pub struct UpstreamMsg(pub Period);

impl Collector for UpstreamMsg {
    fn plan(&self, p: &Plan) -> Vec<Target> {
        let now = p.now;
        period_target(self.0, now)
    }

    fn collect(
        &self,
        ctx: &Ctx,
        target: &Target,
        body: serde_json::Value,
    ) -> Result<Collected, ShapeError> {
        let Some((rows, skipped)) =
            dated_rows::<UpstreamMsgRow>(ctx, target, body, |r| &r.ref_date)?
        else {
            return Ok(Collected::NotReady);
        };
        let by_type = sum_pairs(
            names::MSG_TYPES.iter().map(|(k, _)| k.to_string()),
            rows,
            |r| key_label(r.msg_type),
            |r| (r.msg_user, r.msg_count),
        );
        let mut out = Vec::with_capacity(by_type.len() * 2);
        for (t, (users, count)) in &by_type {
            let name = names::msg_type_name(t);
            let labels = [
                ("app", ctx.app),
                ("period", self.0.label()),
                ("msg_type", t.as_str()),
                ("msg_type_name", name.as_str()),
            ];
            out.push(Sample::new(Family::OaMessages, &labels, *count));
            out.push(Sample::new(Family::OaMessageSenders, &labels, *users));
        }
        Ok(Collected::with_skipped(out, skipped))
    }
}

/// Messages and senders by hour of yesterday and type.
pub struct UpstreamMsgHour;

impl Collector for UpstreamMsgHour {
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
        let Some((rows, skipped)) =
            dated_rows::<UpstreamMsgRow>(ctx, target, body, |r| &r.ref_date)?
        else {
            return Ok(Collected::NotReady);
        };
        let by_hour = sum_pairs(
            [],
            rows,
            |r| (hour_label(r.ref_hour), key_label(r.msg_type)),
            |r| (r.msg_user, r.msg_count),
        );
        let mut out = Vec::with_capacity(by_hour.len() * 2);
        for ((hour, t), (users, count)) in &by_hour {
            let name = names::msg_type_name(t);
            let labels = [
                ("app", ctx.app),
                ("hour", hour.as_str()),
                ("msg_type", t.as_str()),
                ("msg_type_name", name.as_str()),
            ];
            out.push(Sample::new(Family::OaMessagesByHour, &labels, *count));
            out.push(Sample::new(Family::OaMessageSendersByHour, &labels, *users));
        }
        Ok(Collected::with_skipped(out, skipped))
    }
}

/// Senders by how many messages they sent, for a day, week or month.
pub struct UpstreamMsgDist(pub Period);

impl Collector for UpstreamMsgDist {
    fn plan(&self, p: &Plan) -> Vec<Target> {
        let now = p.now;
        period_target(self.0, now)
    }

    fn collect(
        &self,
        ctx: &Ctx,
        target: &Target,
        body: serde_json::Value,
    ) -> Result<Collected, ShapeError> {
        let Some((rows, skipped)) =
            dated_rows::<UpstreamMsgDistRow>(ctx, target, body, |r| &r.ref_date)?
        else {
            return Ok(Collected::NotReady);
        };
        // Intervals with senders start at 0; "0 messages" only when sent.
        let mut by_interval: BTreeMap<String, f64> = names::COUNT_INTERVALS
            .iter()
            .filter(|(k, _)| *k != "0")
            .map(|(k, _)| (k.to_string(), 0.0))
            .collect();
        for r in rows {
            *by_interval.entry(key_label(r.count_interval)).or_default() +=
                r.msg_user.unwrap_or(0.0);
        }
        let out = by_interval
            .iter()
            .map(|(k, users)| {
                let name = names::count_interval_name(k);
                Sample::new(
                    Family::OaMessageSendersByInterval,
                    &[
                        ("app", ctx.app),
                        ("period", self.0.label()),
                        ("count_interval", k.as_str()),
                        ("count_interval_name", name.as_str()),
                    ],
                    *users,
                )
            })
            .collect();
        Ok(Collected::with_skipped(out, skipped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::fixtures::{ctx, day_target, value};
    use serde_json::json;

    #[test]
    fn rows_split_by_user_source_are_summed_per_type() {
        let body = json!({"list": [
            {"ref_date": "2025-03-09", "user_source": 0, "msg_type": 1, "msg_user": 3, "msg_count": 5},
            {"ref_date": "2025-03-09", "user_source": 4, "msg_type": 1, "msg_user": 2, "msg_count": 2},
            {"ref_date": "2025-03-09", "msg_type": 2, "msg_user": 1, "msg_count": 1}
        ]});
        let t = day_target("2025-03-09");
        let Collected::Samples(s) = UpstreamMsg(Period::Daily)
            .collect(&ctx("news", 20), &t, body)
            .unwrap()
        else {
            panic!("every row fits");
        };
        let text = "msg_type=\"1\"";
        assert_eq!(value(&s, Family::OaMessages, text), Some(7.0));
        assert_eq!(value(&s, Family::OaMessageSenders, text), Some(5.0));
        assert_eq!(value(&s, Family::OaMessages, "msg_type=\"2\""), Some(1.0));
    }
}
