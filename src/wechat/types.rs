//! Typed bodies of every WeChat response the exporter reads.
//!
//! Numbers are `f64` because WeChat sends `211` one day and `39.3706` the
//! next; fields are `Option` because real responses leave fields out (a
//! missing field is an absent series, never 0). Open sets (distribution
//! indexes, scene keys, sources) stay strings or numbers, not enums.
//! The simulator serialises the same types, so both sides share one shape.

use serde::{Deserialize, Serialize};

/// WeChat's error envelope: present on failures, usually absent on success.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ErrorBody {
    #[serde(default)]
    pub errcode: Option<i64>,
    #[serde(default)]
    pub errmsg: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: f64,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct DailySummaryRow {
    pub ref_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_total: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_pv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_uv: Option<f64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct VisitTrendRow {
    pub ref_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_cnt: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_pv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_uv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_uv_new: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stay_time_uv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stay_time_session: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_depth: Option<f64>,
}

/// `{"list": [...]}`, the shape of summary, trend and Official Account data.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ListResponse<T> {
    #[serde(default = "Vec::new")]
    pub list: Vec<T>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct KeyValue {
    pub key: f64,
    pub value: f64,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct DistributionIndex {
    pub index: String,
    #[serde(default)]
    pub item_list: Vec<KeyValue>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct VisitDistribution {
    #[serde(default)]
    pub ref_date: Option<String>,
    #[serde(default)]
    pub list: Vec<DistributionIndex>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct Retention {
    #[serde(default)]
    pub ref_date: Option<String>,
    #[serde(default)]
    pub visit_uv_new: Vec<KeyValue>,
    #[serde(default)]
    pub visit_uv: Vec<KeyValue>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PageRow {
    pub page_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_visit_pv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_visit_uv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_staytime_pv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypage_pv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exitpage_pv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_share_pv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_share_uv: Option<f64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct VisitPage {
    #[serde(default)]
    pub ref_date: Option<String>,
    #[serde(default)]
    pub list: Vec<PageRow>,
}

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
    pub province: Vec<PortraitItem>,
    #[serde(default)]
    pub city: Vec<PortraitItem>,
    #[serde(default)]
    pub genders: Vec<PortraitItem>,
    #[serde(default)]
    pub platforms: Vec<PortraitItem>,
    #[serde(default)]
    pub devices: Vec<PortraitItem>,
    #[serde(default)]
    pub ages: Vec<PortraitItem>,
}

impl PortraitGroup {
    /// The groups with their `dimension` label values.
    pub fn dimensions(&self) -> [(&'static str, &[PortraitItem]); 6] {
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

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct UserSummaryRow {
    pub ref_date: String,
    pub user_source: f64,
    #[serde(default)]
    pub new_user: Option<f64>,
    #[serde(default)]
    pub cancel_user: Option<f64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct UserCumulateRow {
    pub ref_date: String,
    #[serde(default)]
    pub cumulate_user: Option<f64>,
}
