//! Ground truth generator and benchmark for identity resolution.
//!
//! `cargo run --release -p needle-profile --example bench_profiles -- [PEOPLE] [MESSAGES]`
//! (default 300000 people, 1000000 messages). Generates a population with known truth:
//! each person has 1–5 identities across channels, 40% are CRM customers; traps: family
//! members who share an email in their CRM records, phone numbers recycled from one customer
//! to another, and look-alike names (names drawn from a small pool). Then it resolves the
//! CRM file and the messages through [`Profiles`] and reports:
//!
//! * resolution throughput (messages per second through `observe`, in memory),
//! * pairwise precision and recall of the links against the truth, for rules alone and after
//!   an oracle agent accepts the true suggestions and rejects the false ones, and precision
//!   on the pairs that involve a trap identity,
//! * unmerge exactness: after removing 1,000 random links, the profiles equal the profiles
//!   built from scratch out of the remaining links,
//! * segments: the time to evaluate 100 segments over every profile, then the latency of
//!   one event (a message or a CRM purchase) until all 100 memberships reflect it, as the
//!   service does it (take the changes, refresh the touched profiles), p50 / p99 / max.
//!
//! Everything is generated here from a fixed seed; no data set is read.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use needle_profile::graph::Graph;
use needle_profile::{Author, CrmCustomer, NodeId, ProfileConfig, Profiles, Segment, Sighting};

const FIRST: &[&str] = &[
    "kim", "lee", "min", "joon", "anna", "ben", "chloe", "david", "eva", "farid", "grace", "hugo",
    "ines", "jan", "karl", "lena", "marta", "nils", "olga", "paul", "rosa", "sven", "tara", "umar",
    "vera", "wei", "xenia", "yusuf", "zoe", "ali",
];
const LAST: &[&str] = &[
    "lee", "kim", "park", "smith", "meyer", "schmidt", "garcia", "rossi", "nowak", "jensen",
    "silva", "khan", "wang", "ito", "dubois", "novak", "ivanov", "haddad", "okafor", "larsen",
];

#[derive(Clone, Debug)]
enum Id {
    Email(String),
    Phone(String),
    Visitor(String),
    Handle(&'static str, String),
}

struct Person {
    name: String,
    ids: Vec<Id>,
    crm: Option<String>,
}

impl Person {
    fn email(&self) -> Option<&str> {
        self.ids.iter().find_map(|x| match x {
            Id::Email(e) => Some(e.as_str()),
            _ => None,
        })
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let people_n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(300_000);
    let messages_n: usize = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut rng = fastrand::Rng::with_seed(7);

    // ---- the population ----
    let mut people: Vec<Person> = Vec::with_capacity(people_n);
    for p in 0..people_n {
        let (first, last) = (
            FIRST[rng.usize(..FIRST.len())],
            LAST[rng.usize(..LAST.len())],
        );
        let n = rng.usize(1..=5);
        let mut ids = Vec::new();
        let kinds = [0, 1, 2, 3, 4];
        for &k in kinds.iter().take(n) {
            ids.push(match k {
                0 => Id::Email(format!("{first}.{last}.{p}@example.com")),
                1 => Id::Phone(format!("+4915{:09}", 100_000_000 + p)),
                2 => Id::Visitor(format!("v-{p}")),
                3 => Id::Handle("mastodon", format!("{first}_{last}_{p}")),
                _ => Id::Handle("bluesky", format!("{first}{last}{p}")),
            });
        }
        let crm = (rng.f32() < 0.4).then(|| format!("c{p}"));
        people.push(Person {
            name: format!("{} {}", cap(first), cap(last)),
            ids,
            crm,
        });
    }
    // Traps in the CRM file: (customer, extra identity that belongs to someone else too).
    let customers: Vec<usize> = (0..people_n).filter(|&p| people[p].crm.is_some()).collect();
    let mut shared: HashMap<String, Vec<usize>> = HashMap::new();
    let mut trap_rows: Vec<(usize, Id)> = Vec::new();
    for pair in customers.chunks(2).take(customers.len() / 50) {
        // A family: the second customer's record carries the first's email too.
        if let [a, b] = pair {
            let email = format!("family.{a}@example.com");
            for &p in [a, b] {
                people[p].ids.push(Id::Email(email.clone()));
            }
            shared.insert(format!("email:{email}"), vec![*a, *b]);
            trap_rows.push((*a, Id::Email(email.clone())));
            trap_rows.push((*b, Id::Email(email)));
        }
    }
    for pair in customers
        .chunks(2)
        .skip(customers.len() / 50)
        .take(customers.len() / 100)
    {
        // A recycled phone number: one customer's old number is another's new one.
        if let [a, b] = pair {
            let phone = format!("+4917{:09}", 100_000_000 + a);
            for &p in [a, b] {
                people[p].ids.push(Id::Phone(phone.clone()));
            }
            shared.insert(format!("phone:{phone}"), vec![*a, *b]);
            trap_rows.push((*a, Id::Phone(phone.clone())));
            trap_rows.push((*b, Id::Phone(phone)));
        }
    }
    let trap_people: HashSet<usize> = trap_rows.iter().map(|(p, _)| *p).collect();

    let mut p = Profiles::new(ProfileConfig::default()).expect("default settings");
    // Truth: every identity's people, by its written form.
    let mut owners: HashMap<String, Vec<usize>> = HashMap::new();
    let key = |id: &Id| match id {
        Id::Email(e) => format!("email:{e}"),
        Id::Phone(x) => format!("phone:{x}"),
        Id::Visitor(v) => format!("visitor:{v}"),
        Id::Handle(c, h) => format!("{c}:{h}"),
    };
    for (i, person) in people.iter().enumerate() {
        for id in &person.ids {
            let list = owners.entry(key(id)).or_default();
            if !list.contains(&i) {
                list.push(i);
            }
        }
        if let Some(c) = &person.crm {
            owners.entry(format!("crm:{c}")).or_default().push(i);
        }
    }

    // ---- the CRM file ----
    let started = Instant::now();
    for &c in &customers {
        let person = &people[c];
        let mut customer = CrmCustomer {
            id: person.crm.clone().unwrap(),
            name: Some(person.name.clone()),
            ..CrmCustomer::default()
        };
        for id in &person.ids {
            match id {
                Id::Email(e) => customer.emails.push(e.clone()),
                Id::Phone(x) => customer.phones.push(x.clone()),
                _ => {}
            }
        }
        customer
            .traits
            .push(("lifetime_value".into(), serde_json::json!(rng.u32(0..2000))));
        p.import_customer(&customer, "crm.csv", 1_700_000_000_000_000)
            .expect("valid customer");
    }
    let crm_time = started.elapsed();
    p.take_changes();

    // ---- the messages ----
    let mut authored: Vec<(usize, usize, bool)> = Vec::with_capacity(messages_n);
    for _ in 0..messages_n {
        let person = rng.usize(..people_n);
        let id = rng.usize(..people[person].ids.len());
        authored.push((person, id, rng.f32() < 0.5));
    }
    let ids: Vec<String> = (0..messages_n).map(|i| format!("m{i}")).collect();
    let started = Instant::now();
    for (i, &(person, id, flag)) in authored.iter().enumerate() {
        let who = &people[person];
        let mut author = Author {
            name: Some(&who.name),
            ..Author::default()
        };
        let email_of = who.email();
        let channel = match &who.ids[id] {
            Id::Email(e) => {
                author.email = Some(e);
                "email"
            }
            Id::Phone(x) => {
                author.phone = Some(x);
                "sms"
            }
            Id::Visitor(v) => {
                author.id = Some(v);
                // Half the chats follow an identify call with the visitor's email.
                if flag {
                    author.email = email_of;
                }
                "chat"
            }
            Id::Handle(c, h) => {
                author.handle = Some(h);
                // A public profile that states an email: a claim, never a link by itself.
                if flag {
                    author.email = email_of;
                }
                c
            }
        };
        p.observe(&Sighting {
            channel,
            message_id: &ids[i],
            seq: Some(i as i64 + 1),
            at: 1_700_000_000_000_000 + i as i64 * 1_000_000,
            outbound: false,
            author,
            sentiment: Some((i % 7) as f32 / 3.0 - 1.0),
        });
        if i % 5000 == 4999 {
            // As the pipeline does per batch: hand the changes over.
            std::hint::black_box(p.take_changes());
        }
    }
    let message_time = started.elapsed();
    let rate = messages_n as f64 / message_time.as_secs_f64();

    // ---- precision and recall ----
    let people_of = |g: &Graph, node: NodeId| owners.get(&g.identity(node).to_string());
    let truth_pairs: u64 = {
        // Pairs of identities (that appeared) sharing a person, counted once per pair.
        let graph = p.graph();
        let mut by_person: HashMap<usize, Vec<NodeId>> = HashMap::new();
        for n in 0..graph.len() as NodeId {
            for &person in people_of(graph, n).map(Vec::as_slice).unwrap_or(&[]) {
                by_person.entry(person).or_default().push(n);
            }
        }
        let mut pairs = HashSet::new();
        for nodes in by_person.values() {
            for (i, &a) in nodes.iter().enumerate() {
                for &b in &nodes[i + 1..] {
                    pairs.insert((a.min(b), a.max(b)));
                }
            }
        }
        pairs.len() as u64
    };
    let score = |g: &Graph| {
        let (mut tp, mut fp, mut trap_tp, mut trap_fp) = (0u64, 0u64, 0u64, 0u64);
        for (_, members) in g.merged_profiles() {
            for (i, &a) in members.iter().enumerate() {
                for &b in &members[i + 1..] {
                    let (pa, pb) = (people_of(g, a), people_of(g, b));
                    let same =
                        matches!((pa, pb), (Some(x), Some(y)) if x.iter().any(|q| y.contains(q)));
                    let trap = [pa, pb]
                        .iter()
                        .any(|o| o.is_some_and(|o| o.iter().any(|q| trap_people.contains(q))));
                    if same {
                        tp += 1
                    } else {
                        fp += 1
                    }
                    if trap {
                        if same { trap_tp += 1 } else { trap_fp += 1 }
                    }
                }
            }
        }
        (tp, fp, trap_tp, trap_fp)
    };
    let (tp, fp, trap_tp, trap_fp) = score(p.graph());
    let open: Vec<(u64, NodeId, NodeId)> =
        p.suggestions().iter().map(|s| (s.id, s.a, s.b)).collect();
    let (mut accepted, mut rejected, mut refused) = (0, 0, 0);
    let started = Instant::now();
    for (id, a, b) in open {
        let truly = matches!((owners.get(&p.graph().identity(a).to_string()), owners.get(&p.graph().identity(b).to_string())), (Some(x), Some(y)) if x.iter().any(|q| y.contains(q)));
        if p.suggestion(id)
            .is_some_and(|s| s.status != needle_profile::SuggestionStatus::Open)
        {
            continue;
        }
        if truly {
            match p.accept(id, "oracle", "truth says so", 2_000_000_000_000_000) {
                Ok(_) => accepted += 1,
                Err(_) => refused += 1,
            }
        } else {
            p.reject(id, "oracle", "truth says no", 2_000_000_000_000_000)
                .expect("open suggestion");
            rejected += 1;
        }
    }
    let review_time = started.elapsed();
    let (tp2, fp2, _, _) = score(p.graph());

    // ---- unmerge exactness ----
    let active: Vec<u64> = p
        .graph()
        .edges()
        .iter()
        .filter(|e| e.active)
        .map(|e| e.id)
        .collect();
    let mut removed = 0;
    for _ in 0..1000.min(active.len()) {
        let edge = active[rng.usize(..active.len())];
        if p.graph().edge(edge).is_some_and(|e| e.active) {
            p.unlink_edge(edge, "bench", "unmerge exactness", 3_000_000_000_000_000)
                .expect("active link");
            removed += 1;
        }
    }
    let mut fresh = Graph::new();
    for n in 0..p.graph().len() as NodeId {
        fresh.intern(p.graph().identity(n));
    }
    for e in p.graph().edges().iter().filter(|e| e.active) {
        fresh.add_edge(e.a, e.b, e.evidence.clone());
    }
    let exact =
        (0..p.graph().len() as NodeId).all(|n| fresh.profile_of(n) == p.graph().profile_of(n));

    let pct = |x: u64, y: u64| if y == 0 { 1.0 } else { x as f64 / y as f64 };
    println!(
        "population: {people_n} people, {} identities seen, {} CRM customers, {} trap rows, {messages_n} messages",
        p.graph().len(),
        customers.len(),
        trap_rows.len()
    );
    println!(
        "CRM import: {:.2} s ({:.0} customers/s)",
        crm_time.as_secs_f64(),
        customers.len() as f64 / crm_time.as_secs_f64()
    );
    println!(
        "resolution: {:.2} s, {rate:.0} messages/s (goal 50000: {:.1}x)",
        message_time.as_secs_f64(),
        rate / 50_000.0
    );
    println!(
        "rules only:        precision {:.4} ({tp} true, {fp} false pairs), recall {:.4} of {truth_pairs} true pairs",
        pct(tp, tp + fp),
        pct(tp, truth_pairs)
    );
    println!(
        "trap pairs:        precision {:.4} ({trap_tp} true, {trap_fp} false)",
        pct(trap_tp, trap_tp + trap_fp)
    );
    println!(
        "suggestions:       {accepted} accepted, {rejected} rejected, {refused} refused by rules, reviewed in {:.2} s",
        review_time.as_secs_f64()
    );
    println!(
        "after review:      precision {:.4}, recall {:.4} (+{:.4} from accepted suggestions)",
        pct(tp2, tp2 + fp2),
        pct(tp2, truth_pairs),
        pct(tp2, truth_pairs) - pct(tp, truth_pairs)
    );
    println!(
        "unmerge exactness: {removed} links removed; profiles equal a rebuild from the remaining links: {exact}"
    );
    let segments = segment_latency(&mut p, &people, &customers, &mut rng);
    println!(
        "segments:          100 defined, all profiles evaluated in {:.2} s; {} members in all",
        segments.define.as_secs_f64(),
        segments.members
    );
    println!(
        "  resolution with 100 segments, batches of 1,000: {:.0} messages/s",
        segments.batched_rate
    );
    for (what, mut times) in [
        ("a message", segments.messages),
        ("a purchase", segments.purchases),
    ] {
        times.sort();
        let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
        println!(
            "  update per event ({what}, {} events): p50 {:.3} ms, p99 {:.3} ms (goal 5 ms: {:.1}x under), max {:.3} ms",
            times.len(),
            ms(at(0.5)),
            ms(at(0.99)),
            5.0 / ms(at(0.99)),
            ms(*times.last().unwrap())
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct SegmentRun {
    define: Duration,
    members: usize,
    messages: Vec<Duration>,
    purchases: Vec<Duration>,
    /// Messages per second, resolved and reflected in every segment, in batches of 1,000.
    batched_rate: f64,
}

/// 100 segments of the kinds analysts write, then events one at a time.
fn segment_latency(
    p: &mut Profiles,
    people: &[Person],
    customers: &[usize],
    rng: &mut fastrand::Rng,
) -> SegmentRun {
    const NOW: i64 = 1_700_000_000_000_000 + 1_100_000 * 1_000_000;
    let channels = ["email", "sms", "chat", "mastodon", "bluesky"];
    let definitions: Vec<String> = (0..100)
        .map(|i| match i % 5 {
            0 => format!("lifetime_value > {} and identities >= 2", 100 + i * 15),
            1 => format!(
                "messages.{} >= {}",
                channels[i % channels.len()],
                1 + i / 20
            ),
            2 => format!(
                "sentiment({}d) = negative and lifetime_value >= {}",
                1 + i % 30,
                i * 10
            ),
            3 => format!("events(purchase, {}d) >= {}", 1 + i % 30, 1 + i / 50),
            _ => format!(
                "(country in (DE, AT, CH) or messages >= {}) and not lifetime_value < {}",
                3 + i / 10,
                i * 5
            ),
        })
        .collect();
    let parsed = definitions
        .iter()
        .enumerate()
        .map(|(i, d)| (format!("s{i}"), Segment::parse(d).expect("valid segment")))
        .collect();
    // What the review and unmerge above changed was written before segments existed.
    p.take_changes();
    let started = Instant::now();
    p.restore_segments(parsed, NOW);
    let define = started.elapsed();
    let members = p.segments().iter().map(|(_, l)| l.members.len()).sum();

    let settle = |p: &mut Profiles| {
        let changes = p.take_changes();
        p.refresh_segments(&changes, NOW);
    };
    let mut messages = Vec::with_capacity(20_000);
    for i in 0..20_000 {
        // Someone with an email address, writing by email.
        let (who, email) = loop {
            let who = &people[rng.usize(..people.len())];
            if let Some(email) = who.email() {
                break (who, email);
            }
        };
        let message_id = format!("s{i}");
        let started = Instant::now();
        p.observe(&Sighting {
            channel: "email",
            message_id: &message_id,
            seq: None,
            at: NOW - rng.i64(0..20) * 86_400_000_000,
            outbound: false,
            author: Author {
                email: Some(email),
                name: Some(&who.name),
                country: Some(["DE", "FR", "KR"][i % 3]),
                ..Author::default()
            },
            sentiment: Some(rng.f32() * 2.0 - 1.0),
        });
        settle(p);
        messages.push(started.elapsed());
    }
    // Resolution as the service runs it: batches of 1,000 messages, one refresh per batch.
    let started = Instant::now();
    let mut batched = 0;
    for i in 0..100_000 {
        let who = &people[rng.usize(..people.len())];
        let Some(email) = who.email() else {
            continue;
        };
        batched += 1;
        p.observe(&Sighting {
            channel: "email",
            message_id: &format!("b{i}"),
            seq: None,
            at: NOW - rng.i64(0..20) * 86_400_000_000,
            outbound: false,
            author: Author {
                email: Some(email),
                name: Some(&who.name),
                ..Author::default()
            },
            sentiment: Some(rng.f32() * 2.0 - 1.0),
        });
        if batched % 1000 == 0 {
            settle(p);
        }
    }
    settle(p);
    let batched_rate = batched as f64 / started.elapsed().as_secs_f64();
    let mut purchases = Vec::with_capacity(5_000);
    for i in 0..5_000 {
        let who = &people[customers[rng.usize(..customers.len())]];
        let crm = who.crm.as_deref().expect("a customer");
        let started = Instant::now();
        p.add_event(
            crm,
            "purchase",
            &format!("o{i}"),
            NOW - rng.i64(0..40) * 86_400_000_000,
            serde_json::Value::Null,
        )
        .expect("valid event");
        settle(p);
        purchases.push(started.elapsed());
    }
    SegmentRun {
        define,
        members,
        messages,
        purchases,
        batched_rate,
    }
}

fn cap(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
