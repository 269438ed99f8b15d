//! A message prepared for matching: tokenized once (by `needle-text`, the tokenizer search
//! uses too), each token folded once, and the tokens indexed by folded form, so any number
//! of queries can be checked against it without tokenizing or allocating again.

use std::sync::OnceLock;

use needle_text::{TokenKind, fold_push};

/// What a message says about itself besides its text. Every field is optional; a query about
/// a field the message does not have does not match.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Fields<'a> {
    /// The author's handle, with or without `@`.
    pub author: Option<&'a str>,
    /// ISO 639-1 (`en`; `en-GB` also matches `lang:en`).
    pub language: Option<&'a str>,
    /// The channel kind (`email`, `reddit`, …).
    pub channel: Option<&'a str>,
    /// The message's URL.
    pub url: Option<&'a str>,
    /// The message's source (a host or URL), checked by `site:` as well as the URL.
    pub site: Option<&'a str>,
    /// The message's country, ISO 3166 alpha-2 or alpha-3.
    pub country: Option<&'a str>,
    /// The author's country, ISO 3166 alpha-2 or alpha-3.
    pub author_country: Option<&'a str>,
    pub author_followers: Option<u64>,
    pub author_verified: Option<bool>,
    /// Review rating, 0 to 5.
    pub rating: Option<f64>,
    /// `COMMENT`, `REPLY`, `RETWEET` (or `RESHARE`), `QUOTE`.
    pub engagement_type: Option<&'a str>,
    /// `positive`, `negative`, `neutral`.
    pub sentiment: Option<&'a str>,
    /// The Reddit community, with or without `r/`.
    pub subreddit: Option<&'a str>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct DocToken {
    pub start: usize,
    pub end: usize,
    fold_start: usize,
    fold_end: usize,
    pub sentence: u32,
    pub kind: TokenKind,
}

/// A hash of a folded term (FxHash over 8-byte words): cheap for the short strings tokens are.
/// Query terms hash their keys once when compiled, texts once per distinct term.
pub(crate) fn term_hash(s: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h: u64 = s.len() as u64;
    let mut bytes = s.as_bytes();
    while bytes.len() >= 8 {
        let (word, rest) = bytes.split_at(8);
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
        bytes = rest;
    }
    if !bytes.is_empty() {
        let mut buf = [0u8; 8];
        buf[..bytes.len()].copy_from_slice(bytes);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(buf)).wrapping_mul(K);
    }
    h ^ (h >> 29)
}

/// One distinct folded form of a text: where it is in `folded`, its hash, and its run in
/// `positions`.
#[derive(Debug, Clone, Copy)]
struct Term {
    fold_start: u32,
    fold_end: u32,
    hash: u64,
    lo: u32,
    hi: u32,
}

/// The tokens of one text, with their folded forms and an index by folded form.
#[derive(Debug, Clone)]
pub(crate) struct TokenIndex<'a> {
    pub text: &'a str,
    pub tokens: Vec<DocToken>,
    folded: String,
    /// Token positions grouped by distinct folded form (in `terms` order), ascending within
    /// each group.
    positions: Vec<u32>,
    /// The distinct folded forms, in order of first appearance.
    terms: Vec<Term>,
    /// Open-addressing hash table over `terms`: index + 1, 0 for empty. Its length is a power
    /// of two at least twice the number of terms.
    slots: Vec<u32>,
    /// Position of the first token of each sentence.
    sentence_starts: Vec<u32>,
    /// Some token is a `#tag` or an `@handle`.
    pub has_tags: bool,
}

impl<'a> TokenIndex<'a> {
    pub fn new(text: &'a str) -> TokenIndex<'a> {
        // About one token per five bytes of text; a guess that avoids most regrowth.
        let mut tokens = Vec::with_capacity(text.len() / 5 + 4);
        let mut folded = String::with_capacity(text.len() + text.len() / 8);
        let mut sentence_starts = Vec::with_capacity(4);
        let mut has_tags = false;
        for t in needle_text::tokens(text) {
            let fold_start = folded.len();
            fold_push(t.text(text), &mut folded);
            if sentence_starts.len() <= t.sentence as usize {
                sentence_starts.push(tokens.len() as u32);
            }
            has_tags |= matches!(t.kind, TokenKind::Hashtag | TokenKind::Mention);
            tokens.push(DocToken {
                start: t.start,
                end: t.end,
                fold_start,
                fold_end: folded.len(),
                sentence: t.sentence,
                kind: t.kind,
            });
        }
        // Distinct folded forms through the hash table; each token's term id, then the
        // positions grouped by term (a counting sort: no string comparisons but equality).
        let mut slots = vec![0u32; (tokens.len() * 2).next_power_of_two().max(4)];
        let mask = slots.len() - 1;
        let mut terms: Vec<Term> = Vec::with_capacity(tokens.len());
        let mut term_of: Vec<u32> = Vec::with_capacity(tokens.len());
        for t in &tokens {
            let f = &folded[t.fold_start..t.fold_end];
            let hash = term_hash(f);
            let mut at = hash as usize & mask;
            let id = loop {
                match slots[at] {
                    0 => {
                        terms.push(Term {
                            fold_start: t.fold_start as u32,
                            fold_end: t.fold_end as u32,
                            hash,
                            lo: 0,
                            hi: 0,
                        });
                        slots[at] = terms.len() as u32;
                        break terms.len() - 1;
                    }
                    slot => {
                        let term = &terms[slot as usize - 1];
                        if term.hash == hash
                            && &folded[term.fold_start as usize..term.fold_end as usize] == f
                        {
                            break slot as usize - 1;
                        }
                    }
                }
                at = (at + 1) & mask;
            };
            terms[id].hi += 1;
            term_of.push(id as u32);
        }
        let mut next = 0;
        for term in &mut terms {
            let count = term.hi;
            term.lo = next;
            term.hi = next;
            next += count;
        }
        let mut positions = vec![0u32; tokens.len()];
        for (pos, &id) in term_of.iter().enumerate() {
            let term = &mut terms[id as usize];
            positions[term.hi as usize] = pos as u32;
            term.hi += 1;
        }
        TokenIndex {
            has_tags,
            text,
            tokens,
            folded,
            positions,
            terms,
            slots,
            sentence_starts,
        }
    }

    fn term_text(&self, term: &Term) -> &str {
        &self.folded[term.fold_start as usize..term.fold_end as usize]
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// The folded form of the token at `pos`.
    pub fn folded(&self, pos: usize) -> &str {
        let t = &self.tokens[pos];
        &self.folded[t.fold_start..t.fold_end]
    }

    /// The token at `pos` as written.
    pub fn raw(&self, pos: usize) -> &'a str {
        let t = &self.tokens[pos];
        &self.text[t.start..t.end]
    }

    /// Positions (ascending) of the tokens whose folded form is `key`.
    pub fn lookup(&self, key: &str) -> &[u32] {
        self.lookup_hashed(key, term_hash(key))
    }

    /// As [`TokenIndex::lookup`], with `hash` = `term_hash(key)` computed beforehand.
    pub fn lookup_hashed(&self, key: &str, hash: u64) -> &[u32] {
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                return &[];
            }
            let term = &self.terms[slot as usize - 1];
            if term.hash == hash && self.term_text(term) == key {
                return &self.positions[term.lo as usize..term.hi as usize];
            }
            at = (at + 1) & mask;
        }
    }

    /// The positions (ascending) of each distinct folded form that starts with `prefix`, one
    /// slice per form, forms in order of first appearance.
    pub fn with_prefix<'s>(&'s self, prefix: &'s str) -> impl Iterator<Item = &'s [u32]> + 's {
        self.terms
            .iter()
            .filter(move |t| self.term_text(t).starts_with(prefix))
            .map(|t| &self.positions[t.lo as usize..t.hi as usize])
    }

    /// First and last token position of sentence `s`.
    pub fn sentence_bounds(&self, s: u32) -> (u32, u32) {
        let first = self.sentence_starts.get(s as usize).copied().unwrap_or(0);
        let last = self
            .sentence_starts
            .get(s as usize + 1)
            .map_or(self.tokens.len() as u32, |&n| n)
            .saturating_sub(1);
        (first, last)
    }

    /// Distinct folded forms, in order of first appearance.
    pub fn distinct_folded(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.terms.iter().map(|t| self.term_text(t))
    }
}

/// One message, prepared once for any number of queries. The title is tokenized only when
/// a query asks about it (`title:`), which few do.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    pub(crate) text: TokenIndex<'a>,
    title_text: Option<&'a str>,
    title: OnceLock<Option<TokenIndex<'a>>>,
    pub(crate) fields: Fields<'a>,
}

impl<'a> Document<'a> {
    pub fn new(text: &'a str, title: Option<&'a str>, fields: Fields<'a>) -> Document<'a> {
        Document {
            text: TokenIndex::new(text),
            title_text: title,
            title: OnceLock::new(),
            fields,
        }
    }

    /// The title's tokens, prepared on first use.
    pub(crate) fn title(&self) -> Option<&TokenIndex<'a>> {
        self.title
            .get_or_init(|| self.title_text.map(TokenIndex::new))
            .as_ref()
    }

    /// A document with text only.
    pub fn from_text(text: &'a str) -> Document<'a> {
        Document::new(text, None, Fields::default())
    }

    pub fn text(&self) -> &'a str {
        self.text.text
    }

    pub fn fields(&self) -> &Fields<'a> {
        &self.fields
    }

    /// Number of tokens in the text.
    pub fn token_count(&self) -> usize {
        self.text.len()
    }

    /// Whether some token of the text folds to `folded` (as [`needle_text::fold`] gives it;
    /// hashtags and mentions keep their `#` and `@`).
    pub fn has_folded(&self, folded: &str) -> bool {
        !self.text.lookup(folded).is_empty()
    }

    /// Whether some token of the text has a folded form starting with `prefix`.
    pub fn has_folded_prefix(&self, prefix: &str) -> bool {
        self.text.with_prefix(prefix).next().is_some()
    }

    /// The author's handle as `author:` compares it: without `@`, lower case.
    pub fn author_key(&self) -> Option<String> {
        self.fields
            .author
            .map(|a| a.trim_start_matches('@').to_lowercase())
    }

    /// The distinct folded tokens of the text, in order of first appearance: what a
    /// presearcher looks up.
    pub fn folded_terms(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.text.distinct_folded()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_finds_tokens_by_folded_form_in_position_order() {
        let doc = Document::from_text("Niño nino NIÑO #Nino @nino. Second sentence nino!");
        assert_eq!(doc.text.lookup("nino"), &[0, 1, 2, 7]);
        assert_eq!(doc.text.lookup("#nino"), &[3]);
        assert_eq!(doc.text.lookup("@nino"), &[4]);
        assert!(doc.text.lookup("niño").is_empty());
        assert_eq!(doc.text.raw(2), "NIÑO");
        assert_eq!(doc.text.sentence_bounds(0), (0, 4));
        assert_eq!(doc.text.sentence_bounds(1), (5, 7));
        let mut prefix: Vec<u32> = doc.text.with_prefix("ni").flatten().copied().collect();
        prefix.sort();
        assert_eq!(prefix, [0, 1, 2, 7]);
        assert!(doc.has_folded_prefix("#ni") && !doc.has_folded_prefix("nx"));
        assert_eq!(
            doc.folded_terms().collect::<Vec<_>>(),
            ["nino", "#nino", "@nino", "second", "sentence"]
        );
    }

    #[test]
    fn empty_text_has_no_tokens() {
        let doc = Document::from_text("");
        assert_eq!(doc.token_count(), 0);
        assert!(doc.text.lookup("a").is_empty());
        assert_eq!(doc.text.sentence_bounds(0), (0, 0));
    }
}
