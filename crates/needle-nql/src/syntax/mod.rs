//! The written form of a query: a lexer that cuts the query into lexemes, and a
//! recursive-descent parser that builds the typed tree below, every node with its byte span.
//!
//! The parser never stops at the first problem: it reports what it found, skips the
//! offending piece and goes on, so `needle query lint` can show every mistake at once.

mod lexer;
mod parser;

pub use parser::{MAX_DEPTH, parse};

use crate::lint::Diagnostic;

/// A byte range in the query (or, for explanations, in the message text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    pub fn text(self, source: &str) -> &str {
        source.get(self.start..self.end).unwrap_or("")
    }

    /// The spans of the white-space separated words of `source` within this span.
    pub fn words(self, source: &str) -> Vec<Span> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, c) in self.text(source).char_indices() {
            match (c.is_whitespace(), start) {
                (true, Some(s)) => {
                    out.push(Span::new(self.start + s, self.start + i));
                    start = None;
                }
                (false, None) => start = Some(i),
                _ => {}
            }
        }
        if let Some(s) = start {
            out.push(Span::new(self.start + s, self.end));
        }
        out
    }
}

/// How a term was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermKind {
    /// A bare word: `apple`, `complain*`, `#tag`, `e-mail`, `https://www.youtube.com/`.
    Word,
    /// `"apple juice"`, or Talkwalker's `+"apple juice"` (exact match, any case).
    Phrase,
    /// `{Office}` or Talkwalker's `++"L'Oréal"`: the text must have exactly this case.
    CaseSensitive,
}

/// One term: what the text must contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub kind: TermKind,
    /// The whole term as written, quotes and braces included.
    pub span: Span,
    /// What is searched for: the word, or what is between the quotes or braces.
    pub inner: Span,
}

/// The value of a field, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// `name:value` or `name:  value`.
    Word(Span),
    /// `name:"quoted value"` (the span is between the quotes).
    Quoted(Span),
    /// `name:[low TO high]`; `to` is the span of the word between the ends (it must be `TO`).
    Range {
        low: Span,
        to: Option<Span>,
        high: Span,
        whole: Span,
    },
    /// Nothing after the colon.
    Missing,
}

/// `name:value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: Span,
    pub value: FieldValue,
    pub span: Span,
}

/// Proximity operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxOp {
    /// `NEAR/n` (any order), `NEAR/nf` and `ONEAR/n` (ordered).
    Near { distance: u32, ordered: bool },
    /// `SENTENCE`, `OSENTENCE` (ordered).
    Sentence { ordered: bool },
}

/// The query tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Term(Term),
    Field(Field),
    /// `( … )`.
    Group {
        inner: Box<Expr>,
        span: Span,
    },
    /// Explicit or implicit AND (`a AND b`, `a b`, `a NOT b` = `a AND NOT b`).
    And {
        items: Vec<Expr>,
        span: Span,
    },
    Or {
        items: Vec<Expr>,
        span: Span,
    },
    /// `NOT x`; the span includes the keyword.
    Not {
        inner: Box<Expr>,
        span: Span,
    },
    Prox {
        left: Box<Expr>,
        right: Box<Expr>,
        op: ProxOp,
        op_span: Span,
        span: Span,
    },
    /// `"a b"~n`, `(a AND b)~n`, `(a OR b)~n`.
    Tilde {
        inner: Box<Expr>,
        distance: u32,
        span: Span,
    },
}

impl Expr {
    pub fn span(&self) -> Span {
        match self {
            Expr::Term(t) => t.span,
            Expr::Field(f) => f.span,
            Expr::Group { span, .. }
            | Expr::And { span, .. }
            | Expr::Or { span, .. }
            | Expr::Not { span, .. }
            | Expr::Prox { span, .. }
            | Expr::Tilde { span, .. } => *span,
        }
    }

    /// The expression with its grouping parentheses taken off.
    pub fn ungrouped(&self) -> &Expr {
        let mut e = self;
        while let Expr::Group { inner, .. } = e {
            e = inner;
        }
        e
    }
}

/// What the parser made of a query: the tree (absent when nothing could be parsed) and the
/// problems it found on the way.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub root: Option<Expr>,
    pub diagnostics: Vec<Diagnostic>,
}
