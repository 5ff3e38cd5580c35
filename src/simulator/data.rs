//! Deterministic, realistic-looking analytics numbers.
//!
//! Every value is a pure function of (seed, appid, date, scale) through a
//! hand-written splitmix64 hash, so the same seed serves the same bodies on
//! every machine and every crate version (no `rand`). Nothing here knows about
//! HTTP, tokens or release times: `server.rs` decides *whether* to serve, this
//! module decides *what*. The per-app core every number is drawn from is
//! `data/generator.rs`; articles and their numbers are `data/articles.rs`.

use super::hash::{fnv1a, mix};
use crate::collectors::daily_summary::DailySummaryRow;
use crate::collectors::interface_summary::InterfaceSummaryRow;
use crate::collectors::publish_summary::BizSummaryRow;
use crate::collectors::upstream_msg::{UpstreamMsgDistRow, UpstreamMsgRow};
use crate::collectors::user_analysis::{UserCumulateRow, UserSummaryRow};
use crate::collectors::user_portrait::{PortraitGroup, PortraitItem};
use crate::collectors::visit_distribution::{DistributionIndex, VisitDistribution};
use crate::collectors::visit_page::{PageRow, VisitPage};
use crate::collectors::visit_trend::VisitTrendRow;
use crate::dates::{compact, mp_ref_date, DateRange, Period};
use crate::wechat::types::KeyValue;
use chrono::{Datelike, Duration, NaiveDate};

mod articles;
mod generator;
pub use articles::{Article, MSG_DATA_ID_BASE};
pub(crate) use generator::Gen;
use generator::{epoch, r4};

// Salts keep the streams of different quantities independent (1 is
// `generator.rs`'s).
const S_UV: u64 = 2;
const S_NEW: u64 = 3;
const S_SESS: u64 = 4;
const S_PV: u64 = 5;
const S_STAY: u64 = 6;
const S_DEDUP: u64 = 7;
const S_DEDUP_NEW: u64 = 8;
const S_SHARE: u64 = 9;
const S_DIST: u64 = 10;
const S_PAGE: u64 = 11;
const S_PAGE_DAY: u64 = 12;
const S_PORTRAIT: u64 = 13;
const S_RET: u64 = 14;
const S_OA: u64 = 15;
const S_MSG: u64 = 16;
const S_CALLBACK: u64 = 17;
const S_PUBLISH: u64 = 18;
const S_PERF: u64 = 19;

/// Weekday rhythm, Monday first: people open mini programs more at weekends.
const WEEKDAY: [f64; 7] = [0.93, 0.91, 0.92, 0.95, 1.0, 1.17, 1.13];

/// The raw numbers of one Mini Program day.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Day {
    pub uv: f64,
    pub uv_new: f64,
    pub sessions: f64,
    pub pv: f64,
    /// Seconds per session.
    pub stay_session: f64,
}

impl Gen {
    pub fn day(&self, d: NaiveDate) -> Day {
        let n = Self::dn(d);
        let wd = WEEKDAY[d.weekday().num_days_from_monday() as usize];
        // A gentle yearly wave so long runs are not flat.
        let season = 1.0 + 0.08 * (d.ordinal() as f64 / 365.25 * std::f64::consts::TAU).sin();
        let noise = 0.9 + 0.2 * self.u(S_UV, n, 0);
        // At least 2 visitors so de-duplicated periods stay strictly below sums.
        let uv = (50_000.0 * self.scale * self.app_factor() * wd * season * noise)
            .round()
            .max(2.0);
        let uv_new = (uv * (0.12 + 0.10 * self.u(S_NEW, n, 0))).round().min(uv);
        let sessions = (uv * (1.3 + 0.4 * self.u(S_SESS, n, 0))).round().max(uv);
        let pv = (sessions * (2.5 + 2.0 * self.u(S_PV, n, 0)))
            .round()
            .max(sessions);
        let stay_session = 60.0 + 120.0 * self.u(S_STAY, n, 0);
        Day {
            uv,
            uv_new,
            sessions,
            pv,
            stay_session,
        }
    }

    fn days(range: DateRange) -> impl Iterator<Item = NaiveDate> {
        (0..range.days().max(0)).map(move |i| range.begin + Duration::days(i))
    }

    /// Visitors and new visitors over `range`, de-duplicated when it spans
    /// more than one day (a visitor of Monday and Tuesday counts once).
    pub fn range_visitors(&self, range: DateRange) -> (f64, f64) {
        let days: Vec<Day> = Self::days(range).map(|d| self.day(d)).collect();
        if days.len() <= 1 {
            return days.first().map(|d| (d.uv, d.uv_new)).unwrap_or((0.0, 0.0));
        }
        let sum_uv: f64 = days.iter().map(|d| d.uv).sum();
        let max_uv = days.iter().map(|d| d.uv).fold(0.0, f64::max);
        let sum_new: f64 = days.iter().map(|d| d.uv_new).sum();
        let (a, b) = (Self::dn(range.begin), Self::dn(range.end));
        // 7 days keep ~62% of the summed visitors, 30 days ~37%.
        let f = 0.95 - 0.17 * (days.len() as f64).ln() + 0.06 * (self.u(S_DEDUP, a, b) - 0.5);
        let uv = (sum_uv * f).round().max(max_uv).min(sum_uv - 1.0);
        // New visitors are new once, but the platform still merges a few.
        let new = (sum_new * (0.93 + 0.04 * self.u(S_DEDUP_NEW, a, b)))
            .round()
            .min((sum_new - 1.0).max(0.0))
            .min(uv);
        (uv, new)
    }

    pub fn visit_trend(&self, range: DateRange, period: Period) -> VisitTrendRow {
        let days: Vec<Day> = Self::days(range).map(|d| self.day(d)).collect();
        let sessions: f64 = days.iter().map(|d| d.sessions).sum();
        let pv: f64 = days.iter().map(|d| d.pv).sum();
        let stay_total: f64 = days.iter().map(|d| d.stay_session * d.sessions).sum();
        let (uv, uv_new) = self.range_visitors(range);
        let per = |num: f64, den: f64| if den > 0.0 { r4(num / den) } else { 0.0 };
        VisitTrendRow {
            ref_date: mp_ref_date(&range, period),
            session_cnt: Some(sessions),
            visit_pv: Some(pv),
            visit_uv: Some(uv),
            visit_uv_new: Some(uv_new),
            stay_time_uv: Some(per(stay_total, uv)),
            stay_time_session: Some(per(stay_total, sessions)),
            visit_depth: Some(per(pv, sessions)),
        }
    }

    /// Cumulative visitors: a base plus every new visitor since `epoch()`,
    /// so it never decreases from one day to the next.
    fn visit_total(&self, d: NaiveDate) -> f64 {
        let base = (30_000_000.0 * self.scale * self.app_factor()).round();
        let e = epoch();
        let total = if d >= e {
            base + Self::days(DateRange { begin: e, end: d })
                .map(|x| self.day(x).uv_new)
                .sum::<f64>()
        } else {
            base - Self::days(DateRange {
                begin: d + Duration::days(1),
                end: e - Duration::days(1),
            })
            .map(|x| self.day(x).uv_new)
            .sum::<f64>()
        };
        total.max(0.0)
    }

    pub fn daily_summary(&self, d: NaiveDate) -> DailySummaryRow {
        let day = self.day(d);
        let n = Self::dn(d);
        let share_uv = (day.uv * (0.02 + 0.03 * self.u(S_SHARE, n, 0))).round();
        let share_pv = (share_uv * (1.2 + 0.8 * self.u(S_SHARE, n, 1)))
            .round()
            .max(share_uv);
        DailySummaryRow {
            ref_date: compact(d),
            visit_total: Some(self.visit_total(d)),
            share_pv: Some(share_pv),
            share_uv: Some(share_uv),
        }
    }

    fn items(keys: &[(u32, f64)], values: Vec<f64>) -> Vec<KeyValue> {
        keys.iter()
            .zip(values)
            .filter(|(_, v)| *v > 0.0)
            .map(|((k, _), v)| KeyValue {
                key: *k as f64,
                value: v,
            })
            .collect()
    }

    pub fn visit_distribution(&self, d: NaiveDate) -> VisitDistribution {
        // Documented scenes 1–18 (a subset) and keys no table lists.
        const SCENES: [(u32, f64); 22] = [
            (1, 9.0),
            (2, 6.0),
            (3, 14.0),
            (4, 5.0),
            (5, 2.0),
            (6, 3.0),
            (7, 4.0),
            (8, 3.0),
            (10, 2.0),
            (11, 1.5),
            (13, 1.0),
            (14, 2.5),
            (16, 1.0),
            (17, 0.6),
            (18, 1.2),
            (29, 0.8),
            (30, 0.5),
            (36, 0.7),
            (41, 0.4),
            (43, 0.3),
            (46, 0.5),
            (1001, 12.0),
        ];
        const STAY: [(u32, f64); 8] = [
            (1, 12.0),
            (2, 10.0),
            (3, 12.0),
            (4, 15.0),
            (5, 12.0),
            (6, 14.0),
            (7, 13.0),
            (8, 12.0),
        ];
        const DEPTH: [(u32, f64); 7] = [
            (1, 30.0),
            (2, 20.0),
            (3, 14.0),
            (4, 10.0),
            (5, 7.0),
            (6, 12.0),
            (7, 7.0),
        ];
        let day = self.day(d);
        let n = Self::dn(d);
        let w = |t: &[(u32, f64)]| t.iter().map(|x| x.1).collect::<Vec<_>>();
        let index = |name: &str, t: &[(u32, f64)], total: f64, sub: u64| DistributionIndex {
            index: name.to_string(),
            item_list: Self::items(t, self.split(total, &w(t), S_DIST + sub * 100, n)).into(),
        };
        VisitDistribution {
            ref_date: Some(compact(d)),
            list: vec![
                index("access_source_session_cnt", &SCENES, day.sessions, 1),
                index("access_staytime_info", &STAY, day.sessions, 2),
                index("access_depth_info", &DEPTH, day.sessions, 3),
                index("access_source_visit_uv", &SCENES, day.uv, 4),
            ]
            .into(),
        }
    }

    /// Retention of `cohort`: key 0 the cohort, key k those still there k
    /// periods later, for the keys in `keys`. Values never rise with k.
    pub fn retention(
        &self,
        cohort: DateRange,
        period: Period,
        keys: &[u32],
    ) -> (Vec<KeyValue>, Vec<KeyValue>) {
        let (uv, uv_new) = self.range_visitors(cohort);
        let (new_r1, act_r1) = match period {
            Period::Daily => (0.18, 0.35),
            Period::Weekly => (0.12, 0.30),
            Period::Monthly => (0.08, 0.20),
        };
        let (a, b) = (Self::dn(cohort.begin), Self::dn(cohort.end));
        let series = |size: f64, r1: f64, salt: u64| {
            let r1 = r1 + 0.12 * self.u(S_RET + salt, a, b);
            let mut prev = size;
            keys.iter()
                .map(|&k| {
                    let v = if k == 0 {
                        size
                    } else {
                        let jitter = 0.97 + 0.06 * self.u(S_RET + salt, a, k as u64 + 1000);
                        (size * r1 * (k as f64).powf(-0.4) * jitter)
                            .round()
                            .min(prev)
                    };
                    prev = v;
                    KeyValue {
                        key: k as f64,
                        value: v,
                    }
                })
                .collect::<Vec<_>>()
        };
        (series(uv_new, new_r1, 0), series(uv, act_r1, 1))
    }

    /// The page paths an app has: ~260, or at least `n`.
    fn pages(n: usize) -> Vec<String> {
        const CORE: [&str; 24] = [
            "pages/index/index",
            "pages/goods/detail",
            "pages/goods/list",
            "pages/category/category",
            "pages/search/search",
            "pages/cart/cart",
            "pages/user/user",
            "pages/order/list",
            "pages/order/detail",
            "pages/order/confirm",
            "pages/pay/result",
            "pages/login/login",
            "pages/address/list",
            "pages/address/edit",
            "pages/coupon/coupon",
            "pages/activity/activity",
            "pages/article/detail",
            "pages/webview/webview",
            "pages/share/share",
            "pages/service/service",
            "pages/settings/settings",
            "pages/feedback/feedback",
            "pages/member/member",
            "pages/points/points",
        ];
        let mut v: Vec<String> = CORE.iter().map(|s| s.to_string()).collect();
        v.extend((1..=120).map(|i| format!("packageA/pages/item{i}/item{i}")));
        v.extend((1..=116).map(|i| format!("packageB/pages/topic{i}/topic{i}")));
        let more = n.saturating_sub(v.len());
        v.extend((1..=more).map(|i| format!("packageC/pages/more{i}/more{i}")));
        v
    }

    pub fn visit_page(&self, d: NaiveDate) -> VisitPage {
        let day = self.day(d);
        let n = Self::dn(d);
        // WeChat answers the top 200 at most.
        let wanted = self.pages.map(|n| n.min(200));
        let pages = Self::pages(wanted.unwrap_or(0));
        // Zipf-like popularity, fixed per app, jittered per day by `split`.
        let weights: Vec<f64> = (0..pages.len())
            .map(|i| (i as f64 + 1.0).powf(-1.05) * (0.6 + 0.8 * self.u(S_PAGE, i as u64, 0)))
            .collect();
        let mut pvs = self.split(day.pv, &weights, S_PAGE_DAY, n);
        if wanted.is_some() {
            // A set page count means every page is visited, even at small scales.
            for pv in &mut pvs {
                *pv = pv.max(1.0);
            }
        }
        let mut rows: Vec<PageRow> = pages
            .into_iter()
            .zip(pvs)
            .enumerate()
            .filter(|(_, (_, pv))| *pv > 0.0)
            .map(|(i, (path, pv))| {
                let u = |k: u64| self.u(S_PAGE_DAY + 1, n, i as u64 * 16 + k);
                let entry_ratio = if i == 0 {
                    0.55 + 0.2 * u(1)
                } else {
                    0.02 + 0.2 * u(1)
                };
                let share_pv = (pv * 0.03 * u(2)).round();
                PageRow {
                    page_path: path,
                    page_visit_pv: Some(pv),
                    page_visit_uv: Some((pv * (0.45 + 0.35 * u(3))).round().clamp(1.0, pv)),
                    page_staytime_pv: Some(r4(5.0 + 55.0 * u(4))),
                    entrypage_pv: Some((pv * entry_ratio).round()),
                    exitpage_pv: Some((pv * (0.1 + 0.3 * u(5))).round()),
                    page_share_pv: Some(share_pv),
                    page_share_uv: Some((share_pv * (0.6 + 0.4 * u(6))).round().min(share_pv)),
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            b.page_visit_pv
                .unwrap_or(0.0)
                .total_cmp(&a.page_visit_pv.unwrap_or(0.0))
                .then_with(|| a.page_path.cmp(&b.page_path))
        });
        rows.truncate(wanted.unwrap_or(200));
        VisitPage {
            ref_date: Some(compact(d)),
            list: rows.into(),
        }
    }

    // The portrait's dimensions: (id, name, weight).
    const PORTRAIT_PROVINCES: [(u32, &str, f64); 10] = [
        (1, "广东省", 14.0),
        (2, "浙江省", 8.0),
        (3, "江苏省", 8.0),
        (4, "山东省", 6.0),
        (5, "河南省", 6.0),
        (6, "四川省", 5.0),
        (7, "北京", 4.0),
        (8, "上海", 4.5),
        (9, "湖北省", 4.0),
        (10, "福建省", 3.5),
    ];
    const PORTRAIT_CITIES: [(u32, &str, f64); 15] = [
        (1, "深圳", 7.0),
        (2, "广州", 6.0),
        (3, "杭州", 4.0),
        (4, "上海", 4.5),
        (5, "北京", 4.0),
        (6, "成都", 3.5),
        (7, "南京", 2.5),
        (8, "武汉", 2.8),
        (9, "苏州", 2.4),
        (10, "郑州", 2.0),
        (11, "东莞", 2.2),
        (12, "重庆", 2.6),
        (13, "西安", 2.0),
        (14, "长沙", 1.8),
        (15, "厦门", 1.2),
    ];
    const PORTRAIT_GENDERS: [(u32, &str, f64); 3] =
        [(0, "未知", 2.0), (1, "男", 47.0), (2, "女", 51.0)];
    const PORTRAIT_PLATFORMS: [(u32, &str, f64); 3] =
        [(1, "iPhone", 38.0), (2, "Android", 61.0), (3, "其他", 1.0)];
    const PORTRAIT_DEVICES: [(u32, &str, f64); 8] = [
        (0, "iPhone 15 Pro", 6.0),
        (0, "iPhone 14", 5.0),
        (0, "iPhone 13", 5.5),
        (0, "华为 Mate 60 Pro", 4.0),
        (0, "华为 nova 11", 2.5),
        (0, "小米 14", 3.0),
        (0, "OPPO Reno10", 2.5),
        (0, "vivo X100", 2.2),
    ];
    const PORTRAIT_AGES: [(u32, &str, f64); 7] = [
        (0, "未知", 3.0),
        (1, "17岁以下", 4.0),
        (2, "18-24岁", 18.0),
        (3, "25-29岁", 20.0),
        (4, "30-39岁", 30.0),
        (5, "40-49岁", 16.0),
        (6, "50岁以上", 9.0),
    ];

    fn portrait_group(&self, total: f64, range: DateRange, salt: u64) -> PortraitGroup {
        let key = Self::dn(range.begin) * 100 + range.days().max(0) as u64;
        let dim = |t: &[(u32, &str, f64)], share: f64, sub: u64, with_id: bool| {
            let w: Vec<f64> = t.iter().map(|x| x.2).collect();
            // Long-tail dimensions only list the top buckets, so they add up
            // to less than the total, as in real portraits.
            self.split(
                (total * share).round(),
                &w,
                S_PORTRAIT + salt * 10 + sub,
                key,
            )
            .into_iter()
            .zip(t)
            .map(|(v, (id, name, _))| PortraitItem {
                id: with_id.then(|| serde_json::Value::from(*id)),
                name: name.to_string(),
                value: Some(v),
            })
            .collect::<Vec<_>>()
        };
        PortraitGroup {
            province: dim(&Self::PORTRAIT_PROVINCES, 0.63, 1, true).into(),
            city: dim(&Self::PORTRAIT_CITIES, 0.48, 2, true).into(),
            genders: dim(&Self::PORTRAIT_GENDERS, 1.0, 3, true).into(),
            platforms: dim(&Self::PORTRAIT_PLATFORMS, 1.0, 4, true).into(),
            devices: dim(&Self::PORTRAIT_DEVICES, 0.38, 5, false).into(),
            ages: dim(&Self::PORTRAIT_AGES, 1.0, 6, true).into(),
        }
    }

    /// Portrait of `range`: visitors de-duplicated over the range.
    pub fn user_portrait(&self, range: DateRange) -> (PortraitGroup, PortraitGroup) {
        let (uv, uv_new) = self.range_visitors(range);
        (
            self.portrait_group(uv_new, range, 0),
            self.portrait_group(uv, range, 1),
        )
    }

    /// Official Account sources: (user_source, chance of a row on a day,
    /// share of new follows). Known codes and newer unlisted ones.
    const SOURCES: [(u32, f64, f64); 11] = [
        (0, 0.9, 0.25),
        (1, 0.95, 0.18),
        (17, 0.7, 0.06),
        (30, 0.95, 0.22),
        (43, 0.6, 0.04),
        (51, 0.5, 0.05),
        (57, 0.7, 0.07),
        (75, 0.4, 0.05),
        (78, 0.3, 0.04),
        (149, 0.35, 0.02),
        (200, 0.25, 0.02),
    ];

    /// (user_source, new_user, cancel_user) of the sources with changes on `d`.
    fn summary_raw(&self, d: NaiveDate) -> Vec<(u32, f64, f64)> {
        let n = Self::dn(d);
        let wd = WEEKDAY[d.weekday().num_days_from_monday() as usize];
        let base = 400.0 * self.scale * self.app_factor() * wd;
        Self::SOURCES
            .iter()
            .enumerate()
            .filter(|(i, (_, p, _))| self.u(S_OA, n, *i as u64) < *p)
            .filter_map(|(i, (src, _, share))| {
                let u = |k: u64| self.u(S_OA + 1, n, i as u64 * 8 + k);
                let new = (base * share * (0.9 + 0.2 * u(1))).round();
                // Unfollows are mostly booked under "other" (source 0).
                let cancel_ratio = if *src == 0 {
                    0.6 + 0.5 * u(2)
                } else {
                    0.05 + 0.3 * u(2)
                };
                let cancel = (new * cancel_ratio).round();
                (new + cancel > 0.0).then_some((*src, new, cancel))
            })
            .collect()
    }

    pub fn user_summary(&self, d: NaiveDate) -> Vec<UserSummaryRow> {
        let ref_date = crate::dates::dashed(d);
        self.summary_raw(d)
            .into_iter()
            .map(|(src, new, cancel)| UserSummaryRow {
                ref_date: ref_date.clone(),
                user_source: src as f64,
                new_user: Some(new),
                cancel_user: Some(cancel),
            })
            .collect()
    }

    fn net(&self, d: NaiveDate) -> f64 {
        self.summary_raw(d)
            .iter()
            .map(|(_, new, cancel)| new - cancel)
            .sum()
    }

    /// Followers at the end of `d`: a base plus the net growth since
    /// `epoch()`, so cumulate(d) = cumulate(d-1) + net(d) holds exactly.
    pub fn user_cumulate(&self, d: NaiveDate) -> UserCumulateRow {
        let base = (1_500_000.0 * self.scale * self.app_factor()).round();
        let e = epoch();
        let v = if d >= e {
            base + Self::days(DateRange { begin: e, end: d })
                .map(|x| self.net(x))
                .sum::<f64>()
        } else {
            base - Self::days(DateRange {
                begin: d + Duration::days(1),
                end: e - Duration::days(1),
            })
            .map(|x| self.net(x))
            .sum::<f64>()
        };
        UserCumulateRow {
            ref_date: crate::dates::dashed(d),
            cumulate_user: Some(v.max(0.0)),
        }
    }
}

impl Gen {
    /// `user_cumulate` for consecutive days: the first computed in full,
    /// each next one as the previous plus that day's net growth.
    pub fn user_cumulate_days(
        &self,
        days: impl Iterator<Item = NaiveDate>,
    ) -> Vec<UserCumulateRow> {
        let mut out: Vec<UserCumulateRow> = Vec::new();
        let mut prev: Option<(NaiveDate, f64)> = None;
        for d in days {
            let v = match prev {
                Some((p, v)) if p + Duration::days(1) == d && v > 0.0 => v + self.net(d),
                _ => self.user_cumulate(d).cumulate_user.unwrap_or(0.0),
            };
            prev = Some((d, v));
            out.push(UserCumulateRow {
                ref_date: crate::dates::dashed(d),
                cumulate_user: Some(v.max(0.0)),
            });
        }
        out
    }
}

/// Official Account message and interface analysis.
impl Gen {
    /// Message types and how much of the traffic each one carries.
    const MSG_TYPES: [(u32, f64); 5] = [(1, 0.62), (2, 0.18), (3, 0.1), (4, 0.04), (6, 0.06)];

    /// Messages of `msg_type` in Beijing hour `h` of `d`: (senders, messages).
    fn msg_hour(&self, d: NaiveDate, h: u32, t: usize) -> (f64, f64) {
        let n = Self::dn(d);
        // Quiet at night, busy at lunch and in the evening.
        let shape = [
            0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 0.9, 1.2, 1.3, 1.4, 1.5, 1.8, 1.6, 1.3, 1.3, 1.4,
            1.5, 1.7, 2.0, 2.2, 2.0, 1.4, 0.8,
        ][h as usize % 24];
        let base = 12.0 * self.scale * self.app_factor() * shape * Self::MSG_TYPES[t].1;
        let u = |k: u64| self.u(S_MSG, n, (h as u64) * 64 + t as u64 * 8 + k);
        let count = (base * (0.6 + 0.8 * u(1))).round();
        let users = (count / (1.2 + 1.3 * u(2))).round().min(count);
        (users, count)
    }

    /// Rows of `getupstreammsghour` for `d`: hours and types with messages.
    pub fn upstream_msg_hour(&self, d: NaiveDate) -> Vec<UpstreamMsgRow> {
        let mut rows = Vec::new();
        for h in 0..24 {
            for (t, (msg_type, _)) in Self::MSG_TYPES.iter().enumerate() {
                let (users, count) = self.msg_hour(d, h, t);
                if count > 0.0 {
                    rows.push(UpstreamMsgRow {
                        ref_date: crate::dates::dashed(d),
                        ref_hour: Some((h * 100) as f64),
                        msg_type: *msg_type as f64,
                        user_source: None,
                        msg_user: Some(users),
                        msg_count: Some(count),
                    });
                }
            }
        }
        rows
    }

    /// Rows of the period `range` (a day, week or month), dated on its
    /// first day: messages add up; senders are de-duplicated, so below
    /// the sum of the hours.
    pub fn upstream_msg(&self, range: DateRange) -> Vec<UpstreamMsgRow> {
        Self::MSG_TYPES
            .iter()
            .enumerate()
            .filter_map(|(t, (msg_type, _))| {
                let (mut users, mut count) = (0.0, 0.0);
                for d in Self::days(range) {
                    for h in 0..24 {
                        let (u, c) = self.msg_hour(d, h, t);
                        users += u;
                        count += c;
                    }
                }
                let dedup = 0.55 + 0.2 * self.u(S_MSG + 1, Self::dn(range.begin), t as u64);
                (count > 0.0).then(|| UpstreamMsgRow {
                    ref_date: crate::dates::dashed(range.begin),
                    ref_hour: None,
                    msg_type: *msg_type as f64,
                    // Real rows carry it (0: other), the page does not.
                    user_source: Some(0.0),
                    msg_user: Some((users * dedup).round().max(1.0).min(count)),
                    msg_count: Some(count),
                })
            })
            .collect()
    }

    /// Rows of `getupstreammsgdist…` for the period `range`: senders by
    /// how many messages they sent (1: 1–5, 2: 6–10, 3: more than 10).
    pub fn upstream_msg_dist(&self, range: DateRange) -> Vec<UpstreamMsgDistRow> {
        let senders: f64 = self
            .upstream_msg(range)
            .iter()
            .filter_map(|r| r.msg_user)
            .sum();
        let n = Self::dn(range.begin);
        let heavy = 0.05 + 0.05 * self.u(S_MSG + 2, n, 0);
        let middle = 0.15 + 0.1 * self.u(S_MSG + 2, n, 1);
        let h = (senders * heavy).round();
        let m = (senders * middle).round();
        [(1, senders - h - m), (2, m), (3, h)]
            .into_iter()
            .filter(|(_, v)| *v > 0.0)
            .map(|(k, v)| UpstreamMsgDistRow {
                ref_date: crate::dates::dashed(range.begin),
                count_interval: k as f64,
                msg_user: Some(v),
            })
            .collect()
    }

    /// Rows of `getinterfacesummaryhour` for `d`: hours with callbacks.
    pub fn interface_summary_hour(&self, d: NaiveDate) -> Vec<InterfaceSummaryRow> {
        let n = Self::dn(d);
        (0..24u32)
            .filter_map(|h| {
                let (_, msgs) = (0..Self::MSG_TYPES.len())
                    .map(|t| self.msg_hour(d, h, t))
                    .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
                // Every message is a callback, plus events (follows, menus).
                let u = |k: u64| self.u(S_CALLBACK, n, h as u64 * 8 + k);
                let count = (msgs * (1.1 + 0.3 * u(1))).round();
                if count == 0.0 {
                    return None;
                }
                // Now and then an hour where the server fails some calls.
                let fail = if u(2) < 0.15 {
                    (count * 0.2 * u(3)).round()
                } else {
                    0.0
                };
                let avg_ms = 40.0 + 160.0 * u(4);
                Some(InterfaceSummaryRow {
                    ref_date: crate::dates::dashed(d),
                    ref_hour: Some((h * 100) as f64),
                    callback_count: Some(count),
                    fail_count: Some(fail),
                    total_time_cost: Some((count * avg_ms).round()),
                    max_time_cost: Some((avg_ms * (3.0 + 10.0 * u(5))).round()),
                })
            })
            .collect()
    }

    /// The day's row of `getinterfacesummary`: the hours added up.
    pub fn interface_summary(&self, d: NaiveDate) -> InterfaceSummaryRow {
        let hours = self.interface_summary_hour(d);
        let sum = |f: fn(&InterfaceSummaryRow) -> Option<f64>| hours.iter().filter_map(f).sum();
        InterfaceSummaryRow {
            ref_date: crate::dates::dashed(d),
            ref_hour: None,
            callback_count: Some(sum(|r| r.callback_count)),
            fail_count: Some(sum(|r| r.fail_count)),
            total_time_cost: Some(sum(|r| r.total_time_cost)),
            max_time_cost: Some(
                hours
                    .iter()
                    .filter_map(|r| r.max_time_cost)
                    .fold(0.0, f64::max),
            ),
        }
    }
}

/// Official Account publish analytics.
impl Gen {
    /// The account's published content on `d`; `delayed` numbers are the
    /// ones WeChat shows before they settle (`is_delay`), a little lower.
    pub fn biz_summary(&self, d: NaiveDate, delayed: bool) -> BizSummaryRow {
        let n = Self::dn(d);
        let u = |k: u64| self.u(S_PUBLISH, n, k);
        let settle = if delayed { 0.9 } else { 1.0 };
        let read = (4000.0 * self.scale * self.app_factor() * (0.5 + u(1)) * settle).round();
        let v = |share: f64, k: u64| serde_json::json!((read * share * (0.5 + u(k))).round());
        let mut detail = serde_json::Map::new();
        detail.insert("read_user".into(), serde_json::json!(read));
        detail.insert("share_user".into(), v(0.09, 2));
        detail.insert("zaikan_user".into(), v(0.05, 3));
        detail.insert("like_user".into(), v(0.09, 4));
        detail.insert("comment_count".into(), v(0.01, 5));
        BizSummaryRow {
            ref_date: crate::dates::dashed(d),
            detail,
        }
    }
}

/// The indicator tables a performance module answers with: (id, zh,
/// typical value in the module's unit). Only 10022's ids are documented
/// (`memory`, `memorydiff`); the others stand in for whatever ids WeChat
/// sends, which the exporter passes through as the `table` label.
pub(crate) fn performance_tables(module: &str) -> &'static [(&'static str, &'static str, f64)] {
    match module {
        "10016" => &[("openrate", "打开率", 96.0)],
        "10017" => &[
            ("launch", "启动总耗时", 1800.0),
            ("download", "代码包下载耗时", 600.0),
            ("inject", "代码注入耗时", 350.0),
            ("firstrender", "首次渲染耗时", 420.0),
        ],
        "10021" => &[("pageswitch", "页面切换耗时", 380.0)],
        "10022" => &[
            ("memorydiff", "内存增长均值", 70.0),
            ("memory", "内存均值", 310.0),
        ],
        "10023" => &[("memorywarning", "内存告警率", 1.2)],
        _ => &[],
    }
}

/// Mini Program performance.
impl Gen {
    /// The value of one indicator on `d` for one set of params (each a
    /// `(field, value)`; absent fields mean the whole population), as
    /// WeChat sends it: a number in a string.
    pub fn performance_value(
        &self,
        d: NaiveDate,
        module: &str,
        table: usize,
        params: &[(String, String)],
    ) -> Option<String> {
        let (_, _, typical) = *performance_tables(module).get(table)?;
        let pkey = params
            .iter()
            .filter(|(_, v)| v != "-1")
            // Order-free: the same params in any order are the same query.
            .fold(0u64, |h, (f, v)| h ^ mix(&[fnv1a(f), fnv1a(v)]));
        let u = self.u(
            S_PERF,
            Self::dn(d),
            mix(&[fnv1a(module), table as u64, pkey]),
        );
        let v = if module == "10016" {
            // A rate: a few points around the typical, below 100.
            (typical + 3.5 * (u - 0.5)).min(99.99)
        } else {
            typical * (0.8 + 0.4 * u)
        };
        Some(format!("{}", r4(v)))
    }

    /// The tables of one module for the days of `days`, one line each.
    pub fn performance(
        &self,
        days: &[NaiveDate],
        module: &str,
        params: &[(String, String)],
    ) -> Vec<crate::collectors::performance::PerformanceTable> {
        use crate::collectors::performance::{PerformanceField, PerformanceLine, PerformanceTable};
        performance_tables(module)
            .iter()
            .enumerate()
            .map(|(i, (id, zh, _))| PerformanceTable {
                id: id.to_string(),
                zh: Some(zh.to_string()),
                lines: vec![PerformanceLine {
                    fields: days
                        .iter()
                        .filter_map(|d| {
                            let v = self.performance_value(*d, module, i, params)?;
                            Some(PerformanceField {
                                refdate: compact(*d),
                                value: v.parse().ok()?,
                            })
                        })
                        .collect(),
                }]
                .into(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn split_adds_up() {
        let g = Gen::new(1, "wx", 1.0);
        let parts = g.split(1001.0, &[1.0, 2.0, 3.0], 5, 7);
        assert_eq!(parts.iter().sum::<f64>(), 1001.0);
    }

    #[test]
    fn cumulate_follows_summary() {
        let g = Gen::new(3, "wxoa", 1.0);
        for day in [d(2023, 12, 31), d(2024, 1, 1), d(2025, 6, 3)] {
            let prev = g
                .user_cumulate(day - Duration::days(1))
                .cumulate_user
                .unwrap();
            let cur = g.user_cumulate(day).cumulate_user.unwrap();
            assert_eq!(cur, prev + g.net(day));
        }
    }
}
