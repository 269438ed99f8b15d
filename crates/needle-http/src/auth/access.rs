//! Who may call what: each API route needs one [`Need`], and each role meets some needs.
//!
//! One table for the whole API, so that a new route cannot forget its check: a route missing
//! here needs [`Need::Admin`].

use axum::http::Method;
use needle_store::accounts::Role;

/// What a request needs of its caller's role in the workspace it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nobody signs in: the request proves itself (a webhook's HMAC, a chat visitor's site).
    Open,
    /// Reading messages, topics, profiles: every role.
    Read,
    /// Labelling relevance, linking profiles, notes on cases: every role.
    Curate,
    /// Answering customers and working cases (assign, status): agents and admins.
    Reply,
    /// Configuring listening (topics, segments): analysts and admins.
    Listen,
    /// Feeding messages in through the API: analysts and admins (integrations).
    Ingest,
    /// Channels, the outbox, the audit log, erasing people: admins.
    Admin,
    /// Creating workspaces: an admin of every workspace.
    Operator,
}

impl Need {
    /// Whether `role` meets this need (an operator's is checked apart: it needs a role in
    /// every workspace, not in one).
    pub fn met_by(self, role: Role) -> bool {
        match self {
            Need::Open | Need::Read | Need::Curate => true,
            Need::Reply => matches!(role, Role::Agent | Role::Admin),
            Need::Listen | Need::Ingest => matches!(role, Role::Analyst | Role::Admin),
            Need::Admin | Need::Operator => role == Role::Admin,
        }
    }

    /// Who meets it, for error messages.
    pub fn who(self) -> &'static str {
        match self {
            Need::Open | Need::Read | Need::Curate => "any role",
            Need::Reply => "an agent or admin",
            Need::Listen | Need::Ingest => "an analyst or admin",
            Need::Admin => "an admin",
            Need::Operator => "an admin of every workspace",
        }
    }
}

/// The need of `method` on `path`, the part after `/api/v1`.
pub fn need(method: &Method, path: &str) -> Need {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let read = *method == Method::GET || *method == Method::HEAD;
    match segments.as_slice() {
        ["hooks", _] => Need::Open,
        ["chat", _, "socket"] => Need::Open,
        ["messages"] if read => Need::Read,
        ["messages"] => Need::Ingest,
        ["messages", _, _] if read => Need::Read,
        ["messages", _, _, "replies"] => Need::Reply,
        ["workspaces"] if read => Need::Read,
        ["workspaces"] => Need::Operator,
        ["topics", _, "labels", ..] => Need::Curate,
        // Scoring and classifying change nothing.
        ["topics", _, "relevance"] | ["intents", "classify"] | ["query", "lint" | "preview"] => {
            Need::Read
        }
        ["topics", ..] | ["segments", ..] if read => Need::Read,
        ["topics", ..] | ["segments", ..] => Need::Listen,
        ["events"] => Need::Read,
        // Everyone reads their own (the handler answers only the caller's).
        ["notifications"] if read => Need::Read,
        ["cases", ..] if read => Need::Read,
        ["canned", ..] if read => Need::Read,
        ["teams"] if read => Need::Read,
        ["cases", _, "notes"] => Need::Curate,
        // Saying one has a case open changes nothing but the hint others see.
        ["cases", _, "presence"] => Need::Read,
        // The same need as each change it makes: the bulk bar is for agents.
        ["cases", "bulk"] => Need::Reply,
        ["cases"] => Need::Reply,
        ["cases", _] => Need::Reply,
        ["profiles", "import"] | ["profiles", _, "erase"] | ["profiles", _, "export"] => {
            Need::Admin
        }
        ["profiles", "audit"] => Need::Admin,
        ["profiles", ..] if read => Need::Read,
        ["profiles", "links"] | ["profiles", "unlink"] | ["profiles", "suggestions", ..] => {
            Need::Curate
        }
        _ => Need::Admin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_reads_but_only_some_change_things() {
        let post = Method::POST;
        let get = Method::GET;
        assert_eq!(need(&post, "/hooks/orders"), Need::Open);
        assert_eq!(need(&get, "/messages"), Need::Read);
        assert_eq!(need(&post, "/messages"), Need::Ingest);
        assert_eq!(need(&post, "/messages/email/m1/replies"), Need::Reply);
        assert_eq!(need(&Method::PUT, "/topics/office"), Need::Listen);
        assert_eq!(need(&post, "/topics/office/labels"), Need::Curate);
        assert_eq!(need(&post, "/topics/office/relevance"), Need::Read);
        assert_eq!(need(&get, "/connections"), Need::Admin);
        assert_eq!(need(&get, "/outbox/3"), Need::Admin);
        assert_eq!(need(&post, "/workspaces"), Need::Operator);
        assert_eq!(need(&post, "/profiles/p1/erase"), Need::Admin);
        assert_eq!(need(&post, "/profiles/links"), Need::Curate);
        assert_eq!(need(&get, "/cases"), Need::Read);
        assert_eq!(need(&post, "/cases/4"), Need::Reply);
        assert_eq!(need(&post, "/cases/4/notes"), Need::Curate);
        assert_eq!(need(&post, "/cases/4/presence"), Need::Read);
        assert_eq!(need(&post, "/cases/bulk"), Need::Reply);
        assert_eq!(need(&get, "/notifications"), Need::Read);
        assert_eq!(need(&post, "/notifications"), Need::Admin);
        assert_eq!(need(&get, "/canned"), Need::Read);
        assert_eq!(need(&Method::PUT, "/canned/thanks"), Need::Admin);
        assert_eq!(need(&get, "/teams"), Need::Read);
        assert_eq!(need(&get, "/topics/office/series"), Need::Read);
        assert_eq!(need(&post, "/query/preview"), Need::Read);
        assert_eq!(need(&Method::PUT, "/teams/care"), Need::Admin);
        assert_eq!(need(&Method::DELETE, "/teams/care"), Need::Admin);
        assert_eq!(
            need(&get, "/something-new"),
            Need::Admin,
            "unknown routes are admin's"
        );

        assert!(Need::Reply.met_by(Role::Agent) && !Need::Reply.met_by(Role::Analyst));
        assert!(Need::Listen.met_by(Role::Analyst) && !Need::Listen.met_by(Role::Agent));
        assert!(!Need::Admin.met_by(Role::Analyst) && Need::Admin.met_by(Role::Admin));
    }
}
