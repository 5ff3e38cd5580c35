//! wechat-exporter: WeChat analytics as Prometheus metrics.
//! See ARCHITECTURE.md for the map of modules.

pub mod clock;
pub mod dates;
pub mod simulator;
pub mod wechat;
