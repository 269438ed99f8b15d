//! Email both ways against real servers on loopback: a private Dovecot (IMAP) that the test
//! appends mails to, and aiosmtpd (SMTP) that replies are sent to. Both are installed by
//! `scripts/setup.sh`; without them (or without root, which Dovecot needs to switch users)
//! the test says so and is skipped, except in CI, where it fails.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::serve::{Server, agent, get, send};
use crate::support::wait_for;

const USER: &str = "support@acme.test";
const PASSWORD: &str = "pw-mailbox-123";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn missing(what: &str) -> bool {
    assert!(
        std::env::var_os("CI").is_none(),
        "{what}: scripts/setup.sh installs it; CI must have it"
    );
    eprintln!("skipped: {what} (scripts/setup.sh installs it)");
    true
}

fn wait_for_port(port: u16, what: &str) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{what} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A private Dovecot serving one mailbox over plain IMAP on a free port.
struct Dovecot {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Dovecot {
    fn start() -> Option<Dovecot> {
        let bin = ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists());
        let Some(bin) = bin else {
            missing("dovecot is not installed");
            return None;
        };
        if unsafe { libc::geteuid() } != 0 {
            missing("Dovecot needs root to switch to its users");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mail = root.join("mail");
        std::fs::create_dir_all(&mail).unwrap();
        let owner = Command::new("chown")
            .arg("dovecot:dovecot")
            .arg(&mail)
            .status()
            .unwrap();
        assert!(owner.success(), "chown the mail dir to dovecot");
        std::fs::create_dir_all(root.join("run")).unwrap();
        std::fs::write(root.join("users"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        let port = free_port();
        let r = root.display();
        let config = format!(
            "base_dir = {r}/run\nstate_dir = {r}/run\nlog_path = {r}/dovecot.log\n\
             instance_name = needle-test-{port}\nprotocols = imap\nlisten = 127.0.0.1\nssl = no\n\
             disable_plaintext_auth = no\nauth_mechanisms = plain login\n\
             mail_location = maildir:{r}/mail/%u\ndefault_login_user = dovenull\n\
             default_internal_user = dovecot\ndefault_internal_group = dovecot\nfirst_valid_uid = 1\n\
             service imap-login {{\n  inet_listener imap {{\n    port = {port}\n  }}\n  \
             inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {r}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid=dovecot gid=dovecot home={r}/mail/%u\n}}\n"
        );
        let conf = root.join("dovecot.conf");
        std::fs::write(&conf, config).unwrap();
        let child = Command::new(bin)
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Ready once a connection gets the greeting (the port opens before the login
        // processes are up, and early connections are reset).
        let started = Instant::now();
        loop {
            let greeted = TcpStream::connect(("127.0.0.1", port)).ok().and_then(|s| {
                s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
                let mut line = String::new();
                BufReader::new(s).read_line(&mut line).ok()?;
                line.starts_with("* OK").then_some(())
            });
            if greeted.is_some() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "dovecot did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(Dovecot {
            child,
            port,
            _dir: dir,
        })
    }

    /// Appends a raw mail to the inbox, as a mail server delivering it would.
    fn deliver(&self, raw: &str) {
        let raw = raw.replace("\r\n", "\n").replace('\n', "\r\n");
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut line = String::new();
        let mut until = |reader: &mut BufReader<TcpStream>, prefix: &str| loop {
            line.clear();
            assert!(reader.read_line(&mut line).unwrap() > 0, "IMAP closed");
            if line.starts_with(prefix) {
                assert!(line.contains("OK") || prefix == "+", "IMAP said {line}");
                break;
            }
        };
        until(&mut reader, "* OK");
        write!(writer, "a1 LOGIN {USER} {PASSWORD}\r\n").unwrap();
        until(&mut reader, "a1 ");
        write!(writer, "a2 APPEND INBOX {{{}}}\r\n", raw.len()).unwrap();
        until(&mut reader, "+");
        writer.write_all(raw.as_bytes()).unwrap();
        writer.write_all(b"\r\n").unwrap();
        until(&mut reader, "a2 ");
        write!(writer, "a3 LOGOUT\r\n").unwrap();
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// aiosmtpd delivering what it receives into a Maildir.
struct Smtp {
    child: Child,
    port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Smtp {
    fn start() -> Option<Smtp> {
        let tools = crate::support::tools_cache();
        let path = tools.join("aiosmtpd");
        if !path.join("aiosmtpd").is_dir() {
            missing("aiosmtpd is not in the tools cache");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("maildir");
        let port = free_port();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .env("PYTHONPATH", &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port, "aiosmtpd");
        Some(Smtp {
            child,
            port,
            maildir,
            _dir: dir,
        })
    }

    fn received(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn emails(server: &Server) -> Vec<Value> {
    let (status, page) = get(&server.url("/api/v1/messages?channel=email&limit=1000"));
    assert_eq!(status, 200, "{page}");
    page["messages"].as_array().unwrap().clone()
}

const FIRST: &str = "From: Kim Lee <kim@example.com>
To: support@acme.test
Subject: Broken kettle
Message-ID: <k1@example.com>
Date: Mon, 02 Mar 2026 10:00:00 +0000

My kettle leaks since Tuesday.
";

const SECOND: &str = "From: Kim Lee <kim@example.com>
To: support@acme.test
Subject: Re: Broken kettle
Message-ID: <k2@example.com>
In-Reply-To: <k1@example.com>
References: <k1@example.com>
Date: Mon, 02 Mar 2026 11:00:00 +0000

It is the model K-200, bought in May.

On Mon, 2 Mar 2026 at 10:00, Kim Lee <kim@example.com> wrote:
> My kettle leaks since Tuesday.
";

fn large(size: usize) -> String {
    let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3\n";
    format!(
        "From: lee@example.com\nTo: support@acme.test\nSubject: Photos of the damage\nMessage-ID: <big@example.com>\n\
         Date: Mon, 02 Mar 2026 12:00:00 +0000\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n\
         --b\nContent-Type: text/plain\n\nThe photos are attached.\n--b\n\
         Content-Type: application/octet-stream; name=\"photos.zip\"\nContent-Disposition: attachment; filename=\"photos.zip\"\n\
         Content-Transfer-Encoding: base64\n\n{}--b--\n",
        line.repeat(size / line.len())
    )
}

#[test]
fn mail_comes_in_by_imap_threads_and_is_answered_by_smtp_in_the_same_thread() {
    let (Some(imap), Some(smtp)) = (Dovecot::start(), Smtp::start()) else {
        return;
    };
    imap.deliver(FIRST);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [("NEEDLE_OUTBOUND_ALLOW", "127.0.0.1")];
    let server = Server::start_with_env(&data, &[], &env);
    let api = |server: &Server, path: &str| server.url(&format!("/api/v1{path}"));
    let config = json!({
        "imap": {"host": "127.0.0.1", "port": imap.port, "tls": false},
        "smtp": {"host": "127.0.0.1", "port": smtp.port, "tls": false, "auth": false},
        "username": USER, "poll_seconds": 1
    });
    let (status, body) = send(
        "PUT",
        &api(&server, "/connections/support"),
        Some(json!({"kind": "email", "secret": PASSWORD, "config": config})),
    );
    assert_eq!(status, 201, "{body}");
    assert!(!body.to_string().contains(PASSWORD));

    let first = wait_for("the first mail", Duration::from_secs(30), || {
        emails(&server).into_iter().next()
    });
    assert_eq!(first["id"], "k1@example.com");
    assert_eq!(first["title"], "Broken kettle");
    assert_eq!(first["text"], "My kettle leaks since Tuesday.");
    assert_eq!(first["author"]["email"], "kim@example.com");
    assert_eq!(first["account"], "support");

    // A reply with a quote, and a mail of 12 MB (read as its start, never whole).
    imap.deliver(SECOND);
    imap.deliver(&large(12 * 1024 * 1024));
    let all = wait_for("three mails", Duration::from_secs(60), || {
        let m = emails(&server);
        (m.len() == 3).then_some(m)
    });
    let second = all.iter().find(|m| m["id"] == "k2@example.com").unwrap();
    assert_eq!(
        second["text"], "It is the model K-200, bought in May.",
        "the quote is trimmed"
    );
    assert_eq!(second["thread_id"], "k1@example.com");
    assert_eq!(second["in_reply_to"], "k1@example.com");
    let big = all.iter().find(|m| m["id"] == "big@example.com").unwrap();
    assert_eq!(big["text"], "The photos are attached.");
    // Read as its start: the 9 MB attachment is cut off (or not there at all), never whole.
    let attachments = big["extra"]["email"]["attachments"].as_array().unwrap();
    assert!(
        attachments
            .iter()
            .all(|a| a["size"].as_u64().unwrap_or(0) < 1_100_000),
        "{attachments:?}"
    );

    // The answer goes out by SMTP, threaded under the customer's mail.
    let mut r = agent()
        .post(&api(&server, "/messages/email/k2%40example.com/replies"))
        .header("authorization", crate::support::bearer())
        .header("content-type", "application/json")
        .send(json!({"text": "Thanks Kim, a new K-200 is on its way."}).to_string())
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        202,
        "{}",
        r.body_mut().read_to_string().unwrap()
    );
    let mail = wait_for(
        "the reply at the SMTP server",
        Duration::from_secs(30),
        || smtp.received().into_iter().next(),
    );
    let header = |name: &str| {
        mail.lines()
            .find(|l| {
                l.to_ascii_lowercase()
                    .starts_with(&format!("{}:", name.to_ascii_lowercase()))
            })
            .map(|l| l.split_once(':').unwrap().1.trim().to_string())
            .unwrap_or_default()
    };
    assert_eq!(header("In-Reply-To"), "<k2@example.com>", "{mail}");
    assert!(
        header("References").contains("<k1@example.com>")
            && header("References").contains("<k2@example.com>"),
        "{mail}"
    );
    assert_eq!(header("Subject"), "Re: Broken kettle");
    assert!(header("To").contains("kim@example.com"), "{mail}");
    assert!(header("From").contains(USER), "{mail}");
    assert!(mail.contains("a new K-200 is on its way"), "{mail}");
    let reply = wait_for("the reply stored", Duration::from_secs(20), || {
        emails(&server)
            .into_iter()
            .find(|m| m["direction"] == "outbound")
    });
    assert_eq!(reply["thread_id"], "k1@example.com");
    assert_eq!(
        format!("<{}>", reply["id"].as_str().unwrap()),
        header("Message-ID")
    );
    assert!(server.stop().success());

    // After a restart the mailbox goes on from its last UID: nothing read twice.
    let server = Server::start_with_env(&data, &[], &env);
    imap.deliver(
        &FIRST
            .replace("k1@", "k4@")
            .replace("Broken kettle", "Still broken"),
    );
    wait_for(
        "the mail after the restart",
        Duration::from_secs(30),
        || {
            emails(&server)
                .into_iter()
                .find(|m| m["id"] == "k4@example.com")
        },
    );
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        emails(&server).len(),
        5,
        "four mails in, one reply out, none twice"
    );
    let (_, health) = get(&api(&server, "/connections/support"));
    assert_eq!(health["health"]["status"], "ok", "{health}");
    assert!(server.stop().success());
}

#[test]
fn a_wrong_password_and_a_private_host_are_failures_with_reasons() {
    let Some(imap) = Dovecot::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let allowed = Server::start_with_env(
        &dir.path().join("a"),
        &[],
        &[("NEEDLE_OUTBOUND_ALLOW", "127.0.0.1")],
    );
    let config = json!({"imap": {"host": "127.0.0.1", "port": imap.port, "tls": false}, "username": USER, "poll_seconds": 1});
    let (status, body) = send(
        "PUT",
        &allowed.url("/api/v1/connections/support"),
        Some(json!({"kind": "email", "secret": "wrong", "config": config})),
    );
    assert_eq!(status, 201, "{body}");
    let failing = wait_for("the refused login", Duration::from_secs(30), || {
        let (_, c) = get(&allowed.url("/api/v1/connections/support"));
        (c["health"]["status"] == "failing").then_some(c)
    });
    assert!(
        failing["health"]["last_error"]
            .as_str()
            .unwrap()
            .contains("login refused"),
        "{failing}"
    );

    // Without the operator's permission, loopback is refused before anything is sent.
    let guarded = Server::start(&dir.path().join("b"), &[]);
    let (status, _) = send(
        "PUT",
        &guarded.url("/api/v1/connections/support"),
        Some(json!({"kind": "email", "secret": PASSWORD, "config": config})),
    );
    assert_eq!(status, 201);
    let refused = wait_for("the refusal", Duration::from_secs(30), || {
        let (_, c) = get(&guarded.url("/api/v1/connections/support"));
        (c["health"]["status"] == "failing").then_some(c)
    });
    assert!(
        refused["health"]["last_error"]
            .as_str()
            .unwrap()
            .contains("non-public"),
        "{refused}"
    );
}

#[test]
fn new_mail_is_read_at_once_over_imap_idle() {
    let Some(imap) = Dovecot::start() else {
        return;
    };
    imap.deliver(FIRST);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_env(
        &dir.path().join("data"),
        &[],
        &[("NEEDLE_OUTBOUND_ALLOW", "127.0.0.1")],
    );
    // Polled every five minutes: only IDLE can bring the next mail in quickly.
    let config = json!({"imap": {"host": "127.0.0.1", "port": imap.port, "tls": false},
                        "username": USER, "poll_seconds": 300});
    let (status, body) = send(
        "PUT",
        &server.url("/api/v1/connections/support"),
        Some(json!({"kind": "email", "secret": PASSWORD, "config": config})),
    );
    assert_eq!(status, 201, "{body}");
    wait_for("the first mail", Duration::from_secs(30), || {
        (emails(&server).len() == 1).then_some(())
    });
    // Give the IDLE a moment to be in place, then deliver.
    std::thread::sleep(Duration::from_millis(1500));
    let delivered = Instant::now();
    imap.deliver(SECOND);
    wait_for("the mail over IDLE", Duration::from_secs(15), || {
        (emails(&server).len() == 2).then_some(())
    });
    eprintln!(
        "a mail was stored {:?} after delivery, over IDLE",
        delivered.elapsed()
    );
    assert!(server.stop().success());
}
