//! Typed bodies of every WeChat response the exporter reads.
//!
//! Numbers are `f64` because WeChat sends `211` one day and `39.3706` the
//! next; fields are `Option` because real responses leave fields out (a
//! missing field is an absent series, never 0). Open sets (distribution
//! indexes, scene keys, sources) stay strings or numbers, not enums.
//! The simulator serialises the same types, so both sides share one shape.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A list parsed item by item: an item that does not fit its type is
/// skipped and remembered, the others are kept. Real answers vary, and one
/// odd page row or scene must not cost the rest of the answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Lenient<T> {
    items: Vec<T>,
    /// The index in the original list of each kept item.
    positions: Vec<usize>,
    pub skipped: Vec<Skipped>,
}

/// One list item that did not fit.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    /// Its index in the list, and the path inside it of what did not fit.
    pub index: usize,
    pub path: String,
    pub reason: String,
    pub excerpt: String,
}

/// The first characters of a JSON value, for a log line.
pub fn excerpt(v: &serde_json::Value) -> String {
    const MAX: usize = 80;
    let text = v.to_string();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            positions: Vec::new(),
            skipped: Vec::new(),
        }
    }
}

impl<T> From<Vec<T>> for Lenient<T> {
    fn from(items: Vec<T>) -> Self {
        Self {
            positions: (0..items.len()).collect(),
            items,
            skipped: Vec::new(),
        }
    }
}

impl<T: PartialEq> PartialEq<Vec<T>> for Lenient<T> {
    fn eq(&self, other: &Vec<T>) -> bool {
        self.skipped.is_empty() && &self.items == other
    }
}

impl<T> FromIterator<T> for Lenient<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        iter.into_iter().collect::<Vec<T>>().into()
    }
}

impl<T> std::ops::Deref for Lenient<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.items
    }
}

impl<T> Lenient<T> {
    /// The kept items, owned.
    pub fn into_items(self) -> Vec<T> {
        self.items
    }

    /// The kept items with their index in the original list.
    pub fn indexed(&self) -> impl Iterator<Item = (usize, &T)> {
        self.positions.iter().copied().zip(self.items.iter())
    }

    /// Kept items, reordered by `cmp` (their positions follow them).
    pub fn sort_by(&mut self, mut cmp: impl FnMut(&T, &T) -> std::cmp::Ordering) {
        let mut pairs: Vec<(usize, T)> = std::mem::take(&mut self.positions)
            .into_iter()
            .zip(std::mem::take(&mut self.items))
            .collect();
        pairs.sort_by(|a, b| cmp(&a.1, &b.1));
        (self.positions, self.items) = pairs.into_iter().unzip();
    }
}

impl<'a, T> IntoIterator for &'a Lenient<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Vec::<serde_json::Value>::deserialize(d)?;
        let mut out = Lenient::default();
        for (index, v) in raw.into_iter().enumerate() {
            match serde_path_to_error::deserialize::<_, T>(&v) {
                Ok(item) => {
                    out.items.push(item);
                    out.positions.push(index);
                }
                Err(e) => out.skipped.push(Skipped {
                    index,
                    path: e.path().to_string(),
                    reason: e.inner().to_string(),
                    excerpt: excerpt(&v),
                }),
            }
        }
        Ok(out)
    }
}

impl<T: Serialize> Serialize for Lenient<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.items.serialize(s)
    }
}

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
    #[serde(
        default = "Lenient::default",
        bound(deserialize = "T: DeserializeOwned")
    )]
    pub list: Lenient<T>,
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
    pub item_list: Lenient<KeyValue>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct VisitDistribution {
    #[serde(default)]
    pub ref_date: Option<String>,
    #[serde(default)]
    pub list: Lenient<DistributionIndex>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct Retention {
    #[serde(default)]
    pub ref_date: Option<String>,
    #[serde(default)]
    pub visit_uv_new: Lenient<KeyValue>,
    #[serde(default)]
    pub visit_uv: Lenient<KeyValue>,
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
    pub list: Lenient<PageRow>,
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

/// A row of `getupstreammsg`, `…week`, `…month` and `…hour`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct UpstreamMsgRow {
    pub ref_date: String,
    /// `hhmm` as a number (0, 100, …, 2300); hourly answers only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_hour: Option<f64>,
    pub msg_type: f64,
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

/// A row of `getinterfacesummary` and `…hour`. Times are milliseconds.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct InterfaceSummaryRow {
    pub ref_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_hour: Option<f64>,
    #[serde(default)]
    pub callback_count: Option<f64>,
    #[serde(default)]
    pub fail_count: Option<f64>,
    #[serde(default)]
    pub total_time_cost: Option<f64>,
    #[serde(default)]
    pub max_time_cost: Option<f64>,
}

/// A row of `getbizsummary`: the account's published content on one day.
/// `detail` is kept as a map: every number in it is published, the
/// documented ones under their own names.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct BizSummaryRow {
    pub ref_date: String,
    #[serde(default)]
    pub detail: serde_json::Map<String, serde_json::Value>,
}

/// The answer of `/wxa/business/performance/boot` (getPerformanceData):
/// `data.body.tables[].lines[].fields[]`. The docs show `data` as an
/// object; some WeChat APIs send such a part as a JSON-encoded string, so
/// both are read.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PerformanceResponse {
    #[serde(deserialize_with = "object_or_json_string")]
    pub data: PerformanceData,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PerformanceData {
    pub body: PerformanceBody,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PerformanceBody {
    #[serde(default)]
    pub tables: Lenient<PerformanceTable>,
    /// The number of tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<f64>,
}

/// One indicator (`id`, e.g. `memory`) with its Chinese name (`zh`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PerformanceTable {
    pub id: String,
    #[serde(default)]
    pub lines: Lenient<PerformanceLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zh: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PerformanceLine {
    #[serde(default)]
    pub fields: Lenient<PerformanceField>,
}

/// One day's value: `refdate` is `yyyymmdd`, `value` a number in a string
/// (`"70.7778"`); a bare number is read too.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PerformanceField {
    pub refdate: String,
    #[serde(
        deserialize_with = "number_in_string",
        serialize_with = "number_as_string"
    )]
    pub value: f64,
}

/// An object, or the same object encoded as a JSON string.
fn object_or_json_string<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::de::Error;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => serde_json::from_str(&s).map_err(D::Error::custom),
        v @ serde_json::Value::Object(_) => serde_json::from_value(v).map_err(D::Error::custom),
        other => Err(D::Error::custom(format!(
            "expected an object or a JSON string, found {}",
            excerpt(&other)
        ))),
    }
}

/// A finite number, sent as a string (`"314"`) or as a number.
fn number_in_string<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    use serde::de::Error;
    let v = match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        serde_json::Value::Number(n) => n.as_f64(),
        _ => None,
    };
    v.filter(|x| x.is_finite())
        .ok_or_else(|| D::Error::custom("expected a number or a number in a string"))
}

fn number_as_string<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.to_string())
}

/// For `skip_serializing_if`: the simulator leaves out empty lists.
fn no_items<T>(l: &Lenient<T>) -> bool {
    l.is_empty()
}

/// One entry of `read_user_source`: readers from one scene, named in
/// Chinese (`公众号消息`, `全部`, …); the set is open.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ReadSource {
    pub scene_desc: String,
    #[serde(default)]
    pub user_count: Option<f64>,
}

/// `detail` of a `getarticleread` or `getarticleshare` row.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ArticleDayDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_user: Option<f64>,
    #[serde(default, skip_serializing_if = "no_items")]
    pub read_user_source: Lenient<ReadSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_user: Option<f64>,
}

/// A row of `getarticleread` / `getarticleshare`: one article on one day.
/// `msgid` is `<msg_data_id>_<index>`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ArticleDayRow {
    pub ref_date: String,
    pub msgid: String,
    #[serde(default)]
    pub detail: ArticleDayDetail,
}

/// One `detail_list` entry of `getarticletotaldetail`: the article's
/// numbers summed from its publication to `stat_date`. Every number is
/// kept (`fields`): the documented ones get their own families.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ArticleTotalStat {
    pub stat_date: String,
    #[serde(default, skip_serializing_if = "no_items")]
    pub read_user_source: Lenient<ReadSource>,
    #[serde(flatten)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// A row of `getarticletotaldetail`: one article published on `ref_date`.
/// `publish_type` is documented as 0 or 1, but 2 occurs: kept a number.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ArticleTotalRow {
    pub ref_date: String,
    pub msgid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_type: Option<f64>,
    #[serde(default)]
    pub detail_list: Lenient<ArticleTotalStat>,
}

/// One article of a free-publish entry; only what the exporter reads.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct NewsItem {
    #[serde(default)]
    pub title: String,
    /// `…/s?__biz=…&mid=<msg_data_id>&idx=<index>&sn=…`.
    #[serde(default)]
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_deleted: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PublishedContent {
    #[serde(default)]
    pub news_item: Lenient<NewsItem>,
}

/// One entry of `freepublish/batchget`: one publication.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PublishedItem {
    #[serde(default)]
    pub article_id: String,
    #[serde(default)]
    pub content: PublishedContent,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<f64>,
}

/// The answer of `freepublish/batchget`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PublishedList {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_count: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_count: Option<f64>,
    #[serde(default)]
    pub item: Lenient<PublishedItem>,
}
