//! Rounds of polling: the poller (each app's due APIs, results into
//! `state`, failures through `policy`, snapshots published), what is due
//! when (`schedule`), what a failure means (`policy`), the state file
//! (`storage`), shards, and third-party platform discovery.
//!
//! May import: the leaves, `config`, `wechat`, `collectors`, `state`,
//! `expose`.

pub mod discovery;
pub mod policy;
pub mod poller;
pub mod schedule;
pub mod shard;
pub mod storage;

pub use poller::Poller;
