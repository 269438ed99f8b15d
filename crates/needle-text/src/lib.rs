//! The text model of shared/specs/query-language.md: one tokenizer shared by indexing,
//! search and (later) the topic matcher, so that what search finds and what a topic matches
//! can never disagree about where a word starts and ends.
//!
//! - Words split at white space and punctuation, apostrophes and hyphens included.
//! - A change of script inside a run of letters splits (`Sprinklr에서` → `sprinklr`, `에서`).
//! - Han, Hiragana, Katakana, Thai (scripts written without spaces): one token per character.
//! - `#tag` and `@handle` are tokens that keep their prefix; an emoji and a currency sign are
//!   tokens of their own; digits stay inside words (`o365`).
//! - Sentences end at `.` (before a space or the end), `!`, `?`, `。`, `؟` and line breaks.
//!
//! Pure and allocation-free per token: [`Tokens`] yields byte spans; [`fold_into`] writes the
//! case- and accent-folded form into a buffer the caller reuses.

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
    /// A currency sign such as `€`.
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
fn letter_script(c: char) -> Option<Script> {
    if c.is_ascii() {
        return c.is_ascii_alphabetic().then_some(Script::Latin);
    }
    match c.script() {
        Script::Common | Script::Inherited | Script::Unknown => None,
        s => Some(s),
    }
}

impl<'a> Tokens<'a> {
    fn peek_char(&self, at: usize) -> Option<char> {
        self.text[at..].chars().next()
    }

    /// End of a word run starting at `start`, stopping at a change between two scripts.
    fn word_end(&self, start: usize, unspaced_allowed: bool) -> usize {
        let mut script: Option<Script> = None;
        let mut end = start;
        for (i, c) in self.text[start..].char_indices() {
            if !is_word_char(c) {
                break;
            }
            let s = letter_script(c);
            if let Some(s) = s {
                if is_unspaced_script(s) && !unspaced_allowed {
                    break;
                }
                match script {
                    None => script = Some(s),
                    Some(prev) if prev != s => break,
                    Some(_) => {}
                }
            }
            end = start + i + c.len_utf8();
        }
        end
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
                let end = self.word_end(start, false).max(after);
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

/// Writes the folded form of `token` into `out` (cleared first): lower case, and accents
/// removed by NFKD minus combining marks. Scripts whose marks are letters of their own
/// (Hangul, Kana, Han) keep every character, so `が` never folds into `か`.
pub fn fold_into(token: &str, out: &mut String) {
    out.clear();
    if token.is_ascii() {
        out.push_str(token);
        out.make_ascii_lowercase();
        return;
    }
    for c in token.chars() {
        if matches!(
            c.script(),
            Script::Hangul | Script::Hiragana | Script::Katakana | Script::Han
        ) {
            out.push(c);
            continue;
        }
        for lower in c.to_lowercase() {
            decompose_compatible(lower, |d| {
                if !is_combining_mark(d) {
                    out.push(d);
                }
            });
        }
    }
}

/// The folded form of a token, as a new string.
pub fn fold(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    fold_into(token, &mut out);
    out
}

/// Whether the folded form drops an accent (the query word asks for that exact form).
pub fn has_accents(token: &str) -> bool {
    !token.is_ascii() && {
        let mut lower = String::new();
        for c in token.chars() {
            lower.extend(c.to_lowercase());
        }
        fold(token) != lower
    }
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
    fn spans_are_char_boundaries_for_hostile_text() {
        let text = "a\u{200D}b \u{202E}evil\u{202C} e\u{301}\u{301} 👨‍👩‍👧 \u{FEFF}x";
        for t in tokens(text) {
            assert!(text.is_char_boundary(t.start) && text.is_char_boundary(t.end));
            assert!(t.start < t.end);
        }
        assert_eq!(tokens("👨‍👩‍👧").count(), 1);
    }
}
