//! The behaviour every [`Transport`] must show, written once and run against each.
//!
//! A transport's tests call `transport_conformance_tests!(open)`, where
//! `open(policy: DeliveryPolicy)` returns `Some((Box<dyn Transport>, guard))`: a fresh, empty
//! transport with that delivery policy, and whatever it lives in (a server) kept alive by
//! `guard` for the length of the test. `None` skips the test (no server installed).
//!
//! The checks use [`POLICY`]: three deliveries, an ack wait of one second.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use needle_core::Message;
use serde_json::json;

use crate::{DeliveryPolicy, Envelope, Transport};

/// Generates one `#[test]` per check for a transport.
#[macro_export]
macro_rules! transport_conformance_tests {
    ($open:expr) => {
        $crate::transport_conformance_tests!(@each $open;
            round_trip_in_order,
            pull_waits_for_a_publish,
            nak_redelivers_with_the_next_attempt,
            nak_with_a_delay_waits_for_it,
            unacked_delivery_comes_back_after_the_ack_wait,
            nak_on_the_last_attempt_dead_letters_with_the_reason,
            unsettled_last_delivery_is_dead_lettered,
            dead_letter_is_not_redelivered,
            dead_letters_are_newest_first_and_limited,
            same_key_is_taken_once,
            stats_count_waiting_unacknowledged_redelivered_and_dead,
            events_reach_every_follower_in_order,
            ten_thousand_round_trip_without_loss_or_duplicates);
    };
    (@each $open:expr; $($check:ident),*) => {
        $(
            #[test]
            fn $check() {
                let Some((transport, _guard)) = ($open)($crate::conformance::POLICY) else {
                    return;
                };
                $crate::conformance::$check(transport.as_ref());
                // Before the guard: a transport may want its server for a last flush.
                drop(transport);
            }
        )*
    };
}

/// The delivery policy the checks are written for; short, so the suite is quick.
pub const POLICY: DeliveryPolicy = DeliveryPolicy {
    max_deliveries: 3,
    ack_wait: Duration::from_secs(1),
};

/// Long enough for anything that should arrive to arrive, on a loaded machine.
pub const PATIENCE: Duration = Duration::from_secs(10);
/// How long to listen when nothing should arrive.
const QUIET: Duration = Duration::from_millis(300);

/// A valid message for tests, varied by `id` and minute.
pub fn message(id: &str, minute: u32) -> Message {
    Message::from_json(json!({
        "id": id,
        "channel": "email",
        "created_at": format!("2026-03-02T14:{:02}:00Z", minute % 60),
        "text": format!("message {id} about Acme"),
        "author": {"handle": format!("user{}", minute % 7)},
    }))
    .expect("test message is valid")
}

/// An envelope holding [`message`]`(id, 0)` for `workspace_id`.
pub fn envelope(workspace_id: i64, id: &str) -> Envelope {
    Envelope::new(workspace_id, message(id, 0))
}

/// Pulls until `n` deliveries came or [`PATIENCE`] ran out.
pub fn pull_n(transport: &dyn Transport, n: usize) -> Vec<crate::Delivery> {
    let deadline = Instant::now() + PATIENCE;
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        got.extend(
            transport
                .pull(n - got.len(), Duration::from_millis(500))
                .expect("pull"),
        );
    }
    got
}

/// Pulls one delivery, failing the test if none comes.
pub fn pull_one(transport: &dyn Transport) -> crate::Delivery {
    let mut got = pull_n(transport, 1);
    assert_eq!(got.len(), 1, "no delivery within {PATIENCE:?}");
    got.pop().expect("one delivery")
}

/// Fails the test if anything is delivered within `wait`.
pub fn assert_nothing_within(transport: &dyn Transport, wait: Duration) {
    let got = transport.pull(100, wait).expect("pull");
    let keys: Vec<String> = got.iter().map(|d| d.envelope.key()).collect();
    assert!(keys.is_empty(), "unexpected deliveries: {keys:?}");
}

fn ids(deliveries: &[crate::Delivery]) -> Vec<&str> {
    deliveries
        .iter()
        .map(|d| d.envelope.message.id.as_str())
        .collect()
}

pub fn round_trip_in_order(transport: &dyn Transport) {
    let batch: Vec<Envelope> = (1..=5)
        .map(|i| Envelope::new(i % 2 + 1, message(&i.to_string(), i as u32)))
        .collect();
    let published = transport.publish(&batch).unwrap();
    assert_eq!((published.new, published.duplicates), (5, 0));
    let got = pull_n(transport, 5);
    assert_eq!(ids(&got), ["1", "2", "3", "4", "5"]);
    for (delivery, sent) in got.iter().zip(&batch) {
        assert_eq!(&delivery.envelope, sent, "the envelope changed on the way");
        assert_eq!(delivery.attempt(), 1);
    }
    for delivery in got {
        delivery.ack().unwrap();
    }
    assert_nothing_within(transport, QUIET);
    assert!(transport.dead_letters(10).unwrap().is_empty());
}

pub fn pull_waits_for_a_publish(transport: &dyn Transport) {
    assert!(transport.pull(10, Duration::ZERO).unwrap().is_empty());
    std::thread::scope(|scope| {
        let puller = scope.spawn(|| {
            let started = Instant::now();
            let got = transport.pull(10, PATIENCE).unwrap();
            (got, started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(300));
        transport.publish(&[envelope(1, "late")]).unwrap();
        let (got, waited) = puller.join().unwrap();
        assert_eq!(ids(&got), ["late"]);
        assert!(
            waited < PATIENCE / 2,
            "pull did not return when a message came ({waited:?})"
        );
        for delivery in got {
            delivery.ack().unwrap();
        }
    });
}

pub fn nak_redelivers_with_the_next_attempt(transport: &dyn Transport) {
    transport
        .publish(&[envelope(1, "flaky"), envelope(1, "fine")])
        .unwrap();
    let mut got = pull_n(transport, 2);
    assert_eq!(ids(&got), ["flaky", "fine"]);
    got.pop().unwrap().ack().unwrap();
    let flaky = got.pop().unwrap();
    assert!(!flaky.receipt.is_last_attempt());
    flaky.nak(Duration::ZERO, "store busy").unwrap();
    let again = pull_one(transport);
    assert_eq!(again.envelope.message.id, "flaky");
    assert_eq!(again.attempt(), 2);
    again.ack().unwrap();
    assert_nothing_within(transport, QUIET);
}

pub fn stats_count_waiting_unacknowledged_redelivered_and_dead(transport: &dyn Transport) {
    // A server may count a change a moment after the call that made it returned: wait for
    // the expected counts, then compare.
    let expect = |waiting, unacknowledged, redelivered, dead_letters| {
        let want = crate::BusStats {
            waiting,
            unacknowledged,
            redelivered,
            dead_letters,
        };
        let deadline = Instant::now() + PATIENCE;
        let mut seen = transport.stats().expect("stats");
        while seen != want && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            seen = transport.stats().expect("stats");
        }
        assert_eq!(seen, want);
    };
    expect(0, 0, 0, 0);
    transport
        .publish(&[envelope(1, "a"), envelope(1, "b")])
        .unwrap();
    expect(2, 0, 0, 0);

    let mut got = pull_n(transport, 2);
    expect(0, 2, 0, 0);

    got.pop().unwrap().nak(Duration::ZERO, "try again").unwrap();
    let again = pull_one(transport);
    assert_eq!(again.attempt(), 2);
    expect(0, 2, 1, 0);

    again.dead_letter("poison").unwrap();
    got.pop().unwrap().ack().unwrap();
    expect(0, 0, 0, 1);
    transport.publish(&[envelope(1, "c")]).unwrap();
    expect(1, 0, 0, 1);
}

pub fn events_reach_every_follower_in_order(transport: &dyn Transport) {
    use crate::{Event, Feed};
    let (a, b) = (Feed::local(), Feed::local());
    let (mut on_a, mut on_b) = (a.subscribe(), b.subscribe());
    transport.follow_events(a).unwrap();
    transport.follow_events(b).unwrap();
    // A subscription may take a moment to reach a server: announce until the first arrives.
    let deadline = Instant::now() + PATIENCE;
    let first = loop {
        transport
            .announce(&Event::new(1, "test.ping", json!({})))
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        if let Ok(event) = on_a.try_recv() {
            break event;
        }
        assert!(Instant::now() < deadline, "no event came back");
    };
    assert_eq!(first.kind, "test.ping");
    for n in 0..20 {
        let event = Event::new(n % 3 + 1, Event::MESSAGE_STORED, json!({ "n": n }));
        transport.announce(&event).unwrap();
    }
    for rx in [&mut on_a, &mut on_b] {
        let mut seen = Vec::new();
        let deadline = Instant::now() + PATIENCE;
        while seen.len() < 20 && Instant::now() < deadline {
            match rx.try_recv() {
                Ok(event) if event.kind == Event::MESSAGE_STORED => {
                    assert_eq!(event.workspace_id, seen.len() as i64 % 3 + 1);
                    seen.push(event.data["n"].as_i64().unwrap());
                }
                Ok(_) => {} // the pings
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        assert_eq!(seen, (0..20).collect::<Vec<i64>>(), "every event, in order");
    }
}

pub fn nak_with_a_delay_waits_for_it(transport: &dyn Transport) {
    transport.publish(&[envelope(1, "later")]).unwrap();
    let first = pull_one(transport);
    let delay = Duration::from_secs(2);
    let nak_at = Instant::now();
    first.nak(delay, "not yet").unwrap();
    assert_nothing_within(transport, QUIET);
    let again = pull_one(transport);
    assert!(
        nak_at.elapsed() >= delay.mul_f32(0.8),
        "came back after {:?}, before the {delay:?} delay",
        nak_at.elapsed()
    );
    assert_eq!(again.attempt(), 2);
    again.ack().unwrap();
}

pub fn unacked_delivery_comes_back_after_the_ack_wait(transport: &dyn Transport) {
    transport.publish(&[envelope(1, "dropped")]).unwrap();
    let first = pull_one(transport);
    let delivered_at = Instant::now();
    // The worker dies: its receipt is never settled.
    drop(first);
    let again = pull_one(transport);
    assert!(
        delivered_at.elapsed() >= POLICY.ack_wait.mul_f32(0.8),
        "came back after {:?}, before the ack wait",
        delivered_at.elapsed()
    );
    assert_eq!(again.envelope.message.id, "dropped");
    assert_eq!(again.attempt(), 2);
    again.ack().unwrap();
    assert_nothing_within(transport, QUIET);
}

pub fn nak_on_the_last_attempt_dead_letters_with_the_reason(transport: &dyn Transport) {
    let poison = envelope(4, "poison");
    transport
        .publish(&[poison.clone(), envelope(4, "good")])
        .unwrap();
    let mut attempts = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        for delivery in transport.pull(10, QUIET).unwrap() {
            if delivery.envelope.message.id == "good" {
                delivery.ack().unwrap();
            } else {
                attempts.push(delivery.attempt());
                let reason = format!("cannot parse, attempt {}", delivery.attempt());
                delivery.nak(Duration::ZERO, &reason).unwrap();
            }
        }
        if attempts.len() == POLICY.max_deliveries as usize {
            break;
        }
    }
    assert_eq!(attempts, [1, 2, 3]);
    assert_nothing_within(transport, QUIET);
    let dead = transport.dead_letters(10).unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let letter = &dead[0];
    assert_eq!(letter.reason, "cannot parse, attempt 3");
    assert_eq!(letter.attempts, 3);
    assert_eq!(letter.workspace_id, Some(4));
    assert_eq!(letter.key.as_deref(), Some(poison.key().as_str()));
    let envelope = Envelope::from_bytes(letter.envelope_json.as_bytes()).unwrap();
    assert_eq!(envelope, poison);
    let age = time::OffsetDateTime::now_utc() - letter.at;
    assert!(
        age.whole_seconds().abs() < 60,
        "dead letter dated {}",
        letter.at
    );
}

pub fn unsettled_last_delivery_is_dead_lettered(transport: &dyn Transport) {
    transport.publish(&[envelope(1, "crasher")]).unwrap();
    for attempt in 1..=POLICY.max_deliveries {
        let delivery = pull_one(transport);
        assert_eq!(delivery.attempt(), attempt);
        // The worker crashes on it every time.
        drop(delivery);
    }
    // After the last ack wait it is not delivered a fourth time but set aside.
    assert_nothing_within(transport, POLICY.ack_wait * 2);
    let dead = transport.dead_letters(10).unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].attempts, POLICY.max_deliveries);
    assert!(
        dead[0].reason.contains("not acknowledged"),
        "{}",
        dead[0].reason
    );
}

pub fn dead_letter_is_not_redelivered(transport: &dyn Transport) {
    transport.publish(&[envelope(2, "bad")]).unwrap();
    let delivery = pull_one(transport);
    delivery
        .dead_letter("text is not valid for channel email")
        .unwrap();
    assert_nothing_within(transport, POLICY.ack_wait + QUIET);
    let dead = transport.dead_letters(10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reason, "text is not valid for channel email");
    assert_eq!(dead[0].attempts, 1);
}

pub fn dead_letters_are_newest_first_and_limited(transport: &dyn Transport) {
    let batch: Vec<Envelope> = (0..4).map(|i| envelope(1, &format!("d{i}"))).collect();
    transport.publish(&batch).unwrap();
    for delivery in pull_n(transport, 4) {
        let reason = format!("reason {}", delivery.envelope.message.id);
        delivery.dead_letter(&reason).unwrap();
    }
    let dead = transport.dead_letters(3).unwrap();
    let reasons: Vec<&str> = dead.iter().map(|d| d.reason.as_str()).collect();
    assert_eq!(reasons, ["reason d3", "reason d2", "reason d1"]);
    assert!(dead.windows(2).all(|w| w[0].id > w[1].id), "{dead:?}");
    assert_eq!(transport.dead_letters(100).unwrap().len(), 4);
    assert!(transport.dead_letters(0).unwrap().is_empty());
}

pub fn same_key_is_taken_once(transport: &dyn Transport) {
    let first = transport
        .publish(&[envelope(1, "a"), envelope(1, "b"), envelope(1, "b")])
        .unwrap();
    assert_eq!((first.new, first.duplicates), (2, 1));
    // A retry of the same message, with a different text, is still the same message.
    let mut changed = envelope(1, "a");
    changed.message.text = "edited".into();
    let second = transport.publish(&[changed, envelope(1, "c")]).unwrap();
    assert_eq!((second.new, second.duplicates), (1, 1));
    // The same id in another workspace is another message.
    let third = transport.publish(&[envelope(2, "a")]).unwrap();
    assert_eq!((third.new, third.duplicates), (1, 0));

    let got = pull_n(transport, 4);
    let keys: Vec<String> = got.iter().map(|d| d.envelope.key()).collect();
    assert_eq!(keys, ["1/email/a", "1/email/b", "1/email/c", "2/email/a"]);
    assert_eq!(got[0].envelope.message.text, "message a about Acme");
    for delivery in got {
        delivery.ack().unwrap();
    }
    // Published again once processed, within the window: still taken once.
    let again = transport.publish(&[envelope(1, "a")]).unwrap();
    assert_eq!((again.new, again.duplicates), (0, 1));
    assert_nothing_within(transport, QUIET);
}

pub fn ten_thousand_round_trip_without_loss_or_duplicates(transport: &dyn Transport) {
    const TOTAL: usize = 10_000;
    const BATCH: usize = 500;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = HashSet::with_capacity(TOTAL);
    std::thread::scope(|scope| {
        // Published while being consumed, as ingest and workers do: a bounded transport
        // could not take it all at once.
        let publisher = scope.spawn(|| {
            for b in 0..TOTAL / BATCH {
                let batch: Vec<Envelope> = (b * BATCH..(b + 1) * BATCH)
                    .map(|i| Envelope::new(i as i64 % 3, message(&i.to_string(), i as u32)))
                    .collect();
                let published = transport.publish(&batch).expect("publish");
                assert_eq!(published.new, BATCH);
            }
        });
        while seen.len() < TOTAL && Instant::now() < deadline {
            for delivery in transport.pull(BATCH, Duration::from_millis(500)).unwrap() {
                assert_eq!(delivery.attempt(), 1, "redelivered: {delivery:?}");
                let key = delivery.envelope.key();
                assert!(seen.insert(key.clone()), "delivered twice: {key}");
                delivery.ack().unwrap();
            }
        }
        publisher.join().expect("publisher");
    });
    assert_eq!(seen.len(), TOTAL, "lost {}", TOTAL - seen.len());
    assert_nothing_within(transport, QUIET);
    assert!(transport.dead_letters(10).unwrap().is_empty());
}
