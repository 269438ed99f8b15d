//! Teams over real HTTP: new cases go to the team that takes their channel, are due in the
//! team's business hours, and are assigned round robin or to the least loaded member; cases
//! move between teams by hand; bad teams are refused with reasons.

use serde_json::{Value, json};

use crate::serve::*;

fn email(id: &str, at: &str) -> Value {
    json!({"id": id, "channel": "email", "thread_id": format!("thread-{id}"), "created_at": at,
           "title": format!("Order {id}"), "text": "Hello, a word about my order please.",
           "author": {"email": format!("{id}@example.com"), "name": "Kim Lee"}})
}

fn ingest(server: &Server, messages: Value) {
    let (status, body) = post(
        &server.url("/api/v1/messages"),
        "application/json",
        &messages.to_string(),
    );
    assert_eq!(status, 200, "{body}");
}

fn cases_of(server: &Server, queue: &str) -> Vec<Value> {
    let (status, body) = get(&server.url(&format!("/api/v1/cases?queue={queue}")));
    assert_eq!(status, 200, "{body}");
    body["cases"].as_array().unwrap().clone()
}

#[test]
fn teams_take_their_channels_cases_in_their_hours_and_share_them_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    for (who, role) in [("kim", "agent"), ("bo", "agent"), ("ann", "analyst")] {
        add_user(
            &data,
            &format!("{who}@example.com"),
            role,
            None,
            "a long passphrase",
        );
    }
    let team = |name: &str, body: Value| {
        send(
            "PUT",
            &server.url(&format!("/api/v1/teams/{name}")),
            Some(body),
        )
    };
    let care = json!({"members": ["kim@example.com", "BO@example.com"],
                      "hours": "mon-fri 09:00-17:00 utc", "assignment": "round_robin",
                      "channels": ["email"]});
    let (status, saved) = team("care", care.clone());
    assert_eq!(status, 201, "{saved}");
    assert_eq!(
        saved["hours"], "Mon-Fri 09:00-17:00 UTC",
        "kept in one spelling"
    );
    assert_eq!(saved["members"][1]["email"], "bo@example.com");
    assert_eq!(team("care", care.clone()).0, 200, "saving again replaces");

    for (body, why) in [
        (json!({"hours": "Mon-Fry 09:00-17:00"}), "not a day"),
        (
            json!({"assignment": "random", "members": ["kim@example.com"]}),
            "round_robin",
        ),
        (json!({"assignment": "round_robin"}), "needs members"),
        (json!({"members": ["ann@example.com"]}), "agents or admins"),
        (json!({"members": ["who@example.com"]}), "no role"),
        (json!({"channels": [""]}), "channel kinds"),
        (json!({"surprise": 1}), "unknown field"),
    ] {
        let (status, refused) = team("bad", body.clone());
        assert!(status == 400 || status == 422, "{body}: {status} {refused}");
        assert!(refused.to_string().contains(why), "{body}: {refused}");
    }
    assert_eq!(team("bad%20name", json!({})).0, 400);

    // Friday evening: nobody works until Monday 09:00, so a normal case (4 h to answer) is
    // due Monday 13:00.
    ingest(
        &server,
        json!([
            email("a", "2026-12-04T18:00:00Z"),
            email("b", "2026-12-04T18:01:00Z"),
            email("c", "2026-12-04T18:02:00Z"),
        ]),
    );
    let cases = cases_of(&server, "team:care");
    assert_eq!(cases.len(), 3, "{cases:?}");
    let mut by_subject: Vec<(String, String, String)> = cases
        .iter()
        .map(|c| {
            assert_eq!(c["team"], "care");
            assert_eq!(c["priority"], "normal", "{c}");
            assert_eq!(c["first_response_due"], "2026-12-07T13:00:00Z", "{c}");
            (
                c["subject"].as_str().unwrap().to_string(),
                c["assignee"].as_str().unwrap_or("").to_string(),
                c["id"].to_string(),
            )
        })
        .collect();
    by_subject.sort();
    let turns: Vec<&str> = by_subject.iter().map(|(_, a, _)| a.as_str()).collect();
    assert_eq!(
        turns,
        ["kim@example.com", "bo@example.com", "kim@example.com"]
    );
    let (_, case) = get(&server.url(&format!("/api/v1/cases/{}", by_subject[0].2)));
    let assigned = case["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "assigned")
        .unwrap();
    assert_eq!(
        assigned["actor"], "needle (round robin in care)",
        "{assigned}"
    );

    // Least loaded: bo holds one case, kim two.
    let (_, listed) = get(&server.url("/api/v1/teams"));
    let load: Vec<u64> = listed["teams"][0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["open_cases"].as_u64().unwrap())
        .collect();
    assert_eq!(load, [2, 1]);
    let mut least = care.clone();
    least["assignment"] = json!("least_loaded");
    assert_eq!(team("care", least).0, 200);
    ingest(&server, json!([email("d", "2026-12-07T10:00:00Z")]));
    let d = cases_of(&server, "team:care")
        .into_iter()
        .find(|c| c["subject"] == "Order d")
        .unwrap();
    assert_eq!(d["assignee"], "bo@example.com", "{d}");
    assert_eq!(d["first_response_due"], "2026-12-07T14:00:00Z");

    // A channel no team takes: no team, round-the-clock due times, nobody assigned.
    ingest(
        &server,
        json!([{"id": "chat-1", "channel": "chat", "created_at": "2026-12-04T18:00:00Z",
                "text": "hi, is anyone there?", "author": {"id": "v-1", "name": "Visitor"}}]),
    );
    let chat = cases_of(&server, "open")
        .into_iter()
        .find(|c| c["channel"] == "chat")
        .unwrap();
    assert!(
        chat["team"].is_null() && chat["assignee"].is_null(),
        "{chat}"
    );
    assert_eq!(chat["first_response_due"], "2026-12-04T22:00:00Z");

    // By hand: move cases between teams and let the team pick.
    let change = |id: &Value, body: Value| {
        send(
            "POST",
            &server.url(&format!("/api/v1/cases/{id}")),
            Some(body),
        )
    };
    let (status, refused) = change(&chat["id"], json!({"assignee": "auto"}));
    assert_eq!(status, 422, "{refused}");
    assert!(refused.to_string().contains("give it a team first"));
    assert_eq!(change(&chat["id"], json!({"team": "nope"})).0, 422);
    let (status, moved) = change(&chat["id"], json!({"team": "care", "assignee": "auto"}));
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["case"]["team"], "care");
    assert_eq!(
        moved["case"]["assignee"], "kim@example.com",
        "kim and bo hold two each: a tie goes to the first in the team's order"
    );
    assert!(server.stop().success());
}
