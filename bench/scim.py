"""SCIM `GET /scim/v2/Users` at the size of seed.py's bench-bulk account (USERS users).

usage: scim.py API OWNER_TOKEN USERS SAMPLES

As the owner (OWNER_TOKEN), creates an admin in bench-bulk (the SCIM tenant is the admin's
account), logs it in and mints its personal access token; every SCIM request below carries it.
One keep-alive connection; each figure is the median of SAMPLES answers (the cursor pages taken
in turns, first and deep, so a drift of the machine's speed weighs on both alike), timed from
the request's first byte sent to the last byte of the answer read.

- cursor paging (RFC 9865): page 1 is `cursor=&count=100`; page USERS/100 (10,000 at 1,000,000)
  is reached by following `nextCursor` (count=1000 and attributes=id to get there in fewer
  answers, then count=100), and timed with its own cursor and count=100.
- filter: `userName eq "buN@bench.test"`, N = USERS/2 (seed.py's emails; userName is the email
  when the user has no username); it must find exactly that user. For contrast, `userName co`
  of the same digits (a LIKE '%...%' that no index answers; 3 answers).
- index paging: `startIndex=1&count=100` and `startIndex=USERS-99&count=100` (the same items as
  the deep cursor page), 5 answers each: its cost grows with startIndex.

Prints one line: page-1 ms, deep-page ms, deep / first, filter eq ms, filter co ms, startIndex=1
ms, startIndex=USERS-99 ms, seconds the walk to the deep page took, its answers, totalResults.
Fails loudly on any unexpected answer.
"""
import http.client
import json
import statistics
import sys
import time
import urllib.parse
import uuid

api, owner, users, samples = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
url = urllib.parse.urlsplit(api)
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)


def fail(what):
    sys.exit(f"bench/scim.py: {what}")


def request(method, path, token, body=None, status=200):
    """(seconds, parsed answer)"""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    data = json.dumps(body).encode() if body is not None else None
    started = time.perf_counter()
    conn.request(method, path, body=data, headers=headers)
    r = conn.getresponse()
    raw = r.read()
    took = time.perf_counter() - started
    if r.status != status:
        fail(f"{method} {path} answered {r.status} {raw[:500]!r}, not {status}")
    return took, (json.loads(raw) if raw else None)


def users_page(token, **params):
    query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    took, page = request("GET", f"/scim/v2/Users?{query}", token)
    if "urn:ietf:params:scim:api:messages:2.0:ListResponse" not in page.get("schemas", []):
        fail(f"GET /scim/v2/Users?{query} is not a ListResponse: {str(page)[:300]}")
    return took, page


def median_ms(times):
    return statistics.median(times) * 1000


# -- the tenant's admin and its token ------------------------------------------------------

run = uuid.uuid4().hex[:8]
email, password = f"scim-bench-{run}@bench.test", f"scim bench password {run}"
request("POST", "/user/create", owner, {"email": email, "role": "admin", "password": password,
                                        "accountId": "bench-bulk"}, status=201)
session = request("POST", "/user/login", None, {"email": email, "password": password})[1]["token"]
pat = request("POST", "/v1/tokens", session, {"description": "bench scim"}, status=201)[1]["token"]

_, config = request("GET", "/scim/v2/ServiceProviderConfig", pat)
big = max(100, min(1000, (config.get("filter") or {}).get("maxResults") or 1000) // 100 * 100)

# -- cursor paging: page 1 and page USERS/100 ------------------------------------------------

_, first = users_page(pat, cursor="", count=100)
total = first.get("totalResults")
if len(first.get("Resources", [])) != 100 or not first.get("nextCursor"):
    fail(f"page 1 has {len(first.get('Resources', []))} users and nextCursor {first.get('nextCursor')!r}")
skip = (users // 100 - 1) * 100  # the users before page USERS/100
walk_started, answers, at, cursor = time.perf_counter(), 0, 0, ""
while at < skip:
    count = big if skip - at >= big else 100
    _, page = users_page(pat, cursor=cursor, count=count, attributes="id")
    answers += 1
    got = len(page.get("Resources", []))
    if got != count or not page.get("nextCursor"):
        fail(f"the page at {at} with count={count} has {got} users and nextCursor {page.get('nextCursor')!r}")
    at, cursor = at + got, page["nextCursor"]
walk = time.perf_counter() - walk_started
_, deep = users_page(pat, cursor=cursor, count=100)
if len(deep.get("Resources", [])) != 100:
    fail(f"page {users // 100} has {len(deep.get('Resources', []))} users, not 100")
if {u["id"] for u in deep["Resources"]} & {u["id"] for u in first["Resources"]}:
    fail(f"page {users // 100} repeats users of page 1")

for _ in range(3):  # warm up
    users_page(pat, cursor="", count=100)
    users_page(pat, cursor=cursor, count=100)
t_first, t_deep = [], []
for i in range(samples):
    order = (("first", ""), ("deep", cursor)) if i % 2 == 0 else (("deep", cursor), ("first", ""))
    for which, c in order:
        (t_first if which == "first" else t_deep).append(users_page(pat, cursor=c, count=100)[0])

# -- filter userName eq, from an index -------------------------------------------------------

n = users // 2
wanted = f"bu{n}@bench.test"
t_eq = []
for _ in range(samples + 3):
    took, page = users_page(pat, filter=f'userName eq "{wanted}"')
    found = [u.get("userName", "").lower() for u in page.get("Resources", [])]
    if page.get("totalResults") != 1 or found != [wanted]:
        fail(f'filter userName eq "{wanted}" found {page.get("totalResults")} users: {found[:5]}')
    t_eq.append(took)
t_eq = t_eq[3:]
t_co = []
for _ in range(3):
    took, page = users_page(pat, filter=f'userName co "u{n}@"', count=100)
    if page.get("totalResults") != 1:
        fail(f'filter userName co "u{n}@" found {page.get("totalResults")} users, not 1')
    t_co.append(took)

# -- index paging: startIndex=1 and startIndex=USERS-99 -------------------------------------

t_idx1, t_idxn = [], []
for i in range(5):
    for start in ((1, skip + 1) if i % 2 == 0 else (skip + 1, 1)):
        took, page = users_page(pat, startIndex=start, count=100)
        if len(page.get("Resources", [])) != 100 or page.get("startIndex") != start:
            fail(f"startIndex={start}: {len(page.get('Resources', []))} users, startIndex {page.get('startIndex')}")
        (t_idx1 if start == 1 else t_idxn).append(took)

f, d = median_ms(t_first), median_ms(t_deep)
print(f"{f:.2f} {d:.2f} {d / f:.2f} {median_ms(t_eq):.2f} {median_ms(t_co):.1f} "
      f"{median_ms(t_idx1):.2f} {median_ms(t_idxn):.1f} {walk:.1f} {answers} {total}")
