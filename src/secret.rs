//! A string that must never be printed: app secrets, access tokens.
//!
//! `Secret` has no `Display`, and its `Debug` prints a placeholder, so a
//! stray `{:?}` in a log line or error cannot leak it. Reading the value
//! takes an explicit `expose()`, which is easy to audit with grep.

use serde::{Deserialize, Deserializer};
use std::io::Read;
use std::path::Path;

/// The largest secret file read (AppSecrets are 32 characters, a proxy
/// password a few dozen): `/dev/zero` or a log file named by mistake is
/// refused after this many bytes instead of filling memory.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Reads at most `limit` bytes of `path` as UTF-8; a longer file is an error
/// that names the limit, never the content. Files named in configs are read
/// through here so that no path (a device, a huge file) can exhaust memory.
pub fn read_bounded(path: &Path, limit: u64) -> Result<String, String> {
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| e.to_string())?;
    if buf.len() as u64 > limit {
        return Err(format!("larger than the limit of {limit} bytes"));
    }
    String::from_utf8(buf).map_err(|_| "not UTF-8 text".to_string())
}

/// A secret from a file: bounded, trimmed, not empty. Errors name the path
/// and never the content.
pub fn read_secret_file(path: &Path) -> Result<Secret, String> {
    let text = read_bounded(path, MAX_SECRET_FILE_BYTES)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let s = text.trim();
    if s.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(Secret::new(s))
}

#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Replaces the values of credential query parameters in `url` with
/// `REDACTED`, so the URL can go into a log line or an error.
pub fn redact_url(url: &str) -> String {
    let url = &strip_userinfo(url);
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if is_credential_param(k) => format!("{k}=REDACTED"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

/// `https://user:pass@host/…` → `https://REDACTED@host/…`: a token
/// service URL may carry its credentials.
fn strip_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://REDACTED@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// WeChat echoes nothing secret in errmsg today; this keeps it that way.
pub fn scrub(msg: String, secret: &Secret) -> String {
    if !secret.is_empty() && msg.contains(secret.expose()) {
        msg.replace(secret.expose(), "REDACTED")
    } else {
        msg
    }
}

fn is_credential_param(k: &str) -> bool {
    matches!(
        k.to_ascii_lowercase().as_str(),
        "access_token"
            | "secret"
            | "appsecret"
            | "component_access_token"
            | "authorizer_access_token"
            | "authorizer_refresh_token"
            | "refresh_token"
            | "component_verify_ticket"
            | "ticket"
            | "token"
            | "key"
            | "api_key"
            | "password"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_value() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn secret_files_are_bounded_and_never_echoed() {
        let e = read_secret_file(Path::new("/dev/zero")).unwrap_err();
        assert!(e.contains("limit"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        std::fs::write(&p, "  hunter2\n").unwrap();
        assert_eq!(read_secret_file(&p).unwrap().expose(), "hunter2");
        std::fs::write(&p, [0xffu8, 0xfe, b'h']).unwrap();
        let e = read_secret_file(&p).unwrap_err();
        assert!(e.contains("UTF-8"), "{e}");
        std::fs::write(&p, " \n").unwrap();
        assert!(read_secret_file(&p).unwrap_err().contains("empty"));
    }

    #[test]
    fn redacts_tokens_and_secrets() {
        let u = "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=S3CR3T";
        let r = redact_url(u);
        assert!(!r.contains("S3CR3T"));
        assert!(r.contains("appid=wx1"));
        let r = redact_url("http://x/datacube/a?access_token=TOK123");
        assert_eq!(r, "http://x/datacube/a?access_token=REDACTED");
        assert_eq!(redact_url("http://x/y"), "http://x/y");
        let r =
            redact_url("https://svc:p4ss@tokens.corp/t?component_access_token=CT&ticket=TK&app=a");
        assert_eq!(
            r,
            "https://REDACTED@tokens.corp/t?component_access_token=REDACTED&ticket=REDACTED&app=a"
        );
    }
}
