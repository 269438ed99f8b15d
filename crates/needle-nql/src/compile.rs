//! From the query tree to a [`Query`] ready to run: every term is split and folded once here,
//! every field value checked, and every rule that needs to see the whole tree (a query that
//! can only exclude, NOT inside NEAR, `~` on one word) is enforced. Linting is this same pass
//! with the result thrown away, so what `lint` accepts is exactly what `compile` runs.

use crate::fields::{self, FieldName, FieldPred};
use crate::lint::{Code, Diagnostic, LintReport};
use crate::pattern::{Leaf, QueryToken, TokenPattern, split};
use crate::syntax::{self, Expr, FieldValue, ProxOp, Span, Term, TermKind};

/// The runnable form of a query.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Leaf(Box<Leaf>),
    /// A field condition, and how it was written (for explanations).
    Field(FieldPred, String),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Near {
        left: Box<Node>,
        right: Box<Node>,
        gap: u32,
        ordered: bool,
    },
    Sentence {
        left: Box<Node>,
        right: Box<Node>,
        ordered: bool,
    },
    /// Every item, each two at most `gap` tokens apart (`"a b c"~n`, `(a AND b)~n`).
    All {
        items: Vec<Node>,
        gap: u32,
    },
    /// Two different items at most `gap` tokens apart (`(a OR b OR c)~n`).
    AnyTwo {
        items: Vec<Node>,
        gap: u32,
    },
}

impl Node {
    /// Whether the node's matches have positions in the text.
    pub(crate) fn positional(&self) -> bool {
        match self {
            Node::Leaf(_)
            | Node::Near { .. }
            | Node::Sentence { .. }
            | Node::All { .. }
            | Node::AnyTwo { .. } => true,
            Node::Field(..) | Node::Not(_) => false,
            Node::And(items) => items.iter().any(Node::positional),
            Node::Or(items) => items.iter().all(Node::positional),
        }
    }
}

/// A condition every message matching a query meets, made of facts that are cheap to look
/// up: what a presearcher indexes queries by. It is necessary, never sufficient: a message that
/// meets it may still not match, but one that does not meet it never matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Requirement {
    /// Nothing cheap to check is known (fields, NOT, a wildcard right after `#`).
    Anything,
    /// Some token of the text folds to this, as [`crate::Document::has_folded`] sees it (tags
    /// keep their `#` or `@`).
    Term(String),
    /// Some token of the text has a folded form starting with this (a wildcard's literal
    /// start).
    Prefix(String),
    /// The author's handle, lower case, without `@`, is this.
    Author(String),
    /// Every one of these.
    All(Vec<Requirement>),
    /// At least one of these.
    Any(Vec<Requirement>),
}

impl Requirement {
    /// `All`, simplified: `Anything` items dropped, nested `All` flattened, one item unwrapped.
    pub(crate) fn all(items: Vec<Requirement>) -> Requirement {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Requirement::Anything => {}
                Requirement::All(inner) => out.extend(inner),
                other => out.push(other),
            }
        }
        out.sort();
        out.dedup();
        match out.len() {
            0 => Requirement::Anything,
            1 => out.pop().expect("one item"),
            _ => Requirement::All(out),
        }
    }

    /// `Any`, simplified: `Anything` anywhere makes it `Anything`, nested `Any` flattened, one
    /// item unwrapped.
    pub(crate) fn any(items: Vec<Requirement>) -> Requirement {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Requirement::Anything => return Requirement::Anything,
                Requirement::Any(inner) => out.extend(inner),
                other => out.push(other),
            }
        }
        out.sort();
        out.dedup();
        match out.len() {
            0 => Requirement::Anything,
            1 => out.pop().expect("one item"),
            _ => Requirement::Any(out),
        }
    }

    /// Whether a document meets the requirement (what a presearcher decides by its index).
    pub fn holds(&self, doc: &crate::Document<'_>) -> bool {
        match self {
            Requirement::Anything => true,
            Requirement::Term(t) => doc.has_folded(t),
            Requirement::Prefix(p) => doc.has_folded_prefix(p),
            Requirement::Author(a) => doc.author_key().as_deref() == Some(a.as_str()),
            Requirement::All(items) => items.iter().all(|r| r.holds(doc)),
            Requirement::Any(items) => items.iter().any(|r| r.holds(doc)),
        }
    }
}

/// A compiled query.
#[derive(Debug, Clone)]
pub struct Query {
    pub(crate) root: Node,
    source: String,
    warnings: Vec<Diagnostic>,
}

/// Compiles a query, or returns every error (and warning) found in it.
pub fn compile(query: &str) -> Result<Query, LintReport> {
    let (root, report) = analyze(query);
    match root {
        Some(root) if report.errors.is_empty() => Ok(Query {
            root,
            source: query.to_string(),
            warnings: report.warnings,
        }),
        _ => Err(report),
    }
}

/// Parses and checks a query: the runnable tree when there was no error, and the report.
pub(crate) fn analyze(query: &str) -> (Option<Node>, LintReport) {
    let parsed = syntax::parse(query);
    let mut lowering = Lowering {
        query,
        diagnostics: parsed.diagnostics,
    };
    let root = parsed.root.as_ref().and_then(|root| {
        if !matches!(root.ungrouped(), Expr::Or { .. }) && !positive(root) {
            lowering.error(
                Code::OnlyExclusions,
                root.span(),
                "this query can only exclude: add something to look for, as in apple NOT bitter"
                    .into(),
            );
        }
        lowering.lower(root)
    });
    let report = LintReport::from_diagnostics(lowering.diagnostics);
    (root.filter(|_| report.errors.is_empty()), report)
}

impl Query {
    /// The query as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Warnings about the query (it runs anyway).
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// Folded terms at least one of which every matching message contains as a token (as
    /// [`crate::Document::has_folded`] sees it), or `None` when no such set exists (a query
    /// on fields only, or a term that is all wildcards). A presearcher indexes queries by
    /// these terms and evaluates only those whose terms a message has.
    pub fn required_any_of(&self) -> Option<Vec<String>> {
        let mut terms = required(&self.root)?;
        terms.sort();
        terms.dedup();
        Some(terms)
    }

    /// What every matching message has ([`Requirement`]), in full: each AND, NEAR and phrase
    /// keeps all its parts, so a presearcher can choose which part to index by (the rarest).
    pub fn requirement(&self) -> Requirement {
        requirement(&self.root)
    }
}

fn requirement(node: &Node) -> Requirement {
    match node {
        Node::Leaf(leaf) => leaf.requirement(),
        Node::Field(FieldPred::Author(a), _) => Requirement::Author(a.clone()),
        Node::Field(..) | Node::Not(_) => Requirement::Anything,
        Node::And(items) | Node::All { items, .. } => {
            Requirement::all(items.iter().map(requirement).collect())
        }
        Node::Near { left, right, .. } | Node::Sentence { left, right, .. } => {
            Requirement::all(vec![requirement(left), requirement(right)])
        }
        Node::Or(items) | Node::AnyTwo { items, .. } => {
            Requirement::any(items.iter().map(requirement).collect())
        }
    }
}

/// Whether a match needs some positive evidence (a term or a field), not only absences.
fn positive(e: &Expr) -> bool {
    match e {
        Expr::Term(_) | Expr::Field(_) | Expr::Prox { .. } | Expr::Tilde { .. } => true,
        Expr::Group { inner, .. } => positive(inner),
        Expr::And { items, .. } => items.iter().any(positive),
        Expr::Or { items, .. } => items.iter().all(positive),
        Expr::Not { .. } => false,
    }
}

fn required(node: &Node) -> Option<Vec<String>> {
    match node {
        Node::Leaf(leaf) => leaf.required_keys().map(<[String]>::to_vec),
        Node::Field(..) | Node::Not(_) => None,
        Node::And(items) | Node::All { items, .. } => best_of(items.iter()),
        Node::Near { left, right, .. } | Node::Sentence { left, right, .. } => {
            best_of([left.as_ref(), right.as_ref()].into_iter())
        }
        Node::Or(items) | Node::AnyTwo { items, .. } => {
            let mut all = Vec::new();
            for item in items {
                all.extend(required(item)?);
            }
            Some(all)
        }
    }
}

/// Of several conditions that must all hold, the one with the fewest required terms.
fn best_of<'n>(items: impl Iterator<Item = &'n Node>) -> Option<Vec<String>> {
    items.filter_map(required).min_by_key(Vec::len)
}

struct Lowering<'q> {
    query: &'q str,
    diagnostics: Vec<Diagnostic>,
}

/// At most this many characters of a query are quoted back in a message.
const QUOTE_MAX: usize = 40;

impl Lowering<'_> {
    fn error(&mut self, code: Code, span: Span, message: String) {
        self.diagnostics.push(Diagnostic::new(code, message, span));
    }

    /// A short quotation of the query at `span`.
    fn quote(&self, span: Span) -> String {
        let text = span.text(self.query);
        if text.chars().count() <= QUOTE_MAX {
            text.to_string()
        } else {
            let cut: String = text.chars().take(QUOTE_MAX).collect();
            format!("{cut}…")
        }
    }

    /// Lowers an expression; `None` after an error (which has been reported).
    fn lower(&mut self, e: &Expr) -> Option<Node> {
        match e {
            Expr::Term(term) => self.term(term).map(|leaf| Node::Leaf(Box::new(leaf))),
            Expr::Field(field) => self.field(field),
            Expr::Group { inner, .. } => self.lower(inner),
            Expr::And { items, .. } => {
                let nodes = self.lower_all(items);
                Some(Node::And(nodes?))
            }
            Expr::Or { items, .. } => {
                for item in items {
                    if !positive(item) {
                        self.error(
                            Code::OnlyExclusions,
                            item.span(),
                            "this part of the OR can only exclude, so the OR would match almost every message: move the NOT outside, as in (a OR b) NOT c".into(),
                        );
                    }
                }
                let nodes = self.lower_all(items);
                Some(Node::Or(nodes?))
            }
            Expr::Not { inner, .. } => self.lower(inner).map(|n| Node::Not(Box::new(n))),
            Expr::Prox {
                left,
                right,
                op,
                op_span,
                ..
            } => {
                let l = self.lower(left);
                let r = self.lower(right);
                let op_text = op_span.text(self.query).to_string();
                let l = self.operand(l, left, &op_text);
                let r = self.operand(r, right, &op_text);
                let (left, right) = (Box::new(l?), Box::new(r?));
                Some(match *op {
                    ProxOp::Near { distance, ordered } => Node::Near {
                        left,
                        right,
                        gap: distance,
                        ordered,
                    },
                    ProxOp::Sentence { ordered } => Node::Sentence {
                        left,
                        right,
                        ordered,
                    },
                })
            }
            Expr::Tilde {
                inner,
                distance,
                span,
            } => self.tilde(inner, *distance, *span),
        }
    }

    fn lower_all(&mut self, items: &[Expr]) -> Option<Vec<Node>> {
        let nodes: Vec<Option<Node>> = items.iter().map(|i| self.lower(i)).collect();
        nodes.into_iter().collect()
    }

    /// Checks that an operand of a proximity operator has positions in the text.
    fn operand(&mut self, node: Option<Node>, e: &Expr, op: &str) -> Option<Node> {
        let node = node?;
        if node.positional() {
            return Some(node);
        }
        let what = self.quote(e.span());
        self.error(
            Code::BadProximityOperand,
            e.span(),
            format!(
                "{op} needs words on both sides: {what} has no place in the text (fields and NOT cannot be near anything)"
            ),
        );
        None
    }

    fn tilde(&mut self, inner: &Expr, gap: u32, span: Span) -> Option<Node> {
        let single = |this: &mut Self| {
            this.error(
                Code::ProximityOnSingleWord,
                span,
                "~ on a single word or group does nothing: it needs a phrase or a group of several words, as in \"apple juice\"~5".into(),
            );
        };
        match inner.ungrouped() {
            Expr::Term(term) if term.kind != TermKind::Word => {
                let words = self.phrase_words(term);
                if words.len() < 2 {
                    single(self);
                    return self.term(term).map(|l| Node::Leaf(Box::new(l)));
                }
                let mut items = Vec::new();
                for (display, tokens) in words {
                    items.push(Node::Leaf(Box::new(self.leaf(display, &tokens, term)?)));
                }
                Some(Node::All { items, gap })
            }
            Expr::And { items, .. } => {
                let nodes = self.lower_all(items)?;
                let (positional, filters): (Vec<Node>, Vec<Node>) =
                    nodes.into_iter().partition(Node::positional);
                if positional.len() < 2 {
                    single(self);
                    let mut all = positional;
                    all.extend(filters);
                    return Some(Node::And(all));
                }
                let near = Node::All {
                    items: positional,
                    gap,
                };
                if filters.is_empty() {
                    Some(near)
                } else {
                    let mut all = vec![near];
                    all.extend(filters);
                    Some(Node::And(all))
                }
            }
            Expr::Or { items, .. } => {
                let nodes = self.lower(inner.ungrouped());
                let Some(Node::Or(nodes)) = nodes else {
                    return nodes;
                };
                let mut ok = true;
                for (node, e) in nodes.iter().zip(items) {
                    if !node.positional() {
                        ok = false;
                        let what = self.quote(e.span());
                        self.error(
                            Code::BadProximityOperand,
                            e.span(),
                            format!("~ needs words: {what} has no place in the text"),
                        );
                    }
                }
                ok.then_some(Node::AnyTwo { items: nodes, gap })
            }
            other => {
                single(self);
                self.lower(other)
            }
        }
    }

    /// The words of a phrase (split at white space), each with its tokens.
    fn phrase_words(&self, term: &Term) -> Vec<(String, Vec<QueryToken>)> {
        let mut words = Vec::new();
        for span in term.inner.words(self.query) {
            let tokens = split(self.query, span);
            if !tokens.is_empty() {
                words.push((span.text(self.query).to_string(), tokens));
            }
        }
        words
    }

    /// A term as a leaf, with the checks on its spelling.
    fn term(&mut self, term: &Term) -> Option<Leaf> {
        if term.kind == TermKind::Word {
            self.unknown_field(term);
        }
        let tokens = split(self.query, term.inner);
        let display = term.inner.text(self.query).to_string();
        self.leaf(display, &tokens, term)
    }

    fn leaf(&mut self, display: String, tokens: &[QueryToken], term: &Term) -> Option<Leaf> {
        if tokens.is_empty() {
            let what = self.quote(term.span);
            self.error(
                Code::EmptyTerm,
                term.span,
                format!("{what} has no letters, digits or emoji to look for"),
            );
            return None;
        }
        let mut ok = true;
        for token in tokens {
            ok &= self.wildcards(token);
        }
        let case_sensitive = term.kind == TermKind::CaseSensitive;
        let patterns = tokens
            .iter()
            .map(|t| TokenPattern::new(t, case_sensitive))
            .collect();
        ok.then(|| Leaf::new(display, patterns))
    }

    /// The wildcard rules; false after an error.
    fn wildcards(&mut self, token: &QueryToken) -> bool {
        let text = token.text.as_str();
        let Some(first) = text.find(['*', '?']) else {
            return true;
        };
        let body = text.strip_prefix(['#', '@']);
        if let Some(body) = body
            && body.starts_with(['*', '?'])
        {
            let prefix = &text[..1];
            self.error(
                Code::WildcardAfterPrefix,
                token.span,
                format!(
                    "a wildcard right after {prefix} matches almost every {}: add letters before it",
                    if prefix == "#" { "hashtag" } else { "handle" }
                ),
            );
            return true;
        }
        let body = body.unwrap_or(text);
        let before = body.chars().take_while(|c| !matches!(c, '*' | '?')).count();
        if before == 0 {
            self.error(
                Code::LeadingWildcard,
                token.span,
                format!(
                    "a word cannot start with a wildcard: {text} would match too much; write the start of the word"
                ),
            );
            return false;
        }
        let after_literal = text[first..].chars().any(|c| !matches!(c, '*' | '?'));
        if before < 2 && !after_literal {
            self.error(
                Code::ShortWildcardPrefix,
                token.span,
                format!(
                    "{text} would match too many words: put at least two letters before the wildcard"
                ),
            );
            return false;
        }
        true
    }

    /// `test:case`: a word that looks like a field Needle does not know.
    fn unknown_field(&mut self, term: &Term) {
        let text = term.inner.text(self.query);
        let Some((name, value)) = text.split_once(':') else {
            return;
        };
        let is_name = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if is_name && !value.is_empty() && FieldName::lookup(name).is_none() {
            let span = Span::new(term.inner.start, term.inner.start + name.len() + 1);
            self.error(
                Code::UnknownField,
                span,
                format!("{name}: is not a field Needle knows, so {text} is searched for as text"),
            );
        }
    }

    fn field(&mut self, field: &syntax::Field) -> Option<Node> {
        let name = field.name.text(self.query);
        let display = field.span.text(self.query).to_string();
        let kind = FieldName::lookup(name)?;
        match kind {
            FieldName::Unsupported => {
                self.error(
                    Code::UnsupportedField,
                    field.name,
                    format!("{name}: is a Brandwatch field that Needle does not have: remove it"),
                );
                None
            }
            FieldName::Title => {
                let inner = match &field.value {
                    FieldValue::Word(s) | FieldValue::Quoted(s) => *s,
                    FieldValue::Range { whole, .. } => {
                        self.error(
                            Code::BadFieldValue,
                            *whole,
                            format!(
                                "{name}: takes words, not a range, as in {name}:\"refund request\""
                            ),
                        );
                        return None;
                    }
                    FieldValue::Missing => field.span,
                };
                let tokens = split(self.query, inner);
                if tokens.is_empty() || field.value == FieldValue::Missing {
                    self.error(
                        Code::BadFieldValue,
                        field.span,
                        format!("{name}: needs words to look for in the title, as in {name}:\"refund request\""),
                    );
                    return None;
                }
                let term = Term {
                    kind: TermKind::Phrase,
                    span: inner,
                    inner,
                };
                let leaf = self.leaf(inner.text(self.query).to_string(), &tokens, &term)?;
                Some(Node::Field(FieldPred::Title(Box::new(leaf)), display))
            }
            _ => match fields::predicate(self.query, kind, name, &field.value) {
                Ok(pred) => Some(Node::Field(pred, display)),
                Err((span, message)) => {
                    let span = if span == Span::default() {
                        field.span
                    } else {
                        span
                    };
                    let group_follows = self
                        .query
                        .get(field.span.end..)
                        .is_some_and(|rest| rest.trim_start().starts_with('('));
                    let message = if field.value == FieldValue::Missing && group_follows {
                        format!("{name}: takes one value, not a group: write {name}:a OR {name}:b")
                    } else {
                        message
                    };
                    self.error(Code::BadFieldValue, span, message);
                    None
                }
            },
        }
    }
}
