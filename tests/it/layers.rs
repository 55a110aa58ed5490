//! The layers point one way: `api` (HTTP) -> `service` (use cases, with `state` and `mail`) ->
//! `auth` (credentials) -> `db` (rows), over leaf modules that import none of them. This reads
//! the source and fails on an import that points the wrong way.

use std::path::{Path, PathBuf};

/// (files, what they must not name, why).
const RULES: &[(&[&str], &[&str], &str)] = &[
    (
        &["db/"],
        &[
            "api",
            "service",
            "auth",
            "state",
            "mail",
            "openapi",
            "actix",
            "utoipa",
            "Serialize",
        ],
        "db holds rows and queries only",
    ),
    (
        &["auth/"],
        &[
            "api", "service", "state", "mail", "openapi", "actix", "utoipa",
        ],
        "auth checks credentials for service, with no HTTP in it",
    ),
    (
        &["service/", "state.rs", "mail/"],
        &["api", "openapi", "actix", "utoipa", "Serialize"],
        "service holds the use cases, with no HTTP and no JSON views in it",
    ),
    (
        &[
            "domain.rs",
            "error.rs",
            "ids.rs",
            "secrets.rs",
            "pagination.rs",
            "scim_filter.rs",
            "config.rs",
            "metrics.rs",
        ],
        &[
            "api", "service", "auth", "db", "state", "mail", "openapi", "actix", "utoipa",
        ],
        "leaf modules import no layer",
    ),
];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether `line` names `what`: a crate module (`crate::api`, `use crate::{api, ..}`), or an
/// outside crate or a derive by its name.
fn names(line: &str, what: &str) -> bool {
    let code = line.split("//").next().unwrap_or("");
    let module = ["api", "service", "auth", "db", "state", "mail", "openapi"].contains(&what);
    if module {
        let direct = code.contains(&format!("crate::{what}::"))
            || code.contains(&format!("crate::{what};"))
            || code.contains(&format!("crate::{what} "));
        let grouped = code.contains("crate::{")
            && code
                .split(['{', '}', ',', ' '])
                .any(|w| w == what || w.starts_with(&format!("{what}::")));
        direct || grouped
    } else {
        code.split(|c: char| !c.is_alphanumeric() && c != '_')
            .any(|w| w == what || w.starts_with(&format!("{what}_")))
    }
}

#[test]
fn imports_point_from_http_down_to_storage_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = vec![];
    files(&src, &mut all);
    let mut wrong = vec![];
    for path in &all {
        let rel = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(path).expect("a source file");
        for (prefixes, banned, why) in RULES {
            if !prefixes.iter().any(|p| rel.starts_with(p)) {
                continue;
            }
            for (n, line) in text.lines().enumerate() {
                for what in banned.iter().filter(|w| names(line, w)) {
                    wrong.push(format!("src/{rel}:{}: names `{what}` ({why})", n + 1));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports pointing the wrong way:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_layer_check_sees_imports_in_every_form() {
    assert!(names("use crate::api::extract::Caller;", "api"));
    assert!(names("use crate::{api, db};", "api"));
    assert!(names("    crate::service::users::create(", "service"));
    assert!(names("use actix_web::web;", "actix"));
    assert!(names("#[derive(Serialize, utoipa::ToSchema)]", "utoipa"));
    assert!(!names("use crate::db::users; // not crate::api::x", "api"));
    assert!(!names("use crate::apiary::x;", "api"));
}
