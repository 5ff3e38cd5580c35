//! Visit distribution of yesterday: sessions and visitors by entry scene,
//! visits by stay and depth bucket. Indexes and keys are kept open.

use super::{
    dedup, key_label, latest_period, names, parse, Collected, Collector, Ctx, ShapeError, Target,
};
use crate::dates::{compact, Period};
use crate::families::{Family, Sample};
use crate::wechat::types::VisitDistribution as Body;
use chrono::{DateTime, Utc};

pub struct VisitDistribution;

impl Collector for VisitDistribution {
    fn plan(&self, now: DateTime<Utc>) -> Vec<Target> {
        latest_period(Period::Daily, now)
    }

    fn collect(
        &self,
        ctx: &Ctx,
        target: &Target,
        body: serde_json::Value,
    ) -> Result<Collected, ShapeError> {
        let resp: Body = parse(body)?;
        if resp
            .ref_date
            .as_deref()
            .is_some_and(|d| d != compact(target.range.begin))
            || resp.list.is_empty()
        {
            return Ok(Collected::NotReady);
        }
        let mut out = Vec::new();
        for idx in &resp.list {
            for kv in &idx.item_list {
                let key = key_label(kv.key);
                let key_name = names::distribution_key_name(&idx.index, &key);
                out.push(Sample::new(
                    Family::MpVisitDistribution,
                    &[
                        ("app", ctx.app),
                        ("period", "daily"),
                        ("index", &idx.index),
                        ("key", &key),
                        ("key_name", &key_name),
                    ],
                    kv.value,
                ));
            }
        }
        Ok(Collected::Samples(dedup(out)))
    }
}
