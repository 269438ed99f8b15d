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
use super::{Expr, Field, Parsed, ProxOp, Span, Term, TermKind};
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

/// What a level has read so far.
#[derive(Default)]
struct LevelState {
    items: Vec<Expr>,
    /// The first connector's kind; the other one may not appear.
    joint: Option<Joint>,
    mixed_reported: bool,
    /// The connector read since the last item, not yet followed by one.
    pending: Option<(Joint, Span)>,
}

/// What [`Parser::level`] does next.
enum Step {
    Done,
    Again,
    Not(Span),
    Operand,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Lexeme> {
        self.lexemes.get(self.pos)
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

    // The functions that recurse (level → prox → postfix → primary → group → level) keep
    // their own frames small: everything else, messages above all, is done in helpers that
    // return before the recursion goes on. Unoptimised builds give every temporary its own
    // stack slot, and MAX_DEPTH levels must fit in a 2 MiB thread stack even there.

    /// One level of AND or OR, up to a `)` or the end.
    fn level(&mut self, depth: usize) -> Option<Expr> {
        let mut st = LevelState::default();
        loop {
            match self.level_step(&mut st) {
                Step::Done => break,
                Step::Again => {}
                Step::Not(not_span) => {
                    let inner = self.not_operand(not_span, depth);
                    self.push_not(&mut st, not_span, inner);
                }
                Step::Operand => {
                    let before = self.pos;
                    let item = self.prox(depth);
                    self.push_operand(&mut st, item, before);
                }
            }
        }
        self.finish_level(st)
    }

    /// Reads connectors and misplaced lexemes up to the next operand or NOT.
    fn level_step(&mut self, st: &mut LevelState) -> Step {
        let Some(lexeme) = self.peek() else {
            return Step::Done;
        };
        let (kind, span) = (lexeme.kind.clone(), lexeme.span);
        match kind {
            LexKind::RParen => Step::Done,
            LexKind::And | LexKind::Or => {
                self.pos += 1;
                let this = if kind == LexKind::And {
                    Joint::And
                } else {
                    Joint::Or
                };
                let word = self.op_text(span);
                if let Some((_, before)) = st.pending {
                    let prev = self.op_text(before);
                    self.error(
                        Code::MissingOperand,
                        span,
                        format!("{prev} is followed by {word}: put a word or group between them"),
                    );
                } else {
                    if st.items.is_empty() {
                        self.error(
                            Code::MissingOperand,
                            span,
                            format!("{word} needs a word or group before it"),
                        );
                    }
                    st.pending = Some((this, span));
                }
                Step::Again
            }
            LexKind::Prox(_) => {
                self.pos += 1;
                let word = self.op_text(span);
                self.error(
                    Code::MissingOperand,
                    span,
                    format!("{word} needs a word or group before it"),
                );
                Step::Again
            }
            LexKind::Tilde { distance } => {
                self.pos += 1;
                if distance.is_some() {
                    self.error(
                        Code::BadProximity,
                        span,
                        "~ must follow a phrase or a group directly, with no space: \"apple juice\"~5".into(),
                    );
                }
                Step::Again
            }
            LexKind::Not => {
                self.pos += 1;
                Step::Not(span)
            }
            _ => Step::Operand,
        }
    }

    fn push_not(&mut self, st: &mut LevelState, not_span: Span, inner: Option<Expr>) {
        let connector = match st.pending.take() {
            Some(c) => Some(c),
            None if !st.items.is_empty() => Some((Joint::And, not_span)),
            None => None,
        };
        if let Some((j, span)) = connector {
            self.join(st, j, span);
        }
        if let Some(inner) = inner {
            let span = not_span.to(inner.span());
            st.items.push(Expr::Not {
                inner: Box::new(inner),
                span,
            });
        }
    }

    fn push_operand(&mut self, st: &mut LevelState, item: Option<Expr>, before: usize) {
        let Some(item) = item else {
            if self.pos == before {
                self.pos += 1;
            } else {
                // Something was there (and has been reported): the connector has its operand.
                st.pending = None;
            }
            return;
        };
        // No connector after an item: an implicit AND.
        match st.pending.take() {
            Some((j, span)) => self.join(st, j, span),
            None if !st.items.is_empty() => {
                self.error(
                    Code::ImplicitAnd,
                    item.span(),
                    "nothing joins this to what comes before, so both are required (AND): write AND or OR to say which".into(),
                );
                self.join(st, Joint::And, item.span());
            }
            None => {}
        }
        st.items.push(item);
    }

    fn finish_level(&mut self, mut st: LevelState) -> Option<Expr> {
        if let Some((_, span)) = st.pending {
            let word = self.op_text(span);
            self.error(
                Code::MissingOperand,
                span,
                format!("{word} needs a word or group after it"),
            );
        }
        match st.items.len() {
            0 => None,
            1 => st.items.pop(),
            _ => {
                let span = st.items[0].span().to(st.items[st.items.len() - 1].span());
                let items = st.items;
                // A mixed level is reported once; built as AND it raises no further noise.
                Some(match st.joint {
                    Some(Joint::Or) if !st.mixed_reported => Expr::Or { items, span },
                    _ => Expr::And { items, span },
                })
            }
        }
    }

    fn join(&mut self, st: &mut LevelState, this: Joint, span: Span) {
        match st.joint {
            None => st.joint = Some(this),
            Some(first) if first != this && !st.mixed_reported => {
                st.mixed_reported = true;
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
        if self.not_operand_ok(not_span) {
            self.prox(depth)
        } else {
            None
        }
    }

    fn not_operand_ok(&mut self, not_span: Span) -> bool {
        match self.peek() {
            Some(Lexeme {
                kind: LexKind::Not,
                span,
                ..
            }) => {
                let span = *span;
                self.error(
                    Code::MissingOperand,
                    span,
                    "NOT is followed by another NOT: put a word or group after the first one"
                        .into(),
                );
                false
            }
            Some(l) if starts_prox(&l.kind) => true,
            _ => {
                self.error(
                    Code::MissingOperand,
                    not_span,
                    "NOT needs a word or group after it".into(),
                );
                false
            }
        }
    }

    /// Operands joined by proximity operators, left to right.
    fn prox(&mut self, depth: usize) -> Option<Expr> {
        let mut left = self.postfix(depth)?;
        let mut chain = 0usize;
        while let Some((op, op_span)) = self.prox_operator() {
            let right = if self.at_operand() {
                self.postfix(depth)
            } else {
                None
            };
            chain += 1;
            left = match self.prox_join(left, right, op, op_span, depth + chain) {
                Ok(joined) => joined,
                Err(left) => return Some(left),
            };
        }
        Some(left)
    }

    /// Reads a proximity operator, reporting a NOT right after it.
    fn prox_operator(&mut self) -> Option<(ProxOp, Span)> {
        let Some(Lexeme {
            kind: LexKind::Prox(op),
            span: op_span,
            ..
        }) = self.peek()
        else {
            return None;
        };
        let (op, op_span) = (*op, *op_span);
        self.pos += 1;
        if let Some(Lexeme {
            kind: LexKind::Not,
            span,
            ..
        }) = self.peek()
        {
            let not = *span;
            let word = self.op_text(op_span);
            self.error(
                Code::BadProximityOperand,
                not,
                format!(
                    "NOT cannot be used inside {word}: put it outside, as in (a {word} b) NOT c"
                ),
            );
            self.pos += 1;
        }
        Some((op, op_span))
    }

    fn at_operand(&self) -> bool {
        self.peek().is_some_and(|l| starts_prox(&l.kind))
    }

    /// `left op right`, or `left` back (as the error) when that cannot be built.
    fn prox_join(
        &mut self,
        left: Expr,
        right: Option<Expr>,
        op: ProxOp,
        op_span: Span,
        depth: usize,
    ) -> Result<Expr, Expr> {
        let word = self.op_text(op_span);
        let Some(right) = right else {
            self.error(
                Code::MissingOperand,
                op_span,
                format!("{word} needs a word or group after it"),
            );
            return Err(left);
        };
        if depth > MAX_DEPTH {
            self.error(
                Code::TooDeep,
                op_span,
                format!("too many {word} in a row: at most {MAX_DEPTH} are allowed"),
            );
            return Err(left);
        }
        let span = left.span().to(right.span());
        Ok(Expr::Prox {
            left: Box::new(left),
            right: Box::new(right),
            op,
            op_span,
            span,
        })
    }

    /// A primary with an optional `~n` right after it.
    fn postfix(&mut self, depth: usize) -> Option<Expr> {
        let expr = self.primary(depth)?;
        Some(self.tildes(expr))
    }

    fn tildes(&mut self, mut expr: Expr) -> Expr {
        let mut tilded = false;
        while let Some(Lexeme {
            kind: LexKind::Tilde { distance },
            span,
            space_before,
        }) = self.peek()
        {
            let (distance, span, space_before) = (*distance, *span, *space_before);
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
        expr
    }

    fn primary(&mut self, depth: usize) -> Option<Expr> {
        let open = self.peek()?.span;
        if self.peek()?.kind == LexKind::LParen {
            self.pos += 1;
            self.group(open, depth)
        } else {
            self.atom()
        }
    }

    /// A term or a field.
    fn atom(&mut self) -> Option<Expr> {
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
            _ => {
                // Not an operand: the callers only come here at an operand.
                self.pos -= 1;
                None
            }
        }
    }

    fn group(&mut self, open: Span, depth: usize) -> Option<Expr> {
        if depth >= MAX_DEPTH {
            self.too_deep(open);
            return None;
        }
        let errors_before = self.diagnostics.len();
        let inner = self.level(depth + 1);
        self.close_group(open, inner, errors_before)
    }

    fn too_deep(&mut self, open: Span) {
        self.error(
            Code::TooDeep,
            open,
            format!("parentheses are nested too deep: at most {MAX_DEPTH} levels are allowed"),
        );
        self.skip_group();
    }

    fn close_group(
        &mut self,
        open: Span,
        inner: Option<Expr>,
        errors_before: usize,
    ) -> Option<Expr> {
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
                    items
                        .iter()
                        .map(|i| show(q, i))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                Expr::Or { items, .. } => format!(
                    "(or {})",
                    items
                        .iter()
                        .map(|i| show(q, i))
                        .collect::<Vec<_>>()
                        .join(" ")
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
        assert_eq!(
            tree("a SENTENCE b OSENTENCE c"),
            "(osentence (sentence a b) c)"
        );
    }

    #[test]
    fn every_node_has_its_byte_span() {
        let q = r#"x OR (apple NEAR/3 "pie crust")~2 OR site:a.com"#;
        let Some(Expr::Or { items, span }) = parse(q).root else {
            panic!("an OR");
        };
        assert_eq!(span.text(q), q);
        let spans: Vec<&str> = items.iter().map(|i| i.span().text(q)).collect();
        assert_eq!(
            spans,
            ["x", r#"(apple NEAR/3 "pie crust")~2"#, "site:a.com"]
        );
        let Expr::Tilde {
            inner, distance, ..
        } = &items[1]
        else {
            panic!("a tilde");
        };
        assert_eq!(*distance, 2);
        let Expr::Prox {
            left,
            right,
            op_span,
            ..
        } = inner.ungrouped()
        else {
            panic!("a NEAR");
        };
        assert_eq!(
            (left.span().text(q), op_span.text(q), right.span().text(q)),
            ("apple", "NEAR/3", r#""pie crust""#)
        );
        let Expr::Term(Term { inner, kind, .. }) = right.as_ref() else {
            panic!("a phrase");
        };
        assert_eq!((*kind, inner.text(q)), (TermKind::Phrase, "pie crust"));
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
