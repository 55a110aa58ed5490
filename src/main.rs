//! `accountd [serve | migrate | bootstrap --email E --password P | openapi]`

use accountd::config::Config;
use accountd::service::bootstrap::{create_owner, Bootstrap};
use std::net::TcpListener;
use std::process::ExitCode;

const USAGE: &str =
    "usage: accountd [serve | migrate | bootstrap --email EMAIL --password PASSWORD | openapi]";

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("accountd: {msg}");
    ExitCode::from(2)
}

/// Settings for the commands that only touch the database.
fn db_only_config() -> Result<Config, String> {
    Config::from_env()
}

fn main() -> ExitCode {
    dotenvy::dotenv().ok();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") if args.len() <= 1 => serve(),
        // The OpenAPI document generated from the code: `accountd openapi > openapi.yaml`.
        Some("openapi") if args.len() == 1 => {
            print!("{}", accountd::openapi::yaml());
            ExitCode::SUCCESS
        }
        Some("migrate") if args.len() == 1 => {
            let config = match db_only_config() {
                Ok(c) => c,
                Err(e) => return fail(e),
            };
            match accountd::db::migrate(&config.database_url) {
                Ok(n) => {
                    println!("applied {n} migration(s)");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Some("bootstrap") => {
            let mut email = None;
            let mut password = None;
            let mut it = args[1..].iter();
            while let Some(flag) = it.next() {
                match (flag.as_str(), it.next()) {
                    ("--email", Some(v)) => email = Some(v.clone()),
                    ("--password", Some(v)) => password = Some(v.clone()),
                    _ => return fail(USAGE),
                }
            }
            let (Some(email), Some(password)) = (email, password) else {
                return fail(USAGE);
            };
            let config = match db_only_config() {
                Ok(c) => c,
                Err(e) => return fail(e),
            };
            let result = accountd::db::migrate(&config.database_url)
                .and_then(|_| accountd::db::establish(&config.database_url))
                .and_then(|mut conn| {
                    create_owner(&mut conn, &email, &password, config.bcrypt_cost, false)
                });
            match result {
                Ok(Bootstrap::Created(id)) => {
                    println!("created owner {email} (user id {id})");
                    ExitCode::SUCCESS
                }
                Ok(Bootstrap::AlreadyOwner | Bootstrap::OwnerExists) => {
                    println!("{email} is already an owner; nothing to do");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        _ => fail(USAGE),
    }
}

fn serve() -> ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if let Some((cert, key)) = &config.tls {
        // Check the files before anything else, so a bad one is one clear line.
        if let Err(e) = accountd::tls_config(cert, key) {
            return fail(e);
        }
    }
    log::info!(
        "database: {}",
        accountd::config::redact_url(&config.database_url)
    );
    let listener = match TcpListener::bind(&config.listen_addr) {
        Ok(l) => l,
        Err(e) => {
            return fail(format!(
                "LISTEN_ADDR: cannot listen on {}: {e}",
                config.listen_addr
            ))
        }
    };
    let state = match accountd::prepare(config) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let has_owner = state
        .store
        .pool
        .get()
        .ok()
        .and_then(|mut c| accountd::service::bootstrap::owner_exists(&mut c).ok())
        .unwrap_or(false);
    if !has_owner {
        log::warn!("no owner yet: set OWNER_EMAIL and OWNER_PASSWORD, or run `accountd bootstrap --email E --password P`");
    }
    match listener.local_addr() {
        Ok(addr) => {
            let scheme = if state.config.tls.is_some() {
                "https"
            } else {
                "http"
            };
            log::info!("listening on {scheme}://{addr}")
        }
        Err(e) => return fail(e),
    }
    let result = actix_web::rt::System::new().block_on(async move {
        let server = accountd::serve(state.clone(), listener, None)?;
        actix_web::rt::spawn(stop_on_signal(state, server.handle()));
        server.await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// SIGTERM (a service manager, a rolling restart) or SIGINT: `/readyz` answers 503 at once and
/// every answer closes its connection; `SHUTDOWN_DELAY_SECS` later (time for a load balancer's
/// health check to take the instance out) the listener closes, and the requests in flight get
/// `SHUTDOWN_GRACE_SECS` to finish. A second signal skips the delay.
async fn stop_on_signal(
    state: actix_web::web::Data<accountd::state::AppState>,
    server: actix_web::dev::ServerHandle,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        log::error!("cannot listen for SIGTERM/SIGINT; stop with SIGKILL");
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    state
        .draining
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let delay = std::time::Duration::from_secs(state.config.shutdown_delay_secs);
    log::info!("stopping: /readyz answers 503; the listener closes in {delay:?}");
    tokio::select! {
        _ = tokio::time::sleep(delay) => {}
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    log::info!(
        "stopping: no new connections; finishing the requests in flight (at most {} s)",
        state.config.shutdown_grace_secs
    );
    server.stop(true).await;
    log::info!("stopped");
}
