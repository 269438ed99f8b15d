//! Scenarios through [`Profiles`], as the issue tells them.

use serde_json::json;

use crate::*;

const DAY: i64 = 86_400_000_000;

fn profiles() -> Profiles {
    Profiles::new(ProfileConfig {
        default_region: Some("DE".into()),
        ..ProfileConfig::default()
    })
    .unwrap()
}

fn id(p: &Profiles, s: &str) -> Identity {
    p.normalizer().parse(s).unwrap()
}

fn sighting<'a>(
    channel: &'a str,
    message_id: &'a str,
    at: i64,
    author: Author<'a>,
) -> Sighting<'a> {
    Sighting {
        channel,
        message_id,
        seq: None,
        at,
        outbound: false,
        author,
        sentiment: None,
    }
}

fn names(view: &ProfileView) -> Vec<String> {
    let mut v: Vec<String> = view.identities.iter().map(|(_, i)| i.to_string()).collect();
    v.sort();
    v
}

/// Kim: a CRM record, an email, a chat identify call, a mastodon handle.
fn kim(p: &mut Profiles) {
    p.import_customer(
        &CrmCustomer {
            id: "4711".into(),
            emails: vec!["Kim@Example.com".into()],
            phones: vec!["030 1234567".into()],
            name: Some("Kim Lee".into()),
            traits: vec![
                ("country".into(), json!("DE")),
                ("lifetime_value".into(), json!(620)),
            ],
        },
        "customers.csv",
        DAY,
    )
    .unwrap();
    p.observe(&sighting(
        "email",
        "m1",
        2 * DAY,
        Author {
            email: Some("kim@example.com"),
            name: Some("Kim Lee"),
            ..Author::default()
        },
    ));
    p.observe(&sighting(
        "chat",
        "c1",
        3 * DAY,
        Author {
            id: Some("v-93"),
            email: Some("kim@example.com"),
            ..Author::default()
        },
    ));
    p.observe(&sighting(
        "mastodon",
        "t1",
        4 * DAY,
        Author {
            handle: Some("@kim_lee"),
            name: Some("Kim Lee"),
            ..Author::default()
        },
    ));
}

#[test]
fn trusted_sources_link_one_person_across_channels() {
    let mut p = profiles();
    kim(&mut p);
    let view = p.profile_of(&id(&p, "email:kim@example.com")).unwrap();
    assert_eq!(
        names(&view),
        [
            "crm:4711",
            "email:kim@example.com",
            "phone:+49301234567",
            "visitor:v-93"
        ]
    );
    assert_eq!(view.name, "p1");
    assert_eq!(view.traits["country"], json!("DE"));
    assert_eq!(view.traits["lifetime_value"], json!(620));
    assert_eq!(view.traits["name"], json!("Kim Lee"));
    assert_eq!(view.activity.total_messages(), 2);
    // The public handle is not linked, but it is suggested, with its evidence.
    let handle = p.profile_of(&id(&p, "mastodon:kim_lee")).unwrap();
    assert_eq!(names(&handle), ["mastodon:kim_lee"]);
    let open: Vec<&Suggestion> = p
        .suggestions()
        .iter()
        .filter(|s| s.status == SuggestionStatus::Open)
        .collect();
    assert!(!open.is_empty());
    let s = open
        .iter()
        .find(|s| p.graph().identity(s.b).to_string() == "mastodon:kim_lee")
        .unwrap();
    assert!(
        s.evidence.iter().any(|e| e.contains("Kim Lee")),
        "{:?}",
        s.evidence
    );
    // Every link is in the audit log, by the system, with its source.
    let changes = p.take_changes();
    let links: Vec<&AuditEntry> = changes
        .audit
        .iter()
        .filter(|a| a.action == AuditAction::Link)
        .collect();
    assert_eq!(links.len(), 3);
    assert!(links.iter().all(|a| a.actor == "system"));
    assert!(
        links
            .iter()
            .any(|a| a.reason.contains("verified_identify from message:chat/c1"))
    );
    assert_eq!(changes.edges.len(), 3);
}

#[test]
fn untrusted_claims_never_link_by_themselves() {
    let mut p = profiles();
    kim(&mut p);
    // A public profile says it is kim@example.com.
    p.observe(&sighting(
        "mastodon",
        "t9",
        5 * DAY,
        Author {
            handle: Some("impostor"),
            email: Some("kim@example.com"),
            ..Author::default()
        },
    ));
    let kim = p.profile_of(&id(&p, "email:kim@example.com")).unwrap();
    assert!(!names(&kim).contains(&"mastodon:impostor".to_string()));
    let claim = p
        .suggestions()
        .iter()
        .find(|s| {
            s.evidence
                .iter()
                .any(|e| e.contains("claims email:kim@example.com"))
        })
        .expect("the claim waits for review");
    assert_eq!(claim.status, SuggestionStatus::Open);
    // Accepting it is an agent's decision, and the audit log says who.
    let claim = claim.id;
    p.take_changes();
    p.accept(claim, "agent:ana", "confirmed by phone", 6 * DAY)
        .unwrap();
    assert!(
        names(&p.profile_of(&id(&p, "mastodon:impostor")).unwrap())
            .contains(&"crm:4711".to_string())
    );
    let changes = p.take_changes();
    assert_eq!(changes.audit[0].action, AuditAction::Accept);
    assert_eq!(changes.audit[0].actor, "agent:ana");
    assert_eq!(changes.edges[0].evidence.kind, EdgeKind::Agent);
    assert_eq!(
        changes.edges[0].evidence.source,
        format!("suggestion:{claim}")
    );
    assert!(matches!(
        p.accept(claim, "agent:ana", "", 7 * DAY),
        Err(ProfileError::Decided(..))
    ));
}

#[test]
fn a_shared_family_email_does_not_join_two_customers() {
    let mut p = profiles();
    for (crm, name) in [("1", "Kim Lee"), ("2", "Min Lee")] {
        p.import_customer(
            &CrmCustomer {
                id: crm.into(),
                emails: vec!["lees@example.com".into()],
                name: Some(name.into()),
                ..CrmCustomer::default()
            },
            "crm.csv",
            DAY,
        )
        .unwrap();
    }
    let one = p.profile_of(&id(&p, "crm:1")).unwrap();
    let two = p.profile_of(&id(&p, "crm:2")).unwrap();
    assert_ne!(one.name, two.name);
    assert_eq!(names(&one), ["crm:1", "email:lees@example.com"]);
    assert_eq!(names(&two), ["crm:2"]);
    let refused: Vec<AuditEntry> = p
        .take_changes()
        .audit
        .into_iter()
        .filter(|a| a.action == AuditAction::Refuse)
        .collect();
    assert_eq!(refused.len(), 1);
    assert!(
        refused[0].reason.contains("two different crm identities"),
        "{}",
        refused[0].reason
    );
    // An agent cannot force it either; the refusal is logged.
    let err = p
        .link(
            &id(&p, "crm:2"),
            &id(&p, "email:lees@example.com"),
            "agent:ana",
            "same family",
            2 * DAY,
        )
        .unwrap_err();
    assert!(matches!(err, ProfileError::Refused(_)), "{err}");
    assert_eq!(p.take_changes().audit[0].action, AuditAction::Refuse);
}

#[test]
fn unmerge_splits_profiles_and_traits_exactly() {
    let mut p = profiles();
    kim(&mut p);
    let handle = id(&p, "mastodon:kim_lee");
    let email = id(&p, "email:kim@example.com");
    p.observe(&sighting(
        "mastodon",
        "t2",
        5 * DAY,
        Author {
            handle: Some("kim_lee"),
            country: Some("kr"),
            ..Author::default()
        },
    ));
    let before_handle = p.profile_of(&handle).unwrap();
    let before_kim = p.profile_of(&email).unwrap();
    p.link(
        &handle,
        &email,
        "agent:ana",
        "same avatar and order number",
        6 * DAY,
    )
    .unwrap();
    let merged = p.profile_of(&handle).unwrap();
    assert_eq!(merged.identities.len(), 5);
    // The post's country is newer than the CRM's, but the CRM is a trusted source first.
    assert_eq!(merged.traits["country"], json!("DE"));
    p.unlink(
        &handle,
        &email,
        "agent:ana",
        "wrong person after all",
        7 * DAY,
    )
    .unwrap();
    assert_eq!(p.profile_of(&handle).unwrap(), before_handle);
    assert_eq!(p.profile_of(&email).unwrap(), before_kim);
    // Unlinking again is an error that says why.
    let err = p
        .unlink(&handle, &email, "agent:ana", "again", 8 * DAY)
        .unwrap_err();
    assert!(matches!(err, ProfileError::NotLinked(_)), "{err}");
    let err = p.unlink(&email, &id(&p, "crm:4711"), "agent:ana", "x", 8 * DAY);
    assert!(err.is_ok(), "directly linked by the CRM record");
    let err = p
        .unlink(
            &id(&p, "visitor:v-93"),
            &id(&p, "phone:+49301234567"),
            "agent:ana",
            "x",
            8 * DAY,
        )
        .unwrap_err();
    assert!(err.to_string().contains("not linked"), "{err}");
}

#[test]
fn clear_errors_for_impossible_requests() {
    let mut p = profiles();
    kim(&mut p);
    let email = id(&p, "email:kim@example.com");
    let crm = id(&p, "crm:4711");
    assert!(matches!(
        p.link(&email, &email, "a", "r", DAY),
        Err(ProfileError::SelfMerge(_))
    ));
    assert!(matches!(
        p.link(&email, &crm, "a", "r", DAY),
        Err(ProfileError::SelfMerge(_))
    ));
    assert!(matches!(
        p.link(&email, &crm, "a", " ", DAY),
        Err(ProfileError::BadInput(_))
    ));
    let stranger = id(&p, "email:nobody@example.com");
    assert_eq!(
        p.link(&email, &stranger, "a", "r", DAY).unwrap_err(),
        ProfileError::UnknownIdentity("email:nobody@example.com".into())
    );
    assert!(matches!(
        p.erase("p999", "a", "asked", DAY),
        Err(ProfileError::UnknownProfile(_))
    ));
    assert!(matches!(
        p.erase("kim", "a", "asked", DAY),
        Err(ProfileError::UnknownProfile(_))
    ));
    assert!(matches!(
        p.unlink_edge(999, "a", "r", DAY),
        Err(ProfileError::NotLinked(_))
    ));
    assert!(matches!(
        p.accept(999, "a", "r", DAY),
        Err(ProfileError::UnknownSuggestion(999))
    ));
    assert!(
        p.import_customer(
            &CrmCustomer {
                id: "n/a".into(),
                ..CrmCustomer::default()
            },
            "x",
            DAY
        )
        .is_err()
    );
}

#[test]
fn malformed_and_junk_values_are_kept_raw_or_dropped_never_linked() {
    let mut p = profiles();
    let out = p
        .import_customer(
            &CrmCustomer {
                id: "9".into(),
                emails: vec!["kim@@example".into(), "unknown".into()],
                phones: vec!["0000000000".into(), "12".into()],
                ..CrmCustomer::default()
            },
            "crm.csv",
            DAY,
        )
        .unwrap();
    assert_eq!(out.links, 0);
    assert_eq!(out.skipped.len(), 4, "{:?}", out.skipped);
    let view = p.profile_of(&id(&p, "crm:9")).unwrap();
    assert_eq!(names(&view), ["crm:9"]);
    assert!(
        p.graph()
            .node(&Identity::new(Kind::Raw("email".into()), "kim@@example"))
            .is_some()
    );
}

#[test]
fn computed_traits_follow_messages_and_sentiment() {
    let mut p = profiles();
    for (i, score) in [(1, -0.8f32), (2, -0.4), (40, 0.9)] {
        let mut s = sighting(
            "email",
            "m",
            i * DAY,
            Author {
                email: Some("kim@example.com"),
                ..Author::default()
            },
        );
        s.sentiment = Some(score);
        s.seq = Some(i);
        p.observe(&s);
    }
    let mut out = sighting(
        "email",
        "r",
        3 * DAY,
        Author {
            email: Some("kim@example.com"),
            ..Author::default()
        },
    );
    out.outbound = true;
    p.observe(&out);
    let view = p.profile_of(&id(&p, "email:kim@example.com")).unwrap();
    assert_eq!(view.activity.messages["email"], 4);
    assert_eq!(view.activity.last_contact, Some(3 * DAY));
    assert_eq!(view.activity.first_seen, Some(DAY));
    assert_eq!(
        view.activity.average_sentiment(40 * DAY, 30),
        Some(0.9f32 as f64)
    );
    // The outbound message had no seq: it is counted but not on a timeline.
    assert_eq!(p.take_changes().sightings.len(), 3);
}

#[test]
fn erasing_forgets_identities_and_traits_but_keeps_counts() {
    let mut p = profiles();
    kim(&mut p);
    let name = p.profile_of(&id(&p, "crm:4711")).unwrap().name;
    p.take_changes();
    let erased = p
        .erase(&name, "agent:dpo", "customer asked (GDPR art. 17)", 9 * DAY)
        .unwrap();
    assert_eq!(erased.len(), 4);
    assert!(p.profile_of(&id(&p, "crm:4711")).is_none());
    assert!(p.profile_of(&id(&p, "email:kim@example.com")).is_none());
    assert!(matches!(
        p.profile(&name),
        Err(ProfileError::UnknownProfile(_))
    ));
    let changes = p.take_changes();
    assert_eq!(changes.erased.len(), 4);
    assert_eq!(changes.removed.len(), 3);
    for n in erased {
        assert!(p.traits_of(n).is_empty());
        assert!(p.graph().identity(n).to_string().starts_with("raw:erased:"));
    }
    // The same address writing again is a new, unlinked identity.
    p.observe(&sighting(
        "email",
        "m9",
        10 * DAY,
        Author {
            email: Some("kim@example.com"),
            ..Author::default()
        },
    ));
    let again = p.profile_of(&id(&p, "email:kim@example.com")).unwrap();
    assert_eq!(again.identities.len(), 1);
}

#[test]
fn replaying_the_changes_rebuilds_the_same_profiles() {
    let mut p = profiles();
    kim(&mut p);
    p.observe(&sighting(
        "mastodon",
        "t9",
        5 * DAY,
        Author {
            handle: Some("impostor"),
            email: Some("kim@example.com"),
            ..Author::default()
        },
    ));
    let claim = p
        .suggestions()
        .iter()
        .find(|s| s.evidence[0].contains("claims"))
        .unwrap()
        .id;
    p.accept(claim, "agent:ana", "checked", 6 * DAY).unwrap();
    let first = p.graph().edges()[0].id;
    p.unlink_edge(first, "agent:ana", "wrong", 7 * DAY).unwrap();
    let changes = p.take_changes();

    let mut q = profiles();
    for (node, identity, _) in &changes.identities {
        q.restore_identity(*node, identity, false);
    }
    let removed: std::collections::HashSet<u64> = changes.removed.iter().map(|r| r.0).collect();
    for edge in &changes.edges {
        let mut edge = edge.clone();
        edge.active = !removed.contains(&edge.id);
        q.restore_edge(&edge);
    }
    for (node, value) in &changes.traits {
        q.restore_trait(*node, value.clone());
    }
    for node in &changes.activity {
        q.restore_activity(*node, p.activity(*node).unwrap().clone());
    }
    for n in 0..p.graph().len() as NodeId {
        assert_eq!(
            q.view(q.graph().profile_of(n)),
            p.view(p.graph().profile_of(n)),
            "node {n}"
        );
    }
}

fn members(p: &Profiles, key: &str) -> Vec<String> {
    p.segment(key)
        .unwrap()
        .members
        .iter()
        .map(|&r| profile_name(r))
        .collect()
}

/// Takes the changes as the service does after a write and updates membership.
fn settle(p: &mut Profiles, now: i64) {
    let changes = p.take_changes();
    p.refresh_segments(&changes, now);
}

#[test]
fn segments_follow_events_merges_splits_and_erasure() {
    let mut p = profiles();
    kim(&mut p);
    let now = 10 * DAY;
    p.define_segment("de_vip", "country = DE and lifetime_value > 500", now)
        .unwrap();
    p.define_segment("buyers", "events(purchase, 30d) >= 2", now)
        .unwrap();
    p.define_segment("korea", "country = kr", now).unwrap();
    settle(&mut p, now);
    assert_eq!(members(&p, "de_vip"), ["p1"]);
    assert!(members(&p, "buyers").is_empty());

    // The same event twice counts once; a second order makes a buyer.
    p.add_event("4711", "purchase", "o1", 5 * DAY, json!({}))
        .unwrap();
    p.add_event("4711", "purchase", "o1", 5 * DAY, json!({}))
        .unwrap();
    settle(&mut p, now);
    assert!(members(&p, "buyers").is_empty());
    p.add_event("4711", "Purchase", "o2", 6 * DAY, json!({}))
        .unwrap();
    settle(&mut p, now);
    assert_eq!(members(&p, "buyers"), ["p1"]);

    // A Korean handle is its own profile until an agent links it to Kim, whose trusted CRM
    // country then wins; unlinking hands the handle its own country back.
    p.observe(&sighting(
        "mastodon",
        "t2",
        5 * DAY,
        Author {
            handle: Some("kim_lee"),
            country: Some("kr"),
            ..Author::default()
        },
    ));
    settle(&mut p, now);
    let handle = id(&p, "mastodon:kim_lee");
    let email = id(&p, "email:kim@example.com");
    let handle_profile = p.profile_of(&handle).unwrap().name;
    assert_eq!(members(&p, "korea"), std::slice::from_ref(&handle_profile));
    p.link(&handle, &email, "agent:ana", "same person", 6 * DAY)
        .unwrap();
    settle(&mut p, now);
    assert!(members(&p, "korea").is_empty());
    assert_eq!(members(&p, "de_vip"), ["p1"]);
    p.unlink(&handle, &email, "agent:ana", "not the same", 7 * DAY)
        .unwrap();
    settle(&mut p, now);
    assert_eq!(members(&p, "korea"), [handle_profile]);

    // Redefining replaces; removing forgets; erasing leaves no member behind.
    p.define_segment("korea", "country in (kr, jp) or events(purchase) >= 2", now)
        .unwrap();
    assert_eq!(p.segment("korea").unwrap().members.len(), 2);
    p.remove_segment("buyers").unwrap();
    assert!(matches!(
        p.remove_segment("buyers"),
        Err(ProfileError::UnknownSegment(_))
    ));
    p.erase("p1", "agent:ana", "asked to be forgotten", 8 * DAY)
        .unwrap();
    settle(&mut p, now);
    assert!(members(&p, "de_vip").is_empty());
    assert_eq!(p.segment("korea").unwrap().members.len(), 1);
    let changes = p.take_changes();
    assert!(changes.segments.is_empty() && changes.segments_removed.is_empty());
}

#[test]
fn segment_definitions_and_keys_are_checked() {
    let mut p = profiles();
    match p.define_segment("x", "country = DE and (tier", DAY) {
        Err(ProfileError::BadSegment(errors)) => {
            assert!(!errors.is_empty());
            assert!(errors[0].start <= errors[0].end);
        }
        other => panic!("expected a definition error, got {other:?}"),
    }
    for key in ["", "a b", "ü", &"k".repeat(65)] {
        assert!(
            matches!(
                p.define_segment(key, "country = DE", DAY),
                Err(ProfileError::BadInput(_))
            ),
            "{key:?}"
        );
    }
    assert_eq!(
        p.pending(),
        0,
        "nothing is recorded for a refused definition"
    );
}

/// Whatever happens to the graph, the incrementally kept members equal a fresh evaluation.
#[test]
fn incremental_membership_equals_a_full_evaluation() {
    let definitions = [
        ("de", "country = DE"),
        ("not_de", "country != DE"),
        ("rich", "lifetime_value >= 300 and identities >= 2"),
        (
            "buyers",
            "events(purchase) >= 2 or events(refund, 10d) >= 1",
        ),
        ("chatty", "messages >= 3 or messages.chat >= 1"),
        ("unhappy", "sentiment(30d) = negative"),
        ("recent", "last_seen within 5d and not tier exists"),
    ];
    let now = 40 * DAY;
    for seed in 0..24 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut p = profiles();
        for (key, definition) in definitions {
            p.define_segment(key, definition, now).unwrap();
        }
        settle(&mut p, now);
        for step in 0..120 {
            let at = (rng.i64(1..40)) * DAY;
            let who = rng.u32(0..12);
            let email = format!("user{who}@example.com");
            let handle = format!("h{}", rng.u32(0..12));
            match rng.u8(0..6) {
                0 | 1 => {
                    let channel = ["email", "chat", "mastodon"][rng.usize(0..3)];
                    let country = ["DE", "kr", "FR"][rng.usize(0..3)];
                    p.observe(&Sighting {
                        sentiment: Some(rng.f32() * 2.0 - 1.0),
                        ..sighting(
                            channel,
                            &format!("m{step}"),
                            at,
                            Author {
                                email: (channel != "mastodon").then_some(email.as_str()),
                                handle: (channel == "mastodon").then_some(handle.as_str()),
                                country: Some(country),
                                ..Author::default()
                            },
                        )
                    });
                }
                2 => {
                    let mut traits = vec![("lifetime_value".into(), json!(rng.u32(0..600)))];
                    if rng.bool() {
                        traits.push(("tier".into(), json!("gold")));
                    }
                    p.import_customer(
                        &CrmCustomer {
                            id: format!("c{}", rng.u32(0..8)),
                            emails: vec![email],
                            phones: vec![],
                            name: None,
                            traits,
                        },
                        "crm.csv",
                        at,
                    )
                    .unwrap();
                }
                3 => {
                    let kind = ["purchase", "refund"][rng.usize(0..2)];
                    let event = format!("e{}", rng.u32(0..30));
                    p.add_event(&format!("c{}", rng.u32(0..8)), kind, &event, at, json!({}))
                        .unwrap();
                }
                4 => {
                    let n = p.graph().len() as NodeId;
                    if n >= 2 {
                        let (a, b) = (rng.u32(0..n), rng.u32(0..n));
                        let (ia, ib) =
                            (p.graph().identity(a).clone(), p.graph().identity(b).clone());
                        if rng.bool() {
                            let _ = p.link(&ia, &ib, "agent:t", "test", at);
                        } else {
                            let _ = p.unlink(&ia, &ib, "agent:t", "test", at);
                        }
                    }
                }
                _ => {
                    if rng.u8(0..8) == 0 && !p.graph().is_empty() {
                        let n = rng.u32(0..p.graph().len() as NodeId);
                        let name = profile_name(p.graph().profile_of(n));
                        let _ = p.erase(&name, "agent:t", "asked", at);
                    }
                }
            }
            settle(&mut p, now);
            let mut fresh = Memberships::default();
            let segments = definitions
                .iter()
                .map(|(k, d)| (k.to_string(), Segment::parse(d).unwrap()))
                .collect();
            fresh.define_all(segments, &p, now);
            for (key, _) in definitions {
                assert_eq!(
                    p.segment(key).unwrap().members,
                    fresh.get(key).unwrap().members,
                    "seed {seed}, step {step}, segment {key}"
                );
            }
        }
    }
}
