//! wechat-exporter: WeChat analytics as Prometheus metrics.
//! See ARCHITECTURE.md for the map of modules.

pub mod apis;
pub mod backfill;
pub mod blocks;
pub mod cli;
pub mod clock;
pub mod collectors;
pub mod config;
pub mod dates;
pub mod demo;
pub mod error;
pub mod families;
pub mod http_server;
pub mod logging;
pub mod model;
pub mod platform;
pub mod policy;
pub mod poller;
pub mod rate_limit;
pub mod run;
pub mod schedule;
pub mod secret;
pub mod self_metrics;
pub mod shard;
pub mod simulator;
pub mod snapshot;
pub mod storage;
pub mod web_config;
pub mod web_server;
pub mod wechat;
