use needle_classify::{Dictionary, language::fasttext::Model};
fn main() {
    let bytes = std::fs::read(std::env::args().nth(1).unwrap()).unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let what = std::env::args().nth(2).unwrap();
    let texts: Vec<String> = needle_demo::Corpus::new(7)
        .bench_lines(50000)
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(&l).ok()?;
            v.get("text")?.as_str().map(str::to_string)
        })
        .collect();
    let dictionary = Dictionary::new([
        ("brand", vec!["Acme", "Needle"]),
        ("product", vec!["Office", "Windows", "router", "app"]),
        ("competitor", vec!["Globex", "Initech"]),
    ])
    .unwrap();
    let matcher = needle_classify::entities::DictionaryMatcher::new(&dictionary);
    for _ in 0..7 {
        let t = std::time::Instant::now();
        for text in &texts {
            match what.as_str() {
                "lang" => {
                    std::hint::black_box(needle_classify::language::detect_with(
                        text,
                        Some(&model),
                    ));
                }
                "predict" => {
                    std::hint::black_box(model.predict(text));
                }
                "vader" => {
                    std::hint::black_box(needle_classify::vader::compound(text));
                }
                _ => {
                    let lang = needle_classify::language::detect_with(text, Some(&model));
                    let score = needle_classify::vader::compound(text);
                    let mut entities = Vec::new();
                    matcher.find(text, &mut entities);
                    needle_classify::entities::find_patterns(text, &mut entities);
                    std::hint::black_box((lang, score, entities));
                }
            }
        }
        println!(
            "{what}: {:.0}/s",
            texts.len() as f64 / t.elapsed().as_secs_f64()
        );
    }
}
