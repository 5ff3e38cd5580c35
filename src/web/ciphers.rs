//! The protocol side of `tls_server_config`: TLS versions, cipher suites
//! and curves named as Go names them, mapped to a rustls `CryptoProvider`
//! and the versions it can serve. Go names rustls does not implement (CBC
//! and RSA-key-exchange suites, P-521) are skipped with a warning, and
//! refused when nothing usable remains; TLS 1.0/1.1 are refused.

use std::sync::Arc;

use rustls::crypto::{ring as ring_provider, CryptoProvider, SupportedKxGroup};
use rustls::{SupportedCipherSuite, SupportedProtocolVersion};

use crate::web::error::{invalid, WebConfigError};

/// What `min_version`, `max_version`, `cipher_suites` and
/// `curve_preferences` ask for, their names checked.
pub(super) struct Protocols {
    /// The TLS 1.2 suites listed (`None`: the defaults).
    tls12_suites: Option<Vec<SupportedCipherSuite>>,
    /// The curves listed that rustls implements (`None`: the defaults).
    kx_groups: Option<Vec<&'static dyn SupportedKxGroup>>,
    min: &'static SupportedProtocolVersion,
    max: &'static SupportedProtocolVersion,
}

/// The keys [`Protocols::parse`] reads, as written in the file.
pub(super) struct ProtocolKeys {
    pub(super) cipher_suites: Option<Vec<String>>,
    pub(super) curve_preferences: Option<Vec<String>>,
    pub(super) min_version: Option<String>,
    pub(super) max_version: Option<String>,
}

impl Protocols {
    /// Checks the names, as the toolkit does while unmarshalling (before
    /// any certificate is looked at).
    pub(super) fn parse(
        keys: ProtocolKeys,
        http2: bool,
        warnings: &mut Vec<String>,
    ) -> Result<Protocols, WebConfigError> {
        let min_is_13 = keys.min_version.as_deref() == Some("TLS13");
        let tls12_suites = match keys.cipher_suites.filter(|n| !n.is_empty()) {
            Some(names) => Some(tls12_suites(&names, http2 && !min_is_13, warnings)?),
            None => None,
        };
        let kx_groups = match keys.curve_preferences.filter(|n| !n.is_empty()) {
            Some(names) => kx_groups(&names, warnings)?,
            None => None,
        };
        let min = parse_version(
            "tls_server_config.min_version",
            keys.min_version,
            &rustls::version::TLS12,
        )?;
        let max = parse_version(
            "tls_server_config.max_version",
            keys.max_version,
            &rustls::version::TLS13,
        )?;
        Ok(Protocols {
            tls12_suites,
            kx_groups,
            min,
            max,
        })
    }

    /// The provider with the listed suites and curves, and the versions
    /// among `min..=max` it has a suite for.
    pub(super) fn provider(
        self,
        warnings: &mut Vec<String>,
    ) -> Result<(Arc<CryptoProvider>, Vec<&'static SupportedProtocolVersion>), WebConfigError> {
        let (min, max) = (version_rank(self.min), version_rank(self.max));
        if min > max {
            return Err(invalid(
                "tls_server_config.min_version",
                "min_version is greater than max_version",
            ));
        }
        let mut provider = ring_provider::default_provider();
        if let Some(chosen) = self.tls12_suites {
            let tls12_wanted = min <= 12;
            if chosen.is_empty() && tls12_wanted {
                if max < 13 {
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
        if let Some(groups) = self.kx_groups {
            provider.kx_groups = groups;
        }
        let provider = Arc::new(provider);
        let versions: Vec<&'static SupportedProtocolVersion> =
            [&rustls::version::TLS12, &rustls::version::TLS13]
                .into_iter()
                .filter(|v| (min..=max).contains(&version_rank(v)))
                .filter(|v| {
                    // A version without a usable suite would fail the builder.
                    provider.cipher_suites.iter().any(|s| s.version() == *v)
                })
                .collect();
        Ok((provider, versions))
    }
}

/// `cipher_suites`: the TLS 1.2 suites among `names`. `needs_h2_suite`:
/// HTTP/2 is offered below TLS 1.3.
fn tls12_suites(
    names: &[String],
    needs_h2_suite: bool,
    warnings: &mut Vec<String>,
) -> Result<Vec<SupportedCipherSuite>, WebConfigError> {
    let mut chosen = Vec::new();
    for n in names {
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
    let has_h2_suite = names.iter().any(|n| {
        n == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
            || n == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
    });
    if needs_h2_suite && !has_h2_suite {
        return Err(invalid(
            "tls_server_config.cipher_suites",
            "HTTP/2 needs TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 or \
             TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 in the list \
             (or set http_server_config.http2: false)",
        ));
    }
    Ok(chosen)
}

/// `curve_preferences`: the groups among `names` that rustls implements,
/// `None` when that leaves none.
fn kx_groups(
    names: &[String],
    warnings: &mut Vec<String>,
) -> Result<Option<Vec<&'static dyn SupportedKxGroup>>, WebConfigError> {
    let mut groups = Vec::new();
    for n in names {
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
        return Ok(None);
    }
    Ok(Some(groups))
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
