//! Build facts and process metrics, through the binary: `--version` names
//! version, revision, branch, build date, rustc and target (Prometheus'
//! layout), `wechat_exporter_build_info` carries the same values as labels,
//! `/metrics` has the standard `process_*` series (read at scrape time, in
//! plain and gzip answers), and `--web.disable-exporter-metrics` drops them.

use crate::common::*;
use std::collections::HashMap;
use std::io::Read;

fn version_fields(out: &str) -> HashMap<String, String> {
    let mut f = HashMap::new();
    // First line: "wechat-exporter 0.1.0 (branch: B, revision: R)".
    let first = out.lines().next().unwrap_or_default();
    let (head, rest) = first.split_once(" (").unwrap_or((first, ""));
    f.insert(
        "version".into(),
        head.rsplit(' ').next().unwrap_or("").to_string(),
    );
    for kv in rest.trim_end_matches(')').split(", ") {
        if let Some((k, v)) = kv.split_once(": ") {
            f.insert(k.to_string(), v.to_string());
        }
    }
    for line in out.lines().skip(1) {
        if let Some((k, v)) = line.trim().split_once(':') {
            f.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    f
}

fn git(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_build_info_and_process_metrics() {
    let (code, out) = run_to_end(&["--version"], &[]);
    assert_eq!(code, 0, "{out}");
    let v = version_fields(&out);
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"), "{out}");
    for k in [
        "revision",
        "branch",
        "build date",
        "rustc version",
        "platform",
    ] {
        assert!(
            v.get(k).is_some_and(|x| !x.is_empty()),
            "{k} missing: {out}"
        );
    }
    assert!(v["platform"].contains("linux"), "{out}");
    assert!(v["rustc version"].starts_with("1."), "{out}");
    // Built from this checkout: git's answers, when git is here to ask.
    if let Some(rev) = git(&["rev-parse", "--short=12", "HEAD"]) {
        assert_eq!(v["revision"], rev, "{out}");
        assert_eq!(
            Some(v["branch"].clone()),
            git(&["rev-parse", "--abbrev-ref", "HEAD"])
        );
    }

    let mut exp = Exporter::start(&["--demo"], &[]);
    exp.wait_listening();
    let text = reqwest::get(exp.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let m = Exposition::parse(&text);
    let labels = [
        ("version", v["version"].as_str()),
        ("revision", v["revision"].as_str()),
        ("branch", v["branch"].as_str()),
        ("build_date", v["build date"].as_str()),
        ("rustc_version", v["rustc version"].as_str()),
        ("target", v["platform"].as_str()),
    ];
    assert_eq!(m.must("wechat_exporter_build_info", &labels), 1.0, "{text}");
    let rss = m.must("process_resident_memory_bytes", &[]);
    assert!(rss > 1e6, "rss {rss}");
    assert!(m.must("process_virtual_memory_bytes", &[]) >= rss);
    assert!(m.must("process_open_fds", &[]) >= 3.0);
    assert!(m.must("process_max_fds", &[]) >= m.must("process_open_fds", &[]));
    assert!(m.get("process_cpu_seconds_total", &[]).is_some());
    let start = m.must("process_start_time_seconds", &[]);
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(start > now - 600.0 && start <= now + 1.0, "start {start}");

    // Read per scrape: 20 connections held open show in process_open_fds
    // at once (a snapshot rendered at poll time would not move), and the
    // gzip answer carries them too.
    // The baseline is taken just before, by a scrape like the later ones:
    // connections of earlier requests may still be closing, so the later
    // count may lose a few of them; 15 of the 20 held ones must show.
    let fds_before = eventually(std::time::Duration::from_secs(10), || async {
        let text = reqwest::get(exp.url("/metrics"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        Exposition::parse(&text).get("process_open_fds", &[])
    })
    .await
    .expect("a baseline scrape");
    let held: Vec<_> = (0..20)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", exp.port)).unwrap())
        .collect();
    let later = eventually(std::time::Duration::from_secs(10), || async {
        let gz = reqwest::Client::new()
            .get(exp.url("/metrics"))
            .header("Accept-Encoding", "gzip")
            .send()
            .await
            .ok()?
            .bytes()
            .await
            .ok()?;
        let mut text = String::new();
        // One member: a decoder that stops after the first sees process_*.
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut text)
            .ok()?;
        let later = Exposition::parse(&text);
        (later.get("process_open_fds", &[])? >= fds_before + 15.0).then_some(later)
    })
    .await
    .expect("open fds counted at scrape time");
    drop(held);
    assert_eq!(later.must("wechat_exporter_build_info", &labels), 1.0);

    let mut quiet = Exporter::start(&["--demo", "--web.disable-exporter-metrics"], &[]);
    quiet.wait_listening();
    let text = reqwest::get(quiet.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("process_"), "{text}");
    assert!(text.contains("wechat_exporter_build_info"), "{text}");
}
