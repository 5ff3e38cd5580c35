//! The output: every recorded sample repeated at `--step` over the hours
//! live polling would have shown it, as OpenMetrics with timestamps (one
//! file, or one per `--split-days`), written through a `.tmp` file.

use super::args::Options;
use super::error::{io_err, BackfillError};
use super::progress::Record;
use crate::dates::{beijing_midnight, DateRange, Period};
use crate::families::{render_labels, write_value, Family};
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Prometheus keeps the newest ~2–3 hours in its head block; blocks that
/// overlap it are refused, so the file stops this long before now.
pub const HEAD_MARGIN_HOURS: i64 = 3;

/// Writes the records as the output file(s), stopping
/// [`HEAD_MARGIN_HOURS`] before `now`: the files written with their sizes,
/// and the sample lines.
pub(super) fn write(
    records: &[Record],
    opts: &Options,
    now: DateTime<Utc>,
) -> Result<(Vec<(PathBuf, u64)>, u64), BackfillError> {
    let clamp = (now - Duration::hours(HEAD_MARGIN_HOURS)).timestamp();
    let series = Series::build(records);
    write_output(&series, opts, clamp)
}

/// When a value of `data_period` is shown: from Beijing midnight after
/// the period for one period of its kind (day, week, month).
pub fn window(data_period: DateRange, period: Period) -> (i64, i64) {
    let next = data_period.shift(1, period);
    (
        beijing_midnight(data_period.end + Duration::days(1)).timestamp(),
        beijing_midnight(next.end + Duration::days(1)).timestamp(),
    )
}

/// Every series of the output with its values per window, ordered as
/// written: families in `/metrics` order, then the data date.
struct Series {
    /// Per family: rendered labels → (window start, window end, value).
    data: BTreeMap<Family, Windows>,
    /// `wechat_data_date_timestamp_seconds{app,api}` windows.
    data_date: BTreeMap<String, BTreeSet<(i64, i64, i64)>>,
}

/// A series' values: (window start, window end, value), by rendered labels.
type Windows = BTreeMap<String, Vec<(i64, i64, f64)>>;

const DATA_DATE: &str = "wechat_data_date_timestamp_seconds";
const DATA_DATE_HELP: &str = "Beijing midnight at the start of the day, week or month that the published values of this API belong to.";

impl Series {
    fn build(records: &[Record]) -> Series {
        let mut data: BTreeMap<Family, Windows> = BTreeMap::new();
        let mut data_date: BTreeMap<String, BTreeSet<(i64, i64, i64)>> = BTreeMap::new();
        for r in records {
            let period = r.unit.api.period();
            let dd_labels = render_labels(&[("app", &r.unit.app), ("api", r.unit.api.label())]);
            for f in &r.results {
                let (start, end) = window(f.target.data_period, period);
                if f.samples.is_empty() {
                    continue;
                }
                data_date.entry(dd_labels.clone()).or_default().insert((
                    start,
                    end,
                    beijing_midnight(f.target.data_period.begin).timestamp(),
                ));
                for s in &f.samples {
                    data.entry(s.family)
                        .or_default()
                        .entry(s.labels.clone())
                        .or_default()
                        .push((start, end, s.value));
                }
            }
        }
        for fam in data.values_mut() {
            for windows in fam.values_mut() {
                windows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
            }
        }
        Series { data, data_date }
    }

    /// The first and last instant any value is shown.
    fn span(&self) -> Option<(i64, i64)> {
        let all = self
            .data
            .values()
            .flat_map(|f| f.values().flatten().map(|w| (w.0, w.1)))
            .chain(self.data_date.values().flatten().map(|w| (w.0, w.1)));
        all.fold(None, |acc, (s, e)| match acc {
            None => Some((s, e)),
            Some((a, b)) => Some((a.min(s), b.max(e))),
        })
    }
}

/// Writes one series' windows at `step`, times in `[lo, hi)`. Windows are
/// sorted; `last` keeps time strictly increasing should two overlap.
fn write_series(
    out: &mut impl Write,
    prefix: &str,
    windows: impl Iterator<Item = (i64, i64, f64)>,
    step: i64,
    lo: i64,
    hi: i64,
) -> std::io::Result<u64> {
    let mut lines = 0;
    let mut last = i64::MIN;
    let mut value = String::new();
    for (start, end, v) in windows {
        let end = end.min(hi);
        if end <= lo || start >= end {
            continue;
        }
        value.clear();
        write_value(&mut value, v);
        // Keep the grid anchored at the window start even when `lo` cuts it.
        let mut t = if start >= lo {
            start
        } else {
            start + (lo - start + step - 1) / step * step
        };
        while t < end {
            if t > last {
                writeln!(out, "{prefix}{value} {t}")?;
                last = t;
                lines += 1;
            }
            t += step;
        }
    }
    Ok(lines)
}

/// `name{target labels,series labels} `: the target's labels first, as a
/// scrape attaches them, so each line names the series the live scrape makes.
fn series_prefix(name: &str, target: &str, labels: &str) -> String {
    match (target.is_empty(), labels.is_empty()) {
        (true, _) => format!("{name}{{{labels}}} "),
        (false, true) => format!("{name}{{{target}}} "),
        (false, false) => format!("{name}{{{target},{labels}}} "),
    }
}

/// Renders every family, contiguous, with `# TYPE` once, ending in `# EOF`.
fn render_file(
    path: &Path,
    series: &Series,
    target: &str,
    step: i64,
    lo: i64,
    hi: i64,
) -> Result<u64, BackfillError> {
    let tmp = {
        let mut s = path.as_os_str().to_owned();
        s.push(".tmp");
        PathBuf::from(s)
    };
    let file = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut lines = 0;
    let mut write = |out: &mut std::io::BufWriter<std::fs::File>| -> std::io::Result<()> {
        for (fam, by_labels) in &series.data {
            writeln!(out, "# HELP {} {}", fam.name(), fam.help())?;
            writeln!(out, "# TYPE {} gauge", fam.name())?;
            for (labels, windows) in by_labels {
                let prefix = series_prefix(fam.name(), target, labels);
                lines += write_series(out, &prefix, windows.iter().copied(), step, lo, hi)?;
            }
        }
        if !series.data_date.is_empty() {
            writeln!(out, "# HELP {DATA_DATE} {DATA_DATE_HELP}")?;
            writeln!(out, "# TYPE {DATA_DATE} gauge")?;
            for (labels, windows) in &series.data_date {
                let prefix = series_prefix(DATA_DATE, target, labels);
                let w = windows.iter().map(|&(s, e, v)| (s, e, v as f64));
                lines += write_series(out, &prefix, w, step, lo, hi)?;
            }
        }
        writeln!(out, "# EOF")?;
        out.flush()
    };
    write(&mut out).map_err(|e| io_err(&tmp, e))?;
    drop(out);
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))?;
    Ok(lines)
}

/// Writes the output file, or one part per `split_days` days.
fn write_output(
    series: &Series,
    opts: &Options,
    clamp: i64,
) -> Result<(Vec<(PathBuf, u64)>, u64), BackfillError> {
    let step = opts.step as i64;
    let pairs: Vec<(&str, &str)> = opts
        .target_labels
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let target = render_labels(&pairs);
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    if opts.split_days == 0 {
        let lines = render_file(&opts.output, series, &target, step, i64::MIN, clamp)?;
        return Ok((vec![(opts.output.clone(), size(&opts.output))], lines));
    }
    // Parts start at Beijing midnights (16:00 UTC, a multiple of 2 h), so
    // the 2-hour blocks promtool cuts never straddle two parts.
    let mut files = Vec::new();
    let mut lines = 0;
    let Some((first, last)) = series.span() else {
        return Ok((files, 0));
    };
    let last = last.min(clamp);
    let chunk = opts.split_days as i64 * 86_400;
    let mut lo = first;
    while lo < last {
        let hi = (lo + chunk).min(last);
        let day = crate::dates::beijing_date(DateTime::from_timestamp(lo, 0).unwrap_or_default());
        let mut name = opts.output.as_os_str().to_owned();
        name.push(format!(".part-{day}"));
        let path = PathBuf::from(name);
        lines += render_file(&path, series, &target, step, lo, hi)?;
        files.push((path.clone(), size(&path)));
        lo += chunk;
    }
    Ok((files, lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> chrono::NaiveDate {
        crate::dates::parse_dashed(s).unwrap()
    }

    #[test]
    fn windows_follow_the_live_timeline() {
        let (s, e) = window(DateRange::day(d("2025-01-01")), Period::Daily);
        assert_eq!(s, beijing_midnight(d("2025-01-02")).timestamp());
        assert_eq!(e - s, 86_400);
        let (s, e) = window(DateRange::week_of(d("2025-01-01")), Period::Weekly);
        assert_eq!(s, beijing_midnight(d("2025-01-06")).timestamp());
        assert_eq!(e, beijing_midnight(d("2025-01-13")).timestamp());
        let (s, e) = window(DateRange::month_of(d("2025-01-10")), Period::Monthly);
        assert_eq!(s, beijing_midnight(d("2025-02-01")).timestamp());
        assert_eq!(e, beijing_midnight(d("2025-03-01")).timestamp());
    }

    #[test]
    fn series_points_are_strictly_increasing_and_clamped() {
        let mut out = Vec::new();
        let n = write_series(
            &mut out,
            "m ",
            [(0, 600, 1.0), (300, 900, 2.0), (900, 1200, 3.0)].into_iter(),
            120,
            0,
            1000,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let ts: Vec<i64> = text
            .lines()
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(n as usize, ts.len());
        assert!(ts.windows(2).all(|w| w[0] < w[1]));
        assert!(ts.iter().all(|t| *t < 1000));
    }
}
