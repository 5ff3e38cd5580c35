//! exporter-toolkit parity through the real binary: the toolkit's own 39
//! web config test files (read from `../shared/exporter-toolkit-testdata`,
//! never copied) accepted or refused as its test table says; inline
//! cert/key with `rate_limit` (HTTPS, 429 past the burst); HTTP/2 by ALPN
//! and `http2: false`; `:PORT` on IPv6 and IPv4; a repeated
//! `--web.listen-address`; `--web.systemd-socket`; `--web.max-requests`.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/exporter-toolkit-testdata")
}

/// Whether the toolkit's test files are here. A user's clone has no
/// `../shared` beside it: the tests that read them say so and are skipped.
/// CI has them, and there (`CI` set) a missing folder fails the test.
pub fn have_toolkit_testdata(test: &str) -> bool {
    if testdata().join("EXPECTED.tsv").is_file() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {} is missing; CI must provide the exporter-toolkit test files beside the repository",
        testdata().display()
    );
    eprintln!(
        "skipped {test}: it reads the exporter-toolkit's own test files from {} (beside the repository, never copied into it), which this machine does not have",
        testdata().display()
    );
    false
}

/// The binary started with exactly `args`; killed (by PID) when dropped.
pub struct Bin {
    pub child: ChildGuard,
    pub stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl Bin {
    pub fn start(args: &[&str], envs: &[(&str, &str)]) -> Bin {
        Self::start_cmd(Command::new(exporter_bin()), args, envs)
    }

    pub fn start_cmd(mut cmd: Command, args: &[&str], envs: &[(&str, &str)]) -> Bin {
        let dir = tempfile::tempdir().unwrap();
        let stderr = dir.path().join("stderr.log");
        let child = cmd
            .args(args)
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("binary starts");
        Bin {
            child: ChildGuard(child),
            stderr,
            _dir: dir,
        }
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Some(exit code) if it exited within `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.0.try_wait() {
                return Some(s.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Waits until `addr` accepts TCP connections; panics if the binary exits.
    pub fn wait_listening(&mut self, addr: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.0.try_wait() {
                panic!("exporter exited with {status}: {}", self.logs());
            }
            if std::net::TcpStream::connect(addr).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("exporter did not listen on {addr}: {}", self.logs());
    }
}

/// What a refused file's error must name (the key at fault).
fn key_named(file: &str) -> &'static str {
    match file {
        "web_config_junk.yml" => "tls_server_config",
        "web_config_junk_key.yml" => "cert_filse",
        "web_config_noAuth_certPath_empty.bad.yml"
        | "web_config_noAuth_cert_empty.bad.yml"
        | "web_config_noAuth_certPath_keyPath_empty.bad.yml" => "tls_server_config.cert",
        "web_config_noAuth_keyPath_empty.bad.yml" | "web_config_noAuth_key_empty.bad.yml" => {
            "tls_server_config.key"
        }
        "web_config_noAuth_certPath_invalid.bad.yml"
        | "web_config_noAuth_keyPath_invalid.bad.yml"
        | "web_config_noAuth_certPath_keyPath_invalid.bad.yml" => "tls_server_config.cert_file",
        "web_config_noAuth.bad.yml" => "client_auth_type",
        "web_config_auth_clientCAs_invalid.bad.yml" => "client_ca_file",
        "web_config_auth_user_list_invalid.bad.yml" => "basic_auth_users",
        "web_config_noAuth_inventedCiphers.bad.yml" | "web_config_noAuth_noHTTP2Cipher.bad.yml" => {
            "cipher_suites"
        }
        "web_config_noAuth_inventedCurves.bad.yml" => "curve_preferences",
        "web_config_noAuth_wrongTLSVersion.bad.yml" => "_version",
        f if f.starts_with("web_config_headers_") => "http_server_config.headers",
        other => panic!("no expected key for refused file {other}: add it here"),
    }
}

#[test]
fn toolkit_test_files_are_accepted_or_refused_as_the_toolkit_does() {
    if !have_toolkit_testdata("toolkit_test_files_are_accepted_or_refused_as_the_toolkit_does") {
        return;
    }
    let dir = testdata();
    let table = std::fs::read_to_string(dir.join("EXPECTED.tsv")).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (../shared must sit beside the repo)",
            dir.display()
        )
    });
    let mut checked = 0;
    let mut disagreements = Vec::new();
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut cols = line.split('\t');
        let (file, expected, why) = (
            cols.next().unwrap(),
            cols.next().unwrap(),
            cols.next().unwrap_or(""),
        );
        let path = dir.join(file);
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut bin = Bin::start(
            &[
                "--demo",
                "--web.listen-address",
                &addr,
                "--web.config.file",
                path.to_str().unwrap(),
            ],
            &[],
        );
        checked += 1;
        match expected {
            "accept" => {
                // Accepted = the binary serves; a refusal exits at once.
                let deadline = Instant::now() + Duration::from_secs(30);
                let mut ok = false;
                while Instant::now() < deadline {
                    if let Ok(Some(s)) = bin.child.0.try_wait() {
                        disagreements.push(format!(
                            "{file}: expected accept ({why}), exited {s}: {}",
                            bin.logs()
                        ));
                        break;
                    }
                    if std::net::TcpStream::connect(&addr).is_ok() {
                        ok = true;
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                if ok {
                    // Still up after serving a connection.
                    std::thread::sleep(Duration::from_millis(100));
                    if let Ok(Some(s)) = bin.child.0.try_wait() {
                        disagreements.push(format!("{file}: exited {s} after listening"));
                    }
                }
            }
            "reject" => match bin.wait_exit(Duration::from_secs(30)) {
                Some(2) => {
                    let logs = bin.logs();
                    let key = key_named(file);
                    if !logs.contains("--web.config.file") || !logs.contains(key) {
                        disagreements.push(format!(
                            "{file}: refused, but the error does not name {key}: {logs}"
                        ));
                    }
                }
                other => disagreements.push(format!(
                    "{file}: expected refusal with exit 2 ({why}), got {other:?}: {}",
                    bin.logs()
                )),
            },
            other => panic!("bad EXPECTED.tsv column {other:?}"),
        }
    }
    assert_eq!(checked, 39, "EXPECTED.tsv lists 39 files");
    assert!(
        disagreements.is_empty(),
        "{} of 39 disagree:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

// ---------------------------------------------------------------------------
// TLS clients

fn ca_bundle() -> Vec<u8> {
    std::fs::read(testdata().join("tls-ca-chain.pem")).unwrap()
}

/// Trusts the toolkit's test CA; `localhost` (the certificate's name) is
/// 127.0.0.1.
pub fn https_client(port: u16) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .tls_built_in_root_certs(false)
        .resolve("localhost", ([127, 0, 0, 1], port).into());
    for c in reqwest::Certificate::from_pem_bundle(&ca_bundle()).unwrap() {
        b = b.add_root_certificate(c);
    }
    b.build().unwrap()
}

/// A TLS connection to the toolkit's test server certificate (CN
/// localhost), offering `alpn`; returns the stream and what was agreed.
async fn tls_connect(
    port: u16,
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(&ca_bundle()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .expect("TLS handshake")
}

fn indent(pem: &str) -> String {
    pem.lines().map(|l| format!("    {l}\n")).collect()
}

/// A web config with the toolkit's test certificate and key inline.
pub fn inline_tls_yaml(extra: &str) -> String {
    let d = testdata();
    let cert = std::fs::read_to_string(d.join("server.crt")).unwrap();
    let key = std::fs::read_to_string(d.join("server.key")).unwrap();
    format!(
        "tls_server_config:\n  cert: |\n{}  key: |\n{}{extra}",
        indent(&cert),
        indent(&key)
    )
}

pub fn start_with_web_config(yaml: &str, extra_args: &[&str]) -> (Bin, u16, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("web.yml");
    std::fs::write(&f, yaml).unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut args = vec![
        "--demo",
        "--web.listen-address",
        &addr,
        "--web.config.file",
        f.to_str().unwrap(),
    ];
    args.extend_from_slice(extra_args);
    let mut bin = Bin::start(&args, &[]);
    bin.wait_listening(&addr);
    (bin, port, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_cert_and_rate_limit_serve_https_and_429_past_the_burst() {
    if !have_toolkit_testdata("inline_cert_and_rate_limit_serve_https_and_429_past_the_burst") {
        return;
    }
    // One token per hour: the burst is all a test run can spend.
    let yaml = inline_tls_yaml("rate_limit:\n  interval: 1h\n  burst: 3\n");
    let (bin, port, _d) = start_with_web_config(&yaml, &[]);
    let c = https_client(port);
    let url = format!("https://localhost:{port}/-/healthy");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = c.get(&url).send().await.unwrap_or_else(|e| {
            panic!("HTTPS request failed: {e:?}: {}", bin.logs());
        });
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429], "{}", bin.logs());
    // Plain HTTP on the TLS port gets nothing useful.
    assert!(!matches!(http_get(port, "/-/healthy"), Some((200, _))));
}

async fn h2_get(
    tls: tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    path: &str,
    window: Option<u32>,
) -> (
    hyper::client::conn::http2::SendRequest<String>,
    hyper::Response<hyper::body::Incoming>,
) {
    let mut b = hyper::client::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new());
    if let Some(w) = window {
        b.initial_stream_window_size(w);
    }
    let (mut send, conn) = b
        .handshake(hyper_util::rt::TokioIo::new(tls))
        .await
        .expect("h2 handshake");
    tokio::spawn(conn);
    let req = hyper::Request::get(format!("https://localhost{path}"))
        .body(String::new())
        .unwrap();
    let resp = send.send_request(req).await.expect("h2 request");
    (send, resp)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_is_negotiated_by_alpn_unless_turned_off() {
    if !have_toolkit_testdata("http2_is_negotiated_by_alpn_unless_turned_off") {
        return;
    }
    let (_bin, port, _d) = start_with_web_config(&inline_tls_yaml(""), &[]);
    let tls = tls_connect(port, &[b"h2", b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (_s, resp) = h2_get(tls, "/metrics", None).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), hyper::Version::HTTP_2);
    use http_body_util::BodyExt;
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("wechat_exporter_build_info"));
    // HTTP/1.1 clients still work on the same port.
    let tls = tls_connect(port, &[b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));

    let (_bin, port, _d) = start_with_web_config(
        &inline_tls_yaml("http_server_config:\n  http2: false\n"),
        &[],
    );
    let tls = tls_connect(port, &[b"h2", b"http/1.1"]).await;
    assert_eq!(
        tls.get_ref().1.alpn_protocol(),
        Some(&b"http/1.1"[..]),
        "http2: false must not offer h2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_requests_answers_503_beyond_the_limit() {
    if !have_toolkit_testdata("max_requests_answers_503_beyond_the_limit") {
        return;
    }
    let (bin, port, _d) = start_with_web_config(&inline_tls_yaml(""), &["--web.max-requests=1"]);
    // Wait for the full exposition (~200 KB), more than one body chunk.
    let c = https_client(port);
    let url = format!("https://localhost:{port}/metrics");
    let data = eventually(Duration::from_secs(30), || async {
        let t = c.get(&url).send().await.ok()?.text().await.ok()?;
        t.contains("wechat_miniprogram_visitors{").then_some(())
    })
    .await;
    assert!(data.is_some(), "no data: {}", bin.logs());
    // A scrape that cannot finish: an h2 stream window of 1 byte, never
    // read, keeps its response (and its slot) open.
    let tls = tls_connect(port, &[b"h2"]).await;
    let (_send, held) = h2_get(tls, "/metrics", Some(1)).await;
    assert_eq!(held.status(), 200);
    let tls = tls_connect(port, &[b"h2"]).await;
    let (_s2, second) = h2_get(tls, "/metrics", None).await;
    assert_eq!(second.status(), 503, "{}", bin.logs());
    // Other endpoints are not scrapes.
    let tls = tls_connect(port, &[b"h2"]).await;
    let (_s3, health) = h2_get(tls, "/-/healthy", None).await;
    assert_eq!(health.status(), 200);
    // Once the slow scrape goes away, the slot is free again.
    drop(held);
    drop(_send);
    let freed = eventually(Duration::from_secs(20), || async {
        let tls = tls_connect(port, &[b"h2"]).await;
        let (_s, r) = h2_get(tls, "/metrics", None).await;
        (r.status() == 200).then_some(())
    })
    .await;
    assert!(freed.is_some(), "slot never freed: {}", bin.logs());
}

fn ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

pub fn get_status(addr: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.split(' ').nth(1)?.parse().ok()
}

#[test]
fn port_only_listens_on_ipv6_and_ipv4() {
    let port = free_port();
    let mut bin = Bin::start(
        &["--demo", "--web.listen-address", &format!(":{port}")],
        &[],
    );
    bin.wait_listening(&format!("127.0.0.1:{port}"));
    assert_eq!(get_status(&format!("127.0.0.1:{port}")), Some(200));
    if ipv6_loopback() {
        assert_eq!(
            get_status(&format!("[::1]:{port}")),
            Some(200),
            "{}",
            bin.logs()
        );
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI hosts have IPv6 loopback"
        );
        eprintln!("SKIPPING the [::1] half: no IPv6 on this host");
    }
}

#[test]
fn repeated_listen_address_serves_every_one() {
    let (p1, p2) = (free_port(), free_port());
    let (a1, a2) = (format!("127.0.0.1:{p1}"), format!("127.0.0.1:{p2}"));
    let mut bin = Bin::start(
        &[
            "--demo",
            "--web.listen-address",
            &a1,
            "--web.listen-address",
            &a2,
        ],
        &[],
    );
    bin.wait_listening(&a1);
    bin.wait_listening(&a2);
    assert_eq!(get_status(&a1), Some(200));
    assert_eq!(get_status(&a2), Some(200));
}

#[test]
fn systemd_socket_activation_serves_the_passed_socket() {
    let Some(python) = tool("python3") else {
        return;
    };
    let port = free_port();
    // What systemd does: a listening socket as fd 3, LISTEN_FDS=1 and
    // LISTEN_PID = the PID that execs the service (exec keeps the PID).
    let launcher = format!(
        r#"
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", {port}))
s.listen(128)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[1], sys.argv[1:])
"#
    );
    let mut cmd = Command::new(python);
    cmd.args(["-c", &launcher, exporter_bin()]);
    let mut bin = Bin::start_cmd(cmd, &["--demo", "--web.systemd-socket"], &[]);
    let addr = format!("127.0.0.1:{port}");
    bin.wait_listening(&addr);
    assert_eq!(get_status(&addr), Some(200), "{}", bin.logs());
    assert!(
        bin.logs().contains(&addr),
        "the passed socket is logged: {}",
        bin.logs()
    );

    // Without the environment systemd sets, the flag is a usage error.
    let (code, out) = run_to_end(&["--demo", "--web.systemd-socket"], &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("systemd-socket"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_allowed_sans_as_the_toolkit_tests_them() {
    if !have_toolkit_testdata("client_allowed_sans_as_the_toolkit_tests_them") {
        return;
    }
    let d = testdata();
    let identity = || {
        let pem = format!(
            "{}{}",
            std::fs::read_to_string(d.join("client2_selfsigned.pem")).unwrap(),
            std::fs::read_to_string(d.join("client2_selfsigned.key")).unwrap()
        );
        reqwest::Identity::from_pem(pem.as_bytes()).unwrap()
    };
    let client = |with_cert: bool, port: u16| {
        let mut b = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .tls_built_in_root_certs(false)
            .resolve("localhost", ([127, 0, 0, 1], port).into());
        for c in reqwest::Certificate::from_pem_bundle(&ca_bundle()).unwrap() {
            b = b.add_root_certificate(c);
        }
        if with_cert {
            b = b.identity(identity());
        }
        b.build().unwrap()
    };
    // The toolkit's files, used in place: client2's certificate carries a
    // SAN listed in .good and none listed in .bad.
    for (file, allowed) in [
        ("web_config_auth_client_san.good.yaml", true),
        ("web_config_auth_client_san.bad.yaml", false),
    ] {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let f = d.join(file);
        let mut bin = Bin::start(
            &[
                "--demo",
                "--web.listen-address",
                &addr,
                "--web.config.file",
                f.to_str().unwrap(),
            ],
            &[],
        );
        bin.wait_listening(&addr);
        let url = format!("https://localhost:{port}/-/healthy");
        let r = client(true, port).get(&url).send().await;
        assert_eq!(
            r.as_ref().map(|r| r.status().as_u16()).ok(),
            allowed.then_some(200),
            "{file}: {r:?} {}",
            bin.logs()
        );
        assert!(
            client(false, port).get(&url).send().await.is_err(),
            "{file}: a client without a certificate must be refused"
        );
    }
}

#[test]
fn systemd_socket_unit_and_drop_in_offer_socket_activation() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/systemd");
    let socket = std::fs::read_to_string(dir.join("wechat-exporter.socket")).unwrap();
    assert!(socket.lines().any(|l| l.trim() == "ListenStream=10240"));
    assert!(socket.contains("Service=wechat-exporter.service"));
    let drop_in = std::fs::read_to_string(dir.join("socket-activation.conf")).unwrap();
    // The drop-in clears the unit's ExecStart, then starts on the socket.
    let exec: Vec<&str> = drop_in
        .lines()
        .filter(|l| l.starts_with("ExecStart="))
        .collect();
    assert_eq!(exec.first(), Some(&"ExecStart="), "{drop_in}");
    assert!(drop_in.contains("--web.systemd-socket"));
    assert!(!drop_in.contains("--web.listen-address"));
    // Its flags are ones the binary knows (clap refuses unknown ones with
    // exit 2 before anything else; --config.check stops after parsing).
    let (code, out) = run_to_end(&["--web.systemd-socket", "--config.check"], &[]);
    assert!(!out.contains("unexpected argument"), "{out}");
    assert_eq!(code, 2, "--config.check without a file: {out}");
    // systemd's own check where it is installed (as tests/deploy does).
    if let Some(sa) = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("systemd-analyze"))
            .find(|p| p.is_file())
    }) {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("wechat-exporter.socket"), &socket).unwrap();
        let unit = std::fs::read_to_string(dir.join("wechat-exporter.service"))
            .unwrap()
            .replace("/usr/local/bin/wechat-exporter", "/bin/true");
        std::fs::write(tmp.path().join("wechat-exporter.service"), unit).unwrap();
        let out = Command::new(sa)
            .args(["verify", "--man=no"])
            .arg(tmp.path().join("wechat-exporter.socket"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        let ours: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("wechat-exporter.socket"))
            .collect();
        assert!(ours.is_empty(), "{}", ours.join("\n"));
    }
}

/// `--config.check` checks `--web.config.file` as well: a web config the
/// exporter would refuse at start is reported with the flag named.
#[test]
fn config_check_checks_the_web_config() {
    if !have_toolkit_testdata("config_check_checks_the_web_config") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.yml");
    std::fs::write(
        &cfg,
        "apps:\n  - name: shop\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n",
    )
    .unwrap();
    let check = |web: &str| {
        let out = Command::new(exporter_bin())
            .args(["--config.check", "--config.file"])
            .arg(&cfg)
            .arg("--web.config.file")
            .arg(testdata().join(web))
            .env("SHOP_SECRET", "s")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };
    let (code, text) = check("web_config_users.good.yml");
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("valid web config"), "{text}");
    let (code, text) = check("web_config_noAuth_inventedCiphers.bad.yml");
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--web.config.file"), "{text}");
}
