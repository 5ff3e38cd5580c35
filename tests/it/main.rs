//! The one integration-test binary: every test module shares one build and
//! one link (18 binaries took most of the test build time).

#![allow(dead_code)]

mod articles;
mod backfill;
mod backfill_oa;
mod binary;
mod client;
mod common;
mod deploy;
mod derived;
mod exporter;
mod faults;
mod feedback;
mod fuzz;
mod hardening;
mod isolation;
mod js_errors;
mod layout;
mod load;
mod memory;
mod names;
mod ops_performance;
mod performance;
mod platform;
mod prometheus;
mod proxy;
mod publish;
mod quota;
mod reload;
mod scale;
mod secrets;
mod seeds;
mod shards;
mod simulator;
mod state;
mod version;
mod web_hardening;
mod web_server;
mod web_toolkit;
