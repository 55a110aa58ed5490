//! accountd: accounts, users, roles and credentials over HTTP.

pub mod api;
pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod ids;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod secrets;
pub mod service;
pub mod state;

use actix_web::dev::{Server, Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, App, HttpMessage, HttpServer};
use config::Config;
use service::auth::Bootstrap;
use state::AppState;
use std::net::TcpListener;
use std::time::Instant;

/// The machine's cores (what the hashing threads, the workers and the pools are sized by).
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// The request id every response carries and every log line of the request names.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Migrate, open the pool and create the first owner when the settings ask for one.
pub fn prepare(config: Config) -> Result<web::Data<AppState>, String> {
    let applied = db::migrate(&config.database_url)?;
    if applied > 0 {
        log::info!("applied {applied} migration(s)");
    }
    let pool = db::build_pool(&config.database_url, config.db_pool_size)?;
    if let Some((email, password)) = config.owner.clone() {
        let mut conn = pool.get().map_err(|e| format!("DATABASE_URL: {e}"))?;
        if !service::auth::owner_exists(&mut conn).map_err(|e| e.to_string())? {
            match bootstrap(&mut conn, &email, &password, config.bcrypt_cost, true)
                .map_err(|e| format!("OWNER_EMAIL/OWNER_PASSWORD: {e}"))?
            {
                Bootstrap::Created(_) => log::info!("created the first owner from OWNER_EMAIL"),
                Bootstrap::AlreadyOwner | Bootstrap::OwnerExists => {}
            }
        }
    }
    Ok(web::Data::new(AppState::new(config, pool)?))
}

/// Create an owner; shared by `accountd bootstrap` and OWNER_EMAIL/OWNER_PASSWORD.
pub fn bootstrap(
    conn: &mut db::DbConn,
    email: &str,
    password: &str,
    cost: u32,
    only_if_no_owner: bool,
) -> Result<Bootstrap, String> {
    let mut errors = vec![];
    auth::password::check_password("password", password, &mut errors);
    if !validator::ValidateEmail::validate_email(&email) || email.len() > 254 {
        errors.push("email: not a valid email address".into());
    }
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    let hash = auth::password::hash_blocking(password, cost)?;
    service::auth::bootstrap_owner(conn, email, hash, only_if_no_owner).map_err(|e| e.to_string())
}

/// Browsers on the `CORS_ORIGINS` dashboards may call the API; other origins get no CORS
/// headers (their preflight fails).
fn cors(origins: &[String]) -> actix_cors::Cors {
    use actix_web::http::{header, Method};
    let mut cors = actix_cors::Cors::default()
        .allowed_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .expose_headers([
            request_id_header(),
            header::RETRY_AFTER,
            header::WWW_AUTHENTICATE,
        ])
        .max_age(3600);
    for o in origins {
        cors = cors.allowed_origin(o);
    }
    cors
}

/// The rustls server configuration from `TLS_CERT` (PEM chain) and `TLS_KEY` (PEM key);
/// the error names the variable.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<rustls::ServerConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| {
            format!(
                "TLS_CERT: cannot read a PEM certificate chain from {}: {e}",
                cert.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!("TLS_CERT: no certificate in {}", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        format!(
            "TLS_KEY: cannot read a PEM private key from {}: {e}",
            key.display()
        )
    })?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS_CERT: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS_KEY: does not fit TLS_CERT: {e}"))
}

fn request_id_header() -> HeaderName {
    HeaderName::from_static("x-request-id")
}

/// Start serving on `listener`. The returned server runs until stopped.
pub fn serve(
    state: web::Data<AppState>,
    listener: TcpListener,
    workers: Option<usize>,
) -> std::io::Result<Server> {
    let origins = state.config.cors_origins.clone();
    let pool_size = state.pool.max_size();
    let tls = match &state.config.tls {
        Some((cert, key)) => Some(tls_config(cert, key).map_err(std::io::Error::other)?),
        None => None,
    };
    // Browsers that reached us over HTTPS must never fall back to plain HTTP.
    let hsts = tls.is_some();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(api::body::MAX_BODY_BYTES))
            // Inside the request-id layer, so preflight answers carry a request id too.
            .wrap(actix_web::middleware::Condition::new(
                !origins.is_empty(),
                cors(&origins),
            ))
            .wrap_fn(move |req: ServiceRequest, srv| {
                let rid = uuid::Uuid::new_v4().simple().to_string();
                let started = Instant::now();
                // The path only: a query string may carry an `access_token`, never logged.
                let line = format!("{} {}", req.method(), req.path());
                req.extensions_mut().insert(RequestId(rid.clone()));
                // A NUL in a path or query value is never meaningful (and PostgreSQL refuses it).
                let has_nul = req.uri().to_string().to_ascii_lowercase().contains("%00");
                let (early, call) = if has_nul {
                    let res = actix_web::ResponseError::error_response(&error::ApiError::invalid(
                        "url: must not contain NUL characters",
                    ));
                    (Some(req.into_response(res)), None)
                } else {
                    (None, Some(srv.call(req)))
                };
                async move {
                    let mut res: ServiceResponse = match (early, call) {
                        (Some(res), _) => res,
                        (None, Some(call)) => call.await?.map_into_boxed_body(),
                        (None, None) => unreachable!("one of the two is set"),
                    };
                    let status = res.status();
                    let route = res
                        .request()
                        .match_pattern()
                        .unwrap_or_else(|| "unmatched".into());
                    if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
                        // Only standard methods become labels: anything else would grow the series.
                        let method = match res.request().method().as_str() {
                            m @ ("GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD"
                            | "OPTIONS") => m,
                            _ => "other",
                        };
                        state
                            .metrics
                            .observe(method, &route, status.as_u16(), started.elapsed());
                    }
                    if status.is_server_error() {
                        let detail = res
                            .response()
                            .error()
                            .map(|e| e.to_string())
                            .unwrap_or_default();
                        log::error!("{rid} {line} -> {} {detail}", status.as_u16());
                    } else {
                        log::info!(
                            "{rid} {line} -> {} in {:.1?}",
                            status.as_u16(),
                            started.elapsed()
                        );
                    }
                    let headers = res.headers_mut();
                    headers.insert(
                        request_id_header(),
                        HeaderValue::from_str(&rid).expect("hex is a valid header"),
                    );
                    headers.insert(
                        HeaderName::from_static("x-content-type-options"),
                        HeaderValue::from_static("nosniff"),
                    );
                    if hsts {
                        headers.insert(
                            HeaderName::from_static("strict-transport-security"),
                            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
                        );
                    }
                    Ok::<_, actix_web::Error>(res)
                }
            })
            .configure(api::configure)
            .default_service(web::to(api::not_found))
    });
    server = match tls {
        Some(cfg) => server.listen_rustls_0_23(listener, cfg)?,
        None => server.listen(listener)?,
    };
    let workers = workers.unwrap_or_else(cores);
    // Database work runs on each worker's blocking threads: as many in all as there are
    // connections, so no thread waits for one and no request waits for an idle thread to wake.
    let blocking = (pool_size as usize).div_ceil(workers).max(1);
    Ok(server
        .workers(workers)
        .worker_max_blocking_threads(blocking)
        .run())
}
