"""Web-flow logins against a dev-mode node (its in-process fake GitHub), from
4 threads: authorize, GitHub's consent, the callback, then the poll that hands
out a new durable token. Prints "done failed [first three failures]".

    python3 bench/web_logins.py BASE SECONDS [PACE]

PACE: the least seconds one login of a thread takes (0: as fast as it goes).
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse

base, seconds = sys.argv[1], float(sys.argv[2])
pace = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
done, failed, lock = [0], [], threading.Lock()


def get(url):
    parts = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(parts.netloc, timeout=30)
    c.request("GET", parts.path + "?" + parts.query)
    r = c.getresponse()
    return r.status, r.getheader("Location"), r.read()


def login():
    s, _, body = get(base + "/v1/login/oauth2/web/authorize?provider=github")
    assert s == 200, (s, body)
    started = json.loads(body)
    s, back, _ = get(started["url"])
    assert s in (302, 303), ("github", s)
    s, _, _ = get(back)
    assert s in (200, 302, 303), ("callback", s)
    state = urllib.parse.quote(started["state"])
    s, _, body = get(base + "/v1/login/oauth2/web/poll?state=" + state)
    assert s == 200 and json.loads(body)["secret"]["value"], (s, body)


def worker():
    end = time.time() + seconds
    while time.time() < end:
        started_at = time.time()
        try:
            login()
            with lock:
                done[0] += 1
        except Exception as e:  # counted and reported, never fatal
            with lock:
                failed.append(repr(e))
        if pace:
            time.sleep(max(0.0, pace - (time.time() - started_at)))


threads = [threading.Thread(target=worker) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(done[0], len(failed), failed[:3])
