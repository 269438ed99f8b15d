//! Every problem a query can have, as a table of stable codes (the spec's "Errors and
//! warnings"), and [`lint`], which reports them all with byte spans and messages written for
//! the analyst who wrote the query, not for a programmer.

use serde::Serialize;

use crate::syntax::Span;

/// Whether a problem stops the query from running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $severity:ident, $summary:literal;)*) => {
        /// A kind of problem. Its string code is stable: scripts and the web app key on it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in the order of the table.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            pub fn severity(self) -> Severity {
                match self {
                    $(Code::$variant => Severity::$severity,)*
                }
            }

            /// One line on what the code means.
            pub fn summary(self) -> &'static str {
                match self {
                    $(Code::$variant => $summary,)*
                }
            }

            pub fn parse(code: &str) -> Option<Code> {
                match code {
                    $($code => Some(Code::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

codes! {
    EmptyQuery = "empty_query", Error, "the query has nothing to look for";
    UnbalancedParenthesis = "unbalanced_parenthesis", Error, "a ( without its ) or a ) without its (";
    UnbalancedQuote = "unbalanced_quote", Error, "a \" that is never closed";
    UnbalancedBrace = "unbalanced_brace", Error, "a { without its } or a } without its {";
    UnclosedComment = "unclosed_comment", Error, "a <<< comment without its >>>";
    MissingOperand = "missing_operand", Error, "an operator without a word or group on one side";
    EmptyGroup = "empty_group", Error, "parentheses with nothing inside";
    EmptyTerm = "empty_term", Error, "a term with no letters, digits or emoji, such as \"\" or -";
    OnlyExclusions = "only_exclusions", Error, "a query or OR branch that can only exclude";
    MixedAndOr = "mixed_and_or", Error, "AND and OR at one level without parentheses";
    LeadingWildcard = "leading_wildcard", Error, "a word starting with * or ?";
    ShortWildcardPrefix = "short_wildcard_prefix", Error, "fewer than two letters before a wildcard";
    BadProximity = "bad_proximity", Error, "~ or NEAR without a proper number, or ~ with spaces around it";
    BadProximityOperand = "bad_proximity_operand", Error, "NOT or a field as an operand of NEAR, SENTENCE or ~";
    BadFieldValue = "bad_field_value", Error, "a known field with a bad or missing value";
    UnsupportedField = "unsupported_field", Error, "a Brandwatch field that Needle does not have";
    SpaceBeforeColon = "space_before_colon", Error, "a space between a field's name and its colon";
    TooDeep = "too_deep", Error, "parentheses or proximity operators nested too deep";
    UnknownField = "unknown_field", Warning, "name:value with a name that is no field; matched as text";
    ImplicitAnd = "implicit_and", Warning, "two terms with no operator between them (AND is assumed)";
    ProximityOnSingleWord = "proximity_on_single_word", Warning, "~n on a single word, which does nothing";
    WildcardAfterPrefix = "wildcard_after_prefix", Warning, "a wildcard right after # or @";
    LowercaseOperator = "lowercase_operator", Warning, "and, or, not in lower case between words (searched as words)";
}

/// One problem in a query: what, why, and where (byte offsets into the query).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: &'static str,
    pub message: String,
    pub start: usize,
    pub end: usize,
}

impl Diagnostic {
    pub(crate) fn new(code: Code, message: String, span: Span) -> Diagnostic {
        Diagnostic {
            code: code.as_str(),
            message,
            start: span.start,
            end: span.end,
        }
    }

    pub fn severity(&self) -> Severity {
        Code::parse(self.code).map_or(Severity::Error, Code::severity)
    }

    pub fn span(&self) -> Span {
        Span::new(self.start, self.end)
    }
}

/// Everything wrong with a query. Serialises as `{"errors":[…],"warnings":[…]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LintReport {
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

impl LintReport {
    pub(crate) fn from_diagnostics(mut diagnostics: Vec<Diagnostic>) -> LintReport {
        diagnostics.sort_by_key(|d| (d.start, d.end));
        let (errors, warnings) = diagnostics
            .into_iter()
            .partition(|d| d.severity() == Severity::Error);
        LintReport { errors, warnings }
    }

    /// The query can run.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Every error and warning in a query.
pub fn lint(query: &str) -> LintReport {
    crate::compile::analyze(query).1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes of a lint, with the query text each one points at.
    fn found(query: &str) -> Vec<(&'static str, &str)> {
        let report = lint(query);
        report
            .errors
            .iter()
            .chain(&report.warnings)
            .map(|d| (d.code, &query[d.start..d.end]))
            .collect()
    }

    #[test]
    fn codes_are_unique_and_round_trip() {
        for (i, a) in Code::ALL.iter().enumerate() {
            assert_eq!(Code::parse(a.as_str()), Some(*a));
            for b in &Code::ALL[i + 1..] {
                assert_ne!(a.as_str(), b.as_str());
            }
        }
    }

    #[test]
    fn errors_of_the_spec_with_their_spans() {
        assert_eq!(found(""), [("empty_query", "")]);
        assert_eq!(
            found("   <<<just a note>>> "),
            [("empty_query", "   <<<just a note>>> ")]
        );
        assert_eq!(found("(apple OR juice"), [("unbalanced_parenthesis", "(")]);
        assert_eq!(found("apple OR juice)"), [("unbalanced_parenthesis", ")")]);
        assert_eq!(found("\"apple juice"), [("unbalanced_quote", "\"")]);
        assert_eq!(found("{Office"), [("unbalanced_brace", "{")]);
        assert_eq!(found("apple <<<note"), [("unclosed_comment", "<<<")]);
        assert_eq!(found("apple AND"), [("missing_operand", "AND")]);
        assert_eq!(found("OR juice"), [("missing_operand", "OR")]);
        assert_eq!(found("NEAR/3 juice"), [("missing_operand", "NEAR/3")]);
        assert_eq!(found("apple NEAR/3"), [("missing_operand", "NEAR/3")]);
        assert_eq!(found("apple AND OR juice"), [("missing_operand", "OR")]);
        assert_eq!(found("apple NOT"), [("missing_operand", "NOT")]);
        assert_eq!(found("apple AND ()"), [("empty_group", "()")]);
        assert_eq!(found("NOT bitter"), [("only_exclusions", "NOT bitter")]);
        assert_eq!(found("NOT a NOT b"), [("only_exclusions", "NOT a NOT b")]);
        assert_eq!(
            found("apple OR NOT bitter"),
            [("only_exclusions", "NOT bitter")]
        );
        assert_eq!(found("a AND b OR c"), [("mixed_and_or", "OR")]);
        assert_eq!(
            found("apple banana OR cherry"),
            [("mixed_and_or", "OR"), ("implicit_and", "banana")]
        );
        assert_eq!(found("a OR b NOT c"), [("mixed_and_or", "NOT")]);
        assert_eq!(found("*phone"), [("leading_wildcard", "*phone")]);
        assert_eq!(found("a*"), [("short_wildcard_prefix", "a*")]);
        assert_eq!(found("apple ~5"), [("bad_proximity", "~5")]);
        assert_eq!(found("\"apple juice\"~ 5"), [("bad_proximity", "~ 5")]);
        assert_eq!(found("\"apple juice\"~"), [("bad_proximity", "~")]);
        assert_eq!(found("apple NEAR/x pie"), [("bad_proximity", "NEAR/x")]);
        assert_eq!(
            found("apple NEAR/99999999999 pie"),
            [("bad_proximity", "NEAR/99999999999")]
        );
        assert_eq!(found("rating:6"), [("bad_field_value", "6")]);
        assert_eq!(found("authorVerified:yes"), [("bad_field_value", "yes")]);
        assert_eq!(found("rating:[1 to 5]"), [("bad_field_value", "to")]);
        assert_eq!(found("author:"), [("bad_field_value", "author:")]);
        assert_eq!(
            found("authorGender:"),
            [("unsupported_field", "authorGender")]
        );
        assert_eq!(found("author :kim"), [("space_before_colon", " ")]);
        assert_eq!(found("\"\" OR apple"), [("empty_term", "\"\"")]);
        assert_eq!(
            found("apple NEAR/3 NOT pie"),
            [("bad_proximity_operand", "NOT")]
        );
        assert_eq!(
            found("lang:en NEAR/3 pie"),
            [("bad_proximity_operand", "lang:en")]
        );
    }

    #[test]
    fn warnings_of_the_spec_with_their_spans() {
        assert_eq!(found("test:case"), [("unknown_field", "test:")]);
        assert_eq!(
            found("https://www.youtube.com/"),
            [("unknown_field", "https:")]
        );
        assert_eq!(found("apple banana"), [("implicit_and", "banana")]);
        assert_eq!(found("apple~5"), [("proximity_on_single_word", "apple~5")]);
        assert_eq!(
            found("\"apple\"~5"),
            [("proximity_on_single_word", "\"apple\"~5")]
        );
        assert_eq!(found("#*phone"), [("wildcard_after_prefix", "#*phone")]);
        assert_eq!(found("@*acme"), [("wildcard_after_prefix", "@*acme")]);
        assert_eq!(
            found("apple and banana"),
            [
                ("lowercase_operator", "and"),
                ("implicit_and", "and"),
                ("implicit_and", "banana")
            ]
        );
        assert_eq!(found("and"), []);
    }

    /// One query per code, with the exact span the code points at: every code in the table
    /// can be produced, and a new code without an example fails here.
    #[test]
    fn every_code_has_an_example_with_its_span() {
        let deep = format!("{}a{}", "(".repeat(257), ")".repeat(257));
        let examples: &[(&str, &str, &str)] = &[
            ("empty_query", "", ""),
            ("unbalanced_parenthesis", "(a", "("),
            ("unbalanced_quote", "a \"b", "\""),
            ("unbalanced_brace", "a}", "}"),
            ("unclosed_comment", "a <<<b", "<<<"),
            ("missing_operand", "a OR", "OR"),
            ("empty_group", "a ( )", "( )"),
            ("empty_term", "a AND -", "-"),
            ("only_exclusions", "NOT a", "NOT a"),
            ("mixed_and_or", "a OR b AND c", "AND"),
            ("leading_wildcard", "?hone", "?hone"),
            ("short_wildcard_prefix", "p?", "p?"),
            ("bad_proximity", "a NEAR/ b", "NEAR/"),
            ("bad_proximity_operand", "a NEAR/2 (NOT b)", "(NOT b)"),
            ("bad_field_value", "sentiment:meh", "meh"),
            ("unsupported_field", "a AND pubType:x", "pubType"),
            ("space_before_colon", "rating :5", " "),
            ("too_deep", &deep, "("),
            ("unknown_field", "foo:bar", "foo:"),
            ("implicit_and", "a \"b c\"", "\"b c\""),
            ("proximity_on_single_word", "(a)~2", "(a)~2"),
            ("wildcard_after_prefix", "#?ag", "#?ag"),
            ("lowercase_operator", "a OR b or c", "or"),
        ];
        for code in Code::ALL {
            let Some((_, query, span)) = examples.iter().find(|(c, ..)| *c == code.as_str()) else {
                panic!("no example for {}", code.as_str());
            };
            let report = lint(query);
            let all: Vec<&Diagnostic> = report.errors.iter().chain(&report.warnings).collect();
            let hit = all.iter().find(|d| d.code == code.as_str());
            let Some(d) = hit else {
                panic!("{query:?} does not give {}: {all:?}", code.as_str());
            };
            assert_eq!(&query[d.start..d.end], *span, "{}", code.as_str());
            assert_eq!(d.severity(), code.severity());
            let listed = match code.severity() {
                Severity::Error => &report.errors,
                Severity::Warning => &report.warnings,
            };
            assert!(listed.contains(d));
        }
    }

    #[test]
    fn clean_queries_have_no_problems() {
        for q in [
            "apple",
            "apple AND juice",
            "apple OR juice OR \"orange juice\"",
            "apple NOT bitter NOT sour",
            "apple AND NOT bitter",
            "(apple OR orange) NEAR/5 (phone OR smartphone)",
            "\"apple juice\"~5",
            "(apple AND juice)~3",
            "a SENTENCE b OSENTENCE c",
            "apple ONEAR/2 pie",
            "t*est customi?e complain*",
            "author:  brandwatch",
        ] {
            let report = lint(q);
            assert!(report.errors.is_empty(), "{q}: {report:?}");
        }
    }

    #[test]
    fn json_shape() {
        let report = lint("apple AND");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "errors": [{"code": "missing_operand", "message": "AND needs a word or group after it", "start": 6, "end": 9}],
                "warnings": []
            })
        );
    }

    #[test]
    fn messages_speak_to_analysts() {
        let report = lint("a AND b OR c");
        assert_eq!(
            report.errors[0].message,
            "AND and OR are mixed here: add parentheses to say which comes first, as in (a AND b) OR c or a AND (b OR c); NOT and a space between words count as AND"
        );
        for code in Code::ALL {
            assert!(!code.summary().is_empty());
        }
    }
}
