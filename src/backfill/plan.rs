//! What a backfill asks WeChat: the units (one call each) per app and API,
//! from each API's `History` in the catalogue, and the APIs it cannot ask.

use crate::api::Api;
use crate::api::History;
use crate::collectors::{self, Target};
use crate::config::{AppConfig, Config};
use crate::dates::{DateRange, Period};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The first day of Mini Program analytics we ask for. WeChat opened the
/// analytics API in 2017; earlier dates can only fail or come back empty.
pub const MINIPROGRAM_EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(2017, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};
/// The first day of Official Account user analysis (wechat-api.md).
pub const OFFICIAL_ACCOUNT_EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(2014, 12, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// One WeChat call: its identity in the progress file.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UnitKey {
    pub app: String,
    pub api: Api,
    pub range: DateRange,
    /// The target's slot when one range takes several calls
    /// ([`History::PeriodsPerSlot`]); 0, and not written, otherwise, so
    /// progress files written before it still resume.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub slot: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl UnitKey {
    /// The call this unit makes.
    pub(super) fn call(&self, app: &AppConfig) -> crate::wechat::client::Call {
        let target = Target {
            slot: self.slot,
            range: self.range,
            data_period: self.range,
        };
        self.api.spec().call_in(app, &target)
    }
}

impl std::fmt::Display for UnitKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (app, api, r) = (&self.app, self.api.label(), self.range);
        write!(f, "{app} {api} {}..{}", r.begin, r.end)?;
        if self.slot != 0 {
            write!(f, " (slot {})", self.slot)?;
        }
        Ok(())
    }
}

/// A call and the targets its answer fills (several for an Official
/// Account chunk or a retention cohort).
#[derive(Clone, Debug)]
pub(super) struct Unit {
    pub(super) key: UnitKey,
    pub(super) targets: Vec<Target>,
}

/// Every app with its units, in the order the calls are made.
pub(super) fn plan(
    config: &Config,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<(&AppConfig, Vec<Unit>)> {
    config
        .apps
        .iter()
        .map(|a| (a, plan_app(a, from, to)))
        .collect()
}

/// One note per enabled API that cannot be backfilled, wholly or before
/// the day WeChat's storage starts, for the summary.
pub(super) fn skipped(config: &Config, from: NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    for app in &config.apps {
        for api in app.enabled_apis() {
            if let History::None(why) = api.spec().history {
                out.push(format!("{} {}: {why}", app.name, api.label()));
            } else if let Some(since) = api.spec().data_since().filter(|s| from < *s) {
                out.push(format!(
                    "{} {}: days before {since}: WeChat keeps no data before it",
                    app.name,
                    api.label()
                ));
            }
        }
    }
    out
}

/// The days, complete weeks and complete months of the range: a week or
/// month belongs to the range when its last day does.
fn periods(period: Period, from: NaiveDate, to: NaiveDate) -> Vec<DateRange> {
    let mut out = Vec::new();
    let mut p = match period {
        Period::Daily => DateRange::day(from),
        Period::Weekly => DateRange::week_of(from),
        Period::Monthly => DateRange::month_of(from),
    };
    if p.end < from {
        p = p.shift(1, period);
    }
    while p.end <= to {
        if p.end >= from {
            out.push(p);
        }
        p = p.shift(1, period);
    }
    out
}

/// The slots the live plan asks of `api` the day after `to`: one source
/// for which calls make up a period (getPerformance's kinds).
fn live_slots(app: &AppConfig, api: Api, to: NaiveDate) -> Vec<u32> {
    let noon = crate::dates::beijing_midnight(to + Duration::days(1)) + Duration::hours(12);
    let mut slots: Vec<u32> = collectors::collector(api)
        .plan(&collectors::Plan::new(noon, api, app))
        .iter()
        .map(|t| t.slot)
        .collect();
    slots.sort_unstable();
    slots.dedup();
    slots
}

/// One unit per period of the range and slot: the calls of a
/// [`History::Periods`] or [`History::PeriodsPerSlot`] API.
fn period_units(
    app: &AppConfig,
    api: Api,
    from: NaiveDate,
    to: NaiveDate,
    slots: &[u32],
) -> Vec<Unit> {
    // Days before WeChat's storage starts hold nothing: not asked.
    let since = api.spec().data_since();
    let mut units = Vec::new();
    for p in periods(api.period(), from, to) {
        if since.is_some_and(|s| p.begin < s) {
            continue;
        }
        let range = api.spec().call_range(p);
        for &slot in slots {
            units.push(Unit {
                key: UnitKey {
                    app: app.name.clone(),
                    api,
                    range,
                    slot,
                },
                targets: vec![Target {
                    slot,
                    range,
                    data_period: p,
                }],
            });
        }
    }
    units
}

/// Every call one app needs for the range, in the order they are made.
fn plan_app(app: &AppConfig, from: NaiveDate, to: NaiveDate) -> Vec<Unit> {
    let mut units = Vec::new();
    let key = |api, range| UnitKey {
        app: app.name.clone(),
        api,
        range,
        slot: 0,
    };
    for api in app.enabled_apis() {
        let period = api.period();
        match api.spec().history {
            History::Periods => units.extend(period_units(app, api, from, to, &[0])),
            History::PeriodsPerSlot => {
                let slots = live_slots(app, api, to);
                units.extend(period_units(app, api, from, to, &slots));
            }
            History::Cohorts => {
                // One call per cohort answers every offset released for it:
                // offset k of period P is key k of cohort P−k.
                let mut cohorts: BTreeMap<DateRange, Vec<Target>> = BTreeMap::new();
                for p in periods(period, from, to) {
                    for &k in period.retention_offsets() {
                        let cohort = collectors::retention::cohort_for(p, period, k);
                        if cohort.begin < MINIPROGRAM_EARLIEST {
                            continue;
                        }
                        cohorts.entry(cohort).or_default().push(Target {
                            slot: k,
                            range: cohort,
                            data_period: p,
                        });
                    }
                }
                for (cohort, targets) in cohorts {
                    units.push(Unit {
                        key: key(api, cohort),
                        targets,
                    });
                }
            }
            History::DayChunks(days) => {
                let mut begin = from;
                while begin <= to {
                    let end = (begin + Duration::days(days - 1)).min(to);
                    let range = DateRange { begin, end };
                    let targets = begin
                        .iter_days()
                        .take_while(|d| *d <= end)
                        .map(|d| Target {
                            slot: 0,
                            range: DateRange::day(d),
                            data_period: DateRange::day(d),
                        })
                        .collect();
                    units.push(Unit {
                        key: key(api, range),
                        targets,
                    });
                    begin = end + Duration::days(1);
                }
            }
            History::None(_) => {}
        }
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        crate::dates::parse_dashed(s).unwrap()
    }

    #[test]
    fn periods_are_complete_and_end_in_range() {
        let w = periods(Period::Weekly, d("2025-01-01"), d("2025-01-20"));
        // Weeks ending Sun 5, 12, 19 January.
        assert_eq!(
            w.iter().map(|p| p.end).collect::<Vec<_>>(),
            vec![d("2025-01-05"), d("2025-01-12"), d("2025-01-19")]
        );
        let m = periods(Period::Monthly, d("2025-01-15"), d("2025-03-30"));
        // January ends in the range (its values are partly before --from,
        // but it is the month whose value is shown in February); March
        // does not end in it.
        assert_eq!(
            m.iter().map(|p| p.begin).collect::<Vec<_>>(),
            vec![d("2025-01-01"), d("2025-02-01")]
        );
        assert_eq!(
            periods(Period::Daily, d("2025-01-01"), d("2025-01-03")).len(),
            3
        );
    }

    #[test]
    fn share_days_before_wechat_keeps_them_are_not_asked() {
        let mut app = AppConfig::new(
            "news",
            crate::api::AppKind::OfficialAccount,
            "wx00112233445566bb",
            crate::secret::Secret::new("s".to_string()),
        );
        app.apis = Some(vec![Api::ArticleRead, Api::ArticleShare]);
        let units = plan_app(&app, d("2025-10-30"), d("2025-11-02"));
        let days = |api: Api| -> Vec<NaiveDate> {
            units
                .iter()
                .filter(|u| u.key.api == api)
                .map(|u| u.key.range.begin)
                .collect()
        };
        assert_eq!(days(Api::ArticleRead).len(), 4);
        assert_eq!(
            days(Api::ArticleShare),
            vec![d("2025-11-01"), d("2025-11-02")]
        );
    }
}
