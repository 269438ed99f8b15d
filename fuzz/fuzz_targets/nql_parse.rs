//! The NQL parser, linter and compiler never panic, and every span they report lies on
//! character boundaries inside the query.
//!
//! `cargo fuzz run -s none nql_parse -- -max_total_time=60 -dict=nql.dict`

#![no_main]

use libfuzzer_sys::fuzz_target;
use needle_nql::syntax::{Expr, FieldValue};
use needle_nql::{Document, Span, compile, lint, parse};

fn check_span(query: &str, span: Span, what: &str) {
    assert!(
        span.start <= span.end
            && span.end <= query.len()
            && query.is_char_boundary(span.start)
            && query.is_char_boundary(span.end),
        "{what} span {span:?} out of {query:?}"
    );
}

fn check_expr(query: &str, e: &Expr) {
    check_span(query, e.span(), "node");
    match e {
        Expr::Term(t) => {
            check_span(query, t.inner, "term");
            assert!(t.span.start <= t.inner.start && t.inner.end <= t.span.end);
        }
        Expr::Field(f) => {
            check_span(query, f.name, "field name");
            match &f.value {
                FieldValue::Word(s) | FieldValue::Quoted(s) => check_span(query, *s, "value"),
                FieldValue::Range {
                    low,
                    to,
                    high,
                    whole,
                } => {
                    for s in [low, high, whole].into_iter().chain(to.as_ref()) {
                        check_span(query, *s, "range");
                    }
                }
                FieldValue::Missing => {}
            }
        }
        Expr::Group { inner, .. } | Expr::Not { inner, .. } | Expr::Tilde { inner, .. } => {
            check_expr(query, inner)
        }
        Expr::And { items, .. } | Expr::Or { items, .. } => {
            items.iter().for_each(|i| check_expr(query, i))
        }
        Expr::Prox {
            left,
            right,
            op_span,
            ..
        } => {
            check_span(query, *op_span, "operator");
            check_expr(query, left);
            check_expr(query, right);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse(query);
    if let Some(root) = &parsed.root {
        check_expr(query, root);
    }
    let report = lint(query);
    for d in report.errors.iter().chain(&report.warnings) {
        check_span(query, d.span(), d.code);
        assert!(!d.message.is_empty(), "{d:?}");
    }
    match compile(query) {
        Ok(compiled) => {
            assert!(report.errors.is_empty(), "compiled despite {report:?}");
            let _ = compiled.required_any_of();
            let doc = Document::from_text("apple abc é 周 🔥. #apple @acme_support b c ™");
            let _ = compiled.matches(&doc);
        }
        Err(r) => assert!(!r.errors.is_empty(), "refused without an error"),
    }
});
