"""TOTP multi-factor login checked with an implementation nobody here wrote: pyotp.

Run by .ci/conformance: a user enrols (pyotp reads the otpauth URI), confirms with pyotp's
code, logs in in two steps on /user/login and on the token endpoint (the mfa-otp grant), sees
a replayed code refused, and logs in once with a recovery code.
"""

import os
import sys
import time
import uuid

import pyotp
import requests

API = os.environ["API"]


def expect(cond, what):
    if not cond:
        sys.exit(f"mfa scenario: {what}")


def post(path, body, token=None, status=200):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = requests.post(f"{API}{path}", json=body, headers=headers)
    expect(r.status_code == status, f"{path} answered {r.status_code} {r.text}, not {status}")
    return r.json() if r.content else None


owner = post("/user/login", {"email": os.environ["OWNER_EMAIL"], "password": os.environ["OWNER_PASSWORD"]})["token"]
email, password = f"mfa-{uuid.uuid4().hex[:8]}@ci.test", "mfa scenario password"
post("/user/create", {"email": email, "password": password, "role": "user"}, owner, status=201)
token = post("/user/login", {"email": email, "password": password})["token"]

enrolment = post("/user/mfa/totp", {}, token)
totp = pyotp.parse_uri(enrolment["otpauthUri"])
expect(totp.secret == enrolment["secret"] and totp.digits == 6 and totp.interval == 30,
       f"pyotp read {enrolment['otpauthUri']} differently")
expect(enrolment["qrSvg"].lstrip().startswith("<?xml") or "<svg" in enrolment["qrSvg"], "no SVG QR code")
first = totp.now()  # replayed below as is: recomputed, it could be the next step's code
codes = post("/user/mfa/totp/confirm", {"code": first}, token)["recoveryCodes"]
expect(len(codes) == 10, f"{len(codes)} recovery codes")
print("pyotp: enrolled and confirmed with pyotp's code")

challenge = post("/user/login", {"email": email, "password": password})
expect(challenge.get("mfaRequired") is True and "token" not in challenge, f"login answered {challenge}")
# The code of the step used to confirm is spent: a replay is refused; the next step's passes.
post("/user/login/mfa", {"mfaToken": challenge["mfaToken"], "code": first}, status=401)
later = totp.at(time.time() + 30)
session = post("/user/login/mfa", {"mfaToken": challenge["mfaToken"], "code": later})
expect(requests.get(f"{API}/v1/sessions", headers={"Authorization": f"Bearer {session['token']}"}).status_code == 200,
       "the MFA session does not read")
print("pyotp: two-step login on /user/login; a replayed code is refused")

r = requests.post(f"{API}/v1/auth/token", data={"grant_type": "password", "username": email, "password": password})
expect(r.status_code == 403 and r.json().get("error") == "mfa_required", f"password grant answered {r.status_code} {r.text}")
r = requests.post(f"{API}/v1/auth/token", data={"grant_type": "http://auth0.com/oauth/grant-type/mfa-otp",
                                                "mfa_token": r.json()["mfa_token"], "otp": later})
expect(r.status_code == 400 and r.json().get("error") == "invalid_grant", f"a replayed otp answered {r.status_code}")
mfa_token = requests.post(f"{API}/v1/auth/token", data={"grant_type": "password", "username": email,
                                                       "password": password}).json()["mfa_token"]
r = requests.post(f"{API}/v1/auth/token", data={"grant_type": "http://auth0.com/oauth/grant-type/mfa-otp",
                                                "mfa_token": mfa_token, "otp": totp.at(time.time() + 90)})
expect(r.status_code == 400, "a code three steps ahead was accepted")
r = requests.post(f"{API}/v1/auth/token", data={"grant_type": "http://auth0.com/oauth/grant-type/mfa-recovery-code",
                                                "mfa_token": mfa_token, "recovery_code": codes[0]})
expect(r.status_code == 200 and r.json().get("access_token"), f"the recovery-code grant answered {r.status_code} {r.text}")
print("pyotp: mfa_required and the mfa grants on the token endpoint")
print("mfa scenario passed")
