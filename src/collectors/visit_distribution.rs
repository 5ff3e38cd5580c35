//! Visit distribution of yesterday: sessions and visitors by entry scene,
//! visits by stay and depth bucket. Indexes and keys are kept open.

use self::VisitDistribution as Body;
use super::common::{
    dedup, key_label, latest_period, not_ready_unless_skipped, parse, skipped_notes, Collected,
    Collector, Ctx, Plan, ShapeError, Target,
};
use super::names;
use crate::dates::{compact, Period};
use crate::families::{Family, Sample};
use crate::wechat::types::KeyValue;
use crate::wechat::types::Lenient;

use serde::{Deserialize, Serialize};
// The answer's types (the simulator serialises the same ones).

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct DistributionIndex {
    pub index: String,
    #[serde(default)]
    pub item_list: Lenient<KeyValue>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct VisitDistribution {
    #[serde(default)]
    pub ref_date: Option<String>,
    #[serde(default)]
    pub list: Lenient<DistributionIndex>,
}

pub struct Distribution;

impl Collector for Distribution {
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
        let resp: Body = parse(body)?;
        if resp
            .ref_date
            .as_deref()
            .is_some_and(|d| d != compact(target.range.begin))
        {
            return Ok(Collected::NotReady);
        }
        if resp.list.is_empty() {
            return not_ready_unless_skipped("list", &resp.list);
        }
        let mut skipped = Vec::new();
        skipped_notes("list", &resp.list, &mut skipped);
        let mut out = Vec::new();
        for (i, idx) in resp.list.indexed() {
            skipped_notes(
                &format!("list[{i}].item_list"),
                &idx.item_list,
                &mut skipped,
            );
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
        Ok(Collected::with_skipped(dedup(out), skipped))
    }
}
