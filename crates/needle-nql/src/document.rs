//! A message prepared for matching: tokenized once (by `needle-text`, the tokenizer search
//! uses too), each token folded once, and the tokens indexed by folded form, so any number
//! of queries can be checked against it without tokenizing or allocating again.

use needle_text::{TokenKind, fold_into};

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

/// The tokens of one text, with their folded forms and an index by folded form.
#[derive(Debug, Clone)]
pub(crate) struct TokenIndex<'a> {
    pub text: &'a str,
    pub tokens: Vec<DocToken>,
    folded: String,
    /// Token positions ordered by (folded form, position).
    sorted: Vec<u32>,
    /// Position of the first token of each sentence.
    sentence_starts: Vec<u32>,
    /// Some token is a `#tag` or an `@handle`.
    pub has_tags: bool,
}

impl<'a> TokenIndex<'a> {
    pub fn new(text: &'a str) -> TokenIndex<'a> {
        let mut tokens = Vec::new();
        let mut folded = String::with_capacity(text.len() + text.len() / 8);
        let mut buf = String::new();
        let mut sentence_starts = Vec::new();
        for t in needle_text::tokens(text) {
            fold_into(t.text(text), &mut buf);
            let fold_start = folded.len();
            folded.push_str(&buf);
            if sentence_starts.len() <= t.sentence as usize {
                sentence_starts.push(tokens.len() as u32);
            }
            tokens.push(DocToken {
                start: t.start,
                end: t.end,
                fold_start,
                fold_end: folded.len(),
                sentence: t.sentence,
                kind: t.kind,
            });
        }
        let mut sorted: Vec<u32> = (0..tokens.len() as u32).collect();
        sorted.sort_by(|&a, &b| {
            let fa = &folded[tokens[a as usize].fold_start..tokens[a as usize].fold_end];
            let fb = &folded[tokens[b as usize].fold_start..tokens[b as usize].fold_end];
            fa.cmp(fb).then(a.cmp(&b))
        });
        let has_tags = tokens
            .iter()
            .any(|t| matches!(t.kind, TokenKind::Hashtag | TokenKind::Mention));
        TokenIndex {
            has_tags,
            text,
            tokens,
            folded,
            sorted,
            sentence_starts,
        }
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
        let lo = self
            .sorted
            .partition_point(|&p| self.folded(p as usize) < key);
        let hi = lo + self.sorted[lo..].partition_point(|&p| self.folded(p as usize) == key);
        &self.sorted[lo..hi]
    }

    /// Positions of the tokens whose folded form starts with `prefix` (ordered by folded
    /// form, not by position).
    pub fn with_prefix(&self, prefix: &str) -> &[u32] {
        let lo = self
            .sorted
            .partition_point(|&p| self.folded(p as usize) < prefix);
        let hi = lo
            + self.sorted[lo..].partition_point(|&p| self.folded(p as usize).starts_with(prefix));
        &self.sorted[lo..hi]
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

    /// Distinct folded forms, in order.
    pub fn distinct_folded(&self) -> impl Iterator<Item = &str> + '_ {
        let mut last: Option<&str> = None;
        self.sorted.iter().filter_map(move |&p| {
            let f = self.folded(p as usize);
            if last == Some(f) {
                None
            } else {
                last = Some(f);
                Some(f)
            }
        })
    }
}

/// One message, prepared once for any number of queries.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    pub(crate) text: TokenIndex<'a>,
    pub(crate) title: Option<TokenIndex<'a>>,
    pub(crate) fields: Fields<'a>,
}

impl<'a> Document<'a> {
    pub fn new(text: &'a str, title: Option<&'a str>, fields: Fields<'a>) -> Document<'a> {
        Document {
            text: TokenIndex::new(text),
            title: title.map(TokenIndex::new),
            fields,
        }
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

    /// The distinct folded tokens of the text, sorted: what a presearcher looks up.
    pub fn folded_terms(&self) -> impl Iterator<Item = &str> + '_ {
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
        let mut prefix: Vec<u32> = doc.text.with_prefix("ni").to_vec();
        prefix.sort();
        assert_eq!(prefix, [0, 1, 2, 7]);
        assert_eq!(
            doc.folded_terms().collect::<Vec<_>>(),
            ["#nino", "@nino", "nino", "second", "sentence"]
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
