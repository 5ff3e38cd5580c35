//! The API catalogue lives in `apis.rs` (one declared row per API); this
//! path is kept because the client, the simulator and users' code name it.

pub use crate::apis::{Api, AppKind};
