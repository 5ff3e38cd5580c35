//! From state to `/metrics`: the snapshot built per publish (shared
//! segments, one gzip member) and the HTTP handlers, which hold a
//! snapshot store and never call WeChat.
//!
//! May import: the leaves, `state`.

pub mod http;
pub mod snapshot;
