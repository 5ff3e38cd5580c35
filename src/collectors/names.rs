//! Readable names for WeChat's numeric keys. The tables are incomplete on
//! purpose-WeChat adds keys without notice-so every lookup falls back to
//! the number itself.
//!
//! Every table names a key only when a source says what it is; each table
//! names its source. A key that gains a name changes its `*_name` label
//! from the number to the name (the key label itself never changes, so
//! queries should select on the key). docs/metrics.md, "Key names", lists
//! the tables for users.

/// `key_name` of a visit distribution key for `index`.
pub fn distribution_key_name(index: &str, key: &str) -> String {
    let name = if index.starts_with("access_source") {
        lookup(SCENES, key)
    } else if index == "access_staytime_info" {
        lookup(STAY_BUCKETS, key)
    } else if index == "access_depth_info" {
        lookup(DEPTH_BUCKETS, key)
    } else {
        None
    };
    name.map(str::to_string).unwrap_or_else(|| key.to_string())
}

fn lookup(table: &[(u32, &'static str)], key: &str) -> Option<&'static str> {
    let key: u32 = key.parse().ok()?;
    table.iter().find(|(k, _)| *k == key).map(|(_, n)| *n)
}

/// Traffic sources (`access_source_session_cnt`, and
/// `access_source_visit_uv`, which the page says uses the same keys): the
/// table "访问来源 key 对应关系" of WeChat's getVisitDistribution page
/// (developers.weixin.qq.com/miniprogram/dev/server/API/data-analysis/others/api_getvisitdistribution.html),
/// keys 1-57, in its order (10 "other" is listed last there: every scene
/// not listed). Keys 22, 23, 29 and 36 carry most of the sessions of real
/// answers. The page lists no key 58 or above.
pub const SCENES: &[(u32, &str)] = &[
    (1, "history list"),
    (2, "search"),
    (3, "chat"),
    (4, "QR code"),
    (5, "official account home"),
    (6, "chat top"),
    (7, "system desktop"),
    (8, "mini program home"),
    (9, "nearby"),
    (10, "other"),
    (11, "template message"),
    (12, "customer service message"),
    (13, "official account menu"),
    (14, "app share"),
    (15, "payment completion page"),
    (16, "long-press QR code"),
    (17, "QR code from album"),
    (18, "official account article"),
    (19, "wallet"),
    (20, "card holder"),
    (21, "in-app card or coupon"),
    (22, "other mini program"),
    (23, "back from other mini program"),
    (24, "coupon store list"),
    (25, "search box shortcut"),
    (26, "mini program customer service message"),
    (27, "official account push"),
    (28, "system chat menu"),
    (29, "task bar - recently used"),
    (30, "long-press menu dot"),
    (31, "Wi-Fi connected page"),
    (32, "city services"),
    (33, "WeChat ads"),
    (34, "other mobile app"),
    (35, "discover - my mini programs"),
    (36, "task bar - my mini programs"),
    (37, "WeChat circles"),
    (38, "mobile top-up"),
    (39, "H5"),
    (40, "plugin"),
    (41, "used by friends"),
    (42, "discover page"),
    (43, "floating window"),
    (44, "people nearby"),
    (45, "top stories"),
    (46, "Moments"),
    (47, "WeCom"),
    (48, "video"),
    (49, "favorites"),
    (50, "red packet"),
    (51, "game center"),
    (52, "shake"),
    (53, "official account shopping message"),
    (54, "object recognition"),
    (55, "mini program order"),
    (56, "mini program live"),
    (57, "group tools"),
];

/// Visit duration buckets (`access_staytime_info`): the same page.
pub const STAY_BUCKETS: &[(u32, &str)] = &[
    (1, "0-2s"),
    (2, "3-5s"),
    (3, "6-10s"),
    (4, "11-20s"),
    (5, "20-30s"),
    (6, "30-50s"),
    (7, "50-100s"),
    (8, ">100s"),
];

/// Visit depth buckets (`access_depth_info`): the same page.
pub const DEPTH_BUCKETS: &[(u32, &str)] = &[
    (1, "1 page"),
    (2, "2 pages"),
    (3, "3 pages"),
    (4, "4 pages"),
    (5, "5 pages"),
    (6, "6-10 pages"),
    (7, ">10 pages"),
];

/// Official Account follow sources (`user_source` of getusersummary).
/// 0, 1, 17, 30, 57, 100, 149, 161, 200, 201: the current getusersummary
/// page (developers.weixin.qq.com/doc/service/api/wedata/user/api_getusersummary);
/// 43, 51, 75, 78: the earlier version of that page
/// (doc/offiaccount/Analytics/User_Analysis_Data_Interface.html), still
/// found in history (since June 2023, follows after payment are booked
/// under 0). Every source here is published, 0 when it has no row.
pub const OA_SOURCES: &[(u32, &str)] = &[
    (0, "other"),
    (1, "search"),
    (17, "profile card share"),
    (30, "QR code"),
    (43, "article menu"),
    (51, "after payment"),
    (57, "article account name"),
    (75, "article ad"),
    (78, "Moments ad"),
    (100, "WeChat ads"),
    (149, "mini program"),
    (161, "reprinted by others"),
    (200, "Channels"),
    (201, "live"),
];

/// `source_name` of an Official Account `user_source`.
pub fn oa_source_name(source: &str) -> String {
    lookup(OA_SOURCES, source).map_or_else(|| source.to_string(), str::to_string)
}

/// Official Account message types (`msg_type`), with a readable name: the
/// getupstreammsg page (doc/service/api/wedata/mess/api_getupstreammsg),
/// the same on its hour, week and month pages. 6 is "third-party app
/// message (link message)".
pub const MSG_TYPES: [(&str, &str); 5] = [
    ("1", "text"),
    ("2", "image"),
    ("3", "voice"),
    ("4", "video"),
    ("6", "link"),
];

/// `msg_type_name` of a message type, or the number.
pub fn msg_type_name(key: &str) -> String {
    MSG_TYPES
        .iter()
        .find(|(k, _)| *k == key)
        .map_or_else(|| key.to_string(), |(_, n)| n.to_string())
}

/// Messages per sender (`count_interval`), with a readable name: the
/// getupstreammsgdist page (0: 0, 1: 1-5, 2: 6-10, 3: more than 10).
pub const COUNT_INTERVALS: [(&str, &str); 4] =
    [("0", "0"), ("1", "1-5"), ("2", "6-10"), ("3", ">10")];

/// `count_interval_name` of an interval, or the number.
pub fn count_interval_name(key: &str) -> String {
    COUNT_INTERVALS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or_else(|| key.to_string(), |(_, n)| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Keys once each, names once each (a dashboard legend by name never
    /// merges two keys), no empty name, no name that is a number (it would
    /// read as an unknown key).
    fn well_formed(what: &str, table: &[(String, &str)]) {
        let keys: HashSet<_> = table.iter().map(|(k, _)| k.as_str()).collect();
        let names: HashSet<_> = table.iter().map(|(_, n)| *n).collect();
        assert_eq!(keys.len(), table.len(), "{what}: a key is named twice");
        assert_eq!(names.len(), table.len(), "{what}: a name is used twice");
        for (k, n) in table {
            assert!(!n.trim().is_empty(), "{what} {k}: empty name");
            assert!(
                n.parse::<f64>().is_err() || what == "count_interval",
                "{what} {k}: {n}"
            );
        }
    }

    fn owned(t: &[(u32, &'static str)]) -> Vec<(String, &'static str)> {
        t.iter().map(|(k, n)| (k.to_string(), *n)).collect()
    }

    fn owned_str(t: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
        t.iter().map(|(k, n)| (k.to_string(), *n)).collect()
    }

    #[test]
    fn every_table_names_each_key_once() {
        well_formed("scene", &owned(SCENES));
        well_formed("stay", &owned(STAY_BUCKETS));
        well_formed("depth", &owned(DEPTH_BUCKETS));
        well_formed("user_source", &owned(OA_SOURCES));
        well_formed("msg_type", &owned_str(&MSG_TYPES));
        well_formed("count_interval", &owned_str(&COUNT_INTERVALS));
        // The documented table is 1-57 without a gap.
        let keys: Vec<u32> = SCENES.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, (1..=57).collect::<Vec<_>>());
    }

    #[test]
    fn every_table_key_resolves_to_its_name_through_the_lookups() {
        for (k, n) in SCENES {
            for index in ["access_source_session_cnt", "access_source_visit_uv"] {
                assert_eq!(distribution_key_name(index, &k.to_string()), *n);
            }
        }
        for (k, n) in STAY_BUCKETS {
            assert_eq!(
                distribution_key_name("access_staytime_info", &k.to_string()),
                *n
            );
        }
        for (k, n) in DEPTH_BUCKETS {
            assert_eq!(
                distribution_key_name("access_depth_info", &k.to_string()),
                *n
            );
        }
        for (k, n) in OA_SOURCES {
            assert_eq!(oa_source_name(&k.to_string()), *n);
        }
        for (k, n) in MSG_TYPES {
            assert_eq!(msg_type_name(k), n);
        }
        for (k, n) in COUNT_INTERVALS {
            assert_eq!(count_interval_name(k), n);
        }
    }

    #[test]
    fn unknown_keys_stay_numbers() {
        for key in ["58", "59", "60", "62", "1037", "1001", "0", "-1", "x", ""] {
            assert_eq!(distribution_key_name("access_source_session_cnt", key), key);
        }
        // The scene table is not the stay or depth table.
        assert_eq!(distribution_key_name("access_staytime_info", "9"), "9");
        assert_eq!(distribution_key_name("access_depth_info", "8"), "8");
        assert_eq!(distribution_key_name("some_new_index", "3"), "3");
        for key in ["2", "176", "99999999"] {
            assert_eq!(oa_source_name(key), key);
        }
        assert_eq!(msg_type_name("5"), "5");
        assert_eq!(count_interval_name("4"), "4");
        // A key written as a float (the JSON number 22.0) is not a key of
        // the table: collectors render keys as integers first.
        assert_eq!(
            distribution_key_name("access_source_session_cnt", "22.0"),
            "22.0"
        );
    }

    #[test]
    fn the_busiest_scenes_of_real_answers_have_names() {
        for (key, name) in [
            ("22", "other mini program"),
            ("23", "back from other mini program"),
            ("29", "task bar - recently used"),
            ("36", "task bar - my mini programs"),
        ] {
            assert_eq!(
                distribution_key_name("access_source_session_cnt", key),
                name
            );
            assert_eq!(distribution_key_name("access_source_visit_uv", key), name);
        }
        assert_eq!(oa_source_name("200"), "Channels");
        assert_eq!(oa_source_name("149"), "mini program");
    }
}
