"""Start-to-ready of `accountd serve`: from the exec to the first 200 of `/readyz`, in ms.

    python3 bench/ready.py BIN [RUNS]   the median of RUNS starts (default 5), with the
                                        environment's DATABASE_URL; each instance is stopped
                                        (SIGTERM) before the next starts
"""

import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def once(binary):
    port = free_port()
    env = dict(os.environ, LISTEN_ADDR=f"127.0.0.1:{port}", SHUTDOWN_DELAY_SECS="0", RUST_LOG="warn")
    started = time.monotonic()
    p = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if p.poll() is not None:
                sys.exit(f"{binary} exited with {p.returncode} before it was ready")
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    return (time.monotonic() - started) * 1000
            except OSError:
                pass
            time.sleep(0.001)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=60)


runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
print(f"{statistics.median(once(sys.argv[1]) for _ in range(runs)):.0f}")
