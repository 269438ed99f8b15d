//! Normalisation: every text Needle stores is plain, NFC, and free of control characters,
//! so that matching, search and display see the same characters whatever the channel sent.

use std::borrow::Cow;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use crate::message::{Invalid, MAX_TEXT_BYTES, Message};

/// Tags that only HTML uses. Text is converted only when one of them (or an entity) is
/// present, so "a<b", "I <3 you" and "x > y" stay as the person wrote them.
const HTML_TAGS: &[&str] = &[
    "a",
    "abbr",
    "b",
    "blockquote",
    "body",
    "br",
    "center",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "hr",
    "html",
    "i",
    "iframe",
    "img",
    "li",
    "meta",
    "ol",
    "p",
    "pre",
    "s",
    "script",
    "small",
    "span",
    "strong",
    "style",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "title",
    "tr",
    "u",
    "ul",
];

/// Whether `text` looks like HTML: a known tag, a comment, a doctype, or a character entity.
pub fn looks_like_html(text: &str) -> bool {
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices(['<', '&']) {
        let rest = &bytes[i + 1..];
        if bytes[i] == b'&' {
            if is_entity(rest) {
                return true;
            }
            continue;
        }
        if rest.starts_with(b"!--")
            || rest.len() >= 8 && rest[..8].eq_ignore_ascii_case(b"!doctype")
        {
            return true;
        }
        let name_start = usize::from(rest.first() == Some(&b'/'));
        let name: Vec<u8> = rest[name_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .map(u8::to_ascii_lowercase)
            .collect();
        let after = rest.get(name_start + name.len()).copied();
        let closes = matches!(
            after,
            None | Some(b'>' | b' ' | b'/' | b'\t' | b'\n' | b'\r')
        );
        let has_end = text[i..].contains('>');
        if closes && has_end && HTML_TAGS.iter().any(|t| t.as_bytes() == name.as_slice()) {
            return true;
        }
    }
    false
}

fn is_entity(rest: &[u8]) -> bool {
    let body: Vec<u8> = rest
        .iter()
        .take(12)
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'#')
        .copied()
        .collect();
    !body.is_empty() && rest.get(body.len()) == Some(&b';')
}

/// Turns HTML into the text a reader would see: scripts and styles dropped, entities decoded,
/// block elements on their own lines.
pub fn html_to_text(html: &str) -> String {
    use html2text::render::TrivialDecorator;

    // The trivial decorator writes a link as its text: no brackets or footnotes around
    // mentions, hashtags and links, as a reader of the page sees them.
    let rendered = html2text::config::with_decorator(TrivialDecorator::new())
        .allow_width_overflow()
        .no_link_wrapping()
        .raw_mode(true)
        .string_from_read(html.as_bytes(), 1 << 20);
    match rendered {
        Ok(text) => text
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_string(),
        // The renderer refuses only pathological input; keep the words rather than fail.
        Err(_) => strip_tags(html),
    }
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// NFC, line ends as `\n`, and no control characters but newline and tab.
pub fn clean_text(text: &str) -> Cow<'_, str> {
    let clean = text
        .bytes()
        .all(|b| b >= 0x20 && b != 0x7f || b == b'\n' || b == b'\t')
        && !text.contains('\u{feff}')
        && !text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t');
    let nfc = is_nfc_quick(text.chars()) == IsNormalized::Yes;
    if clean && nfc {
        return Cow::Borrowed(text);
    }
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    let kept: String = unified
        .chars()
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control() && c != '\u{feff}')
        .collect();
    Cow::Owned(if nfc { kept } else { kept.nfc().collect() })
}

/// A single line: titles and names lose their line breaks too.
fn clean_line(text: &str) -> String {
    let cleaned = clean_text(text);
    let mut out = String::with_capacity(cleaned.len());
    for word in cleaned.split(['\n', '\t']) {
        if !out.is_empty() && !word.is_empty() {
            out.push(' ');
        }
        out.push_str(word.trim_matches(' '));
    }
    out.trim().to_string()
}

/// Normalises a message in place: HTML to text, NFC, control characters removed.
/// Refuses a message whose text becomes empty (with no title) or too large.
pub fn normalize(message: &mut Message) -> Result<(), Invalid> {
    if looks_like_html(&message.text) {
        message.text = html_to_text(&message.text);
    }
    if let Cow::Owned(cleaned) = clean_text(&message.text) {
        message.text = cleaned;
    }
    let trimmed = message.text.trim();
    if trimmed.len() != message.text.len() {
        message.text = trimmed.to_string();
    }
    if let Some(title) = message.title.as_mut() {
        let plain = if looks_like_html(title) {
            html_to_text(title)
        } else {
            title.clone()
        };
        *title = clean_line(&plain);
    }
    if message.title.as_deref() == Some("") {
        message.title = None;
    }
    if let Some(name) = message.author.name.as_mut() {
        *name = clean_line(name);
    }
    if message.text.is_empty() && message.title.is_none() {
        return Err(Invalid::field(
            "text",
            "has no visible text once HTML and control characters are removed",
        ));
    }
    if message.text.len() > MAX_TEXT_BYTES {
        return Err(Invalid::field(
            "text",
            format!("is more than the {MAX_TEXT_BYTES}-byte limit once normalised"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_html_but_not_comparisons_or_hearts() {
        assert!(looks_like_html("<p>Hello</p>"));
        assert!(looks_like_html("Fish &amp; chips"));
        assert!(looks_like_html("line<br/>break"));
        assert!(looks_like_html("<!-- c -->x"));
        assert!(!looks_like_html("I <3 you"));
        assert!(!looks_like_html("if a<b then c"));
        assert!(!looks_like_html("Fish & chips; yum"));
        assert!(!looks_like_html("price <bargain> today"));
    }

    #[test]
    fn html_becomes_readable_text_without_script() {
        let text = html_to_text(
            "<p>Hello,</p><p>my order <b>A-123</b> &amp; more</p><script>alert(1)</script>\
             <style>p{color:red}</style>",
        );
        assert!(text.contains("Hello,"), "{text}");
        assert!(text.contains("my order A-123 & more"), "{text}");
        assert!(!text.contains("alert"), "{text}");
        assert!(!text.contains("color"), "{text}");
        assert!(!text.contains('<'), "{text}");
    }

    #[test]
    fn clean_text_composes_and_drops_controls() {
        let decomposed = "Cafe\u{301}\u{0}\u{7}\r\nok\u{feff}";
        assert_eq!(clean_text(decomposed), "Café\nok");
        assert!(matches!(clean_text("plain text"), Cow::Borrowed(_)));
        assert_eq!(clean_text("tab\tstays"), "tab\tstays");
    }

    #[test]
    fn text_that_is_only_markup_is_refused() {
        let mut m = crate::Message::from_json(serde_json::json!({
            "id": "1", "channel": "email", "created_at": "2026-01-01T00:00:00Z",
            "text": "<p><script>x()</script></p>", "author": {"email": "a@b.c"}
        }))
        .unwrap();
        assert!(normalize(&mut m).is_err());
    }
}
