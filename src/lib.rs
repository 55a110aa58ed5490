//! accountd: accounts, users, roles and credentials over HTTP.

pub mod api;
pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod ids;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod scim_filter;
pub mod secrets;
pub mod service;
pub mod state;

pub use config::cores;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use config::Config;
use service::bootstrap::{create_owner, Bootstrap};
use state::AppState;
use std::net::TcpListener;

/// Migrate, open the pool and create the first owner when the settings ask for one.
pub fn prepare(config: Config) -> Result<web::Data<AppState>, String> {
    let applied = db::migrate(&config.database_url)?;
    if applied > 0 {
        log::info!("applied {applied} migration(s)");
    }
    let pool = db::build_pool(&config.database_url, config.db_pool_size)?;
    if let Some((email, password)) = config.owner.clone() {
        let mut conn = pool.get().map_err(|e| format!("DATABASE_URL: {e}"))?;
        if !service::bootstrap::owner_exists(&mut conn).map_err(|e| e.to_string())? {
            match create_owner(&mut conn, &email, &password, config.bcrypt_cost, true)
                .map_err(|e| format!("OWNER_EMAIL/OWNER_PASSWORD: {e}"))?
            {
                Bootstrap::Created(_) => log::info!("created the first owner from OWNER_EMAIL"),
                Bootstrap::AlreadyOwner | Bootstrap::OwnerExists => {}
            }
        }
    }
    Ok(web::Data::new(AppState::new(config, pool)?))
}

/// Browsers on the `CORS_ORIGINS` dashboards may call the API; other origins get no CORS
/// headers (their preflight fails).
fn cors(origins: &[String]) -> actix_cors::Cors {
    use actix_web::http::{header, Method};
    let mut cors = actix_cors::Cors::default()
        .allowed_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            api::middleware::request_id_header(),
        ])
        .expose_headers([
            api::middleware::request_id_header(),
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

/// Start serving on `listener`. The returned server runs until stopped.
pub fn serve(
    state: web::Data<AppState>,
    listener: TcpListener,
    workers: Option<usize>,
) -> std::io::Result<Server> {
    let origins = state.config.cors_origins.clone();
    let keys_state = state.clone();
    let deliverer_state = state.clone().into_inner();
    let grace = state.config.shutdown_grace_secs;
    let pool_size = state.store.pool.max_size();
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
            .wrap_fn(move |req, srv| api::middleware::around(req, srv, hsts))
            .configure(api::configure)
            .default_service(web::to(api::not_found))
    });
    server = match tls {
        Some(cfg) => server.listen_rustls_0_23(listener, cfg)?,
        None => server.listen(listener)?,
    };
    // Keys change under a running instance: the schedule rotates them, another instance
    // rotates them, time makes a published key the signer. Checked often enough that every
    // instance has a new key well before it signs.
    let refresh = std::time::Duration::from_secs(
        (keys_state.config.key_rotation_grace_secs / 4).clamp(1, 30) as u64,
    );
    actix_web::rt::spawn(async move {
        // Events past their retention go about every ten minutes (on each instance: a delete
        // of what is already gone costs an index probe).
        let prune_every = (600 / refresh.as_secs().max(1)).max(1);
        let mut rounds = 0u64;
        loop {
            actix_web::rt::time::sleep(refresh).await;
            if let Err(e) = service::keys::refresh(&keys_state).await {
                log::warn!("signing keys: {e}");
            }
            rounds += 1;
            if rounds % prune_every == 0 {
                if let Err(e) = service::events::prune(&keys_state).await {
                    log::warn!("pruning events: {e}");
                }
            }
        }
    });
    // Every instance delivers webhooks (on PostgreSQL they share the work).
    if deliverer_state.config.webhook_delivery {
        actix_web::rt::spawn(service::delivery::run(deliverer_state));
    }
    let workers = workers.unwrap_or_else(cores);
    // Database work runs on each worker's blocking threads: as many in all as there are
    // connections, so no thread waits for one and no request waits for an idle thread to wake.
    let blocking = (pool_size as usize).div_ceil(workers).max(1);
    // Signals are the binary's (`main.rs`): it marks the state draining before stopping.
    Ok(server
        .workers(workers)
        .worker_max_blocking_threads(blocking)
        .shutdown_timeout(grace)
        .disable_signals()
        .run())
}
