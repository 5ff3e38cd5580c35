//! Secrets never print. Every fault path is run with distinctive app
//! secrets and the live access tokens (asked from the simulator's
//! `/cgi-bin/stable_token` in normal mode, which returns the token the
//! exporter holds), and none of them may appear in any log line (all
//! targets, trace level), error, `/metrics`, landing page, `Debug` of the
//! config or state, or the binary's `--config.check` output and debug logs.

use crate::common::*;
use chrono::Duration;
use std::sync::OnceLock;
use wechat_exporter::api::AppKind;
use wechat_exporter::config::AppConfig;
use wechat_exporter::config::TokenSourceConfig;
use wechat_exporter::expose::http;
use wechat_exporter::secret::Secret;
use wechat_exporter::simulator::{Faults, SimApp, SimConfig, Simulator};

const LEGACY_APPID: &str = "wx00112233445566cc";
const LEGACY_SECRET: &str = "legacy-secret-Hh5t3rM1-distinctive";

/// Everything logged in this test binary, from every thread and crate.
fn global_logs() -> &'static LogBuf {
    static BUF: OnceLock<LogBuf> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = LogBuf::default();
        let sub = tracing_subscriber::fmt()
            .with_writer(buf.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(sub).expect("first subscriber");
        buf
    })
}

fn assert_clean(what: &str, text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "{what} contains secret {s}");
    }
}

async fn landing_and_metrics(h: &Harness) -> (String, String) {
    use tower::ServiceExt;
    let router = http::router(h.poller.handlers("/metrics"));
    let mut out = Vec::new();
    for path in ["/", "/metrics"] {
        let resp = router
            .clone()
            .oneshot(
                axum::http::Request::get(path)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 24)
            .await
            .unwrap();
        out.push(String::from_utf8_lossy(&body).into_owned());
    }
    (out.remove(0), out.remove(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_or_token_in_logs_errors_metrics_or_landing_page() {
    let logs = global_logs();
    let mut legacy = AppConfig::new(
        "legacy",
        AppKind::Miniprogram,
        LEGACY_APPID,
        Secret::new(LEGACY_SECRET),
    );
    legacy.token = TokenSourceConfig::Legacy;
    legacy.apis = Some(vec![wechat_exporter::api::Api::DailySummary]);
    let mut apps = sim_apps();
    apps.push(SimApp::new(
        LEGACY_APPID,
        LEGACY_SECRET,
        AppKind::Miniprogram,
    ));
    let h = Harness::with(
        "2025-03-10T03:00:00Z",
        10.0,
        10.0,
        vec![mp_app("shop"), oa_app("news"), legacy],
        apps,
    )
    .await;
    let url = h.server.url();
    let mut secrets: Vec<String> = vec![MP_SECRET.into(), OA_SECRET.into(), LEGACY_SECRET.into()];
    let mut now = utc("2025-03-10T03:00:00Z");
    h.poller.poll_once().await;

    let plans: Vec<(&str, Faults)> = vec![
        (
            "http 500",
            Faults {
                http_500: 6,
                ..Default::default()
            },
        ),
        (
            "data http 500",
            Faults {
                http_500: 3,
                only_path: Some("/datacube/getweanalysisappiddailysummarytrend".into()),
                only_appid: Some(MP_APPID.into()),
                ..Default::default()
            },
        ),
        (
            "dropped",
            Faults {
                drop_connections: 6,
                ..Default::default()
            },
        ),
        (
            "malformed",
            Faults {
                malformed_json: 6,
                ..Default::default()
            },
        ),
        (
            "busy",
            Faults {
                busy: 6,
                ..Default::default()
            },
        ),
        (
            "token rejected",
            Faults {
                always_errcode: Some(40001),
                only_path: Some("/datacube/getweanalysisappiddailysummarytrend".into()),
                ..Default::default()
            },
        ),
        (
            "bad secret",
            Faults {
                always_errcode: Some(40125),
                ..Default::default()
            },
        ),
        (
            "ip whitelist",
            Faults {
                always_errcode: Some(40164),
                ..Default::default()
            },
        ),
        (
            "quota",
            Faults {
                always_errcode: Some(45009),
                ..Default::default()
            },
        ),
        (
            "not ready",
            Faults {
                always_errcode: Some(61503),
                ..Default::default()
            },
        ),
        (
            // The legacy endpoint carries the secret in its URL: its
            // failure is logged with that URL, redacted.
            "legacy token endpoint down",
            Faults {
                http_500: 100,
                only_path: Some("/cgi-bin/token".into()),
                ..Default::default()
            },
        ),
        ("revoked", Faults::default()),
    ];
    for (name, plan) in plans {
        // A new day: data is due and the 2-hour tokens have expired.
        now += Duration::days(1);
        h.clock.set(now);
        if name == "revoked" {
            h.sim.revoke_tokens(MP_APPID);
        }
        h.sim.set_faults(plan);
        h.poller.poll_once().await;
        h.sim.set_faults(Faults::default());
        // Pauses (45009, 40164, 40125) end; a clean round renews tokens.
        now += Duration::days(1);
        h.clock.set(now);
        h.poller.poll_once().await;
        for (appid, secret) in [
            (MP_APPID, MP_SECRET),
            (OA_APPID, OA_SECRET),
            (LEGACY_APPID, LEGACY_SECRET),
        ] {
            let t = stable_token(&url, appid, secret).await;
            if !secrets.contains(&t) {
                secrets.push(t);
            }
        }
        let (landing, metrics) = landing_and_metrics(&h).await;
        assert_clean(&format!("landing page after {name}"), &landing, &secrets);
        assert_clean(&format!("/metrics after {name}"), &metrics, &secrets);
        for app in h.poller.apps().iter() {
            let st = app.lock();
            assert_clean(
                &format!("state of {} after {name}", app.config.name),
                &format!("{st:?}"),
                &secrets,
            );
        }
    }
    assert!(
        secrets.len() >= 3 + 3,
        "tokens collected: {}",
        secrets.len()
    );
    let text = logs.text();
    // The logs did see the failures (so the check below means something).
    for must in [
        "poll failed",
        "errcode=40001",
        "errcode=40125",
        "pausing app",
        // URLs with a token or secret in them were logged, redacted.
        "access_token=REDACTED",
        "secret=REDACTED",
    ] {
        assert!(text.contains(must), "logs lack {must}");
    }
    assert!(text.contains("DEBUG") && text.contains("TRACE"));
    assert_clean("logs", &text, &secrets);
    assert_clean("config Debug", &format!("{:?}", h.config), &secrets);
    for a in &h.config.apps {
        assert_clean("AppConfig Debug", &format!("{a:?}"), &secrets);
    }
    // The errors as the poller keeps them, one per failure kind.
    let m = h.metrics();
    assert_clean("final /metrics", &m.text, &secrets);
}

const FILE_SECRET: &str = "file-secret-Kx93vB-distinctive";
const ENV_SECRET: &str = "env-secret-Pq27wN-distinctive";
const LITERAL_SECRET: &str = "literal-secret-Zz11qR-distinctive";

fn config(dir: &std::path::Path, api_url: &str, extra_app: &str) -> std::path::PathBuf {
    let secret_file = dir.join("shop.secret");
    std::fs::write(&secret_file, format!("{FILE_SECRET}\n")).unwrap();
    let path = dir.join("config.yml");
    std::fs::write(
        &path,
        format!(
            "wechat:\n  api_url: {api_url}\n  retry_delay: 10ms\npoll:\n  interval: 1s\n  release_hour: 0\napps:\n  - name: shop\n    type: miniprogram\n    appid: {MP_APPID}\n    secret_file: {}\n  - name: news\n    type: official_account\n    appid: {OA_APPID}\n    secret: ${{NEWS_SECRET}}\n{extra_app}",
            secret_file.display()
        ),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_config_check_and_debug_logs_never_show_secrets() {
    let sim = Simulator::new(SimConfig {
        release_hour: 0.0,
        apps: vec![
            SimApp::new(MP_APPID, FILE_SECRET, AppKind::Miniprogram),
            SimApp::new(OA_APPID, ENV_SECRET, AppKind::OfficialAccount),
        ],
        ..SimConfig::default()
    });
    let server = sim.spawn("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &server.url(), "");
    let cfg_s = cfg.to_str().unwrap();
    let env = [("NEWS_SECRET", ENV_SECRET)];
    let mut secrets = vec![
        FILE_SECRET.to_string(),
        ENV_SECRET.to_string(),
        LITERAL_SECRET.to_string(),
    ];

    // --config.check: valid.
    let (code, out) = run_to_end(&["--config.check", "--config.file", cfg_s], &env);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("valid, 2 app(s)"), "{out}");
    assert_clean("--config.check output", &out, &secrets);

    // Config errors: a literal secret, a bad appid next to good secrets,
    // an unset variable.
    let bad_literal = config(
        dir.path(),
        &server.url(),
        &format!("  - name: third\n    type: miniprogram\n    appid: wx00112233445566dd\n    secret: {LITERAL_SECRET}\n"),
    );
    for (args_env, what) in [(&env[..], "literal secret"), (&[][..], "unset variable")] {
        let (code, out) = run_to_end(
            &[
                "--config.check",
                "--config.file",
                bad_literal.to_str().unwrap(),
            ],
            args_env,
        );
        assert_eq!(code, 2, "{what}: {out}");
        assert!(
            out.contains("apps["),
            "{what}: error names the field: {out}"
        );
        assert_clean(&format!("config error ({what})"), &out, &secrets);
        // The same error when starting for real.
        let (code, out) = run_to_end(
            &[
                "--config.file",
                bad_literal.to_str().unwrap(),
                "--web.listen-address=127.0.0.1:0",
            ],
            args_env,
        );
        assert_eq!(code, 2, "{what}: {out}");
        assert_clean(&format!("start error ({what})"), &out, &secrets);
    }
    let bad_appid = config(
        dir.path(),
        &server.url(),
        "  - name: third\n    type: miniprogram\n    appid: wx12\n    secret: ${NEWS_SECRET}\n",
    );
    let (code, out) = run_to_end(
        &[
            "--config.check",
            "--config.file",
            bad_appid.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("apps[2].appid"), "{out}");
    assert_clean("config error (appid)", &out, &secrets);

    // The running binary at debug level, through a rejected token and
    // transient failures.
    let cfg = config(dir.path(), &server.url(), "");
    sim.set_faults(Faults {
        errcode: Some((40001, 2)),
        http_500: 1,
        busy: 1,
        ..Default::default()
    });
    let mut exp = Exporter::start(
        &["--config.file", cfg.to_str().unwrap(), "--log.level=debug"],
        &env,
    );
    exp.wait_listening();
    let client = reqwest::Client::new();
    let metrics = eventually(std::time::Duration::from_secs(20), || {
        let c = client.clone();
        let u = exp.url("/metrics");
        async move {
            let t = c.get(u).send().await.ok()?.text().await.ok()?;
            (t.contains("wechat_miniprogram_visitors{")
                && t.contains("wechat_official_account_followers{"))
            .then_some(t)
        }
    })
    .await
    .unwrap_or_else(|| panic!("no data: {}", exp.logs()));
    let landing = client
        .get(exp.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (appid, secret) in [(MP_APPID, FILE_SECRET), (OA_APPID, ENV_SECRET)] {
        secrets.push(stable_token(&server.url(), appid, secret).await);
    }
    let logs = exp.logs();
    assert!(logs.contains("level=debug"), "debug logs: {logs}");
    assert_clean("binary logs", &logs, &secrets);
    assert_clean("binary /metrics", &metrics, &secrets);
    assert_clean("binary landing page", &landing, &secrets);
}

#[test]
fn config_debug_hides_resolved_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = config(dir.path(), "http://127.0.0.1:1", "");
    let text = std::fs::read_to_string(&cfg_path).unwrap();
    let cfg = wechat_exporter::config::Config::from_yaml(&text, "x.yml", &|n| {
        (n == "NEWS_SECRET").then(|| ENV_SECRET.to_string())
    })
    .unwrap();
    assert_eq!(cfg.apps[0].resolved_secret.expose(), FILE_SECRET);
    assert_eq!(cfg.apps[1].resolved_secret.expose(), ENV_SECRET);
    let dbg = format!("{cfg:?} {:?} {:#?}", cfg.apps[0], cfg.apps[1]);
    assert!(
        !dbg.contains(FILE_SECRET) && !dbg.contains(ENV_SECRET),
        "{dbg}"
    );
    assert!(dbg.contains("redacted"));
}
