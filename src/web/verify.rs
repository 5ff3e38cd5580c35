//! Client certificates: the `client_auth_type` policies and the rustls
//! verifiers that implement them as Go does (no chain check for the
//! "any certificate" modes, a client CA that may be the client's own
//! certificate, the system roots without a CA), with the
//! `client_allowed_sans` check on top.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

use crate::web::error::{invalid, WebConfigError};

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

pub(super) fn client_verifier(
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
