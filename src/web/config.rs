//! The Prometheus exporter-toolkit web configuration file (`--web.config.file`):
//! the file's top-level shape and `WebConfig`, the validated whole that
//! the server reads (basic-auth users are checked here; TLS, headers and
//! rate limit by their own modules).
//!
//! Operators already know this format from every official exporter, and
//! `promtool check web-config` validates it, so we accept the same keys with
//! the same meaning instead of inventing our own (exporter-toolkit's
//! `docs/web-configuration.md`: `tls_server_config` with files or inline
//! PEM, `http_server_config`, `basic_auth_users`, `rate_limit`).
//! Everything that can be checked is checked at load time (files readable,
//! certificates and keys parse, bcrypt hashes well formed, enum values known)
//! so that a bad file is refused at start or on reload instead of failing on
//! the first connection. Every error names the offending key, and no error
//! ever quotes the file's content (the path may point at a private key).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use axum::http::{HeaderName, HeaderValue};
use serde::Deserialize;

pub use crate::web::error::WebConfigError;
pub use crate::web::files::MAX_FILE_BYTES;
pub use crate::web::rate_limit::{parse_go_duration, RateLimit};
pub use crate::web::tls::TlsSettings;
pub use crate::web::verify::ClientAuthType;

use crate::web::error::invalid;
use crate::web::files::read_bounded;
use crate::web::headers::validate_headers;
use crate::web::rate_limit::{build_rate_limit, RawRateLimit};
use crate::web::tls::{build_tls, RawTls};

/// serde_yaml quotes the offending scalar in type errors ("invalid type:
/// string \"-----BEGIN PRIVATE KEY----- MIIE…\""); keep its kind, the
/// expectation and the location, drop the value.
fn yaml_error(e: &serde_yaml_ng::Error) -> WebConfigError {
    let msg = e.to_string();
    let mut out = String::new();
    let mut rest = msg.as_str();
    for marker in ["invalid type: ", "invalid value: "] {
        if let Some(i) = rest.find(marker) {
            out.push_str(&rest[..i + marker.len()]);
            let after = &rest[i + marker.len()..];
            let kind: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphabetic() || *c == ' ')
                .collect::<String>()
                .trim()
                .to_string();
            out.push_str(&kind);
            // What follows ", expected" is serde's own wording.
            rest = match after.rfind(", expected") {
                Some(j) => &after[j..],
                None => "",
            };
            break;
        }
    }
    out.push_str(rest);
    if let Some(loc) = e.location() {
        if !out.contains(" at line ") {
            out.push_str(&format!(" at line {} column {}", loc.line(), loc.column()));
        }
    }
    WebConfigError::Parse(out)
}

// ---------------------------------------------------------------------------
// Raw file shape. `deny_unknown_fields` everywhere mirrors the toolkit's
// strict YAML unmarshalling: a typo must not silently disable TLS or auth.

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    tls_server_config: Option<RawTls>,
    #[serde(default)]
    http_server_config: Option<RawHttp>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, String>>,
    #[serde(default)]
    rate_limit: Option<RawRateLimit>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    #[serde(default)]
    http2: Option<bool>,
    /// Values are scalars of any type: Go reads `X-XSS-Protection: 1` into
    /// a string.
    #[serde(default)]
    headers: Option<BTreeMap<String, serde_yaml_ng::Value>>,
}

/// A parsed and validated exporter-toolkit web configuration. The default
/// value (also what an empty file gives) means plain HTTP without auth.
#[derive(Clone, Default)]
pub struct WebConfig {
    tls: Option<TlsSettings>,
    http2: bool,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// user name → bcrypt hash.
    users: BTreeMap<String, String>,
    /// Highest bcrypt cost among the users (for the unknown-user decoy).
    max_cost: u32,
    rate_limit: Option<RateLimit>,
    /// Certificate, key and CA files read for this config, so the reloader
    /// can notice a renewed certificate behind an unchanged YAML file.
    files: Vec<PathBuf>,
    /// Accepted but worth telling the operator (skipped ciphers, …).
    warnings: Vec<String>,
}

// Hand-written so that password hashes never reach logs.
impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.as_ref().map(|t| t.client_auth()))
            .field("http2", &self.http2)
            .field("headers", &self.headers)
            .field("basic_auth_users", &self.users.keys().collect::<Vec<_>>())
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

impl WebConfig {
    /// Reads, parses and validates a web config file. Relative paths inside
    /// it are resolved against the file's directory, like the toolkit does.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let read_err = |source| WebConfigError::Read {
            path: path.to_path_buf(),
            source,
        };
        let bytes = read_bounded(path).map_err(read_err)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            // Binary content (a DER key, …): say so without showing it.
            WebConfigError::Parse("the file is not UTF-8 text (is this a YAML file?)".into())
        })?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        Self::from_yaml(&text, base)
    }

    /// Parses and validates YAML text; `base_dir` anchors relative paths.
    pub fn from_yaml(s: &str, base_dir: &Path) -> Result<WebConfig, WebConfigError> {
        let raw = parse_root(s)?;
        let mut warnings = Vec::new();
        let http = raw.http_server_config.unwrap_or_default();
        // The toolkit enables HTTP/2 unless told otherwise.
        let http2 = http.http2.unwrap_or(true);
        let headers = validate_headers(http.headers.unwrap_or_default())?;

        let users = raw.basic_auth_users.unwrap_or_default();
        let max_cost = max_bcrypt_cost(&users)?;
        let rate_limit = match raw.rate_limit {
            Some(r) => build_rate_limit(r)?,
            None => None,
        };

        let mut files = Vec::new();
        let tls = match raw.tls_server_config {
            Some(t) => build_tls(t, base_dir, http2, &mut files, &mut warnings)?,
            None => None,
        };
        Ok(WebConfig {
            tls,
            http2,
            headers,
            users,
            max_cost,
            rate_limit,
            files,
            warnings,
        })
    }

    /// Files (certificates, keys, CAs) this config was built from.
    pub fn referenced_files(&self) -> &[PathBuf] {
        &self.files
    }

    /// TLS settings, or `None` for plain HTTP.
    pub fn tls(&self) -> Option<&TlsSettings> {
        self.tls.as_ref()
    }

    /// `http_server_config.http2`: offer `h2` by ALPN over TLS. (HTTP/2 is
    /// never served over plain HTTP, as in the toolkit.)
    pub fn http2(&self) -> bool {
        self.http2
    }

    /// Extra response headers from `http_server_config.headers`.
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// Whether basic auth is required (at least one user configured).
    pub fn basic_auth_enabled(&self) -> bool {
        !self.users.is_empty()
    }

    /// The bcrypt hash for `user`, if configured.
    pub fn password_hash(&self, user: &str) -> Option<&str> {
        self.users.get(user).map(String::as_str)
    }

    /// The highest bcrypt cost configured (0 without users): unknown users
    /// are checked against a decoy of this cost, so that their answer takes
    /// as long as the slowest real user's.
    pub fn max_bcrypt_cost(&self) -> u32 {
        self.max_cost
    }

    /// `rate_limit`, or `None` when off (no section, or interval 0).
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }

    /// Things accepted but not fully applied, for a warning at load.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// True when the file asks for nothing at all: no TLS, no users, no
    /// headers, no rate limit. That is what an empty, comment-only or
    /// truncated file gives, so a reload to it is refused (see
    /// `reload`); at start it is valid, as in the toolkit.
    pub fn configures_nothing(&self) -> bool {
        self.tls.is_none()
            && self.users.is_empty()
            && self.headers.is_empty()
            && self.rate_limit.is_none()
    }
}

/// The file's top level. An empty file (or one with only comments) is
/// valid and means "no TLS, no auth"; serde_yaml_ng would reject it as a
/// struct.
fn parse_root(s: &str) -> Result<RawConfig, WebConfigError> {
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(s).map_err(|e| yaml_error(&e))?;
    match value {
        serde_yaml_ng::Value::Null => Ok(RawConfig::default()),
        serde_yaml_ng::Value::Mapping(_) => {
            serde_yaml_ng::from_value(value).map_err(|e| yaml_error(&e))
        }
        other => {
            let kind = match other {
                serde_yaml_ng::Value::Sequence(_) => "a list",
                _ => "a single value",
            };
            Err(WebConfigError::Parse(format!(
                "the file holds {kind}, not a mapping of tls_server_config, \
                 http_server_config, basic_auth_users, rate_limit \
                 (is --web.config.file pointing at a certificate or key?)"
            )))
        }
    }
}

/// `basic_auth_users`: every password a well-formed bcrypt hash; gives
/// the highest cost among them (0 without users).
fn max_bcrypt_cost(users: &BTreeMap<String, String>) -> Result<u32, WebConfigError> {
    let mut max_cost = 0;
    for (user, hash) in users {
        match bcrypt::HashParts::from_str(hash) {
            Ok(parts) => max_cost = max_cost.max(parts.get_cost()),
            // The hash is not echoed: it is (weakly) secret.
            Err(_) => {
                return Err(invalid(
                    "basic_auth_users",
                    format!("user {user:?}: password is not a valid bcrypt hash"),
                ))
            }
        }
    }
    Ok(max_cost)
}

/// Validates the web config file at `path` without serving it.
pub fn check_web_config(path: &Path) -> Result<(), WebConfigError> {
    WebConfig::load(path).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn err(yaml: &str) -> String {
        WebConfig::from_yaml(yaml, Path::new("/nonexistent"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn empty_and_comment_only_files_mean_plain_http() {
        for y in ["", "# nothing\n", "---\n"] {
            let c = WebConfig::from_yaml(y, Path::new(".")).unwrap();
            assert!(c.tls().is_none() && !c.basic_auth_enabled() && c.headers().is_empty());
        }
    }

    #[test]
    fn unknown_keys_are_named() {
        assert!(err("tls_config: {}\n").contains("tls_config"));
        assert!(err("tls_server_config:\n  certfile: x\n").contains("certfile"));
        assert!(err("http_server_config:\n  http3: true\n").contains("http3"));
    }

    #[test]
    fn bad_bcrypt_hash_names_field_but_not_hash() {
        let e = err("basic_auth_users:\n  alice: notahash-SECRET\n");
        assert!(e.contains("basic_auth_users") && e.contains("alice"), "{e}");
        assert!(!e.contains("SECRET"), "{e}");
    }

    #[test]
    fn header_rules() {
        assert!(err("http_server_config:\n  headers:\n    Set-Cookie: a\n").contains("Set-Cookie"));
        assert!(
            err("http_server_config:\n  headers:\n    X-Frame-Options: allow\n")
                .contains("X-Frame-Options")
        );
        let c = WebConfig::from_yaml(
            "http_server_config:\n  headers:\n    x-frame-options: DENY\n",
            Path::new("."),
        )
        .unwrap();
        assert_eq!(c.headers()[0].0.as_str(), "x-frame-options");
    }

    #[test]
    fn tls_errors_name_fields() {
        assert!(
            err("tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n")
                .contains("tls_server_config.cert_file")
        );
        assert!(err("tls_server_config:\n  key_file: nope.key\n").contains("cert_file"));
        // As in the toolkit, the certificate is checked before the policy.
        assert!(
            err("tls_server_config:\n  cert: x\n  key: y\n  client_auth_type: Bogus\n")
                .contains("tls_server_config.cert")
        );
    }

    #[test]
    fn tls_block_without_material_is_plain() {
        let c = WebConfig::from_yaml("tls_server_config:\n  min_version: TLS13\n", Path::new("."))
            .unwrap();
        assert!(c.tls().is_none());
    }

    #[test]
    fn rate_limit_values() {
        let rl = |y: &str| WebConfig::from_yaml(y, Path::new(".")).map(|c| c.rate_limit());
        assert_eq!(
            rl("rate_limit:\n  interval: 2s\n  burst: 5\n").unwrap(),
            Some(RateLimit {
                interval: Duration::from_secs(2),
                burst: 5
            })
        );
        assert_eq!(
            rl("rate_limit:\n  interval: 0\n  burst: 0\n").unwrap(),
            None
        );
        // A bare number is nanoseconds, as Go's YAML reads a Duration.
        assert_eq!(
            rl("rate_limit:\n  interval: 1000\n  burst: 1\n")
                .unwrap()
                .map(|r| r.interval),
            Some(Duration::from_micros(1))
        );
        assert!(err("rate_limit:\n  interval: 1s\n  burst: -1\n").contains("rate_limit.burst"));
        assert!(err("rate_limit:\n  interval: soon\n").contains("rate_limit.interval"));
    }

    #[test]
    fn errors_never_quote_the_file() {
        let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
        let e = err(key);
        assert!(!e.contains("MIIE") && !e.contains("BEGIN"), "{e}");
        let e = err("tls_server_config: TOPSECRETVALUE\n");
        assert!(
            !e.contains("TOPSECRET") && e.contains("invalid type"),
            "{e}"
        );
        let e = err("basic_auth_users: [TOPSECRETVALUE]\n");
        assert!(!e.contains("TOPSECRET"), "{e}");
    }

    #[test]
    fn emptiness() {
        for y in [
            "",
            "# c\n",
            "tls_server_config:\n",
            "http_server_config:\n  http2: false\n",
        ] {
            assert!(
                WebConfig::from_yaml(y, Path::new("."))
                    .unwrap()
                    .configures_nothing(),
                "{y}"
            );
        }
        let c = WebConfig::from_yaml(
            "http_server_config:\n  headers:\n    X-Frame-Options: deny\n",
            Path::new("."),
        )
        .unwrap();
        assert!(!c.configures_nothing());
    }

    #[test]
    fn debug_hides_hashes() {
        let hash = bcrypt::hash("pw", 4).unwrap();
        let c = WebConfig::from_yaml(
            &format!("basic_auth_users:\n  bob: '{hash}'\n"),
            Path::new("."),
        )
        .unwrap();
        let d = format!("{c:?}");
        assert!(d.contains("bob") && !d.contains(&hash));
    }
}
