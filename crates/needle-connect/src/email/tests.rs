use super::*;

fn at(s: &str) -> OffsetDateTime {
    needle_core::message::parse_time(s).unwrap()
}

fn parse(raw: &str) -> Message {
    parse_mail(
        raw.replace('\n', "\r\n").as_bytes(),
        "support",
        at("2026-12-06T12:00:00Z"),
    )
    .unwrap()
}

const FIRST: &str = "From: Kim Lee <kim@example.com>
To: support@acme.test
Subject: Broken kettle
Message-ID: <k1@example.com>
Date: Mon, 02 Mar 2026 10:00:00 +0000
Content-Type: text/plain; charset=utf-8

My kettle leaks since Tuesday.
";

#[test]
fn a_plain_mail_becomes_a_message_with_its_thread() {
    let m = parse(FIRST);
    assert_eq!(m.id, "k1@example.com");
    assert_eq!(m.channel, "email");
    assert_eq!(m.account.as_deref(), Some("support"));
    assert_eq!(m.title.as_deref(), Some("Broken kettle"));
    assert_eq!(m.text, "My kettle leaks since Tuesday.");
    assert_eq!(m.author.email.as_deref(), Some("kim@example.com"));
    assert_eq!(m.author.name.as_deref(), Some("Kim Lee"));
    assert_eq!(
        m.thread_id.as_deref(),
        Some("k1@example.com"),
        "a new thread is its own root"
    );
    assert_eq!(m.created_at, at("2026-03-02T10:00:00Z"));
    assert_eq!(m.extra["email"]["message_id"], "<k1@example.com>");
}

#[test]
fn a_reply_threads_by_references_and_loses_its_quote() {
    let m = parse(
        "From: kim@example.com
To: support@acme.test
Subject: Re: Broken kettle
Message-ID: <k3@example.com>
In-Reply-To: <r2@acme.test>
References: <k1@example.com> <r2@acme.test>
Date: Mon, 02 Mar 2026 12:00:00 +0000

It is the model K-200.

On Mon, 2 Mar 2026 at 11:00, Acme Support <support@acme.test> wrote:
> Which model is it?
>
> > My kettle leaks since Tuesday.
",
    );
    assert_eq!(m.text, "It is the model K-200.");
    assert_eq!(m.thread_id.as_deref(), Some("k1@example.com"));
    assert_eq!(m.in_reply_to.as_deref(), Some("r2@acme.test"));
    assert_eq!(
        m.extra["email"]["references"],
        json!(["<k1@example.com>", "<r2@acme.test>"])
    );
    let payload = reply_payload(&m, "Thanks, a new one is on its way.").unwrap();
    assert_eq!(payload["email"]["to"], "kim@example.com");
    assert_eq!(
        payload["email"]["subject"], "Re: Broken kettle",
        "no Re: Re:"
    );
    assert_eq!(payload["email"]["in_reply_to"], "<k3@example.com>");
    assert_eq!(
        payload["email"]["references"],
        json!(["<k1@example.com>", "<r2@acme.test>", "<k3@example.com>"])
    );
}

#[test]
fn html_and_multipart_mails_with_attachments_are_read() {
    let m = parse(
        "From: Lee <lee@example.com>
Subject: =?utf-8?q?R=C3=BCcksendung?=
Message-ID: <m2@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"b1\"

--b1
Content-Type: text/html; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

<p>Gr=FC=DFe, the <b>lid</b> is cracked</p><script>alert(1)</script>
--b1
Content-Type: image/jpeg; name=\"lid.jpg\"
Content-Disposition: attachment; filename=\"lid.jpg\"
Content-Transfer-Encoding: base64

/9j/4AAQSkZJRgABAQ==
--b1--
",
    );
    assert_eq!(m.title.as_deref(), Some("Rücksendung"));
    assert_eq!(m.text, "Grüße, the lid is cracked");
    let attachments = &m.extra["email"]["attachments"];
    assert_eq!(attachments[0]["name"], "lid.jpg");
    assert_eq!(attachments[0]["content_type"], "image/jpeg");
    assert!(attachments[0]["size"].as_u64().unwrap() > 0);
}

#[test]
fn broken_mails_are_read_as_far_as_they_go_or_refused_with_a_reason() {
    // Cut off in the middle of a part, with a charset nobody knows.
    let m = parse(
        "From: a@example.com
Subject: cut
Content-Type: multipart/alternative; boundary=\"x\"

--x
Content-Type: text/plain; charset=x-unknown-9

half a sentence",
    );
    assert!(m.text.contains("half a sentence"), "{:?}", m.text);
    assert!(
        m.id.starts_with("sha256:"),
        "no Message-ID: a hash of the mail"
    );
    let no_sender = parse_mail(
        b"Subject: who?\r\n\r\nbody\r\n",
        "s",
        at("2026-12-06T12:00:00Z"),
    );
    assert_eq!(no_sender.unwrap_err().field.as_deref(), Some("author"));
    assert!(parse_mail(b"", "s", at("2026-12-06T12:00:00Z")).is_err());
}

#[test]
fn only_the_new_part_of_a_reply_is_kept() {
    assert_eq!(
        new_part("Yes.\n\n-----Original Message-----\nFrom: x"),
        "Yes."
    );
    assert_eq!(new_part("Ja.\nAm 2. März 2026 schrieb:\n> alt"), "Ja.");
    assert_eq!(new_part("> only quoted"), "");
    assert_eq!(
        new_part("I said:\n> a quote in the middle\nand more after it"),
        "I said:\n> a quote in the middle\nand more after it",
        "a quote followed by new text stays"
    );
}

#[test]
fn settings_are_checked() {
    let ok = EmailConfig::from_json(&json!({
        "imap": {"host": "imap.example.com"}, "smtp": {"host": "smtp.example.com", "port": 587},
        "username": "support@acme.test"
    }))
    .unwrap();
    assert_eq!((ok.imap.port, ok.imap.tls), (993, true));
    assert_eq!(ok.smtp.as_ref().unwrap().port, 587);
    assert_eq!(ok.address, "support@acme.test");
    assert_eq!(ok.mailbox, "INBOX");
    assert!(ok.idle, "IDLE by default");
    for (config, expect) in [
        (json!({"username": "u"}), "`imap`"),
        (json!({"imap": {"host": ""}, "username": "u"}), "imap.host"),
        (
            json!({"imap": {"host": "h", "port": 70000}, "username": "u"}),
            "imap.port",
        ),
        (json!({"imap": {"host": "h"}}), "`username`"),
        (
            json!({"imap": {"host": "h"}, "username": "u", "idle": 1}),
            "`idle`",
        ),
        (
            json!({"imap": {"host": "h"}, "smtp": {"host": "s"}, "username": "u"}),
            "address",
        ),
    ] {
        let e = EmailConfig::from_json(&config).unwrap_err();
        assert!(e.contains(expect), "{config}: {e}");
    }
}
