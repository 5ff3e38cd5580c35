//! Our exporter-toolkit: the web config file (TLS, client certificates,
//! basic auth, headers, rate limit), and the listeners and accept loops
//! that serve a router with it. Knows nothing of WeChat.
//!
//! May import: nothing of the exporter.

pub mod config;
pub mod server;
