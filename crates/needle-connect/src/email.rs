//! Email, both ways: IMAP in, SMTP out.
//!
//! In: one mailbox per connection, read after its checkpoint (the mailbox's `UIDVALIDITY`
//! and the last UID read), with `BODY.PEEK[]` so that reading marks nothing as seen. Each
//! mail becomes a message on the `email` channel: the new part of the body only (quoted
//! replies trimmed), HTML converted, attachments noted (name, type, size), and threading from
//! `Message-ID`, `In-Reply-To` and `References`. Very large mails are read as their headers
//! and the first megabyte of the body.
//!
//! Out: a reply goes by SMTP to the sender, `Re:` the subject, with `In-Reply-To` and
//! `References` set so that it threads in the customer's mail client. Its `Message-ID` comes
//! from the delivery's idempotency key, so a retried send carries the same id.
//!
//! Hosts are checked against the outbound policy like every other connector's.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::StreamExt;
use mail_parser::{Address, MessageParser, MimeHeaders};
use needle_core::message::format_time;
use needle_core::normalize::html_to_text;
use needle_core::{Invalid, Message};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::outbound::{OutboundError, OutboundPolicy};
use crate::sink::{Delivered, Sink, SinkError};
use crate::source::{Pulled, Source, SourceError};

/// Mails read per pull at most; a backlog is read over several pulls.
const PER_PULL: usize = 500;
/// The first read of a mailbox takes its newest mails only.
const FIRST_READ: usize = 200;
/// Mails larger than this are read as headers and the start of the body.
const WHOLE_MAIL_LIMIT: u32 = 10 * 1024 * 1024;
/// How much of a large mail's body is read.
const PARTIAL_BODY: u32 = 1024 * 1024;
/// For connecting, logging in and each command.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A server to reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub host: String,
    pub port: u16,
    /// TLS from the first byte (IMAPS 993, SMTPS 465); off only for a server on a trusted
    /// network or a test.
    pub tls: bool,
    /// Log in with the connection's username and password (SMTP relays on a trusted
    /// network may take mail without).
    pub auth: bool,
}

/// Settings of an email connection (the password is its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailConfig {
    pub imap: Server,
    /// Where replies go out; without it the connection only reads.
    pub smtp: Option<Server>,
    pub username: String,
    /// Our address: replies come from it (the username unless set).
    pub address: String,
    pub mailbox: String,
    /// Keep an IMAP IDLE open so that new mail is read at once (polling goes on).
    pub idle: bool,
    pub interval: Duration,
}

fn server(value: Option<&Value>, name: &str, default_port: u16) -> Result<Option<Server>, String> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let host = value["host"]
        .as_str()
        .filter(|h| !h.trim().is_empty())
        .ok_or(format!("`{name}.host` must name the server"))?
        .trim()
        .to_string();
    let tls = match &value["tls"] {
        Value::Null => true,
        Value::Bool(b) => *b,
        _ => return Err(format!("`{name}.tls` must be true or false")),
    };
    let port = match &value["port"] {
        Value::Null => default_port,
        v => v
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p > 0)
            .ok_or(format!("`{name}.port` must be a port number"))?,
    };
    let auth = match &value["auth"] {
        Value::Null => true,
        Value::Bool(b) => *b,
        _ => return Err(format!("`{name}.auth` must be true or false")),
    };
    Ok(Some(Server {
        host,
        port,
        tls,
        auth,
    }))
}

impl EmailConfig {
    /// Reads `{"imap": {"host", "port", "tls"}, "smtp": {…}, "username", "address",
    /// "mailbox", "poll_seconds"}`.
    pub fn from_json(config: &Value) -> Result<EmailConfig, String> {
        let object = config
            .as_object()
            .ok_or("email settings must be a JSON object")?;
        let imap = server(object.get("imap"), "imap", 993)?
            .ok_or("`imap` must name the IMAP server: {\"host\": …, \"port\": 993}")?;
        let smtp = server(object.get("smtp"), "smtp", 465)?;
        let username = object
            .get("username")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .ok_or("`username` must be the mailbox's login")?
            .to_string();
        let address = match object.get("address") {
            None | Some(Value::Null) => username.clone(),
            Some(Value::String(a)) if a.contains('@') => a.clone(),
            Some(_) => return Err("`address` must be an email address".into()),
        };
        if smtp.is_some() && !address.contains('@') {
            return Err("replies need an `address` to come from".into());
        }
        let mailbox = object
            .get("mailbox")
            .and_then(Value::as_str)
            .unwrap_or("INBOX")
            .to_string();
        let idle = match object.get("idle") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err("`idle` must be true or false".into()),
        };
        let interval = crate::config::interval(object, Duration::from_secs(60))?;
        Ok(EmailConfig {
            idle,
            imap,
            smtp,
            username,
            address,
            mailbox,
            interval,
        })
    }
}

/// The addresses of `server` the policy lets us reach, or why none.
fn resolve(server: &Server, policy: &OutboundPolicy) -> Result<Vec<SocketAddr>, OutboundError> {
    use std::net::ToSocketAddrs;
    let all: Vec<SocketAddr> = (server.host.as_str(), server.port)
        .to_socket_addrs()
        .map_err(|e| OutboundError::Network(format!("{}: {e}", server.host)))?
        .collect();
    let permitted: Vec<SocketAddr> = all
        .iter()
        .copied()
        .filter(|a| policy.permits(a.ip()))
        .collect();
    match (permitted.is_empty(), all.first()) {
        (false, _) => Ok(permitted),
        (true, Some(addr)) => Err(OutboundError::Refused(format!(
            "{} resolves to {}, a non-public address; an operator can allow it with {}",
            server.host,
            addr.ip(),
            crate::outbound::ALLOW_VARIABLE
        ))),
        (true, None) => Err(OutboundError::Network(format!(
            "{} has no address",
            server.host
        ))),
    }
}

/// A connection to the IMAP server, with or without TLS.
#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

async fn connect(server: &Server, addrs: &[SocketAddr]) -> Result<Stream, String> {
    let tcp = TcpStream::connect(addrs)
        .await
        .map_err(|e| format!("cannot connect to {}:{}: {e}", server.host, server.port))?;
    if !server.tls {
        return Ok(Stream::Plain(tcp));
    }
    let roots = tokio_rustls::rustls::RootCertStore::from_iter(
        webpki_roots::TLS_SERVER_ROOTS.iter().cloned(),
    );
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(server.host.clone())
        .map_err(|e| format!("{}: {e}", server.host))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS with {}: {e}", server.host))?;
    Ok(Stream::Tls(Box::new(tls)))
}

type Session = async_imap::Session<Stream>;

/// Connects, logs in and selects the connection's mailbox.
async fn open(
    config: &EmailConfig,
    password: &str,
    policy: &OutboundPolicy,
) -> Result<(Session, async_imap::types::Mailbox), SourceError> {
    let addrs = resolve(&config.imap, policy)?;
    let stream = connect(&config.imap, &addrs)
        .await
        .map_err(SourceError::retryable)?;
    let mut client = async_imap::Client::new(stream);
    client
        .read_response()
        .await
        .map_err(|e| SourceError::retryable(format!("IMAP greeting: {e}")))?
        .ok_or_else(|| SourceError::retryable("the IMAP server closed before its greeting"))?;
    let mut session = client
        .login(&config.username, password)
        .await
        .map_err(|(e, _)| SourceError::Final(format!("IMAP login refused: {e}")))?;
    let mailbox = session.select(&config.mailbox).await.map_err(|e| {
        SourceError::Final(format!("cannot open the mailbox {:?}: {e}", config.mailbox))
    })?;
    Ok((session, mailbox))
}

/// How long one IDLE lasts before it is renewed (and `stop` looked at); servers end an IDLE
/// after 30 minutes at the latest.
const IDLE_ROUND: Duration = Duration::from_secs(60);

/// Keeps an IMAP IDLE open on the mailbox and calls `nudge` once on connecting and whenever
/// the server reports a change, so that new mail is read at once instead of at the next
/// poll. Like Mastodon's stream it is a trigger: what is read still comes from the polled
/// UIDs and their checkpoint. Returns when the connection fails (the caller reconnects), at
/// once when the server does not offer IDLE, or within a round of `stop` being set.
pub fn watch_mailbox(
    config: &EmailConfig,
    password: &str,
    policy: &OutboundPolicy,
    stop: &std::sync::atomic::AtomicBool,
    mut nudge: impl FnMut(),
) -> Result<(), SourceError> {
    use std::sync::atomic::Ordering;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SourceError::retryable(format!("cannot start an IMAP runtime: {e}")))?;
    runtime.block_on(async {
        let broke = |e: async_imap::error::Error| SourceError::retryable(format!("IMAP IDLE: {e}"));
        let (mut session, _) = tokio::time::timeout(TIMEOUT, open(config, password, policy))
            .await
            .unwrap_or_else(|_| {
                Err(SourceError::retryable(
                    "the IMAP server did not answer in time",
                ))
            })?;
        let offers_idle = session.capabilities().await.map_err(broke)?.has_str("IDLE");
        if !offers_idle {
            return Err(SourceError::Final(
                "the IMAP server does not offer IDLE; polling only".into(),
            ));
        }
        nudge();
        while !stop.load(Ordering::SeqCst) {
            let mut idle = session.idle();
            idle.init().await.map_err(broke)?;
            let (wait, interrupt) = idle.wait_with_timeout(IDLE_ROUND);
            let changed = wait.await.map_err(broke)?;
            // Dropping the interrupt would end the wait; it lives until the wait is over.
            drop(interrupt);
            session = idle.done().await.map_err(broke)?;
            if matches!(
                changed,
                async_imap::extensions::idle::IdleResponse::NewData(_)
            ) {
                nudge();
            }
        }
        let _ = session.logout().await;
        Ok(())
    })
}

/// Where a mailbox goes on from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Checkpoint {
    uid_validity: u32,
    last_uid: u32,
}

impl Checkpoint {
    fn decode(s: Option<&str>) -> Option<Checkpoint> {
        let v: Value = serde_json::from_str(s?).ok()?;
        Some(Checkpoint {
            uid_validity: u32::try_from(v["uidvalidity"].as_u64()?).ok()?,
            last_uid: u32::try_from(v["uid"].as_u64()?).ok()?,
        })
    }

    fn encode(self) -> String {
        json!({"uidvalidity": self.uid_validity, "uid": self.last_uid}).to_string()
    }
}

/// A mailbox being read.
pub struct EmailSource {
    config: EmailConfig,
    password: String,
    account: String,
    policy: OutboundPolicy,
}

impl EmailSource {
    pub fn new(config: EmailConfig, password: &str, account: &str, policy: OutboundPolicy) -> Self {
        EmailSource {
            config,
            password: password.to_string(),
            account: account.to_string(),
            policy,
        }
    }

    async fn read(
        &self,
        after: Option<Checkpoint>,
    ) -> Result<(Vec<(u32, Vec<u8>)>, Checkpoint), SourceError> {
        let (mut session, mailbox) = open(&self.config, &self.password, &self.policy).await?;
        let uid_validity = mailbox.uid_validity.unwrap_or(0);
        // A changed UIDVALIDITY means the old UIDs mean nothing: read again (duplicates are
        // recognised by Message-ID).
        let after = after.filter(|c| c.uid_validity == uid_validity);
        let mut uids: Vec<u32> = match after {
            Some(c) => session
                .uid_search(format!("UID {}:*", c.last_uid.saturating_add(1)))
                .await
                .map_err(|e| SourceError::retryable(format!("IMAP search: {e}")))?
                .into_iter()
                .filter(|u| *u > c.last_uid)
                .collect(),
            None => session
                .uid_search("ALL")
                .await
                .map_err(|e| SourceError::retryable(format!("IMAP search: {e}")))?
                .into_iter()
                .collect(),
        };
        uids.sort_unstable();
        if after.is_none() && uids.len() > FIRST_READ {
            uids.drain(..uids.len() - FIRST_READ);
        }
        uids.truncate(PER_PULL);
        let mut mails = Vec::with_capacity(uids.len());
        let mut last_uid = after.map_or(0, |c| c.last_uid);
        for chunk in uids.chunks(50) {
            let set = chunk
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            // Sizes first, so that a 50 MB attachment is never fetched whole.
            let mut sizes = Vec::new();
            {
                let mut fetches = session
                    .uid_fetch(&set, "(UID RFC822.SIZE)")
                    .await
                    .map_err(|e| SourceError::retryable(format!("IMAP fetch: {e}")))?;
                while let Some(f) = fetches.next().await {
                    let f = f.map_err(|e| SourceError::retryable(format!("IMAP fetch: {e}")))?;
                    if let (Some(uid), Some(size)) = (f.uid, f.size) {
                        sizes.push((uid, size));
                    }
                }
            }
            for (uid, size) in sizes {
                let query = if size > WHOLE_MAIL_LIMIT {
                    format!("(UID BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.{PARTIAL_BODY}>)")
                } else {
                    "(UID BODY.PEEK[])".to_string()
                };
                let mut fetches = session
                    .uid_fetch(uid.to_string(), &query)
                    .await
                    .map_err(|e| SourceError::retryable(format!("IMAP fetch: {e}")))?;
                while let Some(f) = fetches.next().await {
                    let f = f.map_err(|e| SourceError::retryable(format!("IMAP fetch: {e}")))?;
                    let raw = match (f.body(), f.header(), f.text()) {
                        (Some(body), _, _) => body.to_vec(),
                        (None, Some(header), text) => {
                            let mut raw = header.to_vec();
                            raw.extend_from_slice(text.unwrap_or_default());
                            raw
                        }
                        _ => continue,
                    };
                    mails.push((uid, raw));
                }
                last_uid = last_uid.max(uid);
            }
        }
        let _ = session.logout().await;
        Ok((
            mails,
            Checkpoint {
                uid_validity,
                last_uid,
            },
        ))
    }
}

impl Source for EmailSource {
    fn pull(&mut self, checkpoint: Option<&str>) -> Result<Pulled, SourceError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SourceError::retryable(format!("cannot start an IMAP runtime: {e}")))?;
        let after = Checkpoint::decode(checkpoint);
        let (mails, next) = runtime.block_on(async {
            tokio::time::timeout(TIMEOUT * 4, self.read(after))
                .await
                .unwrap_or_else(|_| {
                    Err(SourceError::retryable(
                        "the IMAP server did not answer in time",
                    ))
                })
        })?;
        let fetched = OffsetDateTime::now_utc();
        let messages = mails
            .iter()
            .filter_map(|(uid, raw)| match parse_mail(raw, &self.account, fetched) {
                Ok(m) => Some(m),
                Err(invalid) => {
                    tracing::info!(uid, reason = %invalid, "a mail could not be a message");
                    None
                }
            })
            .collect();
        Ok(Pulled {
            messages,
            checkpoint: next.encode(),
        })
    }

    fn interval(&self) -> Duration {
        self.config.interval
    }
}

fn first_address(address: Option<&Address<'_>>) -> Option<(Option<String>, String)> {
    let a = address?.first()?;
    Some((a.name().map(str::to_string), a.address()?.to_string()))
}

/// Removes the quoted part of a reply: from the "On … wrote:" line or a run of `>` lines on,
/// and from a forwarded or "Original Message" separator on.
pub fn new_part(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let attribution = (t.starts_with("On ") && t.ends_with("wrote:"))
            || (t.starts_with("Am ") && t.ends_with("schrieb:"))
            || (t.starts_with("Le ") && t.ends_with("a écrit :"));
        let separator = t.starts_with("-----Original Message-----")
            || t.starts_with("---------- Forwarded message");
        let quoted_to_the_end = t.starts_with('>')
            && lines[i..]
                .iter()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('>'));
        if attribution || separator || quoted_to_the_end {
            end = i;
            break;
        }
    }
    lines[..end].join("\n").trim().to_string()
}

fn bracketed(id: &str) -> String {
    format!("<{}>", id.trim_matches(['<', '>']))
}

/// Reads one raw mail into a message on the `email` channel for `account`.
pub fn parse_mail(raw: &[u8], account: &str, fetched: OffsetDateTime) -> Result<Message, Invalid> {
    let mail = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| Invalid::whole("not a mail message (no headers)"))?;
    // From, else who sent it on its author's behalf, else where bounces go; a bare address
    // that the parser did not take is read from the raw header.
    let (name, from) = first_address(mail.from())
        .or_else(|| first_address(mail.sender()))
        .or_else(|| first_address(mail.reply_to()))
        .or_else(|| {
            let raw = mail.header_raw("From")?.trim();
            let bare = raw.trim_matches(['<', '>']);
            (bare.contains('@') && !bare.contains(char::is_whitespace))
                .then(|| (None, bare.to_string()))
        })
        .or_else(|| {
            let path = mail.return_path().as_text()?.trim_matches(['<', '>']);
            path.contains('@').then(|| (None, path.to_string()))
        })
        .ok_or_else(|| Invalid::field("author", "the mail has no From address"))?;
    let id = match mail.message_id() {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    };
    let body = match mail.body_text(0) {
        Some(text) if !text.trim().is_empty() => text.to_string(),
        _ => mail
            .body_html(0)
            .map(|h| html_to_text(&h))
            .unwrap_or_default(),
    };
    let text = new_part(&body);
    let references: Vec<String> = mail
        .references()
        .as_text_list()
        .map(|l| l.iter().map(|r| r.to_string()).collect())
        .unwrap_or_default();
    let in_reply_to = mail.in_reply_to().as_text().map(str::to_string);
    let thread = references
        .first()
        .cloned()
        .or_else(|| in_reply_to.clone())
        .unwrap_or_else(|| id.clone());
    let created = mail
        .date()
        .and_then(|d| OffsetDateTime::from_unix_timestamp(d.to_timestamp()).ok())
        .unwrap_or(fetched);
    let attachments: Vec<Value> = mail
        .attachments()
        .map(|a| {
            json!({
                "name": a.attachment_name(),
                "content_type": a.content_type().map(|c| match c.subtype() {
                    Some(sub) => format!("{}/{sub}", c.ctype()),
                    None => c.ctype().to_string(),
                }),
                "size": a.len(),
            })
        })
        .collect();
    let to: Vec<String> = mail
        .to()
        .map(|t| {
            t.iter()
                .filter_map(|a| a.address().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut value = json!({
        "id": id,
        "channel": "email",
        "account": account,
        "created_at": format_time(created),
        "text": text,
        "thread_id": thread,
        "author": {"email": from, "name": name},
        "extra": {"email": {
            "message_id": bracketed(&id),
            "references": references.iter().map(|r| bracketed(r)).collect::<Vec<_>>(),
            "to": to,
            "attachments": attachments,
        }},
    });
    if let Some(subject) = mail.subject().filter(|s| !s.trim().is_empty()) {
        value["title"] = json!(subject);
    }
    if let Some(parent) = in_reply_to {
        value["in_reply_to"] = json!(parent);
        value["engagement_type"] = json!("REPLY");
    }
    Message::from_json(value)
}

/// What a reply delivery carries, as the API queues it.
pub fn reply_payload(original: &Message, text: &str) -> Result<Value, String> {
    let to = original
        .author
        .email
        .as_deref()
        .ok_or("the message has no sender address to answer")?;
    let email = original.extra.get("email").cloned().unwrap_or_default();
    let parent = email["message_id"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| bracketed(&original.id));
    let mut references: Vec<String> = email["references"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    references.push(parent.clone());
    let subject = match original.title.as_deref() {
        Some(s) if s.to_ascii_lowercase().starts_with("re:") => s.to_string(),
        Some(s) => format!("Re: {s}"),
        None => "Re: your message".to_string(),
    };
    Ok(json!({
        "kind": "reply",
        "in_reply_to": {"channel": original.channel, "id": original.id},
        "text": text,
        "email": {
            "to": to,
            "subject": subject,
            "in_reply_to": parent,
            "references": references,
            "thread_id": original.thread_id,
        },
    }))
}

/// Sends replies by SMTP.
pub struct EmailSink {
    config: EmailConfig,
    password: String,
    account: String,
    policy: OutboundPolicy,
}

impl EmailSink {
    pub fn new(config: EmailConfig, password: &str, account: &str, policy: OutboundPolicy) -> Self {
        EmailSink {
            config,
            password: password.to_string(),
            account: account.to_string(),
            policy,
        }
    }
}

impl Sink for EmailSink {
    fn deliver(&self, key: &str, payload: &Value) -> Result<Delivered, SinkError> {
        use lettre::message::header::ContentType;
        use lettre::transport::smtp::authentication::Credentials;
        use lettre::transport::smtp::client::{Tls, TlsParameters};
        use lettre::{SmtpTransport, Transport};

        let smtp = self.config.smtp.as_ref().ok_or_else(|| {
            SinkError::Final("the connection has no `smtp` server to send with".into())
        })?;
        let e = &payload["email"];
        let (Some(text), Some(to), Some(subject)) = (
            payload["text"].as_str(),
            e["to"].as_str(),
            e["subject"].as_str(),
        ) else {
            return Err(SinkError::Final(
                "the reply lacks text, recipient or subject".into(),
            ));
        };
        let addrs = resolve(smtp, &self.policy)?;
        let domain = self
            .config
            .address
            .rsplit('@')
            .next()
            .unwrap_or("needle.invalid");
        let digest = hex::encode(Sha256::digest(key.as_bytes()));
        let message_id = format!("<{}@{domain}>", &digest[..32]);
        let references: Vec<&str> = e["references"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let bad = |what: &str, e: &dyn std::fmt::Display| SinkError::Final(format!("{what}: {e}"));
        let mut builder = lettre::Message::builder()
            .from(
                self.config
                    .address
                    .parse()
                    .map_err(|e| bad("our address", &e))?,
            )
            .to(to.parse().map_err(|e| bad("the recipient", &e))?)
            .subject(subject)
            .message_id(Some(message_id.clone()))
            .header(ContentType::TEXT_PLAIN);
        if let Some(parent) = e["in_reply_to"].as_str() {
            builder = builder.in_reply_to(parent.to_string());
        }
        if !references.is_empty() {
            builder = builder.references(references.join(" "));
        }
        let mail = builder
            .body(text.to_string())
            .map_err(|e| bad("the reply", &e))?;
        let tls = if smtp.tls {
            Tls::Wrapper(TlsParameters::new(smtp.host.clone()).map_err(|e| bad("TLS", &e))?)
        } else {
            Tls::None
        };
        // Connect to the address the policy allowed, not to the name again.
        let mut transport = SmtpTransport::builder_dangerous(addrs[0].ip().to_string())
            .port(addrs[0].port())
            .tls(tls)
            .timeout(Some(TIMEOUT));
        if smtp.auth {
            transport = transport.credentials(Credentials::new(
                self.config.username.clone(),
                self.password.clone(),
            ));
        }
        let transport = transport.build();
        let response = transport.send(&mail).map_err(|e| {
            if e.is_permanent() {
                SinkError::Final(format!("the SMTP server refused the reply: {e}"))
            } else {
                SinkError::Retryable {
                    reason: format!("SMTP: {e}"),
                    after: None,
                }
            }
        })?;
        let receipt = format!(
            "{} {}",
            response.code(),
            response.message().collect::<Vec<_>>().join(" ")
        );
        let posted = Message::from_json(json!({
            "id": message_id.trim_matches(['<', '>']),
            "channel": "email",
            "account": self.account,
            "direction": "outbound",
            "created_at": format_time(OffsetDateTime::now_utc()),
            "title": subject,
            "text": text,
            "thread_id": e["thread_id"],
            "in_reply_to": payload["in_reply_to"]["id"],
            "author": {"email": self.config.address},
        }))
        .ok();
        Ok(Delivered { receipt, posted })
    }
}

#[cfg(test)]
mod tests;
