"""The OAuth endpoints through a client library nobody here wrote: authlib's OAuth2Session.

Run by .ci/conformance: the owner registers a confidential and a public client; with each,
authlib fetches a token (password grant; client_secret_basic, client_secret_post, none),
calls the API with it and refreshes it; the confidential client introspects its token with
its own credentials and revokes the refresh token, and the session ends. A wrong secret is
refused with invalid_client.
"""

import os
import sys

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError

API = os.environ["API"]
TOKEN_URL = f"{API}/v1/auth/token"
USER, PASSWORD = os.environ["OWNER_EMAIL"], os.environ["OWNER_PASSWORD"]


def expect(cond, what):
    if not cond:
        sys.exit(f"authlib scenario: {what}")


owner = requests.post(f"{API}/user/login", json={"email": USER, "password": PASSWORD}).json()["token"]


def register(name, confidential):
    r = requests.post(f"{API}/v1/clients", json={"name": name, "confidential": confidential},
                      headers={"Authorization": f"Bearer {owner}"})
    expect(r.status_code == 201, f"registering {name} answered {r.status_code} {r.text}")
    return r.json()


backend = register("ci backend", True)
spa = register("ci dashboard", False)
print(f"authlib: registered {backend['client_id']} (confidential) and {spa['client_id']} (public)")

for method in ("client_secret_basic", "client_secret_post"):
    client = OAuth2Session(client_id=backend["client_id"], client_secret=backend["client_secret"],
                           token_endpoint_auth_method=method)
    token = client.fetch_token(TOKEN_URL, username=USER, password=PASSWORD)
    expect(token["token_type"] == "Bearer" and token.get("refresh_token"), f"fetch_token answered {token}")
    expect(client.get(f"{API}/v1/accounts").status_code == 200, "the fetched token does not read")
    refreshed = client.refresh_token(TOKEN_URL)
    expect(refreshed["access_token"] != token["access_token"], "refresh gave the same access token")
    expect(client.get(f"{API}/v1/accounts").status_code == 200, "the refreshed token does not read")
    print(f"authlib: {method}: fetched, read, refreshed")

# The confidential client introspects with its own credentials (authlib sends them as it
# authenticates at the token endpoint), then revokes.
seen = client.introspect_token(f"{API}/v1/auth/introspect", token=refreshed["access_token"]).json()
expect(seen.get("active") is True and seen.get("token_type") == "access_token", f"introspection: {seen}")
print(f"authlib: introspected as the client (sub {seen['sub']})")
r = client.revoke_token(f"{API}/v1/auth/revoke", token=refreshed["refresh_token"], token_type_hint="refresh_token")
expect(r.status_code == 200, f"revocation answered {r.status_code}")
expect(client.get(f"{API}/v1/accounts").status_code == 401, "the session's access token outlived its revocation")
print("authlib: revoked the refresh token; the session's access token is refused")

public = OAuth2Session(client_id=spa["client_id"], token_endpoint_auth_method="none")
token = public.fetch_token(TOKEN_URL, username=USER, password=PASSWORD)
expect(public.get(f"{API}/v1/accounts").status_code == 200, "the public client's token does not read")
public.refresh_token(TOKEN_URL)
print("authlib: none (public client): fetched and refreshed")

wrong = OAuth2Session(client_id=backend["client_id"], client_secret="cs_wrong",
                      token_endpoint_auth_method="client_secret_basic")
try:
    wrong.fetch_token(TOKEN_URL, username=USER, password=PASSWORD)
    expect(False, "a wrong client secret got a token")
except OAuthError as e:
    expect(e.error == "invalid_client", f"a wrong client secret answered {e.error}")
print("authlib: a wrong client secret is invalid_client")
print("oauth scenario passed")
