//! One query term against the tokens of a text: the term is split by the same tokenizer as
//! the text, each query token becomes a [`TokenPattern`] (folded key or wildcard, case and
//! accent rules, hashtag rules), and a [`Leaf`] is the phrase of them.

use needle_text::{TokenKind, fold, fold_case, has_accents};

use crate::compile::Requirement;
use crate::document::{TokenIndex, term_hash};
use crate::syntax::Span;

/// A token of a query term, as written (wildcards kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryToken {
    pub text: String,
    pub kind: TokenKind,
    /// Where it is in the query.
    pub span: Span,
}

/// Splits the query text at `span` into tokens, exactly as `needle-text` splits message text;
/// `*` and `?` stay inside the token they are written in.
pub(crate) fn split(query: &str, span: Span) -> Vec<QueryToken> {
    let text = span.text(query);
    // Wildcards become digits (which belong to no script and stay inside words) so the
    // tokenizer keeps them in place; spans are the same since both are one byte.
    let stand_in: String = text
        .chars()
        .map(|c| match c {
            '*' => '0',
            '?' => '1',
            c => c,
        })
        .collect();
    needle_text::tokens(&stand_in)
        .map(|t| QueryToken {
            text: text[t.start..t.end].to_string(),
            kind: t.kind,
            span: Span::new(span.start + t.start, span.start + t.end),
        })
        .collect()
}

/// Whether a query token is a `#tag`, an `@handle` or anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Plain,
    Hash,
    At,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Glob {
    Lit(char),
    One,
    Many,
}

fn glob_of(pattern: &str) -> Vec<Glob> {
    pattern
        .chars()
        .map(|c| match c {
            '*' => Glob::Many,
            '?' => Glob::One,
            c => Glob::Lit(c),
        })
        .collect()
}

/// Matches `text` against a glob, backtracking only to the last `*` (linear in practice).
fn glob_match<I: Iterator<Item = char> + Clone>(pattern: &[Glob], mut text: I) -> bool {
    let mut p = 0;
    let mut star: Option<(usize, I)> = None;
    loop {
        if pattern.get(p) == Some(&Glob::Many) {
            p += 1;
            star = Some((p, text.clone()));
            continue;
        }
        let mut ahead = text.clone();
        let Some(c) = ahead.next() else {
            return p == pattern.len();
        };
        let step = match pattern.get(p) {
            Some(Glob::One) => true,
            Some(Glob::Lit(l)) => *l == c,
            _ => false,
        };
        if step {
            p += 1;
            text = ahead;
            continue;
        }
        match star.take() {
            Some((after_star, mut from)) => {
                if from.next().is_none() {
                    return false;
                }
                text = from.clone();
                star = Some((after_star, from));
                p = after_star;
            }
            None => return false,
        }
    }
}

/// Extra rule on the token as written, beyond its folded form.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Check {
    /// Folded form is enough.
    None,
    /// The query word has accents: the text must have the same letters and accents, any case
    /// and any normalization form (both sides through `fold_case`: lower case and NFC).
    Lower(String),
    /// `{…}` and `++"…"`: exactly this spelling.
    Exact(String),
}

/// One query token, ready to test text tokens.
#[derive(Debug, Clone)]
pub(crate) struct TokenPattern {
    tag: Tag,
    /// Folded form (with `#`/`@` for tags); for a wildcard, the folded pattern.
    key: String,
    /// For a wildcard: the folded glob, and the glob the `check` applies to.
    glob: Option<(Vec<Glob>, Vec<Glob>)>,
    check: Check,
    /// Index keys (literal) or key prefixes (wildcard) where candidates are found.
    lookups: Vec<String>,
    /// `term_hash` of each literal lookup.
    hashes: Vec<u64>,
    has_tag_lookups: bool,
}

impl TokenPattern {
    pub fn new(token: &QueryToken, case_sensitive: bool) -> TokenPattern {
        let tag = match token.kind {
            TokenKind::Hashtag => Tag::Hash,
            TokenKind::Mention => Tag::At,
            _ => Tag::Plain,
        };
        let key = fold(&token.text);
        let check = if case_sensitive {
            Check::Exact(token.text.clone())
        } else if has_accents(&token.text) {
            Check::Lower(fold_case(&token.text))
        } else {
            Check::None
        };
        let wildcard = token.text.contains(['*', '?']);
        let glob = wildcard.then(|| {
            let checked = match &check {
                Check::None => Vec::new(),
                Check::Lower(l) => glob_of(l),
                Check::Exact(e) => glob_of(e),
            };
            (glob_of(&key), checked)
        });
        let base = if wildcard {
            key.split(['*', '?']).next().unwrap_or("").to_string()
        } else {
            key.clone()
        };
        let mut lookups = vec![base.clone()];
        let has_tag_lookups = tag == Tag::Plain && token.kind == TokenKind::Word;
        if has_tag_lookups {
            lookups.push(format!("#{base}"));
            lookups.push(format!("@{base}"));
        }
        let hashes = lookups.iter().map(|l| term_hash(l)).collect();
        TokenPattern {
            tag,
            key,
            glob,
            check,
            lookups,
            hashes,
            has_tag_lookups,
        }
    }

    pub fn is_wildcard(&self) -> bool {
        self.glob.is_some()
    }

    /// The folded forms a text token may have to match this literal pattern.
    pub fn folded_keys(&self) -> Option<&[String]> {
        (!self.is_wildcard()).then_some(self.lookups.as_slice())
    }

    /// What a text needs for this token to match: a token folding to one of the lookups, or
    /// (wildcard) starting with one.
    pub fn requirement(&self) -> Requirement {
        let options = self
            .lookups
            .iter()
            .map(|l| {
                if !self.is_wildcard() {
                    Requirement::Term(l.clone())
                } else if l.is_empty() {
                    Requirement::Anything
                } else {
                    Requirement::Prefix(l.clone())
                }
            })
            .collect();
        Requirement::any(options)
    }

    /// Whether the text token at `pos` matches.
    pub fn matches(&self, index: &TokenIndex<'_>, pos: usize) -> bool {
        let kind = index.tokens[pos].kind;
        let folded = index.folded(pos);
        let raw = index.raw(pos);
        let (folded, raw) = match (self.tag, kind) {
            (Tag::Plain, TokenKind::Hashtag | TokenKind::Mention) => {
                (folded.get(1..).unwrap_or(""), raw.get(1..).unwrap_or(""))
            }
            (Tag::Plain, _) | (Tag::Hash, TokenKind::Hashtag) | (Tag::At, TokenKind::Mention) => {
                (folded, raw)
            }
            _ => return false,
        };
        match &self.glob {
            None => {
                folded == self.key
                    && match &self.check {
                        Check::None => true,
                        Check::Lower(l) => fold_case(raw) == *l,
                        Check::Exact(e) => raw == e,
                    }
            }
            Some((folded_glob, checked_glob)) => {
                glob_match(folded_glob, folded.chars())
                    && match &self.check {
                        Check::None => true,
                        Check::Lower(_) => glob_match(checked_glob, fold_case(raw).chars()),
                        Check::Exact(_) => glob_match(checked_glob, raw.chars()),
                    }
            }
        }
    }

    /// Calls `f` with each position where this pattern matches (in no particular order)
    /// until `f` returns true; returns whether it did.
    fn candidates(&self, index: &TokenIndex<'_>, f: &mut impl FnMut(usize) -> bool) -> bool {
        for (i, lookup) in self.lookups.iter().enumerate() {
            if i > 0 && !index.has_tags {
                break;
            }
            if self.is_wildcard() {
                for positions in index.with_prefix(lookup) {
                    for &p in positions {
                        if self.matches(index, p as usize) && f(p as usize) {
                            return true;
                        }
                    }
                }
            } else {
                for &p in index.lookup_hashed(lookup, self.hashes[i]) {
                    if self.matches(index, p as usize) && f(p as usize) {
                        return true;
                    }
                }
            }
        }
        false
    }

    /// Whether candidates come out in position order (one literal lookup).
    fn ordered_candidates(&self, index: &TokenIndex<'_>) -> bool {
        !(self.is_wildcard() || (self.has_tag_lookups && index.has_tags))
    }
}

/// A term: the phrase of its tokens, and how to name it in an explanation.
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    pub display: String,
    pub tokens: Vec<TokenPattern>,
    /// The token whose candidates are enumerated (the first literal one).
    anchor: usize,
}

impl Leaf {
    pub fn new(display: String, tokens: Vec<TokenPattern>) -> Leaf {
        let anchor = tokens.iter().position(|t| !t.is_wildcard()).unwrap_or(0);
        Leaf {
            display,
            tokens,
            anchor,
        }
    }

    pub fn len(&self) -> u32 {
        self.tokens.len() as u32
    }

    /// Calls `f` with the first position of each match until it returns true; returns
    /// whether it did. Starts come in position order when [`Leaf::starts_sorted`] says so.
    pub fn for_each_start(&self, index: &TokenIndex<'_>, mut f: impl FnMut(u32) -> bool) -> bool {
        let Some(anchor) = self.tokens.get(self.anchor) else {
            return false;
        };
        let len = self.tokens.len();
        anchor.candidates(index, &mut |p| {
            let Some(start) = p.checked_sub(self.anchor) else {
                return false;
            };
            if start + len > index.len() {
                return false;
            }
            let rest_match = self
                .tokens
                .iter()
                .enumerate()
                .all(|(i, t)| i == self.anchor || t.matches(index, start + i));
            rest_match && f(start as u32)
        })
    }

    /// Whether starts come out of [`Leaf::for_each_start`] in position order for this index.
    pub fn starts_sorted(&self, index: &TokenIndex<'_>) -> bool {
        self.tokens
            .get(self.anchor)
            .is_some_and(|a| a.ordered_candidates(index))
    }

    /// What a text needs for the term to match: every token's requirement.
    pub fn requirement(&self) -> Requirement {
        Requirement::all(self.tokens.iter().map(TokenPattern::requirement).collect())
    }

    /// A token of the term that must appear (folded forms it may take), if some token is
    /// not a wildcard: the longest, as the rarest guess.
    pub fn required_keys(&self) -> Option<&[String]> {
        self.tokens
            .iter()
            .filter_map(TokenPattern::folded_keys)
            .max_by_key(|keys| keys.first().map_or(0, String::len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(p: &str, t: &str) -> bool {
        glob_match(&glob_of(p), t.chars())
    }

    #[test]
    fn globs_match_within_one_token() {
        assert!(glob("complain*", "complaints"));
        assert!(glob("complain*", "complain"));
        assert!(!glob("complain*", "complai"));
        assert!(glob("t*est", "test"));
        assert!(glob("t*est", "tallest"));
        assert!(!glob("t*est", "testy"));
        assert!(glob("customi?e", "customise"));
        assert!(glob("customi?e", "customize"));
        assert!(!glob("customi?e", "customie"));
        assert!(glob("a*b*c", "aXbYbZc"));
        assert!(!glob("a*b*c", "aXbYbZ"));
        assert!(glob("ni?o", "niño"));
    }

    #[test]
    fn query_words_split_like_text_with_wildcards_kept() {
        let q = "e-mai* Sprinklr에서 周受资 #acme* €100";
        let tokens: Vec<String> = split(q, Span::new(0, q.len()))
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(
            tokens,
            [
                "e", "mai*", "Sprinklr", "에서", "周", "受", "资", "#acme*", "€", "100"
            ]
        );
    }

    fn leaf(q: &str, case_sensitive: bool) -> Leaf {
        let tokens = split(q, Span::new(0, q.len()))
            .iter()
            .map(|t| TokenPattern::new(t, case_sensitive))
            .collect();
        Leaf::new(q.to_string(), tokens)
    }

    fn starts(q: &str, case_sensitive: bool, text: &str) -> Vec<u32> {
        let index = TokenIndex::new(text);
        let mut out = Vec::new();
        leaf(q, case_sensitive).for_each_start(&index, |p| {
            out.push(p);
            false
        });
        out.sort();
        out
    }

    #[test]
    fn words_match_tags_but_tags_only_tags() {
        let text = "acme #acme @acme #Acmephone";
        assert_eq!(starts("acme", false, text), [0, 1, 2]);
        assert_eq!(starts("#acme", false, text), [1]);
        assert_eq!(starts("@acme", false, text), [2]);
        assert_eq!(starts("acme*", false, text), [0, 1, 2, 3]);
        assert_eq!(starts("#acme*", false, text), [1, 3]);
    }

    #[test]
    fn accents_and_case() {
        let text = "Niño nino NIÑO nIno";
        assert_eq!(starts("nino", false, text), [0, 1, 2, 3]);
        assert_eq!(starts("niño", false, text), [0, 2]);
        assert_eq!(starts("NIÑO", true, text), [2]);
        assert_eq!(starts("ni*", false, text), [0, 1, 2, 3]);
        assert_eq!(starts("niñ*", false, text), [0, 2]);
    }

    #[test]
    fn phrases_of_tokens() {
        assert_eq!(starts("e-mail", false, "send an E mail or email"), [2]);
        assert_eq!(starts("周受资", false, "CEO周受资表示"), [1]);
        assert_eq!(starts("Sprinklr에서", false, "Sprinklr에서 일해요"), [0]);
    }
}
