//! Cases: the conversations the team works on. One case per conversation (a channel's
//! thread), opened by its first inbound message that needs an answer, with a status, a
//! priority, an assignee, labels and SLA due times. Which messages open cases, and their
//! priority and due times, is decided outside the store (`needle-cases`); the store keeps
//! the case and its history consistent under concurrent writers.
//!
//! A trait of its own beside [`crate::Store`]; [`conformance`] says what every backend must do.

use serde_json::Value;
use time::OffsetDateTime;

use crate::{Result, StoredMessage};

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseStatus {
    /// Needs the team.
    Open,
    /// Waiting for the customer.
    Pending,
    /// Put aside until `snoozed_until`; open again after it.
    Snoozed,
    Resolved,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 4] = [
        CaseStatus::Open,
        CaseStatus::Pending,
        CaseStatus::Snoozed,
        CaseStatus::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Pending => "pending",
            CaseStatus::Snoozed => "snoozed",
            CaseStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<CaseStatus> {
        CaseStatus::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// How soon a case needs the team; queues sort by it first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    Urgent = 0,
    High = 1,
    Normal = 2,
    Low = 3,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Urgent,
        Priority::High,
        Priority::Normal,
        Priority::Low,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Urgent => "urgent",
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }

    pub fn parse(s: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn rank(self) -> i64 {
        self as i64
    }

    pub fn from_rank(rank: i64) -> Priority {
        Priority::ALL
            .into_iter()
            .find(|p| p.rank() == rank)
            .unwrap_or(Priority::Normal)
    }
}

/// A stored case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub id: i64,
    pub workspace_id: i64,
    pub channel: String,
    pub thread_id: String,
    /// The first message's title, or the start of its text.
    pub subject: String,
    /// Who the customer is on the channel (a name, handle or address), for lists.
    pub customer: String,
    pub status: CaseStatus,
    pub snoozed_until: Option<OffsetDateTime>,
    pub priority: Priority,
    /// The assignee's email.
    pub assignee: Option<String>,
    pub labels: Vec<String>,
    /// The team whose case it is.
    pub team: Option<String>,
    pub opened_at: OffsetDateTime,
    pub last_inbound_at: OffsetDateTime,
    pub first_response_due: OffsetDateTime,
    pub first_response_at: Option<OffsetDateTime>,
    pub resolution_due: OffsetDateTime,
    pub resolved_at: Option<OffsetDateTime>,
    /// Messages in the conversation, both ways.
    pub messages: i64,
    pub updated_at: OffsetDateTime,
}

impl Case {
    /// Whether a due time has passed at `now` without the answer or the resolution.
    pub fn breached(&self, now: OffsetDateTime) -> bool {
        (self.first_response_at.is_none() && self.first_response_due < now)
            || (self.resolved_at.is_none() && self.resolution_due < now)
    }
}

/// A ready answer of a workspace, with `{{ … }}` variables.
#[derive(Debug, Clone, PartialEq)]
pub struct CannedResponse {
    pub name: String,
    pub body: String,
    pub updated_at: OffsetDateTime,
}

/// A stored message of a conversation, for [`CaseStore::record_case_message`].
#[derive(Debug, Clone)]
pub struct CaseTouch<'a> {
    pub channel: &'a str,
    pub thread_id: &'a str,
    pub subject: &'a str,
    pub customer: &'a str,
    pub at: OffsetDateTime,
    /// From the customer (opens or reopens the case) or from the team (answers it).
    pub inbound: bool,
    pub priority: Priority,
    /// For a case this message opens (or reopens).
    pub first_response_due: OffsetDateTime,
    pub resolution_due: OffsetDateTime,
    /// The team a case this message opens goes to; a case keeps the team it has.
    pub team: Option<&'a str>,
}

/// Which cases a list shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Queue {
    /// Open, and snoozed ones whose time has come.
    Open,
    /// Assigned to this email and not resolved.
    Mine(String),
    /// Open and nobody's.
    Unassigned,
    Pending,
    Snoozed,
    /// Not resolved and past a due time.
    Breached,
    Resolved,
    /// Not resolved and carrying this label.
    Label(String),
    /// Not resolved and this team's.
    Team(String),
    /// Mentioned this email in a note it has not seen yet (opened the case since), whatever
    /// the status.
    Mentioned(String),
}

/// A change to a case; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseChange {
    pub status: Option<CaseStatus>,
    /// With `status: Snoozed`.
    pub snoozed_until: Option<OffsetDateTime>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<String>>,
    pub priority: Option<Priority>,
    pub labels: Option<Vec<String>>,
    /// `Some(None)` takes the case from its team.
    pub team: Option<Option<String>>,
}

/// Something that happened in a case: a note, an assignment, a status change, a reply.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseEvent {
    pub id: i64,
    pub case_id: i64,
    pub at: OffsetDateTime,
    pub actor: String,
    /// `note`, `assigned`, `status`, `priority`, `labels`, `team`, `reply`.
    pub kind: String,
    pub body: Value,
}

/// A note that mentioned someone, as their notifications list it.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub id: i64,
    pub case_id: i64,
    /// The case's subject, for lists.
    pub subject: String,
    /// Who wrote the note (`user:ann@example.com`).
    pub actor: String,
    /// The note.
    pub text: String,
    pub at: OffsetDateTime,
    /// When the person opened the case after the note; `None` while unread.
    pub seen_at: Option<OffsetDateTime>,
}

/// A value a queue's condition needs.
pub(crate) enum QueueArg {
    Now,
    Text(String),
}

/// The SQL condition (on `cases`) of a queue in the workspace written as `workspace`, its
/// ORDER BY, and the one value it needs (or none), written as `placeholder`; `postgres` picks
/// that dialect's JSON label test.
pub(crate) fn queue_sql(
    queue: &Queue,
    workspace: &str,
    placeholder: &str,
    postgres: bool,
) -> (String, &'static str, Option<QueueArg>) {
    let (condition, order, arg) = queue_condition(queue, workspace, placeholder, postgres);
    let in_workspace = match queue {
        // A person's few unread mentions lead: `+` keeps the planner from walking the
        // workspace's cases in index order and testing each against the list.
        Queue::Mentioned(_) => format!("+workspace_id = {workspace}"),
        _ => format!("workspace_id = {workspace}"),
    };
    (format!("{in_workspace} AND {condition}"), order, arg)
}

fn queue_condition(
    queue: &Queue,
    workspace: &str,
    placeholder: &str,
    postgres: bool,
) -> (String, &'static str, Option<QueueArg>) {
    let p = placeholder;
    let awake = format!("(status = 'open' OR (status = 'snoozed' AND snoozed_until <= {p}))");
    let by_urgency = "priority, last_inbound_at, id";
    match queue {
        Queue::Open => (awake, by_urgency, Some(QueueArg::Now)),
        Queue::Unassigned => (
            format!("{awake} AND assignee IS NULL"),
            by_urgency,
            Some(QueueArg::Now),
        ),
        Queue::Mine(email) => (
            format!("status <> 'resolved' AND assignee = {p}"),
            by_urgency,
            Some(QueueArg::Text(email.clone())),
        ),
        Queue::Pending => ("status = 'pending'".into(), by_urgency, None),
        Queue::Snoozed => (
            format!("status = 'snoozed' AND snoozed_until > {p}"),
            by_urgency,
            Some(QueueArg::Now),
        ),
        Queue::Breached => (
            format!(
                "status <> 'resolved' AND ((first_response_at IS NULL AND first_response_due < {p})
                 OR resolution_due < {p})"
            ),
            by_urgency,
            Some(QueueArg::Now),
        ),
        Queue::Resolved => (
            "status = 'resolved'".into(),
            "resolved_at DESC, id DESC",
            None,
        ),
        Queue::Label(label) => {
            let has = if postgres {
                format!("labels::jsonb ? {p}")
            } else {
                format!("EXISTS (SELECT 1 FROM json_each(cases.labels) WHERE value = {p})")
            };
            (
                format!("status <> 'resolved' AND {has}"),
                by_urgency,
                Some(QueueArg::Text(label.clone())),
            )
        }
        Queue::Team(team) => (
            format!("status <> 'resolved' AND team = {p}"),
            by_urgency,
            Some(QueueArg::Text(team.clone())),
        ),
        Queue::Mentioned(email) => (
            format!(
                "id IN (SELECT case_id FROM case_mentions WHERE workspace_id = {workspace}
                 AND recipient = {p} AND seen_at IS NULL)"
            ),
            by_urgency,
            Some(QueueArg::Text(email.clone())),
        ),
    }
}

/// Everything Needle asks of a store about cases.
pub trait CaseStore: Send + Sync {
    /// Adds stored messages to their conversations' cases, in one transaction (a batch of
    /// the pipeline costs one commit): an inbound one opens the case (or reopens a resolved,
    /// pending or snoozed one, raising its priority if this one is more urgent); an outbound
    /// one counts as the first response. Per message, the case, or `None` for an outbound
    /// message of a conversation that has no case.
    fn record_case_messages(
        &self,
        workspace_id: i64,
        touches: &[CaseTouch<'_>],
    ) -> Result<Vec<Option<i64>>>;

    /// [`CaseStore::record_case_messages`] for one message.
    fn record_case_message(&self, workspace_id: i64, touch: &CaseTouch<'_>) -> Result<Option<i64>> {
        Ok(self
            .record_case_messages(workspace_id, std::slice::from_ref(touch))?
            .pop()
            .flatten())
    }
    fn case(&self, workspace_id: i64, id: i64) -> Result<Option<Case>>;
    fn case_of_thread(
        &self,
        workspace_id: i64,
        channel: &str,
        thread_id: &str,
    ) -> Result<Option<Case>>;
    /// A queue's cases: by priority, then the longest-waiting customer first.
    fn cases(
        &self,
        workspace_id: i64,
        queue: &Queue,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Case>>;
    /// How many cases each queue holds, in the order of `queues`.
    fn count_cases(
        &self,
        workspace_id: i64,
        queues: &[Queue],
        now: OffsetDateTime,
    ) -> Result<Vec<u64>>;
    /// Applies `change` and records one event per changed field; `None` when there is no
    /// such case.
    fn update_case(
        &self,
        workspace_id: i64,
        id: i64,
        change: &CaseChange,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<Option<Case>>;
    /// Records an event (a note, a reply) without changing the case; false when there is no
    /// such case.
    fn add_case_event(
        &self,
        workspace_id: i64,
        id: i64,
        actor: &str,
        kind: &str,
        body: &Value,
        at: OffsetDateTime,
    ) -> Result<bool>;
    /// Records a note and, in the same transaction, a mention of each of `mentioned`
    /// (emails); false when there is no such case.
    fn add_case_note(
        &self,
        workspace_id: i64,
        id: i64,
        actor: &str,
        body: &Value,
        mentioned: &[String],
        at: OffsetDateTime,
    ) -> Result<bool>;
    /// The mentions of `recipient` in a workspace: unread first, then newest first.
    fn mentions(&self, workspace_id: i64, recipient: &str, limit: usize) -> Result<Vec<Mention>>;
    /// Marks `recipient`'s unread mentions in a case read (they opened it): how many were.
    fn mark_mentions_seen(
        &self,
        workspace_id: i64,
        case_id: i64,
        recipient: &str,
        at: OffsetDateTime,
    ) -> Result<u64>;
    /// Oldest first.
    fn case_events(&self, case_id: i64) -> Result<Vec<CaseEvent>>;
    /// Creates or replaces a canned response (true when created).
    fn put_canned(&self, workspace_id: i64, name: &str, body: &str) -> Result<bool>;
    /// A workspace's canned responses, by name.
    fn canned(&self, workspace_id: i64) -> Result<Vec<CannedResponse>>;
    /// False when there was none of that name.
    fn remove_canned(&self, workspace_id: i64, name: &str) -> Result<bool>;
    /// The conversation's messages, oldest first.
    fn thread_messages(
        &self,
        workspace_id: i64,
        channel: &str,
        thread_id: &str,
        limit: usize,
    ) -> Result<Vec<StoredMessage>>;
}

pub mod conformance {
    //! What every [`CaseStore`] must do; run with `case_store_conformance_tests!`.

    use serde_json::json;
    use time::Duration;

    use super::*;
    use crate::Store;

    #[macro_export]
    macro_rules! case_store_conformance_tests {
        ($open:expr) => {
            $crate::case_store_conformance_tests!(@each $open;
                inbound_messages_open_one_case_per_thread_and_answers_count,
                queues_sort_by_priority_and_follow_status_assignee_and_labels,
                changes_are_recorded_as_events_and_resolved_cases_reopen,
                cases_keep_the_team_they_opened_with_and_move_by_hand,
                mentions_wait_for_the_mentioned_until_they_open_the_case,
                canned_responses_are_kept_per_workspace_by_name,
                a_conversation_is_its_first_message_and_its_thread_oldest_first);
        };
        (@each $open:expr; $($check:ident),*) => {
            $(
                #[test]
                fn $check() {
                    let (store, _guard) = ($open)();
                    $crate::cases::conformance::$check(&*store);
                }
            )*
        };
    }

    /// A backend under test: both traits at once.
    pub trait All: Store + CaseStore {}
    impl<T: Store + CaseStore> All for T {}

    fn t(minutes: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap() + Duration::minutes(minutes)
    }

    fn touch<'a>(thread: &'a str, at: i64, inbound: bool, priority: Priority) -> CaseTouch<'a> {
        CaseTouch {
            channel: "email",
            thread_id: thread,
            subject: "My order",
            customer: "Kim",
            at: t(at),
            inbound,
            priority,
            first_response_due: t(at + 60),
            resolution_due: t(at + 24 * 60),
            team: None,
        }
    }

    pub fn inbound_messages_open_one_case_per_thread_and_answers_count(store: &dyn All) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        assert_eq!(
            store
                .record_case_message(ws, &touch("t1", 0, false, Priority::Normal))
                .unwrap(),
            None,
            "our own message opens nothing"
        );
        let id = store
            .record_case_message(ws, &touch("t1", 1, true, Priority::Normal))
            .unwrap()
            .unwrap();
        let again = store
            .record_case_message(ws, &touch("t1", 5, true, Priority::High))
            .unwrap();
        assert_eq!(again, Some(id), "one case per thread");
        let c = store.case(ws, id).unwrap().unwrap();
        assert_eq!(
            (c.status, c.priority, c.messages),
            (CaseStatus::Open, Priority::High, 2)
        );
        assert_eq!((c.opened_at, c.last_inbound_at), (t(1), t(5)));
        assert_eq!(c.first_response_due, t(61), "due from the first message");
        assert!(!c.breached(t(60)) && c.breached(t(62)));

        let answered = store
            .record_case_message(ws, &touch("t1", 20, false, Priority::Normal))
            .unwrap();
        assert_eq!(answered, Some(id));
        let c = store.case(ws, id).unwrap().unwrap();
        assert_eq!(c.first_response_at, Some(t(20)));
        assert_eq!(c.messages, 3);
        assert!(!c.breached(t(62)), "answered in time");
        assert_eq!(
            store
                .case_of_thread(ws, "email", "t1")
                .unwrap()
                .map(|c| c.id),
            Some(id)
        );
        assert!(store.case_of_thread(ws, "chat", "t1").unwrap().is_none());

        // A batch files all its messages at once, two of one conversation included.
        let batch = [
            touch("t2", 30, true, Priority::Normal),
            touch("t3", 31, false, Priority::Normal),
            touch("t2", 32, true, Priority::Normal),
        ];
        let ids = store.record_case_messages(ws, &batch).unwrap();
        assert_eq!(ids.len(), 3);
        assert!(
            ids[0].is_some() && ids[0] == ids[2] && ids[1].is_none(),
            "{ids:?}"
        );
        assert_eq!(
            store.case(ws, ids[0].unwrap()).unwrap().unwrap().messages,
            2
        );
    }

    pub fn queues_sort_by_priority_and_follow_status_assignee_and_labels(store: &dyn All) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let open = |thread: &'static str, at, p| {
            store
                .record_case_message(ws, &touch(thread, at, true, p))
                .unwrap()
                .unwrap()
        };
        let a = open("a", 0, Priority::Normal);
        let b = open("b", 1, Priority::Urgent);
        let c = open("c", 2, Priority::Normal);
        let d = open("d", 3, Priority::Low);
        let ids = |queue: Queue, now| -> Vec<i64> {
            store
                .cases(ws, &queue, now, 10)
                .unwrap()
                .iter()
                .map(|c| c.id)
                .collect()
        };
        assert_eq!(
            ids(Queue::Open, t(5)),
            [b, a, c, d],
            "urgent first, then who waited longest"
        );

        let kim = Some(Some("kim@example.com".to_string()));
        let assign = CaseChange {
            assignee: kim.clone(),
            ..CaseChange::default()
        };
        store
            .update_case(ws, c, &assign, "user:ann@example.com", t(6))
            .unwrap();
        store
            .update_case(
                ws,
                d,
                &CaseChange {
                    status: Some(CaseStatus::Snoozed),
                    snoozed_until: Some(t(100)),
                    labels: Some(vec!["vip".into()]),
                    ..CaseChange::default()
                },
                "user:ann@example.com",
                t(6),
            )
            .unwrap();
        store
            .update_case(
                ws,
                a,
                &CaseChange {
                    status: Some(CaseStatus::Resolved),
                    ..CaseChange::default()
                },
                "user:kim@example.com",
                t(7),
            )
            .unwrap();
        assert_eq!(ids(Queue::Mine("kim@example.com".into()), t(8)), [c]);
        assert_eq!(ids(Queue::Unassigned, t(8)), [b]);
        assert_eq!(
            ids(Queue::Open, t(8)),
            [b, c],
            "snoozed and resolved are not open"
        );
        assert_eq!(ids(Queue::Snoozed, t(8)), [d]);
        assert_eq!(
            ids(Queue::Open, t(101)),
            [b, c, d],
            "a snooze ends by itself"
        );
        assert_eq!(ids(Queue::Resolved, t(8)), [a]);
        assert_eq!(ids(Queue::Label("vip".into()), t(8)), [d]);
        assert_eq!(
            ids(Queue::Breached, t(64)),
            [b, c, d],
            "none was answered within the hour"
        );
        assert_eq!(
            store
                .count_cases(ws, &[Queue::Open, Queue::Resolved, Queue::Unassigned], t(8))
                .unwrap(),
            [2, 1, 1]
        );
        let other = store.ensure_workspace("other", false).unwrap().id;
        assert!(
            ids_in(store, other).is_empty(),
            "cases stay in their workspace"
        );
    }

    fn ids_in(store: &dyn All, ws: i64) -> Vec<i64> {
        store
            .cases(ws, &Queue::Open, t(0), 10)
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect()
    }

    pub fn changes_are_recorded_as_events_and_resolved_cases_reopen(store: &dyn All) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let id = store
            .record_case_message(ws, &touch("t", 0, true, Priority::Normal))
            .unwrap()
            .unwrap();
        let change = CaseChange {
            status: Some(CaseStatus::Resolved),
            assignee: Some(Some("kim@example.com".into())),
            priority: Some(Priority::High),
            labels: Some(vec!["refund".into(), "vip".into()]),
            ..CaseChange::default()
        };
        let c = store
            .update_case(ws, id, &change, "user:kim@example.com", t(10))
            .unwrap()
            .unwrap();
        assert_eq!(c.status, CaseStatus::Resolved);
        assert_eq!(c.resolved_at, Some(t(10)));
        assert_eq!(c.assignee.as_deref(), Some("kim@example.com"));
        assert_eq!(c.labels, ["refund", "vip"]);
        assert!(
            store
                .update_case(ws, id + 100, &change, "x", t(10))
                .unwrap()
                .is_none()
        );
        let other = store.ensure_workspace("other", false).unwrap().id;
        assert!(
            store
                .update_case(other, id, &change, "x", t(10))
                .unwrap()
                .is_none(),
            "a case is changed only through its workspace"
        );
        assert!(
            store
                .add_case_event(
                    ws,
                    id,
                    "user:ann@example.com",
                    "note",
                    &json!({"text": "@kim call them"}),
                    t(11)
                )
                .unwrap()
        );
        assert!(
            !store
                .add_case_event(other, id, "x", "note", &json!({}), t(11))
                .unwrap()
        );
        let events = store.case_events(id).unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["status", "assigned", "priority", "labels", "note"]);
        assert_eq!(events[0].body, json!({"from": "open", "to": "resolved"}));
        assert_eq!(events[4].actor, "user:ann@example.com");

        // The customer writes again: open, due again, still assigned.
        store
            .record_case_message(ws, &touch("t", 30, true, Priority::Normal))
            .unwrap();
        let c = store.case(ws, id).unwrap().unwrap();
        assert_eq!((c.status, c.resolved_at), (CaseStatus::Open, None));
        assert_eq!(c.first_response_due, t(90));
        assert_eq!(c.first_response_at, None);
        assert_eq!(
            c.priority,
            Priority::High,
            "priority is never lowered by a message"
        );
        assert_eq!(c.assignee.as_deref(), Some("kim@example.com"));
    }

    pub fn cases_keep_the_team_they_opened_with_and_move_by_hand(store: &dyn All) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let care = CaseTouch {
            team: Some("care"),
            ..touch("t", 0, true, Priority::Normal)
        };
        let id = store.record_case_message(ws, &care).unwrap().unwrap();
        let other = store
            .record_case_message(ws, &touch("u", 1, true, Priority::Normal))
            .unwrap()
            .unwrap();
        // A later message routed elsewhere does not move the case.
        let billing = CaseTouch {
            team: Some("billing"),
            ..touch("t", 2, true, Priority::Normal)
        };
        store.record_case_message(ws, &billing).unwrap();
        assert_eq!(
            store.case(ws, id).unwrap().unwrap().team.as_deref(),
            Some("care")
        );
        assert_eq!(store.case(ws, other).unwrap().unwrap().team, None);
        let team_queue = |name: &str| -> Vec<i64> {
            store
                .cases(ws, &Queue::Team(name.into()), t(5), 10)
                .unwrap()
                .iter()
                .map(|c| c.id)
                .collect()
        };
        assert_eq!(team_queue("care"), [id]);
        let moved = CaseChange {
            team: Some(Some("billing".into())),
            ..CaseChange::default()
        };
        let c = store
            .update_case(ws, other, &moved, "user:ann@example.com", t(6))
            .unwrap()
            .unwrap();
        assert_eq!(c.team.as_deref(), Some("billing"));
        assert_eq!(team_queue("billing"), [other]);
        assert_eq!(
            store
                .count_cases(ws, &[Queue::Team("billing".into())], t(6))
                .unwrap(),
            [1]
        );
        let events = store.case_events(other).unwrap();
        assert_eq!(events[0].kind, "team");
        assert_eq!(events[0].body, json!({"from": null, "to": "billing"}));
        let away = CaseChange {
            team: Some(None),
            ..CaseChange::default()
        };
        store.update_case(ws, other, &away, "x", t(7)).unwrap();
        assert!(team_queue("billing").is_empty());
    }

    pub fn mentions_wait_for_the_mentioned_until_they_open_the_case(store: &dyn All) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let other = store.ensure_workspace("other", false).unwrap().id;
        let a = store
            .record_case_message(ws, &touch("a", 0, true, Priority::Normal))
            .unwrap()
            .unwrap();
        let b = store
            .record_case_message(ws, &touch("b", 1, true, Priority::Urgent))
            .unwrap()
            .unwrap();
        let (kim, lee) = ("kim@example.com", "lee@example.com");
        let note = |case, text: &str, who: &[&str], at| {
            let who: Vec<String> = who.iter().map(|w| w.to_string()).collect();
            store
                .add_case_note(
                    ws,
                    case,
                    "user:ann@example.com",
                    &json!({"text": text, "mentions": who}),
                    &who,
                    t(at),
                )
                .unwrap()
        };
        assert!(note(a, "@kim @lee look", &[kim, lee], 2));
        assert!(note(b, "@kim urgent one", &[kim], 3));
        assert!(note(a, "no one", &[], 4));
        assert!(
            !store
                .add_case_note(other, a, "x", &json!({}), &[kim.to_string()], t(5))
                .unwrap(),
            "a note goes only to a case of its workspace"
        );
        let events = store.case_events(a).unwrap();
        assert_eq!(events.len(), 2, "notes are events of the case");
        assert_eq!(events[0].kind, "note");

        let mentioned = |who: &str| -> Vec<i64> {
            store
                .cases(ws, &Queue::Mentioned(who.into()), t(10), 10)
                .unwrap()
                .iter()
                .map(|c| c.id)
                .collect()
        };
        assert_eq!(mentioned(kim), [b, a], "by urgency, like every queue");
        assert_eq!(mentioned(lee), [a]);
        assert!(
            mentioned("ann@example.com").is_empty(),
            "the writer is not notified"
        );
        let listed = store.mentions(ws, kim, 10).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(
            (listed[0].case_id, listed[0].text.as_str(), listed[0].at),
            (b, "@kim urgent one", t(3)),
            "newest first"
        );
        assert_eq!(listed[0].actor, "user:ann@example.com");
        assert_eq!(listed[0].subject, "My order");
        assert!(listed.iter().all(|m| m.seen_at.is_none()));
        assert!(store.mentions(other, kim, 10).unwrap().is_empty());

        // Kim opens case a: read, and out of the queue; Lee's stays unread.
        assert_eq!(store.mark_mentions_seen(ws, a, kim, t(20)).unwrap(), 1);
        assert_eq!(store.mark_mentions_seen(ws, a, kim, t(21)).unwrap(), 0);
        assert_eq!(
            store.mark_mentions_seen(other, b, kim, t(21)).unwrap(),
            0,
            "only through the case's workspace"
        );
        assert_eq!(mentioned(kim), [b]);
        assert_eq!(mentioned(lee), [a]);
        assert_eq!(
            store
                .count_cases(ws, &[Queue::Mentioned(kim.into())], t(22))
                .unwrap(),
            [1]
        );
        let listed = store.mentions(ws, kim, 10).unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|m| (m.case_id, m.seen_at))
                .collect::<Vec<_>>(),
            [(b, None), (a, Some(t(20)))],
            "unread first"
        );
        assert_eq!(store.mentions(ws, kim, 1).unwrap().len(), 1);
    }

    pub fn a_conversation_is_its_first_message_and_its_thread_oldest_first(store: &dyn All) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let other = store.ensure_workspace("other", false).unwrap().id;
        let message = |id: &str, channel: &str, thread: Option<&str>, minute: i64| {
            let mut m = json!({
                "id": id, "channel": channel, "direction": "inbound",
                "created_at": needle_core::message::format_time(t(minute)),
                "text": format!("{channel} {id}"), "author": {"handle": "kim"},
            });
            if let Some(thread) = thread {
                m["thread_id"] = json!(thread);
            }
            needle_core::Message::from_json(m).unwrap()
        };
        let stored = [
            // The first message is a thread of its own; replies name it.
            message("t1", "email", None, 0),
            message("r2", "email", Some("t1"), 5),
            message("r1", "email", Some("t1"), 2),
            message("x", "email", Some("t2"), 1),
            // The same ids on another channel are another conversation.
            message("t1", "chat", None, 3),
            message("r3", "chat", Some("t1"), 4),
        ];
        store
            .insert_batch(ws, &stored.iter().collect::<Vec<_>>())
            .unwrap();
        store.insert_batch(other, &[&stored[2]]).unwrap();
        let ids = |ws, channel, limit| -> Vec<String> {
            store
                .thread_messages(ws, channel, "t1", limit)
                .unwrap()
                .into_iter()
                .map(|m| m.message.id)
                .collect()
        };
        assert_eq!(ids(ws, "email", 10), ["t1", "r1", "r2"], "oldest first");
        assert_eq!(
            ids(ws, "email", 2),
            ["t1", "r1"],
            "the oldest within the limit"
        );
        assert_eq!(ids(ws, "chat", 10), ["t1", "r3"]);
        assert_eq!(
            ids(other, "email", 10),
            ["r1"],
            "a workspace's own messages"
        );
        assert!(
            store
                .thread_messages(ws, "email", "t3", 10)
                .unwrap()
                .is_empty()
        );
    }

    pub fn canned_responses_are_kept_per_workspace_by_name(store: &dyn All) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let other = store.ensure_workspace("other", false).unwrap().id;
        assert!(
            store
                .put_canned(ws, "thanks", "Thanks {{ profile.first_name }}!")
                .unwrap()
        );
        assert!(store.put_canned(ws, "apology", "Sorry!").unwrap());
        assert!(
            !store
                .put_canned(ws, "thanks", "Thank you, {{ profile.first_name }}.")
                .unwrap()
        );
        store.put_canned(other, "thanks", "elsewhere").unwrap();
        let kept = store.canned(ws).unwrap();
        let names: Vec<&str> = kept.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["apology", "thanks"]);
        assert_eq!(kept[1].body, "Thank you, {{ profile.first_name }}.");
        assert!(store.remove_canned(ws, "apology").unwrap());
        assert!(!store.remove_canned(ws, "apology").unwrap());
        assert_eq!(store.canned(ws).unwrap().len(), 1);
        assert_eq!(store.canned(other).unwrap()[0].body, "elsewhere");
    }
}
