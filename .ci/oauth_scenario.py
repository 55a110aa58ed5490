"""The OAuth endpoints through a client library nobody here wrote: authlib's OAuth2Session.

Run by .ci/conformance: fetch a token (password grant, a public client), call the API with
it, refresh it, introspect it (with the owner's bearer token: there is no client registry
yet), revoke the refresh token, and see the session end.
"""

import os
import sys

from authlib.integrations.requests_client import OAuth2Session

API = os.environ["API"]
TOKEN_URL = f"{API}/v1/auth/token"


def expect(cond, what):
    if not cond:
        sys.exit(f"authlib scenario: {what}")


client = OAuth2Session(client_id="accountd-ci", token_endpoint_auth_method="none")
token = client.fetch_token(TOKEN_URL, username=os.environ["OWNER_EMAIL"], password=os.environ["OWNER_PASSWORD"])
expect(token["token_type"] == "Bearer" and token.get("refresh_token"), f"fetch_token answered {token}")
expect(client.get(f"{API}/v1/accounts").status_code == 200, "the fetched token does not read")
print("authlib: fetched a token and read with it")

refreshed = client.refresh_token(TOKEN_URL)
expect(refreshed["access_token"] != token["access_token"], "refresh gave the same access token")
expect(client.get(f"{API}/v1/accounts").status_code == 200, "the refreshed token does not read")
print("authlib: refreshed")

bearer = {"Authorization": f"Bearer {refreshed['access_token']}"}
seen = client.introspect_token(f"{API}/v1/auth/introspect", token=refreshed["access_token"], headers=bearer).json()
expect(seen.get("active") is True and seen.get("token_type") == "access_token", f"introspection: {seen}")
print(f"authlib: introspected (sub {seen['sub']})")

r = client.revoke_token(f"{API}/v1/auth/revoke", token=refreshed["refresh_token"], token_type_hint="refresh_token")
expect(r.status_code == 200, f"revocation answered {r.status_code}")
expect(client.get(f"{API}/v1/accounts").status_code == 401, "the session's access token outlived its revocation")
print("authlib: revoked the refresh token; the session's access token is refused")
print("oauth scenario passed")
