//! Every list of APIs outside the catalogue is derived from it: the API
//! and family tables of docs/metrics.md and the mixin's list of APIs
//! released daily (the `WechatDataNotReleased` alert). Each is a section
//! written from `collectors::SPECS` and `Family::ALL`; a test fails when a
//! file differs from what the catalogue says, and
//! `WECHAT_EXPORTER_BLESS=1 cargo test --test it derived` rewrites them.

use std::path::{Path, PathBuf};
use wechat_exporter::api::{ApiKind, History, Request, Span};
use wechat_exporter::collectors::{ApiSpec, SPECS};
use wechat_exporter::dates::Period;
use wechat_exporter::families::Family;

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// Replaces what stands between the `begin` and `end` marker lines of
/// `path` with `body`, or fails when it differs (unless blessing).
fn check_section(path: &str, begin: &str, end: &str, body: &str) {
    let file = repo(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{path}: {e}"));
    let b = text
        .find(begin)
        .unwrap_or_else(|| panic!("{path} lacks the marker {begin}"));
    let after_begin = b + begin.len();
    let e = text[after_begin..]
        .find(end)
        .map(|i| after_begin + i)
        .unwrap_or_else(|| panic!("{path} lacks the marker {end}"));
    let want = format!("\n{body}");
    if text[after_begin..e] == want {
        return;
    }
    if std::env::var_os("WECHAT_EXPORTER_BLESS").is_some() {
        let new = format!("{}{want}{}", &text[..after_begin], &text[e..]);
        std::fs::write(&file, new).unwrap_or_else(|e| panic!("{path}: {e}"));
        return;
    }
    panic!(
        "{path}: the section after {begin} is not what the API catalogue says.\n\
         Regenerate it: WECHAT_EXPORTER_BLESS=1 cargo test --test it derived\n\
         --- want ---\n{body}\n--- have ---\n{}",
        &text[after_begin..e]
    );
}

fn kind(k: ApiKind) -> &'static str {
    match k {
        ApiKind::Miniprogram => "miniprogram",
        ApiKind::OfficialAccount => "official_account",
        ApiKind::Every => "every",
    }
}

fn period(s: &ApiSpec) -> String {
    let p = match s.period {
        Period::Daily => "daily",
        Period::Weekly => "weekly",
        Period::Monthly => "monthly",
    };
    match s.request {
        Request::Performance { module, .. } => format!("{p} (module {module})"),
        Request::Latest { count } => format!("the newest {count} entries, once a day"),
        Request::Dates => p.to_string(),
        Request::Quota => "today, per path, hourly".to_string(),
        Request::Feedback => "the count per type, hourly".to_string(),
        Request::JsErrors => "per release: today hourly, yesterday once".to_string(),
        Request::OpsPerformance => format!("{p}, one call per kind"),
    }
}

fn span(s: &ApiSpec) -> String {
    match s.span {
        Span::OnePeriod => "one period".into(),
        Span::UpToDays(1) => "one day".into(),
        Span::UpToDays(n) => format!("up to {n} days"),
        Span::RecentWindow(days) => {
            let d: Vec<String> = days.iter().map(|d| d.to_string()).collect();
            format!("{} days ending yesterday or the day before", d.join(", "))
        }
        Span::PeriodStart => "the period's first day".into(),
    }
}

fn history(s: &ApiSpec) -> String {
    let h = match s.history {
        History::Periods => "one call per period".to_string(),
        History::PeriodsPerSlot => "one call per period and kind".into(),
        History::Cohorts => "one call per cohort".into(),
        History::DayChunks(1) => "one call per day".into(),
        History::DayChunks(n) => format!("{n} days per call"),
        History::None(why) => format!("none ({why})"),
    };
    match s.data_since() {
        Some(d) => format!("{h}, from {d}"),
        None => h,
    }
}

/// The API table of docs/metrics.md.
fn api_table() -> String {
    let mut out = String::from(
        "| api | path | app type | period | a call asks for | history (`backfill`) |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for s in &SPECS {
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} | {} | {} |\n",
            s.api.label(),
            s.path,
            kind(s.api.kind()),
            period(s),
            span(s),
            history(s)
        ));
    }
    out
}

/// Every data family with the APIs that publish it and its HELP text.
fn family_table() -> String {
    let mut out = String::from("| family | published by | HELP |\n| --- | --- | --- |\n");
    for f in Family::ALL {
        let by: Vec<String> = SPECS
            .iter()
            .filter(|s| s.families.contains(f))
            .map(|s| format!("`{}`", s.api.label()))
            .collect();
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            f.name(),
            by.join(", "),
            f.help().replace('|', "\\|")
        ));
    }
    out
}

/// The mixin's list of the APIs whose yesterday is released each morning.
fn mixin_apis() -> String {
    let daily: Vec<String> = SPECS
        .iter()
        .filter(|s| s.released_daily())
        .map(|s| format!("    '{}',", s.api.label()))
        .collect();
    format!(
        "{{\n  // The APIs whose yesterday WeChat releases each morning\n  // (`ApiSpec::released_daily`): WechatDataNotReleased judges these.\n  releasedDaily: [\n{}\n  ],\n}}\n",
        daily.join("\n")
    )
}

/// One test for both tables: they share a file.
#[test]
fn the_docs_tables_are_the_catalogue_and_every_family() {
    check_section(
        "docs/metrics.md",
        "<!-- BEGIN GENERATED: apis -->",
        "<!-- END GENERATED: apis -->",
        &api_table(),
    );
    check_section(
        "docs/metrics.md",
        "<!-- BEGIN GENERATED: families -->",
        "<!-- END GENERATED: families -->",
        &family_table(),
    );
}

#[test]
fn the_mixin_judges_the_apis_released_daily() {
    check_section(
        "mixin/apis.libsonnet",
        "// BEGIN GENERATED from the API catalogue (tests/it/derived.rs)",
        "// END GENERATED",
        &mixin_apis(),
    );
    // The alert reads that list, not a copy of it.
    let alerts = std::fs::read_to_string(repo("mixin/alerts/alerts.libsonnet")).unwrap();
    assert!(
        alerts.contains("apis.releasedDaily"),
        "WechatDataNotReleased must use mixin/apis.libsonnet"
    );
    let rendered =
        std::fs::read_to_string(repo("deploy/prometheus/rules/wechat-alerts.yml")).unwrap();
    for s in SPECS.iter().filter(|s| s.released_daily()) {
        assert!(
            rendered.contains(s.api.label()),
            "the rendered alert lacks {}",
            s.api.label()
        );
    }
}
