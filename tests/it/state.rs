//! State across restarts (`--storage.path`): a restarted exporter serves
//! the saved data before its first poll and spends no call on data it
//! already has; the save is atomic (temporary file + rename), periodic and
//! done at shutdown; a corrupt, foreign or other-appid state file is
//! reported and ignored, never fatal (library and binary).

use crate::common::*;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::time::Duration;
use wechat_exporter::poll::poller::Poller;
use wechat_exporter::poll::storage::{Storage, StorageError};
use wechat_exporter::self_metrics::SelfMetrics;

const T0: &str = "2025-03-10T03:00:00Z";

fn restarted(h: &Harness) -> Arc<Poller> {
    Poller::new(&h.config, h.clock.clone(), Arc::new(SelfMetrics::new()))
}

fn data(m: &Exposition) -> Vec<String> {
    let mut v: Vec<String> = m
        .samples
        .iter()
        .filter(|(n, _, _)| n.starts_with("wechat_") && !n.starts_with("wechat_exporter_"))
        .map(|(n, l, v)| format!("{n}{l:?} {v}"))
        .collect();
    v.sort();
    v
}

/// Equal data, or a failure listing only the differences.
fn assert_same(got: &[String], want: &[String], what: &str) {
    let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).take(5).collect();
    let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: missing {missing:?}, unexpected {extra:?}"
    );
}

fn metrics_of(p: &Poller) -> Exposition {
    Exposition::parse(&String::from_utf8_lossy(&p.store.load().body.to_vec()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_serves_at_once_and_spends_no_call() {
    let h = Harness::new(T0, 10.0, 10.0, vec![mp_app("shop"), oa_app("news")]).await;
    let before = h.poll_at(T0).await;
    let d = data(&before);
    assert!(d.len() > 100, "{} data samples", d.len());
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::new(dir.path().to_path_buf());
    storage.save(&h.poller).unwrap();

    // The new process: nothing until restored.
    let p = restarted(&h);
    assert!(data(&metrics_of(&p)).is_empty());
    let saved = storage.load().unwrap().expect("state file exists");
    assert_eq!(p.restore(saved), 2);
    let m = metrics_of(&p);
    assert_same(&data(&m), &d, "restored values before any poll");
    assert_eq!(
        m.must(
            "wechat_exporter_data_ready",
            &[("app", "shop"), ("api", "daily_visit_trend")]
        ),
        1.0
    );

    // Polling at the same simulated time: every target is already final.
    let calls = h.data_calls();
    p.poll_once().await;
    assert_eq!(h.data_calls(), calls, "no datacube call after a restore");
    assert_same(&data(&metrics_of(&p)), &d, "after the first poll");

    // A day later only the new day is fetched, not the restored periods.
    h.clock.set(utc("2025-03-11T03:00:00Z"));
    p.poll_once().await;
    let reference = Harness::new(T0, 10.0, 10.0, vec![mp_app("shop"), oa_app("news")]).await;
    reference.poll_at(T0).await;
    let c0 = reference.data_calls();
    reference.poll_at("2025-03-11T03:00:00Z").await;
    assert_eq!(
        h.data_calls() - calls,
        reference.data_calls() - c0,
        "a restored exporter spends what a running one spends"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_is_atomic_and_replaces_the_file() {
    let h = Harness::new(T0, 10.0, 10.0, vec![mp_app("shop")]).await;
    h.poll_at(T0).await;
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::new(dir.path().join("sub"));
    // A temporary file left by a crash mid-write is harmless.
    std::fs::create_dir_all(dir.path().join("sub")).unwrap();
    std::fs::write(storage.path().with_extension("json.tmp"), b"half a fi").unwrap();
    storage.save(&h.poller).unwrap();
    let ino1 = std::fs::metadata(storage.path()).unwrap().ino();
    storage.save(&h.poller).unwrap();
    let ino2 = std::fs::metadata(storage.path()).unwrap().ino();
    // Written elsewhere and renamed over: a new inode, never the old file
    // truncated in place.
    assert_ne!(ino1, ino2, "state file replaced by rename");
    let names: Vec<String> = std::fs::read_dir(dir.path().join("sub"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["state.json".to_string()], "no temporary left");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(storage.path()).unwrap()).unwrap();
    assert_eq!(v["format"], "wechat-exporter-state");
    assert!(!String::from_utf8_lossy(&std::fs::read(storage.path()).unwrap()).contains(MP_SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saves_periodically_and_at_shutdown() {
    let h = Harness::new(T0, 10.0, 10.0, vec![mp_app("shop")]).await;
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::new(dir.path().to_path_buf());
    let (tx, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(storage.clone().save_periodically(
        h.poller.clone(),
        Duration::from_millis(100),
        rx,
    ));
    // Saved while running, with no data yet…
    tokio::time::sleep(Duration::from_millis(400)).await;
    let first = storage.load().unwrap().expect("saved periodically");
    assert!(first["shop"].1.apis.values().all(|a| a.results.is_empty()));
    // …and again after a poll.
    h.poll_at(T0).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let second = storage.load().unwrap().unwrap();
    assert!(second["shop"]
        .1
        .apis
        .values()
        .all(|a| !a.results.is_empty()));
    // Shutdown saves once more and ends the task.
    std::fs::remove_file(storage.path()).unwrap();
    tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("task ends at shutdown")
        .unwrap();
    assert!(storage.load().unwrap().is_some(), "saved at shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_foreign_or_other_appid_state_is_ignored() {
    let h = Harness::new(T0, 10.0, 10.0, vec![mp_app("shop")]).await;
    h.poll_at(T0).await;
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::new(dir.path().to_path_buf());
    for (what, bytes) in [
        ("garbage", b"\x00\xffnot json at all".to_vec()),
        (
            "truncated",
            b"{\"format\":\"wechat-exporter-state\",\"vers".to_vec(),
        ),
        (
            "foreign",
            br#"{"format":"prometheus-snapshot","version":1,"apps":{}}"#.to_vec(),
        ),
        (
            "future version",
            br#"{"format":"wechat-exporter-state","version":99,"apps":{}}"#.to_vec(),
        ),
        ("other JSON", br#"[1,2,3]"#.to_vec()),
    ] {
        std::fs::write(storage.path(), bytes).unwrap();
        match storage.load() {
            Err(e @ StorageError::Foreign { .. }) => {
                assert!(e.to_string().contains("state.json"), "{what}: {e}")
            }
            other => panic!("{what}: {:?}", other.map(|o| o.map(|a| a.len()))),
        }
    }
    // An unreadable path (a directory) is an error, not a panic.
    std::fs::remove_file(storage.path()).unwrap();
    std::fs::create_dir(storage.path()).unwrap();
    assert!(matches!(storage.load(), Err(StorageError::Io { .. })));
    std::fs::remove_dir(storage.path()).unwrap();

    // A state of the same app name but another appid is not restored.
    storage.save(&h.poller).unwrap();
    let text = std::fs::read_to_string(storage.path()).unwrap();
    std::fs::write(storage.path(), text.replace(MP_APPID, "wx0000000000000000")).unwrap();
    let p = restarted(&h);
    assert_eq!(p.restore(storage.load().unwrap().unwrap()), 0);
    assert!(data(&metrics_of(&p)).is_empty());
}

#[test]
fn binary_ignores_a_corrupt_state_file_and_saves_at_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(&state, "this is { not a state file").unwrap();
    let storage = format!("--storage.path={}", dir.path().display());
    let mut exp = Exporter::start(&["--demo", &storage], &[]);
    exp.wait_listening();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let body = http_get(exp.port, "/metrics").unwrap_or_default().1;
        if body.contains("wechat_miniprogram_visitors{") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no data: {}",
            exp.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let logs = exp.logs();
    assert!(logs.contains("ignoring state file"), "{logs}");
    exp.signal("TERM");
    assert_eq!(
        exp.wait_exit(Duration::from_secs(10)),
        Some(0),
        "{}",
        exp.logs()
    );
    let saved = Storage::new(dir.path().to_path_buf())
        .load()
        .expect("a valid state file after shutdown")
        .expect("state file exists");
    assert_eq!(saved.len(), 2, "both demo apps saved");

    // Restarted on that file: restored at start.
    let mut exp = Exporter::start(&["--demo", &storage], &[]);
    exp.wait_listening();
    let body = http_get(exp.port, "/metrics").unwrap().1;
    assert!(
        body.contains("wechat_miniprogram_visitors{"),
        "data served at once after restart"
    );
    assert!(exp.logs().contains("restored state"), "{}", exp.logs());
}
