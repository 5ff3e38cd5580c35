//! Runs `tests/deploy/run.sh` (mixin output, dashboards and their linter
//! rules, rules, alerts, Alertmanager, history imported with `backfill` into
//! a real Prometheus, compose, Kubernetes, systemd) against this build's
//! binary, so that `cargo test` covers the deployment files with the real
//! tools.

#[test]
fn deployment_files_pass_their_checks() {
    let _heavy = crate::common::heavy();
    // jsonnet renders the monitoring mixin, which the check compares with
    // the shipped rules and dashboards.
    if ["promtool", "amtool", "prometheus", "jsonnet"]
        .iter()
        .any(|t| crate::common::tool(t).is_none())
    {
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new("bash")
        .arg(format!("{root}/tests/deploy/run.sh"))
        .current_dir(root)
        .env("WECHAT_EXPORTER_BIN", env!("CARGO_BIN_EXE_wechat-exporter"))
        .output()
        .expect("bash runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    // The failed checks alone, last: a CI log shortened in the middle
    // still shows them.
    let failed: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("FAIL"))
        .filter(|l| l.starts_with("FAIL") || l.starts_with("      "))
        .collect();
    assert!(
        out.status.success(),
        "tests/deploy/run.sh failed:\n{}",
        failed.join("\n")
    );
    assert!(
        text.contains(" passed, 0 failed"),
        "no summary line:\n{text}"
    );
}
