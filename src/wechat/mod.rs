//! Everything that speaks WeChat's protocol: endpoints, typed bodies, the
//! client with its retry and token rules, and URL redaction.

pub mod api;
pub mod types;
