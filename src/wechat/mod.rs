//! Everything that speaks WeChat's protocol: the client with its retry
//! rules, token sources, a third-party platform's component credentials,
//! the shapes every answer shares, what each errcode means, and the
//! process-wide call rate limit.
//!
//! May import: the leaves, `config`.

pub mod client;
pub mod component;
pub mod error;
pub mod http;
pub mod rate_limit;
pub mod token;
pub mod types;
