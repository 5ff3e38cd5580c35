//! wechat-exporter: WeChat analytics as Prometheus metrics.
//!
//! The modules, lowest layer first; a module imports only from the layers
//! before it (a test, `tests/it/layout.rs`, keeps it so). ARCHITECTURE.md
//! is the map.

// Leaves: the vocabulary every layer shares.
pub mod api;
pub mod clock;
pub mod dates;
pub mod families;
pub mod secret;
pub mod self_metrics;
// Our exporter-toolkit: web config, TLS, auth, listeners (separable).
pub mod web;
// Config schema and validation.
pub mod config;
// WeChat's protocol: client, tokens, component, shared types, errors.
pub mod wechat;
// The API catalogue and one collector per API family.
pub mod collectors;
// What the exporter knows: per-app and per-API state, as exposition blocks.
pub mod state;
// From state to `/metrics`: snapshots and the HTTP handlers.
pub mod expose;
// Rounds: poller, schedule, failure policy, storage, shards, discovery.
pub mod poll;
// History as OpenMetrics for promtool.
pub mod backfill;
// The WeChat API simulator (demo, tests, benchmarks).
pub mod simulator;
// The binary's wiring: flags, subcommands, signals, demo, logging.
pub mod cli;
