//! Readable names for WeChat's numeric keys. The tables are incomplete on
//! purpose-WeChat adds keys without notice-so every lookup falls back to
//! the number itself.

/// `key_name` of a visit distribution key for `index`.
pub fn distribution_key_name(index: &str, key: &str) -> String {
    let name = if index.starts_with("access_source") {
        scene(key)
    } else if index == "access_staytime_info" {
        stay_bucket(key)
    } else if index == "access_depth_info" {
        depth_bucket(key)
    } else {
        None
    };
    name.map(str::to_string).unwrap_or_else(|| key.to_string())
}

fn scene(key: &str) -> Option<&'static str> {
    Some(match key {
        "1" => "history list",
        "2" => "search",
        "3" => "chat",
        "4" => "QR code",
        "5" => "official account home",
        "6" => "chat top",
        "7" => "system desktop",
        "8" => "mini program home",
        "9" => "nearby",
        "10" => "other",
        "11" => "template message",
        "12" => "customer service message",
        "13" => "official account menu",
        "14" => "app share",
        "15" => "payment completion page",
        "16" => "long-press QR code",
        "17" => "QR code from album",
        "18" => "official account article",
        // Keys past 18 carry most of the traffic in real answers (22, 23,
        // 29, 36 above all): the current table of WeChat's visit
        // distribution page.
        "19" => "wallet",
        "20" => "card holder",
        "21" => "in-app card or coupon",
        "22" => "other mini program",
        "23" => "back from other mini program",
        "24" => "coupon store list",
        "25" => "search box shortcut",
        "26" => "mini program customer service message",
        "27" => "official account push",
        "28" => "system chat menu",
        "29" => "task bar - recently used",
        "30" => "long-press menu dot",
        "31" => "Wi-Fi connected page",
        "32" => "city services",
        "33" => "WeChat ads",
        "34" => "other mobile app",
        "35" => "discover - my mini programs",
        "36" => "task bar - my mini programs",
        "37" => "WeChat circles",
        "38" => "mobile top-up",
        "39" => "H5",
        "40" => "plugin",
        "41" => "used by friends",
        "42" => "discover page",
        "43" => "floating window",
        "44" => "people nearby",
        "45" => "top stories",
        "46" => "Moments",
        "47" => "WeCom",
        "48" => "video",
        "49" => "favorites",
        "50" => "red packet",
        "51" => "game center",
        "52" => "shake",
        "53" => "official account shopping message",
        "54" => "object recognition",
        "55" => "mini program order",
        "56" => "mini program live",
        "57" => "group tools",
        "59" => "group to-do",
        "60" => "third-party app",
        "62" => "Channels",
        _ => return None,
    })
}

fn stay_bucket(key: &str) -> Option<&'static str> {
    Some(match key {
        "1" => "0-2s",
        "2" => "3-5s",
        "3" => "6-10s",
        "4" => "11-20s",
        "5" => "20-30s",
        "6" => "30-50s",
        "7" => "50-100s",
        "8" => ">100s",
        _ => return None,
    })
}

fn depth_bucket(key: &str) -> Option<&'static str> {
    Some(match key {
        "1" => "1 page",
        "2" => "2 pages",
        "3" => "3 pages",
        "4" => "4 pages",
        "5" => "5 pages",
        "6" => "6-10 pages",
        "7" => ">10 pages",
        _ => return None,
    })
}

/// Official Account follow sources WeChat documents, with their names.
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
];

/// `source_name` of an Official Account `user_source`.
pub fn oa_source_name(source: &str) -> String {
    OA_SOURCES
        .iter()
        .find(|(k, _)| k.to_string() == source)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|| source.to_string())
}

/// Official Account message types (`msg_type`), with a readable name.
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

/// Message counts per sender (`count_interval`), with a readable name.
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

    #[test]
    fn known_and_unknown_keys() {
        assert_eq!(
            distribution_key_name("access_source_session_cnt", "4"),
            "QR code"
        );
        assert_eq!(
            distribution_key_name("access_source_visit_uv", "2"),
            "search"
        );
        assert_eq!(
            distribution_key_name("access_source_session_cnt", "1037"),
            "1037"
        );
        assert_eq!(distribution_key_name("access_staytime_info", "8"), ">100s");
        assert_eq!(
            distribution_key_name("access_depth_info", "6"),
            "6-10 pages"
        );
        assert_eq!(distribution_key_name("some_new_index", "3"), "3");
        assert_eq!(oa_source_name("30"), "QR code");
        assert_eq!(oa_source_name("149"), "149");
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
        // Unknown keys stay numbers.
        assert_eq!(
            distribution_key_name("access_source_session_cnt", "58"),
            "58"
        );
        assert_eq!(msg_type_name("6"), "link");
        assert_eq!(msg_type_name("9"), "9");
        assert_eq!(count_interval_name("3"), ">10");
    }
}
