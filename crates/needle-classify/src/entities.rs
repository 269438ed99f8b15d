//! Entities with byte spans: dictionary terms (one Aho-Corasick automaton over the
//! case-folded text, offsets mapped back to the original) and patterns (order and serial
//! numbers, e-mail addresses, phone numbers, URLs, money, dates).

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use needle_core::Entity;
use regex::{Regex, RegexSet};

use crate::dictionary::Dictionary;

/// A compiled dictionary.
#[derive(Debug, Clone)]
pub struct DictionaryMatcher {
    automaton: Option<AhoCorasick>,
    /// Per pattern id: its kind, and whether its first/last characters are word characters
    /// (only those ends need a word boundary: `C++` may be followed by a letterless `!`).
    patterns: Vec<PatternInfo>,
    /// Every term is ASCII: then only two characters outside ASCII lower-case to anything
    /// the automaton could match (the Kelvin sign to `k`, `İ` to `i` and a dot), and a text
    /// without them is matched as it is, with no folded copy.
    ascii_terms: bool,
}

#[derive(Debug, Clone)]
struct PatternInfo {
    kind: String,
    word_start: bool,
    word_end: bool,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl DictionaryMatcher {
    pub fn new(dictionary: &Dictionary) -> Self {
        let mut folded = Vec::new();
        let mut patterns = Vec::new();
        for (kind, terms) in &dictionary.terms {
            for term in terms {
                folded.push(term.to_lowercase());
                patterns.push(PatternInfo {
                    kind: kind.clone(),
                    word_start: term.chars().next().is_some_and(is_word_char),
                    word_end: term.chars().last().is_some_and(is_word_char),
                });
            }
        }
        let automaton = if folded.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    // The terms are lower-cased; ASCII text is searched as it is.
                    .ascii_case_insensitive(true)
                    .build(&folded)
                    .expect("dictionary terms are bounded in number and size"),
            )
        };
        DictionaryMatcher {
            ascii_terms: folded.iter().all(|t| t.is_ascii()),
            automaton,
            patterns,
        }
    }

    /// All whole-word matches, leftmost-longest, without overlaps.
    pub fn find(&self, text: &str, out: &mut Vec<Entity>) {
        let Some(automaton) = &self.automaton else {
            return;
        };
        let as_is = self.ascii_terms && !text.contains(['\u{212A}', '\u{130}']);
        let folded = if as_is {
            Folded::as_is(text)
        } else {
            Folded::new(text)
        };
        let haystack: &str = match &folded.text {
            Some(lower) => lower,
            None => text,
        };
        let mut candidates: Vec<(usize, usize, usize)> = automaton
            .find_overlapping_iter(haystack)
            .filter_map(|m| {
                let (start, end) = folded.original_span(m.start(), m.end());
                let info = &self.patterns[m.pattern().as_usize()];
                let before_ok = !info.word_start
                    || !text[..start].chars().next_back().is_some_and(is_word_char);
                let after_ok =
                    !info.word_end || !text[end..].chars().next().is_some_and(is_word_char);
                (before_ok && after_ok).then_some((start, end, m.pattern().as_usize()))
            })
            .collect();
        // Leftmost first, then longest.
        candidates.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut taken_until = 0;
        for (start, end, pattern) in candidates {
            if start < taken_until {
                continue;
            }
            taken_until = end;
            out.push(Entity {
                kind: self.patterns[pattern].kind.clone(),
                text: text[start..end].to_string(),
                start,
                end,
            });
        }
    }
}

/// Lower-cased text with a map from its byte offsets back to the original's.
struct Folded<'a> {
    /// `None` for ASCII text, which the automaton matches without case as it is.
    text: Option<String>,
    /// For each byte of `text`, the original byte offset of the character it came from;
    /// empty when folding kept every offset (ASCII input).
    origin: Vec<u32>,
    original: &'a str,
}

impl<'a> Folded<'a> {
    /// The text searched as it is, without case for ASCII letters.
    fn as_is(original: &'a str) -> Self {
        Folded {
            text: None,
            origin: Vec::new(),
            original,
        }
    }

    fn new(original: &'a str) -> Self {
        if original.is_ascii() {
            return Folded::as_is(original);
        }
        let mut text = String::with_capacity(original.len());
        let mut origin = Vec::with_capacity(original.len());
        for (offset, c) in original.char_indices() {
            for lower in c.to_lowercase() {
                text.push(lower);
                origin.resize(text.len(), offset as u32);
            }
        }
        Folded {
            text: Some(text),
            origin,
            original,
        }
    }

    fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        if self.origin.is_empty() {
            return (start, end);
        }
        let start = self.origin[start] as usize;
        let last = self.origin[end - 1] as usize;
        let last_len = self.original[last..]
            .chars()
            .next()
            .map_or(0, char::len_utf8);
        (start, last + last_len)
    }
}

struct Patterns {
    /// The patterns that need a digit, run together in one pass first: most texts with a
    /// digit match none or one of them, and only those run again for their spans.
    with_digits: RegexSet,
    email: Regex,
    url: Regex,
    order: Regex,
    serial: Regex,
    money: Regex,
    date: Regex,
    phone: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        const MONTHS: &str = "jan(?:uary|\\.)?|feb(?:ruary|\\.)?|mar(?:ch|\\.)?|apr(?:il|\\.)?|may|june?|july?|aug(?:ust|\\.)?|sep(?:t|tember|\\.)?|oct(?:ober|\\.)?|nov(?:ember|\\.)?|dec(?:ember|\\.)?|januar|februar|märz|mai|juni|juli|oktober|dezember|janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre";
        let build = |pattern: &str| Regex::new(pattern).expect("entity patterns are valid");
        let mut patterns = Patterns {
            with_digits: RegexSet::empty(),
            email: build(r"(?i)(?-u:\b)[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?-u:\b)"),
            url: build(r#"(?i)(?-u:\b)(?:https?://|www\.)[^\s<>"'`]+"#),
            order: build(
                r"(?i)(?-u:\b)(?:order|bestellung|bestellnummer|auftrag|commande|pedido|ordine|bestelling|ticket|case)(?:\s*(?:no\.?|nr\.?|number|num\.?|nummer|n°|n\.|numéro|número|numero|id))?\s*[:#]?\s*(#?[a-z0-9][a-z0-9-]{3,})",
            ),
            serial: build(
                r"(?i)(?-u:\b)(?:serial(?:\s*(?:no\.?|number|#))?|s/n|sn|seriennummer|numéro de série|número de serie|numero di serie)\s*[:#]?\s*([a-z0-9][a-z0-9-]{4,})",
            ),
            money: build(
                r"(?i)(?:[$€£¥]\s?\d(?:[\d,.]*\d)?|(?-u:\b)\d(?:[\d,.]*\d)?\s?(?:[$€£¥]|(?:usd|eur|gbp|chf|dollars?|euros?|pounds?|bucks)(?-u:\b)))",
            ),
            date: build(&format!(
                r"(?i)(?-u:\b)(?:\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}[./]\d{{1,2}}[./](?:\d{{4}}|\d{{2}})|\d{{1,2}}(?:st|nd|rd|th)?\.?\s+(?:{MONTHS})(?:\s+\d{{4}})?|(?:{MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?)(?-u:\b)"
            )),
            phone: build(r"(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,8}(?:[\s.-]\d{2,8}){1,4}"),
        };
        let with_digits = [
            &patterns.order,
            &patterns.serial,
            &patterns.money,
            &patterns.date,
            &patterns.phone,
        ];
        patterns.with_digits = RegexSet::new(with_digits.iter().map(|r| r.as_str()))
            .expect("entity patterns are valid");
        patterns
    })
}

/// Indices into [`Patterns::with_digits`].
const ORDER: usize = 0;
const SERIAL: usize = 1;
const MONEY: usize = 2;
const DATE: usize = 3;
const PHONE: usize = 4;

/// What a text has that patterns need, found in one pass so that most messages skip most
/// patterns: every pattern but the URL and e-mail ones needs a digit.
struct Hints {
    digit: bool,
    at_sign: bool,
    web: bool,
}

impl Hints {
    fn of(text: &str) -> Hints {
        let bytes = text.as_bytes();
        let digit = bytes.iter().any(u8::is_ascii_digit)
            // `\d` is Unicode: other scripts' digits count too.
            || (!text.is_ascii() && text.chars().any(char::is_numeric));
        Hints {
            digit,
            at_sign: bytes.contains(&b'@'),
            web: bytes
                .windows(3)
                .any(|w| w == b"://" || w.eq_ignore_ascii_case(b"www")),
        }
    }
}

/// The patterns use ASCII word boundaries, which the regex crate's DFA can run on any text
/// (a Unicode `\b` sends it to a slower engine on the first non-ASCII byte); this puts the
/// Unicode boundary back where the pattern has one: at the start, and at the end for the
/// patterns that end in `\b`.
fn word_bounded(text: &str, start: usize, end: usize, check_end: bool) -> bool {
    let starts_word = text[start..].chars().next().is_some_and(is_word_char);
    let start_ok = !starts_word || !text[..start].chars().next_back().is_some_and(is_word_char);
    let end_ok = !check_end
        || !text[..end].chars().next_back().is_some_and(is_word_char)
        || !text[end..].chars().next().is_some_and(is_word_char);
    start_ok && end_ok
}

/// Pattern entities, in priority order: a span claimed by an earlier kind is not reused.
pub fn find_patterns(text: &str, taken: &mut Vec<Entity>) {
    let hints = Hints::of(text);
    if !(hints.digit || hints.at_sign || hints.web) {
        return;
    }
    let p = patterns();
    let mut found: Vec<Entity> = Vec::new();
    let claim = |kind: &str, start: usize, end: usize, found: &mut Vec<Entity>| {
        let overlaps = taken
            .iter()
            .chain(found.iter())
            .any(|e| start < e.end && e.start < end);
        if !overlaps && start < end {
            found.push(Entity {
                kind: kind.to_string(),
                text: text[start..end].to_string(),
                start,
                end,
            });
        }
    };
    if hints.web {
        for m in p.url.find_iter(text) {
            if !word_bounded(text, m.start(), m.end(), false) {
                continue;
            }
            let trimmed = m
                .as_str()
                .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}']);
            claim("url", m.start(), m.start() + trimmed.len(), &mut found);
        }
    }
    if hints.at_sign {
        for m in p.email.find_iter(text) {
            if word_bounded(text, m.start(), m.end(), true) {
                claim("email", m.start(), m.end(), &mut found);
            }
        }
    }
    if !hints.digit {
        taken.extend(found);
        return;
    }
    let matched = p.with_digits.matches(text);
    for (regex, kind, index) in [
        (&p.order, "order_number", ORDER),
        (&p.serial, "serial_number", SERIAL),
    ] {
        if !matched.matched(index) {
            continue;
        }
        for c in regex.captures_iter(text) {
            let whole = c.get(0).expect("group 0 is the match");
            let id = c.get(1).expect("group 1 is not optional");
            // An identifier has a digit: "order status" is not an order number.
            if id.as_str().bytes().any(|b| b.is_ascii_digit())
                && word_bounded(text, whole.start(), whole.end(), false)
            {
                claim(kind, id.start(), id.end(), &mut found);
            }
        }
    }
    for (regex, kind, index) in [(&p.money, "money", MONEY), (&p.date, "date", DATE)] {
        if !matched.matched(index) {
            continue;
        }
        for m in regex.find_iter(text) {
            if word_bounded(text, m.start(), m.end(), true) {
                claim(kind, m.start(), m.end(), &mut found);
            }
        }
    }
    let phones = matched.matched(PHONE).then(|| p.phone.find_iter(text));
    for m in phones.into_iter().flatten() {
        let s = m.as_str();
        let digits = s.bytes().filter(u8::is_ascii_digit).count();
        let boundary_ok = !text[..m.start()]
            .chars()
            .next_back()
            .is_some_and(is_word_char)
            && !text[m.end()..].chars().next().is_some_and(is_word_char);
        // Phone numbers have 8–15 digits and look dialled: a `+`, a bracketed area code, or a
        // leading 0; bare groups like "2023 2024" are years, not numbers to call.
        let dialled = s.starts_with('+') || s.starts_with('(') || s.starts_with('0');
        if (8..=15).contains(&digits) && dialled && boundary_ok {
            claim("phone", m.start(), m.end(), &mut found);
        }
    }
    taken.extend(found);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dictionary() -> DictionaryMatcher {
        DictionaryMatcher::new(
            &Dictionary::new([
                ("brand", vec!["Acme", "ACME Corp"]),
                ("product", vec!["Office", "Windows 11", "C++ Builder"]),
                ("competitor", vec!["Straße AG"]),
            ])
            .unwrap(),
        )
    }

    fn found(text: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        dictionary().find(text, &mut out);
        find_patterns(text, &mut out);
        out.sort_by_key(|e| e.start);
        for e in &out {
            assert_eq!(&text[e.start..e.end], e.text, "span of {e:?}");
        }
        out.into_iter().map(|e| (e.kind, e.text)).collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, t)| (k.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn dictionary_terms_match_whole_words_case_insensitively() {
        assert_eq!(
            found("Clean office off my WINDOWS 11 box, acme corp!"),
            pairs(&[
                ("product", "office"),
                ("product", "WINDOWS 11"),
                ("brand", "acme corp")
            ])
        );
        // Inside a longer word it is not the term.
        assert_eq!(found("officers at Acmeville"), pairs(&[]));
        assert_eq!(
            found("I use C++ Builder!"),
            pairs(&[("product", "C++ Builder")])
        );
    }

    #[test]
    fn ascii_terms_match_in_any_text_as_folding_would() {
        let ascii =
            DictionaryMatcher::new(&Dictionary::new([("brand", vec!["Kia", "Ikea"])]).unwrap());
        let find = |text: &str| {
            let mut out = Vec::new();
            ascii.find(text, &mut out);
            out.into_iter().map(|e| e.text).collect::<Vec<_>>()
        };
        assert_eq!(
            find("Straße: KIA und kia, 日本 Ikea!"),
            ["KIA", "kia", "Ikea"]
        );
        // The Kelvin sign lower-cases to `k`: folding finds the term in it.
        assert_eq!(find("\u{212A}IA"), ["\u{212A}IA"]);
        // `İ` lower-cases to `i` and a combining dot, which no ASCII term spans.
        assert_eq!(find("İKEA"), Vec::<String>::new());
    }

    #[test]
    fn offsets_survive_case_folding_that_changes_length() {
        // 'İ' lower-cases to two characters; the span must still point into the original.
        let text = "İİ STRASSE straße ag and STRAßE AG";
        let got = found(text);
        assert_eq!(
            got,
            pairs(&[("competitor", "straße ag"), ("competitor", "STRAßE AG")])
        );
    }

    #[test]
    fn patterns_find_identifiers_contacts_money_and_dates() {
        let text = "Order #A12345 (serial no: SN-99812X) cost $1,299.99 on 2024-03-05; mail kim@example.com, call +49 30 1234567 or see https://example.com/help.";
        assert_eq!(
            found(text),
            pairs(&[
                ("order_number", "A12345"),
                ("serial_number", "SN-99812X"),
                ("money", "$1,299.99"),
                ("date", "2024-03-05"),
                ("email", "kim@example.com"),
                ("phone", "+49 30 1234567"),
                ("url", "https://example.com/help"),
            ])
        );
    }

    #[test]
    fn word_boundaries_stay_unicode_though_the_patterns_run_ascii() {
        // A letter outside ASCII joins a word as any letter does.
        assert_eq!(
            found("éorder 12345 and order 67890"),
            pairs(&[("order_number", "67890")])
        );
        assert_eq!(found("mail kim@example.comé now"), pairs(&[]));
        assert_eq!(
            found("am 3 März 2024 geliefert"),
            pairs(&[("date", "3 März 2024")])
        );
        // Digits of other scripts count as digits for the patterns that use `\d`.
        assert_eq!(found("costs $٥٠ today"), pairs(&[("money", "$٥٠")]));
        // Nothing a pattern needs: no pattern runs, and nothing is found.
        assert_eq!(found("no digits, no at sign, no links here"), pairs(&[]));
    }

    #[test]
    fn near_misses_are_not_entities() {
        assert_eq!(found("what is my order status?"), pairs(&[]));
        assert_eq!(found("between 2023 2024 and 2025"), pairs(&[]));
        assert_eq!(found("email me at kim at example dot com"), pairs(&[]));
        assert_eq!(
            found("12 March 2024 and 50 euros"),
            pairs(&[("date", "12 March 2024"), ("money", "50 euros")])
        );
    }
}
