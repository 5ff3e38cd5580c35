//! `Shared`: what one `serve` call's accept loops, connections and
//! reloader share (the config in force, auth cache, rate limiter, router,
//! connection permits and per-client counts, options).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use axum::Router;
use tokio::sync::Semaphore;

use crate::web::auth::Authenticator;
use crate::web::config::WebConfig;
use crate::web::options::ServeOptions;
use crate::web::rate_limit::Bucket;

pub(super) struct Shared {
    pub(super) config: ArcSwap<WebConfig>,
    pub(super) auth: Authenticator,
    pub(super) limiter: Mutex<Bucket>,
    pub(super) router: Router,
    pub(super) permits: Arc<Semaphore>,
    pub(super) per_client: Mutex<HashMap<IpAddr, usize>>,
    pub(super) opts: ServeOptions,
}

impl Shared {
    pub(super) fn new(initial: WebConfig, router: Router, opts: ServeOptions) -> Shared {
        let limiter = Mutex::new(Bucket::new(initial.rate_limit()));
        Shared {
            config: ArcSwap::from_pointee(initial),
            auth: Authenticator::default(),
            limiter,
            router,
            permits: Arc::new(Semaphore::new(opts.max_connections)),
            per_client: Mutex::new(HashMap::new()),
            opts,
        }
    }

    /// More than half of the connection cap in use: idle connections are
    /// closed after `pressure_idle_timeout` instead of `idle_timeout`.
    pub(super) fn under_pressure(&self) -> bool {
        self.permits.available_permits() < self.opts.max_connections / 2
    }
}
