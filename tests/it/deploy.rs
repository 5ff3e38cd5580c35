//! Runs `tests/deploy/run.sh` (dashboards, rules, alerts, Alertmanager,
//! compose, Kubernetes, systemd) against this build's binary, so that
//! `cargo test` covers the deployment files with the real tools.

#[test]
fn deployment_files_pass_their_checks() {
    if crate::common::tool("promtool").is_none() || crate::common::tool("amtool").is_none() {
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
    assert!(out.status.success(), "tests/deploy/run.sh failed:\n{text}");
    assert!(
        text.contains(" passed, 0 failed"),
        "no summary line:\n{text}"
    );
}
