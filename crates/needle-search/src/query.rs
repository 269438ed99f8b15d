//! Plain search text: words and "quoted phrases", all required.
//!
//! This is the search language until the Needle Query Language lands; words are split and
//! folded by the same tokenizer as the index, and a word that splits into several tokens
//! (`e-mail`, `周受资`) is searched as the phrase of its tokens, as NQL will.

use needle_text::{TokenKind, fold};
use tantivy::Term;
use tantivy::query::{BooleanQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};

/// A query the user wrote that cannot be run, with the byte span at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at bytes {start}..{end})")]
pub struct QueryError {
    pub message: String,
    pub start: usize,
    pub end: usize,
}

/// One required part: a single token, or tokens that must be adjacent and in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Term(String),
    Phrase(Vec<String>),
}

/// Parsed search text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextQuery {
    pub parts: Vec<Part>,
    /// Every part must match (search text), or any one (candidates for an NQL query).
    pub require_all: bool,
}

fn folded_tokens(text: &str) -> Vec<String> {
    needle_text::tokens(text)
        .map(|t| {
            let folded = fold(t.text(text));
            debug_assert!(matches!(t.kind, TokenKind::Word) || !folded.is_empty());
            folded
        })
        .collect()
}

fn part_of(tokens: Vec<String>) -> Option<Part> {
    match tokens.len() {
        0 => None,
        1 => tokens.into_iter().next().map(Part::Term),
        _ => Some(Part::Phrase(tokens)),
    }
}

impl TextQuery {
    pub fn parse(input: &str) -> Result<TextQuery, QueryError> {
        let mut parts = Vec::new();
        let mut rest = input;
        let mut offset = 0;
        while let Some(open) = rest.find('"') {
            for word in rest[..open].split_whitespace() {
                parts.extend(part_of(folded_tokens(word)));
            }
            let after = &rest[open + 1..];
            let close = after.find('"').ok_or_else(|| QueryError {
                message: "this quote is never closed: add a closing \"".into(),
                start: offset + open,
                end: input.len(),
            })?;
            parts.extend(part_of(folded_tokens(&after[..close])));
            offset += open + 1 + close + 1;
            rest = &after[close + 1..];
        }
        for word in rest.split_whitespace() {
            parts.extend(part_of(folded_tokens(word)));
        }
        if parts.is_empty() {
            return Err(QueryError {
                message: "the query has no words to search for".into(),
                start: 0,
                end: input.len(),
            });
        }
        Ok(TextQuery {
            parts,
            require_all: true,
        })
    }

    /// Messages holding at least one of these folded tokens: the candidates an NQL query
    /// is verified against (see `needle_nql::Query::required_any_of`).
    pub fn any_of(folded_terms: Vec<String>) -> TextQuery {
        TextQuery {
            parts: folded_terms.into_iter().map(Part::Term).collect(),
            require_all: false,
        }
    }

    pub(crate) fn to_tantivy(&self, field: Field) -> Box<dyn Query> {
        let term = |t: &str| Term::from_field_text(field, t);
        let clauses: Vec<(Occur, Box<dyn Query>)> = self
            .parts
            .iter()
            .map(|part| -> (Occur, Box<dyn Query>) {
                let query: Box<dyn Query> = match part {
                    Part::Term(t) => {
                        Box::new(TermQuery::new(term(t), IndexRecordOption::WithFreqs))
                    }
                    Part::Phrase(words) => {
                        Box::new(PhraseQuery::new(words.iter().map(|w| term(w)).collect()))
                    }
                };
                let occur = if self.require_all {
                    Occur::Must
                } else {
                    Occur::Should
                };
                (occur, query)
            })
            .collect();
        Box::new(BooleanQuery::new(clauses))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_phrases_and_split_words() {
        let q = TextQuery::parse(r#"Refund "broken SCREEN" e-mail #AcmePhone"#).unwrap();
        assert_eq!(
            q.parts,
            [
                Part::Term("refund".into()),
                Part::Phrase(vec!["broken".into(), "screen".into()]),
                Part::Phrase(vec!["e".into(), "mail".into()]),
                Part::Term("#acmephone".into()),
            ]
        );
    }

    #[test]
    fn unclosed_quote_and_empty_query_name_the_span() {
        let err = TextQuery::parse(r#"refund "broken"#).unwrap_err();
        assert_eq!((err.start, err.end), (7, 14));
        assert!(TextQuery::parse("  ...  ").is_err());
    }
}
