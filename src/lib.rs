//! wechat-exporter: WeChat analytics as Prometheus metrics.
//! See ARCHITECTURE.md for the map of modules.

pub mod clock;
pub mod dates;
pub mod web_config;
pub mod web_server;
pub mod wechat;
