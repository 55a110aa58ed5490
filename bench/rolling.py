"""Rolling restarts under load: three accountd instances on one PostgreSQL behind HAProxy.

Run by bench/rolling.sh (which installs HAProxy, builds, and makes the database). While a mixed
load runs through HAProxy (reads, logins at cost 4, child-account and user creations), each
instance in turn is stopped with SIGTERM and started again, then one is killed with SIGKILL
and started again. Reports requests sent and failed (5xx answers and connection errors; 4xx
are the load's own doing, not failures) by phase, and checks that every 201 the load
received is readable afterwards (no lost write).

Exit status 1 when a request failed during the SIGTERM restarts or a write was lost.
"""

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

BIN, DB, WORK = os.environ["BIN"], os.environ["DB"], os.environ["WORK"]
PORTS = [int(p) for p in os.environ["PORTS"].split(",")]
FRONT = int(os.environ["FRONT"])
WORKERS = int(os.environ.get("LOAD_WORKERS", "12"))
OWNER = ("owner@rolling.test", "rolling-owner-pw")
RUN = uuid.uuid4().hex[:6]


def start(i):
    """Instance i on its port, in a session of its own (as under a service manager)."""
    env = dict(
        os.environ,
        DATABASE_URL=DB,
        LISTEN_ADDR=f"127.0.0.1:{PORTS[i]}",
        # One issuer for the three: the address clients use (HAProxy's).
        ISSUER=f"http://127.0.0.1:{FRONT}",
        BCRYPT_COST="4",
        LOGIN_IP_MAX_FAILURES="100000",
        # The load's hashes are not what is measured: none of them is refused for a full queue.
        HASH_QUEUE_LIMIT="1000",
        MAIL_DIR=f"{WORK}/mail{i}",
        RUST_LOG="warn",
    )
    log = open(f"{WORK}/instance{i}.log", "a")
    started = time.monotonic()
    p = subprocess.Popen([BIN, "serve"], env=env, stdout=log, stderr=log, start_new_session=True)
    while not ready(PORTS[i]):
        if p.poll() is not None:
            sys.exit(f"instance {i} exited at start: see {WORK}/instance{i}.log")
        time.sleep(0.005)
    return p, time.monotonic() - started


def ready(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        c.request("GET", "/readyz")
        return c.getresponse().status == 200
    except OSError:
        return False


def call(conn, method, path, token=None, body=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = conn.getresponse()
    data = r.read()
    # HAProxy's own answers (502, 503) are HTML.
    is_json = (r.getheader("Content-Type") or "").startswith("application/json")
    return r.status, (json.loads(data) if data and is_json else None)


def front():
    return http.client.HTTPConnection("127.0.0.1", FRONT, timeout=30)


class Load:
    """Workers loop over reads, logins, child-account and user creations until stopped."""

    def __init__(self, token, account, user_email, user_password):
        self.token, self.account = token, account
        self.login = {"email": user_email, "password": user_password}
        self.phase = "warm-up"
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent, self.failed, self.created = {}, {}, []
        # Answers that are neither the expected success nor a failure (a 401 would mean an
        # instance refused another's token).
        self.unexpected = {}
        self.examples = []

    def count(self, table, n=1):
        with self.lock:
            table[self.phase] = table.get(self.phase, 0) + n

    def worker(self, w):
        conn, i = front(), 0
        while not self.stop.is_set():
            i += 1
            kind = ("read", "read", "login", "child", "user")[i % 5]
            try:
                if kind == "read":
                    status, _ = call(conn, "GET", f"/v1/accounts/{self.account}", self.token)
                elif kind == "login":
                    status, _ = call(conn, "POST", "/user/login", body=self.login)
                elif kind == "child":
                    status, body = call(
                        conn, "POST", f"/v1/accounts/{self.account}/children", self.token,
                        {"name": f"child {RUN} {w}-{i}"},
                    )
                    if status == 201:
                        with self.lock:
                            self.created.append(("account", body["id"]))
                else:
                    status, body = call(
                        conn, "POST", "/user/create", self.token,
                        {"email": f"u-{RUN}-{w}-{i}@rolling.test", "role": "user",
                         "password": "rolling-user-pw", "accountId": self.account},
                    )
                    if status == 201:
                        with self.lock:
                            self.created.append(("user", body["id"]))
                self.count(self.sent)
                if 400 <= status < 500:
                    with self.lock:
                        key = f"{kind} {status}"
                        self.unexpected[key] = self.unexpected.get(key, 0) + 1
                if status >= 500:
                    self.count(self.failed)
                    self.examples.append(f"{self.phase}: {kind} answered {status}")
            except (OSError, http.client.HTTPException) as e:
                self.count(self.sent)
                self.count(self.failed)
                self.examples.append(f"{self.phase}: {kind} {type(e).__name__} {e}")
                conn.close()
                conn = front()


def main():
    procs, ready_times = [], []
    for i in range(len(PORTS)):
        p, t = start(i)
        procs.append(p)
        ready_times.append(t)
    print("started 3 instances; start to ready " + ", ".join(f"{t * 1000:.0f} ms" for t in ready_times))
    # HAProxy marks them up after two good checks.
    time.sleep(1)
    c = front()
    status, s = call(c, "POST", "/user/login", body={"email": OWNER[0], "password": OWNER[1]})
    assert status == 200, (status, s)
    token = s["token"]
    status, acc = call(c, "POST", "/v1/accounts", token,
                       {"name": f"Rolling {RUN}", "email": f"rolling-{RUN}@rolling.test", "deviceSeats": 0})
    assert status == 201, (status, acc)
    account = acc["account"]["id"]
    status, u = call(c, "POST", "/user/create", token,
                     {"email": f"login-{RUN}@rolling.test", "role": "user", "password": "rolling-login-pw",
                      "accountId": account})
    assert status == 201, (status, u)

    load = Load(token, account, f"login-{RUN}@rolling.test", "rolling-login-pw")
    threads = [threading.Thread(target=load.worker, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    time.sleep(2)
    restarts = []
    for i in range(len(PORTS)):
        load.phase = "SIGTERM restarts"
        stopped = time.monotonic()
        procs[i].send_signal(signal.SIGTERM)
        code = procs[i].wait(timeout=60)
        down = time.monotonic() - stopped
        procs[i], t = start(i)
        restarts.append(f"instance {i}: exit {code} after {down:.1f} s, ready {t * 1000:.0f} ms after start")
        # Back in HAProxy's rotation (two checks 200 ms apart) before the next one stops.
        time.sleep(1.5)
    load.phase = "SIGKILL"
    procs[0].send_signal(signal.SIGKILL)
    procs[0].wait()
    time.sleep(1)
    procs[0], t = start(0)
    restarts.append(f"instance 0: killed, ready {t * 1000:.0f} ms after start")
    time.sleep(1.5)
    load.phase = "after"
    time.sleep(2)
    load.stop.set()
    for t in threads:
        t.join()
    for r in restarts:
        print(r)

    # Every write the load was told about is there.
    lost = []
    c = front()
    for kind, id_ in load.created:
        if kind == "account":
            status, _ = call(c, "GET", f"/v1/accounts/{id_}", token)
        else:
            status, _ = call(c, "POST", "/user/get", token, {"id": id_})
        if status != 200:
            lost.append((kind, id_, status))
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=60)

    total_sent = sum(load.sent.values())
    total_failed = sum(load.failed.values())
    print(f"requests sent {total_sent}, failed {total_failed} (5xx or connection errors)")
    for phase in ("warm-up", "SIGTERM restarts", "SIGKILL", "after"):
        print(f"  {phase}: sent {load.sent.get(phase, 0)}, failed {load.failed.get(phase, 0)}")
    for e in load.examples[:10]:
        print(f"  failure: {e}")
    print(f"writes answered 201: {len(load.created)}, lost: {len(lost)} {lost[:5]}")
    print(f"4xx answers: {load.unexpected or 'none'}")
    bad = load.failed.get("SIGTERM restarts", 0) + load.failed.get("warm-up", 0) + load.failed.get("after", 0)
    if bad or lost or load.unexpected:
        sys.exit("FAILED: requests failed outside the SIGKILL, a write was lost, or a 4xx came back")
    print("rolling restarts: 0 failed across the SIGTERM restarts, no write lost")


if __name__ == "__main__":
    main()
