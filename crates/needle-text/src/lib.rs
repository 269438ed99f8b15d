//! The text model of shared/specs/query-language.md: one tokenizer shared by indexing,
//! search and (later) the topic matcher, so that what search finds and what a topic matches
//! can never disagree about where a word starts and ends.
//!
//! - Words split at white space and punctuation, apostrophes and hyphens included.
//! - A change of script inside a run of letters splits (`Sprinklr에서` → `sprinklr`, `에서`).
//! - Han, Hiragana, Katakana, Thai (scripts written without spaces): one token per character.
//! - `#tag` and `@handle` are tokens that keep their prefix; an emoji, a currency sign and
//!   `©`, `®`, `™` are tokens of their own; digits stay inside words (`o365`), and so does an
//!   underscore between word characters (`acme_support`, as in the handle `@acme_support`).
//! - `ー` (the prolonged sound mark) is Katakana: a token of its own, never part of a Latin run.
//! - Sentences end at `.` (before a space or the end), `!`, `?`, `。`, `؟` and line breaks.
//!
//! Pure and allocation-free per token: [`Tokens`] yields byte spans; [`fold_into`] writes the
//! case- and accent-folded form into a buffer the caller reuses. [`fold_case`] folds case
//! only (lower case and NFC), for query words that ask for their accents.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::{decompose_compatible, is_combining_mark};
use unicode_script::{Script, UnicodeScript};

/// What kind of token a span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Word,
    /// `#tag`, prefix included.
    Hashtag,
    /// `@handle`, prefix included.
    Mention,
    Emoji,
    /// A currency sign such as `€`, or `©`, `®`, `™`.
    Symbol,
}

/// One token: where it is in the text, its position, and its sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// 0, 1, 2 … in order; proximity counts these.
    pub position: u32,
    /// 0, 1, 2 … in order of sentences.
    pub sentence: u32,
    pub kind: TokenKind,
}

impl Token {
    pub fn text<'a>(&self, source: &'a str) -> &'a str {
        &source[self.start..self.end]
    }
}

/// Tokenizes `text`.
pub fn tokens(text: &str) -> Tokens<'_> {
    Tokens {
        text,
        offset: 0,
        position: 0,
        sentence: 0,
        sentence_pending: false,
        emitted: false,
    }
}

/// Iterator over the tokens of a text.
pub struct Tokens<'a> {
    text: &'a str,
    offset: usize,
    position: u32,
    sentence: u32,
    sentence_pending: bool,
    emitted: bool,
}

/// Scripts written without spaces between words: every character is a token.
fn is_unspaced_script(script: Script) -> bool {
    matches!(
        script,
        Script::Han
            | Script::Hiragana
            | Script::Katakana
            | Script::Thai
            | Script::Lao
            | Script::Khmer
            | Script::Myanmar
    )
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || (!c.is_ascii() && is_combining_mark(c))
}

/// Emoji and pictographs (Extended_Pictographic, approximately) and regional indicators.
pub fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2300..=0x23FF | 0x2B50..=0x2B55
        | 0x2934..=0x2935 | 0x3030 | 0x303D | 0x3297 | 0x3299 | 0x1FC00..=0x1FFFD)
}

/// Characters that extend an emoji: variation selectors, skin tones, keycaps, tags.
fn is_emoji_modifier(c: char) -> bool {
    matches!(c as u32, 0xFE0E | 0xFE0F | 0x1F3FB..=0x1F3FF | 0x20E3 | 0xE0020..=0xE007F)
}

/// Variation selectors (text or emoji presentation) and skin tones: folding drops them, so
/// `❤` matches `❤️` and `👍` matches `👍🏽`; they are never accents.
fn is_presentation_modifier(c: char) -> bool {
    matches!(c as u32, 0xFE0E | 0xFE0F | 0x1F3FB..=0x1F3FF)
}

/// `©`, `®`, `™`: symbols that are tokens of their own and fold to themselves (NFKD would
/// turn `™` into `TM`).
fn is_mark_symbol(c: char) -> bool {
    matches!(c, '©' | '®' | '™')
}

/// Currency signs (general category Sc).
pub fn is_currency(c: char) -> bool {
    matches!(c as u32,
        0x24 | 0xA2..=0xA5 | 0x58F | 0x60B | 0x7FE..=0x7FF | 0x9F2..=0x9F3 | 0x9FB | 0xAF1
        | 0xBF9 | 0xE3F | 0x17DB | 0x20A0..=0x20C0 | 0xA838 | 0xFDFC | 0xFE69 | 0xFF04
        | 0xFFE0..=0xFFE1 | 0xFFE5..=0xFFE6)
}

fn is_sentence_end(c: char) -> bool {
    matches!(
        c,
        '!' | '?' | '。' | '؟' | '！' | '？' | '\n' | '\r' | '\u{2028}' | '\u{2029}'
    )
}

/// The script a letter belongs to, with Common and Inherited meaning "joins any script".
/// The Kana length and repeat marks (`ー`, `ｰ`, `〱`…`〵`) are Common in Unicode but used only
/// in Japanese: they count as Katakana, so they never join a Latin run.
fn letter_script(c: char) -> Option<Script> {
    if c.is_ascii() {
        return c.is_ascii_alphabetic().then_some(Script::Latin);
    }
    if matches!(c, '\u{30FC}' | '\u{FF70}' | '\u{3031}'..='\u{3035}') {
        return Some(Script::Katakana);
    }
    match script_of(c) {
        Script::Common | Script::Inherited | Script::Unknown => None,
        s => Some(s),
    }
}

impl<'a> Tokens<'a> {
    fn peek_char(&self, at: usize) -> Option<char> {
        self.text[at..].chars().next()
    }

    /// End of a word run starting at `start`, stopping at a change between two scripts. A run
    /// of `_` between two word characters the run would take is part of the word.
    fn word_end(&self, start: usize) -> usize {
        let mut script: Option<Script> = None;
        let mut end = start;
        let mut underscores = false;
        for (i, c) in self.text[start..].char_indices() {
            if c == '_' {
                underscores = true;
                continue;
            }
            if !is_word_char(c) || (underscores && is_combining_mark(c)) {
                break;
            }
            let s = letter_script(c);
            if let Some(s) = s {
                if is_unspaced_script(s) {
                    break;
                }
                match script {
                    None => script = Some(s),
                    Some(prev) if prev != s => break,
                    Some(_) => {}
                }
            }
            underscores = false;
            end = start + i + c.len_utf8();
        }
        end
    }

    /// End of a `©`, `®` or `™` with the variation selector that may follow it.
    fn symbol_end(&self, after: usize) -> usize {
        match self.peek_char(after) {
            Some(c @ ('\u{FE0E}' | '\u{FE0F}')) => after + c.len_utf8(),
            _ => after,
        }
    }

    fn emoji_end(&self, start: usize) -> usize {
        let mut chars = self.text[start..].char_indices().peekable();
        let (_, first) = chars.next().expect("emoji_end at a character");
        let mut end = start + first.len_utf8();
        let regional = (0x1F1E6..=0x1F1FF).contains(&(first as u32));
        if regional
            && let Some(&(i, c)) = chars.peek()
            && (0x1F1E6..=0x1F1FF).contains(&(c as u32))
        {
            end = start + i + c.len_utf8();
            return end;
        }
        while let Some((i, c)) = chars.next() {
            if is_emoji_modifier(c) {
                end = start + i + c.len_utf8();
            } else if c == '\u{200D}' {
                match chars.next() {
                    Some((j, next)) if is_emoji(next) => end = start + j + next.len_utf8(),
                    _ => break,
                }
            } else {
                break;
            }
        }
        end
    }

    fn emit(&mut self, start: usize, end: usize, kind: TokenKind) -> Token {
        if self.sentence_pending && self.emitted {
            self.sentence += 1;
        }
        self.sentence_pending = false;
        self.emitted = true;
        let token = Token {
            start,
            end,
            position: self.position,
            sentence: self.sentence,
            kind,
        };
        self.position += 1;
        self.offset = end;
        token
    }
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        while self.offset < self.text.len() {
            let start = self.offset;
            let c = self.peek_char(start)?;
            let after = start + c.len_utf8();
            if is_word_char(c) {
                let script = letter_script(c);
                if script.is_some_and(is_unspaced_script) {
                    // One character (with its combining marks) is one token.
                    let mut end = after;
                    for (i, m) in self.text[after..].char_indices() {
                        if is_combining_mark(m) {
                            end = after + i + m.len_utf8();
                        } else {
                            break;
                        }
                    }
                    return Some(self.emit(start, end, TokenKind::Word));
                }
                let end = self.word_end(start).max(after);
                return Some(self.emit(start, end, TokenKind::Word));
            }
            let starts_tag = self
                .peek_char(after)
                .is_some_and(|n| is_word_char(n) || n == '_');
            if (c == '#' || c == '@') && starts_tag && self.prefix_allowed(start) {
                let end = self.tag_end(after);
                let kind = if c == '#' {
                    TokenKind::Hashtag
                } else {
                    TokenKind::Mention
                };
                return Some(self.emit(start, end, kind));
            }
            if is_emoji(c) {
                let end = self.emoji_end(start);
                return Some(self.emit(start, end, TokenKind::Emoji));
            }
            if is_currency(c) {
                return Some(self.emit(start, after, TokenKind::Symbol));
            }
            if is_mark_symbol(c) {
                let end = self.symbol_end(after);
                return Some(self.emit(start, end, TokenKind::Symbol));
            }
            if is_sentence_end(c) {
                self.sentence_pending = true;
            } else if c == '.' {
                let next = self.peek_char(after);
                if next
                    .is_none_or(|n| n.is_whitespace() || matches!(n, '"' | '\'' | ')' | '”' | '’'))
                {
                    self.sentence_pending = true;
                }
            }
            self.offset = after;
        }
        None
    }
}

impl Tokens<'_> {
    /// `#` and `@` start a tag only at the start of a word (`kim@example.com` is no mention).
    fn prefix_allowed(&self, at: usize) -> bool {
        self.text[..at]
            .chars()
            .next_back()
            .is_none_or(|p| !is_word_char(p) && p != '_' && p != '#' && p != '@')
    }

    /// Tags keep letters of any script, digits and underscores.
    fn tag_end(&self, from: usize) -> usize {
        let mut end = from;
        for (i, c) in self.text[from..].char_indices() {
            if is_word_char(c) || c == '_' {
                end = from + i + c.len_utf8();
            } else {
                break;
            }
        }
        end
    }
}

/// Scripts whose combining marks are letters of their own: folding keeps every character.
fn keeps_marks(c: char) -> bool {
    matches!(
        script_of(c),
        Script::Hangul | Script::Hiragana | Script::Katakana | Script::Han
    )
}

/// `c.script()`, with the blocks most text is written in answered without the table search.
fn script_of(c: char) -> Script {
    match c {
        'a'..='z'
        | 'A'..='Z'
        | '\u{C0}'..='\u{D6}'
        | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{24F}' => Script::Latin,
        '\u{AC00}'..='\u{D7A3}' => Script::Hangul,
        '\u{4E00}'..='\u{9FFF}' => Script::Han,
        '\u{3041}'..='\u{3096}' => Script::Hiragana,
        '\u{30A1}'..='\u{30FA}' => Script::Katakana,
        '\u{0621}'..='\u{063A}' | '\u{0641}'..='\u{064A}' => Script::Arabic,
        _ => c.script(),
    }
}

/// Writes the folded form of `token` into `out` (cleared first): lower case, and accents
/// removed by NFKD minus combining marks. Scripts whose marks are letters of their own
/// (Hangul, Kana, Han) keep every character, so `が` never folds into `か`. Variation
/// selectors and skin tones are dropped (`👍🏽` folds to `👍`) unless the token starts with
/// one; `©`, `®` and `™` stay as they are.
pub fn fold_into(token: &str, out: &mut String) {
    out.clear();
    fold_push(token, out);
}

/// As [`fold_into`], but appends to `out` instead of replacing it.
pub fn fold_push(token: &str, out: &mut String) {
    if token.is_ascii() {
        let from = out.len();
        out.push_str(token);
        out[from..].make_ascii_lowercase();
        return;
    }
    for (i, c) in token.char_indices() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
            continue;
        }
        if keeps_marks(c) || is_mark_symbol(c) {
            out.push(c);
            continue;
        }
        if is_presentation_modifier(c) {
            if i == 0 {
                out.push(c);
            }
            continue;
        }
        // Lower case after decomposing too: compatibility forms may decompose to capitals
        // (`ℌ` → `H`).
        decompose_compatible(c, |d| {
            if !is_combining_mark(d) {
                for lower in d.to_lowercase() {
                    if !is_combining_mark(lower) {
                        out.push(lower);
                    }
                }
            }
        });
    }
}

/// The folded form of a token, as a new string.
pub fn fold(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    fold_into(token, &mut out);
    out
}

/// Case folding only: lower case, then NFC, accents kept, so `E\u{301}COLE` (NFD) and
/// `école` agree. What a query word with accents is compared with.
pub fn fold_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_case_into(s, &mut out);
    out
}

/// [`fold_case`] into a buffer the caller reuses (cleared first).
pub fn fold_case_into(s: &str, out: &mut String) {
    out.clear();
    if s.is_ascii() {
        out.push_str(s);
        out.make_ascii_lowercase();
        return;
    }
    out.extend(s.chars().flat_map(char::to_lowercase).nfc());
}

/// Whether the query word asks for accents: some letter has a real combining mark after NFKD
/// (`niño`, `e\u{301}cole`). Compatibility forms (`ﬁ`, full-width letters), variation
/// selectors and skin tones are not accents, and neither are the marks of Hangul, Kana and
/// Han, which folding keeps.
pub fn has_accents(token: &str) -> bool {
    if token.is_ascii() {
        return false;
    }
    token.chars().any(|c| {
        if keeps_marks(c) || is_emoji_modifier(c) {
            return false;
        }
        let mut accent = false;
        decompose_compatible(c, |d| {
            accent |= is_combining_mark(d) && !is_emoji_modifier(d)
        });
        accent
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        tokens(text).map(|t| fold(t.text(text))).collect()
    }

    #[test]
    fn punctuation_apostrophes_and_hyphens_split() {
        assert_eq!(
            words("L'Oréal e-mail, hello!"),
            ["l", "oreal", "e", "mail", "hello"]
        );
        assert_eq!(words("o365 gpt4 3.5"), ["o365", "gpt4", "3", "5"]);
    }

    #[test]
    fn script_changes_split_and_unspaced_scripts_go_per_character() {
        assert_eq!(words("Sprinklr에서 좋아요"), ["sprinklr", "에서", "좋아요"]);
        assert_eq!(
            words("CEO周受资表示"),
            ["ceo", "周", "受", "资", "表", "示"]
        );
        assert_eq!(words("ソニーの"), ["ソ", "ニ", "ー", "の"]);
        assert_eq!(words("Acmeهاتف"), ["acme", "هاتف"]);
    }

    #[test]
    fn tags_mentions_emoji_and_currency() {
        let text = "#AcmePhone @acme_support 🔥🔥 👍🏽 €100 kim@example.com a#b";
        let kinds: Vec<(String, TokenKind)> = tokens(text)
            .map(|t| (t.text(text).to_string(), t.kind))
            .collect();
        assert_eq!(kinds[0], ("#AcmePhone".into(), TokenKind::Hashtag));
        assert_eq!(kinds[1], ("@acme_support".into(), TokenKind::Mention));
        assert_eq!(kinds[2], ("🔥".into(), TokenKind::Emoji));
        assert_eq!(kinds[3], ("🔥".into(), TokenKind::Emoji));
        assert_eq!(kinds[4], ("👍🏽".into(), TokenKind::Emoji));
        assert_eq!(kinds[5], ("€".into(), TokenKind::Symbol));
        assert_eq!(kinds[6], ("100".into(), TokenKind::Word));
        let rest: Vec<&str> = kinds[7..].iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(rest, ["kim", "example", "com", "a", "b"]);
    }

    #[test]
    fn positions_and_sentences() {
        let text = "Clean Office. Then go!\nNew line acme.com ok";
        let toks: Vec<Token> = tokens(text).collect();
        let sentences: Vec<u32> = toks.iter().map(|t| t.sentence).collect();
        assert_eq!(sentences, [0, 0, 1, 1, 2, 2, 2, 2, 2]);
        assert!(
            toks.iter()
                .enumerate()
                .all(|(i, t)| t.position as usize == i)
        );
    }

    #[test]
    fn folding_removes_accents_but_not_kana_voicing() {
        assert_eq!(fold("Niño"), "nino");
        assert_eq!(fold("ÉCOLE"), "ecole");
        assert_eq!(fold("が"), "が");
        assert_eq!(fold("ﬁne"), "fine");
        assert!(has_accents("niño"));
        assert!(!has_accents("nino"));
        assert!(!has_accents("Ünknown".trim_start_matches('Ü')));
    }

    #[test]
    fn compatibility_forms_and_emoji_selectors_are_not_accents() {
        assert!(!has_accents("ﬁne"));
        assert!(!has_accents("Ｏｆｆｉｃｅ"));
        assert!(!has_accents("❤\u{FE0F}"));
        assert!(!has_accents("❤\u{FE0E}"));
        assert!(!has_accents("👍🏽"));
        assert!(!has_accents("ソニー"));
        assert!(!has_accents("が"));
        assert!(has_accents("e\u{301}cole"));
        assert!(has_accents("École"));
        assert!(has_accents("ＥＣＯＬé"));
    }

    #[test]
    fn folding_drops_variation_selectors_and_skin_tones_but_spans_keep_them() {
        assert_eq!(fold("❤\u{FE0F}"), fold("❤"));
        assert_eq!(fold("❤\u{FE0E}"), "❤");
        assert_eq!(fold("👍🏽"), "👍");
        assert_eq!(fold("👩🏽\u{200D}💻"), "👩\u{200D}💻");
        // A modifier on its own is the emoji itself and keeps its form.
        assert_eq!(fold("🏽"), "🏽");
        let text = "love ❤\u{FE0F} 👍🏽!";
        let spans: Vec<&str> = tokens(text).map(|t| t.text(text)).collect();
        assert_eq!(spans, ["love", "❤\u{FE0F}", "👍🏽"]);
        // Compatibility forms that decompose to capitals are lower-cased too.
        assert_eq!(fold("ℌ"), "h");
        assert_eq!(fold("Ｏｆｆｉｃｅ"), "office");
    }

    #[test]
    fn fold_case_lowers_and_composes_but_keeps_accents() {
        assert_eq!(fold_case("E\u{301}COLE"), "école");
        assert_eq!(fold_case("ÉCOLE"), "école");
        assert_eq!(fold_case("e\u{301}cole"), fold_case("école"));
        assert_eq!(fold_case("Niño"), "niño");
        assert_eq!(fold_case("NINO"), "nino");
        assert_ne!(fold_case("école"), fold_case("ecole"));
    }

    #[test]
    fn underscores_between_word_characters_are_part_of_the_word() {
        assert_eq!(
            words("acme_support _lead trail_ snake__case a_1 x_ _y"),
            [
                "acme_support",
                "lead",
                "trail",
                "snake__case",
                "a_1",
                "x",
                "y"
            ]
        );
        assert_eq!(
            words("@acme_support acme_support"),
            ["@acme_support", "acme_support"]
        );
        // A script change still splits, and the underscore before it is punctuation.
        assert_eq!(words("acme_에서 acme_周"), ["acme", "에서", "acme", "周"]);
        let text = "hi acme_support";
        let t: Vec<Token> = tokens(text).collect();
        assert_eq!((t[1].start, t[1].end, t[1].kind), (3, 15, TokenKind::Word));
    }

    #[test]
    fn prolonged_sound_mark_is_katakana() {
        assert_eq!(words("ソニーabc"), ["ソ", "ニ", "ー", "abc"]);
        assert_eq!(words("ーabc ｰx"), ["ー", "abc", "ー", "x"]);
        assert_eq!(words("abcー"), ["abc", "ー"]);
    }

    #[test]
    fn copyright_registered_and_trademark_are_symbols() {
        let text = "Acme™ ©2024 Brand® ™\u{FE0F}";
        let got: Vec<(&str, TokenKind)> = tokens(text).map(|t| (t.text(text), t.kind)).collect();
        assert_eq!(
            got,
            [
                ("Acme", TokenKind::Word),
                ("™", TokenKind::Symbol),
                ("©", TokenKind::Symbol),
                ("2024", TokenKind::Word),
                ("Brand", TokenKind::Word),
                ("®", TokenKind::Symbol),
                ("™\u{FE0F}", TokenKind::Symbol),
            ]
        );
        assert_eq!(fold("™"), "™");
        assert_eq!(fold("™\u{FE0F}"), "™");
        assert!(!has_accents("™"));
    }

    #[test]
    fn the_script_shortcuts_agree_with_the_tables() {
        let ranges = [
            0xC0..=0x24F,
            0xAC00..=0xD7A3,
            0x4E00..=0x9FFF,
            0x3041..=0x3096,
            0x30A1..=0x30FA,
            0x0621..=0x064A,
        ];
        for c in ranges.into_iter().flatten().filter_map(char::from_u32) {
            if c.is_alphanumeric() {
                assert_eq!(script_of(c), c.script(), "{c:?}");
            }
        }
    }

    #[test]
    fn spans_are_char_boundaries_for_hostile_text() {
        let text = "a\u{200D}b \u{202E}evil\u{202C} e\u{301}\u{301} 👨‍👩‍👧 \u{FEFF}x";
        for t in tokens(text) {
            assert!(text.is_char_boundary(t.start) && text.is_char_boundary(t.end));
            assert!(t.start < t.end);
        }
        assert_eq!(tokens("👨‍👩‍👧").count(), 1);
    }
}
