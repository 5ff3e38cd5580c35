//! Memory-shaped behaviour that a test can prove without timing: the
//! state, the snapshot and every response share the same bytes; scrapes in
//! flight (plain HTTP and TLS, plain and gzip) get exactly the snapshot's
//! bytes with their length; a state file of the previous format (samples)
//! still restarts the exporter with the same data. The figures (RSS ÷
//! body, growth under 32 scrapes) are in `benches/run.sh`.

use crate::common::*;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use wechat_exporter::api::Api;
use wechat_exporter::expose::http::router;
use wechat_exporter::poll::poller::Poller;
use wechat_exporter::poll::storage::Storage;
use wechat_exporter::self_metrics::SelfMetrics;
use wechat_exporter::web::server::{serve, ServeOptions};

const T0: &str = "2025-01-15T03:00:00Z";

/// A CA-less self-signed server certificate for 127.0.0.1, written to `dir`.
fn self_signed(dir: &std::path::Path) -> String {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("self-signed");
    std::fs::write(dir.join("server.crt"), cert.pem()).expect("write cert");
    std::fs::write(dir.join("server.key"), key.serialize_pem()).expect("write key");
    std::fs::write(
        dir.join("web.yml"),
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
    )
    .expect("write web config");
    cert.pem()
}

/// 32 concurrent scrapes, half asking for gzip; each must be the
/// snapshot's bytes, whole, with a matching Content-Length.
async fn scrape_32(client: &reqwest::Client, url: &str, want_plain: &[u8], want_gz: &[u8]) {
    let mut tasks = Vec::new();
    for i in 0..32 {
        let (client, url) = (client.clone(), url.to_string());
        tasks.push(tokio::spawn(async move {
            let mut req = client.get(url);
            let gzip = i % 2 == 1;
            if gzip {
                req = req.header("Accept-Encoding", "gzip");
            }
            let r = req.send().await.expect("scrape");
            assert_eq!(r.status(), 200);
            let len: Option<usize> = r
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok()?.parse().ok());
            let enc = r.headers().get("content-encoding").cloned();
            let body = r.bytes().await.expect("body");
            assert_eq!(len, Some(body.len()), "Content-Length is the body's");
            (gzip, enc.is_some(), body)
        }));
    }
    for t in tasks {
        let (gzip, encoded, body) = t.await.expect("task");
        assert_eq!(gzip, encoded);
        if gzip {
            assert!(
                body[..] == *want_gz,
                "gzip scrape differs from the snapshot"
            );
        } else {
            assert!(
                body[..] == *want_plain,
                "plain scrape differs from the snapshot"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_share_the_snapshots_bytes_over_plain_http_and_tls() {
    let h = Harness::new(T0, 10.0, 10.0, vec![mp_app("shop"), oa_app("news")]).await;
    // Scrapes must be the snapshot's bytes, nothing appended: process_*
    // (read per scrape) is checked in tests/it/version.rs.
    h.poller.metrics.set_process_metrics(false);
    h.poller.poll_once().await;
    let snap = h.poller.store.load();

    // The state's page block is a segment of the body: the same memory.
    let page_block = {
        let apps = h.poller.apps();
        let st = apps[0].lock();
        let f = st.apis[&Api::VisitPage]
            .published()
            .next()
            .expect("pages fetched")
            .samples
            .clone();
        f.parts()[0].1.clone()
    };
    assert!(page_block.len() > 1000);
    assert!(
        snap.body
            .parts()
            .iter()
            .any(|p| p.as_ptr() == page_block.as_ptr() && p.len() == page_block.len()),
        "the body refers to the state's bytes"
    );
    let plain = snap.body.to_vec();
    let gz = snap.gzip.to_vec();
    let mut decoded = Vec::new();
    // One member: decoders that stop after the first (curl) see it all.
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut decoded)
        .expect("valid gzip");
    assert_eq!(decoded, plain);

    let dir = tempfile::tempdir().expect("tempdir");
    let ca = self_signed(dir.path());
    for tls in [false, true] {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = router(h.poller.handlers("/metrics"));
        let opts = ServeOptions {
            web_config_file: tls.then(|| dir.path().join("web.yml")),
            ..ServeOptions::default()
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, app, opts, async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).expect("pem"))
            .build()
            .expect("client");
        let scheme = if tls { "https" } else { "http" };
        scrape_32(&client, &format!("{scheme}://{addr}/metrics"), &plain, &gz).await;
        let _ = stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    }
    // No scrape built anything.
    assert!(Arc::ptr_eq(&snap, &h.poller.store.load()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_state_file_restarts_with_the_same_data() {
    let h = Harness::new(T0, 10.0, 10.0, vec![mp_app("shop"), oa_app("news")]).await;
    h.poller.poll_once().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::new(dir.path().to_path_buf());
    storage.save(&h.poller).expect("save");
    let path = storage.path();
    let v2 = std::fs::read(&path).expect("read");

    // Rewrite it as version 1 wrote it: a list of samples per result.
    let mut file: serde_json::Value = serde_json::from_slice(&v2).expect("json");
    assert_eq!(file["version"], 2);
    file["version"] = 1.into();
    let mut converted = 0;
    for (_, app) in file["apps"].as_object_mut().expect("apps").iter_mut() {
        for (_, api) in app[1]["apis"].as_object_mut().expect("apis").iter_mut() {
            for r in api["results"].as_array_mut().expect("results") {
                let blocks: wechat_exporter::state::blocks::Blocks =
                    serde_json::from_value(r["samples"].clone()).expect("blocks");
                let samples: Vec<_> = blocks.iter().collect();
                r["samples"] = serde_json::to_value(&samples).expect("samples");
                converted += samples.len();
            }
        }
    }
    assert!(converted > 1000, "{converted} samples");
    let v1 = serde_json::to_vec(&file).expect("json");
    assert!(v2.len() < v1.len(), "text is smaller than samples");
    std::fs::write(&path, &v1).expect("write");

    let p = Poller::new(&h.config, h.clock.clone(), Arc::new(SelfMetrics::new()));
    let saved = storage.load().expect("version 1 is read").expect("file");
    assert_eq!(p.restore(saved), 2);
    let data = |p: &Poller| -> Vec<String> {
        String::from_utf8(p.store.load().body.to_vec())
            .expect("utf-8")
            .lines()
            .filter(|l| l.starts_with("wechat_miniprogram") || l.starts_with("wechat_official"))
            .map(String::from)
            .collect()
    };
    let want = data(&h.poller);
    assert!(want.len() > 1000);
    assert_eq!(data(&p), want, "same data lines, same order");
    // Saved again, it is version 2.
    storage.save(&p).expect("save");
    let again: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    assert_eq!(again["version"], 2);
}
