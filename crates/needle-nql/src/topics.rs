//! Topics files: named listening queries with a maturity level, in TOML.
//!
//! ```toml
//! [[topic]]
//! id = "office"
//! level = "brand"
//! query = '({Office} OR "Microsoft Office" OR o365) NEAR/6 ({Windows} OR PC OR laptop)'
//! exclude = '(window OR windows) NEAR/4 (glass OR squeegee OR cleaner OR wash)'
//! ```
//!
//! A file with any bad query is refused whole, each problem naming its topic and the span in
//! that topic's query.

use serde::{Deserialize, Serialize};

use crate::compile::{Query, compile};
use crate::document::Document;
use crate::lint::Diagnostic;
use crate::matcher::{Explanation, Scratch};

/// Who the people in a topic are talking to or about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// To you: mentions of your handles, DMs, emails and chats to your accounts.
    Owned,
    /// About you.
    Brand,
    /// About your competitors.
    Competitor,
    /// About your category: questions and buying intent.
    Category,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    topic: Vec<RawTopic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopic {
    id: String,
    level: Level,
    query: String,
    exclude: Option<String>,
}

/// One topic, compiled.
#[derive(Debug, Clone)]
pub struct Topic {
    pub id: String,
    pub level: Level,
    pub query: Query,
    pub exclude: Option<Query>,
}

impl Topic {
    /// Why the message is in the topic, or `None` when it is not.
    pub fn matches_with(&self, doc: &Document<'_>, scratch: &mut Scratch) -> Option<Explanation> {
        if !self.query.is_match_with(doc, scratch) {
            return None;
        }
        if let Some(exclude) = &self.exclude
            && exclude.is_match_with(doc, scratch)
        {
            return None;
        }
        Some(self.query.explain_match(doc, scratch))
    }
}

/// Which query of a topic a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    Query,
    Exclude,
}

/// A problem in one topic's query, with the span in that query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicProblem {
    pub topic: String,
    pub part: Part,
    #[serde(flatten)]
    pub diagnostic: Diagnostic,
}

impl std::fmt::Display for TopicProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let part = match self.part {
            Part::Query => "query",
            Part::Exclude => "exclude",
        };
        write!(
            f,
            "topic {:?}, {part} at bytes {}..{}: {} ({})",
            self.topic,
            self.diagnostic.start,
            self.diagnostic.end,
            self.diagnostic.message,
            self.diagnostic.code
        )
    }
}

/// Why a topics file was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TopicsError {
    /// Not valid TOML, or not the shape of a topics file.
    #[error("the topics file is not valid: {message}")]
    Syntax {
        message: String,
        /// Byte span in the file, when known.
        span: Option<(usize, usize)>,
    },
    #[error("topic id {id:?} is used twice")]
    DuplicateId { id: String },
    #[error("topic id is empty")]
    EmptyId,
    /// Bad queries; every one is listed.
    #[error("{} bad quer{} in the topics file; first: {}", .0.len(), if .0.len() == 1 { "y" } else { "ies" }, .0[0])]
    Queries(Vec<TopicProblem>),
}

/// Compiled topics, matched together against each message.
#[derive(Debug, Clone, Default)]
pub struct TopicSet {
    topics: Vec<Topic>,
}

impl TopicSet {
    /// Parses and compiles a topics file; refuses it whole if any query has an error.
    pub fn from_toml(source: &str) -> Result<TopicSet, TopicsError> {
        let raw: RawFile = toml::from_str(source).map_err(|e| TopicsError::Syntax {
            message: e.message().to_string(),
            span: e.span().map(|r| (r.start, r.end)),
        })?;
        let mut problems = Vec::new();
        let mut topics = Vec::with_capacity(raw.topic.len());
        let mut seen = std::collections::HashSet::new();
        for t in raw.topic {
            if t.id.trim().is_empty() {
                return Err(TopicsError::EmptyId);
            }
            if !seen.insert(t.id.clone()) {
                return Err(TopicsError::DuplicateId { id: t.id });
            }
            let mut report = |part: Part, errors: Vec<Diagnostic>| {
                problems.extend(errors.into_iter().map(|diagnostic| TopicProblem {
                    topic: t.id.clone(),
                    part,
                    diagnostic,
                }));
            };
            let query = compile(&t.query).map_err(|r| report(Part::Query, r.errors));
            let exclude = t
                .exclude
                .as_deref()
                .map(compile)
                .transpose()
                .map_err(|r| report(Part::Exclude, r.errors));
            if let (Ok(query), Ok(exclude)) = (query, exclude) {
                topics.push(Topic {
                    id: t.id,
                    level: t.level,
                    query,
                    exclude,
                });
            }
        }
        if problems.is_empty() {
            Ok(TopicSet { topics })
        } else {
            Err(TopicsError::Queries(problems))
        }
    }

    pub fn topics(&self) -> &[Topic] {
        &self.topics
    }

    /// Warnings of every topic's queries (they run anyway).
    pub fn warnings(&self) -> Vec<TopicProblem> {
        let mut out = Vec::new();
        for t in &self.topics {
            let parts = [
                (Part::Query, Some(&t.query)),
                (Part::Exclude, t.exclude.as_ref()),
            ];
            for (part, query) in parts {
                for w in query.map_or(&[][..], Query::warnings) {
                    out.push(TopicProblem {
                        topic: t.id.clone(),
                        part,
                        diagnostic: w.clone(),
                    });
                }
            }
        }
        out
    }

    /// The topics the message is in, each with why.
    pub fn match_document(&self, doc: &Document<'_>) -> Vec<(&str, Explanation)> {
        self.match_document_with(doc, &mut Scratch::default())
    }

    /// As [`TopicSet::match_document`], reusing `scratch`.
    pub fn match_document_with(
        &self,
        doc: &Document<'_>,
        scratch: &mut Scratch,
    ) -> Vec<(&str, Explanation)> {
        self.topics
            .iter()
            .filter_map(|t| t.matches_with(doc, scratch).map(|e| (t.id.as_str(), e)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_FILE: &str = r#"
[[topic]]
id = "office"
level = "brand"
query = '({Office} OR "Microsoft Office" OR o365) NEAR/6 ({Windows} OR PC OR laptop)'
exclude = '(window OR windows) NEAR/4 (glass OR squeegee OR cleaner OR wash)'
"#;

    fn ids<'a>(set: &'a TopicSet, text: &str) -> Vec<&'a str> {
        let doc = Document::from_text(text);
        set.match_document(&doc)
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    #[test]
    fn the_spec_topic_matches_office_on_windows_but_not_window_cleaning() {
        let set = TopicSet::from_toml(SPEC_FILE).unwrap();
        assert_eq!(set.topics()[0].level, Level::Brand);
        assert_eq!(
            ids(&set, "I need to clean Office off my Windows laptop"),
            ["office"]
        );
        assert!(ids(&set, "clean the windows on my office").is_empty());
        assert!(
            ids(
                &set,
                "Office on Windows, then wash the windows with a squeegee"
            )
            .is_empty()
        );
        assert_eq!(
            ids(&set, "Microsoft Office keeps crashing on my new PC"),
            ["office"]
        );
        assert!(
            ids(&set, "the office PC").is_empty(),
            "{{Office}} is case-sensitive"
        );
        let doc = Document::from_text("I need to clean Office off my Windows laptop");
        let (_, why) = &set.match_document(&doc)[0];
        let json = serde_json::to_value(why).unwrap();
        assert_eq!(
            json["terms"][0],
            serde_json::json!({"term": "Office", "start": 16, "end": 22})
        );
        assert_eq!(
            why.terms
                .iter()
                .map(|t| t.term.as_str())
                .collect::<Vec<_>>(),
            ["Office", "Windows"]
        );
    }

    #[test]
    fn a_bad_query_rejects_the_whole_file_naming_topic_and_span() {
        let file = r#"
[[topic]]
id = "good"
level = "category"
query = 'apple'

[[topic]]
id = "bad"
level = "competitor"
query = 'apple AND'
exclude = 'NOT x'
"#;
        let Err(TopicsError::Queries(problems)) = TopicSet::from_toml(file) else {
            panic!("expected query errors");
        };
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].topic, "bad");
        assert_eq!(problems[0].part, Part::Query);
        assert_eq!(problems[0].diagnostic.code, "missing_operand");
        assert_eq!(
            (problems[0].diagnostic.start, problems[0].diagnostic.end),
            (6, 9)
        );
        assert_eq!(problems[1].part, Part::Exclude);
        assert_eq!(problems[1].diagnostic.code, "only_exclusions");
        let message = TopicsError::Queries(problems).to_string();
        assert!(
            message.contains("topic \"bad\", query at bytes 6..9"),
            "{message}"
        );
    }

    #[test]
    fn file_shape_errors() {
        assert!(matches!(
            TopicSet::from_toml("[[topic]]\nid = \"x\"\nlevel = \"famous\"\nquery = 'a'"),
            Err(TopicsError::Syntax { .. })
        ));
        assert!(matches!(
            TopicSet::from_toml(
                "[[topic]]\nid = \"x\"\nlevel = \"owned\"\nquery = 'a'\n[[topic]]\nid = \"x\"\nlevel = \"owned\"\nquery = 'b'"
            ),
            Err(TopicsError::DuplicateId { .. })
        ));
        assert!(matches!(
            TopicSet::from_toml("[[topic]]\nid = \"x\"\nlevel = \"owned\""),
            Err(TopicsError::Syntax { .. })
        ));
        assert!(matches!(
            TopicSet::from_toml("[[topic]\n"),
            Err(TopicsError::Syntax { span: Some(_), .. })
        ));
        assert_eq!(TopicSet::from_toml("").unwrap().topics().len(), 0);
    }

    #[test]
    fn warnings_are_kept_per_topic() {
        let set =
            TopicSet::from_toml("[[topic]]\nid = \"x\"\nlevel = \"owned\"\nquery = 'apple banana'")
                .unwrap();
        let warnings = set.warnings();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].topic, "x");
        assert_eq!(warnings[0].diagnostic.code, "implicit_and");
    }
}
