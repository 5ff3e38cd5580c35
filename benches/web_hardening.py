#!/usr/bin/env python3
"""Before/after figures of the web hardening findings, for any build.

    python3 benches/web_hardening.py [BINARY]   # default target/release/wechat-exporter

Needs ../shared/exporter-toolkit-testdata (test certificates) and Python's
`crypt` module (3.12 or older) for bcrypt hashes. Loopback only; ends only
the processes it started, by PID. Prints one line per figure.
"""
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import crypt
import base64
import ssl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/wechat-exporter")
TD = os.path.join(ROOT, "..", "shared", "exporter-toolkit-testdata")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def bcrypt_hash(pw, cost):
    return crypt.crypt(pw, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << cost))


class Exporter:
    def __init__(self, args, env=None):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(delete=False)
        e = dict(os.environ)
        e.update(env or {})
        self.p = subprocess.Popen(
            [BIN, f"--web.listen-address=127.0.0.1:{self.port}"] + args,
            stdout=subprocess.DEVNULL, stderr=self.log, env=e)
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("exporter did not start")

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()

    def logs(self):
        return open(self.log.name, errors="replace").read()


def raw(port, req, src="127.0.0.1", tls=False, timeout=30, body=b""):
    """(status or None, seconds)."""
    t = time.monotonic()
    try:
        s = socket.socket()
        s.settimeout(timeout)
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        if tls:
            # Only the status matters here (OpenSSL finds the toolkit's test
            # certificate's purpose unsuitable; rustls and Go accept it).
            ctx = ssl._create_unverified_context()
            s = ctx.wrap_socket(s, server_hostname="localhost")
        try:
            s.sendall(req.encode() + body)
        except OSError:
            pass  # the server may answer and close before taking the whole body
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        status = int(data.split(b" ")[1]) if data.startswith(b"HTTP/") else None
    except (OSError, ssl.SSLError):
        status = None
    return status, time.monotonic() - t


def get(port, path="/metrics", auth=None, **kw):
    h = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    if auth:
        h += "Authorization: Basic " + base64.b64encode(auth.encode()).decode() + "\r\n"
    return raw(port, h + "\r\n", **kw)


def finding1():
    d = tempfile.mkdtemp()
    f = os.path.join(d, "web.yml")
    good = (f"tls_server_config:\n  cert_file: {TD}/server.crt\n  key_file: {TD}/server.key\n"
            f"basic_auth_users:\n  alice: '{bcrypt_hash('pw', 4)}'\n")
    for name, bad in [("truncated", ""), ("comments only", "# x\n"), ("bare tls_server_config:", "tls_server_config:\n")]:
        open(f, "w").write(good)
        e = Exporter(["--demo", f"--web.config.file={f}"])
        open(f, "w").write(bad)
        time.sleep(3)
        plain = get(e.port)[0]
        tls_noauth = get(e.port, tls=True)[0]
        e.stop()
        print(f"#1 {name}: plain HTTP on the TLS port -> {plain}; HTTPS without credentials -> {tls_noauth}")


def finding5(n=1100):
    e = Exporter(["--demo"])
    base = [get(e.port, src="127.0.0.2")[1] for _ in range(3)]
    idle = []
    for _ in range(n):
        if n <= 2000:
            idle.append(socket.create_connection(("127.0.0.1", e.port)))
        else:
            # Too many to wait for each on a full backlog.
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", e.port))
            idle.append(s)
    time.sleep(0.5)
    res = [get(e.port, src="127.0.0.2", timeout=30) for _ in range(3)]
    for s in idle:
        s.close()
    e.stop()
    print(f"#5 scrape from 127.0.0.2: {statistics.median(base)*1000:.0f} ms alone; with {n:,} idle "
          f"sockets from 127.0.0.1: " + ", ".join(f"{t:.2f} s ({st})" for st, t in res))


def finding6():
    d = tempfile.mkdtemp()
    f = os.path.join(d, "web.yml")
    users = "".join(f"  user{i}: '{bcrypt_hash('right', 10)}'\n" for i in range(6))
    open(f, "w").write("basic_auth_users:\n" + users)
    e = Exporter(["--demo", f"--web.config.file={f}"])
    stop = threading.Event()
    flood_n = [0]

    def flood():
        while not stop.is_set():
            get(e.port, "/-/healthy", auth="user0:wrong-password")
            flood_n[0] += 1
    ts = [threading.Thread(target=flood) for _ in range(8)]
    for t in ts:
        t.start()
    time.sleep(1)
    lat = []
    for i in range(1, 6):
        st, t = get(e.port, "/-/healthy", auth=f"user{i}:right")
        lat.append(t)
    stop.set()
    for t in ts:
        t.join()
    e.stop()
    print(f"#6 uncached legitimate logins during an 8-thread wrong-password flood ({flood_n[0]} flood requests): "
          f"median {statistics.median(lat)*1000:.0f} ms, max {max(lat)*1000:.0f} ms")

    open(f, "w").write(f"basic_auth_users:\n  bob: '{bcrypt_hash('right', 12)}'\n")
    e = Exporter(["--demo", f"--web.config.file={f}"])
    get(e.port, "/-/healthy", auth="ghost:warm")
    known = [get(e.port, "/-/healthy", auth=f"bob:wrong{i}")[1] for i in range(4)]
    unknown = [get(e.port, "/-/healthy", auth=f"ghost{i}:wrong{i}")[1] for i in range(4)]
    e.stop()
    print(f"#6 timing, user bob (cost 12) vs unknown user: {statistics.median(known)*1000:.0f} ms vs "
          f"{statistics.median(unknown)*1000:.0f} ms")


def finding7():
    d = tempfile.mkdtemp()
    c = os.path.join(d, "c.yml")
    open(c, "w").write("wechat:\n  api_url: http://127.0.0.1:9\npoll:\n  interval: 1h\napps:\n"
                       "  - name: shop\n    type: miniprogram\n    appid: wx00112233445566aa\n    secret: ${S}\n")
    e = Exporter([f"--config.file={c}"], {"S": "x"})
    st, _ = raw(e.port, "POST /-/reload HTTP/1.1\r\nHost: localhost\r\nOrigin: http://evil.example\r\n"
                "Content-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    chunk = b"100000\r\n" + b"z" * 0x100000 + b"\r\n"
    st2, t2 = raw(e.port, "POST /-/reload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
                  "Connection: close\r\n\r\n", body=chunk * 10 + b"0\r\n\r\n")
    reloads = e.logs().count("configuration reloaded")
    e.stop()
    print(f"#7 cross-origin text/plain POST /-/reload -> {st}; chunked 10 MB POST -> {st2}; reloads done: {reloads}")


def finding8():
    key = open(os.path.join(TD, "server.key")).read().splitlines()[1][:24]
    r = subprocess.run([BIN, "--demo", f"--web.config.file={TD}/server.key"], capture_output=True, text=True, timeout=60)
    out = r.stdout + r.stderr
    print(f"#8 --web.config.file=<private key>: exit {r.returncode}, key material in the error: {'yes' if key in out else 'no'}")


if __name__ == "__main__":
    print(f"binary: {BIN}")
    only = sys.argv[2:]  # e.g. "finding5" to run one
    for f in (finding1, finding5, lambda: finding5(10000), finding6, finding7, finding8):
        if not only or f.__name__ in only or (f.__name__ == "<lambda>" and "finding5" in only):
            f()
