//! Faithfulness: Needle's VADER port against the Python reference (vaderSentiment 3.3.2) on
//! sentences written for this fixture (see fixtures/README.md).

#[test]
fn compound_scores_agree_with_the_python_reference() {
    let fixture = include_str!("fixtures/vader_reference.jsonl");
    let mut checked = 0;
    let mut deviations = Vec::new();
    for line in fixture.lines().filter(|l| !l.trim().is_empty()) {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        let text = row["text"].as_str().unwrap();
        let expected = row["compound"].as_f64().unwrap();
        let got = needle_classify::vader::compound(text);
        if (got - expected).abs() > 1e-3 {
            deviations.push(format!("{text:?}: needle {got}, reference {expected}"));
        }
        checked += 1;
    }
    assert!(checked >= 200, "fixture has {checked} sentences");
    assert!(
        deviations.is_empty(),
        "{} deviations:\n{}",
        deviations.len(),
        deviations.join("\n")
    );
}
