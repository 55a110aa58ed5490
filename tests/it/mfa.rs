//! TOTP multi-factor login: enrolment, the two-step login on `/user/login` and the token
//! endpoint, replay, recovery codes, lockout, turning it off, and `requireMfa`.

use crate::common::{Resp, TestServer, PASSWORD};
use serde_json::{json, Value};
use totp_rs::{Algorithm, Secret, TOTP};

const FORM: &str = "application/x-www-form-urlencoded";

/// The code an authenticator app shows `offset` steps from now, from the base32 secret.
fn code(secret: &str, offset: i64) -> String {
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().unwrap();
    let totp = TOTP::new_unchecked(Algorithm::SHA1, 6, 0, 30, bytes);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    totp.generate((now + offset * 30) as u64)
}

/// A user with a password, its email and token.
fn user(s: &TestServer, role: &str) -> (String, String, String) {
    let (acc, _) = s.account("Acme");
    let (id, token) = s.user(&acc, role);
    let email = s.post("/user/get", &token, json!({})).body["email"]
        .as_str()
        .unwrap()
        .to_string();
    (id, email, token)
}

/// Turn TOTP on for the bearer of `token`: (secret, recovery codes).
fn enable(s: &TestServer, token: &str) -> (String, Vec<String>) {
    let e = s.post("/user/mfa/totp", token, json!({})).expect(200);
    assert_eq!(e.header("cache-control"), Some("no-store"));
    let secret = e.body["secret"].as_str().unwrap().to_string();
    let codes = s
        .post(
            "/user/mfa/totp/confirm",
            token,
            json!({"code": code(&secret, 0)}),
        )
        .expect(200)
        .body["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (secret, codes)
}

fn mfa_token(s: &TestServer, email: &str) -> String {
    let r = s.try_login(email, PASSWORD).expect(200);
    assert_eq!(r.body["mfaRequired"], true, "{}", r.body);
    assert!(r.body.get("token").is_none());
    r.body["mfaToken"].as_str().unwrap().to_string()
}

fn second_step(s: &TestServer, token: &str, field: &str, value: &str) -> Resp {
    s.call(
        "POST",
        "/user/login/mfa",
        None,
        Some(json!({"mfaToken": token, field: value})),
    )
}

#[test]
fn enrolment_then_two_step_login_with_each_code_once() {
    let s = TestServer::start();
    let (uid, email, token) = user(&s, "user");
    let e = s.post("/user/mfa/totp", &token, json!({})).expect(200).body;
    let secret = e["secret"].as_str().unwrap();
    assert!(e["otpauthUri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/accountd:"));
    assert!(e["otpauthUri"].as_str().unwrap().contains(secret));
    assert!(e["qrSvg"].as_str().unwrap().contains("<svg"));
    // Not on until confirmed: the login is still one step.
    s.login(&email, PASSWORD);
    let wrong = s
        .post("/user/mfa/totp/confirm", &token, json!({"code": "000000"}))
        .expect(400);
    assert!(
        wrong.errors()[0].starts_with("code"),
        "{:?}",
        wrong.errors()
    );
    // The exact code used here is replayed below (recomputed, it could be the next step's).
    let first = code(secret, 0);
    let codes = s
        .post("/user/mfa/totp/confirm", &token, json!({"code": first}))
        .expect(200)
        .body["recoveryCodes"]
        .clone();
    assert_eq!(codes.as_array().unwrap().len(), 10);
    s.post("/user/mfa/totp", &token, json!({})).expect(409);
    // Two steps now; the code of the step just used at confirmation is refused (replay).
    let t = mfa_token(&s, &email);
    second_step(&s, &t, "code", &first).expect(401);
    let next = code(secret, 1);
    let session = second_step(&s, &t, "code", &next).expect(200).body;
    let access = session["token"].as_str().unwrap();
    assert_eq!(session["user"]["id"], json!(uid));
    // The token is used up, and the same code does not work twice.
    second_step(&s, &t, "code", &next).expect(401);
    let t2 = mfa_token(&s, &email);
    second_step(&s, &t2, "code", &next).expect(401);
    // A recovery code works once.
    let recovery = codes[0].as_str().unwrap().to_uppercase();
    second_step(&s, &t2, "recoveryCode", &recovery).expect(200);
    let t3 = mfa_token(&s, &email);
    second_step(&s, &t3, "recoveryCode", &recovery).expect(401);
    // Sessions say which used MFA.
    let sessions = s.get("/v1/sessions", access).expect(200).body;
    let current: Vec<&Value> = sessions["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["current"] == true)
        .collect();
    assert_eq!(current[0]["mfa"], true, "{sessions}");
    // Bad bodies.
    second_step(&s, &t3, "code", "12").expect(401);
    s.call(
        "POST",
        "/user/login/mfa",
        None,
        Some(json!({"mfaToken": t3, "code": "1", "recoveryCode": "x"})),
    )
    .expect(400);
    second_step(&s, "nonsense", "code", &code(secret, 1)).expect(401);
    let audit = s.get("/v1/audit?filter=user.mfa", &s.owner_token).body;
    assert_eq!(audit["data"].as_array().unwrap().len(), 1, "{audit}");
}

#[test]
fn the_token_endpoint_asks_for_the_second_factor() {
    let s = TestServer::start();
    let (_, email, token) = user(&s, "user");
    let (secret, codes) = enable(&s, &token);
    let form = |body: String| {
        s.send(
            "POST",
            "/v1/auth/token",
            &[("Content-Type", FORM)],
            Some(body),
        )
    };
    let password = format!(
        "grant_type=password&username={}&password={}",
        email.replace('@', "%40"),
        PASSWORD.replace(' ', "+")
    );
    let r = form(password.clone()).expect(403);
    assert_eq!(r.body["error"], "mfa_required");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let t = r.body["mfa_token"].as_str().unwrap().to_string();
    let grant = "grant_type=http%3A%2F%2Fauth0.com%2Foauth%2Fgrant-type%2Fmfa-otp";
    let r = form(format!("{grant}&mfa_token={t}&otp=000000")).expect(400);
    assert_eq!(r.body["error"], "invalid_grant");
    let r = form(format!("{grant}&mfa_token={t}&otp={}", code(&secret, 1))).expect(200);
    assert!(r.body["access_token"].is_string() && r.body["refresh_token"].is_string());
    // The recovery-code grant, and a missing parameter.
    let t = form(password).expect(403).body["mfa_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = form(format!("{grant}&mfa_token={t}")).expect(400);
    assert_eq!(r.body["error"], "invalid_request");
    let recovery = "grant_type=http%3A%2F%2Fauth0.com%2Foauth%2Fgrant-type%2Fmfa-recovery-code";
    form(format!(
        "{recovery}&mfa_token={t}&recovery_code={}",
        codes[3]
    ))
    .expect(200);
    // RPC Login cannot do two steps: it says where to go.
    let frame = json!({"v": 2, "src": "t", "id": 1, "method": "/v1/Account.Login", "args": {"username": email, "password": PASSWORD}});
    let r = s.call("POST", "/rpc", None, Some(frame)).expect(200).body;
    assert_eq!(r["error"]["code"], 403, "{r}");
}

#[test]
fn wrong_codes_count_toward_the_lockout() {
    let s = TestServer::start();
    let (_, email, token) = user(&s, "user");
    let (secret, _) = enable(&s, &token);
    // Five wrong codes kill an MFA token; ten lock the user at this address, even for the
    // right password (a right password alone clears nothing).
    for _ in 0..2 {
        let t = mfa_token(&s, &email);
        for _ in 0..5 {
            second_step(&s, &t, "code", "000000").expect(401);
        }
        second_step(&s, &t, "code", &code(&secret, 1)).expect(401);
    }
    s.try_login(&email, PASSWORD).expect(429);
}

#[test]
fn turning_it_off_takes_the_password_and_a_code_or_an_admin() {
    let s = TestServer::start();
    let (uid, email, token) = user(&s, "user");
    let (secret, _) = enable(&s, &token);
    let off = |body: Value| s.post("/user/mfa/totp/disable", &token, body);
    off(json!({"password": "wrong password", "code": code(&secret, 1)})).expect(400);
    off(json!({"password": PASSWORD, "code": "000000"})).expect(400);
    off(json!({"password": PASSWORD})).expect(400);
    off(json!({"password": PASSWORD, "code": code(&secret, 1)})).expect(204);
    off(json!({"password": PASSWORD, "code": code(&secret, 1)})).expect(409);
    s.login(&email, PASSWORD);
    // An admin resets a user of its tree; not a fellow admin; a user resets nobody.
    let token = s.login(&email, PASSWORD);
    enable(&s, &token);
    let acc = s.post("/user/get", &token, json!({})).body["accountId"]
        .as_str()
        .unwrap()
        .to_string();
    let (admin_id, admin) = s.user(&acc, "admin");
    let (_, other_admin) = s.user(&acc, "admin");
    s.post(
        "/user/mfa/totp/disable",
        &token,
        json!({"userId": admin_id}),
    )
    .expect(403);
    enable(&s, &other_admin);
    let other_id = s.post("/user/get", &other_admin, json!({})).body["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.post(
        "/user/mfa/totp/disable",
        &admin,
        json!({"userId": other_id}),
    )
    .expect(403);
    s.post("/user/mfa/totp/disable", &admin, json!({"userId": uid}))
        .expect(204);
    s.login(&email, PASSWORD);
    let audit = s
        .get("/v1/audit?filter=user.mfa_reset", &s.owner_token)
        .body;
    assert_eq!(audit["data"].as_array().unwrap().len(), 1, "{audit}");
}

#[test]
fn an_account_that_requires_mfa_lets_its_users_only_enrol() {
    let s = TestServer::start();
    let (acc, _) = s.account("Strict");
    let child = s.child(&acc, "Branch", 0);
    let (_, admin) = s.user(&acc, "admin");
    let (_, token) = s.user(&child, "user");
    let email = s.post("/user/get", &token, json!({})).body["email"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s
        .put(
            &format!("/v1/accounts/{acc}"),
            &s.owner_token,
            json!({"requireMfa": true}),
        )
        .expect(200);
    assert_eq!(r.body["requireMfa"], true);
    // The admin may not lift its own account's requirement; the owner may.
    s.put(
        &format!("/v1/accounts/{acc}"),
        &admin,
        json!({"requireMfa": false}),
    )
    .expect(403);
    // A user of a descendant logs in: the session may only enrol.
    let login = s.try_login(&email, PASSWORD).expect(200).body;
    let (limited, refresh) = (
        login["token"].as_str().unwrap().to_string(),
        login["refreshToken"].as_str().unwrap().to_string(),
    );
    let r = s.get("/v1/accounts", &limited).expect(403);
    assert!(
        r.body["error"].as_str().unwrap().contains("TOTP"),
        "{}",
        r.body
    );
    s.post("/user/get", &limited, json!({})).expect(403);
    s.get(&format!("/v1/accounts/{child}/plan"), &limited)
        .expect(403);
    // Nor is it a credential to anyone else.
    let v = s
        .post(
            "/v1/tokens/validate",
            &s.owner_token,
            json!({"token": limited}),
        )
        .expect(401);
    assert!(v.body["error"].is_string());
    let (secret, _) = enable(&s, &limited);
    // Confirmed in this session: its refresh gives whole tokens.
    let r = s
        .send(
            "POST",
            "/v1/auth/token",
            &[("Content-Type", FORM)],
            Some(format!("grant_type=refresh_token&refresh_token={refresh}")),
        )
        .expect(200);
    s.get("/v1/accounts", r.body["access_token"].as_str().unwrap())
        .expect(200);
    // And from now on the login has two steps, whose session is whole.
    let t = mfa_token(&s, &email);
    let whole = second_step(&s, &t, "code", &code(&secret, 1))
        .expect(200)
        .body;
    s.get("/v1/accounts", whole["token"].as_str().unwrap())
        .expect(200);
    s.put(
        &format!("/v1/accounts/{acc}"),
        &s.owner_token,
        json!({"requireMfa": false}),
    )
    .expect(200);
}

/// Parallel guesses at one MFA token get no more checks than its five: a user's second-factor
/// checks take turns, so each sees the failures before it.
#[test]
fn parallel_code_guesses_get_five_checks_per_token() {
    let s = TestServer::start_with(&[("LOGIN_MAX_FAILURES", "100")]);
    let (_, email, token) = user(&s, "user");
    enable(&s, &token);
    let t = mfa_token(&s, &email);
    let answers: Vec<String> = std::thread::scope(|scope| {
        let hs: Vec<_> = (0..20)
            .map(|_| {
                let (s, t) = (&s, &t);
                scope.spawn(move || {
                    let r = second_step(s, t, "code", "000000").expect(401);
                    r.body["error"].as_str().unwrap().to_string()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let checked = answers.iter().filter(|a| *a == "invalid code").count();
    assert_eq!(checked, 5, "{answers:?}");
}
