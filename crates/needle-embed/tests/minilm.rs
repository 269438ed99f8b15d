//! all-MiniLM-L6-v2 in Rust against sentence-transformers, and relevance learned on its
//! real vectors. Needs the model (see `needle_embed::testing`).
#![cfg(feature = "candle")]

use std::sync::OnceLock;

use needle_embed::minilm::{Engine, MiniLm, Options};
use needle_embed::relevance::{Example, Method, Relevance};
use needle_embed::{Embedder, cosine, testing};

fn model() -> Option<&'static MiniLm> {
    static MODEL: OnceLock<Option<MiniLm>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let models = testing::test_models()?;
            Some(MiniLm::load(&models, Options::default()).expect("the model loads"))
        })
        .as_ref()
}

#[derive(serde::Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    text: String,
    vector: Vec<f32>,
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!("fixtures/minilm_reference.json")).unwrap()
}

/// The worst cosine between `model`'s vectors and sentence-transformers' for the fixture.
fn worst_against_the_fixture(model: &MiniLm) -> (f32, String) {
    let fixture = fixture();
    assert!(fixture.cases.len() >= 30);
    let texts: Vec<&str> = fixture.cases.iter().map(|c| c.text.as_str()).collect();
    let vectors = model.embed(&texts).unwrap();
    let mut worst = (1.0f32, String::new());
    for (case, vector) in fixture.cases.iter().zip(&vectors) {
        assert_eq!(vector.len(), 384);
        let similarity = cosine(&case.vector, vector);
        if similarity < worst.0 {
            worst = (similarity, case.text.clone());
        }
    }
    worst
}

#[test]
fn vectors_match_sentence_transformers() {
    let Some(model) = model() else { return };
    let worst = worst_against_the_fixture(model);
    eprintln!(
        "packed engine: worst cosine {:.6} on {:?}",
        worst.0, worst.1
    );
    assert!(worst.0 >= 0.999, "cosine {} on {:?}", worst.0, worst.1);
}

#[test]
fn both_engines_and_two_threads_match_sentence_transformers() {
    let Some(models) = testing::test_models() else {
        return;
    };
    let two_threads = Options {
        threads: 2,
        ..Options::default()
    };
    for (engine, options) in [
        (Engine::Candle, Options::default()),
        (Engine::Packed, two_threads),
    ] {
        let model = MiniLm::load_on(&models, options, engine).unwrap();
        let worst = worst_against_the_fixture(&model);
        eprintln!(
            "{engine:?}, {} thread(s): worst cosine {:.6} on {:?}",
            options.threads, worst.0, worst.1
        );
        assert!(
            worst.0 >= 0.999,
            "{engine:?}: cosine {} on {:?}",
            worst.0,
            worst.1
        );
    }
}

#[test]
fn batching_by_length_gives_the_vectors_of_one_text_at_a_time() {
    let Some(model) = model() else { return };
    let fixture = fixture();
    let texts: Vec<&str> = fixture.cases.iter().map(|c| c.text.as_str()).collect();
    let together = model.embed(&texts).unwrap();
    for (text, vector) in texts.iter().zip(&together).step_by(3) {
        let alone = model.embed(&[text]).unwrap();
        assert!(cosine(&alone[0], vector) > 0.99999, "{text:?}");
    }
    let norm: f32 = together[0].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4);
}

#[test]
fn a_megabyte_of_text_is_truncated_not_swallowed() {
    let Some(model) = model() else { return };
    let huge = "refund ".repeat(150_000);
    let start = std::time::Instant::now();
    let vectors = model.embed(&[&huge, "", "🔥"]).unwrap();
    assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
    assert!(
        vectors
            .iter()
            .all(|v| v.len() == 384 && v.iter().all(|x| x.is_finite()))
    );
    let short = model.embed(&[&"refund ".repeat(300)]).unwrap();
    assert!(
        cosine(&vectors[0], &short[0]) > 0.9999,
        "both are cut at 256 word pieces"
    );
}

fn examples(model: &MiniLm, labelled: &[(&str, bool)]) -> Vec<Example> {
    let texts: Vec<&str> = labelled.iter().map(|(t, _)| *t).collect();
    let vectors = model.embed(&texts).unwrap();
    labelled
        .iter()
        .zip(vectors)
        .enumerate()
        .map(|(i, ((text, relevant), vector))| Example {
            id: i.to_string(),
            text: text.to_string(),
            vector,
            relevant: *relevant,
        })
        .collect()
}

fn score(model: &MiniLm, relevance: &Relevance, text: &str) -> needle_embed::Score {
    relevance.score(&model.embed(&[text]).unwrap()[0]).unwrap()
}

#[test]
fn office_software_stays_and_office_windows_go() {
    let Some(model) = model() else { return };
    let relevance = Relevance::train(examples(
        model,
        &[
            ("clean Office off my Windows", true),
            ("clean the windows on my office", false),
        ],
    ))
    .unwrap();
    assert_eq!(relevance.method(), Method::Neighbours);
    let software = score(
        model,
        &relevance,
        "how do I uninstall Office from my Windows PC",
    );
    assert!(software.relevant, "{software:?}");
    assert_eq!(software.nearest[0].text, "clean Office off my Windows");
    let glass = score(
        model,
        &relevance,
        "washing the office windows with a squeegee",
    );
    assert!(!glass.relevant, "{glass:?}");
    assert_eq!(glass.nearest[0].text, "clean the windows on my office");
}

#[test]
fn the_same_word_means_what_each_workspace_taught() {
    let Some(model) = model() else { return };
    // A hospital's symptoms topic: feeling sick is what it is about.
    let hospital = Relevance::train(examples(
        model,
        &[
            ("I feel sick", true),
            ("I've been throwing up all night and feel sick", true),
            ("that was sick dude", false),
            ("sick trick on the skateboard", false),
        ],
    ))
    .unwrap();
    // An energy-drink brand's praise topic: "sick" is praise, illness is not its business.
    let drink = Relevance::train(examples(
        model,
        &[
            ("that was sick dude", true),
            ("this flavour is sick, love it", true),
            ("I feel sick", false),
            ("I have the flu and feel sick", false),
        ],
    ))
    .unwrap();
    let ill = "feeling sick with a fever since yesterday";
    let praise = "dude that new can is sick";
    assert!(score(model, &hospital, ill).relevant);
    assert!(!score(model, &hospital, praise).relevant);
    assert!(!score(model, &drink, ill).relevant);
    assert!(score(model, &drink, praise).relevant);
}

#[test]
fn with_more_labels_a_logistic_regression_takes_over() {
    let Some(model) = model() else { return };
    let labelled = [
        ("clean Office off my Windows", true),
        ("Office 365 keeps crashing on Windows 11", true),
        ("how do I activate my Office licence", true),
        ("Excel and Word won't open after the update", true),
        ("clean the windows on my office", false),
        ("new double glazed windows for the office building", false),
        ("the office window is stuck and won't open", false),
        ("our office moved to a bigger floor", false),
    ];
    let relevance = Relevance::train(examples(model, &labelled)).unwrap();
    assert_eq!(relevance.method(), Method::Logistic);
    for text in [
        "Outlook won't start on my Windows laptop",
        "reinstalling Microsoft Office fixed it",
    ] {
        let s = score(model, &relevance, text);
        assert!(s.relevant, "{text}: {s:?}");
    }
    for text in [
        "the window cleaner comes to the office on Friday",
        "we replaced the cracked glass in the office window",
    ] {
        let s = score(model, &relevance, text);
        assert!(!s.relevant, "{text}: {s:?}");
    }
}
