//! Opening listeners: one per `--web.listen-address` (`:PORT` as one
//! dual-stack socket, IPv4 alone on hosts without IPv6), or the sockets a
//! systemd socket unit passed (`--web.systemd-socket`).

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpListener;

/// Why no listener could be opened.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: io::Error,
    },
    #[error("--web.systemd-socket: {0}")]
    Systemd(String),
}

/// Opens the listener for one `--web.listen-address`. `:PORT` (no host)
/// listens on every address, IPv6 and IPv4 through one dual-stack socket
/// as Go does, and on IPv4 alone when the host has no IPv6.
pub async fn bind_listen_address(addr: &str) -> Result<TcpListener, ListenError> {
    let err = |source| ListenError::Bind {
        addr: addr.to_string(),
        source,
    };
    if let Some(port) = addr.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| {
            err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the port must be a number from 0 to 65535",
            ))
        })?;
        return match dual_stack(port) {
            Ok(l) => Ok(l),
            Err(e) if no_ipv6(&e) => {
                tracing::info!(port, "no IPv6 on this host; listening on IPv4 only");
                TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, port))
                    .await
                    .map_err(err)
            }
            Err(e) => Err(err(e)),
        };
    }
    TcpListener::bind(addr).await.map_err(err)
}

fn no_ipv6(e: &io::Error) -> bool {
    // EAFNOSUPPORT (kernel without IPv6) and EADDRNOTAVAIL (IPv6 disabled).
    matches!(e.raw_os_error(), Some(97) | Some(99))
}

fn dual_stack(port: u16) -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV6, Type::STREAM, Some(Protocol::TCP))?;
    s.set_only_v6(false)?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    let addr = SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port));
    s.bind(&addr.into())?;
    s.listen(1024)?;
    TcpListener::from_std(s.into())
}

/// The listening sockets systemd passed (`LISTEN_PID`, `LISTEN_FDS`, from
/// fd 3 on), as `--web.systemd-socket` asks; non-TCP descriptors are refused.
pub fn systemd_listeners() -> Result<Vec<TcpListener>, ListenError> {
    use std::os::fd::FromRawFd;
    let pid = std::env::var("LISTEN_PID").map_err(|_| {
        ListenError::Systemd("LISTEN_PID is not set: not started by a systemd socket unit".into())
    })?;
    if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
        return Err(ListenError::Systemd(
            "LISTEN_PID names another process; the sockets are not ours".into(),
        ));
    }
    let n: i32 = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| (1..=64).contains(n))
        .ok_or_else(|| {
            ListenError::Systemd("no socket activation file descriptors found".into())
        })?;
    let mut out = Vec::new();
    for fd in 3..3 + n {
        // SAFETY: systemd's protocol hands fds 3..3+LISTEN_FDS to this
        // process (LISTEN_PID checked above); nothing else owns them.
        let s = unsafe { socket2::Socket::from_raw_fd(fd) };
        let ok = s.r#type().ok() == Some(socket2::Type::STREAM)
            && s.local_addr().ok().and_then(|a| a.as_socket()).is_some();
        if !ok {
            // Do not close what is not a TCP socket: forget it.
            std::mem::forget(s);
            return Err(ListenError::Systemd(format!(
                "fd {fd} is not a listening TCP socket"
            )));
        }
        let _ = s.set_cloexec(true);
        s.set_nonblocking(true)
            .and_then(|_| TcpListener::from_std(s.into()))
            .map(|l| out.push(l))
            .map_err(|e| ListenError::Systemd(format!("fd {fd}: {e}")))?;
    }
    Ok(out)
}
