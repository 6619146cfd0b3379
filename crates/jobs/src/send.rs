//! The sender of notifications (F31): claims due deliveries, sends each e-mail over SMTP and
//! each webhook call over HTTP, at most [`TIMEOUT`] each so that a receiver that hangs holds
//! nobody up, and records the outcome (the store schedules the retries).

use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::Body;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};
use reqloop_domain::notify::{self, Format};
use reqloop_store::{Outgoing, SmtpSettings, Store};

/// The longest one attempt may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Deliveries claimed per round, sent side by side.
const ROUND: i64 = 16;

/// What one round of sending did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub sent: u64,
    pub failed: u64,
}

/// Sends the deliveries due at `now`, in rounds until none is left.
pub async fn deliver_due(store: &Store, now: DateTime<Utc>) -> reqloop_store::Result<Sent> {
    let mut total = Sent::default();
    loop {
        let due = store.claim_deliveries(now, ROUND).await?;
        if due.is_empty() {
            return Ok(total);
        }
        let smtp = store.smtp_for_sending().await?;
        let tasks: Vec<_> = due
            .into_iter()
            .map(|d| {
                let smtp = smtp.clone();
                tokio::task::spawn_blocking(move || {
                    let id = d.id;
                    (id, send(&d, &smtp))
                })
            })
            .collect();
        for t in tasks {
            let (id, outcome) = match t.await {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "a sender task failed");
                    continue;
                }
            };
            if outcome.is_ok() {
                total.sent += 1;
            } else {
                total.failed += 1;
            }
            store.finish_delivery(id, outcome, now).await?;
        }
    }
}

fn send(d: &Outgoing, smtp: &SmtpSettings) -> Result<(), String> {
    match d.channel.as_str() {
        "email" => send_email(d, smtp),
        "webhook" => send_webhook(d),
        other => Err(format!("unknown channel {other}")),
    }
}

fn send_email(d: &Outgoing, s: &SmtpSettings) -> Result<(), String> {
    if s.host.is_empty() {
        return Err("no mail server is configured".into());
    }
    let message = Message::builder()
        .from(s.from.parse().map_err(|e| format!("from: {e}"))?)
        .to(d.target.parse().map_err(|e| format!("to: {e}"))?)
        .subject(&d.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(
            Body::new_with_encoding(d.payload.clone(), ContentTransferEncoding::Base64)
                .map_err(|_| "the body cannot be encoded".to_string())?,
        )
        .map_err(|e| e.to_string())?;
    let builder = match s.security.as_str() {
        "tls" => SmtpTransport::relay(&s.host).map_err(|e| e.to_string())?,
        "starttls" => SmtpTransport::starttls_relay(&s.host).map_err(|e| e.to_string())?,
        _ => SmtpTransport::builder_dangerous(&s.host),
    };
    let mut builder = builder.port(s.port).timeout(Some(TIMEOUT));
    if !s.username.is_empty() {
        builder = builder.credentials(Credentials::new(s.username.clone(), s.password.clone()));
    }
    builder
        .build()
        .send(&message)
        .map(|_| ())
        .map_err(|e| format!("smtp: {e}"))
}

fn send_webhook(d: &Outgoing) -> Result<(), String> {
    let format = d.format.unwrap_or(Format::Generic);
    let mut url = d.target.clone();
    let agent = ureq::AgentBuilder::new().timeout(TIMEOUT).build();
    if format == Format::Dingtalk && !d.secret.is_empty() {
        let ts = Utc::now().timestamp_millis();
        let sep = if url.contains('?') { '&' } else { '?' };
        url = format!(
            "{url}{sep}timestamp={ts}&sign={}",
            notify::dingtalk_sign(&d.secret, ts)
        );
    }
    let mut req = agent
        .post(&url)
        .set("Content-Type", "application/json; charset=utf-8");
    if format == Format::Generic && !d.secret.is_empty() {
        req = req.set(
            "X-ReqLoop-Signature",
            &notify::generic_signature(&d.secret, d.payload.as_bytes()),
        );
    }
    let response = match req.send_string(&d.payload) {
        Ok(r) => r,
        Err(ureq::Error::Status(code, r)) => {
            let body: String = r
                .into_string()
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect();
            return Err(format!("HTTP {code}: {body}"));
        }
        Err(e) => return Err(e.to_string()),
    };
    let body = response.into_string().unwrap_or_default();
    // The robots answer 200 with their own error code when they refuse a message.
    if matches!(format, Format::Wecom | Format::Dingtalk) {
        if let Some(code) = robot_error(&body) {
            return Err(format!("robot refused: {code}"));
        }
    }
    Ok(())
}

/// A robot's refusal: an `errcode` other than 0 in its answer, with its message.
fn robot_error(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let code = v.get("errcode")?.as_i64()?;
    (code != 0).then(|| format!("{code} {}", v["errmsg"].as_str().unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::robot_error;

    #[test]
    fn robot_answers() {
        assert_eq!(robot_error(r#"{"errcode":0,"errmsg":"ok"}"#), None);
        assert!(robot_error(r#"{"errcode": 310000, "errmsg":"sign not match"}"#).is_some());
        assert_eq!(robot_error("ok"), None);
    }
}
