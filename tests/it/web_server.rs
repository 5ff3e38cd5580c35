//! End-to-end tests of the serving layer: real sockets on 127.0.0.1, real
//! TLS with certificates minted per test, real bcrypt.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum::routing::{get, post};
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wechat_exporter::web::config::WebConfig;
use wechat_exporter::web::server::{check_web_config, serve, ServeError, ServeOptions};

fn app() -> Router {
    Router::new()
        .route("/metrics", get(|| async { "up 1\n" }))
        .route("/-/healthy", get(|| async { "Healthy" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(800)).await;
                "done"
            }),
        )
        .route(
            "/-/reload",
            post(|body: axum::body::Bytes| async move { format!("{} bytes", body.len()) }),
        )
}

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), ServeError>>,
}

impl Server {
    async fn start(opts: ServeOptions) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(serve(listener, app(), opts, async {
            let _ = rx.await;
        }));
        Server {
            addr,
            stop: Some(tx),
            handle,
        }
    }
    fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://{}{path}", self.addr)
    }
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(5), self.handle)
            .await
            .expect("serve() returns after shutdown")
            .unwrap()
            .unwrap();
    }
}

fn opts_with(file: &Path) -> ServeOptions {
    ServeOptions {
        web_config_file: Some(file.to_path_buf()),
        ..ServeOptions::default()
    }
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    // Write-then-rename so the reloader never sees a half-written file.
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, &p).unwrap();
    p
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------
// Certificates

struct Pki {
    dir: tempfile::TempDir,
    ca_pem: String,
    /// client certificate + key, signed by the CA
    client_identity_pem: String,
}

fn mint_pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    };
    let dir = tempfile::tempdir().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let mut sp =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = sp.signed_by(&server_key, &issuer).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut cp = CertificateParams::new(vec!["scraper.example".to_string()]).unwrap();
    cp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = cp.signed_by(&client_key, &issuer).unwrap();

    std::fs::write(dir.path().join("ca.crt"), ca_cert.pem()).unwrap();
    std::fs::write(dir.path().join("server.crt"), server_cert.pem()).unwrap();
    std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        client_identity_pem: format!("{}{}", client_cert.pem(), client_key.serialize_pem()),
        dir,
    }
}

impl Pki {
    fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap())
    }
    fn identity(&self) -> reqwest::Identity {
        reqwest::Identity::from_pem(self.client_identity_pem.as_bytes()).unwrap()
    }
}

// ---------------------------------------------------------------------------
// Plain HTTP

#[tokio::test]
async fn plain_http_without_web_config() {
    let s = Server::start(ServeOptions::default()).await;
    let r = client()
        .get(s.url("http", "/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "up 1\n");
    let r = client()
        .get(s.url("http", "/-/healthy"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    s.stop().await;
}

#[tokio::test]
async fn empty_web_config_file_is_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "web.yml", "");
    check_web_config(&f).unwrap();
    let s = Server::start(opts_with(&f)).await;
    let r = client()
        .get(s.url("http", "/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    s.stop().await;
}

// ---------------------------------------------------------------------------
// TLS

#[tokio::test]
async fn tls_serves_with_ca_root_and_refuses_plain_http() {
    let pki = mint_pki();
    // Relative paths resolve against the config file's directory.
    let f = write(
        pki.dir.path(),
        "web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
    );
    let s = Server::start(opts_with(&f)).await;
    let c = pki.client_builder().build().unwrap();
    for host in ["127.0.0.1", "localhost"] {
        let url = format!("https://{host}:{}/metrics", s.addr.port());
        let r = c.get(url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), "up 1\n");
    }
    assert!(client()
        .get(s.url("http", "/metrics"))
        .send()
        .await
        .is_err());
    // A client that does not trust our CA refuses the server.
    let untrusting = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    assert!(untrusting
        .get(s.url("https", "/metrics"))
        .send()
        .await
        .is_err());
    s.stop().await;
}

#[tokio::test]
async fn tls13_minimum_refuses_tls12_client() {
    let pki = mint_pki();
    let f = write(
        pki.dir.path(),
        "web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n",
    );
    let s = Server::start(opts_with(&f)).await;
    let tls12 = pki
        .client_builder()
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    assert!(tls12.get(s.url("https", "/metrics")).send().await.is_err());
    let tls13 = pki.client_builder().build().unwrap();
    assert_eq!(
        tls13
            .get(s.url("https", "/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    s.stop().await;
}

#[tokio::test]
async fn require_and_verify_client_cert() {
    let pki = mint_pki();
    let f = write(
        pki.dir.path(),
        "web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  \
         client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  \
         client_allowed_sans: [scraper.example]\n",
    );
    let s = Server::start(opts_with(&f)).await;
    let anonymous = pki.client_builder().build().unwrap();
    assert!(anonymous
        .get(s.url("https", "/metrics"))
        .send()
        .await
        .is_err());
    let with_cert = pki
        .client_builder()
        .identity(pki.identity())
        .build()
        .unwrap();
    let r = with_cert
        .get(s.url("https", "/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    s.stop().await;
}

#[tokio::test]
async fn client_allowed_sans_refuses_other_sans() {
    let pki = mint_pki();
    let f = write(
        pki.dir.path(),
        "web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  \
         client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  \
         client_allowed_sans: [someone-else.example]\n",
    );
    let s = Server::start(opts_with(&f)).await;
    let with_cert = pki
        .client_builder()
        .identity(pki.identity())
        .build()
        .unwrap();
    assert!(with_cert
        .get(s.url("https", "/metrics"))
        .send()
        .await
        .is_err());
    s.stop().await;
}

// ---------------------------------------------------------------------------
// Basic auth and headers

fn auth_yaml(password: &str) -> String {
    // Cost 4 keeps the test fast; production hashes use 10+.
    let hash = bcrypt::hash(password, 4).unwrap();
    format!("basic_auth_users:\n  alice: '{hash}'\n")
}

#[tokio::test]
async fn basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "web.yml",
        &format!(
            "{}http_server_config:\n  headers:\n    X-Frame-Options: deny\n    \
             X-Content-Type-Options: nosniff\n    Content-Security-Policy: default-src 'none'\n",
            auth_yaml("s3cret")
        ),
    );
    let s = Server::start(opts_with(&f)).await;
    let c = client();
    for path in ["/metrics", "/-/healthy", "/no-such-path"] {
        let r = c.get(s.url("http", path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
        assert_eq!(r.headers()["www-authenticate"], "Basic");
        // Security headers are set on refusals too.
        assert_eq!(r.headers()["x-frame-options"], "deny");
    }
    let wrong = c
        .get(s.url("http", "/metrics"))
        .basic_auth("alice", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let unknown = c
        .get(s.url("http", "/metrics"))
        .basic_auth("mallory", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
    for _ in 0..2 {
        // Second time is served from the success cache.
        let ok = c
            .get(s.url("http", "/metrics"))
            .basic_auth("alice", Some("s3cret"))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()["x-frame-options"], "deny");
        assert_eq!(ok.headers()["x-content-type-options"], "nosniff");
        assert_eq!(
            ok.headers()["content-security-policy"],
            "default-src 'none'"
        );
        assert_eq!(ok.text().await.unwrap(), "up 1\n");
    }
    s.stop().await;
}

// ---------------------------------------------------------------------------
// Config errors

fn load_err(dir: &Path, yaml: &str) -> String {
    let f = write(dir, "bad.yml", yaml);
    let e = WebConfig::load(&f).unwrap_err().to_string();
    assert!(check_web_config(&f).is_err());
    e
}

#[tokio::test]
async fn config_errors_name_the_field() {
    let pki = mint_pki();
    let d = pki.dir.path();
    let tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
    let cases: &[(String, &str)] = &[
        (
            "basic_auth_users:\n  alice: not-a-bcrypt-hash\n".into(),
            "basic_auth_users",
        ),
        (
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n".into(),
            "tls_server_config.cert_file",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: missing.key\n".into(),
            "tls_server_config.key_file",
        ),
        ("basic_auth_user: {}\n".into(), "basic_auth_user"),
        (format!("{tls}  client_auth: x\n"), "client_auth"),
        (
            format!("{tls}  client_auth_type: VerifyEverything\n"),
            "client_auth_type",
        ),
        (
            // A CA without a policy (the toolkit's check).
            format!("{tls}  client_ca_file: ca.crt\n"),
            "client_auth_type",
        ),
        (format!("{tls}  min_version: TLS10\n"), "min_version"),
        (format!("{tls}  max_version: TLS14\n"), "max_version"),
        (
            format!("{tls}  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n"),
            "cipher_suites",
        ),
        (
            format!("{tls}  curve_preferences: [CurveP257]\n"),
            "curve_preferences",
        ),
        (
            "http_server_config:\n  headers:\n    Server: evil\n".into(),
            "http_server_config.headers",
        ),
        (
            "tls_server_config:\n  cert_file: ca.crt\n  key_file: server.key\n".into(),
            "key_file",
        ),
    ];
    for (yaml, field) in cases {
        let e = load_err(d, yaml);
        assert!(
            e.contains(field),
            "error for {yaml:?} should name {field}: {e}"
        );
    }
    // The bad hash itself is not echoed.
    let e = load_err(d, "basic_auth_users:\n  alice: $2y$10$TOPSECRETbutbroken\n");
    assert!(!e.contains("TOPSECRET"), "{e}");

    // A good config with the supported knobs loads.
    let f = write(
        d,
        "good.yml",
        &format!(
            "{tls}  min_version: TLS12\n  max_version: TLS13\n  \
             cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n  \
             curve_preferences: [X25519, CurveP256]\n  prefer_server_cipher_suites: false\n  \
             client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n\
             http_server_config:\n  http2: false\n"
        ),
    );
    let cfg = WebConfig::load(&f).unwrap();
    assert!(cfg.tls().is_some());
    assert_eq!(cfg.referenced_files().len(), 3);

    // Inline PEM (newer toolkit `cert` / `key`) works and excludes the file form.
    let indent = |s: String| s.lines().map(|l| format!("    {l}\n")).collect::<String>();
    let cert = indent(std::fs::read_to_string(d.join("server.crt")).unwrap());
    let key = indent(std::fs::read_to_string(d.join("server.key")).unwrap());
    let inline = format!("tls_server_config:\n  cert: |\n{cert}  key: |\n{key}");
    assert!(WebConfig::from_yaml(&inline, d).unwrap().tls().is_some());
    let both = format!("{inline}  cert_file: server.crt\n");
    let e = WebConfig::from_yaml(&both, d).unwrap_err().to_string();
    assert!(e.contains("cert_file"), "{e}");
    // The key's content never appears in an error.
    let broken = inline.replace("PRIVATE KEY-----\n    ", "PRIVATE KEY-----\n    !!");
    let e = WebConfig::from_yaml(&broken, d).unwrap_err().to_string();
    assert!(
        e.contains("tls_server_config.key") && !e.contains("!!"),
        "{e}"
    );

    // serve() refuses to start on a bad file.
    let bad = write(d, "bad.yml", "nonsense: true\n");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let r = serve(listener, app(), opts_with(&bad), async {}).await;
    assert!(matches!(r, Err(ServeError::WebConfig(_))), "{r:?}");
}

// ---------------------------------------------------------------------------
// Reload

#[tokio::test]
async fn reload_applies_good_files_and_keeps_last_good_on_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "web.yml", "# no auth yet\n");
    let s = Server::start(opts_with(&f)).await;
    let c = client();
    assert_eq!(
        c.get(s.url("http", "/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    write(dir.path(), "web.yml", &auth_yaml("pw"));
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let st = c
            .get(s.url("http", "/metrics"))
            .send()
            .await
            .unwrap()
            .status();
        if st == 401 {
            break;
        }
        assert!(Instant::now() < deadline, "auth not enforced within 3 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    write(
        dir.path(),
        "web.yml",
        "basic_auth_users: [this is: garbage\n",
    );
    // Give the reloader two polls to (fail to) pick it up.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        c.get(s.url("http", "/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let ok = c
        .get(s.url("http", "/metrics"))
        .basic_auth("alice", Some("pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    s.stop().await;
}

// ---------------------------------------------------------------------------
// Limits

/// Reads until EOF or error; returns what was read and when it ended.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(start.elapsed()), stream.read(&mut buf))
            .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => return (out, start.elapsed()),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("connection still open after {limit:?}"),
        }
    }
}

#[tokio::test]
async fn slowloris_is_closed_after_header_timeout() {
    let s = Server::start(ServeOptions {
        header_read_timeout: Duration::from_secs(1),
        ..ServeOptions::default()
    })
    .await;
    let mut sock = TcpStream::connect(s.addr).await.unwrap();
    sock.write_all(b"GET /metrics HT").await.unwrap();
    let (_, took) = read_to_close(&mut sock, Duration::from_secs(4)).await;
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(3),
        "{took:?}"
    );

    // A client that connects and sends nothing at all, too.
    let mut silent = TcpStream::connect(s.addr).await.unwrap();
    let (_, took) = read_to_close(&mut silent, Duration::from_secs(4)).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    s.stop().await;
}

#[tokio::test]
async fn tls_handshake_is_bounded_by_header_timeout() {
    let pki = mint_pki();
    let f = write(
        pki.dir.path(),
        "web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
    );
    let s = Server::start(ServeOptions {
        header_read_timeout: Duration::from_secs(1),
        ..opts_with(&f)
    })
    .await;
    let mut silent = TcpStream::connect(s.addr).await.unwrap();
    let (_, took) = read_to_close(&mut silent, Duration::from_secs(4)).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    s.stop().await;
}

#[tokio::test]
async fn oversized_headers_get_431() {
    let s = Server::start(ServeOptions::default()).await;
    let mut sock = TcpStream::connect(s.addr).await.unwrap();
    let big = "a".repeat(32 * 1024);
    let req = format!("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    // The server may close before reading everything; ignore write errors.
    let _ = sock.write_all(req.as_bytes()).await;
    let (resp, _) = read_to_close(&mut sock, Duration::from_secs(4)).await;
    let resp = String::from_utf8_lossy(&resp);
    assert!(resp.starts_with("HTTP/1.1 431"), "{resp}");

    // Headers within the limit are fine.
    let ok = client()
        .get(s.url("http", "/metrics"))
        .header("X-Big", "a".repeat(8 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    s.stop().await;
}

#[tokio::test]
async fn oversized_body_gets_413() {
    let s = Server::start(ServeOptions::default()).await;
    let c = client();
    let small = c
        .post(s.url("http", "/-/reload"))
        .body(vec![b'x'; 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), 200);
    let big = c
        .post(s.url("http", "/-/reload"))
        .body(vec![b'x'; 100 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);
    // Chunked (no Content-Length) is cut off too.
    let stream = futures::stream::iter((0..100).map(|_| {
        Ok::<_, std::io::Error>(hyper::body::Frame::data(bytes::Bytes::from(vec![
            b'x';
            1024
        ])))
    }));
    let chunked = c
        .post(s.url("http", "/-/reload"))
        .body(reqwest::Body::wrap(http_body_util::StreamBody::new(stream)))
        .send()
        .await;
    if let Ok(r) = chunked {
        assert_eq!(r.status(), 413);
    } // else: the server closed mid-upload, which is also a refusal
    s.stop().await;
}

#[tokio::test]
async fn idle_keep_alive_connection_is_closed() {
    let s = Server::start(ServeOptions {
        idle_timeout: Duration::from_secs(1),
        ..ServeOptions::default()
    })
    .await;
    let mut sock = TcpStream::connect(s.addr).await.unwrap();
    sock.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (resp, took) = read_to_close(&mut sock, Duration::from_secs(4)).await;
    let resp = String::from_utf8_lossy(&resp);
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    // Header timeout is 10 s, so this close is the idle timeout's doing.
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
    s.stop().await;
}

#[tokio::test]
async fn connection_cap_makes_accept_wait() {
    let s = Server::start(ServeOptions {
        max_connections: 1,
        ..ServeOptions::default()
    })
    .await;
    let hog = TcpStream::connect(s.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    assert!(quick.get(s.url("http", "/metrics")).send().await.is_err());
    drop(hog);
    let r = client()
        .get(s.url("http", "/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    s.stop().await;
}

// ---------------------------------------------------------------------------
// Graceful shutdown

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let s = Server::start(ServeOptions::default()).await;
    let url = s.url("http", "/slow");
    let addr = s.addr;
    let in_flight = tokio::spawn(async move { client().get(url).send().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    s.stop().await;
    // serve() waited for the slow request.
    assert!(started.elapsed() >= Duration::from_millis(400));
    let r = in_flight.await.unwrap().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "done");
    // And no longer accepts.
    assert!(TcpStream::connect(addr).await.is_err());
}

// ---------------------------------------------------------------------------
// Shipped examples

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/web-config");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    v.sort();
    assert!(v.len() >= 3, "examples missing in {}", dir.display());
    v
}

#[test]
fn examples_load_and_document_the_example_password() {
    for p in examples() {
        let cfg = WebConfig::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        if let Some(hash) = cfg.password_hash("prometheus") {
            assert!(bcrypt::verify("example-password", hash).unwrap());
        }
    }
}

#[test]
fn promtool_accepts_the_examples() {
    let promtool = std::env::var_os("PROMTOOL").unwrap_or_else(|| "promtool".into());
    let out = match std::process::Command::new(&promtool)
        .arg("check")
        .arg("web-config")
        .args(examples())
        .output()
    {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false") {
                panic!("promtool not found, and CI is set: install it (Debian: prometheus)");
            }
            eprintln!(
                "\n!!!!! SKIPPED promtool_accepts_the_examples: promtool not installed !!!!!\n"
            );
            return;
        }
        Err(e) => panic!("cannot run promtool: {e}"),
    };
    assert!(
        out.status.success(),
        "promtool refused the examples:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn renewed_certificate_is_picked_up_without_yaml_change() {
    let old = mint_pki();
    let new = mint_pki();
    let f = write(
        old.dir.path(),
        "web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
    );
    let s = Server::start(opts_with(&f)).await;
    let trusts_new = || new.client_builder().build().unwrap();
    assert!(trusts_new()
        .get(s.url("https", "/metrics"))
        .send()
        .await
        .is_err());

    for name in ["server.crt", "server.key"] {
        let content = std::fs::read_to_string(new.dir.path().join(name)).unwrap();
        write(old.dir.path(), name, &content);
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    // A fresh client each time: TLS settings apply to new connections.
    while trusts_new()
        .get(s.url("https", "/metrics"))
        .send()
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "renewed cert not served within 3 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s.stop().await;
}
