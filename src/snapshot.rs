//! The published snapshot: the whole `/metrics` body, rendered once per
//! poll (never per scrape), its gzip copy, and the per-app status behind
//! the landing page. Swapped in atomically; a scrape clones two `Bytes`
//! handles and holds no lock while writing.

use crate::families::{render_labels, write_value, Family, Sample, STATE_FAMILIES};
use crate::model::AppRef;
use crate::self_metrics::SelfMetrics;
use crate::wechat::api::{Api, AppKind};
use arc_swap::ArcSwap;
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use std::fmt::Write;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One app's line on the landing page.
#[derive(Clone, Debug)]
pub struct AppStatus {
    pub name: String,
    pub kind: AppKind,
    pub last_success: Option<DateTime<Utc>>,
    pub data_date: Option<NaiveDate>,
    pub last_error: Option<String>,
    pub paused_until: Option<DateTime<Utc>>,
    pub apis_ok: usize,
    pub apis_total: usize,
}

#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub body: Bytes,
    pub gzip: Bytes,
    pub apps: Vec<AppStatus>,
    pub ready: bool,
    pub built_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct SnapshotStore {
    current: ArcSwap<Snapshot>,
    round_duration_bits: AtomicU64,
}

impl SnapshotStore {
    pub fn load(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    pub fn swap(&self, s: Snapshot) {
        self.current.store(Arc::new(s));
    }

    pub fn set_round_duration(&self, secs: f64) {
        self.round_duration_bits
            .store(secs.to_bits(), Ordering::Relaxed);
    }

    pub fn round_duration(&self) -> f64 {
        f64::from_bits(self.round_duration_bits.load(Ordering::Relaxed))
    }
}

/// Renders the full exposition from the apps' current state.
pub fn build(
    apps: &[AppRef<'_>],
    metrics: &SelfMetrics,
    round_secs: f64,
    extra: &[(String, String)],
    now: DateTime<Utc>,
) -> Snapshot {
    // Each family's sample lines are written straight into its own buffer
    // (not collected as cloned `Sample`s first): one copy of every label
    // set per render instead of two, which matters at thousands of apps.
    let mut by_family: Vec<String> = vec![String::new(); Family::ALL.len()];
    let mut state_lines: [String; STATE_FAMILIES.len()] = Default::default();
    let mut statuses = Vec::with_capacity(apps.len());
    let mut ready = true;
    for app in apps {
        let st = crate::model::lock(app.state);
        ready &= st.polled_once;
        let name = app.name;
        let mut status = AppStatus {
            name: name.to_string(),
            kind: app.kind,
            last_success: None,
            data_date: None,
            last_error: st.last_error.clone(),
            paused_until: st.paused_until,
            apis_ok: 0,
            apis_total: st.apis.len(),
        };
        for (api, s) in &st.apis {
            let labels = render_labels(&[("app", name), ("api", api.label())]);
            let mut data_date: Option<NaiveDate> = None;
            for f in s.published() {
                let d = f.target.data_period.begin;
                data_date = Some(data_date.map_or(d, |cur| cur.min(d)));
                for sample in &f.samples {
                    sample_line(&mut by_family[sample.family as usize], sample);
                }
            }
            if let Some(d) = data_date {
                line(
                    &mut state_lines[0],
                    STATE_FAMILIES[0].0,
                    &labels,
                    crate::dates::beijing_midnight(d).timestamp() as f64,
                );
                if *api != Api::UserPortrait {
                    status.data_date = Some(status.data_date.map_or(d, |c: NaiveDate| c.max(d)));
                }
            }
            if let Some(t) = s.last_success {
                line(
                    &mut state_lines[1],
                    STATE_FAMILIES[1].0,
                    &labels,
                    t.timestamp() as f64,
                );
                status.last_success = Some(status.last_success.map_or(t, |c| c.max(t)));
            }
            if let Some(ok) = s.poll_success {
                line(
                    &mut state_lines[2],
                    STATE_FAMILIES[2].0,
                    &labels,
                    if ok { 1.0 } else { 0.0 },
                );
                status.apis_ok += ok as usize;
            }
            line(
                &mut state_lines[3],
                STATE_FAMILIES[3].0,
                &labels,
                if s.data_ready { 1.0 } else { 0.0 },
            );
            line(
                &mut state_lines[4],
                STATE_FAMILIES[4].0,
                &labels,
                if s.disabled.is_some() { 0.0 } else { 1.0 },
            );
            line(
                &mut state_lines[6],
                STATE_FAMILIES[6].0,
                &labels,
                if s.provisional.is_empty() { 1.0 } else { 0.0 },
            );
            if let Some(b) = s.backoff.as_ref().filter(|b| b.until > now) {
                line(
                    &mut state_lines[5],
                    STATE_FAMILIES[5].0,
                    &labels,
                    b.until.timestamp() as f64,
                );
            }
        }
        let is_paused = st.paused_until.is_some_and(|u| u > now) as u8;
        line(
            &mut state_lines[7],
            STATE_FAMILIES[7].0,
            &render_labels(&[("app", name)]),
            is_paused as f64,
        );
        statuses.push(status);
    }
    let mut out = String::with_capacity(
        by_family.iter().map(String::len).sum::<usize>()
            + state_lines.iter().map(String::len).sum::<usize>()
            + 16 * 1024,
    );
    for (fam, lines) in Family::ALL.iter().zip(&by_family) {
        if lines.is_empty() {
            continue;
        }
        header(&mut out, fam.name(), fam.help(), "gauge");
        out.push_str(lines);
    }
    for ((name, help), lines) in STATE_FAMILIES.iter().zip(&state_lines) {
        if lines.is_empty() {
            continue;
        }
        header(&mut out, name, help, "gauge");
        out.push_str(lines);
    }
    let extra_labels: Vec<(&str, &str)> = extra
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    header(
        &mut out,
        "wechat_exporter_apps",
        "Apps configured in this exporter.",
        "gauge",
    );
    let _ = writeln!(
        out,
        "wechat_exporter_apps{{{}}} {}",
        render_labels(&extra_labels),
        apps.len()
    );
    header(
        &mut out,
        "wechat_exporter_poll_duration_seconds",
        "Duration of the last complete poll round.",
        "gauge",
    );
    let _ = write!(
        out,
        "wechat_exporter_poll_duration_seconds{{{}}} ",
        render_labels(&extra_labels)
    );
    write_value(&mut out, round_secs);
    out.push('\n');
    let mut body = out.into_bytes();
    metrics.render_into(&mut body);
    let gzip = gzip(&body);
    Snapshot {
        body: Bytes::from(body),
        gzip: Bytes::from(gzip),
        apps: statuses,
        ready,
        built_at: Some(Utc::now()),
    }
}

/// Appends `name{labels} value\n`.
fn sample_line(out: &mut String, s: &Sample) {
    out.push_str(s.family.name());
    out.push('{');
    out.push_str(&s.labels);
    out.push_str("} ");
    write_value(out, s.value);
    out.push('\n');
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Appends one sample line, `name{labels} value`.
fn line(out: &mut String, name: &str, labels: &str, v: f64) {
    out.push_str(name);
    out.push('{');
    out.push_str(labels);
    out.push_str("} ");
    write_value(out, v);
    out.push('\n');
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 6),
        flate2::Compression::fast(),
    );
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(body);
    enc.finish().unwrap_or_default()
}
