# syntax=docker/dockerfile:1
# wechat-exporter container image: a static (musl) binary on distroless.
#
#   docker build -t wechat-exporter .
#   docker run --rm -p 10240:10240 wechat-exporter --demo --web.listen-address=:10240

# ---- build ----------------------------------------------------------------
# rust:1 follows the latest stable toolchain (Cargo.toml: rust-version 1.80).
FROM rust:1-bookworm AS builder
ARG TARGET=x86_64-unknown-linux-musl
# musl-tools: a musl C compiler for ring (rustls) in the static build.
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add "$TARGET"
WORKDIR /src
# build.rs records the build facts of --version (no .git here: the
# revision reads "unknown" unless WECHAT_EXPORTER_REVISION is set);
# Cargo.toml names the bench targets, whose files must exist.
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY benches ./benches
# Cache mounts keep the registry and compiled dependencies between builds;
# the binary is copied out of the cached target dir in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --target "$TARGET" \
 && install -D -m 0755 "target/$TARGET/release/wechat-exporter" /out/wechat-exporter \
 && mkdir -p /out/data

# ---- run ------------------------------------------------------------------
# distroless/static: no shell, no package manager, CA certificates included
# (needed for https://api.weixin.qq.com).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=builder /out/wechat-exporter /usr/local/bin/wechat-exporter
# --storage.path: must be writable by the non-root user; mount a volume here
# to keep fetched days across restarts.
COPY --from=builder --chown=65532:65532 /out/data /var/lib/wechat-exporter
# 65532 = distroless "nonroot"; numeric so Kubernetes runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 10240
ENTRYPOINT ["/usr/local/bin/wechat-exporter"]
CMD ["--config.file=/etc/wechat-exporter/config.yml", "--web.listen-address=:10240", "--storage.path=/var/lib/wechat-exporter"]
