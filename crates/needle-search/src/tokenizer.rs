//! The Needle tokenizer as a tantivy tokenizer: the index sees exactly the tokens the text
//! model defines (needle-text), folded for case and accents.
//!
//! A hashtag or mention is indexed twice at one position, as `#tag` and as `tag`, so that a
//! query for `#tag` finds only the hashtag and a query for `tag` finds both (the spec's rule).

use needle_text::{TokenKind, fold_into};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

#[derive(Clone, Default)]
pub struct NeedleTokenizer {
    tokens: Vec<Token>,
}

pub struct NeedleTokenStream<'a> {
    tokens: &'a mut Vec<Token>,
    next: usize,
}

impl Tokenizer for NeedleTokenizer {
    type TokenStream<'a> = NeedleTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> NeedleTokenStream<'a> {
        self.tokens.clear();
        let mut folded = String::new();
        for t in needle_text::tokens(text) {
            fold_into(t.text(text), &mut folded);
            let token = |text: String| Token {
                offset_from: t.start,
                offset_to: t.end,
                position: t.position as usize,
                text,
                position_length: 1,
            };
            if matches!(t.kind, TokenKind::Hashtag | TokenKind::Mention) {
                self.tokens.push(token(folded[1..].to_string()));
            }
            self.tokens.push(token(folded.clone()));
        }
        NeedleTokenStream {
            tokens: &mut self.tokens,
            next: 0,
        }
    }
}

impl TokenStream for NeedleTokenStream<'_> {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}
