//! What users report in a Mini Program's feedback box (`getFeedback`,
//! `GET /wxaapi/feedback/list`): how many items of each of the eight
//! types exist, from one call per type (`type=N&page=1&num=1`: the count
//! is the answer's `total_num`). The items themselves (text, phone,
//! openid, nickname) are personal data and never published.
//!
//! The counts only grow, so they are published as they are and read
//! over a window with `delta()`. Every answer is provisional: each type
//! is asked at the day's first poll and hourly, `24 × 8` calls a day.

use super::common::{parse, today_targets, Collected, Collector, Ctx, Plan, ShapeError, Target};
use crate::families::{Family, Sample};
use serde::Deserialize;

/// The feedback types of the page ("反馈类型 type 的定义"), with the
/// `type_name` published for each.
pub const TYPES: [(u32, &str); 8] = [
    (1, "cannot_open"),   // 无法打开小程序
    (2, "crash"),         // 小程序闪退
    (3, "lag"),           // 卡顿
    (4, "blank_screen"),  // 黑屏白屏
    (5, "freeze"),        // 死机
    (6, "layout_broken"), // 界面错位
    (7, "slow_loading"),  // 界面加载慢
    (8, "other"),         // 其他异常
];

/// The answer of `/wxaapi/feedback/list`. The items are checked to be a
/// list (an answer of another shape is WeChat changing it) and dropped
/// unread: they are personal data.
#[derive(Debug, Default, Deserialize)]
pub struct FeedbackList {
    pub total_num: f64,
    #[serde(default)]
    pub list: Vec<serde::de::IgnoredAny>,
}

pub struct Feedback;

impl Collector for Feedback {
    fn plan(&self, p: &Plan) -> Vec<Target> {
        today_targets(p.now, TYPES.iter().map(|(t, _)| *t))
    }

    fn collect(
        &self,
        ctx: &Ctx,
        target: &Target,
        body: serde_json::Value,
    ) -> Result<Collected, ShapeError> {
        let Some((t, name)) = TYPES.iter().find(|(t, _)| *t == target.slot) else {
            return Ok(Collected::NotReady);
        };
        let a: FeedbackList = parse(body)?;
        let t = t.to_string();
        let labels = [("app", ctx.app), ("type", &t), ("type_name", name)];
        Ok(Collected::Provisional(vec![Sample::new(
            Family::MpFeedbackItems,
            &labels,
            a.total_num,
        )]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Api;
    use crate::collectors::common::fixtures::{app, ctx, value};

    #[test]
    fn one_target_per_type_and_its_count() {
        let a = app(crate::api::AppKind::Miniprogram);
        let now = "2026-01-01T17:00:00Z".parse().expect("instant");
        let targets = Feedback.plan(&Plan::new(now, Api::Feedback, &a));
        assert_eq!(targets.len(), 8);
        let body = serde_json::json!({"errcode":0,"total_num":12,
            "list":[{"record_id":1,"create_time":1587571200,"content":"白屏了",
                     "phone":18800000000u64,"openid":"o1","nickname":"n","type":4}]});
        let Ok(Collected::Provisional(s)) = Feedback.collect(&ctx("shop", 20), &targets[3], body)
        else {
            panic!("provisional samples");
        };
        assert_eq!(
            value(&s, Family::MpFeedbackItems, "type_name=\"blank_screen\""),
            Some(12.0)
        );
        // Nothing personal reaches a label.
        assert!(s
            .iter()
            .all(|x| !x.labels.contains("o1") && !x.labels.contains("白屏")));
        let bad = serde_json::json!({"errcode":0,"list":[]});
        assert!(Feedback
            .collect(&ctx("shop", 20), &targets[0], bad)
            .is_err());
    }
}
