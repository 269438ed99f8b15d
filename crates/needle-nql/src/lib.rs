//! The Needle Query Language (NQL) of `shared/specs/query-language.md`: one language for topic
//! matching on the live stream, search, and backfill, spelled like Brandwatch's Boolean
//! syntax (and Talkwalker's spellings of the same ideas).
//!
//! ```
//! use needle_nql::{Document, compile};
//!
//! let query = compile(r#"({Office} OR "Microsoft Office") NEAR/6 (laptop OR PC)"#).unwrap();
//! let doc = Document::from_text("I need to clean Office off my Windows laptop");
//! let why = query.matches(&doc).unwrap();
//! assert_eq!(why.terms[0].term, "Office");
//! assert_eq!((why.terms[0].start, why.terms[0].end), (16, 22));
//! ```
//!
//! # How a query travels
//!
//! | step | module | what it answers |
//! |---|---|---|
//! | lexemes, then a tree with byte spans | [`syntax`] | what did the analyst write? |
//! | checks, then a runnable tree | `compile` | is it a query we can run, and what does each term match? |
//! | problems as codes and messages | [`lint`] | what is wrong, where, in words an analyst understands? |
//! | a message prepared once | `document` | which tokens does a message have, folded and indexed? |
//! | one term against tokens | `pattern` | does this token match this word, wildcard, tag, case? |
//! | running the tree | `matcher` | does the message match, and why? |
//! | topics files | [`topics`] | which topics is a message in? |
//! | field values | `fields` | is `rating:6` a rating, does `site:reddit.com` hold? |
//!
//! # Why a hand-written parser
//!
//! The parser is recursive descent over a small lexer rather than a parser generator or
//! combinator library, because the language's users are analysts, not programmers, and
//! three things matter more than grammar brevity:
//!
//! - **precise spans**: every node and every problem carries its byte span, so the web app
//!   can underline the exact `OR` that is mixed with an `AND`;
//! - **error recovery**: a problem is reported and parsing goes on (a stray `)` is skipped,
//!   an operator missing an operand is dropped), so one lint run lists every mistake;
//! - **friendly messages**: each check knows the context (which operator, which field) and
//!   says what to write instead, which generated parsers' "expected one of …" cannot.
//!
//! Nesting is capped at [`MAX_DEPTH`] (256) levels, reported as `too_deep`, so no query can
//! overflow the stack.
//!
//! # Text model
//!
//! Message text and query words go through the same tokenizer, `needle_text::tokens`, and
//! the same folding, `needle_text::fold`: a query word that splits into several tokens
//! (`e-mail`, `周受资`, `Sprinklr에서`) is matched as the phrase of its tokens.

mod compile;
mod document;
mod fields;
pub mod lint;
mod matcher;
mod pattern;
pub mod syntax;
pub mod topics;

#[cfg(test)]
mod spec_tests;

pub use compile::{Query, Requirement, compile};
pub use document::{Document, Fields};
pub use lint::{Code, Diagnostic, LintReport, Severity, lint};
pub use matcher::{Explanation, MatchedTerm, Scratch};
pub use syntax::{MAX_DEPTH, Span, parse};
pub use topics::{Level, Topic, TopicSet, TopicsError};
