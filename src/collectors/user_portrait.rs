//! User portrait over the 1, 7 and 30 days ending yesterday: visitors by
//! province, city, gender, platform, device and age, for new and active
//! users. Each window is its own slot and call.

use self::UserPortrait as Body;
use super::common::{
    dedup, parse, skipped_notes, Collected, Collector, Ctx, Plan, ShapeError, Target,
};
use crate::dates::{latest_day, DateRange};
use crate::families::{Family, Sample};
use crate::wechat::types::Lenient;
use chrono::Duration;

use serde::{Deserialize, Serialize};
// The answer's types (the simulator serialises the same ones).

/// One portrait bucket. `devices` items have no `id`; ids are numbers in
/// some responses and strings in others, so they are kept as JSON values.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PortraitItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<serde_json::Value>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: Option<f64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PortraitGroup {
    #[serde(default)]
    pub province: Lenient<PortraitItem>,
    #[serde(default)]
    pub city: Lenient<PortraitItem>,
    #[serde(default)]
    pub genders: Lenient<PortraitItem>,
    #[serde(default)]
    pub platforms: Lenient<PortraitItem>,
    #[serde(default)]
    pub devices: Lenient<PortraitItem>,
    #[serde(default)]
    pub ages: Lenient<PortraitItem>,
}

impl PortraitGroup {
    /// The groups with their `dimension` label values.
    pub fn dimensions(&self) -> [(&'static str, &Lenient<PortraitItem>); 6] {
        [
            ("province", &self.province),
            ("city", &self.city),
            ("gender", &self.genders),
            ("platform", &self.platforms),
            ("device", &self.devices),
            ("age", &self.ages),
        ]
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct UserPortrait {
    #[serde(default)]
    pub ref_date: Option<String>,
    #[serde(default)]
    pub visit_uv_new: Option<PortraitGroup>,
    #[serde(default)]
    pub visit_uv: Option<PortraitGroup>,
}

pub struct Portrait;

pub const WINDOWS: [u32; 3] = [1, 7, 30];

impl Collector for Portrait {
    fn plan(&self, p: &Plan) -> Vec<Target> {
        let now = p.now;
        let end = latest_day(now);
        WINDOWS
            .iter()
            .map(|&days| Target {
                slot: days,
                range: DateRange {
                    begin: end - Duration::days(days as i64 - 1),
                    end,
                },
                data_period: DateRange::day(end),
            })
            .collect()
    }

    fn collect(
        &self,
        ctx: &Ctx,
        target: &Target,
        body: serde_json::Value,
    ) -> Result<Collected, ShapeError> {
        let resp: Body = parse(body)?;
        let window = format!("{}d", target.slot);
        let mut out = Vec::new();
        let mut skipped = Vec::new();
        for (field, cohort, group) in [
            ("visit_uv_new", "new", &resp.visit_uv_new),
            ("visit_uv", "active", &resp.visit_uv),
        ] {
            let Some(group) = group else { continue };
            for (dimension, items) in group.dimensions() {
                // The path names the label; the JSON key may be its plural.
                skipped_notes(&format!("{field}.{dimension}"), items, &mut skipped);
                for item in items {
                    let Some(v) = item.value else { continue };
                    out.push(Sample::new(
                        Family::MpPortraitVisitors,
                        &[
                            ("app", ctx.app),
                            ("window", &window),
                            ("cohort", cohort),
                            ("dimension", dimension),
                            ("name", &item.name),
                        ],
                        v,
                    ));
                }
            }
        }
        if out.is_empty() {
            return Ok(Collected::NotReady);
        }
        Ok(Collected::with_skipped(dedup(out), skipped))
    }
}
