//! Test helpers: a real server on a free port over a fresh database (a temp SQLite file, or a new
//! PostgreSQL database when TEST_DATABASE_URL is set), and one-line HTTP helpers.

use accountd::config::Config;
use accountd::db::{self, DbConn};
use actix_web::dev::ServerHandle;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::TcpListener;
use std::thread::JoinHandle;

pub const OWNER_EMAIL: &str = "owner@example.com";
pub const PASSWORD: &str = "correct horse battery";

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    cleanup: Option<(String, String)>,
    file: Option<std::path::PathBuf>,
}

impl TestDb {
    pub fn new() -> TestDb {
        let name = format!("accountd_test_{}", uuid::Uuid::new_v4().simple());
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(admin) => {
                let mut conn = PgConnection::establish(&admin).unwrap_or_else(|e| {
                    panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}")
                });
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .expect("TEST_DATABASE_URL has a path");
                TestDb {
                    url: format!("{base}/{name}"),
                    cleanup: Some((admin, name)),
                    file: None,
                }
            }
            None => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                TestDb {
                    url: format!("sqlite://{}", path.display()),
                    cleanup: None,
                    file: Some(path),
                }
            }
        }
    }

    pub fn conn(&self) -> DbConn {
        db::establish(&self.url).expect("connect to test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.cleanup {
            if let Ok(mut c) = PgConnection::establish(admin) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
        if let Some(path) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub headers: HashMap<String, String>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", self.body))
            .to_string()
    }
    #[track_caller]
    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }
    /// The messages of a 400 body.
    pub fn errors(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    }
}

pub struct TestServer {
    pub base: String,
    pub db: TestDb,
    pub mail_dir: std::path::PathBuf,
    pub owner_token: String,
    /// The server's own state (in this process), for what HTTP cannot reach, e.g. its pool.
    pub state: actix_web::web::Data<accountd::state::AppState>,
    agent: ureq::Agent,
    handle: Option<ServerHandle>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with(&[])
    }

    pub fn start_with(settings: &[(&str, &str)]) -> TestServer {
        let db = TestDb::new();
        let mail_dir =
            std::env::temp_dir().join(format!("accountd_mail_{}", uuid::Uuid::new_v4().simple()));
        let mail_dir_text = mail_dir.display().to_string();
        let mut env: HashMap<String, String> = [
            ("DATABASE_URL", db.url.as_str()),
            ("BCRYPT_COST", "4"),
            ("OWNER_EMAIL", OWNER_EMAIL),
            ("OWNER_PASSWORD", PASSWORD),
            ("DATABASE_POOL_SIZE", "6"),
            ("MAIL_DIR", mail_dir_text.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in settings {
            env.insert(k.to_string(), v.to_string());
        }
        let config = Config::from_lookup(|k| env.get(k).cloned()).expect("test config");
        let state = accountd::prepare(config).expect("prepare");
        let shared = state.clone();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let tls_cert = env.get("TLS_CERT").cloned();
        let scheme = if tls_cert.is_some() { "https" } else { "http" };
        let base = format!("{scheme}://{}", listener.local_addr().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = accountd::serve(state, listener, Some(2)).expect("serve");
                tx.send(server.handle()).unwrap();
                let _ = server.await;
            })
        });
        let handle = rx.recv().expect("server started");
        let mut agent_config = ureq::Agent::config_builder().http_status_as_error(false);
        if let Some(cert) = tls_cert {
            // Trust exactly the test's own certificate.
            let pem = std::fs::read(cert).unwrap();
            let cert = ureq::tls::Certificate::from_pem(&pem).unwrap().to_owned();
            let roots = ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![cert]));
            agent_config =
                agent_config.tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build());
        }
        let agent: ureq::Agent = agent_config.build().into();
        let mut s = TestServer {
            base,
            db,
            mail_dir,
            owner_token: String::new(),
            state: shared,
            agent,
            handle: Some(handle),
            thread: Some(thread),
        };
        s.owner_token = s.login(OWNER_EMAIL, PASSWORD);
        s
    }

    pub fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Option<String>,
    ) -> Resp {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![];
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        if let Some(ct) = content_type {
            headers.push(("Content-Type", ct));
        }
        self.send(method, path, &headers, body)
    }

    /// A request with exactly these headers.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Resp {
        let mut b = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let res = match body {
            Some(body) => self.agent.run(b.body(body).unwrap()),
            None => self.agent.run(b.body(()).unwrap()),
        };
        let mut res = res.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = res.status().as_u16();
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let text = res
            .body_mut()
            .with_config()
            .limit(512 * 1024 * 1024)
            .read_to_string()
            .unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Resp {
            status,
            body,
            headers,
        }
    }

    pub fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        match body {
            Some(b) => self.raw(
                method,
                path,
                token,
                Some("application/json"),
                Some(b.to_string()),
            ),
            None => self.raw(method, path, token, None, None),
        }
    }

    pub fn get(&self, path: &str, token: &str) -> Resp {
        self.call("GET", path, Some(token), None)
    }

    pub fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call("POST", path, Some(token), Some(body))
    }

    pub fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call("PUT", path, Some(token), Some(body))
    }

    pub fn delete(&self, path: &str, token: &str) -> Resp {
        self.call("DELETE", path, Some(token), None)
    }

    pub fn try_login(&self, email: &str, password: &str) -> Resp {
        self.call(
            "POST",
            "/user/login",
            None,
            Some(json!({ "email": email, "password": password })),
        )
    }

    /// The status of a login sent from another local address (`127.0.0.x`), which the server
    /// sees as another client.
    pub fn login_from(&self, source: &str, email: &str, password: &str) -> u16 {
        use std::io::{Read, Write};
        use std::net::SocketAddr;
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("a socket");
        let from: SocketAddr = format!("{source}:0").parse().expect("an address");
        sock.bind(&from.into()).expect("bind to the local address");
        let to: SocketAddr = self
            .base
            .trim_start_matches("http://")
            .parse()
            .expect("http");
        sock.connect(&to.into()).expect("connect");
        let mut stream: std::net::TcpStream = sock.into();
        let body = json!({ "email": email, "password": password }).to_string();
        write!(
            stream,
            "POST /user/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("an answer");
        answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not HTTP: {answer}"))
    }

    pub fn login(&self, email: &str, password: &str) -> String {
        let r = self.try_login(email, password).expect(200);
        r.body["token"].as_str().unwrap().to_string()
    }

    /// A top-level account (owner call); returns (account id, its invited admin's user id).
    pub fn account(&self, name: &str) -> (String, String) {
        let email = format!(
            "{}@{}.test",
            name.to_lowercase().replace(' ', "-"),
            uuid::Uuid::new_v4().simple()
        );
        let r = self
            .post(
                "/v1/accounts",
                &self.owner_token,
                json!({ "name": name, "email": email }),
            )
            .expect(201);
        (
            r.body["account"]["id"].as_str().unwrap().into(),
            r.body["user"]["id"].as_str().unwrap().into(),
        )
    }

    /// A user with a password in `account`, created by the owner; returns (user id, token).
    pub fn user(&self, account: &str, role: &str) -> (String, String) {
        let email = format!("{role}-{}@example.test", uuid::Uuid::new_v4().simple());
        let r = self
            .post(
                "/user/create",
                &self.owner_token,
                json!({ "email": email, "role": role, "password": PASSWORD, "accountId": account }),
            )
            .expect(201);
        (r.id(), self.login(&email, PASSWORD))
    }

    /// A child account under `parent`, created by the owner with `seats` moved from the parent.
    pub fn child(&self, parent: &str, name: &str, seats: i64) -> String {
        self.post(
            &format!("/v1/accounts/{parent}/children"),
            &self.owner_token,
            json!({ "name": name, "deviceSeats": seats }),
        )
        .expect(201)
        .id()
    }

    /// The texts of the mails written to `to` so far (file delivery).
    pub fn mails_to(&self, to: &str) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(&self.mail_dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        let needle = format!("to: {}", to.to_lowercase());
        files
            .into_iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter(|m| m.to_lowercase().contains(&needle))
            .collect()
    }

    /// Wait (mail goes out in the background) for the `n`th mail to `to` and return its code.
    pub fn wait_code(&self, to: &str, n: usize) -> String {
        for _ in 0..200 {
            let mails = self.mails_to(to);
            if mails.len() >= n {
                return code_in(&mails[n - 1])
                    .unwrap_or_else(|| panic!("no code in {}", mails[n - 1]));
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("no mail {n} to {to}");
    }

    /// A form-encoded call, as curl -d sends it.
    pub fn form(&self, method: &str, path: &str, token: &str, body: &str) -> Resp {
        self.raw(
            method,
            path,
            Some(token),
            Some("application/x-www-form-urlencoded"),
            Some(body.to_string()),
        )
    }

    /// An account's current JSON, read by the owner.
    pub fn account_json(&self, id: &str) -> Value {
        self.get(&format!("/v1/accounts/{id}"), &self.owner_token)
            .expect(200)
            .body
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            actix_web::rt::System::new().block_on(h.stop(false));
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.mail_dir);
    }
}

/// The code in a mail: a line that is just `<16 chars>.<43 chars>`.
pub fn code_in(mail: &str) -> Option<String> {
    mail.lines()
        .map(str::trim)
        .find(|l| {
            let parts: Vec<&str> = l.split('.').collect();
            parts.len() == 2
                && parts[0].len() == 16
                && parts[1].len() == 43
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        })
        .map(str::to_string)
}

/// A minimal SMTP server that keeps what it receives, for the real-SMTP delivery test.
pub struct SmtpSink {
    pub url: String,
    messages: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        use std::io::{BufRead, BufReader, Write};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let messages = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let store = messages.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let store = store.clone();
                std::thread::spawn(move || {
                    let mut out = stream.try_clone().unwrap();
                    let mut lines = BufReader::new(stream);
                    let _ = out.write_all(b"220 sink ESMTP\r\n");
                    let mut line = String::new();
                    while lines.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                        let cmd = line.trim_end().to_ascii_uppercase();
                        let reply: &[u8] = if cmd.starts_with("DATA") {
                            let _ = out.write_all(b"354 go on\r\n");
                            let mut data = String::new();
                            let mut l = String::new();
                            while lines.read_line(&mut l).map(|n| n > 0).unwrap_or(false) {
                                if l.trim_end() == "." {
                                    break;
                                }
                                data.push_str(&l);
                                l.clear();
                            }
                            store.lock().unwrap().push(data);
                            b"250 queued\r\n"
                        } else if cmd.starts_with("QUIT") {
                            let _ = out.write_all(b"221 bye\r\n");
                            break;
                        } else {
                            b"250 ok\r\n"
                        };
                        let _ = out.write_all(reply);
                        line.clear();
                    }
                });
            }
        });
        SmtpSink { url, messages }
    }

    pub fn wait_code(&self, to: &str) -> String {
        let needle = format!("to: {}", to.to_lowercase());
        for _ in 0..400 {
            let found = self
                .messages
                .lock()
                .unwrap()
                .iter()
                .find(|m| m.to_lowercase().contains(&needle))
                .cloned();
            if let Some(m) = found {
                return code_in(&m).unwrap_or_else(|| panic!("no code in {m}"));
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("no SMTP message to {to}");
    }
}

/// The real binary, `accountd serve`, on a free port, with its log lines collected.
pub struct Process {
    pub child: std::process::Child,
    pub base: String,
    pub lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Process {
    pub fn start(database_url: &str, settings: &[(&str, &str)]) -> Process {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_accountd"));
        cmd.env_clear()
            .env("DATABASE_URL", database_url)
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("BCRYPT_COST", "4");
        for (k, v) in settings {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = lines.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("listening on ").nth(1) {
                    let _ = tx.send(addr.trim().to_string());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let base = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("server started");
        Process { child, base, lines }
    }

    pub fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request a [`Receiver`] got.
#[derive(Clone, Debug)]
pub struct Received {
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// A webhook receiver: keeps every request, answers each with the next of `answers` (200 once
/// they run out), and never answers while `hang` is set.
pub struct Receiver {
    pub url: String,
    pub got: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
    pub answers: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<u16>>>,
    pub hang: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Receiver {
    pub fn start() -> Receiver {
        use std::io::{BufRead, BufReader, Read, Write};
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let r = Receiver {
            url,
            got: Default::default(),
            answers: Default::default(),
            hang: Default::default(),
        };
        let (got, answers, hang) = (r.got.clone(), r.answers.clone(), r.hang.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (got, answers, hang) = (got.clone(), answers.clone(), hang.clone());
                std::thread::spawn(move || {
                    let mut out = stream.try_clone().unwrap();
                    let mut reader = BufReader::new(stream);
                    loop {
                        let mut headers = HashMap::new();
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            let l = line.trim_end();
                            if l.is_empty() {
                                break;
                            }
                            if let Some((k, v)) = l.split_once(':') {
                                headers.insert(k.trim().to_lowercase(), v.trim().to_string());
                            }
                        }
                        let len = headers
                            .get("content-length")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        let mut body = vec![0; len];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        let body = String::from_utf8_lossy(&body).into_owned();
                        got.lock().unwrap().push(Received { headers, body });
                        if hang.load(Ordering::SeqCst) {
                            std::thread::sleep(std::time::Duration::from_secs(60));
                            return;
                        }
                        let status = answers.lock().unwrap().pop_front().unwrap_or(200);
                        let reply = format!(
                            "HTTP/1.1 {status} X\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nno"
                        );
                        if out.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        r
    }

    /// What it got so far.
    pub fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Wait (up to `secs`) until `done` holds of what it got.
    pub fn wait(&self, secs: u64, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let got = self.got();
            if done(&got) || std::time::Instant::now() > until {
                return got;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}
