//! Relevance learned per topic through the API: labels stored per workspace and topic, scores
//! explained by the nearest labelled messages, with the real all-MiniLM-L6-v2 — and what the
//! API says when the model is not there.

use serde_json::{Value, json};

use crate::serve::{Server, message, post, send};

fn ingest(server: &Server, workspace: &str, messages: Value) {
    let (status, body) = post(
        &server.url(&format!("/api/v1/messages?workspace={workspace}")),
        "application/json",
        &messages.to_string(),
    );
    assert_eq!(status, 200, "{body}");
}

fn topic(server: &Server, workspace: &str, key: &str, query: &str) {
    let (status, body) = send(
        "POST",
        &server.url(&format!("/api/v1/topics?workspace={workspace}")),
        Some(json!({"id": key, "level": "brand", "query": query})),
    );
    assert_eq!(status, 201, "{body}");
}

fn label(server: &Server, workspace: &str, key: &str, id: &str, relevant: bool) -> Value {
    let (status, body) = send(
        "POST",
        &server.url(&format!(
            "/api/v1/topics/{key}/labels?workspace={workspace}"
        )),
        Some(json!({"message": {"channel": "mastodon", "id": id}, "relevant": relevant})),
    );
    assert_eq!(status, 201, "{body}");
    body
}

fn score(server: &Server, workspace: &str, key: &str, text: &str) -> Value {
    let (status, body) = send(
        "POST",
        &server.url(&format!(
            "/api/v1/topics/{key}/relevance?workspace={workspace}"
        )),
        Some(json!({"text": text})),
    );
    assert_eq!(status, 200, "{body}");
    body
}

#[test]
fn labels_work_without_a_model_and_scoring_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let empty_models = dir.path().join("no-models");
    let server = Server::start(
        &dir.path().join("data"),
        &["--models", empty_models.to_str().unwrap()],
    );
    ingest(
        &server,
        "default",
        json!([message("1", "clean Office off my Windows", 1)]),
    );
    topic(&server, "default", "office", "office");
    let first = label(&server, "default", "office", "1", true);
    assert_eq!(first["relevant"], true);
    assert_eq!(first["message"]["id"], "1");
    assert_eq!(first["text"], "clean Office off my Windows");
    // Labelling again replaces the verdict.
    let again = label(&server, "default", "office", "1", false);
    assert_eq!(again["id"], first["id"]);
    let (status, listed) = send("GET", &server.url("/api/v1/topics/office/labels"), None);
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["relevant"], false);

    let (status, body) = send(
        "POST",
        &server.url("/api/v1/topics/office/relevance"),
        Some(json!({"text": "Office on Windows"})),
    );
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("needle models fetch"),
        "{body}"
    );

    // Bad input, each with its reason.
    let labels_url = server.url("/api/v1/topics/office/labels");
    let bad = |body: Value| send("POST", &labels_url, Some(body));
    let (status, body) =
        bad(json!({"message": {"channel": "mastodon", "id": "nope"}, "relevant": true}));
    assert_eq!(status, 404, "{body}");
    let (status, body) =
        bad(json!({"message": {"channel": "mastodon", "id": "1"}, "relevant": "yes"}));
    assert_eq!(status, 422, "{body}");
    let (status, _) = bad(json!({"relevant": true}));
    assert_eq!(status, 422);
    let (status, body) = post(&labels_url, "application/json", "{\"relevant\": tru");
    assert_eq!(status, 400, "{body}");
    let (status, body) = send(
        "POST",
        &server.url("/api/v1/topics/nope/labels"),
        Some(json!({"message": {"channel": "mastodon", "id": "1"}, "relevant": true})),
    );
    assert_eq!(status, 404, "{body}");
    let (status, body) = send(
        "POST",
        &server.url("/api/v1/topics/office/relevance"),
        Some(json!({"text": "x", "channel": "mastodon"})),
    );
    assert_eq!(status, 400, "{body}");

    let (status, _) = send(
        "DELETE",
        &server.url("/api/v1/topics/office/labels/abc"),
        None,
    );
    assert_eq!(status, 400);
    let id = first["id"].as_i64().unwrap();
    let one = server.url(&format!("/api/v1/topics/office/labels/{id}"));
    assert_eq!(send("DELETE", &one, None).0, 204);
    assert_eq!(send("DELETE", &one, None).0, 404);
    let (_, listed) = send("GET", &labels_url, None);
    assert_eq!(listed, json!([]));
}

#[test]
fn each_workspace_teaches_its_topic_what_its_words_mean() {
    let Some(models) = needle_embed::testing::test_models() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &["--models", models.root().to_str().unwrap()],
    );

    // A software reseller: Office on Windows is the topic; window cleaning is not.
    ingest(
        &server,
        "default",
        json!([
            message("o1", "clean Office off my Windows", 1),
            message("o2", "clean the windows on my office", 2),
            message("o3", "how do I uninstall Office from my Windows PC", 3),
        ]),
    );
    topic(&server, "default", "office", "office AND windows");
    label(&server, "default", "office", "o1", true);
    label(&server, "default", "office", "o2", false);
    let software = score(
        &server,
        "default",
        "office",
        "reinstall Microsoft Office on Windows 11",
    );
    assert_eq!(software["relevant"], true, "{software}");
    assert_eq!(software["method"], "neighbours");
    assert_eq!(software["labels"], 2);
    assert_eq!(
        software["nearest"][0]["text"],
        "clean Office off my Windows"
    );
    let similarity = software["nearest"][0]["similarity"].as_f64().unwrap();
    assert!(similarity > software["nearest"][1]["similarity"].as_f64().unwrap());
    let glass = score(
        &server,
        "default",
        "office",
        "washing the office windows with a squeegee",
    );
    assert_eq!(glass["relevant"], false, "{glass}");
    // A stored message scores by reference, GET or POST.
    let (status, stored) = send(
        "GET",
        &server.url("/api/v1/topics/office/relevance?channel=mastodon&id=o3"),
        None,
    );
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["relevant"], true, "{stored}");

    // A hospital and an energy-drink brand: "sick" means what each taught.
    for (workspace, topic_key, relevant_ids) in [
        ("hospital", "symptoms", ["h1", "h2"]),
        ("drink", "praise", ["h3", "h4"]),
    ] {
        let (status, _) = send(
            "POST",
            &server.url("/api/v1/workspaces"),
            Some(json!({"name": workspace})),
        );
        assert!(status == 201 || status == 200, "{status}");
        ingest(
            &server,
            workspace,
            json!([
                message("h1", "I feel sick", 1),
                message("h2", "I've been throwing up all night and feel sick", 2),
                message("h3", "that was sick dude", 3),
                message("h4", "this flavour is sick, love it", 4),
            ]),
        );
        topic(&server, workspace, topic_key, "sick");
        for id in ["h1", "h2", "h3", "h4"] {
            label(
                &server,
                workspace,
                topic_key,
                id,
                relevant_ids.contains(&id),
            );
        }
    }
    let ill = "feeling sick with a fever since yesterday";
    let praise = "dude that new can is sick";
    assert_eq!(
        score(&server, "hospital", "symptoms", ill)["relevant"],
        true
    );
    assert_eq!(
        score(&server, "hospital", "symptoms", praise)["relevant"],
        false
    );
    assert_eq!(score(&server, "drink", "praise", ill)["relevant"], false);
    let drink = score(&server, "drink", "praise", praise);
    assert_eq!(drink["relevant"], true, "{drink}");
    assert!(
        ["that was sick dude", "this flavour is sick, love it"]
            .contains(&drink["nearest"][0]["text"].as_str().unwrap()),
        "{drink}"
    );

    // Custom intents by a few examples each; "none" is an empty list.
    let (status, intents) = send(
        "POST",
        &server.url("/api/v1/intents/classify"),
        Some(json!({
            "intents": {
                "refund": ["I want my money back", "please refund my order"],
                "delivery": ["where is my parcel", "my package has not arrived yet"],
            },
            "texts": [
                "can I get a refund for this broken kettle",
                "the parcel still hasn't shown up",
                "what a lovely sunny day",
            ],
        })),
    );
    assert_eq!(status, 200, "{intents}");
    let first_intent = |i: usize| intents["results"][i]["intents"][0]["intent"].clone();
    assert_eq!(first_intent(0), "refund", "{intents}");
    assert_eq!(first_intent(1), "delivery", "{intents}");
    assert_eq!(intents["results"][2]["intents"], json!([]), "{intents}");
}
