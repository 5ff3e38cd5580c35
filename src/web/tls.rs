//! `tls_server_config`: its keys, and the rustls `ServerConfig` built from
//! them once at load (certificate and key, files or inline PEM; the
//! protocols from `ciphers`; the client-certificate verifier from
//! `verify`; ALPN), so that a reload swaps a ready, validated object.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::danger::ClientCertVerifier;
use rustls::{ServerConfig, SupportedProtocolVersion};
use serde::Deserialize;

use crate::web::ciphers::{ProtocolKeys, Protocols};
use crate::web::error::{invalid, WebConfigError};
use crate::web::files::read_file;
use crate::web::verify::{client_verifier, ClientAuthType};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
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

/// The two keys that can give one PEM: a file, or the PEM inline.
struct PemKeys {
    file: &'static str,
    inline: &'static str,
}

const CERT: PemKeys = PemKeys {
    file: "tls_server_config.cert_file",
    inline: "tls_server_config.cert",
};
const KEY: PemKeys = PemKeys {
    file: "tls_server_config.key_file",
    inline: "tls_server_config.key",
};
const CLIENT_CA: PemKeys = PemKeys {
    file: "tls_server_config.client_ca_file",
    inline: "tls_server_config.client_ca",
};

impl PemKeys {
    /// The key's name inside `tls_server_config`, as messages say it.
    fn short(key: &'static str) -> &'static str {
        key.strip_prefix("tls_server_config.").unwrap_or(key)
    }

    /// The PEM bytes (a file is read now) and the key that gave them;
    /// `None` when neither key is set, an error when both are.
    fn read(
        &self,
        file: Option<String>,
        inline: Option<String>,
        base: &Path,
        files: &mut Vec<PathBuf>,
    ) -> Result<Option<(Vec<u8>, &'static str)>, WebConfigError> {
        match (file, inline) {
            (Some(_), Some(_)) => Err(invalid(
                self.file,
                format!(
                    "{} and {} are mutually exclusive",
                    Self::short(self.file),
                    Self::short(self.inline)
                ),
            )),
            (Some(f), None) => Ok(Some((read_file(self.file, base, &f, files)?, self.file))),
            (None, Some(c)) => Ok(Some((c.into_bytes(), self.inline))),
            (None, None) => Ok(None),
        }
    }

    fn missing(&self) -> WebConfigError {
        invalid(
            self.file,
            format!(
                "missing one of {} or {}",
                Self::short(self.inline),
                Self::short(self.file)
            ),
        )
    }
}

fn empty_to_none(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// The keys that give the server's certificate and key and the client
/// CA, blank ones as unset.
struct PemSources {
    cert_file: Option<String>,
    cert: Option<String>,
    key_file: Option<String>,
    key: Option<String>,
    client_ca_file: Option<String>,
    client_ca: Option<String>,
}

/// What [`PemSources`] give, parsed where the server needs it parsed.
struct Material {
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    /// The key that gave `key`, for errors about it.
    key_field: &'static str,
    /// The client CA PEM and the key that gave it.
    ca_pem: Option<(Vec<u8>, &'static str)>,
}

impl PemSources {
    fn is_empty(&self) -> bool {
        [
            &self.cert_file,
            &self.cert,
            &self.key_file,
            &self.key,
            &self.client_ca_file,
            &self.client_ca,
        ]
        .iter()
        .all(|k| k.is_none())
    }

    /// Reads the files and parses certificate and key, in the toolkit's
    /// order: both present, then the certificate, the key, the CA.
    fn read(self, base: &Path, files: &mut Vec<PathBuf>) -> Result<Material, WebConfigError> {
        let (cert_pem, _) = CERT
            .read(self.cert_file, self.cert, base, files)?
            .ok_or_else(|| CERT.missing())?;
        let (key_pem, key_field) = KEY
            .read(self.key_file, self.key, base, files)?
            .ok_or_else(|| KEY.missing())?;
        let certs = parse_certs(&cert_pem)?;
        // The pem error type only describes structure, never key bytes.
        let key = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|e| invalid(key_field, format!("no usable PEM private key: {e}")))?;
        let ca_pem = CLIENT_CA.read(self.client_ca_file, self.client_ca, base, files)?;
        Ok(Material {
            certs,
            key,
            key_field,
            ca_pem,
        })
    }
}

/// `tls_server_config`, checked in the toolkit's order (names, then the
/// certificate and key, then the client policy); `None` when the block
/// sets no certificate, CA or client-auth key, which means plain HTTP.
pub(super) fn build_tls(
    raw: RawTls,
    base: &Path,
    http2: bool,
    files: &mut Vec<PathBuf>,
    warnings: &mut Vec<String>,
) -> Result<Option<TlsSettings>, WebConfigError> {
    let pems = PemSources {
        cert_file: empty_to_none(raw.cert_file),
        cert: empty_to_none(raw.cert),
        key_file: empty_to_none(raw.key_file),
        key: empty_to_none(raw.key),
        client_ca_file: empty_to_none(raw.client_ca_file),
        client_ca: empty_to_none(raw.client_ca),
    };
    let client_auth_raw = empty_to_none(raw.client_auth_type);

    // Names are checked first, as the toolkit does while unmarshalling.
    let keys = ProtocolKeys {
        cipher_suites: raw.cipher_suites,
        curve_preferences: raw.curve_preferences,
        min_version: raw.min_version,
        max_version: raw.max_version,
    };
    let protocols = Protocols::parse(keys, http2, warnings)?;

    // Like the toolkit: a tls_server_config block without any certificate,
    // CA or client-auth setting means TLS is disabled.
    if pems.is_empty() && client_auth_raw.is_none() {
        return Ok(None);
    }

    let m = pems.read(base, files)?;
    let client_auth = client_auth_policy(client_auth_raw.as_deref(), m.ca_pem.is_some())?;
    let (provider, versions) = protocols.provider(warnings)?;
    let allowed_sans = raw.client_allowed_sans.unwrap_or_default();
    if !allowed_sans.is_empty() && client_auth == ClientAuthType::NoClientCert {
        // The toolkit accepts this and never checks (Go does not call the
        // hook without client auth); say so rather than pretend.
        warnings.push(
            "tls_server_config.client_allowed_sans has no effect with client_auth_type NoClientCert"
                .into(),
        );
    }
    let verifier = client_verifier(client_auth, m.ca_pem, allowed_sans, &provider)?;

    let mut cfg = rustls_config(provider, &versions, verifier, m.certs, m.key, m.key_field)?;
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

/// The rustls config serving `certs` and `key` with these protocols and
/// this client verifier.
fn rustls_config(
    provider: Arc<CryptoProvider>,
    versions: &[&'static SupportedProtocolVersion],
    verifier: Arc<dyn ClientCertVerifier>,
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    key_field: &'static str,
) -> Result<ServerConfig, WebConfigError> {
    ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
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
        })
}

/// The certificate chain of `tls_server_config.cert_file` (or `cert`).
fn parse_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, WebConfigError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
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
    Ok(certs)
}

/// `client_auth_type`; a client CA without a policy is refused, since it
/// would silently check nothing.
fn client_auth_policy(raw: Option<&str>, has_ca: bool) -> Result<ClientAuthType, WebConfigError> {
    let client_auth: ClientAuthType = raw.unwrap_or("").parse()?;
    if has_ca && client_auth == ClientAuthType::NoClientCert {
        return Err(invalid(
            "tls_server_config.client_auth_type",
            "a client CA is configured without a client auth policy \
             (set client_auth_type, e.g. RequireAndVerifyClientCert)",
        ));
    }
    Ok(client_auth)
}
