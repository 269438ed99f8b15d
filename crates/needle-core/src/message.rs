//! The message: one shape for everything people say (shared/specs/message.md).
//!
//! Parsing goes through `serde_json::Value` by hand rather than `#[derive(Deserialize)]`
//! so that every rejection names the field and says what was expected, and so that fields
//! the spec does not list land in `extra` instead of being dropped.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Longest text a message may carry once normalised. Larger texts are rejected, not cut,
/// so nothing is silently lost.
pub const MAX_TEXT_BYTES: usize = 1024 * 1024;
/// Longest title, id, handle or other short field.
pub const MAX_SHORT_BYTES: usize = 4096;

/// Whether a message came to us or went out from us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "inbound" => Some(Direction::Inbound),
            "outbound" => Some(Direction::Outbound),
            _ => None,
        }
    }
}

/// How a message relates to another post on its channel; `None` is an original post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngagementType {
    Comment,
    Reply,
    Retweet,
    Quote,
}

impl EngagementType {
    pub fn as_str(self) -> &'static str {
        match self {
            EngagementType::Comment => "COMMENT",
            EngagementType::Reply => "REPLY",
            EngagementType::Retweet => "RETWEET",
            EngagementType::Quote => "QUOTE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "COMMENT" => Some(EngagementType::Comment),
            "REPLY" => Some(EngagementType::Reply),
            "RETWEET" | "RESHARE" => Some(EngagementType::Retweet),
            "QUOTE" => Some(EngagementType::Quote),
            _ => None,
        }
    }
}

/// Who said it. Every identifier here later feeds identity resolution.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Author {
    pub id: Option<String>,
    pub handle: Option<String>,
    pub name: Option<String>,
    pub followers: Option<u64>,
    pub verified: Option<bool>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub country: Option<String>,
    /// Author fields the spec does not list, kept as they came.
    pub extra: Map<String, Value>,
}

impl Author {
    /// The most stable identifier this author has on the channel, used to key authors.
    pub fn key(&self) -> String {
        if let Some(id) = &self.id {
            format!("id:{id}")
        } else if let Some(handle) = &self.handle {
            format!("handle:{}", handle.to_lowercase())
        } else if let Some(email) = &self.email {
            format!("email:{}", email.to_lowercase())
        } else {
            format!("phone:{}", self.phone.as_deref().unwrap_or_default())
        }
    }
}

/// One message, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    pub channel: String,
    pub account: Option<String>,
    pub direction: Direction,
    pub created_at: OffsetDateTime,
    pub text: String,
    pub title: Option<String>,
    pub lang: Option<String>,
    pub url: Option<String>,
    pub thread_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub engagement_type: Option<EngagementType>,
    pub author: Author,
    pub rating: Option<f64>,
    pub subreddit: Option<String>,
    pub metrics: Map<String, Value>,
    pub extra: Map<String, Value>,
}

/// Why a message was refused: which field, and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: Option<String>,
    pub reason: String,
}

impl Invalid {
    pub fn field(field: &str, reason: impl Into<String>) -> Self {
        Invalid {
            field: Some(field.to_string()),
            reason: reason.into(),
        }
    }

    pub fn whole(reason: impl Into<String>) -> Self {
        Invalid {
            field: None,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "field `{field}`: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for Invalid {}

const KNOWN_FIELDS: &[&str] = &[
    "id",
    "channel",
    "account",
    "direction",
    "created_at",
    "text",
    "title",
    "lang",
    "url",
    "thread_id",
    "in_reply_to",
    "engagement_type",
    "author",
    "rating",
    "subreddit",
    "metrics",
    "extra",
];

const KNOWN_AUTHOR_FIELDS: &[&str] = &[
    "id",
    "handle",
    "name",
    "followers",
    "verified",
    "email",
    "phone",
    "country",
];

/// How a JSON value's type is named in error messages ("a string", "an array", …).
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads an optional string; `null` and absent are the same. Short fields are capped.
/// Fields are taken out of the parsed object rather than cloned: what is left at the end is
/// exactly the unknown fields, which go to `extra`.
fn opt_string(
    obj: &mut Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, Invalid> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            if s.len() > MAX_SHORT_BYTES {
                return Err(Invalid::field(
                    path,
                    format!(
                        "is {} bytes, more than the {MAX_SHORT_BYTES}-byte limit",
                        s.len()
                    ),
                ));
            }
            let trimmed = s.trim();
            if trimmed.is_empty() {
                Ok(None)
            } else if trimmed.len() == s.len() {
                Ok(Some(s))
            } else {
                Ok(Some(trimmed.to_string()))
            }
        }
        Some(other) => Err(Invalid::field(
            path,
            format!("expected a string, got {}", type_name(&other)),
        )),
    }
}

/// Ids may be strings or integers: many channels number their posts.
fn opt_id(obj: &mut Map<String, Value>, key: &str, path: &str) -> Result<Option<String>, Invalid> {
    match obj.get(key) {
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => {
            let id = n.to_string();
            obj.remove(key);
            Ok(Some(id))
        }
        _ => opt_string(obj, key, path),
    }
}

fn opt_u64(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<u64>, Invalid> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                Ok(Some(u))
            } else if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0) {
                Ok(Some(f as u64))
            } else {
                Err(Invalid::field(
                    path,
                    format!("expected a non-negative integer, got {n}"),
                ))
            }
        }
        Some(other) => Err(Invalid::field(
            path,
            format!("expected a non-negative integer, got {}", type_name(other)),
        )),
    }
}

fn opt_bool(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<bool>, Invalid> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(Invalid::field(
            path,
            format!("expected true or false, got {}", type_name(other)),
        )),
    }
}

fn opt_object(
    obj: &mut Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<Map<String, Value>>, Invalid> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(Invalid::field(
            path,
            format!("expected an object, got {}", type_name(&other)),
        )),
    }
}

/// Parses an RFC 3339 time and brings it to UTC.
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    let t = OffsetDateTime::parse(s.trim(), &Rfc3339).ok()?;
    Some(t.to_offset(time::UtcOffset::UTC))
}

/// Formats a time as RFC 3339 in UTC, the one way Needle writes times.
pub fn format_time(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn is_channel_word(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && s.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Accepts ISO 639-1 (`en`), any case, and the primary subtag of a BCP 47 tag (`en-US`).
fn parse_lang(raw: &str) -> Result<Option<String>, Invalid> {
    let primary = raw
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if primary == "und" {
        return Ok(None);
    }
    if primary.len() == 2 && primary.bytes().all(|b| b.is_ascii_lowercase()) {
        Ok(Some(primary))
    } else {
        Err(Invalid::field(
            "lang",
            format!("expected an ISO 639-1 code such as \"en\", got {raw:?}"),
        ))
    }
}

fn parse_country(raw: &str) -> Result<String, Invalid> {
    let upper = raw.to_ascii_uppercase();
    if (upper.len() == 2 || upper.len() == 3) && upper.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(upper)
    } else {
        Err(Invalid::field(
            "author.country",
            format!("expected an ISO 3166 code such as \"KR\" or \"KOR\", got {raw:?}"),
        ))
    }
}

impl Message {
    /// Builds a message from one parsed JSON value, or says what is wrong with it.
    ///
    /// Text is taken as given here; the pipeline's normalise stage cleans it
    /// ([`crate::normalize`]).
    pub fn from_json(value: Value) -> Result<Message, Invalid> {
        let Value::Object(mut obj) = value else {
            return Err(Invalid::whole(format!(
                "expected a JSON object, got {}",
                type_name(&value)
            )));
        };

        let id = opt_id(&mut obj, "id", "id")?
            .ok_or_else(|| Invalid::field("id", "is required and was missing or empty"))?;
        let channel_raw = opt_string(&mut obj, "channel", "channel")?
            .ok_or_else(|| Invalid::field("channel", "is required and was missing or empty"))?;
        let channel = channel_raw.to_ascii_lowercase();
        if !is_channel_word(&channel) {
            return Err(Invalid::field(
                "channel",
                format!(
                    "expected a lower-case word such as \"email\" or \"mastodon\", got {channel_raw:?}"
                ),
            ));
        }
        let direction = match opt_string(&mut obj, "direction", "direction")? {
            None => Direction::Inbound,
            Some(d) => Direction::parse(&d.to_ascii_lowercase()).ok_or_else(|| {
                Invalid::field(
                    "direction",
                    format!("expected \"inbound\" or \"outbound\", got {d:?}"),
                )
            })?,
        };
        let created_at = match obj.get("created_at") {
            None | Some(Value::Null) => {
                return Err(Invalid::field("created_at", "is required and was missing"));
            }
            Some(Value::String(s)) => parse_time(s).ok_or_else(|| {
                Invalid::field(
                    "created_at",
                    format!(
                        "expected an RFC 3339 time such as \"2026-03-02T14:05:09Z\", got {s:?}"
                    ),
                )
            })?,
            Some(other) => {
                return Err(Invalid::field(
                    "created_at",
                    format!(
                        "expected an RFC 3339 time as a string, got {}",
                        type_name(other)
                    ),
                ));
            }
        };
        let text = match obj.remove("text") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s,
            Some(other) => {
                return Err(Invalid::field(
                    "text",
                    format!("expected a string, got {}", type_name(&other)),
                ));
            }
        };
        let title = opt_string(&mut obj, "title", "title")?;
        if text.trim().is_empty() && title.is_none() {
            return Err(Invalid::field(
                "text",
                "is required (it may be empty only when `title` is set)",
            ));
        }
        if text.len() > MAX_TEXT_BYTES {
            return Err(Invalid::field(
                "text",
                format!(
                    "is {} bytes, more than the {MAX_TEXT_BYTES}-byte limit",
                    text.len()
                ),
            ));
        }
        let lang = match opt_string(&mut obj, "lang", "lang")? {
            None => None,
            Some(raw) => parse_lang(&raw)?,
        };
        let engagement_type = match opt_string(&mut obj, "engagement_type", "engagement_type")? {
            None => None,
            Some(raw) => Some(EngagementType::parse(&raw).ok_or_else(|| {
                Invalid::field(
                    "engagement_type",
                    format!("expected COMMENT, REPLY, RETWEET or QUOTE, got {raw:?}"),
                )
            })?),
        };
        let rating = match obj.get("rating") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => {
                let r = n.as_f64().unwrap_or(f64::NAN);
                if !(0.0..=5.0).contains(&r) {
                    return Err(Invalid::field(
                        "rating",
                        format!("expected a number from 0 to 5, got {n}"),
                    ));
                }
                Some(r)
            }
            Some(other) => {
                return Err(Invalid::field(
                    "rating",
                    format!("expected a number from 0 to 5, got {}", type_name(other)),
                ));
            }
        };
        let subreddit = opt_string(&mut obj, "subreddit", "subreddit")?.map(|s| {
            s.strip_prefix("r/")
                .or_else(|| s.strip_prefix("/r/"))
                .unwrap_or(&s)
                .to_string()
        });
        let metrics = opt_object(&mut obj, "metrics", "metrics")?.unwrap_or_default();
        for (key, value) in &metrics {
            if !value.is_u64() && !value.is_null() {
                return Err(Invalid::field(
                    &format!("metrics.{key}"),
                    format!("expected a non-negative integer, got {}", type_name(value)),
                ));
            }
        }
        let author = Self::author_from_json(obj.remove("author"))?;

        let mut extra = opt_object(&mut obj, "extra", "extra")?.unwrap_or_default();
        let message = Message {
            account: opt_string(&mut obj, "account", "account")?,
            url: opt_string(&mut obj, "url", "url")?,
            thread_id: opt_id(&mut obj, "thread_id", "thread_id")?,
            in_reply_to: opt_id(&mut obj, "in_reply_to", "in_reply_to")?,
            id,
            channel,
            direction,
            created_at,
            text,
            title,
            lang,
            engagement_type,
            author,
            rating,
            subreddit,
            metrics,
            extra: Map::new(),
        };
        // Unknown top-level fields are kept, never dropped; an explicit `extra` wins a clash.
        for key in KNOWN_FIELDS {
            obj.remove(*key);
        }
        for (key, value) in obj {
            extra.entry(key).or_insert(value);
        }
        Ok(Message { extra, ..message })
    }

    fn author_from_json(value: Option<Value>) -> Result<Author, Invalid> {
        let mut obj = match value {
            None | Some(Value::Null) => {
                return Err(Invalid::field(
                    "author",
                    "is required: give at least one of handle, email, phone or id",
                ));
            }
            Some(Value::Object(obj)) => obj,
            Some(other) => {
                return Err(Invalid::field(
                    "author",
                    format!("expected an object, got {}", type_name(&other)),
                ));
            }
        };
        let obj = &mut obj;
        let author = Author {
            id: opt_id(obj, "id", "author.id")?,
            handle: opt_string(obj, "handle", "author.handle")?
                .map(|h| h.trim_start_matches('@').to_string())
                .filter(|h| !h.is_empty()),
            name: opt_string(obj, "name", "author.name")?,
            followers: opt_u64(obj, "followers", "author.followers")?,
            verified: opt_bool(obj, "verified", "author.verified")?,
            email: opt_string(obj, "email", "author.email")?,
            phone: opt_string(obj, "phone", "author.phone")?,
            country: opt_string(obj, "country", "author.country")?
                .map(|c| parse_country(&c))
                .transpose()?,
            extra: Map::new(),
        };
        for key in KNOWN_AUTHOR_FIELDS {
            obj.remove(*key);
        }
        let author = Author {
            extra: std::mem::take(obj),
            ..author
        };
        if author.id.is_none()
            && author.handle.is_none()
            && author.email.is_none()
            && author.phone.is_none()
        {
            return Err(Invalid::field(
                "author",
                "needs at least one of handle, email, phone or id",
            ));
        }
        Ok(author)
    }

    /// The message in the shape of shared/specs/message.md.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("id".into(), self.id.clone().into());
        obj.insert("channel".into(), self.channel.clone().into());
        obj.insert("account".into(), opt_value(&self.account));
        obj.insert("direction".into(), self.direction.as_str().into());
        obj.insert("created_at".into(), format_time(self.created_at).into());
        obj.insert("text".into(), self.text.clone().into());
        obj.insert("title".into(), opt_value(&self.title));
        obj.insert("lang".into(), opt_value(&self.lang));
        obj.insert("url".into(), opt_value(&self.url));
        obj.insert("thread_id".into(), opt_value(&self.thread_id));
        obj.insert("in_reply_to".into(), opt_value(&self.in_reply_to));
        obj.insert(
            "engagement_type".into(),
            self.engagement_type
                .map_or(Value::Null, |e| e.as_str().into()),
        );
        obj.insert("author".into(), self.author.to_json());
        obj.insert(
            "rating".into(),
            self.rating.map_or(Value::Null, Value::from),
        );
        obj.insert("subreddit".into(), opt_value(&self.subreddit));
        obj.insert("metrics".into(), Value::Object(self.metrics.clone()));
        obj.insert("extra".into(), Value::Object(self.extra.clone()));
        Value::Object(obj)
    }
}

fn opt_value(v: &Option<String>) -> Value {
    v.clone().map_or(Value::Null, Value::String)
}

impl Author {
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("id".into(), opt_value(&self.id));
        obj.insert("handle".into(), opt_value(&self.handle));
        obj.insert("name".into(), opt_value(&self.name));
        obj.insert(
            "followers".into(),
            self.followers.map_or(Value::Null, Value::from),
        );
        obj.insert(
            "verified".into(),
            self.verified.map_or(Value::Null, Value::from),
        );
        obj.insert("email".into(), opt_value(&self.email));
        obj.insert("phone".into(), opt_value(&self.phone));
        obj.insert("country".into(), opt_value(&self.country));
        for (k, v) in &self.extra {
            obj.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        json!({"id": "m1", "channel": "email", "created_at": "2026-03-02T14:05:09Z",
               "text": "hello", "author": {"handle": "kim"}})
    }

    fn reason_for(patch: impl FnOnce(&mut Map<String, Value>)) -> String {
        let mut v = minimal();
        patch(v.as_object_mut().unwrap());
        Message::from_json(v).unwrap_err().to_string()
    }

    #[test]
    fn spec_example_round_trips_with_unknown_fields_in_extra() {
        let input = json!({
          "id": "tw-1380417032", "channel": "mastodon", "account": "@acme@mastodon.social",
          "direction": "inbound", "created_at": "2026-03-02T15:05:09+01:00",
          "text": "I need to clean Office off my Windows laptop", "title": null, "lang": null,
          "url": "https://mastodon.social/@kim/1380417032", "thread_id": "tw-1380410000",
          "in_reply_to": "tw-1380410000", "engagement_type": "REPLY",
          "author": {"id": "109876", "handle": "@kim", "name": "Kim Lee", "followers": 1520,
                     "verified": false, "country": "kr", "pronouns": "she/her"},
          "rating": null, "subreddit": null, "metrics": {"likes": 3, "reshares": 0},
          "extra": {"campaign": "x"}, "sentiment_hint": "angry"
        });
        let m = Message::from_json(input).unwrap();
        assert_eq!(format_time(m.created_at), "2026-03-02T14:05:09Z");
        assert_eq!(m.author.handle.as_deref(), Some("kim"));
        assert_eq!(m.author.country.as_deref(), Some("KR"));
        assert_eq!(m.engagement_type, Some(EngagementType::Reply));
        assert_eq!(m.extra["sentiment_hint"], "angry");
        assert_eq!(m.extra["campaign"], "x");
        let out = m.to_json();
        assert_eq!(out["author"]["pronouns"], "she/her");
        assert_eq!(Message::from_json(out).unwrap(), m);
    }

    #[test]
    fn each_bad_field_names_itself() {
        assert!(
            reason_for(|o| {
                o.remove("created_at");
            })
            .contains("`created_at`: is required")
        );
        assert!(
            reason_for(|o| {
                o.insert("created_at".into(), json!("yesterday"));
            })
            .contains("RFC 3339")
        );
        assert!(
            reason_for(|o| {
                o.insert("created_at".into(), json!(1700000000));
            })
            .contains("got a number")
        );
        assert!(
            reason_for(|o| {
                o.insert("text".into(), json!(42));
            })
            .contains("`text`: expected a string")
        );
        assert!(
            reason_for(|o| {
                o.insert("author".into(), json!({"name": "no identifier"}));
            })
            .contains("`author`")
        );
        assert!(
            reason_for(|o| {
                o.insert("channel".into(), json!("Not A Word"));
            })
            .contains("`channel`")
        );
        assert!(
            reason_for(|o| {
                o.insert("rating".into(), json!(6));
            })
            .contains("`rating`")
        );
        assert!(
            reason_for(|o| {
                o.insert("author".into(), json!({"handle": "k", "followers": "many"}));
            })
            .contains("`author.followers`")
        );
        assert!(
            reason_for(|o| {
                o.insert("metrics".into(), json!({"likes": -1}));
            })
            .contains("`metrics.likes`")
        );
        assert!(
            reason_for(|o| {
                o.insert("text".into(), json!(""));
            })
            .contains("only when `title` is set")
        );
    }

    #[test]
    fn empty_text_is_allowed_with_a_title_and_numeric_ids_become_strings() {
        let mut v = minimal();
        v["text"] = json!("");
        v["title"] = json!("Subject");
        v["id"] = json!(1380417032u64);
        let m = Message::from_json(v).unwrap();
        assert_eq!(m.id, "1380417032");
        assert_eq!(m.title.as_deref(), Some("Subject"));
    }

    #[test]
    fn oversized_text_is_refused_with_its_size() {
        let mut v = minimal();
        v["text"] = json!("x".repeat(MAX_TEXT_BYTES + 1));
        assert!(
            Message::from_json(v)
                .unwrap_err()
                .to_string()
                .contains("limit")
        );
    }

    #[test]
    fn lang_accepts_bcp47_and_refuses_words() {
        let mut v = minimal();
        v["lang"] = json!("de-AT");
        assert_eq!(Message::from_json(v).unwrap().lang.as_deref(), Some("de"));
        let mut v = minimal();
        v["lang"] = json!("english");
        assert!(Message::from_json(v).is_err());
    }
}
