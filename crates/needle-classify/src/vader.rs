//! VADER (Hutto & Gilbert 2014), ported rule for rule from the Python `vaderSentiment` 3.3.2
//! `polarity_scores`, including its quirks, so that scores agree with the reference.
//!
//! Why a port rather than the `vader_sentiment` crate's analyser: that crate follows an
//! older release (no emoji-to-description pass; its lexicon is keyed case-insensitively while
//! the reference lower-cases only the looked-up word) and allocates a `HashMap` per call.
//! We do take its bundled copy of the lexicon files, which are the reference's files
//! minus two entries (`heart`, `hearts`) added back below, so no lexicon is vendored here.

use std::borrow::Cow;
use std::sync::OnceLock;

use rustc_hash::FxHashMap as HashMap;

const B_INCR: f64 = 0.293;
const B_DECR: f64 = -0.293;
const C_INCR: f64 = 0.733;
const N_SCALAR: f64 = -0.74;

const NEGATE: &[&str] = &[
    "aint",
    "arent",
    "cannot",
    "cant",
    "couldnt",
    "darent",
    "didnt",
    "doesnt",
    "ain't",
    "aren't",
    "can't",
    "couldn't",
    "daren't",
    "didn't",
    "doesn't",
    "dont",
    "hadnt",
    "hasnt",
    "havent",
    "isnt",
    "mightnt",
    "mustnt",
    "neither",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "isn't",
    "mightn't",
    "mustn't",
    "neednt",
    "needn't",
    "never",
    "none",
    "nope",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "oughtnt",
    "shant",
    "shouldnt",
    "uhuh",
    "wasnt",
    "werent",
    "oughtn't",
    "shan't",
    "shouldn't",
    "uh-uh",
    "wasn't",
    "weren't",
    "without",
    "wont",
    "wouldnt",
    "won't",
    "wouldn't",
    "rarely",
    "seldom",
    "despite",
];

const BOOSTERS_UP: &[&str] = &[
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerable",
    "considerably",
    "decidedly",
    "deeply",
    "effing",
    "enormous",
    "enormously",
    "entirely",
    "especially",
    "exceptional",
    "exceptionally",
    "extreme",
    "extremely",
    "fabulously",
    "flipping",
    "flippin",
    "frackin",
    "fracking",
    "fricking",
    "frickin",
    "frigging",
    "friggin",
    "fully",
    "fuckin",
    "fucking",
    "fuggin",
    "fugging",
    "greatly",
    "hella",
    "highly",
    "hugely",
    "incredible",
    "incredibly",
    "intensely",
    "major",
    "majorly",
    "more",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "thoroughly",
    "total",
    "totally",
    "tremendous",
    "tremendously",
    "uber",
    "unbelievably",
    "unusually",
    "utter",
    "utterly",
    "very",
];

const BOOSTERS_DOWN: &[&str] = &[
    "almost",
    "barely",
    "hardly",
    "just enough",
    "kind of",
    "kinda",
    "kindof",
    "kind-of",
    "less",
    "little",
    "marginal",
    "marginally",
    "occasional",
    "occasionally",
    "partly",
    "scarce",
    "scarcely",
    "slight",
    "slightly",
    "somewhat",
    "sort of",
    "sorta",
    "sortof",
    "sort-of",
];

const SPECIAL_CASES: &[(&str, f64)] = &[
    ("the shit", 3.0),
    ("the bomb", 3.0),
    ("bad ass", 1.5),
    ("badass", 1.5),
    ("bus stop", 0.0),
    ("yeah right", -2.0),
    ("kiss of death", -1.5),
    ("to die for", 3.0),
    ("beating heart", 3.5),
];

/// What the lexicon says about a lower-cased word.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    valence: Option<f64>,
    booster: Option<f64>,
}

struct Lexicon {
    /// Words with a valence and single-word boosters: one look-up per word of a text.
    entries: HashMap<&'static str, Entry>,
    negations: rustc_hash::FxHashSet<&'static str>,
    /// The boosters of more than one word, which only the idiom check looks up.
    booster_phrases: Vec<Phrase>,
    special_cases: Vec<Phrase>,
    emoji: HashMap<char, String>,
}

fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(|| {
        let mut entries: HashMap<&'static str, Entry> = HashMap::default();
        for (word, valence) in vader_sentiment::LEXICON.iter() {
            entries.entry(word.into_inner()).or_default().valence = Some(*valence);
        }
        // In vaderSentiment 3.3.2's lexicon, missing from the crate's copy.
        for (word, valence) in [("heart", 3.2), ("hearts", 3.3)] {
            entries
                .entry(word)
                .or_default()
                .valence
                .get_or_insert(valence);
        }
        let boosters = BOOSTERS_UP
            .iter()
            .map(|w| (*w, B_INCR))
            .chain(BOOSTERS_DOWN.iter().map(|w| (*w, B_DECR)));
        for (word, value) in boosters.clone().filter(|(w, _)| !w.contains(' ')) {
            entries.entry(word).or_default().booster = Some(value);
        }
        // The reference looks up one character at a time, so only single-character emoji
        // can ever match.
        let emoji = vader_sentiment::EMOJI_LEXICON
            .iter()
            .filter_map(|(emoji, description)| {
                let mut chars = emoji.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Some((c, description.trim().to_string())),
                    _ => None,
                }
            })
            .collect();
        let booster_phrases = boosters
            .filter(|(w, _)| w.contains(' '))
            .map(|(w, value)| Phrase::new(w, value))
            .collect();
        Lexicon {
            entries,
            booster_phrases,
            special_cases: SPECIAL_CASES
                .iter()
                .map(|&(phrase, value)| Phrase::new(phrase, value))
                .collect(),
            negations: NEGATE.iter().copied().collect(),
            emoji,
        }
    })
}

/// Python's `str.isupper()`: at least one cased character and no lower-case one.
fn is_upper(word: &str) -> bool {
    let mut cased = false;
    for c in word.chars() {
        if c.is_lowercase() {
            return false;
        }
        if c.is_uppercase() {
            cased = true;
        }
    }
    cased
}

fn strip_punctuation_if_word(token: &str) -> &str {
    // Python's `string.punctuation` is exactly ASCII punctuation, so the ends are trimmed
    // byte by byte (an ASCII byte never splits a character).
    let bytes = token.as_bytes();
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_punctuation())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_punctuation())
        .map_or(start, |last| last + 1);
    let stripped = &token[start..end];
    if stripped.chars().nth(2).is_none() {
        token
    } else {
        stripped
    }
}

/// Python's `str.lower()`, copying only when something changes.
fn lower_case(word: &str) -> Cow<'_, str> {
    if word.is_ascii() {
        if word.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(word.to_ascii_lowercase())
        } else {
            Cow::Borrowed(word)
        }
    } else if word
        .chars()
        .any(|c| c.to_lowercase().ne(std::iter::once(c)))
    {
        Cow::Owned(word.to_lowercase())
    } else {
        Cow::Borrowed(word)
    }
}

fn is_negation(word_lower: &str) -> bool {
    lexicon().negations.contains(word_lower) || word_lower.contains("n't")
}

fn normalize(score: f64) -> f64 {
    (score / (score * score + 15.0).sqrt()).clamp(-1.0, 1.0)
}

/// The tokens VADER scores, each as written and lower-cased (borrowed when it already was).
struct Words<'a> {
    original: Vec<&'a str>,
    lower: Vec<Cow<'a, str>>,
    /// Each lower-cased word's lexicon entry, looked up once.
    entries: Vec<Entry>,
    cap_differential: bool,
}

impl<'a> Words<'a> {
    fn new(text: &'a str, lex: &Lexicon) -> Self {
        let mut original = Vec::with_capacity(text.len() / 5 + 1);
        original.extend(text.split_whitespace().map(strip_punctuation_if_word));
        let lower: Vec<Cow<'a, str>> = original.iter().map(|w| lower_case(w)).collect();
        let entries = lower
            .iter()
            .map(|w| lex.entries.get(w.as_ref()).copied().unwrap_or_default())
            .collect();
        let caps = original.iter().filter(|w| is_upper(w)).count();
        let differential = original.len() - caps;
        Words {
            cap_differential: differential > 0 && differential < original.len(),
            original,
            lower,
            entries,
        }
    }
}

/// VADER's compound score in [-1, 1], rounded to four places as the reference prints it.
pub fn compound(text: &str) -> f64 {
    let lex = lexicon();
    let replaced = replace_emoji(text, lex);
    let text = replaced.trim();
    let words = Words::new(text, lex);
    let mut sentiments = Vec::with_capacity(words.lower.len());
    for (i, word) in words.lower.iter().enumerate() {
        let skip = words.entries[i].booster.is_some()
            || (word == "kind" && words.lower.get(i + 1).is_some_and(|next| next == "of"));
        if skip {
            sentiments.push(0.0);
            continue;
        }
        sentiments.push(valence(lex, &words, i));
    }
    but_check(&words.lower, &mut sentiments);
    let compound = score(&sentiments, text);
    (compound * 10_000.0).round() / 10_000.0
}

/// Emoji become their lexicon descriptions, spaced off from the preceding text. Every emoji
/// in the lexicon is outside ASCII, so ASCII text is returned as it is.
fn replace_emoji<'t>(text: &'t str, lex: &Lexicon) -> Cow<'t, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut previous_space = true;
    for c in text.chars() {
        if let Some(description) = (!c.is_ascii()).then(|| lex.emoji.get(&c)).flatten() {
            if !previous_space {
                out.push(' ');
            }
            out.push_str(description);
            previous_space = false;
        } else {
            out.push(c);
            previous_space = c == ' ';
        }
    }
    Cow::Owned(out)
}

fn booster(entry: Entry, word: &str, valence: f64, cap_diff: bool) -> f64 {
    let Some(base) = entry.booster else {
        return 0.0;
    };
    let mut scalar = if valence < 0.0 { -base } else { base };
    if is_upper(word) && cap_diff {
        if valence > 0.0 {
            scalar += C_INCR;
        } else {
            scalar -= C_INCR;
        }
    }
    scalar
}

fn valence(lex: &Lexicon, words: &Words<'_>, i: usize) -> f64 {
    let lower = &words.lower;
    let Some(base) = words.entries[i].valence else {
        return 0.0;
    };
    let in_lexicon = |j: usize| words.entries[j].valence.is_some();
    let mut valence = base;
    if lower[i] == "no" && i + 1 < lower.len() && in_lexicon(i + 1) {
        valence = 0.0;
    }
    if (i > 0 && lower[i - 1] == "no")
        || (i > 1 && lower[i - 2] == "no")
        || (i > 2 && lower[i - 3] == "no" && (lower[i - 1] == "or" || lower[i - 1] == "nor"))
    {
        valence = base * N_SCALAR;
    }
    if is_upper(words.original[i]) && words.cap_differential {
        if valence > 0.0 {
            valence += C_INCR;
        } else {
            valence -= C_INCR;
        }
    }
    for start in 0..3 {
        if i > start && !in_lexicon(i - (start + 1)) {
            let before = i - (start + 1);
            let mut s = booster(
                words.entries[before],
                words.original[before],
                valence,
                words.cap_differential,
            );
            if start == 1 && s != 0.0 {
                s *= 0.95;
            }
            if start == 2 && s != 0.0 {
                s *= 0.9;
            }
            valence += s;
            valence = negation_check(valence, lower, start, i);
            if start == 2 {
                valence = special_idioms_check(lex, valence, lower, i);
            }
        }
    }
    least_check(words, valence, i)
}

fn negation_check(valence: f64, lower: &[Cow<'_, str>], start: usize, i: usize) -> f64 {
    match start {
        0 if is_negation(&lower[i - 1]) => valence * N_SCALAR,
        1 => {
            if lower[i - 2] == "never" && (lower[i - 1] == "so" || lower[i - 1] == "this") {
                valence * 1.25
            } else if lower[i - 2] == "without" && lower[i - 1] == "doubt" {
                valence
            } else if is_negation(&lower[i - 2]) {
                valence * N_SCALAR
            } else {
                valence
            }
        }
        2 => {
            // The reference's operator precedence: `a and b or c`.
            if (lower[i - 3] == "never" && (lower[i - 2] == "so" || lower[i - 2] == "this"))
                || (lower[i - 1] == "so" || lower[i - 1] == "this")
            {
                valence * 1.25
            } else if lower[i - 3] == "without"
                && (lower[i - 2] == "doubt" || lower[i - 1] == "doubt")
            {
                valence
            } else if is_negation(&lower[i - 3]) {
                valence * N_SCALAR
            } else {
                valence
            }
        }
        _ => valence,
    }
}

/// A phrase VADER looks up by joining words with spaces, kept as its words so that
/// sequences are compared word by word without joining them.
struct Phrase {
    words: Vec<&'static str>,
    value: f64,
}

impl Phrase {
    fn new(phrase: &'static str, value: f64) -> Phrase {
        Phrase {
            words: phrase.split(' ').collect(),
            value,
        }
    }

    fn spelled_by(&self, words: &[Cow<'_, str>]) -> bool {
        self.words.len() == words.len() && self.words.iter().zip(words).all(|(a, b)| *a == b)
    }
}

/// The special case the words spell, if one does.
fn special_case(lex: &Lexicon, words: &[Cow<'_, str>]) -> Option<f64> {
    lex.special_cases
        .iter()
        .find(|case| case.spelled_by(words))
        .map(|case| case.value)
}

fn special_idioms_check(lex: &Lexicon, mut valence: f64, lower: &[Cow<'_, str>], i: usize) -> f64 {
    let one_zero = &lower[i - 1..=i];
    let two_one_zero = &lower[i - 2..=i];
    let two_one = &lower[i - 2..i];
    let three_two_one = &lower[i - 3..i];
    let three_two = &lower[i - 3..i - 1];
    for sequence in [one_zero, two_one_zero, two_one, three_two_one, three_two] {
        if let Some(v) = special_case(lex, sequence) {
            valence = v;
            break;
        }
    }
    if lower.len() - 1 > i
        && let Some(v) = special_case(lex, &lower[i..=i + 1])
    {
        valence = v;
    }
    if lower.len() - 1 > i + 1
        && let Some(v) = special_case(lex, &lower[i..=i + 2])
    {
        valence = v;
    }
    for n_gram in [three_two_one, three_two, two_one] {
        for phrase in &lex.booster_phrases {
            if phrase.spelled_by(n_gram) {
                valence += phrase.value;
            }
        }
    }
    valence
}

fn least_check(words: &Words<'_>, valence: f64, i: usize) -> f64 {
    let lower = &words.lower;
    let previous_is_least =
        |i: usize| i > 0 && words.entries[i - 1].valence.is_none() && lower[i - 1] == "least";
    if i > 1 && previous_is_least(i) {
        if lower[i - 2] != "at" && lower[i - 2] != "very" {
            return valence * N_SCALAR;
        }
        valence
    } else if i > 0 && previous_is_least(i) {
        valence * N_SCALAR
    } else {
        valence
    }
}

/// Words before the first `but` count half, words after it one and a half times. The
/// reference finds each value's position with `list.index`, so a repeated value updates its
/// first occurrence; kept as is for agreement.
fn but_check(lower: &[Cow<'_, str>], sentiments: &mut [f64]) {
    let Some(but) = lower.iter().position(|w| w == "but") else {
        return;
    };
    for k in 0..sentiments.len() {
        let value = sentiments[k];
        let first = sentiments.iter().position(|s| *s == value).unwrap_or(k);
        if first < but {
            sentiments[first] = value * 0.5;
        } else if first > but {
            sentiments[first] = value * 1.5;
        }
    }
}

fn punctuation_emphasis(text: &str) -> f64 {
    let exclamations = text.matches('!').count().min(4) as f64 * 0.292;
    let questions = match text.matches('?').count() {
        0 | 1 => 0.0,
        n @ 2..=3 => n as f64 * 0.18,
        _ => 0.96,
    };
    exclamations + questions
}

fn score(sentiments: &[f64], text: &str) -> f64 {
    if sentiments.is_empty() {
        return 0.0;
    }
    let mut sum: f64 = sentiments.iter().sum();
    let emphasis = punctuation_emphasis(text);
    if sum > 0.0 {
        sum += emphasis;
    } else if sum < 0.0 {
        sum -= emphasis;
    }
    normalize(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Scores printed by vaderSentiment 3.3.2's own demo (`python -m vaderSentiment.vaderSentiment`).
    #[test]
    fn matches_the_reference_demo_sentences() {
        let cases = [
            ("VADER is smart, handsome, and funny.", 0.8316),
            ("VADER is smart, handsome, and funny!", 0.8439),
            ("VADER is VERY SMART, handsome, and FUNNY.", 0.9227),
            ("VADER is not smart, handsome, nor funny.", -0.7424),
            ("At least it isn't a horrible book.", 0.431),
            ("Today SUX!", -0.5461),
            ("Catch utf-8 emoji such as 💘 and 💋 and 😁", 0.875),
            ("Not bad at all", 0.431),
        ];
        for (text, expected) in cases {
            let got = compound(text);
            assert!((got - expected).abs() < 1e-3, "{text}: {got} vs {expected}");
        }
    }

    #[test]
    fn no_emoji_in_the_lexicon_is_ascii() {
        // `replace_emoji` returns ASCII text untouched on this ground.
        assert!(!lexicon().emoji.is_empty());
        assert!(lexicon().emoji.keys().all(|c| !c.is_ascii()));
    }

    #[test]
    fn empty_and_neutral_text_score_zero() {
        assert_eq!(compound(""), 0.0);
        assert_eq!(compound("   "), 0.0);
        assert_eq!(compound("the table is in the room"), 0.0);
    }
}
