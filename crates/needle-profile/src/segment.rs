//! Segments: a saved condition over what Needle knows of a person, written the way an
//! analyst says it.
//!
//! ```text
//! country = DE and lifetime_value > 500 and sentiment(7d) = negative
//! tier in (gold, platinum) or events(purchase, 30d) >= 2
//! last_seen < 90d ago and not consent.email = false
//! ```
//!
//! A condition compares one *operand* with a value:
//!
//! - a trait by its name (`country`, `consent.email`), or `trait.NAME` for a trait whose
//!   name is one of the words below;
//! - `messages` (all channels) or `messages.CHANNEL`, `identities`: counts;
//! - `first_seen`, `last_seen`, `last_contact`: times, compared with `Nd ago` (or `h`, `w`)
//!   or a date (`"2026-01-31"`), or written `last_seen within 7d`;
//! - `sentiment(7d)`: the average sentiment of the last days (1 to 31, default 30), against
//!   a number or `negative` / `neutral` / `positive` (VADER's ±0.05 cut-offs);
//! - `events(KIND)` or `events(KIND, 30d)`: how many CRM events of a kind.
//!
//! Operators: `=`, `!=`, `<`, `<=`, `>`, `>=`, `in (a, b, …)`, `exists`. Conditions join with
//! `and`, `or`, `not` and parentheses. Text compares without regard to case; a number
//! compares with a trait that holds a number or a numeric string. A condition on something
//! the profile does not have is false, and `a != b` is `not a = b`, so "country != DE"
//! includes people whose country is unknown.
//!
//! Parsing reports every mistake it can find with its byte span; evaluation is pure (the
//! time is passed in).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::traits::{Activity, DAY_US, SENTIMENT_DAYS};

/// A mistake in a segment's definition, with the bytes it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentError {
    pub message: String,
    pub start: usize,
    pub end: usize,
}

/// Nesting deeper than this is refused (a definition is a few conditions, not a program).
const MAX_DEPTH: usize = 64;
/// Definitions longer than this are refused before parsing.
pub const MAX_DEFINITION: usize = 16 * 1024;
/// Below this average a profile's sentiment is negative, above its negative positive.
const SENTIMENT_CUTOFF: f64 = 0.05;
const HOUR_US: i64 = 3_600_000_000;

/// A parsed, checked segment definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    source: String,
    expr: Expr,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Cond(Cond),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Trait(String),
    Messages(Option<String>),
    Identities,
    Time(TimeField),
    /// Average over this many days.
    Sentiment(i64),
    Events {
        kind: String,
        within: Option<i64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeField {
    FirstSeen,
    LastSeen,
    LastContact,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Number(f64),
    Text(String),
    /// `7d ago`: microseconds before now.
    Ago(i64),
    /// A date: microseconds since the epoch.
    At(i64),
    Mood(Mood),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mood {
    Negative,
    Neutral,
    Positive,
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Compare(Operand, Op, Literal),
    In(Operand, Vec<Literal>),
    Exists(Operand),
}

/// What a segment is evaluated on: one profile's resolved traits, summed activity and
/// events.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub traits: &'a BTreeMap<String, Value>,
    pub activity: &'a Activity,
    /// (kind, time) of every CRM event of the profile's identities.
    pub events: &'a [(&'a str, i64)],
    pub identities: usize,
}

impl Segment {
    /// Parses and checks a definition; every error found, in order, when it is wrong.
    pub fn parse(source: &str) -> Result<Segment, Vec<SegmentError>> {
        if source.len() > MAX_DEFINITION {
            return Err(vec![SegmentError {
                message: format!(
                    "a segment definition is at most {MAX_DEFINITION} bytes; this one is {}",
                    source.len()
                ),
                start: 0,
                end: source.len(),
            }]);
        }
        let tokens = lex(source).map_err(|e| vec![e])?;
        let mut parser = Parser {
            tokens,
            at: 0,
            errors: Vec::new(),
            end: source.len(),
            depth: 0,
        };
        if parser.peek().is_none() {
            return Err(vec![SegmentError {
                message: "the definition is empty: write a condition such as `country = DE`".into(),
                start: 0,
                end: source.len(),
            }]);
        }
        let expr = parser.expr();
        if let Some(t) = parser.peek() {
            let (start, end) = (t.start, t.end);
            parser.error(
                format!(
                    "unexpected `{}`: conditions join with `and` or `or`",
                    &source[start..end]
                ),
                start,
                end,
            );
        }
        match expr {
            Some(expr) if parser.errors.is_empty() => Ok(Segment {
                source: source.to_string(),
                expr,
            }),
            _ => Err(parser.errors),
        }
    }

    /// The definition as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the passing of time alone can change the answer (`within`, `ago`,
    /// `sentiment(…)`, events in a window); such segments are re-checked on a timer.
    pub fn depends_on_time(&self) -> bool {
        fn walk(e: &Expr) -> bool {
            match e {
                Expr::And(v) | Expr::Or(v) => v.iter().any(walk),
                Expr::Not(e) => walk(e),
                Expr::Cond(c) => {
                    let (operand, literals): (&Operand, &[Literal]) = match c {
                        Cond::Compare(o, _, l) => (o, std::slice::from_ref(l)),
                        Cond::In(o, ls) => (o, ls),
                        Cond::Exists(o) => (o, &[]),
                    };
                    matches!(
                        operand,
                        Operand::Sentiment(_)
                            | Operand::Events {
                                within: Some(_),
                                ..
                            }
                    ) || literals.iter().any(|l| matches!(l, Literal::Ago(_)))
                }
            }
        }
        walk(&self.expr)
    }

    /// Whether a profile with these facts is in the segment at `now` (µs since the epoch).
    pub fn matches(&self, facts: &Facts<'_>, now: i64) -> bool {
        eval(&self.expr, facts, now)
    }
}

// ---- evaluation ----

fn eval(e: &Expr, f: &Facts<'_>, now: i64) -> bool {
    match e {
        Expr::And(v) => v.iter().all(|e| eval(e, f, now)),
        Expr::Or(v) => v.iter().any(|e| eval(e, f, now)),
        Expr::Not(e) => !eval(e, f, now),
        Expr::Cond(Cond::Exists(o)) => value_of(o, f, now).is_some(),
        Expr::Cond(Cond::Compare(o, op, l)) => {
            if *op == Op::Ne {
                return !compare(o, Op::Eq, l, f, now);
            }
            compare(o, *op, l, f, now)
        }
        Expr::Cond(Cond::In(o, ls)) => ls.iter().any(|l| compare(o, Op::Eq, l, f, now)),
    }
}

/// An operand's value for one profile; `None` when the profile does not have it.
enum Got<'a> {
    Json(&'a Value),
    Number(f64),
}

fn value_of<'a>(o: &Operand, f: &Facts<'a>, now: i64) -> Option<Got<'a>> {
    let a = f.activity;
    let count = |n: u64| Some(Got::Number(n as f64));
    match o {
        Operand::Trait(name) => f.traits.get(name).filter(|v| !v.is_null()).map(Got::Json),
        Operand::Messages(None) => count(a.total_messages()),
        Operand::Messages(Some(channel)) => count(a.messages.get(channel).copied().unwrap_or(0)),
        Operand::Identities => count(f.identities as u64),
        Operand::Time(field) => match field {
            TimeField::FirstSeen => a.first_seen,
            TimeField::LastSeen => a.last_seen,
            TimeField::LastContact => a.last_contact,
        }
        .map(|t| Got::Number(t as f64)),
        Operand::Sentiment(days) => a.average_sentiment(now, *days).map(Got::Number),
        Operand::Events { kind, within } => {
            let since = within.map_or(i64::MIN, |w| now - w);
            count(
                f.events
                    .iter()
                    .filter(|(k, at)| k.eq_ignore_ascii_case(kind) && *at >= since)
                    .count() as u64,
            )
        }
    }
}

fn compare(o: &Operand, op: Op, l: &Literal, f: &Facts<'_>, now: i64) -> bool {
    let Some(got) = value_of(o, f, now) else {
        return false;
    };
    match (got, l) {
        (Got::Number(x), Literal::Mood(m)) => {
            let mood = if x <= -SENTIMENT_CUTOFF {
                Mood::Negative
            } else if x >= SENTIMENT_CUTOFF {
                Mood::Positive
            } else {
                Mood::Neutral
            };
            (mood == *m) == (op == Op::Eq)
        }
        (Got::Number(x), Literal::Number(y)) => order(op, x.partial_cmp(y)),
        (Got::Number(x), Literal::Ago(us)) => order(op, x.partial_cmp(&((now - us) as f64))),
        (Got::Number(x), Literal::At(t)) => order(op, x.partial_cmp(&(*t as f64))),
        (Got::Json(v), Literal::Number(y)) => {
            let x = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            x.is_some_and(|x| order(op, x.partial_cmp(y)))
        }
        (Got::Json(v), Literal::Text(t)) => {
            let x = match v {
                Value::String(s) => s.to_lowercase(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                _ => return false,
            };
            order(op, Some(x.as_str().cmp(t.as_str())))
        }
        _ => false,
    }
}

fn order(op: Op, o: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    matches!(
        (op, o),
        (Op::Eq, Some(Equal))
            | (Op::Lt, Some(Less))
            | (Op::Le, Some(Less | Equal))
            | (Op::Gt, Some(Greater))
            | (Op::Ge, Some(Greater | Equal))
    )
}

// ---- lexing ----

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Number(f64),
    /// A duration in microseconds, with the number of whole days when it is whole days.
    Duration(i64),
    Text(String),
    Op(Op),
    Open,
    Close,
    Comma,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

fn lex(s: &str) -> Result<Vec<Token>, SegmentError> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = s[i..].chars().next().expect("in bounds");
        let start = i;
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        let single = |tok| Token {
            tok,
            start,
            end: start + 1,
        };
        match c {
            '(' => out.push(single(Tok::Open)),
            ')' => out.push(single(Tok::Close)),
            ',' => out.push(single(Tok::Comma)),
            '=' => out.push(single(Tok::Op(Op::Eq))),
            '!' | '<' | '>' => {
                let eq = bytes.get(i + 1) == Some(&b'=');
                let op = match (c, eq) {
                    ('!', true) => Op::Ne,
                    ('<', true) => Op::Le,
                    ('<', false) => Op::Lt,
                    ('>', true) => Op::Ge,
                    ('>', false) => Op::Gt,
                    _ => {
                        return Err(SegmentError {
                            message: "`!` on its own means nothing: write `!=` or `not`".into(),
                            start,
                            end: start + 1,
                        });
                    }
                };
                let end = start + 1 + usize::from(eq);
                out.push(Token {
                    tok: Tok::Op(op),
                    start,
                    end,
                });
                i = end;
                continue;
            }
            '"' | '\'' => {
                let mut text = String::new();
                let mut j = i + 1;
                let mut closed = false;
                while j < bytes.len() {
                    let d = s[j..].chars().next().expect("in bounds");
                    if d == c {
                        closed = true;
                        j += 1;
                        break;
                    }
                    if d == '\\' && j + 1 < bytes.len() {
                        let e = s[j + 1..].chars().next().expect("in bounds");
                        text.push(e);
                        j += 1 + e.len_utf8();
                        continue;
                    }
                    text.push(d);
                    j += d.len_utf8();
                }
                if !closed {
                    return Err(SegmentError {
                        message: format!("this text has no closing {c}"),
                        start,
                        end: s.len(),
                    });
                }
                out.push(Token {
                    tok: Tok::Text(text),
                    start,
                    end: j,
                });
                i = j;
                continue;
            }
            c if c.is_ascii_digit()
                || (c == '-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                let mut j = i + 1;
                while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b'.') {
                    j += 1;
                }
                let number = &s[i..j];
                let unit_end = j + s[j..]
                    .find(|ch: char| !ch.is_alphanumeric() && ch != '_')
                    .unwrap_or(s.len() - j);
                let unit = &s[j..unit_end];
                let value: f64 = number.parse().map_err(|_| SegmentError {
                    message: format!("`{number}` is not a number"),
                    start,
                    end: j,
                })?;
                let tok = match unit {
                    "" => Tok::Number(value),
                    "h" | "d" | "w" if value >= 0.0 && value.fract() == 0.0 => {
                        let per = match unit {
                            "h" => HOUR_US,
                            "d" => DAY_US,
                            _ => 7 * DAY_US,
                        };
                        let us = (value as i64).checked_mul(per).ok_or(SegmentError {
                            message: format!("`{}` is too long a time", &s[i..unit_end]),
                            start,
                            end: unit_end,
                        })?;
                        Tok::Duration(us)
                    }
                    _ => {
                        return Err(SegmentError {
                            message: format!(
                                "`{}` is neither a number nor a duration (write 12h, 7d or 2w)",
                                &s[i..unit_end]
                            ),
                            start,
                            end: unit_end,
                        });
                    }
                };
                out.push(Token {
                    tok,
                    start,
                    end: unit_end,
                });
                i = unit_end;
                continue;
            }
            c if c.is_alphanumeric() || c == '_' => {
                let end = i + s[i..]
                    .find(|ch: char| !(ch.is_alphanumeric() || matches!(ch, '_' | '.' | '-')))
                    .unwrap_or(s.len() - i);
                out.push(Token {
                    tok: Tok::Word(s[i..end].to_string()),
                    start,
                    end,
                });
                i = end;
                continue;
            }
            _ => {
                return Err(SegmentError {
                    message: format!("`{c}` has no meaning here"),
                    start,
                    end: start + c.len_utf8(),
                });
            }
        }
        i += 1;
    }
    Ok(out)
}

// ---- parsing ----

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    errors: Vec<SegmentError>,
    /// The length of the source, for errors at its end.
    end: usize,
    depth: usize,
}

fn is_word(t: &Token, w: &str) -> bool {
    matches!(&t.tok, Tok::Word(x) if x.eq_ignore_ascii_case(w))
}

const RESERVED: &[&str] = &["and", "or", "not", "in", "exists", "within", "ago"];

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += usize::from(t.is_some());
        t
    }

    fn error(&mut self, message: String, start: usize, end: usize) {
        self.errors.push(SegmentError {
            message,
            start,
            end,
        });
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.peek().is_some_and(|t| is_word(t, w)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// Skips to the next `and`, `or` or `)` after an error, so later mistakes are found too.
    fn recover(&mut self) {
        while let Some(t) = self.peek() {
            if is_word(t, "and") || is_word(t, "or") || t.tok == Tok::Close {
                return;
            }
            self.at += 1;
        }
    }

    fn expr(&mut self) -> Option<Expr> {
        let mut parts = vec![self.and()];
        while self.eat_word("or") {
            parts.push(self.and());
        }
        let parts: Option<Vec<Expr>> = parts.into_iter().collect();
        let mut parts = parts?;
        Some(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self) -> Option<Expr> {
        let mut parts = vec![self.unary()];
        while self.eat_word("and") {
            parts.push(self.unary());
        }
        let parts: Option<Vec<Expr>> = parts.into_iter().collect();
        let mut parts = parts?;
        Some(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn unary(&mut self) -> Option<Expr> {
        self.depth += 1;
        let out = self.unary_inner();
        self.depth -= 1;
        out
    }

    fn unary_inner(&mut self) -> Option<Expr> {
        let Some(t) = self.peek().cloned() else {
            self.error(
                "the definition ends where a condition should be".into(),
                self.end,
                self.end,
            );
            return None;
        };
        if self.depth > MAX_DEPTH {
            self.error(
                format!("conditions are nested more than {MAX_DEPTH} deep"),
                t.start,
                t.end,
            );
            self.at = self.tokens.len();
            return None;
        }
        if is_word(&t, "not") {
            self.at += 1;
            return self.unary().map(|e| Expr::Not(Box::new(e)));
        }
        if t.tok == Tok::Open {
            self.at += 1;
            let inner = self.expr();
            match self.peek() {
                Some(c) if c.tok == Tok::Close => {
                    self.at += 1;
                }
                _ => {
                    self.error("this parenthesis is never closed".into(), t.start, t.end);
                    return None;
                }
            }
            return inner;
        }
        let cond = self.condition();
        if cond.is_none() {
            self.recover();
        }
        cond.map(Expr::Cond)
    }

    fn condition(&mut self) -> Option<Cond> {
        let (operand, start, end) = self.operand()?;
        let Some(t) = self.next() else {
            self.error(
                "a condition needs an operator after this: =, !=, <, <=, >, >=, in, exists, \
                 within"
                    .into(),
                start,
                end,
            );
            return None;
        };
        let is_time = matches!(operand, Operand::Time(_));
        match &t.tok {
            Tok::Op(op) => {
                let op = *op;
                let literal = self.literal(&operand)?;
                if matches!(literal, Literal::Mood(_)) && !matches!(op, Op::Eq | Op::Ne) {
                    self.error(
                        "negative, neutral and positive compare with = or != only".into(),
                        t.start,
                        t.end,
                    );
                    return None;
                }
                Some(Cond::Compare(operand, op, literal))
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("exists") => Some(Cond::Exists(operand)),
            Tok::Word(w) if w.eq_ignore_ascii_case("within") => {
                if !is_time {
                    self.error(
                        "`within` follows first_seen, last_seen or last_contact".into(),
                        t.start,
                        t.end,
                    );
                    return None;
                }
                match self.next() {
                    Some(Token {
                        tok: Tok::Duration(us),
                        ..
                    }) => Some(Cond::Compare(operand, Op::Ge, Literal::Ago(us))),
                    other => {
                        let (s, e) = other.map_or((self.end, self.end), |o| (o.start, o.end));
                        self.error("`within` needs a duration such as 7d".into(), s, e);
                        None
                    }
                }
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("in") => {
                let open = self.next();
                if !open.as_ref().is_some_and(|o| o.tok == Tok::Open) {
                    self.error(
                        "`in` needs a list in parentheses: in (gold, platinum)".into(),
                        t.start,
                        t.end,
                    );
                    return None;
                }
                let mut values = vec![self.literal(&operand)?];
                loop {
                    match self.next() {
                        Some(Token {
                            tok: Tok::Comma, ..
                        }) => values.push(self.literal(&operand)?),
                        Some(Token {
                            tok: Tok::Close, ..
                        }) => break,
                        other => {
                            let (s, e) = other.map_or((self.end, self.end), |o| (o.start, o.end));
                            self.error("the list needs a `,` or a `)` here".into(), s, e);
                            return None;
                        }
                    }
                }
                Some(Cond::In(operand, values))
            }
            _ => {
                self.error(
                    "expected an operator here: =, !=, <, <=, >, >=, in, exists, within".into(),
                    t.start,
                    t.end,
                );
                None
            }
        }
    }

    /// The left side of a condition, with its span.
    fn operand(&mut self) -> Option<(Operand, usize, usize)> {
        let t = self.next()?;
        let Tok::Word(word) = &t.tok else {
            self.error(
                "a condition starts with a trait or a measure (country, messages, \
                 sentiment(7d), …)"
                    .into(),
                t.start,
                t.end,
            );
            return None;
        };
        let lower = word.to_lowercase();
        if RESERVED.contains(&lower.as_str()) {
            self.error(
                format!("`{word}` is a keyword; a condition starts with a trait or a measure"),
                t.start,
                t.end,
            );
            return None;
        }
        let simple = |o| Some((o, t.start, t.end));
        match lower.as_str() {
            "messages" => simple(Operand::Messages(None)),
            "identities" => simple(Operand::Identities),
            "first_seen" => simple(Operand::Time(TimeField::FirstSeen)),
            "last_seen" => simple(Operand::Time(TimeField::LastSeen)),
            "last_contact" => simple(Operand::Time(TimeField::LastContact)),
            "sentiment" => {
                let mut days = 30;
                let mut end = t.end;
                if self.peek().is_some_and(|p| p.tok == Tok::Open) {
                    self.at += 1;
                    let (us, s, e) = self.duration()?;
                    if us % DAY_US != 0 || us <= 0 || us / DAY_US > SENTIMENT_DAYS {
                        self.error(
                            format!(
                                "sentiment is kept by day for the last {SENTIMENT_DAYS} days: \
                                 write 1d to {SENTIMENT_DAYS}d"
                            ),
                            s,
                            e,
                        );
                        return None;
                    }
                    days = us / DAY_US;
                    end = self.close()?;
                }
                Some((Operand::Sentiment(days), t.start, end))
            }
            "events" => {
                if !self.peek().is_some_and(|p| p.tok == Tok::Open) {
                    self.error(
                        "write events(KIND) or events(KIND, 30d): which events to count".into(),
                        t.start,
                        t.end,
                    );
                    return None;
                }
                self.at += 1;
                let kind = match self.next() {
                    Some(Token {
                        tok: Tok::Word(k) | Tok::Text(k),
                        ..
                    }) => k,
                    other => {
                        let (s, e) = other.map_or((self.end, self.end), |o| (o.start, o.end));
                        self.error("events(…) starts with the kind of event".into(), s, e);
                        return None;
                    }
                };
                let mut within = None;
                if self.peek().is_some_and(|p| p.tok == Tok::Comma) {
                    self.at += 1;
                    within = Some(self.duration()?.0);
                }
                let end = self.close()?;
                Some((Operand::Events { kind, within }, t.start, end))
            }
            _ => {
                if let Some(channel) = lower.strip_prefix("messages.") {
                    return simple(Operand::Messages(Some(channel.to_string())));
                }
                let name = match word.strip_prefix("trait.") {
                    Some(n) => n,
                    None => word.as_str(),
                };
                if name.is_empty() {
                    self.error(
                        "`trait.` needs a trait's name after it".into(),
                        t.start,
                        t.end,
                    );
                    return None;
                }
                simple(Operand::Trait(name.to_string()))
            }
        }
    }

    fn duration(&mut self) -> Option<(i64, usize, usize)> {
        match self.next() {
            Some(Token {
                tok: Tok::Duration(us),
                start,
                end,
            }) => Some((us, start, end)),
            other => {
                let (s, e) = other.map_or((self.end, self.end), |o| (o.start, o.end));
                self.error("a duration goes here, such as 12h, 7d or 2w".into(), s, e);
                None
            }
        }
    }

    fn close(&mut self) -> Option<usize> {
        match self.next() {
            Some(Token {
                tok: Tok::Close,
                end,
                ..
            }) => Some(end),
            other => {
                let (s, e) = other.map_or((self.end, self.end), |o| (o.start, o.end));
                self.error("a `)` goes here".into(), s, e);
                None
            }
        }
    }

    /// The right side of a comparison, checked against what the operand is.
    fn literal(&mut self, operand: &Operand) -> Option<Literal> {
        let Some(t) = self.next() else {
            self.error(
                "the definition ends where a value should be".into(),
                self.end,
                self.end,
            );
            return None;
        };
        let wrong = |p: &mut Parser, what: &str| {
            p.error(what.to_string(), t.start, t.end);
            None
        };
        match operand {
            Operand::Time(_) => match &t.tok {
                Tok::Duration(us) => {
                    if self.eat_word("ago") {
                        Some(Literal::Ago(*us))
                    } else {
                        wrong(self, "a time compares with `7d ago` or a date: add `ago`")
                    }
                }
                Tok::Text(d) | Tok::Word(d) => match parse_date(d) {
                    Some(at) => Some(Literal::At(at)),
                    None => wrong(
                        self,
                        "a time compares with `7d ago` or a date written 2026-01-31",
                    ),
                },
                _ => wrong(
                    self,
                    "a time compares with `7d ago` or a date written 2026-01-31",
                ),
            },
            Operand::Sentiment(_) => match &t.tok {
                Tok::Number(x) if (-1.0..=1.0).contains(x) => Some(Literal::Number(*x)),
                Tok::Word(w) => match w.to_lowercase().as_str() {
                    "negative" => Some(Literal::Mood(Mood::Negative)),
                    "neutral" => Some(Literal::Mood(Mood::Neutral)),
                    "positive" => Some(Literal::Mood(Mood::Positive)),
                    _ => wrong(
                        self,
                        "sentiment compares with negative, neutral, positive or a number from \
                         -1 to 1",
                    ),
                },
                _ => wrong(
                    self,
                    "sentiment compares with negative, neutral, positive or a number from -1 to 1",
                ),
            },
            Operand::Messages(_) | Operand::Identities | Operand::Events { .. } => match &t.tok {
                Tok::Number(x) => Some(Literal::Number(*x)),
                _ => wrong(self, "a count compares with a number"),
            },
            Operand::Trait(_) => match &t.tok {
                Tok::Number(x) => Some(Literal::Number(*x)),
                Tok::Text(s) => Some(Literal::Text(s.to_lowercase())),
                Tok::Word(w) if !RESERVED.contains(&w.to_lowercase().as_str()) => {
                    Some(Literal::Text(w.to_lowercase()))
                }
                Tok::Duration(_) => wrong(
                    self,
                    "a trait compares with a number or a text; durations go with first_seen, \
                     last_seen and last_contact",
                ),
                _ => wrong(
                    self,
                    "a value goes here: a number, a word or a \"quoted text\"",
                ),
            },
        }
    }
}

/// `2026-01-31` or `2026-01-31T12:00:00Z` → microseconds since the epoch.
fn parse_date(s: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return Some((t.unix_timestamp_nanos() / 1000) as i64);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(s, &format).ok()?;
    Some((date.midnight().assume_utc().unix_timestamp_nanos() / 1000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 20_000 * DAY_US;

    struct Person {
        traits: BTreeMap<String, Value>,
        activity: Activity,
        events: Vec<(&'static str, i64)>,
    }

    impl Person {
        fn new(traits: Value) -> Person {
            Person {
                traits: serde_json::from_value(traits).unwrap(),
                activity: Activity::default(),
                events: Vec::new(),
            }
        }

        fn facts(&self) -> Facts<'_> {
            Facts {
                traits: &self.traits,
                activity: &self.activity,
                events: &self.events,
                identities: 2,
            }
        }
    }

    fn is_in(definition: &str, p: &Person) -> bool {
        Segment::parse(definition)
            .unwrap_or_else(|e| panic!("{definition}: {e:?}"))
            .matches(&p.facts(), NOW)
    }

    fn errors(definition: &str) -> Vec<(String, &str)> {
        Segment::parse(definition)
            .expect_err(definition)
            .into_iter()
            .map(|e| (e.message, &definition[e.start..e.end]))
            .collect()
    }

    #[test]
    fn the_issue_example_selects_the_right_people() {
        let definition = "country = DE and lifetime_value > 500 and sentiment(7d) = negative";
        let mut kim = Person::new(json!({"country": "de", "lifetime_value": "620.50"}));
        kim.activity
            .record("email", NOW - 2 * DAY_US, false, Some(-0.6));
        assert!(is_in(definition, &kim));
        // Unhappy a month ago, not this week.
        let mut old = Person::new(json!({"country": "DE", "lifetime_value": 900}));
        old.activity
            .record("email", NOW - 20 * DAY_US, false, Some(-0.9));
        assert!(!is_in(definition, &old));
        // Spends too little.
        let mut small = Person::new(json!({"country": "DE", "lifetime_value": 120}));
        small.activity.record("email", NOW, false, Some(-0.9));
        assert!(!is_in(definition, &small));
    }

    #[test]
    fn missing_values_make_conditions_false_and_not_equal_true() {
        let p = Person::new(json!({"tier": "gold", "vip": true, "nothing": null}));
        assert!(is_in("country != DE", &p));
        assert!(!is_in("country = DE", &p));
        assert!(!is_in("country < ZZ", &p));
        assert!(is_in("tier exists and not country exists", &p));
        assert!(!is_in("nothing exists", &p));
        assert!(is_in("vip = true", &p));
        assert!(is_in("tier in (silver, \"GOLD\")", &p));
        assert!(!is_in("tier in (silver, bronze)", &p));
        assert!(is_in(
            "(tier = silver or tier = gold) and not tier = bronze",
            &p
        ));
    }

    #[test]
    fn counts_times_and_events() {
        let mut p = Person::new(json!({"messages": 7}));
        p.activity.record("email", NOW - 40 * DAY_US, false, None);
        p.activity.record("mastodon", NOW - 3 * DAY_US, true, None);
        p.activity.record("mastodon", NOW - 2 * DAY_US, false, None);
        p.events = vec![
            ("purchase", NOW - 5 * DAY_US),
            ("purchase", NOW - 60 * DAY_US),
            ("ticket", NOW),
        ];
        assert!(is_in("messages = 3 and messages.mastodon >= 2", &p));
        assert!(is_in("messages.sms = 0 and identities = 2", &p));
        assert!(is_in("trait.messages = 7", &p));
        assert!(is_in("last_seen within 7d and first_seen < 30d ago", &p));
        assert!(!is_in("first_seen within 30d", &p));
        assert!(is_in("last_contact within 72h", &p));
        assert!(is_in("first_seen > \"2000-01-01\"", &p));
        assert!(is_in(
            "events(purchase) = 2 and events(PURCHASE, 30d) = 1",
            &p
        ));
        assert!(is_in("events(refund) = 0", &p));
        assert!(!is_in("sentiment exists", &p));
    }

    #[test]
    fn time_dependence_is_known() {
        let timed = [
            "last_seen within 7d",
            "first_seen < 30d ago",
            "sentiment(7d) = negative",
            "events(purchase, 30d) > 0",
            "tier = gold or not last_seen within 1w",
        ];
        for d in timed {
            assert!(Segment::parse(d).unwrap().depends_on_time(), "{d}");
        }
        for d in [
            "tier = gold",
            "events(purchase) > 1",
            "last_seen > \"2026-01-01\"",
        ] {
            assert!(!Segment::parse(d).unwrap().depends_on_time(), "{d}");
        }
    }

    #[test]
    fn mistakes_are_reported_with_their_spans() {
        assert_eq!(
            errors("country = DE and lifetime_value >"),
            vec![(
                "the definition ends where a value should be".to_string(),
                ""
            )]
        );
        let e = errors("country = DE and and tier = gold");
        assert_eq!(e[0].1, "and");
        let e = errors("sentiment(60d) < 0");
        assert_eq!(e[0].1, "60d");
        let e = errors("last_seen > 7d");
        assert_eq!(e[0].1, "7d");
        assert!(e[0].0.contains("ago"));
        let e = errors("messages > gold");
        assert_eq!(e[0].1, "gold");
        let e = errors("(tier = gold");
        assert_eq!(e[0].1, "(");
        let e = errors("tier = gold tier = silver");
        assert_eq!(e[0].1, "tier");
        let e = errors("tier ~ gold");
        assert_eq!(e[0].1, "~");
        let e = errors("name = \"kim");
        assert_eq!(e[0].1, "\"kim");
        let e = errors("sentiment(7d) > negative");
        assert_eq!(e[0].1, ">");
        let e = errors("tier within 7d");
        assert_eq!(e[0].1, "within");
        assert_eq!(errors("   ")[0].1, "   ");
        // Two mistakes, both found.
        let e = errors("messages > gold and last_seen within soon");
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!((e[0].1, e[1].1), ("gold", "soon"));
    }

    #[test]
    fn hostile_definitions_are_refused_not_crashed_on() {
        let deep = format!("{}tier = gold{}", "(".repeat(500), ")".repeat(500));
        assert!(errors(&deep)[0].0.contains("nested"));
        let nots = format!("{}tier = gold", "not ".repeat(500));
        assert!(errors(&nots)[0].0.contains("nested"));
        let huge = "a".repeat(MAX_DEFINITION + 1);
        assert!(errors(&huge)[0].0.contains("at most"));
        assert!(!errors("land = \"ü\" and ß").is_empty());
        assert!(Segment::parse("stadt = \"Köln\"").is_ok());
        assert!(!errors("999999999999999999999999d").is_empty());
    }
}
