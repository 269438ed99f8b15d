//! How a message is kept in a row, the same on every backend: its JSON without `text`
//! (which has a column of its own) in `doc`, and back again.

use needle_core::{Classification, Message};
use serde_json::Value;

/// The message JSON minus `text` and minus empty fields, which read back as absent: smaller
/// rows mean fewer pages written per message.
pub(crate) fn doc_of(message: &Message) -> String {
    let mut value = message.to_json();
    if let Value::Object(obj) = &mut value {
        obj.remove("text");
        obj.retain(|_, v| !is_empty(v));
        if let Some(Value::Object(author)) = obj.get_mut("author") {
            author.retain(|_, v| !v.is_null());
        }
    }
    value.to_string()
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// The message a row holds: its `doc` with `text` put back. The error says what is wrong
/// with the stored data; the caller says which row and reports it as corrupt.
/// A classification as stored: its contract JSON.
pub(crate) fn classification_of(classification: &Classification) -> String {
    serde_json::to_string(classification).unwrap_or_default()
}

pub(crate) fn classification_from_row(
    stored: Option<&str>,
) -> Result<Option<Classification>, String> {
    stored
        .map(|json| {
            serde_json::from_str(json)
                .map_err(|e| format!("the stored classification is corrupt: {e}"))
        })
        .transpose()
}

/// One classification (or none) per message, or the call is a bug.
pub(crate) fn check_classifications(
    messages: &[&Message],
    classifications: &[Option<&Classification>],
) -> crate::Result<()> {
    if messages.len() == classifications.len() {
        Ok(())
    } else {
        Err(crate::StoreError::Other(format!(
            "{} messages but {} classifications",
            messages.len(),
            classifications.len()
        )))
    }
}

pub(crate) fn message_from_row(doc: &str, text: String) -> Result<Message, String> {
    let mut value: Value = serde_json::from_str(doc).map_err(|e| e.to_string())?;
    if !value.is_object() {
        // Indexing a non-object below would panic.
        return Err("the stored document is not a JSON object".into());
    }
    value["text"] = Value::String(text);
    Message::from_json(value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::message;

    #[test]
    fn a_message_survives_the_round_trip_without_text_in_the_doc() {
        let m = message("7", "chat", 7);
        let doc = doc_of(&m);
        let value: Value = serde_json::from_str(&doc).unwrap();
        assert!(value.get("text").is_none(), "{doc}");
        assert_eq!(message_from_row(&doc, m.text.clone()).unwrap(), m);
    }

    #[test]
    fn damaged_docs_are_errors_not_panics() {
        for doc in ["not json", "[1, 2]", "42", "{\"id\": 5}"] {
            assert!(message_from_row(doc, "text".into()).is_err(), "{doc}");
        }
    }
}
