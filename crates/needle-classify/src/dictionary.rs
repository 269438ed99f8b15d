//! Workspace dictionaries: the brands, products and competitors a workspace cares about.
//!
//! File format (TOML, or JSON with the same shape): one array of terms per entity kind.
//!
//! ```toml
//! brand = ["Acme", "Acme Corp"]
//! product = ["Office", "Windows 11", "C++ Builder"]
//! competitor = ["Globex"]
//! ```
//!
//! Kinds are lower-case words (`[a-z_]+`); any kind may be used, the three above are the
//! usual ones. Terms match case-insensitively on whole words. A file is at most 8 MiB and
//! 200,000 terms; a term is 1 to 200 bytes.

use std::collections::BTreeMap;

const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;
const MAX_TERMS: usize = 200_000;
const MAX_TERM_BYTES: usize = 200;

/// Terms per entity kind, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dictionary {
    pub(crate) terms: BTreeMap<String, Vec<String>>,
}

/// Why a dictionary file was refused.
#[derive(Debug, thiserror::Error)]
pub enum DictionaryError {
    #[error("dictionary is {0} bytes; the limit is {MAX_FILE_BYTES}")]
    TooLarge(usize),
    #[error("dictionary is not valid {format}: {reason}")]
    Syntax {
        format: &'static str,
        reason: String,
    },
    #[error("dictionary kind `{0}` must be lower-case letters and `_`, and an array of strings")]
    BadKind(String),
    #[error("dictionary kind `{kind}`: term {index} {reason}")]
    BadTerm {
        kind: String,
        index: usize,
        reason: String,
    },
    #[error("dictionary has more than {MAX_TERMS} terms")]
    TooManyTerms,
}

impl Dictionary {
    /// Builds a dictionary from kinds and their terms, validating both.
    pub fn new<K, T>(
        entries: impl IntoIterator<Item = (K, Vec<T>)>,
    ) -> Result<Self, DictionaryError>
    where
        K: Into<String>,
        T: Into<String>,
    {
        let mut terms: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut count = 0usize;
        for (kind, list) in entries {
            let kind = kind.into();
            if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return Err(DictionaryError::BadKind(kind));
            }
            for (index, term) in list.into_iter().enumerate() {
                let term: String = term.into();
                let trimmed = term.trim();
                let reason = if trimmed.is_empty() {
                    Some("is empty".to_string())
                } else if trimmed.len() > MAX_TERM_BYTES {
                    Some(format!("is longer than {MAX_TERM_BYTES} bytes"))
                } else if trimmed.chars().any(char::is_control) {
                    Some("contains a control character".to_string())
                } else {
                    None
                };
                if let Some(reason) = reason {
                    return Err(DictionaryError::BadTerm {
                        kind,
                        index: index + 1,
                        reason,
                    });
                }
                count += 1;
                if count > MAX_TERMS {
                    return Err(DictionaryError::TooManyTerms);
                }
                terms
                    .entry(kind.clone())
                    .or_default()
                    .push(trimmed.to_string());
            }
        }
        Ok(Dictionary { terms })
    }

    /// Parses a dictionary file; `json` picks JSON over TOML.
    pub fn parse(source: &str, json: bool) -> Result<Self, DictionaryError> {
        if source.len() > MAX_FILE_BYTES {
            return Err(DictionaryError::TooLarge(source.len()));
        }
        let value: serde_json::Value = if json {
            serde_json::from_str(source).map_err(|e| DictionaryError::Syntax {
                format: "JSON",
                reason: e.to_string(),
            })?
        } else {
            let table: toml::Table =
                toml::from_str(source).map_err(|e| DictionaryError::Syntax {
                    format: "TOML",
                    reason: e.to_string(),
                })?;
            serde_json::to_value(table).map_err(|e| DictionaryError::Syntax {
                format: "TOML",
                reason: e.to_string(),
            })?
        };
        let serde_json::Value::Object(map) = value else {
            return Err(DictionaryError::Syntax {
                format: if json { "JSON" } else { "TOML" },
                reason: "the top level must be a table of kinds".into(),
            });
        };
        let mut entries = Vec::with_capacity(map.len());
        for (kind, list) in map {
            let serde_json::Value::Array(items) = list else {
                return Err(DictionaryError::BadKind(kind));
            };
            let mut terms = Vec::with_capacity(items.len());
            for (index, item) in items.into_iter().enumerate() {
                match item {
                    serde_json::Value::String(s) => terms.push(s),
                    other => {
                        return Err(DictionaryError::BadTerm {
                            kind,
                            index: index + 1,
                            reason: format!(
                                "is {}, not a string",
                                needle_core::message::type_name(&other)
                            ),
                        });
                    }
                }
            }
            entries.push((kind, terms));
        }
        Dictionary::new(entries)
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn len(&self) -> usize {
        self.terms.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_toml_and_json_alike() {
        let toml = Dictionary::parse(
            "brand = [\"Acme\"]\nproduct = [\"Office\", \"Windows 11\"]\n",
            false,
        )
        .unwrap();
        let json = Dictionary::parse(
            r#"{"brand":["Acme"],"product":["Office","Windows 11"]}"#,
            true,
        )
        .unwrap();
        assert_eq!(toml, json);
        assert_eq!(toml.len(), 3);
    }

    #[test]
    fn refuses_bad_files_naming_the_place() {
        let err = Dictionary::parse("brand = [\"Acme\", 3]", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "dictionary kind `brand`: term 2 is a number, not a string"
        );
        let err = Dictionary::parse("Brand = [\"Acme\"]", false).unwrap_err();
        assert!(err.to_string().contains("`Brand`"), "{err}");
        let err = Dictionary::parse("brand = [\"  \"]", false).unwrap_err();
        assert!(err.to_string().contains("term 1 is empty"), "{err}");
        assert!(matches!(
            Dictionary::parse("{", true),
            Err(DictionaryError::Syntax { .. })
        ));
        assert!(matches!(
            Dictionary::parse("brand = \"Acme\"", false),
            Err(DictionaryError::BadKind(_))
        ));
    }
}
