//! The Prometheus exporter-toolkit web configuration file (`--web.config.file`).
//!
//! Operators already know this format from every official exporter, and
//! `promtool check web-config` validates it, so we accept the same keys with
//! the same meaning instead of inventing our own. Everything that can be
//! checked is checked at load time (files readable, certificates and keys
//! parse, bcrypt hashes well formed, enum values known) so that a bad file is
//! refused at start or on reload instead of failing on the first connection.
//! Every error names the offending field.
//!
//! Differences to the Go implementation, all forced by rustls: TLS 1.0/1.1,
//! CBC/RSA-key-exchange cipher suites and the P-521 curve are refused with an
//! explicit error rather than silently ignored.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

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

/// Why a web config file was refused. Messages name the field and never
/// contain key material or password hashes.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error("cannot read web config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// YAML syntax errors and unknown keys (serde names the key).
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
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
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
            "RequireAnyClientCert" => Self::RequireAnyClientCert,
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

/// A parsed and validated exporter-toolkit web configuration. The default
/// value (also what an empty file gives) means plain HTTP without auth.
#[derive(Clone, Default)]
pub struct WebConfig {
    tls: Option<TlsSettings>,
    http2: bool,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// user name → bcrypt hash.
    users: BTreeMap<String, String>,
    /// Certificate, key and CA files read for this config, so the reloader
    /// can notice a renewed certificate behind an unchanged YAML file.
    files: Vec<PathBuf>,
}

// Hand-written so that password hashes never reach logs.
impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.as_ref().map(|t| t.client_auth))
            .field("http2", &self.http2)
            .field("headers", &self.headers)
            .field("basic_auth_users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl WebConfig {
    /// Reads, parses and validates a web config file. Relative paths inside
    /// it are resolved against the file's directory, like the toolkit does.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        Self::from_yaml(&text, base)
    }

    /// Parses and validates YAML text; `base_dir` anchors relative paths.
    pub fn from_yaml(s: &str, base_dir: &Path) -> Result<WebConfig, WebConfigError> {
        // An empty file (or one with only comments) is valid and means
        // "no TLS, no auth"; serde_yaml_ng would reject it as a struct.
        let value: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(s).map_err(|e| WebConfigError::Parse(e.to_string()))?;
        let raw: RawConfig = if value.is_null() {
            RawConfig::default()
        } else {
            serde_yaml_ng::from_value(value).map_err(|e| WebConfigError::Parse(e.to_string()))?
        };

        let mut files = Vec::new();
        let tls = match raw.tls_server_config {
            Some(t) => build_tls(t, base_dir, &mut files)?,
            None => None,
        };
        let http = raw.http_server_config.unwrap_or_default();
        let headers = validate_headers(http.headers.unwrap_or_default())?;
        let users = raw.basic_auth_users.unwrap_or_default();
        for (user, hash) in &users {
            if bcrypt::HashParts::from_str(hash).is_err() {
                // The hash is not echoed: it is (weakly) secret.
                return Err(invalid(
                    "basic_auth_users",
                    format!("user {user:?}: password is not a valid bcrypt hash"),
                ));
            }
        }
        Ok(WebConfig {
            tls,
            // The toolkit enables HTTP/2 unless told otherwise.
            http2: http.http2.unwrap_or(true),
            headers,
            users,
            files,
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

    /// `http_server_config.http2`. Only HTTP/1.1 is served today, so this
    /// is parsed for compatibility and otherwise informational.
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
}

/// Validates the web config file at `path` without serving it.
pub fn check_web_config(path: &Path) -> Result<(), WebConfigError> {
    WebConfig::load(path).map(|_| ())
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
    raw: BTreeMap<String, String>,
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
    let bytes = std::fs::read(&path)
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

/// Go cipher suite names that map onto rustls (ring) TLS 1.2 suites. TLS 1.3
/// names are accepted and ignored, because Go does not make TLS 1.3 suites
/// configurable either.
fn tls12_suite(name: &str) -> Option<Option<SupportedCipherSuite>> {
    match name {
        "TLS_AES_128_GCM_SHA256" | "TLS_AES_256_GCM_SHA384" | "TLS_CHACHA20_POLY1305_SHA256" => {
            Some(None)
        }
        _ => tls12_suite_only(name).map(Some),
    }
}

fn tls12_suite_only(name: &str) -> Option<SupportedCipherSuite> {
    use ring_provider::cipher_suite as cs;
    Some(match name {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"
        | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => {
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => {
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        }
        _ => return None,
    })
}

fn build_tls(
    raw: RawTls,
    base: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Option<TlsSettings>, WebConfigError> {
    let cert_file = empty_to_none(raw.cert_file);
    let key_file = empty_to_none(raw.key_file);
    let cert_inline = empty_to_none(raw.cert);
    let key_inline = empty_to_none(raw.key);
    let client_auth_raw = empty_to_none(raw.client_auth_type);
    let client_ca_file = empty_to_none(raw.client_ca_file);

    // Like the toolkit: a tls_server_config block without any certificate
    // or client-auth setting means TLS is disabled.
    if cert_file.is_none()
        && key_file.is_none()
        && cert_inline.is_none()
        && key_inline.is_none()
        && client_auth_raw.is_none()
        && client_ca_file.is_none()
    {
        return Ok(None);
    }

    // Enum values first: a typo there is the likelier mistake.
    let client_auth: ClientAuthType = client_auth_raw.as_deref().unwrap_or("").parse()?;

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
                "missing cert_file (or cert)",
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
                "missing key_file (or key)",
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
    if version_rank(min) > version_rank(max) {
        return Err(invalid(
            "tls_server_config.min_version",
            "min_version is greater than max_version",
        ));
    }
    let versions: Vec<&'static SupportedProtocolVersion> =
        [&rustls::version::TLS12, &rustls::version::TLS13]
            .into_iter()
            .filter(|v| (version_rank(min)..=version_rank(max)).contains(&version_rank(v)))
            .collect();

    let mut provider = ring_provider::default_provider();
    if let Some(names) = raw.cipher_suites.filter(|n| !n.is_empty()) {
        let mut chosen: Vec<SupportedCipherSuite> = provider
            .cipher_suites
            .iter()
            .copied()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .collect();
        for n in &names {
            match tls12_suite(n) {
                Some(Some(s)) => chosen.push(s),
                Some(None) => {}
                None => {
                    return Err(invalid(
                        "tls_server_config.cipher_suites",
                        format!(
                            "unsupported cipher suite {n:?} (supported: ECDHE with AES-GCM or \
                             CHACHA20-POLY1305, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)"
                        ),
                    ))
                }
            }
        }
        provider.cipher_suites = chosen;
    }
    if let Some(names) = raw.curve_preferences.filter(|n| !n.is_empty()) {
        let mut groups = Vec::new();
        for n in &names {
            groups.push(match n.as_str() {
                "X25519" => ring_provider::kx_group::X25519,
                "CurveP256" => ring_provider::kx_group::SECP256R1,
                "CurveP384" => ring_provider::kx_group::SECP384R1,
                other => {
                    return Err(invalid(
                        "tls_server_config.curve_preferences",
                        format!(
                            "unsupported curve {other:?} (supported: X25519, CurveP256, CurveP384)"
                        ),
                    ))
                }
            });
        }
        provider.kx_groups = groups;
    }
    let provider = Arc::new(provider);

    let allowed_sans = raw.client_allowed_sans.unwrap_or_default();
    let verifier = client_verifier(
        client_auth,
        client_ca_file.as_deref(),
        allowed_sans,
        base,
        &provider,
        files,
    )?;

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
    // Only HTTP/1.1 is served; advertising it lets ALPN clients settle fast.
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];

    Ok(Some(TlsSettings {
        server_config: Arc::new(cfg),
        client_auth,
    }))
}

fn client_verifier(
    mode: ClientAuthType,
    ca_file: Option<&str>,
    allowed_sans: Vec<String>,
    base: &Path,
    provider: &Arc<CryptoProvider>,
    files: &mut Vec<PathBuf>,
) -> Result<Arc<dyn ClientCertVerifier>, WebConfigError> {
    const CA_FIELD: &str = "tls_server_config.client_ca_file";
    let verifying = matches!(
        mode,
        ClientAuthType::VerifyClientCertIfGiven | ClientAuthType::RequireAndVerifyClientCert
    );
    if !allowed_sans.is_empty() && !verifying {
        // Checking SANs of an unverified certificate would be theatre.
        return Err(invalid(
            "tls_server_config.client_allowed_sans",
            "requires client_auth_type VerifyClientCertIfGiven or RequireAndVerifyClientCert",
        ));
    }
    let roots = match ca_file {
        Some(f) => {
            let pem = read_file(CA_FIELD, base, f, files)?;
            let mut store = RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(&pem) {
                let c =
                    c.map_err(|e| invalid(CA_FIELD, format!("invalid PEM certificate: {e}")))?;
                store
                    .add(c)
                    .map_err(|e| invalid(CA_FIELD, format!("unusable CA certificate: {e}")))?;
            }
            if store.is_empty() {
                return Err(invalid(CA_FIELD, "no PEM certificate found"));
            }
            Some(Arc::new(store))
        }
        None => None,
    };
    let algs = provider.signature_verification_algorithms;
    let inner: Arc<dyn ClientCertVerifier> = match mode {
        ClientAuthType::NoClientCert => WebPkiClientVerifier::no_client_auth(),
        ClientAuthType::RequestClientCert => Arc::new(AnyClientCert {
            mandatory: false,
            algs,
        }),
        ClientAuthType::RequireAnyClientCert => Arc::new(AnyClientCert {
            mandatory: true,
            algs,
        }),
        ClientAuthType::VerifyClientCertIfGiven | ClientAuthType::RequireAndVerifyClientCert => {
            let Some(roots) = roots else {
                return Err(invalid(
                    CA_FIELD,
                    "client_ca_file is required for VerifyClientCertIfGiven and RequireAndVerifyClientCert",
                ));
            };
            let b = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
            let b = if mode == ClientAuthType::VerifyClientCertIfGiven {
                b.allow_unauthenticated()
            } else {
                b
            };
            b.build()
                .map_err(|e| invalid(CA_FIELD, format!("cannot build verifier: {e}")))?
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

/// `client_allowed_sans`: after chain verification, the leaf must carry at
/// least one of the listed SANs (DNS, email, IP or URI; exact match, as in
/// the toolkit).
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
        assert!(
            err("tls_server_config:\n  cert: x\n  key: y\n  client_auth_type: Bogus\n")
                .contains("client_auth_type")
        );
    }

    #[test]
    fn tls_block_without_material_is_plain() {
        let c = WebConfig::from_yaml("tls_server_config:\n  min_version: TLS13\n", Path::new("."))
            .unwrap();
        assert!(c.tls().is_none());
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
