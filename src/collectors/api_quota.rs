//! The daily quota of the API paths an app calls (`getApiQuota`,
//! `/cgi-bin/openapi/quota/get`): how many calls WeChat allows the app a
//! Beijing day, how many it made, how many remain, and the per-window
//! rate limits the answer carries. One call per path: the paths of the
//! app's own APIs (what the exporter spends) and the app's `quota_paths`
//! (what its business spends: messages, payments). Polled only for an
//! app that lists `quota_paths` or names `api_quota` (`AppConfig::enabled_apis`).
//!
//! The numbers move all day, so every answer is provisional: a path is
//! asked at the first poll of each Beijing day and again every hour
//! (`poll::schedule::PROVISIONAL_RECHECK`), `24 × paths` calls a day at
//! most. The path is the target's slot ([`slot_of`]); the call's body is
//! built from it by `ApiSpec::call_in`.

use super::common::{parse, today_targets, Collected, Collector, Ctx, Plan, ShapeError, Target};
pub use super::quota_paths::{path_of, paths, slot_of};
use crate::families::{Family, Sample};
use serde::{Deserialize, Serialize};

/// `quota` of the answer: calls allowed, made and left today.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct Quota {
    #[serde(default)]
    pub daily_limit: Option<f64>,
    #[serde(default)]
    pub used: Option<f64>,
    #[serde(default)]
    pub remain: Option<f64>,
}

/// `rate_limit` (the app's own calls) and `component_rate_limit` (calls a
/// third-party platform makes for it): `call_count` calls per
/// `refresh_second` seconds.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct RateLimit {
    #[serde(default)]
    pub call_count: Option<f64>,
    #[serde(default)]
    pub refresh_second: Option<f64>,
}

/// The answer of `/cgi-bin/openapi/quota/get`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct QuotaAnswer {
    pub quota: Quota,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_rate_limit: Option<RateLimit>,
}

pub struct ApiQuota;

impl Collector for ApiQuota {
    fn plan(&self, p: &Plan) -> Vec<Target> {
        today_targets(p.now, paths(p.app).iter().map(|path| slot_of(path)))
    }

    fn collect(
        &self,
        ctx: &Ctx,
        target: &Target,
        body: serde_json::Value,
    ) -> Result<Collected, ShapeError> {
        let Some(path) = path_of(&ctx.slot_names, target.slot) else {
            // The config changed between the call and its answer.
            return Ok(Collected::NotReady);
        };
        let a: QuotaAnswer = parse(body)?;
        let labels = [("app", ctx.app), ("path", path)];
        let mut out = Vec::new();
        for (family, v) in [
            (Family::ApiQuotaDailyLimit, a.quota.daily_limit),
            (Family::ApiQuotaUsed, a.quota.used),
            (Family::ApiQuotaRemaining, a.quota.remain),
        ] {
            if let Some(v) = v {
                out.push(Sample::new(family, &labels, v));
            }
        }
        for (caller, limit) in [
            ("app", &a.rate_limit),
            ("platform", &a.component_rate_limit),
        ] {
            let Some(limit) = limit else { continue };
            let labels = [("app", ctx.app), ("path", path), ("caller", caller)];
            if let Some(v) = limit.call_count {
                out.push(Sample::new(Family::ApiRateLimitCalls, &labels, v));
            }
            if let Some(v) = limit.refresh_second {
                out.push(Sample::new(Family::ApiRateLimitWindow, &labels, v));
            }
        }
        // Counts move all day: asked again hourly, never final.
        Ok(Collected::Provisional(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Api;
    use crate::collectors::common::fixtures::{app, value};
    use crate::dates::DateRange;

    #[test]
    fn one_target_per_path_today_own_paths_and_listed_ones() {
        let mut a = app(crate::api::AppKind::OfficialAccount);
        a.quota_paths = vec!["/cgi-bin/message/template/send".into()];
        let now = "2026-01-01T17:00:00Z".parse().expect("instant");
        let targets = ApiQuota.plan(&Plan::new(now, Api::ApiQuota, &a));
        let ps = paths(&a);
        assert_eq!(targets.len(), ps.len());
        assert!(ps.contains(&"/cgi-bin/message/template/send".to_string()));
        assert!(ps.contains(&"/datacube/getusersummary".to_string()));
        assert!(ps.contains(&"/cgi-bin/openapi/quota/get".to_string()));
        // 17:00 UTC is 01:00 Beijing on 2 January.
        let day = DateRange::day("2026-01-02".parse().expect("date"));
        assert!(targets
            .iter()
            .all(|t| t.range == day && t.data_period == day));
        for t in &targets {
            assert!(path_of(&ps, t.slot).is_some());
        }
    }

    #[test]
    fn an_answer_becomes_quota_and_rate_limit_samples() {
        let mut a = app(crate::api::AppKind::Miniprogram);
        a.apis = Some(vec![Api::ApiQuota]);
        let ps = paths(&a);
        let ctx = Ctx {
            slot_names: ps.clone(),
            ..crate::collectors::common::fixtures::ctx("shop", 20)
        };
        let t = Target {
            slot: slot_of(&ps[0]),
            range: DateRange::day("2026-01-02".parse().expect("date")),
            data_period: DateRange::day("2026-01-02".parse().expect("date")),
        };
        let body = serde_json::json!({"errcode":0,"errmsg":"ok",
            "quota":{"daily_limit":1000,"used":120,"remain":880},
            "rate_limit":{"call_count":100,"refresh_second":60}});
        let Ok(Collected::Provisional(s)) = ApiQuota.collect(&ctx, &t, body) else {
            panic!("provisional samples");
        };
        let l = format!("path=\"{}\"", ps[0]);
        assert_eq!(value(&s, Family::ApiQuotaDailyLimit, &l), Some(1000.0));
        assert_eq!(value(&s, Family::ApiQuotaUsed, &l), Some(120.0));
        assert_eq!(value(&s, Family::ApiQuotaRemaining, &l), Some(880.0));
        assert_eq!(
            value(&s, Family::ApiRateLimitWindow, "caller=\"app\""),
            Some(60.0)
        );
        assert_eq!(
            value(&s, Family::ApiRateLimitCalls, "caller=\"platform\""),
            None
        );
        // No `quota` at all: not the documented shape.
        let bad = serde_json::json!({"errcode":0,"errmsg":"ok"});
        assert!(ApiQuota.collect(&ctx, &t, bad).is_err());
    }
}
