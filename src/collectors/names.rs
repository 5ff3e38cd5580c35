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
}
