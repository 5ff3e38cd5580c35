//! Our exporter-toolkit: the web config file (TLS, client certificates,
//! basic auth, headers, rate limit), and the listeners and accept loops
//! that serve a router with it. Knows nothing of WeChat.
//!
//! May import: nothing of the exporter.
//!
//! The web config, bottom up: `error` (why a file is refused), `files`
//! (bounded reads), `headers`, `rate_limit`, `ciphers` (versions, suites,
//! curves), `verify` (client certificates), `tls` (the rustls config),
//! `config` (the file as a whole). Serving, bottom up: `options` (what the
//! caller passes), `listen` (sockets), `auth` (basic auth), `shared` (what
//! one `serve` call shares), `limit` (per-client slots, idle tracking),
//! `request`, `conn` (one connection), `reload` (the file watched),
//! `server` (entry points and accept loops).

pub mod config;
pub mod listen;
pub mod server;

mod auth;
mod ciphers;
mod conn;
mod error;
mod files;
mod headers;
mod limit;
mod options;
mod rate_limit;
mod reload;
mod request;
mod shared;
mod tls;
mod verify;
