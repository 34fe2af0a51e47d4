#!/usr/bin/env python3
"""Schemathesis against thaw's own OpenAPI document: no server errors, no answer the document
does not describe (status, content type, headers, body schema), no invalid input accepted.

Starts `thaw serve` on a fresh SQLite database in a temporary directory, seeds a few records,
creates an API key and a signed-in admin session, and runs `schemathesis run` against
/api/openapi.json twice: once with the key, once with the session cookie and its CSRF token.
Exits non-zero when either pass fails.

    python3 tests/api/schemathesis_run.py [--thaw PATH] [--max-examples N] [--seed N]

THAW_BIN names the binary too (default: $CARGO_TARGET_DIR/debug/thaw, else target/debug/thaw).
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
ACCOUNT = "u-schema-1"


def default_binary():
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    return os.environ.get("THAW_BIN") or os.path.join(target, "debug", "thaw")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def thaw(binary, work, *args, stdin=None):
    """Runs a `thaw` command on the server's database; returns its standard output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("THAW_")}
    done = subprocess.run([binary, *args], cwd=work, env=env, input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"thaw {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def csrf_in(html):
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    if not m:
        sys.exit("no CSRF token in the page")
    return m.group(1)


def sign_in(base, email, password):
    """A staff session as a browser gets it: the sign-in form's token, then the desk's."""
    s = requests.Session()
    csrf = csrf_in(s.get(f"{base}/desk/sign-in").text)
    r = s.post(f"{base}/desk/sign-in", allow_redirects=False,
               data={"email": email, "password": password, "csrf": csrf, "next": "/desk"})
    if r.status_code != 303 or "thaw_session" not in s.cookies:
        sys.exit(f"staff sign-in failed: {r.status_code} {r.text[:300]}")
    return s.cookies["thaw_session"], csrf_in(s.get(f"{base}/desk").text)


def seed(base, key):
    """A few records so that reads of real things answer 200 too."""
    h = {"Authorization": f"Bearer {key}"}

    def call(method, path, body, want):
        r = requests.request(method, f"{base}{path}", json=body, headers=h)
        if r.status_code != want:
            sys.exit(f"seeding {method} {path}: {r.status_code} {r.text[:300]}")
        return r.json()

    call("PUT", f"/api/v1/accounts/{ACCOUNT}", {"email": "li.wei@example.com", "locale": "zh-CN",
                                                 "kyc_level": 2, "created_at": "2024-03-01T08:00:00Z"}, 201)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    call("POST", "/api/v1/events", {"id": "evt-schema-1", "account_id": ACCOUNT, "kind": "login_succeeded",
                                    "occurred_at": now, "ip": "203.0.113.7", "device_id": "d-1"}, 200)
    call("POST", f"/api/v1/accounts/{ACCOUNT}/holds", {"scopes": ["withdraw"], "reason_code": "chargeback_review"}, 201)
    call("POST", "/api/v1/cases", {"account_id": ACCOUNT, "category": "other", "subject": "Question",
                                   "body": "How long does a review take?"}, 201)


def schemathesis(base, name, headers, args, work):
    cmd = ["schemathesis", "--config-file", os.path.join(HERE, "schemathesis.toml"), "run", f"{base}/api/openapi.json",
           "--max-examples", str(args.max_examples),
           "--seed", str(args.seed),
           "--generation-deterministic",
           "--generation-with-security-parameters", "false",
           "--phases", "examples,coverage,fuzzing",
           "--workers", "1",
           "--request-timeout", "20",
           "--no-color",
           "--report", "junit", "--report-dir", os.path.join(work, f"report-{name}")]
    for h in headers:
        cmd += ["--header", h]
    print(f"\n==> schemathesis ({name})", flush=True)
    started = time.monotonic()
    env = dict(os.environ, SCHEMATHESIS_HOOKS="schemathesis_hooks",
               PYTHONPATH=os.pathsep.join(filter(None, [HERE, os.environ.get("PYTHONPATH")])))
    code = subprocess.call(cmd, cwd=work, env=env)
    return code, time.monotonic() - started


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--thaw", default=default_binary(), help="the thaw binary")
    p.add_argument("--max-examples", type=int, default=int(os.environ.get("THAW_SCHEMATHESIS_EXAMPLES", "25")))
    p.add_argument("--seed", type=int, default=20261121)
    p.add_argument("--keep", action="store_true", help="keep the work directory (server log, reports)")
    args = p.parse_args()
    if not os.access(args.thaw, os.X_OK):
        sys.exit(f"no thaw binary at {args.thaw}: build it with cargo build --bin thaw")
    if not shutil.which("schemathesis"):
        sys.exit("schemathesis is not installed: python3 -m pip install schemathesis==4.32.5")

    work = tempfile.mkdtemp(prefix="thaw-schemathesis.")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("THAW_")}
    log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([args.thaw, "serve", "--listen", f"127.0.0.1:{port}"], cwd=work, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    results = []
    try:
        for _ in range(150):
            try:
                if requests.get(f"{base}/readyz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if server.poll() is not None:
                sys.exit(f"thaw serve exited; see {work}/server.log")
            time.sleep(0.2)
        key = thaw(args.thaw, work, "admin", "create-api-key", "--name", "schemathesis").strip().splitlines()[-1]
        password = "schemathesis correct horse"
        thaw(args.thaw, work, "admin", "create-staff", "--email", "admin@desk.example", "--role", "admin",
             "--password-stdin", stdin=password + "\n")
        session, csrf = sign_in(base, "admin@desk.example", password)
        seed(base, key)

        results.append(("API key",) + schemathesis(base, "api-key", [f"Authorization: Bearer {key}"], args, work))
        results.append(("staff session",) + schemathesis(
            base, "staff-session", [f"Cookie: thaw_session={session}", f"X-CSRF-Token: {csrf}"], args, work))
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()

    print("\n==> schemathesis summary")
    for name, code, secs in results:
        print(f"  {name:14} {'passed' if code == 0 else 'FAILED'} in {secs:.0f} s")
    failed = [r for r in results if r[1] != 0]
    if failed or args.keep:
        print(f"  server log and JUnit reports kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
