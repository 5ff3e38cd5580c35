#!/usr/bin/env python3
"""Before/after figures of issue 16's config, state and shutdown findings.

    benches/hardening.py BINARY [--apps 300] [--runs 50] [--skip-kill-loop]

Runs BINARY (an old and a new wechat-exporter, e.g. one built from an older
commit in its own worktree) against its own simulator on loopback and prints
one line per finding:

  clean-stop     clean stops (demo, fresh --storage.path) that logged
                 "cannot save state" (two writers racing on one temporary file)
  kill-loop      state files left unreadable after SIGTERM + SIGKILL at a
                 random 0-300 ms, RUNS times, APPS apps
  state-mode     the mode of state.json
  shutdown       seconds from SIGTERM to exit while WeChat answers in 20 s
  secret-zero    `secret_file: /dev/zero` under `--config.check`: seconds and
                 peak RSS (capped by a 2 GiB address-space limit)
  nested-yaml    seconds for `--config.check` to refuse 100,000 nested levels
                 (flow sequences and flow mappings)
  absurd         exit code of `--config.check` for concurrency 2^64-1,
                 interval 1000000000y, jitter 100000000y
  empty          exit code of `--config.check` for an empty config
  echo           whether `--config.file` pointed at a secret file prints it

Ends only the processes it started, by pid. Figures are wall-clock on a
shared machine: compare runs made back to back.
"""
import argparse
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_http(url, secs, want=200):
    end = time.time() + secs
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == want:
                    return True
        except Exception:
            pass
        time.sleep(0.1)
    return False


def wait_port(port, secs):
    end = time.time() + secs
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def generated_appid(i):
    return "wx%016x" % (0x00BE0C0000000000 + i)


def write_config(d, sim_url, apps, extra=""):
    lines = [
        "wechat:",
        f"  api_url: {sim_url}",
        "  timeout: 60s",
        "  attempts: 1",
        "poll:",
        "  release_hour: 0",
        "  concurrency: 16",
        extra,
        "apps:",
    ]
    for i in range(apps):
        kind = "miniprogram" if i % 2 == 0 else "official_account"
        sf = os.path.join(d, f"secret-{i}")
        with open(sf, "w") as f:
            f.write(f"sim-secret-{i}\n")
        lines += [
            f"  - name: app{i}",
            f"    type: {kind}",
            f"    appid: {generated_appid(i)}",
            f"    secret_file: {sf}",
        ]
    path = os.path.join(d, "config.yml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def readable(state):
    try:
        with open(state, "rb") as f:
            v = json.load(f)
        return v.get("format") == "wechat-exporter-state"
    except Exception:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--apps", type=int, default=300)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--skip-kill-loop", action="store_true")
    ap.add_argument("--only-kill-loop", action="store_true")
    ap.add_argument("--kill-max-ms", type=int, default=300,
                    help="SIGKILL at a random 0..this many ms after SIGTERM")
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    tmp = tempfile.mkdtemp(prefix="hardening-")
    started = []

    def spawn(args, **kw):
        p = subprocess.Popen([binary] + args, stdout=subprocess.DEVNULL,
                             stderr=kw.pop("stderr", subprocess.DEVNULL), **kw)
        started.append(p)
        return p

    try:
        sim_port = free_port()
        sim = spawn(["simulate", "--listen", f"127.0.0.1:{sim_port}",
                     "--apps", str(a.apps), "--release-hour", "0",
                     "--log.level", "warn"])
        sim_url = f"http://127.0.0.1:{sim_port}"
        assert wait_port(sim_port, 30), "simulator did not start"
        cfg = write_config(tmp, sim_url, a.apps)
        state_dir = os.path.join(tmp, "state")

        # A full state file: one complete round, then a clean stop.
        port = free_port()
        t0 = time.time()
        exp = spawn(["--config.file", cfg, f"--web.listen-address=127.0.0.1:{port}",
                     f"--storage.path={state_dir}", "--log.level=warn"])
        assert wait_http(f"http://127.0.0.1:{port}/-/ready", 600), "never ready"
        ready = time.time() - t0
        exp.send_signal(signal.SIGTERM)
        exp.wait(120)
        state = os.path.join(state_dir, "state.json")
        size = os.path.getsize(state)
        mode = oct(os.stat(state).st_mode & 0o777)
        print(f"setup          {a.apps} apps ready in {ready:.1f}s; state.json {size / 1e6:.1f} MB")
        print(f"state-mode     {mode}")
        seed = open(state, "rb").read()

        spurious = 0
        for i in range(20):
            port = free_port()
            log = os.path.join(tmp, "clean-stop.log")
            with open(log, "w") as f:
                exp = spawn(["--demo", f"--web.listen-address=127.0.0.1:{port}",
                             f"--storage.path={tmp}/clean-{i}"], stderr=f)
                wait_port(port, 30)
                time.sleep(1.0)
                exp.send_signal(signal.SIGTERM)
                exp.wait(60)
            if "cannot save state" in open(log).read():
                spurious += 1
        print(f"clean-stop     {spurious} of 20 clean stops logged 'cannot save state'")

        if not a.skip_kill_loop:
            bad = 0
            for _ in range(a.runs):
                with open(state, "wb") as f:
                    f.write(seed)
                port = free_port()
                exp = spawn(["--config.file", cfg, f"--web.listen-address=127.0.0.1:{port}",
                             f"--storage.path={state_dir}", "--log.level=warn"])
                wait_port(port, 60)
                time.sleep(0.2)
                exp.send_signal(signal.SIGTERM)
                time.sleep(random.uniform(0, a.kill_max_ms / 1000))
                if exp.poll() is None:
                    exp.send_signal(signal.SIGKILL)
                exp.wait(60)
                if not readable(state):
                    bad += 1
            print(f"kill-loop      {bad} of {a.runs} runs left state.json unreadable"
                  f" (SIGKILL 0-{a.kill_max_ms} ms after SIGTERM)")
        if a.only_kill_loop:
            return 0

        # Shutdown while WeChat answers in 20 s.
        req = urllib.request.Request(f"{sim_url}/simulator/faults", method="POST",
                                     data=json.dumps({"latency": 20000}).encode(),
                                     headers={"content-type": "application/json"})
        urllib.request.urlopen(req, timeout=5).read()
        d2 = os.path.join(tmp, "slow")
        os.makedirs(d2)
        cfg2 = write_config(d2, sim_url, 2)
        port = free_port()
        exp = spawn(["--config.file", cfg2, f"--web.listen-address=127.0.0.1:{port}",
                     f"--storage.path={d2}/state", "--log.level=warn"])
        wait_port(port, 60)
        time.sleep(1.0)
        t0 = time.time()
        exp.send_signal(signal.SIGTERM)
        try:
            exp.wait(120)
            print(f"shutdown       {time.time() - t0:.1f}s from SIGTERM to exit (WeChat latency 20s)")
        except subprocess.TimeoutExpired:
            print("shutdown       > 120s")
        urllib.request.urlopen(urllib.request.Request(
            f"{sim_url}/simulator/faults", method="POST", data=b"{}",
            headers={"content-type": "application/json"}), timeout=30).read()

        def check(text, limit_as=None):
            p = os.path.join(tmp, "check.yml")
            with open(p, "w") as f:
                f.write(text)

            def pre():
                if limit_as:
                    resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))
            t0 = time.time()
            r = subprocess.run(["/usr/bin/time", "-f", "%M", binary, "--config.check",
                                "--config.file", p], capture_output=True, text=True,
                               preexec_fn=pre, timeout=600)
            lines = [l for l in r.stderr.strip().splitlines()
                     if not l.startswith("Command exited")]
            rss_kb = int(lines[-1]) if lines and lines[-1].isdigit() else -1
            return r.returncode, time.time() - t0, rss_kb, r.stdout + "\n".join(lines[:-1])

        app = ("apps:\n  - name: a\n    type: miniprogram\n"
               "    appid: wx5d3c9a1e7f2b4068\n")
        code, secs, rss, out = check(app + "    secret_file: /dev/zero\n", 2 << 30)
        print(f"secret-zero    exit {code} after {secs:.2f}s, peak RSS {rss / 1024:.0f} MiB: {out.strip()[:120]}")
        # `[[[…` is refused at the top level at once; `{a: {a: …` is what
        # kept the old parser busy (libyaml builds every event first).
        for form, text in [("[", "[" * 100000 + "]" * 100000 + "\n"),
                           ("{a:", "{a: " * 100000 + "}" * 100000 + "\n")]:
            code, secs, rss, out = check(text)
            print(f"nested-yaml    {form} x100000: exit {code} after {secs:.2f}s, peak RSS {rss / 1024:.0f} MiB: {out.strip()[:100]}")
        for field, text in [("concurrency", "poll:\n  concurrency: 18446744073709551615\n"),
                            ("interval", "poll:\n  interval: 1000000000y\n"),
                            ("jitter", "poll:\n  jitter: 100000000y\n")]:
            code, _, _, out = check(text + app + f"    secret_file: {tmp}/secret-0\n")
            print(f"absurd         {field}: exit {code}: {out.strip()[:120]}")
        code, _, _, out = check("")
        print(f"empty          exit {code}: {out.strip()[:120]}")
        code, _, _, out = check("# only a comment\n")
        print(f"empty          (comments only) exit {code}: {out.strip()[:120]}")
        code, _, _, out = check("apps: []\n")
        print(f"empty          (apps: []) exit {code}: {out.strip()[:120]}")
        secret = "f00dfacecafe0123456789abcdef0123"
        code, _, _, out = check(secret + "\n")
        print(f"echo           exit {code}, secret printed: {secret in out}")
        code, _, _, out = check("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n")
        print(f"echo           (PEM key) exit {code}, key printed: {'MIIEvQ' in out}")
    finally:
        for p in started:
            if p.poll() is None:
                p.kill()
                p.wait()


if __name__ == "__main__":
    sys.exit(main())
