"""P6: complete two-step logins (password, then a TOTP code) per second, at a concurrency.

usage: mfa.py DATABASE_URL API USERS CONNECTIONS SECONDS
Turns TOTP on for the seeded users bu-1..bu-USERS (one known secret, stored unsealed: the
bench sets no KEY_ENCRYPTION_KEY), then CONNECTIONS threads log in for SECONDS, each login with
a user of its own (a code is good once per user and step, so a user cannot log in twice in one
step). Prints the completed logins per second; fails loudly on any answer but 200 or 503.
"""
import base64
import hashlib
import hmac
import http.client
import json
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

url, api, users, conns, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
SECRET = b"p6-bench-totp-secret"  # 20 bytes
stored = base64.b64encode(SECRET).decode()
sql = ("DELETE FROM mfa_totp WHERE user_id LIKE 'bu-%';"
       f"INSERT INTO mfa_totp (user_id, secret, confirmed, last_step, created) "
       f"SELECT id, '{stored}', TRUE, 0, 1 FROM users WHERE id LIKE 'bu-%' AND CAST(SUBSTR(id, 4) AS INTEGER) <= {users};")
if url.startswith("sqlite://"):
    import sqlite3
    db = sqlite3.connect(url[len("sqlite://"):], timeout=30)
    db.executescript("BEGIN;" + sql + "COMMIT;")
    db.close()
else:
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True)


def totp(at):
    """RFC 6238 with SHA-1, 6 digits, 30 s, from the standard library."""
    mac = hmac.new(SECRET, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    o = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000)


target = urllib.parse.urlparse(api)
next_user = iter(range(1, users + 1))
lock = threading.Lock()
done, busy, errors = [0], [0], []
stop_at = time.monotonic() + secs


def post(conn, path, body):
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, json.loads(r.read() or b"null")


def worker():
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    while time.monotonic() < stop_at:
        with lock:
            i = next(next_user, None)
        if i is None:
            errors.append("ran out of users: raise USERS")
            return
        status, body = post(conn, "/user/login", {"email": f"bu{i}@bench.test", "password": "bench-password"})
        if status == 503:
            with lock:
                busy[0] += 1
            continue
        if status != 200 or not body.get("mfaRequired"):
            errors.append(f"login {status} {body}")
            return
        status, body = post(conn, "/user/login/mfa", {"mfaToken": body["mfaToken"], "code": totp(time.time())})
        if status != 200:
            errors.append(f"second step {status} {body}")
            return
        if time.monotonic() < stop_at:
            with lock:
                done[0] += 1


threads = [threading.Thread(target=worker) for _ in range(conns)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if errors:
    sys.exit(f"P6: {errors[0]}")
print(f"{done[0] / secs:.2f} {busy[0]}")
