//! The egress proxy through a real forward proxy (Debian's tinyproxy, with
//! basic auth) on loopback: every WeChat call, token calls included, goes
//! through `wechat.proxy_url` with the password from its file, or through
//! `HTTP_PROXY` from the environment; a wrong password reaches nothing; the
//! password never shows in logs, `/metrics` or the landing page.
//!
//! Proof that calls were proxied: the proxy logs each request before it
//! forwards it, so read after the simulator's request log, the proxy's log
//! must hold every request the simulator saw (a direct call would be in the
//! simulator's log only).

use crate::common::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use wechat_exporter::simulator::{SimConfig, Simulator};

const PROXY_USER: &str = "exporter";
const PROXY_PASSWORD: &str = "proxy-pw-Zq8r3-distinctive";

struct Tinyproxy {
    _child: ChildGuard,
    port: u16,
    log: PathBuf,
}

fn start_tinyproxy(bin: &Path, dir: &Path) -> Tinyproxy {
    let port = free_port();
    let log = dir.join("tinyproxy.log");
    let conf = dir.join("tinyproxy.conf");
    std::fs::write(
        &conf,
        format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 64\nLogFile \"{}\"\nLogLevel Connect\nBasicAuth {PROXY_USER} {PROXY_PASSWORD}\n",
            log.display()
        ),
    )
    .unwrap();
    let child = Command::new(bin)
        .args(["-d", "-c", conf.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tinyproxy starts");
    let guard = ChildGuard(child);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "tinyproxy did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Tinyproxy {
        _child: guard,
        port,
        log,
    }
}

/// Paths of the requests the proxy was asked to forward to `host`.
fn proxied_paths(log: &Path, host: &str) -> HashMap<String, usize> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut out = HashMap::new();
    let prefix = format!("http://{host}");
    for line in text
        .lines()
        .filter(|l| l.contains("Request (file descriptor"))
    {
        if let Some(url) = line.split_whitespace().find(|w| w.starts_with(&prefix)) {
            let path = url[prefix.len()..].split('?').next().unwrap_or("");
            *out.entry(path.to_string()).or_default() += 1;
        }
    }
    out
}

fn sim_paths(sim: &Simulator) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for r in sim.requests() {
        *out.entry(r.path.clone()).or_default() += 1;
    }
    out
}

/// Every request the simulator saw went through the proxy (simulator log
/// read first: the proxy logs before forwarding).
fn assert_all_proxied(sim: &Simulator, proxy: &Tinyproxy, host: &str, what: &str) {
    let seen = sim_paths(sim);
    let proxied = proxied_paths(&proxy.log, host);
    assert!(
        seen.keys().any(|p| p.starts_with("/cgi-bin/")),
        "{what}: a token call was made: {seen:?}"
    );
    assert!(
        seen.keys().any(|p| p.starts_with("/datacube/")),
        "{what}: data calls were made: {seen:?}"
    );
    for (path, n) in &seen {
        let p = proxied.get(path).copied().unwrap_or(0);
        assert!(
            p >= *n,
            "{what}: {path}: {n} requests reached WeChat, {p} through the proxy"
        );
    }
}

fn config(dir: &Path, url: &str, wechat_extra: &str) -> PathBuf {
    let mp = dir.join("mp-secret");
    let oa = dir.join("oa-secret");
    std::fs::write(&mp, MP_SECRET).unwrap();
    std::fs::write(&oa, OA_SECRET).unwrap();
    let path = dir.join(format!("config-{}.yml", free_port()));
    std::fs::write(
        &path,
        format!(
            "wechat:\n  api_url: {url}\n  retry_delay: 10ms\n{wechat_extra}poll:\n  release_hour: 0\napps:\n  - name: shop\n    type: miniprogram\n    appid: {MP_APPID}\n    secret_file: {}\n  - name: news\n    type: official_account\n    appid: {OA_APPID}\n    secret_file: {}\n",
            mp.display(),
            oa.display()
        ),
    )
    .unwrap();
    path
}

/// The environment of the exporter: no proxy variable but `extra`.
fn env_with(extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut env: Vec<(&'static str, String)> = [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .into_iter()
    .map(|k| (k, String::new()))
    .collect();
    env.push(("NO_PROXY", "example.invalid".into()));
    env.push(("no_proxy", "example.invalid".into()));
    for (k, v) in extra {
        env.retain(|(e, _)| e != k);
        env.push((k, v.clone()));
    }
    env
}

fn start(cfg: &Path, env: &[(&'static str, String)]) -> Exporter {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut exp = Exporter::start(
        &["--config.file", cfg.to_str().unwrap(), "--log.level=debug"],
        &env,
    );
    exp.wait_listening();
    exp
}

async fn body(exp: &Exporter, path: &str) -> String {
    reqwest::get(exp.url(path))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_wechat_call_goes_through_the_proxy() {
    let Some(bin) = tool("tinyproxy") else { return };
    let dir = tempfile::tempdir().unwrap();
    let proxy = start_tinyproxy(&bin, dir.path());
    let sim = Simulator::new(SimConfig {
        release_hour: 0.0,
        apps: sim_apps(),
        ..SimConfig::default()
    });
    let server = sim.spawn("127.0.0.1:0").await.unwrap();
    let url = server.url();
    let host = url.trim_start_matches("http://").to_string();
    let pw = dir.path().join("proxy-password");
    std::fs::write(&pw, format!("{PROXY_PASSWORD}\n")).unwrap();

    // 1. wechat.proxy_url with basic auth from a file.
    let cfg = config(
        dir.path(),
        &url,
        &format!(
            "  proxy_url: http://127.0.0.1:{}\n  proxy_username: {PROXY_USER}\n  proxy_password_file: {}\n",
            proxy.port,
            pw.display()
        ),
    );
    let exp = start(&cfg, &env_with(&[]));
    wait_ok(&exp.url("/-/ready"), 60).await;
    let metrics = body(&exp, "/metrics").await;
    assert!(
        metrics.contains("wechat_miniprogram_visitors{"),
        "data through the proxy"
    );
    assert_all_proxied(&sim, &proxy, &host, "proxy_url");
    let landing = body(&exp, "/").await;
    for (what, text) in [
        ("logs", exp.logs()),
        ("/metrics", metrics),
        ("landing page", landing),
    ] {
        assert!(!text.contains(PROXY_PASSWORD), "password in {what}");
    }
    drop(exp);

    // 2. A wrong password: the proxy refuses, nothing reaches WeChat, and
    // the exporter does not go around the proxy.
    sim.clear_requests();
    let wrong = dir.path().join("wrong-password");
    std::fs::write(&wrong, "not-the-password").unwrap();
    let cfg = config(
        dir.path(),
        &url,
        &format!(
            "  proxy_url: http://127.0.0.1:{}\n  proxy_username: {PROXY_USER}\n  proxy_password_file: {}\n  attempts: 1\n",
            proxy.port,
            wrong.display()
        ),
    );
    let exp = start(&cfg, &env_with(&[]));
    let m = eventually(Duration::from_secs(30), || async {
        let m = Exposition::parse(&body(&exp, "/metrics").await);
        (m.count("wechat_exporter_api_request_errors_total") > 0).then_some(m)
    })
    .await
    .unwrap_or_else(|| panic!("errors counted: {}", exp.logs()));
    assert!(m.count("wechat_miniprogram_visitors") == 0);
    assert!(
        sim.requests().is_empty(),
        "nothing reached WeChat: {:?}",
        sim_paths(&sim)
    );
    assert!(!exp.logs().contains("not-the-password"));
    drop(exp);

    // 3. No proxy_url: the standard HTTP_PROXY variable, credentials in it.
    sim.clear_requests();
    let cfg = config(dir.path(), &url, "");
    let exp = start(
        &cfg,
        &env_with(&[(
            "HTTP_PROXY",
            format!(
                "http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{}",
                proxy.port
            ),
        )]),
    );
    wait_ok(&exp.url("/-/ready"), 60).await;
    assert_all_proxied(&sim, &proxy, &host, "HTTP_PROXY");
}

#[test]
fn proxy_settings_are_checked_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, field) in [
        (
            "  proxy_url: http://user:pw@127.0.0.1:3128\n".to_string(),
            "wechat.proxy_url",
        ),
        ("  proxy_url: socks9://x\n".into(), "wechat.proxy_url"),
        ("  proxy_username: u\n".into(), "wechat.proxy_url"),
        (
            "  proxy_url: http://127.0.0.1:3128\n  proxy_username: u\n".into(),
            "wechat.proxy_password_file",
        ),
    ] {
        let cfg = config(dir.path(), "http://127.0.0.1:1", &extra);
        let (code, out) = run_to_end(
            &["--config.check", "--config.file", cfg.to_str().unwrap()],
            &[],
        );
        assert_eq!(code, 2, "{extra}: {out}");
        assert!(out.contains(&format!("`{field}`")), "{extra}: {out}");
        assert!(!out.contains(":pw@"), "{out}");
    }
}
