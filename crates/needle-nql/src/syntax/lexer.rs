//! Cuts a query into lexemes: parentheses, operators, words, quoted phrases, `{…}`, fields
//! and `~n`. Comments `<<<…>>>` count as white space. Problems that are visible from the
//! characters alone (an unclosed quote, `apple~ 5`, `author :kim`) are reported here.

use super::{FieldValue, ProxOp, Span};
use crate::fields::FieldName;
use crate::lint::{Code, Diagnostic};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LexKind {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Prox(ProxOp),
    /// A bare word; `lowercase_op` is set for `and`, `or`, `not` in any case but upper.
    Word {
        lowercase_op: bool,
    },
    /// `"…"`, `+"…"` (`case_sensitive` false) or `++"…"` (true).
    Quoted {
        inner: Span,
        case_sensitive: bool,
    },
    /// `{…}`.
    Braced {
        inner: Span,
    },
    Field {
        name: Span,
        value: FieldValue,
    },
    /// `~n`; `None` when no number follows.
    Tilde {
        distance: Option<u32>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Lexeme {
    pub kind: LexKind,
    pub span: Span,
    /// White space or a comment comes right before it.
    pub space_before: bool,
}

impl Lexeme {
    /// Starts an operand (a term, a field or a group).
    pub fn starts_operand(&self) -> bool {
        matches!(
            self.kind,
            LexKind::LParen
                | LexKind::Word { .. }
                | LexKind::Quoted { .. }
                | LexKind::Braced { .. }
                | LexKind::Field { .. }
        )
    }

    /// Ends an operand.
    pub fn ends_operand(&self) -> bool {
        matches!(
            self.kind,
            LexKind::RParen
                | LexKind::Word { .. }
                | LexKind::Quoted { .. }
                | LexKind::Braced { .. }
                | LexKind::Field { .. }
                | LexKind::Tilde { .. }
        )
    }
}

pub(crate) fn lex(query: &str, diagnostics: &mut Vec<Diagnostic>) -> Vec<Lexeme> {
    let mut lexer = Lexer {
        query,
        pos: 0,
        diagnostics,
        out: Vec::new(),
    };
    lexer.run();
    lexer.out
}

struct Lexer<'q, 'd> {
    query: &'q str,
    pos: usize,
    diagnostics: &'d mut Vec<Diagnostic>,
    out: Vec<Lexeme>,
}

/// Characters that end a bare word.
fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"' | '~' | '{' | '}')
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic()
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The number of a proximity operator, or why it is not one.
fn parse_distance(digits: &str) -> Result<u32, &'static str> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("needs a whole number");
    }
    digits
        .parse::<u32>()
        .map_err(|_| "has a number that is too large")
}

impl<'q> Lexer<'q, '_> {
    fn rest(&self) -> &'q str {
        &self.query[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn error(&mut self, code: Code, span: Span, message: String) {
        self.diagnostics.push(Diagnostic::new(code, message, span));
    }

    fn push(&mut self, kind: LexKind, start: usize, space_before: bool) {
        self.out.push(Lexeme {
            kind,
            span: Span::new(start, self.pos),
            space_before,
        });
    }

    /// Skips white space and comments; says whether there were any.
    fn skip_space(&mut self) -> bool {
        let mut skipped = false;
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            if trimmed.len() != rest.len() {
                self.pos += rest.len() - trimmed.len();
                skipped = true;
                continue;
            }
            if let Some(comment) = rest.strip_prefix("<<<") {
                let start = self.pos;
                match comment.find(">>>") {
                    Some(i) => self.pos += 3 + i + 3,
                    None => {
                        self.pos = self.query.len();
                        self.error(
                            Code::UnclosedComment,
                            Span::new(start, start + 3),
                            "this comment is never closed: add >>> where it ends".into(),
                        );
                    }
                }
                skipped = true;
                continue;
            }
            return skipped;
        }
    }

    fn run(&mut self) {
        loop {
            let space_before = self.skip_space() || self.pos == 0;
            let Some(c) = self.peek() else { return };
            let start = self.pos;
            match c {
                '(' => {
                    self.pos += 1;
                    self.push(LexKind::LParen, start, space_before);
                }
                ')' => {
                    self.pos += 1;
                    self.push(LexKind::RParen, start, space_before);
                }
                '"' => self.quoted(start, start, false, space_before),
                '+' if self.rest().starts_with("++\"") => {
                    self.quoted(start, start + 2, true, space_before)
                }
                '+' if self.rest().starts_with("+\"") => {
                    self.quoted(start, start + 1, false, space_before)
                }
                '{' => self.braced(start, space_before),
                '}' => {
                    self.pos += 1;
                    self.error(
                        Code::UnbalancedBrace,
                        Span::new(start, self.pos),
                        "this } has no matching {".into(),
                    );
                }
                '~' => self.tilde(start, space_before),
                _ => self.word(start, space_before),
            }
        }
    }

    /// `"…"` starting at `start`, with the opening quote at `quote`.
    fn quoted(&mut self, start: usize, quote: usize, case_sensitive: bool, space_before: bool) {
        let open = quote + 1;
        let inner = match self.query[open..].find('"') {
            Some(i) => {
                self.pos = open + i + 1;
                Span::new(open, open + i)
            }
            None => {
                self.pos = self.query.len();
                self.error(
                    Code::UnbalancedQuote,
                    Span::new(quote, open),
                    "this quote is never closed: add a closing \"".into(),
                );
                Span::new(open, self.query.len())
            }
        };
        self.push(
            LexKind::Quoted {
                inner,
                case_sensitive,
            },
            start,
            space_before,
        );
    }

    fn braced(&mut self, start: usize, space_before: bool) {
        let open = start + 1;
        let inner = match self.query[open..].find('}') {
            Some(i) => {
                self.pos = open + i + 1;
                Span::new(open, open + i)
            }
            None => {
                self.pos = self.query.len();
                self.error(
                    Code::UnbalancedBrace,
                    Span::new(start, open),
                    "this { is never closed: add a closing }".into(),
                );
                Span::new(open, self.query.len())
            }
        };
        self.push(LexKind::Braced { inner }, start, space_before);
    }

    /// `~n`. `apple~ 5` and a missing number are reported here; `apple ~5` by the parser,
    /// which knows what comes before.
    fn tilde(&mut self, start: usize, space_before: bool) {
        self.pos += 1;
        let digits_len = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        let mut distance = None;
        if digits_len > 0 {
            let digits = &self.query[self.pos..self.pos + digits_len];
            self.pos += digits_len;
            match parse_distance(digits) {
                Ok(n) => distance = Some(n),
                Err(why) => self.error(
                    Code::BadProximity,
                    Span::new(start, self.pos),
                    format!("~ {why}"),
                ),
            }
        } else {
            let trimmed = self.rest().trim_start();
            let spaces = self.rest().len() - trimmed.len();
            let after_space = trimmed.bytes().take_while(u8::is_ascii_digit).count();
            if spaces > 0 && after_space > 0 {
                let digits = &trimmed[..after_space];
                let n = parse_distance(digits).ok();
                self.pos += spaces + after_space;
                self.error(
                    Code::BadProximity,
                    Span::new(start, self.pos),
                    format!(
                        "no space is allowed between ~ and its number: write ~{digits} right after the phrase"
                    ),
                );
                distance = n;
                // Reported once: the lexeme carries the number so the parser stays quiet.
                self.push(LexKind::Tilde { distance }, start, space_before);
                return;
            }
            self.error(
                Code::BadProximity,
                Span::new(start, self.pos),
                "~ needs a number right after it, as in \"apple juice\"~5".into(),
            );
        }
        self.push(LexKind::Tilde { distance }, start, space_before);
    }

    fn word(&mut self, start: usize, space_before: bool) {
        // A field name directly followed by its colon?
        let ident_len = self
            .rest()
            .char_indices()
            .take_while(|&(i, c)| {
                if i == 0 {
                    is_ident_start(c)
                } else {
                    is_ident(c)
                }
            })
            .count();
        if ident_len > 0 {
            let name = Span::new(start, start + ident_len);
            let after = &self.query[name.end..];
            if after.starts_with(':') && FieldName::lookup(name.text(self.query)).is_some() {
                self.pos = name.end + 1;
                self.field(start, name, space_before);
                return;
            }
            // `author :kim`: a known field name, then space, then the colon.
            let trimmed = after.trim_start();
            let next_ends_word = after.chars().next().is_none_or(char::is_whitespace);
            if next_ends_word
                && trimmed.starts_with(':')
                && FieldName::lookup(name.text(self.query)).is_some()
            {
                let colon = self.query.len() - trimmed.len();
                self.error(
                    Code::SpaceBeforeColon,
                    Span::new(name.end, colon),
                    format!(
                        "no space is allowed before the colon: write {}:",
                        name.text(self.query)
                    ),
                );
                self.pos = colon + 1;
                self.field(start, name, space_before);
                return;
            }
        }
        let len = self
            .rest()
            .char_indices()
            .find(|&(i, c)| ends_word(c) || (i > 0 && self.rest()[i..].starts_with("<<<")))
            .map_or(self.rest().len(), |(i, _)| i);
        let len = len.max(self.peek().map_or(0, char::len_utf8));
        self.pos = start + len;
        let text = &self.query[start..self.pos];
        let kind = match text {
            "AND" => LexKind::And,
            "OR" => LexKind::Or,
            "NOT" => LexKind::Not,
            "SENTENCE" => LexKind::Prox(ProxOp::Sentence { ordered: false }),
            "OSENTENCE" => LexKind::Prox(ProxOp::Sentence { ordered: true }),
            _ if text.starts_with("NEAR/") || text.starts_with("ONEAR/") || text == "NEAR" => {
                LexKind::Prox(self.near(text, Span::new(start, self.pos)))
            }
            _ => LexKind::Word {
                lowercase_op: matches!(text.to_ascii_lowercase().as_str(), "and" | "or" | "not"),
            },
        };
        self.push(kind, start, space_before);
    }

    fn near(&mut self, text: &str, span: Span) -> ProxOp {
        let onear = text.starts_with("ONEAR");
        let spec = text.split_once('/').map_or("", |(_, s)| s);
        let (digits, ordered) = match spec.strip_suffix(['f', 'F']) {
            Some(d) if !onear => (d, true),
            _ => (spec, onear),
        };
        let distance = match parse_distance(digits) {
            Ok(n) => n,
            Err(why) => {
                let op = if onear { "ONEAR" } else { "NEAR" };
                self.error(
                    Code::BadProximity,
                    span,
                    format!("{op} {why}: write it as {op}/5"),
                );
                0
            }
        };
        ProxOp::Near { distance, ordered }
    }

    /// The value of a field whose colon has just been passed.
    fn field(&mut self, start: usize, name: Span, space_before: bool) {
        let value = self.field_value();
        self.push(LexKind::Field { name, value }, start, space_before);
    }

    fn field_value(&mut self) -> FieldValue {
        let colon_end = self.pos;
        let trimmed = self.rest().trim_start();
        let value_start = self.query.len() - trimmed.len();
        let Some(c) = trimmed.chars().next() else {
            return FieldValue::Missing;
        };
        match c {
            ')' | '(' => FieldValue::Missing,
            '"' => {
                let open = value_start + 1;
                match self.query[open..].find('"') {
                    Some(i) => {
                        self.pos = open + i + 1;
                        FieldValue::Quoted(Span::new(open, open + i))
                    }
                    None => {
                        self.pos = self.query.len();
                        self.error(
                            Code::UnbalancedQuote,
                            Span::new(value_start, open),
                            "this quote is never closed: add a closing \"".into(),
                        );
                        FieldValue::Quoted(Span::new(open, self.query.len()))
                    }
                }
            }
            '[' => self.range(value_start),
            _ => {
                let len = trimmed
                    .char_indices()
                    .find(|&(_, c)| c.is_whitespace() || matches!(c, '(' | ')' | '"'))
                    .map_or(trimmed.len(), |(i, _)| i);
                let word = &trimmed[..len];
                let is_operator = matches!(word, "AND" | "OR" | "NOT" | "SENTENCE" | "OSENTENCE")
                    || word.starts_with("NEAR/")
                    || word.starts_with("ONEAR/");
                if is_operator && value_start > colon_end {
                    return FieldValue::Missing;
                }
                self.pos = value_start + len;
                FieldValue::Word(Span::new(value_start, value_start + len))
            }
        }
    }

    /// `[low TO high]`, with the `[` at `open`.
    fn range(&mut self, open: usize) -> FieldValue {
        let inner_start = open + 1;
        let close = self.query[inner_start..].find(']');
        let inner_end = close.map_or(self.query.len(), |i| inner_start + i);
        self.pos = close.map_or(self.query.len(), |_| inner_end + 1);
        let whole = Span::new(open, self.pos);
        if close.is_none() {
            self.error(
                Code::BadFieldValue,
                Span::new(open, inner_start),
                "this range is never closed: write it as [1 TO 5]".into(),
            );
        }
        let parts = Span::new(inner_start, inner_end).words(self.query);
        let empty = Span::new(inner_end, inner_end);
        match parts.as_slice() {
            [low, to, high] => FieldValue::Range {
                low: *low,
                to: Some(*to),
                high: *high,
                whole,
            },
            [low, high] => FieldValue::Range {
                low: *low,
                to: None,
                high: *high,
                whole,
            },
            [low] => FieldValue::Range {
                low: *low,
                to: None,
                high: empty,
                whole,
            },
            _ => FieldValue::Range {
                low: empty,
                to: None,
                high: empty,
                whole,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(q: &str) -> Vec<LexKind> {
        let mut d = Vec::new();
        lex(q, &mut d).into_iter().map(|l| l.kind).collect()
    }

    fn texts(q: &str) -> Vec<&str> {
        let mut d = Vec::new();
        lex(q, &mut d).into_iter().map(|l| l.span.text(q)).collect()
    }

    #[test]
    fn operators_only_in_upper_case() {
        assert_eq!(
            kinds("a AND b and c NEAR/3f d ONEAR/2 e NEAR/4"),
            [
                LexKind::Word {
                    lowercase_op: false
                },
                LexKind::And,
                LexKind::Word {
                    lowercase_op: false
                },
                LexKind::Word { lowercase_op: true },
                LexKind::Word {
                    lowercase_op: false
                },
                LexKind::Prox(ProxOp::Near {
                    distance: 3,
                    ordered: true
                }),
                LexKind::Word {
                    lowercase_op: false
                },
                LexKind::Prox(ProxOp::Near {
                    distance: 2,
                    ordered: true
                }),
                LexKind::Word {
                    lowercase_op: false
                },
                LexKind::Prox(ProxOp::Near {
                    distance: 4,
                    ordered: false
                }),
            ]
        );
    }

    #[test]
    fn words_stop_at_parentheses_quotes_and_tilde() {
        assert_eq!(
            texts(r#"(apple)~3 "a b"~2 x"y" {BT} <<<note>>> z"#),
            [
                "(", "apple", ")", "~3", "\"a b\"", "~2", "x", "\"y\"", "{BT}", "z"
            ]
        );
    }

    #[test]
    fn fields_with_quotes_ranges_and_space_after_colon() {
        let q = r#"author:  brandwatch title:"a b" rating:[1 TO 5] https://x.com/"#;
        assert_eq!(
            texts(q),
            [
                "author:  brandwatch",
                "title:\"a b\"",
                "rating:[1 TO 5]",
                "https://x.com/"
            ]
        );
    }

    #[test]
    fn a_field_before_an_operator_has_no_value() {
        let mut d = Vec::new();
        let lexemes = lex("author: AND x", &mut d);
        assert!(matches!(
            lexemes[0].kind,
            LexKind::Field {
                value: FieldValue::Missing,
                ..
            }
        ));
        assert_eq!(lexemes[1].kind, LexKind::And);
    }
}
