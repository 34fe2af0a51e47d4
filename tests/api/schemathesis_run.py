#!/usr/bin/env python3
"""Schemathesis against thaw's own OpenAPI document: no server errors, no answer the document
does not describe (status, content type, headers, body schema), no invalid input accepted.

Starts `thaw serve` on a fresh database (SQLite in a temporary directory, or a throwaway
database on the PostgreSQL server of --postgres / THAW_TEST_POSTGRES_URL), seeds a few records,
creates an API key and signed-in admin and supervisor sessions, and runs schemathesis against
/api/openapi.json once with the key and once with each session (cookie and CSRF token). The
checks and the seeded ids are in schemathesis.toml beside this file. Exits non-zero when a pass
fails; the server log and JUnit reports are then kept.

    python3 tests/api/schemathesis_run.py [--thaw PATH] [--postgres URL] [--max-examples N] [--keep]

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
STAFF_ROLES = ["admin", "supervisor"]


def default_binary():
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    return os.environ.get("THAW_BIN") or os.path.join(target, "debug", "thaw")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def thaw_env(database_url):
    """The environment of thaw: the caller's less its THAW_ settings, and the database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("THAW_")}
    if database_url:
        env["THAW_DATABASE_URL"] = database_url
    return env


def thaw(binary, work, database_url, *args, stdin=None):
    """Runs a `thaw` command on the server's database; returns its standard output."""
    env = thaw_env(database_url)
    done = subprocess.run([binary, *args], cwd=work, env=env, input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"thaw {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def psql(url, sql):
    done = subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"psql failed: {sql}\n{done.stderr}")


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
    """A few records so that reads of real things answer 200 too; returns what the config file
    names (through the environment): a hold to read, a hold to release and a case."""
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
    hold = {"scopes": ["withdraw"], "reason_code": "chargeback_review"}
    to_read = call("POST", f"/api/v1/accounts/{ACCOUNT}/holds", hold, 201)["id"]
    to_release = call("POST", f"/api/v1/accounts/{ACCOUNT}/holds", hold, 201)["id"]
    case = call("POST", "/api/v1/cases", {"account_id": ACCOUNT, "category": "other", "subject": "Question",
                                          "body": "How long does a review take?"}, 201)
    return {"SCHEMATHESIS_THAW_HOLD": to_read, "SCHEMATHESIS_THAW_HOLD_TO_RELEASE": to_release,
            "SCHEMATHESIS_THAW_CASE": case["number"]}


def run_pass(base, name, headers, args, work, seeded):
    cmd = [sys.executable, "-m", "schemathesis.cli", "--config-file", os.path.join(HERE, "schemathesis.toml"), "run", f"{base}/api/openapi.json",
           "--max-examples", str(args.max_examples),
           "--generation-deterministic",  # the same cases every run: no flakes, no seed
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
    env = dict(os.environ, **seeded, SCHEMATHESIS_HOOKS="schemathesis_hooks",
               PYTHONPATH=os.pathsep.join(filter(None, [HERE, os.environ.get("PYTHONPATH")])))
    code = subprocess.call(cmd, cwd=work, env=env)
    return code, time.monotonic() - started


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--thaw", default=default_binary(), help="the thaw binary")
    p.add_argument("--max-examples", type=int, default=int(os.environ.get("THAW_SCHEMATHESIS_EXAMPLES", "25")))
    p.add_argument("--postgres", metavar="URL", default=os.environ.get("THAW_TEST_POSTGRES_URL", ""),
                   help="a PostgreSQL server (admin URL) to create a throwaway database on, as scripts/test "
                        "does; default THAW_TEST_POSTGRES_URL, else SQLite in a temporary directory")
    p.add_argument("--keep", action="store_true", help="keep the work directory (server log, reports)")
    args = p.parse_args()
    if not os.access(args.thaw, os.X_OK):
        sys.exit(f"no thaw binary at {args.thaw}: build it with cargo build --bin thaw")
    try:
        import schemathesis  # noqa: F401  (run below as python3 -m schemathesis.cli)
    except ImportError:
        sys.exit("schemathesis is not installed: python3 -m pip install schemathesis==4.32.5 hypothesis==6.170.15 (as scripts/test does)")

    work = tempfile.mkdtemp(prefix="thaw-schemathesis.")
    args.database_url = ""
    if args.postgres:
        # PostgreSQL refuses what SQLite lets through (a NUL in text), so it is the stricter test.
        name = f"thaw_schemathesis_{os.getpid()}"
        psql(args.postgres, f"CREATE DATABASE {name}")
        args.database_url = args.postgres.rsplit("/", 1)[0] + "/" + name
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = thaw_env(args.database_url)
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
        key = thaw(args.thaw, work, args.database_url, "admin", "create-api-key", "--name", "schemathesis").strip().splitlines()[-1]
        password = "schemathesis correct horse"
        passes = [("API key", "api-key", [f"Authorization: Bearer {key}"])]
        # An admin reaches keys, webhooks, policy and oversight; a supervisor the desk's side of
        # holds and cases (place, release, internal notes), which admins may not touch.
        for role in STAFF_ROLES:
            email = f"{role}@desk.example"
            thaw(args.thaw, work, args.database_url, "admin", "create-staff", "--email", email, "--role", role,
                 "--password-stdin", stdin=password + "\n")
            session, csrf = sign_in(base, email, password)
            passes.append((f"{role} session", f"{role}-session",
                           [f"Cookie: thaw_session={session}", f"X-CSRF-Token: {csrf}"]))
        seeded = seed(base, key)
        for title, name, headers in passes:
            results.append((title,) + run_pass(base, name, headers, args, work, seeded))
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        if args.postgres:
            psql(args.postgres, f"DROP DATABASE IF EXISTS {args.database_url.rsplit('/', 1)[1]}")

    print(f"\n==> schemathesis summary ({'PostgreSQL' if args.postgres else 'SQLite'}, "
          f"{args.max_examples} examples per operation and phase)")
    for name, code, secs in results:
        print(f"  {name:18} {'passed' if code == 0 else 'FAILED'} in {secs:.0f} s")
    failed = [r for r in results if r[1] != 0]
    if failed or args.keep:
        print(f"  server log and JUnit reports kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
