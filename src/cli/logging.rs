//! Log setup: logfmt (the Prometheus ecosystem's default) or JSON, to stderr.

use crate::cli::{LogFormat, LogLevel};
use tracing_subscriber::prelude::*;
use tracing_subscriber::EnvFilter;

pub fn init(level: LogLevel, format: LogFormat) {
    let level = match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    };
    // Our own crate at the chosen level; chatty dependencies at warn.
    let filter = EnvFilter::new(format!("warn,wechat_exporter={level}"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Logfmt => registry
            .with(
                tracing_logfmt::builder()
                    .layer()
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    // Already initialised (tests): keep the first.
    let _ = result;
}
