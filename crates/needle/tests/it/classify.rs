//! `needle classify`: the fast tier over JSON Lines, as shared/specs/cli.md says.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{needle_bin, needle_stateless, stderr, stdout};

fn classify(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = Command::new(needle_bin())
        .arg("classify")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // Written from a thread so a large input cannot deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn lines(out: &std::process::Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn classify_prints_the_contract_shape_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let dictionary = dir.path().join("entities.toml");
    std::fs::write(
        &dictionary,
        "product = [\"Office\"]\ncompetitor = [\"Globex\"]\n",
    )
    .unwrap();
    let input = [
        r#"{"id":"1","text":"I can't uninstall Office, this is terrible. Switching to Globex"}"#,
        r#"{"id":"2","text":"Thinking of buying an SUV, what do you recommend?"}"#,
        r#"{"id":"3","text":"Danke, super Service! Alles hat perfekt funktioniert und die Lieferung war schnell"}"#,
        r#"{"id":"4","text":""}"#,
    ];
    let out = classify(
        &["--entities", dictionary.to_str().unwrap()],
        input.join("\n").as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let got = lines(&out);
    assert_eq!(got.len(), 4);
    let ids: Vec<&str> = got.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["1", "2", "3", "4"]);

    let first = &got[0];
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "lang", "sentiment", "intents", "entities"]);
    assert_eq!(first["lang"], "en");
    assert_eq!(first["sentiment"]["label"], "negative");
    let score = first["sentiment"]["score"].as_f64().unwrap();
    assert!((-1.0..=-0.05).contains(&score), "{score}");
    let intents = first["intents"].as_array().unwrap();
    assert!(intents.contains(&"complaint".into()), "{intents:?}");
    assert!(intents.contains(&"churn_risk".into()), "{intents:?}");
    assert_eq!(
        first["entities"][0],
        serde_json::json!({"kind":"product","text":"Office","start":18,"end":24})
    );
    assert_eq!(first["entities"][1]["kind"], "competitor");

    assert!(
        got[1]["intents"]
            .as_array()
            .unwrap()
            .contains(&"purchase_intent".into())
    );
    assert_eq!(got[2]["lang"], "de");
    assert_eq!(got[3]["lang"], "und");
    assert_eq!(got[3]["sentiment"]["label"], "neutral");
    assert_eq!(got[3]["intents"], serde_json::json!([]));
}

#[test]
fn classify_reports_bad_lines_and_goes_on() {
    let mut input = Vec::new();
    input.extend_from_slice(b"{\"id\":\"a\",\"text\":\"great stuff, love it\"}\n");
    input.extend_from_slice(b"{\"id\":\"b\",\"text\":\"caf\xff\"}\n");
    input.extend_from_slice(b"[1,2]\n");
    input.extend_from_slice(b"{\"id\":\"c\",\"text\":42}\n");
    input.extend_from_slice(b"{\"id\":\"d\"}\n");
    input.extend_from_slice(b"{\"id\":\"e\",\"text\":\"<script>alert(1)</script> awful\"}\n");
    let out = classify(&[], &input);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let got = lines(&out);
    let ids: Vec<&str> = got.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a", "e"]);
    assert_eq!(got[1]["sentiment"]["label"], "negative");
    let err = stderr(&out);
    assert!(err.contains("line 2: invalid UTF-8 at byte"), "{err}");
    assert!(
        err.contains("line 3: expected a message object, found an array"),
        "{err}"
    );
    assert!(
        err.contains("line 4: field `text`: expected a string, found a number"),
        "{err}"
    );
    assert!(
        err.contains("line 5: expected a message object with a `text`"),
        "{err}"
    );
}

#[test]
fn classify_truncates_huge_texts_and_stays_stateless() {
    let huge = "this is really bad. ".repeat(60_000); // 1.2 MB
    let line = serde_json::json!({"id": "big", "text": huge}).to_string();
    let out = classify(&[], line.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let got = lines(&out);
    let at = got[0]["truncated_at"].as_u64().unwrap();
    assert!(at > 0 && at <= 16 * 1024, "{at}");
    assert_eq!(got[0]["sentiment"]["label"], "negative");
}

#[test]
fn classify_refuses_a_bad_dictionary_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let dictionary = dir.path().join("entities.toml");
    std::fs::write(&dictionary, "product = [\"Office\", 7]\n").unwrap();
    let out = needle_stateless(&["classify", "--entities", dictionary.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("entities.toml"), "{err}");
    assert!(err.contains("term 2 is a number"), "{err}");
}

#[test]
fn imported_messages_are_classified_stored_and_searchable_by_sentiment() {
    use crate::support::{line, needle};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("in.jsonl");
    let lines = [
        line(
            "1",
            "My router arrived broken and support is useless. Terrible!",
        ),
        line(
            "2",
            "Love the new router, setup was quick and easy. Thank you!",
        ),
        line("3", "The router was delivered on Tuesday."),
        line(
            "4",
            "Der Router ist kaputt angekommen und niemand antwortet auf meine Mails",
        ),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = needle(&data, &["import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));

    let search = |query: &str| -> Vec<Value> {
        let out = needle(&data, &["search", query, "--json"]);
        assert!(out.status.success(), "{query}: {}", stderr(&out));
        lines_of(&out)
    };
    let ids = |found: &[Value]| -> Vec<String> {
        let mut ids: Vec<String> = found
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };

    let negative = search("sentiment:negative");
    assert_eq!(ids(&negative), ["1"], "{negative:?}");
    let c = &negative[0]["classification"];
    assert_eq!(c["sentiment"]["label"], "negative");
    assert!(c["sentiment"]["score"].as_f64().unwrap() < -0.05);
    assert!(
        c["intents"]
            .as_array()
            .unwrap()
            .contains(&"complaint".into())
    );
    assert_eq!(c["lang"], "en");

    assert_eq!(ids(&search("router AND sentiment:positive")), ["2"]);
    assert_eq!(ids(&search("sentiment:neutral")), ["3", "4"]);
    // The language was missing on input; the detected one is stored, so `lang:` finds it.
    let german = search("lang:de");
    assert_eq!(ids(&german), ["4"]);
    assert_eq!(german[0]["lang"], "de");
}

fn lines_of(out: &std::process::Output) -> Vec<Value> {
    lines(out)
}

/// Sentences written for this test, in the layouts `bench/fetch_eval_data.sh` leaves: a UCI
/// fixture (`class` 1 or 0) and a Hutto & Gilbert file (mean rating in [-4, 4]).
fn write_labelled(dir: &std::path::Path) -> (usize, usize) {
    let good = [
        "I love this phone, the battery lasts for days",
        "Fantastic service, the staff were so kind",
        "Best purchase I made this year, highly recommend",
        "The food was delicious and arrived hot",
        "Great quality, it works perfectly",
        "Wonderful experience, I will come back",
        "Super fast delivery and a lovely package",
        "Amazing sound, I am really happy with it",
        "The support team solved my problem in minutes, brilliant",
        "Excellent value, exactly what I wanted",
        "This movie was a joy from start to finish",
        "Such a pleasant surprise, well done",
    ];
    let bad = [
        "Terrible phone, it broke after two days",
        "Awful service, nobody answered my calls",
        "Worst purchase ever, a complete waste of money",
        "The food was cold and tasted horrible",
        "Cheap quality, it stopped working at once",
        "Disappointing experience, never again",
        "The delivery was late and the box was crushed",
        "The sound is dreadful, I regret buying it",
        "Support ignored me for a week, useless",
        "Overpriced junk, I want a refund",
        "This movie was boring and far too long",
        "What a mess, I am really angry",
    ];
    let fixtures = dir.join("npm/node_modules/sentiment/test/fixtures");
    std::fs::create_dir_all(&fixtures).unwrap();
    let uci: Vec<Value> = good
        .iter()
        .map(|t| serde_json::json!({"text": t, "class": 1}))
        .chain(
            bad.iter()
                .map(|t| serde_json::json!({"text": t, "class": 0})),
        )
        .collect();
    std::fs::write(fixtures.join("yelp.json"), Value::from(uci).to_string()).unwrap();
    let neutral = [
        "The store opens at nine on Mondays",
        "I am taking the train to Berlin tomorrow",
        "The parcel weighs two kilograms",
        "Our meeting moved to the third floor",
        "The update is version four point two",
        "She ordered the blue one",
    ];
    let hutto = dir.join("vader/hutto_ICWSM_2014");
    std::fs::create_dir_all(&hutto).unwrap();
    let mut tweets = String::new();
    let rated = good[..6]
        .iter()
        .map(|t| (2.5, *t))
        .chain(bad[..6].iter().map(|t| (-2.5, *t)))
        .chain(neutral.iter().map(|t| (0.1, *t)));
    let mut n = 0;
    for (i, (rating, text)) in rated.enumerate() {
        tweets.push_str(&format!("{i}\t{rating}\t{text} today\n"));
        n += 1;
    }
    std::fs::write(hutto.join("tweets_GroundTruth.txt"), tweets).unwrap();
    (good.len() + bad.len(), n)
}

/// `needle models train sentiment` on `labelled`, into `models`, with `more` arguments.
fn train_sentiment_with(
    labelled: &std::path::Path,
    models: &std::path::Path,
    more: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "models",
        "train",
        "sentiment",
        "--labelled",
        labelled.to_str().unwrap(),
        "--models",
        models.to_str().unwrap(),
    ];
    args.extend(more);
    needle_stateless(&args)
}

/// `needle models train sentiment` on `labelled`, into `models`.
fn train_sentiment(labelled: &std::path::Path, models: &std::path::Path) -> std::process::Output {
    train_sentiment_with(labelled, models, &[])
}

/// Makes `models` show the shared files of `package` (a link, so the training under test
/// writes its head here and not into the shared cache); `false` when the model cannot be had
/// outside CI.
fn link_shared(models: &std::path::Path, package: &needle_embed::models::ModelPackage) -> bool {
    let Some(shared) = needle_embed::testing::test_model(package) else {
        return false;
    };
    std::fs::create_dir_all(models).unwrap();
    std::os::unix::fs::symlink(shared.model_dir(package), models.join(package.model)).unwrap();
    true
}

/// [`link_shared`] for all-MiniLM-L6-v2.
fn link_shared_model(models: &std::path::Path) -> bool {
    link_shared(models, &needle_embed::models::MINILM)
}

#[test]
fn models_train_sentiment_scores_both_tiers_on_held_out_rows_and_keeps_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let labelled = dir.path().join("labelled");
    let models = dir.path().join("models");

    // Nothing fetched yet: the fix is named, nothing is written.
    let out = train_sentiment(&labelled, &models);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("bench/fetch_eval_data.sh"),
        "{}",
        stderr(&out)
    );
    assert!(!models.join("sentiment-head.json").exists());

    if !link_shared_model(&models) {
        return;
    }
    let (uci_rows, hutto_rows) = write_labelled(&labelled);
    let out = train_sentiment(&labelled, &models);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(printed.contains("| uci-yelp"), "{printed}");
    assert!(printed.contains("| hutto-tweets"), "{printed}");
    assert!(printed.contains("| mean over sets"), "{printed}");

    let head: Value =
        serde_json::from_slice(&std::fs::read(models.join("sentiment-head.json")).unwrap())
            .unwrap();
    assert_eq!(head["model"], "all-MiniLM-L6-v2");
    let sets = head["report"]["sets"].as_array().unwrap();
    assert_eq!(sets.len(), 2);
    for (set, rows) in sets.iter().zip([uci_rows, hutto_rows]) {
        let (train, held) = (
            set["train"].as_u64().unwrap(),
            set["held_out"].as_u64().unwrap(),
        );
        assert_eq!((train + held) as usize, rows, "{set}");
        assert!(train > held, "about a fifth is held out: {set}");
        for tier in ["lexicon_macro_f1", "model_macro_f1"] {
            let f1 = set[tier].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&f1), "{set}");
        }
    }
}

#[test]
fn classify_with_models_takes_sentiment_from_the_trained_head() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let input = b"{\"id\":\"a\",\"text\":\"I love it, best phone ever\"}\n";

    // No head yet: the fast tier answers and stderr names the fix.
    let out = classify(&["--models", models.to_str().unwrap()], input);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("needle models train sentiment"),
        "{}",
        stderr(&out)
    );
    let fast = lines(&out);
    assert_eq!(fast[0]["sentiment"]["label"], "positive");
    assert!(fast[0].get("tier").is_none());

    if !link_shared_model(&models) {
        return;
    }
    let labelled = dir.path().join("labelled");
    write_labelled(&labelled);
    let trained = train_sentiment(&labelled, &models);
    assert!(trained.status.success(), "{}", stderr(&trained));

    let mut input = Vec::new();
    let texts = [
        ("p1", "Absolutely wonderful, the team was so helpful"),
        ("n1", "Horrible, it broke and nobody will refund me"),
        ("p2", "Great value and lovely quality"),
        ("n2", "Dreadful delivery, the box arrived crushed"),
    ];
    for (i, (id, text)) in texts.iter().enumerate() {
        input.extend(
            serde_json::json!({"id": id, "text": text})
                .to_string()
                .bytes(),
        );
        input.push(b'\n');
        if i == 1 {
            input.extend(b"not json\n");
        }
    }
    let out = classify(&["--models", models.to_str().unwrap()], &input);
    assert_eq!(out.status.code(), Some(1), "one bad line: {}", stderr(&out));
    assert!(stderr(&out).contains("line 3"), "{}", stderr(&out));
    let got = lines(&out);
    let ids: Vec<&str> = got.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["p1", "n1", "p2", "n2"], "input order");
    for line in &got {
        assert_eq!(line["tier"], "model", "{line}");
        let score = line["sentiment"]["score"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&score), "{line}");
        let want = if line["id"].as_str().unwrap().starts_with('p') {
            "positive"
        } else {
            "negative"
        };
        assert_eq!(line["sentiment"]["label"], want, "{line}");
    }
}

#[test]
fn a_head_on_multilingual_vectors_trained_in_english_reads_other_languages() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    if !link_shared(&models, &needle_embed::models::E5) {
        return;
    }
    let labelled = dir.path().join("labelled");
    write_labelled(&labelled);
    let trained = train_sentiment_with(&labelled, &models, &["--embedder", "e5"]);
    assert!(trained.status.success(), "{}", stderr(&trained));
    let head: Value =
        serde_json::from_slice(&std::fs::read(models.join("sentiment-head.json")).unwrap())
            .unwrap();
    assert_eq!(head["model"], "multilingual-e5-small");

    // Praise and a complaint in each language. The lexicon is English: it finds nothing in
    // these (checked first). A head trained on this test's forty English sentences leans on
    // the lexicon's score, so it is not asked for labels here (the closing figures of a head
    // trained on the real sets are in the CHANGELOG), but for the direction its vectors
    // learned: each language's praise scores above its complaint. Only multilingual-e5-small
    // is in `models`: the head brought the model it was trained on.
    let pairs = [
        (
            "de",
            "Toller Kundendienst, alles hat wunderbar geklappt, vielen Dank",
            "Schrecklich, es ist nach zwei Tagen kaputt gegangen und niemand antwortet",
        ),
        (
            "fr",
            "Un service formidable, je suis vraiment ravi de mon achat",
            "Le colis est arrivé cassé et personne ne répond à mes messages",
        ),
        (
            "es",
            "Una compra excelente, funciona perfectamente y llegó muy rápido",
            "Pésimo servicio, nadie contesta y quiero que me devuelvan el dinero",
        ),
        (
            "ko",
            "배송이 정말 빨랐고 제품 품질도 아주 좋아요. 감사합니다!",
            "주문한 상품이 깨진 채로 도착했어요. 정말 실망스럽네요.",
        ),
    ];
    let input: String = pairs
        .iter()
        .flat_map(|(lang, praise, complaint)| {
            [
                serde_json::json!({"id": format!("{lang}+"), "text": praise}),
                serde_json::json!({"id": format!("{lang}-"), "text": complaint}),
            ]
        })
        .map(|line| line.to_string() + "\n")
        .collect();
    let fast = classify(&[], input.as_bytes());
    for line in lines(&fast) {
        assert_eq!(line["sentiment"]["label"], "neutral", "the lexicon: {line}");
    }
    let out = classify(&["--models", models.to_str().unwrap()], input.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let got = lines(&out);
    assert_eq!(got.len(), 2 * pairs.len());
    for pair in got.chunks(2) {
        assert!(pair.iter().all(|line| line["tier"] == "model"), "{pair:?}");
        let score = |line: &Value| line["sentiment"]["score"].as_f64().unwrap();
        assert!(score(&pair[0]) > score(&pair[1]), "{pair:?}");
    }
}

#[test]
fn import_gives_topic_messages_the_model_tier_and_the_rest_the_lexicon() {
    use crate::support::{line_on, needle};
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let file = dir.path().join("in.jsonl");
    let messages = [
        line_on("r1", "twitter", "My router broke and support is useless"),
        line_on("w1", "twitter", "The weather is awful today"),
        line_on("s1", "sms", "The invoice is wrong again, so annoying"),
    ];
    std::fs::write(&file, messages.join("\n")).unwrap();
    let topics = dir.path().join("topics.toml");
    std::fs::write(
        &topics,
        "[[topic]]\nid = \"router\"\nlevel = \"brand\"\nquery = 'router'\n",
    )
    .unwrap();

    // Imports into a fresh data dir with the router topic; returns stderr and each
    // message's tier ("fast" when none was recorded).
    let run = |name: &str, args: &[&str]| -> (String, Vec<(String, String)>) {
        let data = dir.path().join(name);
        let loaded = needle(&data, &["topics", "load", topics.to_str().unwrap()]);
        assert!(loaded.status.success(), "{}", stderr(&loaded));
        let mut import = vec!["import", file.to_str().unwrap()];
        import.extend(["--models", models.to_str().unwrap()]);
        import.extend(args);
        let out = needle(&data, &import);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let found = needle(&data, &["search", "router OR weather OR invoice", "--json"]);
        assert!(found.status.success(), "{}", stderr(&found));
        let mut tiers: Vec<(String, String)> = lines(&found)
            .iter()
            .map(|m| {
                let tier = m["classification"]["tier"].as_str().unwrap_or("fast");
                (m["id"].as_str().unwrap().to_string(), tier.to_string())
            })
            .collect();
        tiers.sort();
        (stderr(&out), tiers)
    };
    let tiers = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(id, tier)| (id.to_string(), tier.to_string()))
            .collect()
    };
    let fast = tiers(&[("r1", "fast"), ("s1", "fast"), ("w1", "fast")]);

    // No head trained: the lexicon answers everywhere and nothing is said about it.
    let (said, got) = run("untrained", &[]);
    assert_eq!(got, fast);
    assert!(!said.contains("model tier"), "{said}");

    if !link_shared_model(&models) {
        return;
    }
    let labelled = dir.path().join("labelled");
    write_labelled(&labelled);
    let trained = train_sentiment(&labelled, &models);
    assert!(trained.status.success(), "{}", stderr(&trained));

    let (said, got) = run("topics", &[]);
    assert!(
        said.contains("sentiment from the model tier for messages in a topic"),
        "{said}"
    );
    assert_eq!(
        got,
        tiers(&[("r1", "model"), ("s1", "fast"), ("w1", "fast")])
    );
    let data = dir.path().join("topics");
    let negative = needle(
        &data,
        &["search", "router AND sentiment:negative", "--json"],
    );
    let negative: Vec<Value> = lines(&negative);
    assert_eq!(negative.len(), 1, "{negative:?}");
    assert_eq!(negative[0]["id"], "r1");

    let (said, got) = run("channels", &["--model-tier-channel", "sms,chat"]);
    assert!(said.contains("in a topic or on chat, sms"), "{said}");
    assert_eq!(
        got,
        tiers(&[("r1", "model"), ("s1", "model"), ("w1", "fast")])
    );

    let (_, got) = run("all", &["--model-tier", "all"]);
    assert_eq!(
        got,
        tiers(&[("r1", "model"), ("s1", "model"), ("w1", "model")])
    );

    let (said, got) = run("off", &["--model-tier", "off"]);
    assert_eq!(got, fast);
    assert!(!said.contains("model tier"), "{said}");

    let out = needle(
        &dir.path().join("bad"),
        &["import", file.to_str().unwrap(), "--model-tier", "some"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("topics"), "{}", stderr(&out));
}

#[test]
fn classify_with_models_identifies_languages_with_fasttext() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    if !link_shared(&models, &needle_embed::models::LANGUAGE_ID) {
        return;
    }
    let input = concat!(
        r#"{"id":"uk","text":"Моє замовлення прийшло зламаним і ніхто не відповідає"}"#,
        "\n",
        r#"{"id":"shout","text":"MY ORDER NEVER ARRIVED AND NOBODY ANSWERS"}"#,
        "\n",
        r#"{"id":"short","text":"ok thanks"}"#,
        "\n",
    );
    let out = classify(&["--models", models.to_str().unwrap()], input.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let langs: Vec<(String, String)> = lines(&out)
        .iter()
        .map(|l| {
            (
                l["id"].as_str().unwrap().into(),
                l["lang"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [("uk", "uk"), ("shout", "en"), ("short", "und")];
    assert_eq!(
        langs,
        expected.map(|(id, lang)| (id.to_string(), lang.to_string()))
    );
    // Without a sentiment head the model tier is off and says so; the fast tier answered.
    assert!(lines(&out).iter().all(|l| l.get("tier").is_none()));

    // A corrupt model file: named, with the fix, and the fast tier answers without it.
    let broken = dir.path().join("broken");
    let lid = broken.join(needle_embed::models::LANGUAGE_ID.model);
    std::fs::create_dir_all(&lid).unwrap();
    std::fs::write(lid.join("lid.176.ftz"), b"not a model").unwrap();
    let out = classify(&["--models", broken.to_str().unwrap()], input.as_bytes());
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("lid.176.ftz") && stderr.contains("needle models fetch"),
        "{stderr}"
    );
    assert_eq!(lines(&out).len(), 3);
}
