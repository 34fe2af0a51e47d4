#!/usr/bin/env python3
"""A webhook receiver for thaw's tests, independent of thaw's own code.

Listens on 127.0.0.1 (port 0: it prints the chosen port on its first line), answers the first
FAIL_FIRST requests with HTTP 500, and for every request verifies the Thaw-Signature header with
Python's hmac (HMAC-SHA256 over "<t>.<body>") and appends one JSON line per request to LOG:
{"delivery", "event", "valid", "status", "at", "body"}, `at` being when the request arrived (Unix
milliseconds). With DELAY_MS it waits that long before answering, so that a sender is often
caught with a request in flight (the cluster test kills one mid-load).

usage: receiver.py SECRET LOG FAIL_FIRST [DELAY_MS]
"""
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET, LOG, FAIL_FIRST = sys.argv[1].encode(), sys.argv[2], int(sys.argv[3])
DELAY = int(sys.argv[4]) / 1000 if len(sys.argv) > 4 else 0
lock = threading.Lock()
seen = {"n": 0}


def verify(header: str, body: bytes) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if "t" not in parts or "v1" not in parts:
        return False
    expected = hmac.new(SECRET, parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        arrived = int(time.time() * 1000)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            seen["n"] += 1
            status = 500 if seen["n"] <= FAIL_FIRST else 200
            entry = {
                "delivery": self.headers.get("Thaw-Delivery"),
                "event": self.headers.get("Thaw-Event"),
                "valid": verify(self.headers.get("Thaw-Signature", ""), body),
                "status": status,
                "at": arrived,
                "body": json.loads(body or b"null"),
            }
            with open(LOG, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
        if DELAY:
            time.sleep(DELAY)
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok" if status == 200 else b"try later")

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
