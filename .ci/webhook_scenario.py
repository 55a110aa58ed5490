"""Webhook deliveries checked with an implementation nobody here wrote: standardwebhooks.

Run by .ci/conformance (the server started with WEBHOOK_ALLOW_PRIVATE=1): a receiver on
127.0.0.1 answers 500 to its first request and 200 after; the owner subscribes it to
account.*, creates an account, and every request the receiver gets is verified with
`standardwebhooks.Webhook(secret).verify`. The failed delivery comes again (the first retry,
about 5 s later) with the same webhook-id; a manual retry sends it once more; after a secret
rotation an account update verifies under the old secret and under the new one (both
signatures are sent for 24 h); a ping verifies; a tampered body does not.
"""

import http.server
import json
import os
import sys
import threading
import time
import uuid

import requests
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

API = os.environ["API"]
RUN = uuid.uuid4().hex[:8]
START = time.monotonic()


def expect(cond, what):
    if not cond:
        sys.exit(f"webhook scenario: {what}")


# -- the receiver --------------------------------------------------------------------------

received = []  # {at, headers, body, answered}, in arrival order
arrived = threading.Condition()


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver (the sender pools connections)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with arrived:
            answer = 500 if not received else 200
            received.append({"at": time.monotonic(), "path": self.path, "headers": dict(self.headers.items()),
                             "body": body, "answered": answer})
            arrived.notify_all()
        reply = b'{"error": "the first request fails on purpose"}' if answer == 500 else b""
        self.send_response(answer)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
RECEIVER = f"http://127.0.0.1:{server.server_address[1]}/hooks/{RUN}"


def wait_for(what, match, timeout):
    """The first received request after those already seen that `match` takes (header, event)."""
    deadline = time.monotonic() + timeout
    with arrived:
        while True:
            for r in received:
                if not r.get("taken") and match(r["headers"], json.loads(r["body"])):
                    r["taken"] = True
                    return r
            left = deadline - time.monotonic()
            expect(left > 0, f"{what} did not arrive within {timeout} s (received: "
                             f"{[json.loads(r['body']).get('type') for r in received]})")
            arrived.wait(left)


def header(r, name):
    return {k.lower(): v for k, v in r["headers"].items()}.get(name)


# -- the API -------------------------------------------------------------------------------

owner = requests.post(f"{API}/user/login", json={"email": os.environ["OWNER_EMAIL"],
                                                 "password": os.environ["OWNER_PASSWORD"]}).json()["token"]


def call(method, path, body=None, status=200, request_id=None):
    headers = {"Authorization": f"Bearer {owner}"}
    if request_id:
        headers["X-Request-Id"] = request_id
    r = requests.request(method, f"{API}{path}", json=body, headers=headers)
    expect(r.status_code == status, f"{method} {path} answered {r.status_code} {r.text}, not {status}")
    return r.json() if r.content else None


hook = call("POST", "/v1/webhooks", {"url": RECEIVER, "events": ["account.*"],
                                     "description": f"webhook scenario {RUN}"}, status=201)
old = hook["secret"]
expect(old.startswith("whsec_"), f"the secret {old[:10]}... is not whsec_")
HOOK = hook["id"]
print(f"standardwebhooks: subscribed {RECEIVER} to account.* ({HOOK})")

try:
    # An account: its account.created delivery fails once (500), then comes again.
    created_rid = f"whs-create-{RUN}"
    account = call("POST", "/v1/accounts", {"name": f"Webhook {RUN}", "email": f"wh-{RUN}@ci.test"},
                   status=201, request_id=created_rid)
    account = account.get("account", account)
    ACCOUNT = account["id"]

    def is_created(h, e):
        return e.get("type") == "account.created" and e.get("requestId") == created_rid

    first = wait_for("account.created", is_created, 15)
    event = Webhook(old).verify(first["body"], first["headers"])
    expect(first["answered"] == 500, "the first request was not the account.created delivery")
    for field in ("id", "type", "occurredAt", "accountId", "actorId", "requestId", "data"):
        expect(field in event, f"the event has no {field}: {event}")
    expect(header(first, "webhook-id") == event["id"], "webhook-id is not the event's id")
    expect(event["data"].get("id") == ACCOUNT and event["accountId"] == ACCOUNT,
           f"account.created is about {event['data'].get('id')}, not {ACCOUNT}")
    expect((header(first, "content-type") or "").startswith("application/json"), "the body is not sent as JSON")
    print(f"standardwebhooks: account.created {event['id']} verified; answered 500")

    again = wait_for("the retry of account.created", is_created, 20)
    Webhook(old).verify(again["body"], again["headers"])
    gap = again["at"] - first["at"]
    expect(header(again, "webhook-id") == header(first, "webhook-id"), "the retry has another webhook-id")
    expect(json.loads(again["body"]) == event, "the retry sent another body")
    # About 5 s (±20%) after the failure was recorded; a loose bound, the machine may be busy.
    expect(3.5 <= gap <= 15, f"the first retry came {gap:.1f} s after the failure, not about 5 s")
    print(f"standardwebhooks: the retry came {gap:.1f} s later with the same webhook-id, verified; answered 200")

    def delivery_of(event_id, want):
        """The delivery log's row for an event, once it shows `want`."""
        deadline = time.monotonic() + 10
        while True:
            rows = call("GET", f"/v1/webhooks/{HOOK}/deliveries?limit=100")["data"]
            row = next((d for d in rows if d["eventId"] == event_id), None)
            if row and want(row):
                return row
            expect(time.monotonic() < deadline, f"the delivery of {event_id} shows {row}")
            time.sleep(0.1)

    row = delivery_of(event["id"], lambda d: d["status"] == "succeeded")
    expect(row["attempts"] == 2 and row["lastStatus"] == 200 and row["eventType"] == "account.created",
           f"the delivery log shows {row}")
    for field in ("id", "eventId", "eventType", "status", "attempts", "lastStatus", "lastError",
                  "nextAttemptAt", "created"):
        expect(field in row, f"the delivery has no {field}: {row}")
    print(f"standardwebhooks: the delivery log shows {row['status']} after {row['attempts']} attempts")

    # A manual retry sends the same event again, under the same webhook-id.
    call("POST", f"/v1/webhooks/{HOOK}/deliveries/{row['id']}/retry", status=202)
    manual = wait_for("the manual retry", is_created, 10)
    Webhook(old).verify(manual["body"], manual["headers"])
    expect(header(manual, "webhook-id") == event["id"], "the manual retry has another webhook-id")
    print("standardwebhooks: a manual retry came again with the same webhook-id, verified")

    # A rotation: the next delivery carries both signatures, each verifies alone.
    new = call("POST", f"/v1/webhooks/{HOOK}/secret")["secret"]
    expect(new.startswith("whsec_") and new != old, "the rotation gave no new whsec_ secret")
    updated_rid = f"whs-update-{RUN}"
    call("PUT", f"/v1/accounts/{ACCOUNT}", {"name": f"Webhook {RUN} renamed"}, request_id=updated_rid)
    update = wait_for("account.updated", lambda h, e: e.get("type") == "account.updated"
                      and e.get("requestId") == updated_rid, 15)
    signatures = header(update, "webhook-signature").split(" ")
    expect(len(signatures) == 2 and all(s.startswith("v1,") for s in signatures),
           f"after a rotation webhook-signature is {header(update, 'webhook-signature')!r}")
    by_old = Webhook(old).verify(update["body"], update["headers"])
    by_new = Webhook(new).verify(update["body"], update["headers"])
    expect(by_old == by_new and by_new["data"].get("name") == f"Webhook {RUN} renamed",
           f"account.updated carries {by_new['data']}")
    print("standardwebhooks: after the rotation account.updated verified under the old and the new secret")

    # A ping, whatever the subscription's patterns.
    call("POST", f"/v1/webhooks/{HOOK}/ping", status=202)
    ping = wait_for("the ping", lambda h, e: e.get("type") == "webhook.ping", 10)
    pinged = Webhook(new).verify(ping["body"], ping["headers"])
    Webhook(old).verify(ping["body"], ping["headers"])
    expect(header(ping, "webhook-id") == pinged["id"], "the ping's webhook-id is not its id")
    print(f"standardwebhooks: ping {pinged['id']} verified")

    # What was tampered with does not verify.
    def refused(body, headers, secret, what):
        try:
            Webhook(secret).verify(body, headers)
        except WebhookVerificationError:
            return
        expect(False, f"{what} verified")

    tampered = update["body"].replace(b"renamed", b"hijacked")
    expect(tampered != update["body"], "nothing to tamper with")
    refused(tampered, update["headers"], new, "a tampered body")
    refused(tampered, update["headers"], old, "a tampered body (old secret)")
    refused(update["body"], dict(update["headers"], **{"webhook-id": "evt_other"}), new, "another webhook-id")
    refused(update["body"], update["headers"], "whsec_" + "QUJD" * 8, "a wrong secret")
    print("standardwebhooks: a tampered body, another webhook-id and a wrong secret are refused")

    # Every request the receiver got verifies (the old secret signs all of them, for 24 h).
    with arrived:
        everything = list(received)
    for r in everything:
        Webhook(old).verify(r["body"], r["headers"])
        expect(r["path"] == f"/hooks/{RUN}", f"a delivery went to {r['path']}")
    print(f"standardwebhooks: all {len(everything)} requests verified")
finally:
    requests.delete(f"{API}/v1/webhooks/{HOOK}", headers={"Authorization": f"Bearer {owner}"})
    server.shutdown()

print(f"webhook scenario passed in {time.monotonic() - START:.1f} s")
