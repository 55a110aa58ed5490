//! Outgoing mail: SMTP (lettre) when `SMTP_URL` is set, otherwise `.eml` files under `MAIL_DIR`
//! so a developer can read codes locally. Mail is sent after the transaction commits and off
//! the async workers; a failure is logged and never undoes the call that sent it.

pub mod templates;

use lettre::message::{header::ContentType, Mailbox, Message};
use lettre::{SmtpTransport, Transport};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    delivery: Arc<Delivery>,
}

enum Delivery {
    Smtp(SmtpTransport),
    Files(PathBuf),
}

/// One message to send.
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// `smtp://[user:password@]host[:port]` (port 25 by default). This build speaks plain SMTP
/// (for a local relay or sink); TLS to a remote server belongs to that relay.
fn smtp_transport(url: &str) -> Result<SmtpTransport, String> {
    use lettre::transport::smtp::authentication::Credentials;
    let rest = url
        .strip_prefix("smtp://")
        .ok_or("SMTP_URL: only smtp:// is supported (use a local relay for TLS)")?;
    let rest = rest.trim_end_matches('/');
    let (creds, hostport) = match rest.rsplit_once('@') {
        Some((c, h)) => (Some(c), h),
        None => (None, rest),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| "SMTP_URL: bad port")?),
        None => (hostport, 25),
    };
    if host.is_empty() {
        return Err("SMTP_URL: no host".into());
    }
    let mut builder = SmtpTransport::builder_dangerous(host)
        .port(port)
        .timeout(Some(std::time::Duration::from_secs(10)));
    if let Some(c) = creds {
        let (user, pass) = c.split_once(':').unwrap_or((c, ""));
        builder = builder.credentials(Credentials::new(user.to_string(), pass.to_string()));
    }
    Ok(builder.build())
}

/// Mail files hold live codes: only the server's user may read them (the file 0600, in a
/// directory made 0700).
fn write_private(
    dir: &std::path::Path,
    path: &std::path::Path,
    bytes: &[u8],
) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // Also a directory that existed before with wider rights.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(bytes)
}

impl Mailer {
    /// `Err` is the one line that stops the start (it names the variable).
    pub fn new(smtp_url: Option<&str>, from: &str, dir: PathBuf) -> Result<Mailer, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("MAIL_FROM: not a mail address: {e}"))?;
        let delivery = match smtp_url {
            Some(url) => Delivery::Smtp(smtp_transport(url)?),
            None => Delivery::Files(dir),
        };
        Ok(Mailer {
            from,
            delivery: Arc::new(delivery),
        })
    }

    /// Build and deliver; blocking, so callers run it on the blocking pool.
    pub fn send_now(&self, mail: &Mail) -> Result<(), String> {
        let to: Mailbox = mail.to.parse().map_err(|e| format!("recipient: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| e.to_string())?;
        match &*self.delivery {
            Delivery::Smtp(t) => t.send(&message).map(|_| ()).map_err(|e| e.to_string()),
            Delivery::Files(dir) => {
                let name = format!(
                    "{}-{}.eml",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S%.6f"),
                    uuid::Uuid::new_v4().simple()
                );
                let path = dir.join(name);
                write_private(dir, &path, &message.formatted()).map_err(|e| e.to_string())?;
                // The path, never the code: logs carry no secrets.
                log::info!("mail to {} written to {}", mail.to, path.display());
                Ok(())
            }
        }
    }

    /// Deliver in the background; the caller's answer does not wait for (or reveal) delivery.
    pub fn send(&self, mail: Mail) {
        let mailer = self.clone();
        tokio::task::spawn_blocking(move || {
            let sent =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| mailer.send_now(&mail)));
            match sent {
                Ok(Err(e)) => log::error!("mail to {} failed: {e}", mail.to),
                Err(_) => log::error!("mail task failed"),
                Ok(Ok(())) => {}
            }
        });
    }
}
