//! Canned responses: a workspace's ready answers, written with Jinja variables
//! (`Hi {{ profile.first_name }}, …`) that the inbox fills from the customer's profile, the
//! case and the agent before the agent edits and sends them.
//!
//! minijinja, with undefined variables an error rather than an empty string: an answer that
//! greets "Hi ," must not go out. Nothing is HTML-escaped; replies are plain text.

use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Map, Value, json};

/// Longest canned response.
pub const MAX_BODY: usize = 10_000;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

/// Why a canned response cannot be saved, if it cannot: empty, too long, or not a template.
pub fn check(body: &str) -> Result<(), String> {
    if body.trim().is_empty() || body.chars().count() > MAX_BODY {
        return Err(format!(
            "a canned response holds 1 to {MAX_BODY} characters"
        ));
    }
    environment()
        .template_from_str(body)
        .map(|_| ())
        .map_err(|e| format!("not a valid template: {e}"))
}

/// The first word of a name, unless the "name" is an address or handle.
fn first_word(name: &str) -> Option<String> {
    let word = name.split_whitespace().next()?;
    (!word.contains('@') && word.chars().next()?.is_alphabetic()).then(|| word.to_string())
}

/// What a canned response may use: `profile` (its traits, `name`, `first_name`,
/// `identities`), `case` (`subject`, `customer`, `channel`) and `agent` (`email`).
pub fn context(
    profile: Option<&Value>,
    subject: &str,
    customer: &str,
    channel: &str,
    agent: &str,
) -> Value {
    let mut p: Map<String, Value> = profile
        .and_then(|p| p["traits"].as_object().cloned())
        .unwrap_or_default();
    if let Some(ids) = profile.map(|p| p["identities"].clone()) {
        p.insert("identities".into(), ids);
    }
    let name = p
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| customer.to_string());
    if !p.contains_key("first_name")
        && let Some(first) = first_word(&name)
    {
        p.insert("first_name".into(), json!(first));
    }
    p.entry("name").or_insert(json!(name));
    json!({
        "profile": p,
        "case": {"subject": subject, "customer": customer, "channel": channel},
        "agent": {"email": agent},
    })
}

/// Fills `body` from `context`; an unknown variable is an error naming it.
pub fn render(body: &str, context: &Value) -> Result<String, String> {
    environment()
        .render_str(
            body,
            minijinja::Value::from(minijinja::value::Serde(context)),
        )
        .map_err(|e| format!("cannot fill the canned response: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_come_from_the_profile_the_case_and_the_agent() {
        let profile = json!({"traits": {"name": "Kim Lee", "tier": "gold"}, "identities": ["email:kim@example.com"]});
        let ctx = context(
            Some(&profile),
            "Broken blender",
            "Kim Lee",
            "email",
            "ann@acme.example",
        );
        let filled = render(
            "Hi {{ profile.first_name }}, about \"{{ case.subject }}\" ({{ profile.tier }}): {{ agent.email }}",
            &ctx,
        )
        .unwrap();
        assert_eq!(
            filled,
            "Hi Kim, about \"Broken blender\" (gold): ann@acme.example"
        );
    }

    #[test]
    fn without_a_profile_the_customer_name_is_used_and_unknowns_are_errors() {
        let ctx = context(None, "s", "Rae Smith", "chat", "a@b.example");
        assert_eq!(
            render("Hi {{ profile.first_name }}", &ctx).unwrap(),
            "Hi Rae"
        );
        let unknown = render("Hi {{ profile.nickname }}", &ctx).unwrap_err();
        assert!(unknown.contains("undefined"), "{unknown}");
        let handle = context(None, "s", "@kim99", "mastodon", "a@b.example");
        assert!(
            render("Hi {{ profile.first_name }}", &handle).is_err(),
            "no first name in a handle"
        );
        assert!(check("Hi {{ profile.first_name ").is_err());
        assert!(check("   ").is_err());
        assert!(check("Hi {{ profile.first_name }}, <b>not HTML</b>").is_ok());
        assert_eq!(
            render("<b>{{ case.customer }}</b>", &ctx).unwrap(),
            "<b>Rae Smith</b>",
            "plain text, no escaping"
        );
    }
}
