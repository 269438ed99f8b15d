//! Recursive descent over the lexemes, one function per precedence level:
//!
//! ```text
//! level    := item (connector item)*        connector: AND | OR | NOT (= AND NOT) | nothing (implicit AND)
//! item     := NOT prox | prox
//! prox     := postfix ((NEAR/n | NEAR/nf | ONEAR/n | SENTENCE | OSENTENCE) postfix)*
//! postfix  := primary ("~" n)?
//! primary  := term | field | "(" level ")"
//! ```
//!
//! AND and OR may not be mixed within one level; NOT binds to the `prox` that follows it.
//! Nesting is capped at [`MAX_DEPTH`] so no input can exhaust the stack.

use super::lexer::{LexKind, Lexeme, lex};
use super::{Expr, Field, Parsed, Span, Term, TermKind};
use crate::lint::{Code, Diagnostic};

/// Deepest nesting of groups and proximity chains a query may have.
pub const MAX_DEPTH: usize = 256;

/// Parses a query into its tree, collecting every problem found on the way.
pub fn parse(query: &str) -> Parsed {
    let mut diagnostics = Vec::new();
    let lexemes = lex(query, &mut diagnostics);
    let mut parser = Parser {
        query,
        lexemes,
        pos: 0,
        diagnostics,
    };
    let root = parser.top();
    Parsed {
        root,
        diagnostics: parser.diagnostics,
    }
}

struct Parser<'q> {
    query: &'q str,
    lexemes: Vec<Lexeme>,
    pos: usize,
    diagnostics: Vec<Diagnostic>,
}

/// How two items of a level are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Joint {
    And,
    Or,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Lexeme> {
        self.lexemes.get(self.pos)
    }

    fn peek_kind(&self) -> Option<&LexKind> {
        self.peek().map(|l| &l.kind)
    }

    fn next(&mut self) -> Option<Lexeme> {
        let lexeme = self.lexemes.get(self.pos).cloned();
        if lexeme.is_some() {
            self.pos += 1;
        }
        lexeme
    }

    fn error(&mut self, code: Code, span: Span, message: String) {
        self.diagnostics.push(Diagnostic::new(code, message, span));
    }

    fn op_text(&self, span: Span) -> String {
        span.text(self.query).to_string()
    }

    fn top(&mut self) -> Option<Expr> {
        if self.lexemes.is_empty() {
            if !self
                .diagnostics
                .iter()
                .any(|d| d.code == Code::UnclosedComment.as_str())
            {
                self.error(
                    Code::EmptyQuery,
                    Span::new(0, self.query.len()),
                    "the query is empty: write at least one word to look for".into(),
                );
            }
            return None;
        }
        let mut parts = Vec::new();
        loop {
            if let Some(e) = self.level(0) {
                parts.push(e);
            }
            match self.next() {
                None => break,
                Some(stray) => self.error(
                    Code::UnbalancedParenthesis,
                    stray.span,
                    "this ) has no matching (: remove it or add a ( before it".into(),
                ),
            }
        }
        match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => {
                let span = parts[0].span().to(parts[parts.len() - 1].span());
                Some(Expr::And { items: parts, span })
            }
        }
    }

    /// One level of AND or OR, up to a `)` or the end.
    fn level(&mut self, depth: usize) -> Option<Expr> {
        let mut items: Vec<Expr> = Vec::new();
        let mut joint: Option<Joint> = None;
        let mut mixed_reported = false;
        // The connector read since the last item, not yet followed by one.
        let mut pending: Option<(Joint, Span)> = None;
        loop {
            let Some(lexeme) = self.peek().cloned() else {
                break;
            };
            match lexeme.kind {
                LexKind::RParen => break,
                LexKind::And | LexKind::Or => {
                    self.pos += 1;
                    let this = if lexeme.kind == LexKind::And {
                        Joint::And
                    } else {
                        Joint::Or
                    };
                    let word = self.op_text(lexeme.span);
                    if let Some((_, before)) = pending {
                        let prev = self.op_text(before);
                        self.error(
                            Code::MissingOperand,
                            lexeme.span,
                            format!("{prev} is followed by {word}: put a word or group between them"),
                        );
                    } else if items.is_empty() {
                        self.error(
                            Code::MissingOperand,
                            lexeme.span,
                            format!("{word} needs a word or group before it"),
                        );
                        pending = Some((this, lexeme.span));
                    } else {
                        pending = Some((this, lexeme.span));
                    }
                }
                LexKind::Prox(_) => {
                    self.pos += 1;
                    let word = self.op_text(lexeme.span);
                    self.error(
                        Code::MissingOperand,
                        lexeme.span,
                        format!("{word} needs a word or group before it"),
                    );
                }
                LexKind::Tilde { distance } => {
                    self.pos += 1;
                    if distance.is_some() {
                        self.error(
                            Code::BadProximity,
                            lexeme.span,
                            "~ must follow a phrase or a group directly, with no space: \"apple juice\"~5".into(),
                        );
                    }
                }
                LexKind::Not => {
                    self.pos += 1;
                    let connector = match pending.take() {
                        Some((j, span)) => Some((j, span)),
                        None if !items.is_empty() => Some((Joint::And, lexeme.span)),
                        None => None,
                    };
                    let inner = self.not_operand(lexeme.span, depth);
                    if let Some((j, span)) = connector {
                        self.join(&mut joint, j, span, &mut mixed_reported);
                    }
                    if let Some(inner) = inner {
                        let span = lexeme.span.to(inner.span());
                        items.push(Expr::Not {
                            inner: Box::new(inner),
                            span,
                        });
                    }
                }
                _ => {
                    // No connector after an item: an implicit AND, warned about below.
                    let connector = pending.take();
                    let implicit = connector.is_none() && !items.is_empty();
                    let before = self.pos;
                    let Some(item) = self.prox(depth) else {
                        if self.pos == before {
                            self.pos += 1;
                        }
                        continue;
                    };
                    if implicit {
                        self.error(
                            Code::ImplicitAnd,
                            item.span(),
                            "nothing joins this to what comes before, so both are required (AND): write AND or OR to say which".into(),
                        );
                        self.join(&mut joint, Joint::And, item.span(), &mut mixed_reported);
                    } else if let Some((j, span)) = connector {
                        self.join(&mut joint, j, span, &mut mixed_reported);
                    }
                    items.push(item);
                }
            }
        }
        if let Some((_, span)) = pending {
            let word = self.op_text(span);
            self.error(
                Code::MissingOperand,
                span,
                format!("{word} needs a word or group after it"),
            );
        }
        match items.len() {
            0 => None,
            1 => items.pop(),
            _ => {
                let span = items[0].span().to(items[items.len() - 1].span());
                Some(match joint {
                    Some(Joint::Or) => Expr::Or { items, span },
                    _ => Expr::And { items, span },
                })
            }
        }
    }

    fn join(&mut self, joint: &mut Option<Joint>, this: Joint, span: Span, reported: &mut bool) {
        match *joint {
            None => *joint = Some(this),
            Some(first) if first != this && !*reported => {
                *reported = true;
                self.error(
                    Code::MixedAndOr,
                    span,
                    "AND and OR are mixed here: add parentheses to say which comes first, as in (a AND b) OR c or a AND (b OR c); NOT and a space between words count as AND".into(),
                );
            }
            Some(_) => {}
        }
    }

    /// What follows NOT.
    fn not_operand(&mut self, not_span: Span, depth: usize) -> Option<Expr> {
        match self.peek_kind() {
            Some(LexKind::Not) => {
                let span = self.peek().map_or(not_span, |l| l.span);
                self.error(
                    Code::MissingOperand,
                    span,
                    "NOT is followed by another NOT: put a word or group after the first one"
                        .into(),
                );
                None
            }
            Some(k) if starts_prox(k) => self.prox(depth),
            _ => {
                self.error(
                    Code::MissingOperand,
                    not_span,
                    "NOT needs a word or group after it".into(),
                );
                None
            }
        }
    }

    /// Operands joined by proximity operators, left to right.
    fn prox(&mut self, depth: usize) -> Option<Expr> {
        let mut left = self.postfix(depth)?;
        let mut chain = 0usize;
        while let Some(Lexeme {
            kind: LexKind::Prox(op),
            span: op_span,
            ..
        }) = self.peek().cloned()
        {
            self.pos += 1;
            let word = self.op_text(op_span);
            if matches!(self.peek_kind(), Some(LexKind::Not)) {
                let not = self.peek().map_or(op_span, |l| l.span);
                self.error(
                    Code::BadProximityOperand,
                    not,
                    format!(
                        "NOT cannot be used inside {word}: put it outside, as in (a {word} b) NOT c"
                    ),
                );
                self.pos += 1;
            }
            let right = match self.peek_kind() {
                Some(k) if starts_prox(k) => self.postfix(depth),
                _ => None,
            };
            let Some(right) = right else {
                self.error(
                    Code::MissingOperand,
                    op_span,
                    format!("{word} needs a word or group after it"),
                );
                return Some(left);
            };
            chain += 1;
            if depth + chain > MAX_DEPTH {
                self.error(
                    Code::TooDeep,
                    op_span,
                    format!("too many {word} in a row: at most {MAX_DEPTH} are allowed"),
                );
                return Some(left);
            }
            let span = left.span().to(right.span());
            left = Expr::Prox {
                left: Box::new(left),
                right: Box::new(right),
                op,
                op_span,
                span,
            };
        }
        Some(left)
    }

    /// A primary with an optional `~n` right after it.
    fn postfix(&mut self, depth: usize) -> Option<Expr> {
        let mut expr = self.primary(depth)?;
        let mut tilded = false;
        while let Some(Lexeme {
            kind: LexKind::Tilde { distance },
            span,
            space_before,
        }) = self.peek().cloned()
        {
            self.pos += 1;
            let Some(distance) = distance else { continue };
            if space_before {
                self.error(
                    Code::BadProximity,
                    span,
                    "no space is allowed before ~: write it right after the phrase, as in \"apple juice\"~5".into(),
                );
                continue;
            }
            if tilded {
                self.error(
                    Code::BadProximity,
                    span,
                    "only one ~ may follow a phrase or group".into(),
                );
                continue;
            }
            tilded = true;
            let whole = expr.span().to(span);
            expr = Expr::Tilde {
                inner: Box::new(expr),
                distance,
                span: whole,
            };
        }
        Some(expr)
    }

    fn primary(&mut self, depth: usize) -> Option<Expr> {
        let lexeme = self.next()?;
        let span = lexeme.span;
        match lexeme.kind {
            LexKind::Word { lowercase_op } => {
                if lowercase_op {
                    self.lowercase_operator(span);
                }
                Some(Expr::Term(Term {
                    kind: TermKind::Word,
                    span,
                    inner: span,
                }))
            }
            LexKind::Quoted {
                inner,
                case_sensitive,
            } => Some(Expr::Term(Term {
                kind: if case_sensitive {
                    TermKind::CaseSensitive
                } else {
                    TermKind::Phrase
                },
                span,
                inner,
            })),
            LexKind::Braced { inner } => Some(Expr::Term(Term {
                kind: TermKind::CaseSensitive,
                span,
                inner,
            })),
            LexKind::Field { name, value } => Some(Expr::Field(Field { name, value, span })),
            LexKind::LParen => self.group(span, depth),
            _ => {
                // Not an operand: the callers only come here at an operand.
                self.pos -= 1;
                None
            }
        }
    }

    fn group(&mut self, open: Span, depth: usize) -> Option<Expr> {
        if depth + 1 > MAX_DEPTH {
            self.error(
                Code::TooDeep,
                open,
                format!("parentheses are nested too deep: at most {MAX_DEPTH} levels are allowed"),
            );
            self.skip_group();
            return None;
        }
        let errors_before = self.diagnostics.len();
        let inner = self.level(depth + 1);
        let close = match self.peek() {
            Some(Lexeme {
                kind: LexKind::RParen,
                span,
                ..
            }) => {
                let span = *span;
                self.pos += 1;
                Some(span)
            }
            _ => {
                self.error(
                    Code::UnbalancedParenthesis,
                    open,
                    "this ( is never closed: add a ) where the group ends".into(),
                );
                None
            }
        };
        let end = close.map_or_else(
            || inner.as_ref().map_or(open.end, |e| e.span().end),
            |c| c.end,
        );
        let span = Span::new(open.start, end);
        match inner {
            Some(inner) => Some(Expr::Group {
                inner: Box::new(inner),
                span,
            }),
            None => {
                if self.diagnostics.len() == errors_before && close.is_some() {
                    self.error(
                        Code::EmptyGroup,
                        span,
                        "this group is empty: put words inside the parentheses or remove them"
                            .into(),
                    );
                }
                None
            }
        }
    }

    /// Skips to the `)` that closes a group whose `(` was just read, without recursion.
    fn skip_group(&mut self) {
        let mut open = 1usize;
        while let Some(l) = self.next() {
            match l.kind {
                LexKind::LParen => open += 1,
                LexKind::RParen => {
                    open -= 1;
                    if open == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// `and`, `or`, `not` written in lower case between two operands.
    fn lowercase_operator(&mut self, span: Span) {
        let before = self
            .pos
            .checked_sub(2)
            .and_then(|i| self.lexemes.get(i))
            .is_some_and(Lexeme::ends_operand);
        let after = self.peek().is_some_and(Lexeme::starts_operand);
        if before && after {
            let word = span.text(self.query);
            self.error(
                Code::LowercaseOperator,
                span,
                format!(
                    "\"{word}\" is searched for as a word; write {} in capitals if you meant the operator",
                    word.to_ascii_uppercase()
                ),
            );
        }
    }
}

fn starts_prox(kind: &LexKind) -> bool {
    matches!(
        kind,
        LexKind::LParen
            | LexKind::Word { .. }
            | LexKind::Quoted { .. }
            | LexKind::Braced { .. }
            | LexKind::Field { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::ProxOp;

    fn tree(q: &str) -> String {
        let parsed = parse(q);
        fn show(q: &str, e: &Expr) -> String {
            match e {
                Expr::Term(t) => t.inner.text(q).to_string(),
                Expr::Field(f) => f.span.text(q).to_string(),
                Expr::Group { inner, .. } => show(q, inner),
                Expr::And { items, .. } => format!(
                    "(and {})",
                    items.iter().map(|i| show(q, i)).collect::<Vec<_>>().join(" ")
                ),
                Expr::Or { items, .. } => format!(
                    "(or {})",
                    items.iter().map(|i| show(q, i)).collect::<Vec<_>>().join(" ")
                ),
                Expr::Not { inner, .. } => format!("(not {})", show(q, inner)),
                Expr::Prox {
                    left, right, op, ..
                } => {
                    let name = match op {
                        ProxOp::Near { distance, ordered } => {
                            format!("near{distance}{}", if *ordered { "f" } else { "" })
                        }
                        ProxOp::Sentence { ordered } => {
                            if *ordered { "osentence" } else { "sentence" }.to_string()
                        }
                    };
                    format!("({name} {} {})", show(q, left), show(q, right))
                }
                Expr::Tilde {
                    inner, distance, ..
                } => format!("(~{distance} {})", show(q, inner)),
            }
        }
        parsed.root.as_ref().map_or(String::new(), |r| show(q, r))
    }

    fn codes(q: &str) -> Vec<&'static str> {
        parse(q).diagnostics.iter().map(|d| d.code).collect()
    }

    #[test]
    fn precedence_near_binds_tighter_than_and_and_not_binds_to_what_follows() {
        assert_eq!(tree("a AND b NEAR/3 c"), "(and a (near3 b c))");
        assert_eq!(tree("a NOT b NEAR/2 c"), "(and a (not (near2 b c)))");
        assert_eq!(
            tree("apple NOT bitter NOT sour"),
            "(and apple (not bitter) (not sour))"
        );
        assert_eq!(tree("a AND NOT b"), "(and a (not b))");
        assert_eq!(tree("\"a b\"~3 OR c"), "(or (~3 a b) c)");
        assert_eq!(tree("(a OR b)~3"), "(~3 (or a b))");
        assert_eq!(tree("a NEAR/1 b NEAR/2f c"), "(near2f (near1 a b) c)");
        assert_eq!(tree("a SENTENCE b OSENTENCE c"), "(osentence (sentence a b) c)");
    }

    #[test]
    fn several_errors_are_reported_at_once() {
        assert_eq!(
            codes("(apple AND OR juice"),
            ["missing_operand", "unbalanced_parenthesis"]
        );
        assert_eq!(
            codes("apple AND b OR c) d"),
            ["mixed_and_or", "unbalanced_parenthesis"]
        );
    }

    #[test]
    fn nesting_is_capped_without_recursion_overflow() {
        let deep = format!("{}a{}", "(".repeat(300), ")".repeat(300));
        assert!(codes(&deep).contains(&"too_deep"));
        let ok = format!("{}a{}", "(".repeat(200), ")".repeat(200));
        assert_eq!(codes(&ok), Vec::<&str>::new());
        assert_eq!(tree(&ok), "a");
    }
}
