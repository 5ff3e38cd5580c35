//! `http_server_config.headers`: the security headers the toolkit lets an
//! operator add to every response, checked and made ready to insert.

use std::collections::BTreeMap;

use axum::http::{HeaderName, HeaderValue};

use crate::web::error::{invalid, WebConfigError};

/// The toolkit lets only these security headers be set; anything else
/// (Content-Type, Set-Cookie, ...) could break the exporter's responses.
const ALLOWED_HEADERS: &[&str] = &[
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
];

pub(super) fn validate_headers(
    raw: BTreeMap<String, serde_yaml_ng::Value>,
) -> Result<Vec<(HeaderName, HeaderValue)>, WebConfigError> {
    const FIELD: &str = "http_server_config.headers";
    let mut out = Vec::with_capacity(raw.len());
    for (name, value) in raw {
        let Some(canonical) = ALLOWED_HEADERS
            .iter()
            .find(|a| a.eq_ignore_ascii_case(&name))
        else {
            return Err(invalid(
                FIELD,
                format!(
                    "header {name:?} can not be configured (allowed: {})",
                    ALLOWED_HEADERS.join(", ")
                ),
            ));
        };
        let value = match value {
            serde_yaml_ng::Value::Null => String::new(),
            serde_yaml_ng::Value::String(s) => s,
            serde_yaml_ng::Value::Number(n) => n.to_string(),
            serde_yaml_ng::Value::Bool(b) => b.to_string(),
            _ => return Err(invalid(FIELD, format!("header {canonical}: not a string"))),
        };
        // Same value checks as the toolkit for the two enumerated headers.
        match *canonical {
            "X-Content-Type-Options" if !value.eq_ignore_ascii_case("nosniff") => {
                return Err(invalid(
                    FIELD,
                    format!("X-Content-Type-Options must be \"nosniff\", got {value:?}"),
                ));
            }
            "X-Frame-Options"
                if !value.eq_ignore_ascii_case("deny")
                    && !value.eq_ignore_ascii_case("sameorigin") =>
            {
                return Err(invalid(
                    FIELD,
                    format!("X-Frame-Options must be \"deny\" or \"sameorigin\", got {value:?}"),
                ));
            }
            _ => {}
        }
        if value.is_empty() {
            // "Unset if blank" (toolkit docs).
            continue;
        }
        let hv = HeaderValue::from_str(&value)
            .map_err(|_| invalid(FIELD, format!("header {canonical}: invalid value")))?;
        out.push((HeaderName::from_static(lower_static(canonical)), hv));
    }
    Ok(out)
}

/// `HeaderName::from_static` wants lowercase; the allowed set is fixed.
fn lower_static(canonical: &str) -> &'static str {
    match canonical {
        "Strict-Transport-Security" => "strict-transport-security",
        "X-Content-Type-Options" => "x-content-type-options",
        "X-Frame-Options" => "x-frame-options",
        "X-XSS-Protection" => "x-xss-protection",
        _ => "content-security-policy",
    }
}
