//! Shared test harness: a simulator and a poller on one manual clock, a
//! small parser of the text exposition format, log capture, and the
//! exporter binary as a child process.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tracing::instrument::WithSubscriber;
use wechat_exporter::api::AppKind;
use wechat_exporter::clock::Clock;
use wechat_exporter::config::{AppConfig, Config, PollSettings, WechatSettings};
use wechat_exporter::poll::poller::Poller;
use wechat_exporter::secret::Secret;
use wechat_exporter::self_metrics::SelfMetrics;
use wechat_exporter::simulator::{SimApp, SimConfig, SimServer, Simulator};

pub const MP_APPID: &str = "wx00112233445566aa";
pub const MP_SECRET: &str = "mp-secret-Zq8x1vP0-distinctive";
pub const OA_APPID: &str = "wx00112233445566bb";
pub const OA_SECRET: &str = "oa-secret-Yw7c2uQ9-distinctive";

pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("valid RFC 3339")
        .with_timezone(&Utc)
}

pub struct Harness {
    pub clock: Clock,
    pub sim: Simulator,
    pub server: SimServer,
    pub poller: Arc<Poller>,
    pub config: Config,
}

/// `api`'s plan at `now` for an app with every default, nothing fetched.
pub fn plan(
    api: wechat_exporter::api::Api,
    now: DateTime<Utc>,
) -> Vec<wechat_exporter::collectors::Target> {
    let app = plan_app(api);
    let p = wechat_exporter::collectors::Plan::new(now, api, &app);
    wechat_exporter::collectors::collector(api).plan(&p)
}

/// The app [`plan`] plans for: every default, and `api` among its APIs.
fn plan_app(api: wechat_exporter::api::Api) -> AppConfig {
    let mut app = AppConfig::new(
        "plan",
        api.app_kind(),
        "wx0000000000000000",
        Secret::default(),
    );
    if !app.enabled_apis().contains(&api) {
        app.apis = Some(vec![api]);
    }
    if api == wechat_exporter::api::Api::JsErrors {
        app.js_error_versions = vec!["2.1.0".into(), "2.0.3".into()];
    }
    app
}

/// What the slots of the app [`plan`] builds for `api` name.
pub fn slot_names(api: wechat_exporter::api::Api) -> Vec<String> {
    wechat_exporter::collectors::slot_names(&plan_app(api), api)
}

pub fn mp_app(name: &str) -> AppConfig {
    AppConfig::new(name, AppKind::Miniprogram, MP_APPID, Secret::new(MP_SECRET))
}

pub fn oa_app(name: &str) -> AppConfig {
    AppConfig::new(
        name,
        AppKind::OfficialAccount,
        OA_APPID,
        Secret::new(OA_SECRET),
    )
}

pub fn sim_apps() -> Vec<SimApp> {
    vec![
        SimApp::new(MP_APPID, MP_SECRET, AppKind::Miniprogram),
        SimApp::new(OA_APPID, OA_SECRET, AppKind::OfficialAccount),
    ]
}

/// Knobs of `Harness::build`; the defaults suit most tests.
pub struct HarnessOptions {
    /// Beijing hour at which the simulator releases yesterday's data.
    pub sim_release: f64,
    /// Beijing hour from which the poller asks for it.
    pub poll_release: f64,
    pub timeout: std::time::Duration,
    pub token_ttl: std::time::Duration,
    pub sim_apps: Vec<SimApp>,
}

impl Default for HarnessOptions {
    fn default() -> Self {
        Self {
            sim_release: 10.0,
            poll_release: 10.0,
            timeout: std::time::Duration::from_secs(2),
            token_ttl: std::time::Duration::from_secs(7200),
            sim_apps: sim_apps(),
        }
    }
}

impl Harness {
    /// A simulator releasing at `sim_release` Beijing, and a poller that
    /// starts asking at `poll_release`, both at `start`.
    pub async fn new(
        start: &str,
        sim_release: f64,
        poll_release: f64,
        apps: Vec<AppConfig>,
    ) -> Harness {
        Self::with(start, sim_release, poll_release, apps, sim_apps()).await
    }

    pub async fn with(
        start: &str,
        sim_release: f64,
        poll_release: f64,
        apps: Vec<AppConfig>,
        sim_apps: Vec<SimApp>,
    ) -> Harness {
        Self::build(
            start,
            apps,
            HarnessOptions {
                sim_release,
                poll_release,
                sim_apps,
                ..HarnessOptions::default()
            },
        )
        .await
    }

    pub async fn build(start: &str, apps: Vec<AppConfig>, o: HarnessOptions) -> Harness {
        let clock = Clock::manual(utc(start));
        let sim = Simulator::new(SimConfig {
            seed: 7,
            clock: clock.clone(),
            release_hour: o.sim_release,
            token_ttl: o.token_ttl,
            apps: o.sim_apps,
            ..SimConfig::default()
        });
        let server = sim.spawn("127.0.0.1:0").await.expect("simulator binds");
        let config = Config {
            wechat: WechatSettings {
                api_url: server.url(),
                timeout: o.timeout,
                retry_delay: std::time::Duration::from_millis(5),
                ..WechatSettings::default()
            },
            poll: PollSettings {
                release_hour: o.poll_release,
                ..PollSettings::default()
            },
            apps,
            ..Config::default()
        };
        let poller = Poller::new(&config, clock.clone(), Arc::new(SelfMetrics::new()));
        Harness {
            clock,
            sim,
            server,
            poller,
            config,
        }
    }

    pub async fn poll_at(&self, t: &str) -> Exposition {
        self.clock.set(utc(t));
        self.poller.poll_once().await;
        self.metrics()
    }

    /// A poll at `now`: the exposition after it and the calls of `api` it
    /// made, which are then cleared from the simulator's log (30 simulated
    /// days of hourly polls would otherwise keep every call).
    pub async fn poll_calls(
        &self,
        now: DateTime<Utc>,
        api: wechat_exporter::api::Api,
    ) -> (Exposition, Vec<wechat_exporter::simulator::RecordedRequest>) {
        let m = self.poll_at(&now.to_rfc3339()).await;
        let calls = self
            .sim
            .requests()
            .into_iter()
            .filter(|r| r.api == Some(api))
            .collect();
        self.sim.clear_requests();
        (m, calls)
    }

    pub fn metrics(&self) -> Exposition {
        Exposition::parse(&String::from_utf8_lossy(
            &self.poller.store.load().body.to_vec(),
        ))
    }

    /// Data calls (every API of the table: datacube, performance, the
    /// free-publish list; token calls excluded) the simulator received.
    pub fn data_calls(&self) -> usize {
        self.sim
            .requests()
            .iter()
            .filter(|r| r.api.is_some())
            .count()
    }
}

/// A parsed exposition: (name, labels, value) per sample.
#[derive(Debug, Default)]
pub struct Exposition {
    pub samples: Vec<(String, BTreeMap<String, String>, f64)>,
    pub text: String,
}

impl Exposition {
    pub fn parse(text: &str) -> Exposition {
        let mut samples = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("sample line has a value");
            let value: f64 = match value {
                "NaN" => f64::NAN,
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().expect("numeric value"),
            };
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n.to_string(), parse_labels(rest.trim_end_matches('}'))),
                None => (series.to_string(), BTreeMap::new()),
            };
            samples.push((name, labels, value));
        }
        Exposition {
            samples,
            text: text.to_string(),
        }
    }

    /// The value of the series with exactly these labels.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|(n, l, _)| n == name && *l == want)
            .map(|(_, _, v)| *v)
    }

    /// Like `get`, failing the test with a useful message when absent.
    pub fn must(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
    }

    pub fn count(&self, name: &str) -> usize {
        self.samples.iter().filter(|(n, _, _)| n == name).count()
    }

    pub fn with_label(
        &self,
        name: &str,
        key: &str,
        value: &str,
    ) -> Vec<&(String, BTreeMap<String, String>, f64)> {
        self.samples
            .iter()
            .filter(|(n, l, _)| n == name && l.get(key).map(String::as_str) == Some(value))
            .collect()
    }
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        assert_eq!(chars.next(), Some('"'));
        let mut val = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => val.push('\n'),
                    Some(o) => val.push(o),
                    None => {}
                },
                '"' => break,
                c => val.push(c),
            }
        }
        out.insert(key.trim_start_matches(',').to_string(), val);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    out
}

/// promtool, or None outside CI when it is not installed. Under CI a
/// missing promtool fails the test: CI must install it.
pub fn tool(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is required under CI"
        );
        eprintln!("SKIPPING part of this test: {name} not installed");
    }
    found
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A child process killed when dropped, so a failing test leaves nothing behind.
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn exporter_bin() -> &'static str {
    env!("CARGO_BIN_EXE_wechat-exporter")
}

/// Waits until `url` answers 200, or panics after `secs`.
pub async fn wait_ok(url: &str, secs: u64) {
    let client = reqwest::Client::new();
    for _ in 0..secs * 10 {
        if let Ok(r) = client.get(url).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{url} did not answer 200 within {secs}s");
}

/// Log lines written by the code under test.
#[derive(Clone, Default)]
pub struct LogBuf(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuf {
    type Writer = LogBuf;
    fn make_writer(&'a self) -> LogBuf {
        self.clone()
    }
}

impl LogBuf {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Runs `fut` with a debug-level subscriber writing into a fresh buffer.
pub async fn logged<F: std::future::Future>(fut: F) -> (F::Output, String) {
    let buf = LogBuf::default();
    let sub = tracing_subscriber::fmt()
        .with_writer(buf.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    let out = fut.with_subscriber(sub).await;
    (out, buf.text())
}

/// The exporter binary running in the background; killed when dropped.
pub struct Exporter {
    pub child: Child,
    pub port: u16,
    pub stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl Exporter {
    /// Starts the binary on a free port with `args` and `envs`.
    pub fn start(args: &[&str], envs: &[(&str, &str)]) -> Exporter {
        let dir = tempfile::tempdir().unwrap();
        let stderr = dir.path().join("stderr.log");
        let port = free_port();
        let listen = format!("--web.listen-address=127.0.0.1:{port}");
        let child = Command::new(exporter_bin())
            .arg(listen)
            .args(args)
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("exporter starts");
        Exporter {
            child,
            port,
            stderr,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits until the port accepts connections (or the child exits).
    pub fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("exporter exited with {status}: {}", self.logs());
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("exporter did not listen: {}", self.logs());
    }

    /// Sends a signal (TERM, HUP) to this child only.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig}");
    }

    /// Waits for the exit code, at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary to completion: (exit code, stdout + stderr).
pub fn run_to_end(args: &[&str], envs: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new(exporter_bin())
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Polls `f` every 100 ms until it returns Some, at most `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A config file for the binary pointing at `api_url`, secrets from files
/// `secret_file`s in `dir`, data ready at once (release hour 0).
pub fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

/// A blocking `GET` over a raw socket: (status, body). `None` on any error.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|x| x.1.to_string())?;
    Some((status, body))
}

/// Tests that load the machine (hundreds of connections, a thousand apps,
/// real Prometheus and promtool runs) take this lock, so that in the one
/// test binary two of them never compete for the two cores and turn a
/// latency bound or keep-alive race into a flake.
pub fn heavy() -> Heavy {
    static HEAVY: Mutex<()> = Mutex::new(());
    Heavy(HEAVY.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Held for the length of a heavy test. Each test runs its own runtime on
/// its own thread, so holding it across awaits blocks nothing else.
pub struct Heavy(std::sync::MutexGuard<'static, ()>);

/// The token the simulator at `url` hands out for `appid` now
/// (`stable_token`, normal mode), for tests that call it directly.
pub async fn stable_token(url: &str, appid: &str, secret: &str) -> String {
    let v: serde_json::Value = reqwest::Client::new()
        .post(format!("{url}/cgi-bin/stable_token"))
        .json(&serde_json::json!({
            "grant_type": "client_credential",
            "appid": appid,
            "secret": secret,
        }))
        .send()
        .await
        .expect("token call")
        .json()
        .await
        .expect("token json");
    v["access_token"].as_str().expect("a token").to_string()
}
