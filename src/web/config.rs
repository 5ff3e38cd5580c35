//! The Prometheus exporter-toolkit web configuration file (`--web.config.file`).
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
//!
//! Differences to the Go implementation, all forced by rustls: TLS 1.0/1.1
//! are refused; cipher suites and curves that Go knows but rustls does not
//! implement (CBC and RSA-key-exchange suites, P-521) are skipped with a
//! warning, and refused when nothing usable remains.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use rustls::crypto::{ring as ring_provider, CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
    SupportedCipherSuite, SupportedProtocolVersion,
};
use serde::Deserialize;

/// Larger web config, certificate, key or CA files are refused: none of
/// them is legitimately this big, and an unbounded read of a wrong path
/// (`/dev/zero`) would exhaust memory.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Why a web config file was refused. Messages name the field and never
/// contain key material, password hashes or other file content.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error("cannot read web config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// YAML syntax errors and unknown keys (the key is named, values never).
    #[error("invalid web config: {0}")]
    Parse(String),
    #[error("invalid web config: {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> WebConfigError {
    WebConfigError::Invalid {
        field,
        reason: reason.into(),
    }
}

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
struct RawTls {
    #[serde(default)]
    cert_file: Option<String>,
    #[serde(default)]
    key_file: Option<String>,
    #[serde(default)]
    cert: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    client_ca: Option<String>,
    #[serde(default)]
    client_auth_type: Option<String>,
    #[serde(default)]
    client_ca_file: Option<String>,
    #[serde(default)]
    client_allowed_sans: Option<Vec<String>>,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
    #[serde(default)]
    cipher_suites: Option<Vec<String>>,
    #[serde(default)]
    curve_preferences: Option<Vec<String>>,
    #[serde(default)]
    prefer_server_cipher_suites: Option<bool>,
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

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    /// A Go duration string ("1s") or an integer (nanoseconds, as Go's
    /// YAML reads a bare number into `time.Duration`).
    #[serde(default)]
    interval: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    burst: Option<i64>,
}

// ---------------------------------------------------------------------------
// Validated configuration.

/// How client certificates are handled (exporter-toolkit `client_auth_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthType {
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

impl FromStr for ClientAuthType {
    type Err = WebConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "" | "NoClientCert" => Self::NoClientCert,
            "RequestClientCert" => Self::RequestClientCert,
            // "RequireClientCert" is the toolkit's backwards-compatible alias.
            "RequireAnyClientCert" | "RequireClientCert" => Self::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => Self::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => Self::RequireAndVerifyClientCert,
            other => {
                return Err(invalid(
                    "tls_server_config.client_auth_type",
                    format!(
                        "unknown value {other:?} (expected NoClientCert, RequestClientCert, \
                         RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
                    ),
                ))
            }
        })
    }
}

/// TLS settings; the rustls config is built once at load so that reloads
/// swap a ready-made, already validated object.
#[derive(Clone)]
pub struct TlsSettings {
    server_config: Arc<ServerConfig>,
    client_auth: ClientAuthType,
}

impl TlsSettings {
    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.server_config.clone()
    }
    pub fn client_auth(&self) -> ClientAuthType {
        self.client_auth
    }
}

/// `rate_limit`: a token bucket refilled one token per `interval`, holding
/// at most `burst` (golang.org/x/time/rate semantics, which the toolkit
/// uses: burst 0 refuses everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub interval: Duration,
    pub burst: u32,
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
            .field("tls", &self.tls.as_ref().map(|t| t.client_auth))
            .field("http2", &self.http2)
            .field("headers", &self.headers)
            .field("basic_auth_users", &self.users.keys().collect::<Vec<_>>())
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

/// Reads at most `MAX_FILE_BYTES` of `path`.
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let f = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    f.take(MAX_FILE_BYTES + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {MAX_FILE_BYTES} bytes"),
        ));
    }
    Ok(buf)
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
        // An empty file (or one with only comments) is valid and means
        // "no TLS, no auth"; serde_yaml_ng would reject it as a struct.
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(s).map_err(|e| yaml_error(&e))?;
        let raw: RawConfig = match value {
            serde_yaml_ng::Value::Null => RawConfig::default(),
            serde_yaml_ng::Value::Mapping(_) => {
                serde_yaml_ng::from_value(value).map_err(|e| yaml_error(&e))?
            }
            other => {
                let kind = match other {
                    serde_yaml_ng::Value::Sequence(_) => "a list",
                    _ => "a single value",
                };
                return Err(WebConfigError::Parse(format!(
                    "the file holds {kind}, not a mapping of tls_server_config, \
                     http_server_config, basic_auth_users, rate_limit \
                     (is --web.config.file pointing at a certificate or key?)"
                )));
            }
        };

        let mut warnings = Vec::new();
        let http = raw.http_server_config.unwrap_or_default();
        // The toolkit enables HTTP/2 unless told otherwise.
        let http2 = http.http2.unwrap_or(true);
        let headers = validate_headers(http.headers.unwrap_or_default())?;

        let users = raw.basic_auth_users.unwrap_or_default();
        let mut max_cost = 0;
        for (user, hash) in &users {
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
    /// `web_server`); at start it is valid, as in the toolkit.
    pub fn configures_nothing(&self) -> bool {
        self.tls.is_none()
            && self.users.is_empty()
            && self.headers.is_empty()
            && self.rate_limit.is_none()
    }
}

/// Validates the web config file at `path` without serving it.
pub fn check_web_config(path: &Path) -> Result<(), WebConfigError> {
    WebConfig::load(path).map(|_| ())
}

// ---------------------------------------------------------------------------
// Rate limit

fn build_rate_limit(r: RawRateLimit) -> Result<Option<RateLimit>, WebConfigError> {
    const IV: &str = "rate_limit.interval";
    let interval = match r.interval {
        None | Some(serde_yaml_ng::Value::Null) => Duration::ZERO,
        Some(serde_yaml_ng::Value::Number(n)) => match n.as_u64() {
            Some(ns) => Duration::from_nanos(ns),
            None => return Err(invalid(IV, "must be a non-negative duration")),
        },
        Some(serde_yaml_ng::Value::String(s)) => {
            parse_go_duration(&s).map_err(|why| invalid(IV, format!("{why} (e.g. \"1s\")")))?
        }
        Some(_) => return Err(invalid(IV, "must be a duration such as \"1s\"")),
    };
    let burst = r.burst.unwrap_or(0);
    let burst = u32::try_from(burst)
        .map_err(|_| invalid("rate_limit.burst", "must be between 0 and 4294967295"))?;
    // Interval 0 disables the limiter, as in the toolkit.
    Ok((!interval.is_zero()).then_some(RateLimit { interval, burst }))
}

/// Go's `time.ParseDuration` grammar: `[0-9.]+unit` repeated, units
/// ns, us (µs), ms, s, m, h; a bare "0" is zero. Negative values are
/// refused (a negative interval means nothing for a rate).
pub fn parse_go_duration(s: &str) -> Result<Duration, &'static str> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() || s.starts_with('-') {
        return Err("not a positive duration");
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or("missing unit")?;
        if num_len == 0 {
            return Err("invalid duration");
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| "invalid number")?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err("unknown unit (ns, us, ms, s, m, h)"),
        };
        rest = &rest[unit_len..];
        total += n * secs;
    }
    Duration::try_from_secs_f64(total).map_err(|_| "duration out of range")
}

// ---------------------------------------------------------------------------
// Headers

/// The toolkit lets only these security headers be set; anything else
/// (Content-Type, Set-Cookie, ...) could break the exporter's responses.
const ALLOWED_HEADERS: &[&str] = &[
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
];

fn validate_headers(
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

// ---------------------------------------------------------------------------
// TLS

fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn read_file(
    field: &'static str,
    base: &Path,
    p: &str,
    files: &mut Vec<PathBuf>,
) -> Result<Vec<u8>, WebConfigError> {
    let path = resolve(base, p);
    let bytes = read_bounded(&path)
        .map_err(|e| invalid(field, format!("cannot read {}: {e}", path.display())))?;
    files.push(path);
    Ok(bytes)
}

fn empty_to_none(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

fn parse_version(
    field: &'static str,
    v: Option<String>,
    default: &'static SupportedProtocolVersion,
) -> Result<&'static SupportedProtocolVersion, WebConfigError> {
    match v.as_deref() {
        None | Some("") => Ok(default),
        Some("TLS12") => Ok(&rustls::version::TLS12),
        Some("TLS13") => Ok(&rustls::version::TLS13),
        Some(v @ ("TLS10" | "TLS11")) => Err(invalid(
            field,
            format!("{v} is not supported (insecure, and not implemented by rustls); use TLS12 or TLS13"),
        )),
        Some(other) => Err(invalid(
            field,
            format!("unknown TLS version {other:?} (expected TLS12 or TLS13)"),
        )),
    }
}

fn version_rank(v: &SupportedProtocolVersion) -> u8 {
    if v.version == rustls::ProtocolVersion::TLSv1_3 {
        13
    } else {
        12
    }
}

/// What a cipher suite name in the file means here.
enum Suite {
    /// A TLS 1.2 suite rustls implements.
    Tls12(SupportedCipherSuite),
    /// A TLS 1.3 name: Go accepts and ignores it (1.3 suites are not
    /// configurable there), and so do we.
    Tls13,
    /// Go knows it (`tls.CipherSuites()`), rustls does not implement it
    /// (CBC, RSA key exchange): skipped with a warning.
    NotImplemented,
}

fn cipher_suite(name: &str) -> Option<Suite> {
    use ring_provider::cipher_suite as cs;
    Some(match name {
        "TLS_AES_128_GCM_SHA256" | "TLS_AES_256_GCM_SHA384" | "TLS_CHACHA20_POLY1305_SHA256" => {
            Suite::Tls13
        }
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => {
            Suite::Tls12(cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
        }
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => {
            Suite::Tls12(cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)
        }
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"
        | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => {
            Suite::Tls12(cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)
        }
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => {
            Suite::Tls12(cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
        }
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => {
            Suite::Tls12(cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)
        }
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => {
            Suite::Tls12(cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256)
        }
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"
        | "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"
        | "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
        | "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"
        | "TLS_RSA_WITH_AES_128_CBC_SHA"
        | "TLS_RSA_WITH_AES_256_CBC_SHA"
        | "TLS_RSA_WITH_AES_128_GCM_SHA256"
        | "TLS_RSA_WITH_AES_256_GCM_SHA384" => Suite::NotImplemented,
        _ => return None,
    })
}

/// The trust anchors Go uses when `client_ca_file` is not given: the
/// system's CA bundle (webpki-roots when the host has none).
fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut store = RootCertStore::empty();
            let candidates = std::env::var_os("SSL_CERT_FILE")
                .map(PathBuf::from)
                .into_iter()
                .chain(
                    [
                        "/etc/ssl/certs/ca-certificates.crt",
                        "/etc/pki/tls/certs/ca-bundle.crt",
                        "/etc/ssl/cert.pem",
                    ]
                    .map(PathBuf::from),
                );
            for p in candidates {
                if let Ok(pem) = std::fs::read(&p) {
                    for c in CertificateDer::pem_slice_iter(&pem).flatten() {
                        let _ = store.add(c);
                    }
                }
                if !store.is_empty() {
                    break;
                }
            }
            if store.is_empty() {
                store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            Arc::new(store)
        })
        .clone()
}

fn build_tls(
    raw: RawTls,
    base: &Path,
    http2: bool,
    files: &mut Vec<PathBuf>,
    warnings: &mut Vec<String>,
) -> Result<Option<TlsSettings>, WebConfigError> {
    let cert_file = empty_to_none(raw.cert_file);
    let key_file = empty_to_none(raw.key_file);
    let cert_inline = empty_to_none(raw.cert);
    let key_inline = empty_to_none(raw.key);
    let ca_inline = empty_to_none(raw.client_ca);
    let client_auth_raw = empty_to_none(raw.client_auth_type);
    let client_ca_file = empty_to_none(raw.client_ca_file);

    // Names are checked first, as the toolkit does while unmarshalling.
    let mut tls12_suites: Option<Vec<SupportedCipherSuite>> = None;
    if let Some(names) = raw.cipher_suites.filter(|n| !n.is_empty()) {
        let mut chosen = Vec::new();
        for n in &names {
            match cipher_suite(n) {
                Some(Suite::Tls12(s)) => chosen.push(s),
                Some(Suite::Tls13) => {}
                Some(Suite::NotImplemented) => warnings.push(format!(
                    "tls_server_config.cipher_suites: {n} is not implemented by rustls; skipped"
                )),
                None => {
                    return Err(invalid(
                        "tls_server_config.cipher_suites",
                        format!(
                            "unknown cipher suite {n:?} (implemented: ECDHE with AES-GCM or \
                             CHACHA20-POLY1305, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)"
                        ),
                    ))
                }
            }
        }
        // HTTP/2 (RFC 7540 9.2.2) needs an AES-128-GCM suite below TLS 1.3;
        // Go's http2 server refuses to start without one, and so do we.
        let min_is_13 = raw.min_version.as_deref() == Some("TLS13");
        let has_h2_suite = names.iter().any(|n| {
            n == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
                || n == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        });
        if http2 && !min_is_13 && !has_h2_suite {
            return Err(invalid(
                "tls_server_config.cipher_suites",
                "HTTP/2 needs TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 or \
                 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 in the list \
                 (or set http_server_config.http2: false)",
            ));
        }
        tls12_suites = Some(chosen);
    }
    let mut kx_groups = None;
    if let Some(names) = raw.curve_preferences.filter(|n| !n.is_empty()) {
        let mut groups = Vec::new();
        for n in &names {
            match n.as_str() {
                "X25519" => groups.push(ring_provider::kx_group::X25519),
                "CurveP256" => groups.push(ring_provider::kx_group::SECP256R1),
                "CurveP384" => groups.push(ring_provider::kx_group::SECP384R1),
                "CurveP521" => warnings.push(
                    "tls_server_config.curve_preferences: CurveP521 is not implemented by rustls; skipped"
                        .into(),
                ),
                other => {
                    return Err(invalid(
                        "tls_server_config.curve_preferences",
                        format!(
                            "unknown curve {other:?} (expected X25519, CurveP256, CurveP384 or CurveP521)"
                        ),
                    ))
                }
            }
        }
        if groups.is_empty() {
            // The toolkit accepts a P-521-only list; rustls cannot offer it,
            // so the handshake uses rustls' default groups instead.
            warnings.push(
                "tls_server_config.curve_preferences: no listed curve is implemented; \
                 using X25519, CurveP256, CurveP384"
                    .into(),
            );
        } else {
            kx_groups = Some(groups);
        }
    }
    let min = parse_version(
        "tls_server_config.min_version",
        raw.min_version,
        &rustls::version::TLS12,
    )?;
    let max = parse_version(
        "tls_server_config.max_version",
        raw.max_version,
        &rustls::version::TLS13,
    )?;

    // Like the toolkit: a tls_server_config block without any certificate,
    // CA or client-auth setting means TLS is disabled.
    if cert_file.is_none()
        && key_file.is_none()
        && cert_inline.is_none()
        && key_inline.is_none()
        && ca_inline.is_none()
        && client_auth_raw.is_none()
        && client_ca_file.is_none()
    {
        return Ok(None);
    }

    let cert_pem = match (cert_file, cert_inline) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "tls_server_config.cert_file",
                "cert_file and cert are mutually exclusive",
            ))
        }
        (Some(f), None) => read_file("tls_server_config.cert_file", base, &f, files)?,
        (None, Some(c)) => c.into_bytes(),
        (None, None) => {
            return Err(invalid(
                "tls_server_config.cert_file",
                "missing one of cert or cert_file",
            ))
        }
    };
    let (key_pem, key_field) = match (key_file, key_inline) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "tls_server_config.key_file",
                "key_file and key are mutually exclusive",
            ))
        }
        (Some(f), None) => (
            read_file("tls_server_config.key_file", base, &f, files)?,
            "tls_server_config.key_file",
        ),
        (None, Some(k)) => (k.into_bytes(), "tls_server_config.key"),
        (None, None) => {
            return Err(invalid(
                "tls_server_config.key_file",
                "missing one of key or key_file",
            ))
        }
    };

    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            invalid(
                "tls_server_config.cert_file",
                format!("invalid PEM certificate: {e}"),
            )
        })?;
    if certs.is_empty() {
        return Err(invalid(
            "tls_server_config.cert_file",
            "no PEM certificate found",
        ));
    }
    // The pem error type only describes structure, never key bytes.
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| invalid(key_field, format!("no usable PEM private key: {e}")))?;

    let ca_pem = match (client_ca_file, ca_inline) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "tls_server_config.client_ca_file",
                "client_ca_file and client_ca are mutually exclusive",
            ))
        }
        (Some(f), None) => Some((
            read_file("tls_server_config.client_ca_file", base, &f, files)?,
            "tls_server_config.client_ca_file",
        )),
        (None, Some(c)) => Some((c.into_bytes(), "tls_server_config.client_ca")),
        (None, None) => None,
    };
    let client_auth: ClientAuthType = client_auth_raw.as_deref().unwrap_or("").parse()?;
    if ca_pem.is_some() && client_auth == ClientAuthType::NoClientCert {
        return Err(invalid(
            "tls_server_config.client_auth_type",
            "a client CA is configured without a client auth policy \
             (set client_auth_type, e.g. RequireAndVerifyClientCert)",
        ));
    }

    if version_rank(min) > version_rank(max) {
        return Err(invalid(
            "tls_server_config.min_version",
            "min_version is greater than max_version",
        ));
    }
    let mut provider = ring_provider::default_provider();
    if let Some(chosen) = tls12_suites {
        let tls12_wanted = version_rank(min) <= 12;
        if chosen.is_empty() && tls12_wanted {
            if version_rank(max) < 13 {
                return Err(invalid(
                    "tls_server_config.cipher_suites",
                    "none of the listed TLS 1.2 cipher suites is implemented by rustls \
                     (ECDHE with AES-GCM or CHACHA20-POLY1305 are)",
                ));
            }
            warnings.push(
                "tls_server_config.cipher_suites: no implemented TLS 1.2 suite listed; only TLS 1.3 is served"
                    .into(),
            );
        }
        let mut suites: Vec<SupportedCipherSuite> = provider
            .cipher_suites
            .iter()
            .copied()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .collect();
        suites.extend(chosen);
        provider.cipher_suites = suites;
    }
    if let Some(groups) = kx_groups {
        provider.kx_groups = groups;
    }
    let provider = Arc::new(provider);
    let versions: Vec<&'static SupportedProtocolVersion> =
        [&rustls::version::TLS12, &rustls::version::TLS13]
            .into_iter()
            .filter(|v| (version_rank(min)..=version_rank(max)).contains(&version_rank(v)))
            .filter(|v| {
                // A version without a usable suite would fail the builder.
                provider.cipher_suites.iter().any(|s| s.version() == *v)
            })
            .collect();

    let allowed_sans = raw.client_allowed_sans.unwrap_or_default();
    if !allowed_sans.is_empty() && client_auth == ClientAuthType::NoClientCert {
        // The toolkit accepts this and never checks (Go does not call the
        // hook without client auth); say so rather than pretend.
        warnings.push(
            "tls_server_config.client_allowed_sans has no effect with client_auth_type NoClientCert"
                .into(),
        );
    }
    let verifier = client_verifier(client_auth, ca_pem, allowed_sans, &provider)?;

    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| {
            invalid(
                "tls_server_config.cipher_suites",
                format!("no usable cipher suite for the configured TLS versions: {e}"),
            )
        })?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| {
            invalid(
                key_field,
                format!("certificate and key do not form a usable pair: {e}"),
            )
        })?;
    // Go's default is to prefer the server's order too.
    cfg.ignore_client_order = raw.prefer_server_cipher_suites.unwrap_or(true);
    cfg.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };

    Ok(Some(TlsSettings {
        server_config: Arc::new(cfg),
        client_auth,
    }))
}

fn client_verifier(
    mode: ClientAuthType,
    ca_pem: Option<(Vec<u8>, &'static str)>,
    allowed_sans: Vec<String>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, WebConfigError> {
    let mut anchors = Vec::new();
    let roots = match ca_pem {
        Some((pem, field)) => {
            let mut store = RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(&pem) {
                let c = c.map_err(|e| invalid(field, format!("invalid PEM certificate: {e}")))?;
                anchors.push(c.as_ref().to_vec());
                store
                    .add(c)
                    .map_err(|e| invalid(field, format!("unusable CA certificate: {e}")))?;
            }
            if store.is_empty() {
                return Err(invalid(field, "no PEM certificate found"));
            }
            Arc::new(store)
        }
        // Go verifies against the system roots when no CA is given.
        None => system_roots(),
    };
    let algs = provider.signature_verification_algorithms;
    let inner: Arc<dyn ClientCertVerifier> = match mode {
        ClientAuthType::NoClientCert => return Ok(WebPkiClientVerifier::no_client_auth()),
        ClientAuthType::RequestClientCert => Arc::new(AnyClientCert {
            mandatory: false,
            algs,
        }),
        ClientAuthType::RequireAnyClientCert => Arc::new(AnyClientCert {
            mandatory: true,
            algs,
        }),
        ClientAuthType::VerifyClientCertIfGiven | ClientAuthType::RequireAndVerifyClientCert => {
            let b = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
            let b = if mode == ClientAuthType::VerifyClientCertIfGiven {
                b.allow_unauthenticated()
            } else {
                b
            };
            let webpki = b.build().map_err(|e| {
                invalid(
                    "tls_server_config.client_ca_file",
                    format!("cannot build verifier: {e}"),
                )
            })?;
            Arc::new(TrustedLeaf {
                inner: webpki,
                anchors,
            })
        }
    };
    if allowed_sans.is_empty() {
        Ok(inner)
    } else {
        Ok(Arc::new(SanCheck {
            inner,
            allowed: allowed_sans,
        }))
    }
}

/// Go trusts a client certificate that is itself in the client CA pool
/// (a self-signed client certificate given as `client_ca_file`, as the
/// toolkit's own tests do); webpki would refuse it as a CA used as an end
/// entity. Byte-identical certificates within their validity pass; anything
/// else goes through the normal chain verification.
#[derive(Debug)]
struct TrustedLeaf {
    inner: Arc<dyn ClientCertVerifier>,
    anchors: Vec<Vec<u8>>,
}

fn valid_at(der: &[u8], now: UnixTime) -> bool {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return false;
    };
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let v = cert.validity();
    v.not_before.timestamp() <= now && now <= v.not_after.timestamp()
}

impl ClientCertVerifier for TrustedLeaf {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }
    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if self.anchors.iter().any(|a| a == end_entity.as_ref()) && valid_at(end_entity, now) {
            return Ok(ClientCertVerified::assertion());
        }
        self.inner
            .verify_client_cert(end_entity, intermediates, now)
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `RequestClientCert` / `RequireAnyClientCert`: Go asks for a certificate
/// but does not verify its chain. The handshake signature is still checked
/// so the client must at least hold the key of what it presents.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// `client_allowed_sans`: after the mode's own verification, the leaf must
/// carry at least one of the listed SANs (DNS, email, IP or URI; exact
/// match, as in the toolkit). A client without a certificate is refused
/// too: the toolkit's check fails on an empty certificate list.
#[derive(Debug)]
struct SanCheck {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<String>,
}

fn cert_sans(der: &[u8]) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Vec::new();
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
                Some((*s).to_string())
            }
            GeneralName::IPAddress(b) => match b.len() {
                4 => Some(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*b).ok()?).to_string()),
                16 => Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*b).ok()?).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

impl ClientCertVerifier for SanCheck {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }
    fn client_auth_mandatory(&self) -> bool {
        true
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let ok = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        if cert_sans(end_entity)
            .iter()
            .any(|s| self.allowed.iter().any(|a| a == s))
        {
            Ok(ok)
        } else {
            Err(rustls::Error::General(
                "client certificate has no allowed SAN".into(),
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn go_durations() {
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_go_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_go_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["", "1", "-1s", "1d", "s"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
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
