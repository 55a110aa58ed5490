//! The admin console at `/console`: served from the binary with its policy, safe by
//! construction (read from `src/console/`), small, and a client of the public API only.

use crate::common::{Resp, TestServer};
use accountd::api::console::ASSETS;
use serde_json::Value;
use std::path::{Path, PathBuf};

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

/// `src/console/`'s files: (path under it, text).
fn console_files() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src/console is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/console");
    let mut paths = vec![];
    walk(&dir, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p
                .strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, text)
        })
        .collect()
}

fn files_ending(ext: &str) -> Vec<(String, String)> {
    console_files()
        .into_iter()
        .filter(|(name, _)| name.ends_with(ext))
        .collect()
}

fn text(r: &Resp) -> String {
    match &r.body {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The headers every console answer carries, whatever its status.
#[track_caller]
fn assert_guarded(r: &Resp) {
    assert_eq!(r.header("content-security-policy"), Some(CSP));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(r.header("cross-origin-opener-policy"), Some("same-origin"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(r.header("x-request-id").is_some());
}

/// A strong tag: quoted, not `W/`.
#[track_caller]
fn strong_etag(r: &Resp) -> String {
    let tag = r.header("etag").expect("an ETag").to_string();
    assert!(
        tag.len() > 2 && tag.starts_with('"') && tag.ends_with('"'),
        "{tag}"
    );
    tag
}

#[test]
fn the_page_and_each_asset_are_served_with_the_console_policy() {
    let s = TestServer::start();
    let index = std::fs::read_to_string("src/console/index.html").unwrap();
    let mut page_tag = None;
    // A query string changes nothing: the page takes none.
    for path in [
        "/console",
        "/console/",
        "/console?next=x",
        "/console/index.html",
    ] {
        let r = s.call("GET", path, None, None).expect(200);
        assert_eq!(
            r.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        assert_guarded(&r);
        assert_eq!(text(&r), index, "{path}");
        let tag = strong_etag(&r);
        assert_eq!(*page_tag.get_or_insert_with(|| tag.clone()), tag, "{path}");
    }
    for (name, content_type, bytes) in ASSETS {
        let expected = match name.rsplit('.').next() {
            Some("html") => "text/html; charset=utf-8",
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            _ => *content_type,
        };
        let r = s
            .call("GET", &format!("/console/{name}?v=1"), None, None)
            .expect(200);
        assert_eq!(r.header("content-type"), Some(expected), "{name}");
        assert_guarded(&r);
        strong_etag(&r);
        assert_eq!(
            r.header("content-length"),
            Some(bytes.len().to_string().as_str())
        );
        assert_eq!(text(&r).as_bytes(), *bytes, "{name}");
    }
}

#[test]
fn a_browser_holding_the_current_file_gets_304_without_a_body() {
    let s = TestServer::start();
    let app_js = std::fs::read_to_string("src/console/app.js").unwrap();
    let tag = strong_etag(&s.call("GET", "/console/app.js", None, None).expect(200));
    for held in [
        tag.clone(),
        format!("W/{tag}"),
        format!("\"stale\", {tag}"),
        "*".to_string(),
    ] {
        let r = s
            .send("GET", "/console/app.js", &[("If-None-Match", &held)], None)
            .expect(304);
        assert_eq!(r.body, Value::Null, "{held}");
        assert_eq!(r.header("etag"), Some(tag.as_str()));
        assert_guarded(&r);
    }
    // Another file's tag, or an old one, gets the file.
    let page = strong_etag(&s.call("GET", "/console", None, None).expect(200));
    assert_ne!(page, tag);
    for stale in [page.as_str(), "\"stale\""] {
        let r = s
            .send("GET", "/console/app.js", &[("If-None-Match", stale)], None)
            .expect(200);
        assert_eq!(text(&r), app_js);
    }
}

#[test]
fn an_unknown_file_is_404_and_another_method_405_both_json() {
    let s = TestServer::start();
    for path in [
        "/console/nope.js",
        "/console/..%2Fopenapi.yaml",
        "/console/a/b",
    ] {
        let r = s.call("GET", path, None, None).expect(404);
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
        assert!(r.body["error"].is_string(), "{path}");
    }
    assert_guarded(&s.call("GET", "/console/nope.js", None, None).expect(404));
    for (method, path) in [
        ("POST", "/console"),
        ("POST", "/console/"),
        ("PUT", "/console/app.js"),
        ("DELETE", "/console/index.html"),
    ] {
        let r = s.call(method, path, None, None).expect(405);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.body["error"].is_string(), "{method} {path}");
        assert_guarded(&r);
    }
}

#[test]
fn head_answers_the_page_headers_without_a_body() {
    let s = TestServer::start();
    let get = s.call("GET", "/console", None, None).expect(200);
    let r = s.call("HEAD", "/console", None, None).expect(200);
    assert_eq!(r.body, Value::Null);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("etag"), get.header("etag"));
    assert_guarded(&r);
}

#[test]
fn every_file_in_src_console_is_in_the_served_table() {
    let mut on_disk: Vec<String> = console_files().into_iter().map(|(n, _)| n).collect();
    let mut served: Vec<String> = ASSETS.iter().map(|(n, _, _)| n.to_string()).collect();
    on_disk.sort();
    served.sort();
    assert_eq!(
        on_disk, served,
        "src/console and accountd::api::console::ASSETS list different files"
    );
}

/// An HTML start tag: names in lowercase, and where the text after it begins.
struct Tag {
    name: String,
    attributes: Vec<(String, String)>,
    after: usize,
}

/// Each start tag of an HTML text.
fn tags(html: &str) -> Vec<Tag> {
    let mut out = vec![];
    let mut rest = 0;
    while let Some(at) = html[rest..].find('<').map(|i| rest + i) {
        if html[at..].starts_with("<!--") {
            rest = html[at..].find("-->").map_or(html.len(), |i| at + i + 3);
            continue;
        }
        let end = html[at..].find('>').map_or(html.len(), |i| at + i);
        let inner = &html[at + 1..end];
        rest = (end + 1).min(html.len());
        let name_end = inner
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(inner.len());
        let name = inner[..name_end].to_ascii_lowercase();
        if name.is_empty() || name.starts_with('!') {
            continue;
        }
        out.push(Tag {
            name,
            attributes: attributes(&inner[name_end..]),
            after: rest,
        });
    }
    out
}

fn attributes(s: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == '/').is_some() {}
        let mut name = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && !"=/\"'".contains(*c)) {
            name.push(c.to_ascii_lowercase());
        }
        if name.is_empty() {
            return out;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            match chars.next_if(|c| *c == '"' || *c == '\'') {
                Some(q) => value.extend(chars.by_ref().take_while(|c| *c != q)),
                None => {
                    while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                        value.push(c);
                    }
                }
            }
        }
        out.push((name, value));
    }
}

/// What would need `'unsafe-inline'` in an HTML file: a `<script>` without `src` or with a
/// body, a `<style>`, an `on…=` or `style=` attribute; and a `src`/`href` to another origin.
fn page_problems(file: &str, html: &str) -> Vec<String> {
    let mut wrong = vec![];
    for Tag {
        name: tag,
        attributes: attrs,
        after,
    } in tags(html)
    {
        for (name, value) in &attrs {
            if name.starts_with("on") || name == "style" {
                wrong.push(format!("{file}: <{tag} {name}=…>"));
            }
            if (name == "src" || name == "href") && value.starts_with("//") {
                wrong.push(format!(
                    "{file}: <{tag} {name}=\"{value}\"> (another origin)"
                ));
            }
        }
        if tag == "style" {
            wrong.push(format!("{file}: an inline <style>"));
        }
        if tag == "script" {
            let body = html.to_ascii_lowercase()[after..]
                .find("</script")
                .map_or("", |end| &html[after..after + end]);
            if !attrs.iter().any(|(n, _)| n == "src") || !body.trim().is_empty() {
                wrong.push(format!("{file}: an inline <script>"));
            }
        }
    }
    wrong
}

/// Whether `code` uses `word`: not as the tail of a longer name (`retrieval(` is not `eval(`).
fn uses(code: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    code.match_indices(word).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        let starts_a_name = !before.is_some_and(ident);
        let ends_a_name =
            word == "document.write" || !word.ends_with(ident) || !after.is_some_and(ident);
        starts_a_name && ends_a_name
    })
}

/// What a script must not do: parse HTML from strings, evaluate strings, keep anything in
/// `localStorage`, or set a handler or style attribute (properties and classes are fine).
fn script_problems(file: &str, js: &str) -> Vec<String> {
    const BANNED: &[&str] = &[
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "localStorage",
    ];
    let mut wrong: Vec<String> = BANNED
        .iter()
        .filter(|w| uses(js, w))
        .map(|w| format!("{file}: {w}"))
        .collect();
    for (at, _) in js.match_indices("setAttribute(") {
        let arg = js[at + "setAttribute(".len()..]
            .trim_start()
            .trim_start_matches(['"', '\'', '`'])
            .to_ascii_lowercase();
        if arg.starts_with("on") || arg.starts_with("style") {
            let call: String = js[at..].chars().take(40).collect();
            wrong.push(format!("{file}: {call}"));
        }
    }
    wrong
}

/// Namespace names are identifiers that no browser fetches.
const NAMESPACES: &[&str] = &["http://www.w3.org/2000/svg"];

/// Each URL of another origin in a file: `http(s)://host…`, or a CSS `url(//…)`.
fn foreign_urls(file: &str, text: &str) -> Vec<String> {
    let mut text = text.to_ascii_lowercase();
    for ns in NAMESPACES {
        text = text.replace(ns, "");
    }
    let mut wrong = vec![];
    // A URL names a host; a bare `https://` (a form's placeholder) loads nothing.
    for scheme in ["http://", "https://"] {
        for (at, _) in text.match_indices(scheme) {
            let host = text[at + scheme.len()..].chars().next();
            if host.is_some_and(|c| c.is_alphanumeric() || c == '[') {
                let url: String = text[at..].chars().take(60).collect();
                wrong.push(format!("{file}: {url}"));
            }
        }
    }
    for (at, _) in text.match_indices("url(") {
        let arg = text[at + 4..].trim_start().trim_start_matches(['"', '\'']);
        if arg.starts_with("//") {
            let url: String = text[at..].chars().take(60).collect();
            wrong.push(format!("{file}: {url}"));
        }
    }
    wrong
}

/// Fails with every problem `check` finds in `files`.
#[track_caller]
fn assert_clean(files: Vec<(String, String)>, check: fn(&str, &str) -> Vec<String>) {
    let wrong: Vec<String> = files.iter().flat_map(|(f, t)| check(f, t)).collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_page_has_no_inline_script_style_or_event_handler() {
    assert_clean(files_ending(".html"), page_problems);
}

#[test]
fn the_scripts_never_parse_html_evaluate_strings_or_keep_local_storage() {
    assert_clean(files_ending(".js"), script_problems);
}

#[test]
fn no_asset_loads_anything_from_another_origin() {
    assert_clean(console_files(), foreign_urls);
}

#[test]
fn the_safety_checks_see_what_they_look_for() {
    let fine = r#"<!doctype html><!-- <script>x()</script> -->
        <link rel="stylesheet" href="/console/console.css"><link rel="icon" href="data:,">
        <script type="module" src="/console/app.js"></script><p class="onward">on</p>"#;
    assert_eq!(page_problems("f", fine), Vec::<String>::new());
    for bad in [
        "<script>alert(1)</script>",
        "<SCRIPT type=module>go()</SCRIPT>",
        "<script src=/console/app.js>go()</SCRIPT>",
        "<button onclick=\"go()\">",
        "<img src=x ONERROR=go()>",
        "<p style='color:red'>",
        "<style>p { color: red }</style>",
        "<script src=\"//cdn.example.com/x.js\"></script>",
    ] {
        assert_eq!(page_problems("f", bad).len(), 1, "{bad}");
    }
    let fine = "el.textContent = x; el.onclick = go; el.className = 'a'; retrieval(x);
        el.setAttribute('aria-label', x); new FunctionCall();";
    assert_eq!(script_problems("f", fine), Vec::<String>::new());
    for bad in [
        "el.innerHTML = x",
        "el.outerHTML = x",
        "el.insertAdjacentHTML('beforeend', x)",
        "document.writeln(x)",
        "eval(x)",
        "new Function('return 1')",
        "window.localStorage.setItem(k, v)",
        "el.setAttribute(\"onclick\", x)",
        "el.setAttribute( 'style', x)",
    ] {
        assert_eq!(script_problems("f", bad).len(), 1, "{bad}");
    }
    let fine =
        "placeholder: \"https://\"; createElementNS(\"http://www.w3.org/2000/svg\", \"svg\")";
    assert_eq!(foreign_urls("f", fine), Vec::<String>::new());
    for bad in [
        "import x from \"https://cdn.example.com/x.js\"",
        "fetch('HTTP://10.0.0.1/')",
        "body { background: url( '//cdn.example.com/a.png') }",
    ] {
        assert_eq!(foreign_urls("f", bad).len(), 1, "{bad}");
    }
}

#[test]
fn the_whole_console_is_under_150_kib() {
    // Uncompressed (flate2 is not a dependency): the gzip of it is smaller still.
    let total: usize = console_files().iter().map(|(_, text)| text.len()).sum();
    assert!(total < 150 * 1024, "src/console holds {total} bytes");
}

/// What a template's `${…}` reads as.
const HOLE: &str = "${}";

/// Every string and template literal of a script, each template's `${…}` as `${}`.
fn literals(js: &str) -> Vec<String> {
    let c: Vec<char> = js.chars().collect();
    let mut out = vec![];
    let mut i = 0;
    code(&c, &mut i, &mut out, false);
    out
}

/// Reads code from `i`, collecting its literals; `nested` in a template's `${`, which ends
/// at its unmatched `}`.
fn code(c: &[char], i: &mut usize, out: &mut Vec<String>, nested: bool) {
    let mut depth = 0usize;
    while *i < c.len() {
        let ch = c[*i];
        let next = c.get(*i + 1).copied();
        *i += 1;
        match ch {
            '/' if next == Some('/') => {
                while *i < c.len() && c[*i] != '\n' {
                    *i += 1;
                }
            }
            '/' if next == Some('*') => {
                *i += 1;
                while *i + 1 < c.len() && !(c[*i] == '*' && c[*i + 1] == '/') {
                    *i += 1;
                }
                *i += 2;
            }
            '\'' | '"' => {
                let mut s = String::new();
                while let Some(&ch2) = c.get(*i) {
                    *i += 1;
                    match ch2 {
                        q if q == ch => break,
                        '\n' => break,
                        '\\' => {
                            if let Some(&escaped) = c.get(*i) {
                                s.push(escaped);
                                *i += 1;
                            }
                        }
                        other => s.push(other),
                    }
                }
                out.push(s);
            }
            '`' => {
                let mut s = String::new();
                while let Some(&ch2) = c.get(*i) {
                    *i += 1;
                    match ch2 {
                        '`' => break,
                        '\\' => {
                            if let Some(&escaped) = c.get(*i) {
                                s.push(escaped);
                                *i += 1;
                            }
                        }
                        '$' if c.get(*i) == Some(&'{') => {
                            *i += 1;
                            code(c, i, out, true);
                            s.push_str(HOLE);
                        }
                        other => s.push(other),
                    }
                }
                out.push(s);
            }
            '{' => depth += 1,
            '}' if nested && depth == 0 => return,
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
}

/// Whether the server has a route for `literal`, an API path the console requests: a `${…}`
/// segment stands for a `{param}` one, the query is ignored, and a literal ending in `/` (the
/// start of a concatenation) needs a route beneath it.
fn served_by(literal: &str, routes: &[String]) -> bool {
    let path = literal.split(['?', '#']).next().unwrap_or("");
    let prefix = path.ends_with('/');
    let ours: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    routes.iter().any(|route| {
        let theirs: Vec<&str> = route.split('/').collect();
        let long_enough = if prefix {
            theirs.len() > ours.len()
        } else {
            theirs.len() == ours.len()
        };
        long_enough
            && ours.iter().zip(&theirs).all(|(a, b)| {
                let param = b.starts_with('{') && b.ends_with('}');
                if a.contains(HOLE) {
                    param
                } else {
                    a == b
                }
            })
    })
}

fn api_paths(js: &str) -> Vec<String> {
    literals(js)
        .into_iter()
        .filter(|l| {
            ["/v1/", "/user/", "/.well-known/"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect()
}

fn served_paths() -> Vec<String> {
    let mut paths: Vec<String> = accountd::api::route_table()
        .into_iter()
        .map(|(_, path)| path)
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

#[test]
fn the_console_requests_only_routes_of_the_public_api() {
    let routes = served_paths();
    let mut wrong = vec![];
    for (file, js) in files_ending(".js") {
        for path in api_paths(&js) {
            if !served_by(&path, &routes) {
                wrong.push(format!("{file}: {path}"));
            }
        }
    }
    assert!(wrong.is_empty(), "no such route:\n{}", wrong.join("\n"));
}

#[test]
fn the_route_check_reads_api_paths_in_every_form() {
    let js = r#"
        // don't be fooled by an apostrophe in a comment: "/v1/nope"
        /* nor by "/v1/nope" in a block */
        await api("POST", '/user/login', { email });
        const r = await get(`/v1/accounts/${encodeURIComponent(id)}/users?limit=${n}`);
        get(`/v1/groups/${ids[0]}/members/${ {a: `x${y}`}.a }`);
        get("/v1/accounts/" + id);
        const label = `Account ${name}`;
    "#;
    assert_eq!(
        api_paths(js),
        [
            "/user/login",
            "/v1/accounts/${}/users?limit=${}",
            "/v1/groups/${}/members/${}",
            "/v1/accounts/",
        ]
    );
    let routes = served_paths();
    for ok in [
        "/user/login",
        "/v1/accounts",
        "/v1/accounts?cursor=${}",
        "/v1/accounts/${}/users?limit=${}",
        "/v1/groups/${}/members/${}",
        "/v1/accounts/",
        "/.well-known/jwks.json",
        "/v1/tokens/validate",
    ] {
        assert!(served_by(ok, &routes), "{ok}");
    }
    for wrong in [
        "/v1/nope",
        "/v1/accounts/${}/nope",
        "/v1/accounts/list",
        "/v1/accounts/${}/users/${}",
        "/user/login/${}",
        "/v1/nope/",
    ] {
        assert!(!served_by(wrong, &routes), "{wrong}");
    }
}
