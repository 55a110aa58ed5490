"""P8: webhook delivery under a steady change load, and what delivery costs the reads.

usage: webhooks.py deliver API TOKEN RATE SECONDS
       webhooks.py background API TOKEN RATE READY_FILE

Both start a receiver in a process of its own (asyncio, 127.0.0.1, a free port) that answers
200 at once, and subscribe it (as TOKEN, the owner) to "*"; the subscription is deleted at the
end. The changes are renames of the accounts seed.py makes (PUT /v1/accounts/t-N {name}),
sent open loop at RATE per second from 32 threads with keep-alive connections, each with an
X-Request-Id of its own: a change's commit is the moment its 2xx arrives, its receipt the
moment the receiver has read the delivery whose event carries that requestId (the first, if
it comes more than once). One clock (CLOCK_MONOTONIC) for both processes.

deliver: the load runs SECONDS, then up to 10 s more for the deliveries still on their way.
  Prints one line: changes/s, deliveries/s (both counted over the load after its first second,
  the changes by commit and the deliveries by receipt: equal when delivery keeps up), p50 and
  p99 commit-to-receipt in ms, changes not delivered within 10 s after the load, deliveries
  that came again, sends that left more than 50 ms behind schedule.
background: the load runs until SIGTERM; READY_FILE is written once the first delivery has
  come. Prints one line on SIGTERM: changes/s sent, deliveries received.
Fails loudly on any answer but 2xx.
"""
import asyncio
import http.client
import json
import multiprocessing as mp
import os
import signal
import statistics
import sys
import threading
import time
import urllib.parse
import uuid

THREADS = 32
ACCOUNTS = 200  # t-1 .. t-200: seed.py makes thousands
GRACE = 10.0  # seconds after the load for the last deliveries


# -- the receiver (its own process) --------------------------------------------------------

def receive(port_out, stop, seen, prefix, results):
    """Serve until `stop`; then send [(receipt, requestId, webhook-id)] of events whose
    requestId starts with `prefix` through `results`. `seen` counts distinct such requestIds."""
    got = []
    ids = set()

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length, hook_id = 0, None
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"webhook-id":
                        hook_id = value.strip().decode()
                body = await reader.readexactly(length)
                at = time.monotonic()
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                rid = json.loads(body).get("requestId") or ""
                if rid.startswith(prefix):
                    got.append((at, rid, hook_id))
                    if rid not in ids:
                        ids.add(rid)
                        with seen.get_lock():
                            seen.value += 1
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the sender closed the connection, or the receiver stops
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_out.send(server.sockets[0].getsockname()[1])
        while not stop.is_set():
            await asyncio.sleep(0.05)
        server.close()

    asyncio.run(main())
    results.send(got)


class Receiver:
    def __init__(self, prefix):
        self.stop, self.seen = mp.Event(), mp.Value("l", 0)
        port_in, port_out = mp.Pipe(False)
        self.results_in, results_out = mp.Pipe(False)
        self.proc = mp.Process(target=receive, args=(port_out, self.stop, self.seen, prefix, results_out), daemon=True)
        self.proc.start()
        self.url = f"http://127.0.0.1:{port_in.recv()}/p8"

    def finish(self):
        self.stop.set()
        got = self.results_in.recv()
        self.proc.join(5)
        return got


# -- the API -------------------------------------------------------------------------------

class Api:
    def __init__(self, api, token):
        u = urllib.parse.urlparse(api)
        self.host, self.port, self.token = u.hostname, u.port, token

    def conn(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    def call(self, method, path, body=None, conn=None, request_id=None):
        c = conn or self.conn()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if request_id:
            headers["X-Request-Id"] = request_id
        c.request(method, path, None if body is None else json.dumps(body), headers)
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        return r.status, data


def subscribe(api, url):
    status, body = api.call("POST", "/v1/webhooks", {"url": url, "events": ["*"], "description": "bench P8"})
    if status != 201:
        sys.exit(f"P8: subscribing answered {status} {body[:300]!r}")
    return json.loads(body)["id"]


def unsubscribe(api, hook):
    """Delete the subscription; a 503 (busy) is tried again, a left-over one would skew the next run."""
    for attempt in range(20):
        status, body = api.call("DELETE", f"/v1/webhooks/{hook}")
        if status in (204, 404):
            if attempt:
                print(f"P8: deleting {hook} took {attempt + 1} tries (503 before)", file=sys.stderr)
            return
        if status != 503:
            break
        time.sleep(0.5)
    sys.exit(f"P8: deleting {hook} answered {status} {body[:300]!r}")


def load(api, rate, prefix, secs, stop):
    """Renames at `rate`/s for `secs` or until `stop`: the start, {requestId: commit}, late sends."""
    commits, errors, late = {}, [], [0]
    lock = threading.Lock()
    counter = iter(range(10 ** 9))
    t0 = time.monotonic()
    until = t0 + secs

    def worker():
        conn = api.conn()
        while not stop.is_set() and not errors:
            with lock:
                k = next(counter)
            due = t0 + k / rate
            if due >= until:
                return
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            elif wait < -0.05:
                with lock:
                    late[0] += 1
            rid = f"{prefix}-{k}"
            try:
                status, body = api.call("PUT", f"/v1/accounts/t-{k % ACCOUNTS + 1}", {"name": f"Node {prefix} {k}"},
                                        conn=conn, request_id=rid)
            except (OSError, http.client.HTTPException) as e:
                errors.append(f"PUT: {e!r}")
                return
            at = time.monotonic()
            if not 200 <= status < 300:
                errors.append(f"PUT answered {status} {body[:300]!r}")
                return
            with lock:
                commits[rid] = at

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"P8: {errors[0]}")
    return t0, commits, late[0]


def deliver(api, rate, secs):
    prefix = f"p8-{uuid.uuid4().hex[:8]}"
    receiver = Receiver(prefix)
    hook = subscribe(api, receiver.url)
    try:
        t0, commits, late = load(api, rate, prefix, secs, threading.Event())
        end = t0 + secs
        deadline = time.monotonic() + GRACE
        while receiver.seen.value < len(commits) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        unsubscribe(api, hook)
        got = receiver.finish()
    first = {}
    for at, rid, _ in got:
        if rid in commits and (rid not in first or at < first[rid]):
            first[rid] = at
    latencies = sorted((first[r] - commits[r]) * 1000 for r in first)
    missing = [r for r in commits if r not in first]
    if missing:
        print(f"P8: {len(missing)} changes not delivered within {GRACE:.0f} s after the load, e.g. "
              f"{', '.join(missing[:5])}", file=sys.stderr)
    dups = len(got) - len({h for _, _, h in got})
    # Rates over the load after its first second (the first second fills the pipes).
    lo = t0 + 1 if secs > 1 else t0
    made = sum(1 for at in commits.values() if lo <= at <= end)
    came = sum(1 for at in first.values() if lo <= at <= end)
    p = (lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]) if latencies else (lambda q: float("nan"))
    print(f"{made / (end - lo):.1f} {came / (end - lo):.1f} {statistics.median(latencies) if latencies else float('nan'):.0f} "
          f"{p(0.99):.0f} {len(missing)} {dups} {late}")


def background(api, rate, ready_file):
    prefix = f"p8bg-{uuid.uuid4().hex[:8]}"
    receiver = Receiver(prefix)
    hook = subscribe(api, receiver.url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    out = {}

    def run():
        out["result"] = load(api, rate, prefix, float("inf"), stop)

    loader = threading.Thread(target=run)
    try:
        loader.start()
        deadline = time.monotonic() + 30
        while receiver.seen.value == 0 and loader.is_alive():
            if time.monotonic() > deadline:
                stop.set()
                raise SystemExit("P8: no delivery within 30 s of the background load's start")
            time.sleep(0.02)
        with open(ready_file, "w") as f:
            f.write("ready\n")
        while not stop.is_set() and loader.is_alive():
            stop.wait(0.1)
        stop.set()
        loader.join()
    finally:
        unsubscribe(api, hook)
        got = receiver.finish()
    if "result" not in out:
        sys.exit("P8: the background load failed")
    t0, commits, _ = out["result"]
    print(f"{len(commits) / (time.monotonic() - t0):.1f} {len({r for _, r, _ in got})}")


if __name__ == "__main__":
    mode, api = sys.argv[1], Api(sys.argv[2], sys.argv[3])
    if mode == "deliver":
        deliver(api, float(sys.argv[4]), float(sys.argv[5]))
    elif mode == "background":
        background(api, float(sys.argv[4]), sys.argv[5])
    else:
        sys.exit(__doc__)
