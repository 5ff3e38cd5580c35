//! Serves the router. Placeholder until the exporter-toolkit web config
//! (TLS, basic auth) lands: plain HTTP, graceful shutdown.

use std::future::Future;
use std::path::PathBuf;

pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    web_config: Option<PathBuf>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    if web_config.is_some() {
        return Err("--web.config.file is not supported yet".into());
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| e.to_string())
}
