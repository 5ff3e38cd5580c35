//! Fault injection: the failures real WeChat produces on a bad day.
//!
//! A [`Faults`] plan is checked before normal handling of every token and
//! datacube request. Counters (`http_500`, `busy`, …) are consumed one per
//! matching request, so a test can say "the next 3 calls fail, then normal".

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The current fault plan. JSON form (for `POST /simulator/faults`) uses the
/// same field names, with `latency` in milliseconds and `errcode` as a pair
/// `[code, count]`; missing fields take their defaults, e.g.
/// `{"busy": 3, "only_appid": "wx…"}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Faults {
    /// Added to every matching response.
    #[serde(with = "opt_millis")]
    pub latency: Option<Duration>,
    /// The next N matching requests answer HTTP 500.
    pub http_500: u32,
    /// The next N matching requests: connection closed with no response.
    pub drop_connections: u32,
    /// The next N matching requests: HTTP 200 with a truncated JSON body.
    pub malformed_json: u32,
    /// Data answers whose top-level lists and objects are replaced by the
    /// number 5: valid JSON of a shape nobody expected (`"list": 5`).
    pub wrong_shape: u32,
    /// Data answers whose first list item (the first row, or the first key
    /// of the first distribution index) has a text where a number belongs.
    pub bad_item: u32,
    /// The next N matching requests: `{"errcode":-1,"errmsg":"system error …"}`.
    pub busy: u32,
    /// The next N matching requests answer this errcode.
    pub errcode: Option<(i64, u32)>,
    /// Every matching request answers this errcode until faults are replaced.
    pub always_errcode: Option<i64>,
    /// Restrict to one path; `None` = every datacube and token path.
    pub only_path: Option<String>,
    /// Restrict to one API: the performance modules share a path, so
    /// `only_path` cannot single one out.
    pub only_api: Option<crate::api::Api>,
    /// Restrict to one app (data calls: the app owning the token).
    pub only_appid: Option<String>,
}

/// What a fault plan does to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaultAction {
    None,
    Http500,
    Drop,
    Malformed,
    WrongShape,
    BadItem,
    Busy,
    Errcode(i64),
}

impl Faults {
    fn matches(&self, path: &str, api: Option<crate::api::Api>, appid: Option<&str>) -> bool {
        self.only_path.as_deref().map_or(true, |p| p == path)
            && self.only_api.map_or(true, |a| api == Some(a))
            && self
                .only_appid
                .as_deref()
                .map_or(true, |a| appid == Some(a))
    }

    /// The latency and the action for one request, consuming one unit of
    /// the first non-empty counter. Order: drop, 500, malformed, busy,
    /// errcode, always_errcode.
    pub(crate) fn take(
        &mut self,
        path: &str,
        api: Option<crate::api::Api>,
        appid: Option<&str>,
    ) -> (Option<Duration>, FaultAction) {
        if !self.matches(path, api, appid) {
            return (None, FaultAction::None);
        }
        let action = if self.drop_connections > 0 {
            self.drop_connections -= 1;
            FaultAction::Drop
        } else if self.http_500 > 0 {
            self.http_500 -= 1;
            FaultAction::Http500
        } else if self.malformed_json > 0 {
            self.malformed_json -= 1;
            FaultAction::Malformed
        } else if self.wrong_shape > 0 {
            self.wrong_shape -= 1;
            FaultAction::WrongShape
        } else if self.bad_item > 0 {
            self.bad_item -= 1;
            FaultAction::BadItem
        } else if self.busy > 0 {
            self.busy -= 1;
            FaultAction::Busy
        } else if let Some((code, n)) = self.errcode.filter(|(_, n)| *n > 0) {
            self.errcode = (n > 1).then_some((code, n - 1));
            FaultAction::Errcode(code)
        } else if let Some(code) = self.always_errcode {
            FaultAction::Errcode(code)
        } else {
            FaultAction::None
        };
        (self.latency, action)
    }
}

/// `Option<Duration>` as whole milliseconds in JSON.
mod opt_millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_consumed_in_order() {
        let mut f = Faults {
            busy: 1,
            errcode: Some((45009, 2)),
            ..Default::default()
        };
        let p = "/datacube/getusersummary";
        assert_eq!(f.take(p, None, None).1, FaultAction::Busy);
        assert_eq!(f.take(p, None, None).1, FaultAction::Errcode(45009));
        assert_eq!(f.take(p, None, None).1, FaultAction::Errcode(45009));
        assert_eq!(f.take(p, None, None).1, FaultAction::None);
    }

    #[test]
    fn filters_and_json() {
        let mut f: Faults =
            serde_json::from_str(r#"{"latency":250,"http_500":1,"only_appid":"wxA"}"#).unwrap();
        assert_eq!(f.latency, Some(Duration::from_millis(250)));
        assert_eq!(
            f.take("/cgi-bin/token", None, Some("wxB")).1,
            FaultAction::None
        );
        assert_eq!(f.take("/cgi-bin/token", None, None).1, FaultAction::None);
        assert_eq!(
            f.take("/cgi-bin/token", None, Some("wxA")).1,
            FaultAction::Http500
        );
    }
}
