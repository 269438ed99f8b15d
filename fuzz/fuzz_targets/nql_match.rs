//! Matching never panics, whatever the query and the message: the input is a query, a 0 byte,
//! the message text, and optionally another 0 byte and a title. Checks besides "no panic":
//! `is_match` and `matches` agree, every explained span lies on character boundaries inside
//! the text, and a matching message meets the query's `requirement()` and holds one of its
//! `required_any_of()` terms (what the presearch index and search rely on to skip work).
//!
//! `cargo fuzz run -s none nql_match -- -max_total_time=60 -dict=nql.dict`

#![no_main]

use libfuzzer_sys::fuzz_target;
use needle_nql::{Document, Fields, Scratch, compile};

fuzz_target!(|data: &[u8]| {
    let data = String::from_utf8_lossy(data);
    let (query, rest) = data.split_once('\0').unwrap_or((&data, ""));
    let (text, title) = match rest.split_once('\0') {
        Some((text, title)) => (text, Some(title)),
        None => (rest, None),
    };

    // The tokenizer and folding on their own.
    for t in needle_text::tokens(text) {
        assert!(t.start < t.end && text.is_char_boundary(t.start) && text.is_char_boundary(t.end));
        let token = t.text(text);
        let _ = needle_text::fold(token);
        let _ = needle_text::fold_case(token);
        let _ = needle_text::has_accents(token);
    }

    let Ok(q) = compile(query) else {
        return;
    };
    let fields = Fields {
        author: text.split_whitespace().next(),
        language: Some("en"),
        channel: Some("reddit"),
        url: Some("https://www.reddit.com/r/acme/comments/1"),
        site: Some("www.reddit.com"),
        country: Some("GB"),
        author_country: Some("FR"),
        author_followers: Some(text.len() as u64),
        author_verified: Some(text.len() % 2 == 0),
        rating: Some((text.len() % 6) as f64),
        engagement_type: Some("REPLY"),
        sentiment: Some("negative"),
        subreddit: Some("acme"),
    };
    let doc = Document::new(text, title, fields);
    let mut scratch = Scratch::default();
    let matched = q.is_match_with(&doc, &mut scratch);
    let why = q.matches_with(&doc, &mut scratch);
    assert_eq!(matched, why.is_some(), "is_match and matches disagree");
    let Some(why) = why else { return };
    for term in &why.terms {
        assert!(
            term.start < term.end
                && term.end <= text.len()
                && text.is_char_boundary(term.start)
                && text.is_char_boundary(term.end),
            "explained span {term:?} out of the text"
        );
    }
    assert!(
        q.requirement().holds(&doc),
        "{query:?} matched {text:?} without meeting its requirement {:?}",
        q.requirement()
    );
    if let Some(required) = q.required_any_of() {
        assert!(
            required.iter().any(|t| doc.has_folded(t)),
            "{query:?} matched {text:?} without any of its required terms {required:?}"
        );
    }
});
