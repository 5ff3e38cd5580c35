#!/usr/bin/env python3
"""Serve tests/deploy/fixtures/metrics.txt like the exporter would.

For local development of the deploy tests only (run.sh --fixture): the CI
test runs the real `wechat-exporter --demo`. Accepts the exporter's flags
that matter here: --web.listen-address=HOST:PORT (others are ignored).
"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "metrics.txt"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.split("?")[0] == "/metrics":
            body, ctype = FIXTURE.read_bytes(), "text/plain; version=0.0.4; charset=utf-8"
        elif self.path in ("/-/healthy", "/-/ready"):
            body, ctype = b"OK\n", "text/plain"
        elif self.path == "/":
            body, ctype = b"<html><body><a href='/metrics'>Metrics</a> (fixture)</body></html>", "text/html"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    addr = "127.0.0.1:10240"
    for a in sys.argv[1:]:
        if a.startswith("--web.listen-address="):
            addr = a.split("=", 1)[1]
    host, port = addr.rsplit(":", 1)
    ThreadingHTTPServer((host or "0.0.0.0", int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
