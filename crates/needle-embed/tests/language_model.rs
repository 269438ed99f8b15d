//! fastText's lid.176 read and run by needle-classify's own reader, against fastText itself
//! (`fixtures/lid_reference.json`, from `bench/lid_reference.py`), and the fast tier's
//! language detection with it. Needs the model (see `needle_embed::testing`).

use std::sync::OnceLock;

use needle_classify::language::{detect, detect_with, fasttext::Model};
use needle_embed::models::{LANGUAGE_ID, ModelsDir, load_language_model};
use needle_embed::{EmbedError, testing};

fn models() -> Option<ModelsDir> {
    testing::test_model(&LANGUAGE_ID)
}

fn model() -> Option<&'static Model> {
    static MODEL: OnceLock<Option<Model>> = OnceLock::new();
    MODEL
        .get_or_init(|| Some(load_language_model(&models()?).expect("lid.176 loads")))
        .as_ref()
}

#[derive(serde::Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    text: String,
    labels: Vec<String>,
    probabilities: Vec<f32>,
}

#[test]
fn predictions_match_fasttext_itself() {
    let Some(model) = model() else { return };
    let fixture: Fixture =
        serde_json::from_str(include_str!("fixtures/lid_reference.json")).unwrap();
    assert!(fixture.cases.len() >= 40);
    let mut worst = 0.0f32;
    for case in &fixture.cases {
        let got = model.predict_top(&case.text, 5);
        let labels: Vec<&str> = got.iter().map(|p| p.label).collect();
        assert_eq!(labels, case.labels, "{:?}", case.text);
        for (p, expected) in got.iter().zip(&case.probabilities) {
            worst = worst.max((p.probability - expected).abs());
        }
    }
    assert!(worst < 1e-5, "largest probability difference {worst}");
    assert_eq!(model.labels().count(), 176);
}

#[test]
fn a_word_seen_before_gives_the_same_prediction_to_the_bit() {
    let Some(model) = model() else { return };
    // Unknown words are cached per thread after their first sight; the second prediction
    // reads them from the cache, on this thread and on a fresh one.
    let texts = [
        "Blorptastic wibbleflux arrived brokenish, refundify pls",
        "Meine Bestellnummerierung kam kaputtgegangen an",
        "naïve café résumé façade",
    ];
    let first: Vec<_> = texts.iter().map(|t| model.predict_top(t, 3)).collect();
    let again: Vec<_> = texts.iter().map(|t| model.predict_top(t, 3)).collect();
    assert_eq!(first, again);
    let elsewhere = std::thread::scope(|s| {
        s.spawn(|| {
            texts
                .iter()
                .map(|t| model.predict_top(t, 3))
                .collect::<Vec<_>>()
        })
        .join()
        .unwrap()
    });
    assert_eq!(first, elsewhere);
}

#[test]
fn the_fast_tier_names_languages_with_it_and_still_abstains() {
    let Some(model) = model() else { return };
    let with = |text: &str| detect_with(text, Some(model));
    assert_eq!(with("My order arrived broken and I want a refund."), "en");
    assert_eq!(
        with("Il pacco è arrivato rotto e nessuno mi risponde"),
        "it"
    );
    assert_eq!(
        with("Моє замовлення прийшло зламаним і ніхто не відповідає"),
        "uk"
    );
    // fastText says `no`; Needle says `nb`, as without the model.
    assert_eq!(
        with("Bestillingen min kom i stykker og ingen svarer meg på e-post"),
        "nb"
    );
    // Shouting is folded first: lid.176 alone knows none of these upper-case words.
    assert_eq!(with("MY ORDER NEVER ARRIVED AND NOBODY ANSWERS"), "en");
    assert_eq!(
        model
            .predict("MY ORDER NEVER ARRIVED AND NOBODY ANSWERS")
            .map(|p| p.label),
        model.predict("").map(|p| p.label),
    );
    // Two words stay `und`; so do words of no language.
    assert_eq!(with("ok thanks"), "und");
    assert_eq!(with("zxqv blorpt fnargle wibbit"), "und");
    // Scripts one language writes still decide alone.
    assert_eq!(with("주문한 상품이 깨진 채로 도착했어요"), "ko");
    assert_eq!(with(""), "und");
    // Where lid.176 mistakes a close relative, whatlang has the last word.
    let afrikaans = "dit is noodsaaklik om die ontwikkeling van vriendelike bande aan te moedig";
    assert_ne!(with(afrikaans), "nl");
    assert_eq!(with(afrikaans), detect(afrikaans));
}

#[test]
fn a_corrupt_language_model_is_refused_naming_the_file() {
    let Some(shared) = models() else { return };
    let dir = tempfile::tempdir().unwrap();
    let models = ModelsDir::new(dir.path());
    let model_dir = models.model_dir(&LANGUAGE_ID);
    std::fs::create_dir_all(&model_dir).unwrap();
    let file = LANGUAGE_ID.files[0].name;
    assert!(matches!(
        load_language_model(&models),
        Err(EmbedError::MissingFile { .. })
    ));
    let bytes = std::fs::read(shared.model_dir(&LANGUAGE_ID).join(file)).unwrap();
    std::fs::write(model_dir.join(file), &bytes[..bytes.len() / 2]).unwrap();
    let err = load_language_model(&models).unwrap_err();
    assert!(matches!(err, EmbedError::CorruptFile { .. }), "{err}");
    assert!(err.to_string().contains(file), "{err}");
    assert!(err.to_string().contains("needle models fetch"), "{err}");
    // The reader itself refuses a cut file with the offset, never a panic.
    assert!(Model::from_bytes(&bytes[..bytes.len() / 2]).is_err());
    assert!(Model::from_bytes(&bytes[..100]).is_err());
}
