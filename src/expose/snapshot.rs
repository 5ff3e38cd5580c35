//! The published snapshot: the whole `/metrics` body and its gzip copy,
//! built once per publish (never per scrape), and the per-app status
//! behind the landing page. Swapped in atomically; a scrape clones one
//! `Arc` and holds no lock while writing.
//!
//! The body is a list of shared segments, not one buffer: each answer's
//! lines were rendered once when it arrived (`blocks.rs`), and the body
//! refers to those same bytes. A publish only re-renders the gauges of
//! poller state and the self-metrics. The gzip copy is one gzip member
//! (RFC 1952) whose deflate stream is a series of pieces, one per family
//! and group of `GROUP_APPS` apps, each compressed on its own and ended by
//! a sync flush (so pieces concatenate); a piece is recompressed only when
//! a block of its group changed, and the CRC-32 of the body is combined
//! from the pieces' CRCs. One member, not one per piece: some clients
//! (curl 7.x) decode only the first member.

use crate::api::{Api, AppKind};
use crate::families::{render_labels, write_value, Family, StateFamily};
use crate::self_metrics::SelfMetrics;
use crate::state::AppRef;
use arc_swap::ArcSwap;
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;
use std::fmt::Write;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Apps per gzip member: large enough for the compression ratio of one
/// stream (a member of one small family still holds this many apps' lines),
/// small enough that one app's new data recompresses little.
const GROUP_APPS: usize = 16;

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

/// Bytes made of shared segments, in order; cloning shares them.
#[derive(Clone, Debug, Default)]
pub struct Segments {
    parts: Arc<[Bytes]>,
    len: usize,
}

/// Segments below this are copied together (headers, one-line families,
/// small groups): a few percent of a large body, and far fewer frames
/// and system calls per scrape.
const SMALL: usize = 4 * 1024;
const MERGED: usize = 64 * 1024;

impl Segments {
    fn new(segments: Vec<Bytes>) -> Self {
        fn flush(run: &mut Vec<u8>, parts: &mut Vec<Bytes>) {
            if !run.is_empty() {
                let mut v = std::mem::take(run);
                v.shrink_to_fit();
                parts.push(Bytes::from(v));
            }
        }
        let mut parts: Vec<Bytes> = Vec::with_capacity(segments.len() / 2 + 1);
        let mut run: Vec<u8> = Vec::new();
        for s in segments.into_iter().filter(|b| !b.is_empty()) {
            if s.len() < SMALL {
                run.extend_from_slice(&s);
                if run.len() >= MERGED {
                    flush(&mut run, &mut parts);
                }
            } else {
                flush(&mut run, &mut parts);
                parts.push(s);
            }
        }
        flush(&mut run, &mut parts);
        let len = parts.iter().map(Bytes::len).sum();
        Self {
            parts: parts.into(),
            len,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn parts(&self) -> &[Bytes] {
        &self.parts
    }

    /// One contiguous copy (tests, tools; scrapes never need it).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len);
        for p in self.parts.iter() {
            v.extend_from_slice(p);
        }
        v
    }
}

#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub body: Segments,
    /// `body` gzipped (one member, built from cached pieces).
    pub gzip: Segments,
    /// `gzip` without its trailer, and the CRC-32 and length of `body`, so
    /// that a scrape can append to the member (`gzip_with`).
    gzip_open: Segments,
    gzip_sum: (u32, u64),
    pub apps: Vec<AppStatus>,
    pub ready: bool,
    pub built_at: Option<DateTime<Utc>>,
}

/// Compressed members kept between publishes, by (family or state
/// family, group of apps).
#[derive(Default)]
pub struct GzipCache {
    members: HashMap<(usize, usize), Member>,
}

struct Member {
    /// What was compressed: block ids for data, the text for state gauges.
    key: MemberKey,
    piece: Piece,
}

/// Raw deflate of some body bytes, ending byte-aligned and not final.
#[derive(Clone)]
struct Piece {
    deflate: Bytes,
    crc: crc32fast::Hasher,
    /// Body bytes it holds.
    len: usize,
}

impl Piece {
    fn of(parts: &[Bytes]) -> Piece {
        let mut crc = crc32fast::Hasher::new();
        let len: usize = parts.iter().map(Bytes::len).sum();
        let mut enc = flate2::write::DeflateEncoder::new(
            Vec::with_capacity(len / 6 + 64),
            flate2::Compression::fast(),
        );
        for p in parts {
            crc.update(p);
            // Writing into a Vec cannot fail.
            let _ = enc.write_all(p);
        }
        // A sync flush ends the piece on a byte boundary without a final
        // block; the encoder is then dropped, not finished.
        let _ = enc.flush();
        let mut out = std::mem::take(enc.get_mut());
        // Pieces live as long as their group is unchanged: no spare capacity.
        out.shrink_to_fit();
        Piece {
            deflate: Bytes::from(out),
            crc,
            len,
        }
    }
}

/// gzip header: deflate, no name, no mtime, unknown OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// The open gzip member of `pieces`: header and pieces, with the CRC-32
/// and length of the body they hold; `gzip_tail` closes it.
fn gzip_open(pieces: Vec<Piece>) -> (Vec<Bytes>, u32, u64) {
    let mut crc = crc32fast::Hasher::new();
    let mut len: u64 = 0;
    let mut out = Vec::with_capacity(pieces.len() + 2);
    out.push(Bytes::from_static(&GZIP_HEADER));
    for p in pieces {
        crc.combine(&p.crc);
        len += p.len as u64;
        out.push(p.deflate);
    }
    (out, crc.finalize(), len)
}

/// `03 00` (a final, empty block with fixed Huffman codes), then the
/// CRC-32 and length of the body.
fn gzip_tail(crc: u32, len: u64) -> Bytes {
    let mut tail = vec![0x03, 0x00];
    tail.extend_from_slice(&crc.to_le_bytes());
    tail.extend_from_slice(&(len as u32).to_le_bytes());
    Bytes::from(tail)
}

impl Snapshot {
    /// The gzip body with `extra` (the `process_*` lines read at scrape
    /// time) appended inside the same member: the snapshot's cached pieces
    /// unchanged, one more piece and a new trailer. One member, because
    /// some clients (curl 7.x) decode only the first.
    pub fn gzip_with(&self, extra: &[u8]) -> (Segments, Vec<Bytes>) {
        if extra.is_empty() {
            return (self.gzip.clone(), Vec::new());
        }
        let piece = Piece::of(&[Bytes::copy_from_slice(extra)]);
        let (crc, len) = self.gzip_sum;
        let mut sum = crc32fast::Hasher::new_with_initial_len(crc, len);
        sum.combine(&piece.crc);
        let len = len + piece.len as u64;
        let tail = gzip_tail(sum.finalize(), len);
        (self.gzip_open.clone(), vec![piece.deflate, tail])
    }
}

#[derive(PartialEq)]
enum MemberKey {
    Ids(Vec<u64>),
    Text(Bytes),
}

impl GzipCache {
    fn piece(&mut self, slot: (usize, usize), key: MemberKey, parts: &[Bytes]) -> Piece {
        if let Some(m) = self.members.get(&slot).filter(|m| m.key == key) {
            return m.piece.clone();
        }
        let piece = Piece::of(parts);
        self.members.insert(
            slot,
            Member {
                key,
                piece: piece.clone(),
            },
        );
        piece
    }
}

#[derive(Default)]
pub struct SnapshotStore {
    current: ArcSwap<Snapshot>,
    round_duration_bits: AtomicU64,
    gzip_cache: Mutex<GzipCache>,
    last_build_us: AtomicU64,
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

    /// Builds a snapshot from the apps' state, reusing the compressed
    /// members of groups that did not change, and swaps it in. Publishes
    /// run one at a time (the cache's lock).
    pub fn publish(
        &self,
        apps: &[AppRef<'_>],
        metrics: &SelfMetrics,
        extra: &[(String, String)],
        now: DateTime<Utc>,
    ) {
        let mut cache = self.gzip_cache.lock().unwrap_or_else(|e| e.into_inner());
        let started = std::time::Instant::now();
        let snap = build(apps, metrics, self.round_duration(), extra, now, &mut cache);
        self.swap(snap);
        self.last_build_us.store(
            started.elapsed().as_micros().min(u64::MAX as u128) as u64,
            Ordering::Relaxed,
        );
    }

    /// How long the last `publish` took to build its snapshot.
    pub fn last_build(&self) -> std::time::Duration {
        std::time::Duration::from_micros(self.last_build_us.load(Ordering::Relaxed))
    }
}

/// One family's body, in app order: `(app index, block id, lines)`.
type Column = Vec<(usize, u64, Bytes)>;

/// What the apps' state gives a snapshot: each data family's blocks, each
/// state gauge's lines per group of apps, the landing page's statuses.
struct Collected {
    by_family: Vec<Column>,
    /// Per state family (`StateFamily` order), per group of apps.
    state_lines: Vec<Vec<String>>,
    statuses: Vec<AppStatus>,
    ready: bool,
}

/// Builds the full exposition from the apps' current state.
pub fn build(
    apps: &[AppRef<'_>],
    metrics: &SelfMetrics,
    round_secs: f64,
    extra: &[(String, String)],
    now: DateTime<Utc>,
    cache: &mut GzipCache,
) -> Snapshot {
    let c = collect(apps, now);
    let mut body: Vec<Bytes> = Vec::new();
    let mut gz: Vec<Piece> = Vec::new();
    let mut slots_used = std::collections::HashSet::new();
    let mut out = Out {
        body: &mut body,
        gz: &mut gz,
        slots_used: &mut slots_used,
        cache,
    };
    out.data_families(&c.by_family);
    out.state_families(c.state_lines);
    // Groups of apps that are gone would otherwise be kept forever.
    cache.members.retain(|slot, _| slots_used.contains(slot));
    let tail = Bytes::from(exporter_tail(apps.len(), round_secs, extra, metrics));
    gz.push(Piece::of(std::slice::from_ref(&tail)));
    body.push(tail);

    let (open, crc, len) = gzip_open(gz);
    let closed: Vec<Bytes> = open.iter().cloned().chain([gzip_tail(crc, len)]).collect();
    Snapshot {
        body: Segments::new(body),
        gzip: Segments::new(closed),
        gzip_open: Segments::new(open),
        gzip_sum: (crc, len),
        apps: c.statuses,
        ready: c.ready,
        built_at: Some(Utc::now()),
    }
}

/// Reads every app's state once, under its lock.
fn collect(apps: &[AppRef<'_>], now: DateTime<Utc>) -> Collected {
    let groups = apps.len().div_ceil(GROUP_APPS);
    let mut c = Collected {
        by_family: vec![Vec::new(); Family::ALL.len()],
        state_lines: vec![vec![String::new(); groups]; StateFamily::ALL.len()],
        statuses: Vec::with_capacity(apps.len()),
        ready: true,
    };
    for (i, app) in apps.iter().enumerate() {
        let g = i / GROUP_APPS;
        let st = crate::state::lock(app.state);
        c.ready &= st.polled_once;
        let mut status = AppStatus {
            name: app.name.to_string(),
            kind: app.kind,
            last_success: None,
            data_date: None,
            last_error: st.last_error.clone(),
            paused_until: st.paused_until,
            apis_ok: 0,
            apis_total: st.apis.len(),
        };
        for (api, s) in &st.apis {
            collect_api(&mut c, (i, g), app.name, *api, s, now, &mut status);
        }
        let is_paused = st.paused_until.is_some_and(|u| u > now) as u8;
        let k = StateFamily::AppPaused;
        let labels = render_labels(&[("app", app.name)]);
        line(
            &mut c.state_lines[k as usize][g],
            k.name(),
            &labels,
            is_paused as f64,
        );
        c.statuses.push(status);
    }
    c
}

/// One API of one app: its published blocks and its state gauges.
fn collect_api(
    c: &mut Collected,
    (i, g): (usize, usize),
    app: &str,
    api: Api,
    s: &crate::state::ApiState,
    now: DateTime<Utc>,
    status: &mut AppStatus,
) {
    let labels = render_labels(&[("app", app), ("api", api.label())]);
    let mut data_date: Option<NaiveDate> = None;
    for f in s.published() {
        let d = f.target.data_period.begin;
        data_date = Some(data_date.map_or(d, |cur| cur.min(d)));
        for (fam, lines) in f.samples.parts() {
            c.by_family[*fam as usize].push((i, f.samples.id(), lines.clone()));
        }
    }
    let mut state =
        |k: StateFamily, v: f64| line(&mut c.state_lines[k as usize][g], k.name(), &labels, v);
    if let Some(d) = data_date {
        state(
            StateFamily::DataDate,
            crate::dates::beijing_midnight(d).timestamp() as f64,
        );
        if api != Api::UserPortrait {
            status.data_date = Some(status.data_date.map_or(d, |c: NaiveDate| c.max(d)));
        }
        // Whether what is published is final: said only of something
        // published (an API that never answered has nothing to be final).
        state(
            StateFamily::DataFinal,
            if s.provisional.is_empty() { 1.0 } else { 0.0 },
        );
    }
    if let Some(t) = s.last_success {
        state(StateFamily::LastSuccess, t.timestamp() as f64);
        status.last_success = Some(status.last_success.map_or(t, |c| c.max(t)));
    }
    if let Some(ok) = s.poll_success {
        state(StateFamily::PollSuccess, if ok { 1.0 } else { 0.0 });
        status.apis_ok += ok as usize;
    }
    state(StateFamily::DataReady, if s.data_ready { 1.0 } else { 0.0 });
    state(
        StateFamily::ApiEnabled,
        if s.disabled.is_some() { 0.0 } else { 1.0 },
    );
    if let Some(b) = s.backoff.as_ref().filter(|b| b.until > now) {
        state(StateFamily::BackoffUntil, b.until.timestamp() as f64);
    }
}

/// Where a snapshot's pieces go: the plain body, the gzip pieces, and the
/// gzip cache slots in use.
struct Out<'a> {
    body: &'a mut Vec<Bytes>,
    gz: &'a mut Vec<Piece>,
    slots_used: &'a mut std::collections::HashSet<(usize, usize)>,
    cache: &'a mut GzipCache,
}

impl Out<'_> {
    fn header(&mut self, name: &str, help: &str) {
        let head = Bytes::from(header(name, help));
        self.gz.push(Piece::of(std::slice::from_ref(&head)));
        self.body.push(head);
    }

    /// The data families in `/metrics` order, each app group's blocks one
    /// cached gzip piece.
    fn data_families(&mut self, by_family: &[Column]) {
        for (fi, (fam, column)) in Family::ALL.iter().zip(by_family).enumerate() {
            if column.is_empty() {
                continue;
            }
            self.header(fam.name(), fam.help());
            for group in column.chunk_by(|a, b| a.0 / GROUP_APPS == b.0 / GROUP_APPS) {
                let parts: Vec<Bytes> = group.iter().map(|(_, _, b)| b.clone()).collect();
                let ids = group.iter().map(|(_, id, _)| *id).collect();
                let slot = (fi, group[0].0 / GROUP_APPS);
                self.slots_used.insert(slot);
                self.gz
                    .push(self.cache.piece(slot, MemberKey::Ids(ids), &parts));
                self.body.extend(parts);
            }
        }
    }

    /// The state gauges, rendered per publish, per group of apps.
    fn state_families(&mut self, state_lines: Vec<Vec<String>>) {
        for (k, (fam, per_group)) in StateFamily::ALL.iter().zip(state_lines).enumerate() {
            if per_group.iter().all(String::is_empty) {
                continue;
            }
            self.header(fam.name(), fam.help());
            for (g, text) in per_group.into_iter().enumerate() {
                if text.is_empty() {
                    continue;
                }
                let text = Bytes::from(text);
                let slot = (Family::ALL.len() + k, g);
                self.slots_used.insert(slot);
                self.gz.push(self.cache.piece(
                    slot,
                    MemberKey::Text(text.clone()),
                    std::slice::from_ref(&text),
                ));
                self.body.push(text);
            }
        }
    }
}

/// The exporter-wide gauges and the accumulating self-metrics.
fn exporter_tail(
    apps: usize,
    round_secs: f64,
    extra: &[(String, String)],
    metrics: &SelfMetrics,
) -> Vec<u8> {
    let mut tail = String::new();
    let extra_labels: Vec<(&str, &str)> = extra
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    tail.push_str(&header(
        "wechat_exporter_apps",
        "Apps configured in this exporter.",
    ));
    let _ = writeln!(
        tail,
        "wechat_exporter_apps{{{}}} {}",
        render_labels(&extra_labels),
        apps
    );
    tail.push_str(&header(
        "wechat_exporter_poll_duration_seconds",
        "Duration of the last complete poll round.",
    ));
    let _ = write!(
        tail,
        "wechat_exporter_poll_duration_seconds{{{}}} ",
        render_labels(&extra_labels)
    );
    write_value(&mut tail, round_secs);
    tail.push('\n');
    let mut tail = tail.into_bytes();
    metrics.render_into(&mut tail);
    tail
}

fn header(name: &str, help: &str) -> String {
    format!("# HELP {name} {help}\n# TYPE {name} gauge\n")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::Target;
    use crate::families::Sample;
    use crate::state::{ApiState, AppState, Fetched};
    use std::io::Read;

    fn state(app: &str, visits: f64) -> Mutex<AppState> {
        let day = chrono::NaiveDate::from_ymd_opt(2025, 1, 14).unwrap();
        let r = crate::dates::DateRange::day(day);
        let target = Target {
            slot: 0,
            range: r,
            data_period: r,
        };
        let mut api = ApiState::default();
        api.results.push(Fetched {
            target,
            samples: vec![
                Sample::new(
                    Family::MpVisits,
                    &[("app", app), ("period", "daily")],
                    visits,
                ),
                Sample::new(
                    Family::MpSessions,
                    &[("app", app), ("period", "daily")],
                    7.0,
                ),
            ]
            .into(),
        });
        let mut st = AppState::default();
        st.apis.insert(Api::DailyVisitTrend, api);
        st.polled_once = true;
        Mutex::new(st)
    }

    fn gunzip(s: &Segments) -> Vec<u8> {
        let mut out = Vec::new();
        // One member: a decoder that stops after the first sees it all.
        flate2::read::GzDecoder::new(&s.to_vec()[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn families_are_contiguous_gzip_decodes_to_the_body_and_unchanged_groups_are_reused() {
        let names: Vec<String> = (0..40).map(|i| format!("app-{i}")).collect();
        let mut states: Vec<Mutex<AppState>> = names.iter().map(|n| state(n, 100.0)).collect();
        let now = Utc::now();
        let metrics = SelfMetrics::new();
        let mut cache = GzipCache::default();
        let build_now = |states: &[Mutex<AppState>], cache: &mut GzipCache| {
            let r: Vec<AppRef<'_>> = states
                .iter()
                .zip(&names)
                .map(|(s, n)| AppRef {
                    name: n,
                    kind: AppKind::Miniprogram,
                    state: s,
                })
                .collect();
            build(&r, &metrics, 1.5, &[], now, cache)
        };
        let a = build_now(&states, &mut cache);
        let text = String::from_utf8(a.body.to_vec()).unwrap();
        assert_eq!(gunzip(&a.gzip), a.body.to_vec());
        // Each family once, its samples together after its header.
        for fam in ["wechat_miniprogram_sessions", "wechat_miniprogram_visits"] {
            assert_eq!(text.matches(&format!("# TYPE {fam} gauge\n")).count(), 1);
            let lines: Vec<usize> = text
                .lines()
                .enumerate()
                .filter(|(_, l)| l.starts_with(&format!("{fam}{{")))
                .map(|(i, _)| i)
                .collect();
            assert_eq!(lines.len(), 40);
            assert_eq!(lines[39] - lines[0], 39, "{fam} is contiguous");
        }
        assert!(text.contains("wechat_miniprogram_visits{app=\"app-39\",period=\"daily\"} 100\n"));

        // App 17 (second group) changes: only its group's pieces are
        // compressed again.
        let pieces = |c: &GzipCache| -> HashMap<(usize, usize), usize> {
            c.members
                .iter()
                .map(|(k, m)| (*k, m.piece.deflate.as_ptr() as usize))
                .collect()
        };
        let before = pieces(&cache);
        states[17] = state("app-17", 250.0);
        let b = build_now(&states, &mut cache);
        assert_eq!(gunzip(&b.gzip), b.body.to_vec());
        let b_text = String::from_utf8(b.body.to_vec()).unwrap();
        assert!(b_text.contains("wechat_miniprogram_visits{app=\"app-17\",period=\"daily\"} 250\n"));
        let after = pieces(&cache);
        let (visits, sessions) = (Family::MpVisits as usize, Family::MpSessions as usize);
        for slot in [(visits, 0), (visits, 2), (sessions, 0), (sessions, 2)] {
            assert_eq!(before[&slot], after[&slot], "{slot:?} reused");
        }
        for slot in [(visits, 1), (sessions, 1)] {
            assert_ne!(before[&slot], after[&slot], "{slot:?} recompressed");
        }
        // The state gauges did not change: their pieces are reused too.
        let state_slots = before.keys().filter(|k| k.0 >= Family::ALL.len()).count();
        assert!(state_slots >= 3);
        for k in before.keys().filter(|k| k.0 >= Family::ALL.len()) {
            assert_eq!(before[k], after[k], "state {k:?} reused");
        }
    }
}
