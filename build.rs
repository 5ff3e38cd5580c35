//! Build facts for `--version` and `wechat_exporter_build_info`: git
//! revision and branch, build date, rustc version and target. Every fact
//! falls back to "unknown" (a tarball has no .git, a minimal image no git),
//! and an environment variable of the same name wins, so packagers can set
//! them (`WECHAT_EXPORTER_REVISION=… cargo build`).

use std::process::Command;

fn run(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn set(name: &str, computed: impl FnOnce() -> Option<String>) {
    println!("cargo:rerun-if-env-changed={name}");
    let v = std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(computed)
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env={name}={v}");
}

fn main() {
    // Rebuild when HEAD moves (a commit or a checkout), not on every edit.
    // --git-path resolves worktrees, whose branch refs live in the main
    // repository's directory.
    if let Some(head) = run("git", &["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={head}");
        if let Some(r) = run("git", &["symbolic-ref", "-q", "HEAD"]) {
            if let Some(p) = run("git", &["rev-parse", "--git-path", &r]) {
                println!("cargo:rerun-if-changed={p}");
            }
        }
    }
    set("WECHAT_EXPORTER_REVISION", || {
        run("git", &["rev-parse", "--short=12", "HEAD"])
    });
    set("WECHAT_EXPORTER_BRANCH", || {
        run("git", &["rev-parse", "--abbrev-ref", "HEAD"])
    });
    set("WECHAT_EXPORTER_BUILD_DATE", || {
        // Reproducible builds pin the date through SOURCE_DATE_EPOCH.
        match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(epoch) => run(
                "date",
                &["-u", "-d", &format!("@{epoch}"), "+%Y%m%d-%H:%M:%S"],
            ),
            Err(_) => run("date", &["-u", "+%Y%m%d-%H:%M:%S"]),
        }
    });
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    set("WECHAT_EXPORTER_RUSTC", || {
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
        run(&rustc, &["--version"]).and_then(|v| v.split_whitespace().nth(1).map(str::to_string))
    });
    set("WECHAT_EXPORTER_TARGET", || std::env::var("TARGET").ok());
}
