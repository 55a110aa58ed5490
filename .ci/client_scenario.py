"""A full scenario driven only through the Python client generated from openapi.yaml.

Run by .ci/conformance with PYTHONPATH pointing at the generated `accountd_client` package:
owner login, create an account, create an admin and a user in it, log in as each, find users
page by page (typed `UserPage` items), filter groups by label, update a user, remove a user.
"""

import os
import sys
import uuid

import httpx
import jwt

from accountd_client import AuthenticatedClient, Client
from accountd_client.api.accounts import create_account
from accountd_client.api.users import create_user, find_users, get_user, login, remove_user, update_user
from accountd_client.api.groups import create_group, list_groups
from accountd_client.models import (
    CreateAccount,
    CreateGroup,
    CreateUser,
    FindUsers,
    GroupPage,
    Labels,
    Login,
    UpdateUser,
    User,
    UserPage,
    UserRef,
)

API = os.environ["API"]
RUN = uuid.uuid4().hex[:8]


def expect(response, status):
    """The parsed body of a response that must have `status`."""
    if response.status_code != status:
        sys.exit(f"expected {status}, got {response.status_code}: {response.content!r}")
    return response.parsed


def session(email, password):
    """Log in and return a client that sends the access token."""
    s = expect(login.sync_detailed(client=Client(base_url=API), body=Login(email=email, password=password)), 200)
    return AuthenticatedClient(base_url=API, token=s.token), s


owner, owner_session = session(os.environ["OWNER_EMAIL"], os.environ["OWNER_PASSWORD"])
print("owner logged in")

# Another service verifies the token with nothing but the published keys (PyJWT's JWKS client).
metadata = httpx.get(f"{API}/.well-known/oauth-authorization-server").json()
signing_key = jwt.PyJWKClient(metadata["jwks_uri"]).get_signing_key_from_jwt(owner_session.token)
claims = jwt.decode(owner_session.token, signing_key.key, algorithms=["EdDSA"], issuer=metadata["issuer"])
assert claims["sub"] == owner_session.user.id, claims
print(f"token verified with the JWKS alone (kid {signing_key.key_id})")

created = expect(
    create_account.sync_detailed(client=owner, body=CreateAccount(name=f"Acme {RUN}", email=f"acme-{RUN}@example.com")),
    201,
)
account_id = created.account.id
print(f"account {account_id} created with its first user {created.user.email}")

people = {}
for role in ("admin", "user"):
    email = f"{role}-{RUN}@example.com"
    password = f"{role}-password-{RUN}"
    u = expect(
        create_user.sync_detailed(
            client=owner,
            body=CreateUser(email=email, role=role, password=password, account_id=account_id, first=role.title()),
        ),
        201,
    )
    assert u.role == role and u.account_id == account_id, u
    people[role] = (u, password)
print("admin and user created")

clients = {}
for role, (u, password) in people.items():
    clients[role], s = session(u.email, password)
    assert s.user.id == u.id and s.user.role == role and s.account.id == account_id, s
print("admin and user logged in")

# The admin pages through its account's users two at a time.
seen, cursor, pages = [], None, 0
while True:
    body = FindUsers(limit=2, account_id=account_id) if cursor is None else FindUsers(limit=2, next_=cursor)
    page = expect(find_users.sync_detailed(client=clients["admin"], body=body), 200)
    assert isinstance(page, UserPage) and all(isinstance(u, User) for u in page.data), page
    pages += 1
    seen += [u.email for u in page.data]
    cursor = page.next_
    if not cursor:
        break
expected = {created.user.email} | {u.email for u, _ in people.values()}
assert sorted(seen) == sorted(expected), (seen, expected)
print(f"found {len(seen)} users in {pages} pages")

# A plain user sees only itself.
mine = expect(find_users.sync_detailed(client=clients["user"], body=FindUsers()), 200)
assert [u.id for u in mine.data] == [people["user"][0].id], mine

# Groups filtered by label, through the client's own `label` parameter.
for gid, site in (("ops", "berlin"), ("dev", "berlin"), ("sales", "paris")):
    labels = Labels.from_dict({"site": site, "team": gid})
    expect(create_group.sync_detailed(client=clients["admin"], body=CreateGroup(id=gid, labels=labels)), 201)
berlin = expect(list_groups.sync_detailed(client=clients["admin"], label=["site=berlin"]), 200)
assert isinstance(berlin, GroupPage) and sorted(g.id for g in berlin.data) == ["dev", "ops"], berlin
ops = expect(list_groups.sync_detailed(client=clients["admin"], label=["site=berlin", "team=ops"]), 200)
assert [g.id for g in ops.data] == ["ops"], ops
print("groups filtered by label")

user_id = people["user"][0].id
updated = expect(
    update_user.sync_detailed(client=clients["admin"], body=UpdateUser(id=user_id, first="Renamed", last="Person")),
    200,
)
assert updated.first == "Renamed" and updated.last == "Person", updated
again = expect(get_user.sync_detailed(client=owner, body=UserRef(id=user_id)), 200)
assert again.first == "Renamed", again
print("user updated")

expect(remove_user.sync_detailed(client=clients["admin"], body=UserRef(id=user_id)), 204)
expect(get_user.sync_detailed(client=owner, body=UserRef(id=user_id)), 404)
gone = login.sync_detailed(client=Client(base_url=API), body=Login(email=people["user"][0].email, password=people["user"][1]))
assert gone.status_code == 401, gone
print("user removed; its login is refused")
print("client scenario passed")
