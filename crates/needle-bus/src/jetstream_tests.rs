//! The conformance suite and what only JetStream has (a server that restarts, goes away,
//! fills up), each test against a private `nats-server` of its own.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::*;
use crate::conformance::{self, POLICY, envelope, pull_n};
use crate::testing::TestNats;

fn config(nats: &TestNats, policy: DeliveryPolicy) -> JetStreamConfig {
    JetStreamConfig {
        policy,
        request_timeout: Duration::from_secs(2),
        ..JetStreamConfig::new(nats.url())
    }
}

fn open(policy: DeliveryPolicy) -> Option<(Box<dyn Transport>, TestNats)> {
    let nats = TestNats::start()?;
    let bus = JetStream::connect(config(&nats, policy)).expect("connect");
    Some((Box::new(bus), nats))
}

crate::transport_conformance_tests!(open);

fn batch(from: usize, to: usize) -> Vec<Envelope> {
    (from..to).map(|i| envelope(1, &format!("m{i}"))).collect()
}

fn keys(envelopes: &[Envelope]) -> HashSet<String> {
    envelopes.iter().map(Envelope::key).collect()
}

/// Retries `publish` until it is accepted, as a client told 503 would.
fn publish_until_accepted(bus: &JetStream, batch: &[Envelope], within: Duration) -> Published {
    let deadline = Instant::now() + within;
    loop {
        match bus.publish(batch) {
            Ok(published) => return published,
            Err(BusError::Unavailable(e)) if Instant::now() < deadline => {
                tracing::debug!(error = %e, "still unavailable");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("publish did not recover within {within:?}: {e}"),
        }
    }
}

/// Pulls and acks until `expected` keys came or 30 s passed; returns every key seen,
/// riding out Unavailable while the client reconnects.
fn drain(bus: &JetStream, expected: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while seen.len() < expected && Instant::now() < deadline {
        match bus.pull(500, Duration::from_millis(500)) {
            Ok(deliveries) => {
                for delivery in deliveries {
                    seen.push(delivery.envelope.key());
                    delivery.ack().unwrap();
                }
            }
            Err(BusError::Unavailable(_)) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("pull: {e}"),
        }
    }
    seen
}

#[test]
fn streams_and_consumer_are_set_up_as_documented() {
    let Some(nats) = TestNats::start() else {
        return;
    };
    let bus = JetStream::connect(config(&nats, POLICY)).unwrap();
    assert!(bus.is_connected());
    let inner = &bus.inner;
    let (messages, dead, consumer) = inner.block_on(async {
        let messages = inner.context.get_stream("NEEDLE_MESSAGES").await.unwrap();
        let dead = inner.context.get_stream("NEEDLE_DEAD").await.unwrap();
        let consumer = messages.consumer_info("needle-pipeline").await.unwrap();
        (
            messages.cached_info().config.clone(),
            dead.cached_info().config.clone(),
            consumer,
        )
    });
    assert_eq!(messages.subjects, ["needle.messages.*"]);
    assert_eq!(messages.storage, StorageType::File);
    assert_eq!(messages.retention, RetentionPolicy::WorkQueue);
    assert_eq!(messages.duplicate_window, Duration::from_secs(120));
    assert_eq!(dead.subjects, ["needle.dead.*"]);
    assert_eq!(dead.storage, StorageType::File);
    assert_eq!(dead.max_messages, 100_000);
    assert_eq!(
        consumer.config.durable_name.as_deref(),
        Some("needle-pipeline")
    );
    assert_eq!(consumer.config.ack_policy, AckPolicy::Explicit);
    assert_eq!(consumer.config.ack_wait, POLICY.ack_wait);

    // A second process with other settings binds to the same stream and consumer, and its
    // settings win: changing the ack wait needs no manual step on the server.
    let longer = DeliveryPolicy {
        ack_wait: Duration::from_secs(45),
        ..POLICY
    };
    let other = JetStream::connect(config(&nats, longer)).unwrap();
    let inner = &other.inner;
    let consumer = inner.block_on(async {
        let stream = inner.context.get_stream("NEEDLE_MESSAGES").await.unwrap();
        stream.consumer_info("needle-pipeline").await.unwrap()
    });
    assert_eq!(consumer.config.ack_wait, Duration::from_secs(45));
}

#[test]
fn published_messages_survive_a_server_crash() {
    let Some(mut nats) = TestNats::start() else {
        return;
    };
    let bus = JetStream::connect(config(&nats, POLICY)).unwrap();
    let sent = batch(0, 100);
    assert_eq!(bus.publish(&sent).unwrap().new, 100);
    // Some in flight when the server dies: 5 acknowledged, 5 left unsettled.
    let mut first = pull_n(&bus, 10);
    assert_eq!(first.len(), 10);
    let unsettled: Vec<Delivery> = first.split_off(5);
    let acked: HashSet<String> = first.iter().map(|d| d.envelope.key()).collect();
    for delivery in first {
        delivery.ack().unwrap();
    }
    drop(unsettled);

    nats.stop();
    nats.restart();

    let seen = drain(&bus, 95);
    let unique: HashSet<String> = seen.iter().cloned().collect();
    let all = keys(&sent);
    let owed: HashSet<String> = all.difference(&acked).cloned().collect();
    let missing: Vec<&String> = owed.difference(&unique).collect();
    assert!(missing.is_empty(), "lost across the restart: {missing:?}");
    // Acks in the last moments before a crash may be forgotten: redelivered, never lost.
    assert!(unique.is_subset(&all));
}

#[test]
fn publish_while_the_server_is_down_is_unavailable_at_once_then_recovers() {
    let Some(mut nats) = TestNats::start() else {
        return;
    };
    let bus = JetStream::connect(config(&nats, POLICY)).unwrap();
    bus.publish(&batch(0, 1)).unwrap();
    nats.stop();

    let started = Instant::now();
    let error = bus.publish(&batch(1, 2)).unwrap_err();
    assert!(matches!(error, BusError::Unavailable(_)), "{error}");
    assert_eq!(error.code().http_status(), 503);
    let error = bus.pull(10, Duration::from_secs(1)).unwrap_err();
    assert!(matches!(error, BusError::Unavailable(_)), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?} to say unavailable",
        started.elapsed()
    );
    assert!(!bus.is_connected());

    nats.restart();
    // The same transport, no new connect: the client reconnects by itself.
    publish_until_accepted(&bus, &batch(1, 2), Duration::from_secs(20));
    let seen: HashSet<String> = drain(&bus, 2).into_iter().collect();
    assert_eq!(seen, keys(&batch(0, 2)));
}

#[test]
fn connecting_before_the_server_is_up_works_once_it_is() {
    let Some(mut nats) = TestNats::start() else {
        return;
    };
    nats.stop();
    let started = Instant::now();
    let bus = JetStream::connect(config(&nats, POLICY)).expect("connect does not need the server");
    assert!(started.elapsed() < Duration::from_secs(5));
    let error = bus.publish(&batch(0, 1)).unwrap_err();
    assert!(matches!(error, BusError::Unavailable(_)), "{error}");
    assert!(matches!(
        bus.dead_letters(10),
        Err(BusError::Unavailable(_))
    ));

    nats.restart();
    publish_until_accepted(&bus, &batch(0, 3), Duration::from_secs(20));
    assert_eq!(drain(&bus, 3).len(), 3);
}

#[test]
fn workers_in_other_processes_share_the_consumer() {
    let Some(nats) = TestNats::start() else {
        return;
    };
    let policy = DeliveryPolicy::default();
    let ingest = JetStream::connect(config(&nats, policy)).unwrap();
    let workers = [
        JetStream::connect(config(&nats, policy)).unwrap(),
        JetStream::connect(config(&nats, policy)).unwrap(),
    ];
    let sent = batch(0, 2_000);
    ingest.publish(&sent).unwrap();
    let seen: Vec<Vec<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = workers
            .iter()
            .map(|worker| {
                scope.spawn(move || {
                    let mut seen = Vec::new();
                    loop {
                        let deliveries = worker.pull(50, Duration::from_millis(500)).unwrap();
                        if deliveries.is_empty() {
                            return seen;
                        }
                        for delivery in deliveries {
                            seen.push(delivery.envelope.key());
                            delivery.ack().unwrap();
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let total: usize = seen.iter().map(Vec::len).sum();
    let unique: HashSet<String> = seen.iter().flatten().cloned().collect();
    assert_eq!(total, 2_000, "split {} / {}", seen[0].len(), seen[1].len());
    assert_eq!(unique, keys(&sent));
}

/// Publishes raw bytes with the plain NATS protocol, as a foreign publisher might.
fn raw_publish(port: u16, subject: &str, payload: &[u8]) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("INFO"), "{line}");
    write!(
        stream,
        "CONNECT {{\"verbose\":false}}\r\nPUB {subject} {}\r\n",
        payload.len()
    )
    .unwrap();
    stream.write_all(payload).unwrap();
    stream.write_all(b"\r\nPING\r\n").unwrap();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert!(!line.starts_with("-ERR"), "{line}");
        if line.starts_with("PONG") {
            return;
        }
    }
}

#[test]
fn an_envelope_that_cannot_be_read_is_dead_lettered_by_pull() {
    let Some(nats) = TestNats::start() else {
        return;
    };
    let bus = JetStream::connect(config(&nats, POLICY)).unwrap();
    raw_publish(nats.port(), "needle.messages.9", b"not json\x00\xff");
    bus.publish(&batch(0, 1)).unwrap();
    let got = pull_n(&bus, 1);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].envelope.message.id, "m0");
    conformance::assert_nothing_within(&bus, Duration::from_millis(300));
    let dead = bus.dead_letters(10).unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(
        dead[0]
            .reason
            .starts_with("cannot read the envelope: envelope is not JSON"),
        "{}",
        dead[0].reason
    );
    assert_eq!(dead[0].workspace_id, Some(9));
    assert_eq!(dead[0].key, None);
    assert_eq!(dead[0].attempts, 1);
    assert!(dead[0].envelope_json.starts_with("not json"));
}

#[test]
fn a_reason_with_line_breaks_is_kept_on_one_line() {
    let Some(nats) = TestNats::start() else {
        return;
    };
    let bus = JetStream::connect(config(&nats, POLICY)).unwrap();
    bus.publish(&batch(0, 1)).unwrap();
    let delivery = conformance::pull_one(&bus);
    let long = "x".repeat(5000);
    delivery
        .dead_letter(&format!("first line\r\nsecond line\t{long}"))
        .unwrap();
    let dead = bus.dead_letters(1).unwrap();
    assert!(dead[0].reason.starts_with("first line  second line x"));
    assert!(dead[0].reason.len() <= MAX_REASON_BYTES);
}

#[test]
fn a_message_larger_than_the_server_takes_is_refused_with_its_batch() {
    let Some(nats) = TestNats::start() else {
        return;
    };
    let bus = JetStream::connect(config(&nats, POLICY)).unwrap();
    let mut big = envelope(1, "big");
    // Within the message spec's limit, beyond nats-server's default max_payload (1 MB).
    big.message.text = "a".repeat(needle_core::message::MAX_TEXT_BYTES);
    let error = bus.publish(&[envelope(1, "small"), big]).unwrap_err();
    assert!(matches!(error, BusError::TooLarge(_)), "{error}");
    assert_eq!(error.code().http_status(), 413);
    conformance::assert_nothing_within(&bus, Duration::from_millis(300));
}

#[test]
fn a_full_stream_is_unavailable_until_workers_catch_up() {
    let Some(nats) = TestNats::start() else {
        return;
    };
    let bus = JetStream::connect(JetStreamConfig {
        max_bytes: Some(4_096),
        ..config(&nats, POLICY)
    })
    .unwrap();
    let mut accepted = 0;
    let error = loop {
        match bus.publish(&batch(accepted, accepted + 1)) {
            Ok(_) => accepted += 1,
            Err(e) => break e,
        }
        assert!(accepted < 100, "a 4 KiB stream took 100 messages");
    };
    assert!(accepted > 0);
    assert!(matches!(error, BusError::Unavailable(_)), "{error}");
    assert_eq!(drain(&bus, accepted).len(), accepted);
    // Acks are on their way; the room they make follows.
    publish_until_accepted(&bus, &batch(accepted, accepted + 1), Duration::from_secs(5));
}

#[test]
fn dead_letters_skip_removed_ones_and_keep_to_the_limit() {
    let Some(nats) = TestNats::start() else {
        return;
    };
    let bus = JetStream::connect(JetStreamConfig {
        dead_letter_limit: 3,
        ..config(&nats, POLICY)
    })
    .unwrap();
    bus.publish(&batch(0, 5)).unwrap();
    for delivery in pull_n(&bus, 5) {
        let reason = format!("bad {}", delivery.envelope.message.id);
        delivery.dead_letter(&reason).unwrap();
    }
    let reasons = |letters: Vec<DeadLetter>| -> Vec<String> {
        letters.into_iter().map(|d| d.reason).collect()
    };
    assert_eq!(
        reasons(bus.dead_letters(10).unwrap()),
        ["bad m4", "bad m3", "bad m2"]
    );
    // An operator deletes one by hand: the others are still listed.
    let inner = &bus.inner;
    inner.block_on(async {
        let stream = inner.context.get_stream("NEEDLE_DEAD").await.unwrap();
        assert!(stream.delete_message(4).await.unwrap());
    });
    assert_eq!(reasons(bus.dead_letters(10).unwrap()), ["bad m4", "bad m2"]);
}

#[test]
fn a_consumer_or_stream_deleted_by_hand_is_set_up_again() {
    let Some(nats) = TestNats::start() else {
        return;
    };
    let bus = JetStream::connect(config(&nats, POLICY)).unwrap();
    bus.publish(&batch(0, 2)).unwrap();
    let inner = &bus.inner;
    inner.block_on(async {
        let stream = inner.context.get_stream("NEEDLE_MESSAGES").await.unwrap();
        stream.delete_consumer("needle-pipeline").await.unwrap();
    });
    // A new consumer starts from the beginning of the work queue: nothing is lost.
    let seen: HashSet<String> = drain(&bus, 2).into_iter().collect();
    assert_eq!(seen, keys(&batch(0, 2)));

    inner.block_on(async {
        inner
            .context
            .delete_stream("NEEDLE_MESSAGES")
            .await
            .unwrap();
    });
    publish_until_accepted(&bus, &batch(2, 3), Duration::from_secs(10));
    let seen: HashSet<String> = drain(&bus, 1).into_iter().collect();
    assert_eq!(seen, keys(&batch(2, 3)));
}

#[test]
fn credentials_stay_out_of_messages() {
    let config = JetStreamConfig::new("nats://needle:s3cret@nats-1:4222, nats://nats-2:4222");
    assert_eq!(
        config.redacted_url(),
        "nats://***@nats-1:4222,nats://nats-2:4222"
    );
    assert!(!format!("{config:?}").contains("s3cret"));
    let refused = JetStream::connect(JetStreamConfig::new("tls://u:s3cret@nats:4222"));
    let error = refused.err().expect("TLS is not built in");
    assert!(matches!(error, BusError::Invalid(_)), "{error}");
    assert!(!error.to_string().contains("s3cret"), "{error}");
    for bad in [
        JetStreamConfig {
            stream: "NEEDLE.MESSAGES".into(),
            ..JetStreamConfig::new("nats://127.0.0.1:1")
        },
        JetStreamConfig {
            subject_prefix: "needle.*".into(),
            ..JetStreamConfig::new("nats://127.0.0.1:1")
        },
        JetStreamConfig {
            dead_subject_prefix: "needle.messages".into(),
            ..JetStreamConfig::new("nats://127.0.0.1:1")
        },
    ] {
        assert!(matches!(JetStream::connect(bad), Err(BusError::Invalid(_))));
    }
}

#[test]
fn at_max_ack_pending_pull_waits_for_room_instead_of_failing() {
    let Some(nats) = TestNats::start() else {
        return;
    };
    let bus = JetStream::connect(JetStreamConfig {
        max_ack_pending: 2,
        ..config(&nats, DeliveryPolicy::default())
    })
    .unwrap();
    bus.publish(&batch(0, 5)).unwrap();
    let started = Instant::now();
    let first = bus.pull(10, Duration::ZERO).unwrap();
    assert_eq!(first.len(), 2);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let none = bus.pull(10, Duration::from_millis(500)).unwrap();
    assert!(none.is_empty(), "{none:?}");
    assert!(started.elapsed() >= Duration::from_millis(400));
    for delivery in first {
        delivery.ack().unwrap();
    }
    let next = pull_n(&bus, 2);
    assert_eq!(next.len(), 2);
    assert_eq!(next[0].envelope.message.id, "m2");
}
