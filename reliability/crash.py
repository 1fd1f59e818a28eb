#!/usr/bin/env python3
"""Crash safety (issue 15, point 3): loads a server with token creation,
device-flow logins and refresh-token rotation, kills it with SIGKILL at random
moments, restarts it, and checks that nothing acknowledged was lost and
nothing half-written remains. Run by reliability/crash.sh on SQLite and on
PostgreSQL; prints one summary line per backend.

    python3 reliability/crash.py --binary target/release/latchkey \
        --database-url sqlite:///tmp/crash.db --kills 20

Checks after every restart:
- every API token whose creation or login answered 200 still validates (the
  ones acknowledged since the last kill, and a sample of the older ones; all
  of them at the end);
- each refresh chain's last acknowledged refresh token still rotates (a
  rotation in flight at the kill may have committed: the retry within the
  grace window gets the same pair, so the chain survives either way);
- the database holds no orphan: no token without its account, no access or
  refresh token without its grant, and SQLite's integrity_check is "ok".
"""
import argparse
import base64
import http.client
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse

FAR = "2100-01-01T00:00:00Z"


class Server:
    def __init__(self, args, port, workdir):
        self.args, self.port, self.workdir = args, port, workdir
        self.proc = None

    def start(self):
        log = open(os.path.join(self.workdir, "server.log"), "a")
        self.proc = subprocess.Popen(
            [self.args.binary, "serve", "--dev", "--listen", f"127.0.0.1:{self.port}",
             "--database-url", self.args.database_url,
             "--bootstrap-token-file", os.path.join(self.workdir, "admin-token"),
             "--login-rate-limit-per-minute", "1000000"],
            stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if call("GET", self.port, "/healthcheck")[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                sys.exit(f"the server exited; see {self.workdir}/server.log")
            time.sleep(0.02)
        sys.exit("the server did not answer /healthcheck")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def call(method, port, path, body=None, headers=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = None
    headers = dict(headers or {})
    if isinstance(body, dict):
        data = json.dumps(body)
        headers["Content-Type"] = "application/json"
    elif isinstance(body, str):
        data = body
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    try:
        return response.status, json.loads(raw) if raw else None
    except ValueError:
        return response.status, None


class Load:
    """Worker threads that record only what the server acknowledged."""

    def __init__(self, port, admin, account, basic, chains):
        self.port, self.admin, self.account, self.basic = port, admin, account, basic
        self.lock = threading.Lock()
        self.tokens = []          # (secret, how) acknowledged with a 200
        self.fresh = []           # acknowledged since the last check
        self.chains = chains      # [last acknowledged refresh token]
        self.stop = threading.Event()
        self.counts = {"create": 0, "login": 0, "refresh": 0, "failed": 0}
        self.errors = []          # what a worker saw that must not happen

    def _ack(self, secret, how):
        with self.lock:
            self.tokens.append((secret, how))
            self.fresh.append((secret, how))
            self.counts[how] += 1

    def create(self):
        while not self.stop.is_set():
            try:
                status, body = call("POST", self.port, f"/v1/accounts/{self.account}/tokens",
                                    {"expiresAt": FAR}, {"Authorization": f"Bearer {self.admin}"})
                if status == 200:
                    self._ack(body["secret"]["value"], "create")
            except (OSError, http.client.HTTPException):
                self.counts["failed"] += 1
                time.sleep(0.05)

    def login(self):
        while not self.stop.is_set():
            try:
                status, started = call("POST", self.port, "/login/oauth2/device/start")
                if status != 200:
                    continue
                status, done = call("POST", self.port, "/login/oauth2/device/complete",
                                    json.dumps(started["encodedSession"]),
                                    {"Content-Type": "application/json"}, timeout=60)
                if status == 200:
                    self._ack(done["secret"]["value"], "login")
            except (OSError, http.client.HTTPException):
                self.counts["failed"] += 1
                time.sleep(0.05)

    def refresh(self, i):
        while not self.stop.is_set():
            token = self.chains[i]
            try:
                form = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": token})
                status, body = call("POST", self.port, "/oauth/token", form,
                                    {"Authorization": f"Basic {self.basic}"})
                if status == 200:
                    with self.lock:
                        self.chains[i] = body["refresh_token"]
                        self.counts["refresh"] += 1
                elif status == 400:
                    self.errors.append(f"LOST: chain {i}'s acknowledged refresh token was refused: {body}")
                    return
            except (OSError, http.client.HTTPException):
                self.counts["failed"] += 1
                time.sleep(0.05)


def orphans(url):
    """Rows that refer to nothing: a half-written state."""
    checks = [
        "SELECT COUNT(*) FROM tokens t WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = t.account_id)",
        "SELECT COUNT(*) FROM oauth_access_tokens t WHERE t.grant_id IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM oauth_grants g WHERE g.id = t.grant_id)",
        "SELECT COUNT(*) FROM oauth_refresh_tokens t WHERE NOT EXISTS "
        "(SELECT 1 FROM oauth_grants g WHERE g.id = t.grant_id)",
    ]
    if url.startswith("sqlite"):
        path = url.split("://", 1)[1]
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        found = [db.execute(q).fetchone()[0] for q in checks]
        integrity = db.execute("PRAGMA quick_check").fetchone()[0]
        db.close()
        return found, integrity
    found = [int(subprocess.run(["psql", url, "-Atc", q], capture_output=True, text=True,
                                check=True).stdout.strip()) for q in checks]
    return found, "ok"


def verify(load, port, everything):
    with load.lock:
        fresh, load.fresh = load.fresh, []
        older = list(load.tokens)
        chains = list(load.chains)
    if load.errors:
        sys.exit(load.errors[0])
    check = fresh + (older if everything else random.sample(older, min(200, len(older))))
    for secret, how in check:
        status, body = call("GET", port, "/v1/login/token", headers={"Authorization": f"Bearer {secret}"})
        if status != 200:
            sys.exit(f"LOST: a token acknowledged by {how} answers {status}: {body}")
    return len(check), len(chains)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--port", type=int, default=19960)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--chains", type=int, default=4)
    args = parser.parse_args()
    random.seed(os.environ.get("SEED", "latchkey"))

    server = Server(args, args.port, args.workdir)
    server.start()
    admin = open(os.path.join(args.workdir, "admin-token")).read().strip()
    account = call("GET", args.port, "/v1/login/token", headers={"Authorization": f"Bearer {admin}"})[1]["accountId"]
    pairs = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "..", "bench", "refresh_tokens.py"),
                            f"http://127.0.0.1:{args.port}", admin, str(args.chains)],
                           capture_output=True, text=True, check=True).stdout.split()
    basic, chains = pairs[0], pairs[1:]
    load = Load(args.port, admin, account, basic, chains)
    workers = [threading.Thread(target=load.create, daemon=True) for _ in range(2)]
    workers += [threading.Thread(target=load.login, daemon=True)]
    workers += [threading.Thread(target=load.refresh, args=(i,), daemon=True) for i in range(len(chains))]
    for w in workers:
        w.start()
    checked = 0
    for kill in range(1, args.kills + 1):
        time.sleep(random.uniform(0.3, 2.5))
        server.kill()
        found, integrity = orphans(args.database_url)
        if any(found) or integrity != "ok":
            sys.exit(f"HALF-WRITTEN after kill {kill}: orphans {found}, integrity {integrity}")
        server.start()
        n, _ = verify(load, args.port, everything=False)
        checked += n
    load.stop.set()
    for w in workers:
        w.join(timeout=15)
    n, chains_alive = verify(load, args.port, everything=True)
    for i, token in enumerate(load.chains):
        form = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": token})
        status, body = call("POST", args.port, "/oauth/token", form, {"Authorization": f"Basic {basic}"})
        if status != 200:
            sys.exit(f"LOST: chain {i}'s last acknowledged refresh token answers {status}: {body}")
    server.kill()
    c = load.counts
    print(f"{args.kills} SIGKILLs; acknowledged: {c['create']} creations, {c['login']} logins, "
          f"{c['refresh']} rotations over {len(load.chains)} chains; connection errors during kills: "
          f"{c['failed']}; lost: 0; every acknowledged token checked at the end ({n}); "
          f"orphans after each kill: 0")


if __name__ == "__main__":
    main()
