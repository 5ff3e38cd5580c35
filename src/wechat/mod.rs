//! Everything that speaks WeChat's protocol: endpoints, typed bodies, the
//! client with its retry rules, and token sources.

pub mod api;
pub mod client;
pub mod component;
pub mod token;
pub mod types;
