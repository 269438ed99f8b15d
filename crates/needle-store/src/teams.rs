//! Teams as stored: who is in a team (in turn order), when it works, how its new cases are
//! assigned, and which channels' new cases it takes.
//!
//! A separate trait from [`crate::cases::CaseStore`]; [`conformance`] says what every
//! implementation must do.

use time::OffsetDateTime;

use crate::Result;

/// How a team's new cases get an assignee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignment {
    /// Someone takes them (the team's queue).
    Manual,
    /// Each member in turn.
    RoundRobin,
    /// Whoever has the fewest cases not resolved.
    LeastLoaded,
}

impl Assignment {
    pub fn as_str(self) -> &'static str {
        match self {
            Assignment::Manual => "manual",
            Assignment::RoundRobin => "round_robin",
            Assignment::LeastLoaded => "least_loaded",
        }
    }

    pub fn parse(s: &str) -> Option<Assignment> {
        [
            Assignment::Manual,
            Assignment::RoundRobin,
            Assignment::LeastLoaded,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// A team of a workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    pub id: i64,
    pub workspace_id: i64,
    pub name: String,
    /// E-mail addresses, in turn order.
    pub members: Vec<String>,
    /// Business hours as written (`Mon-Fri 09:00-17:00 +01:00`, or `always`); read by
    /// `needle_cases::hours`.
    pub hours: String,
    pub assignment: Assignment,
    /// New cases from these channels go to this team (the first team that lists a channel).
    pub channels: Vec<String>,
    pub updated_at: OffsetDateTime,
}

/// What a team should be, as given to [`TeamStore::put_team`].
#[derive(Debug, Clone, PartialEq)]
pub struct TeamSpec<'a> {
    pub name: &'a str,
    pub members: &'a [String],
    pub hours: &'a str,
    pub assignment: Assignment,
    pub channels: &'a [String],
}

/// Everything Needle asks of a store about teams.
pub trait TeamStore: Send + Sync {
    /// Creates or replaces a team (its turn order starts again). True when created.
    fn put_team(&self, workspace_id: i64, spec: &TeamSpec<'_>) -> Result<bool>;
    /// A workspace's teams, by name.
    fn teams(&self, workspace_id: i64) -> Result<Vec<Team>>;
    /// False when there was none. Its cases keep the name (a queue of a team that is gone).
    fn remove_team(&self, workspace_id: i64, name: &str) -> Result<bool>;
    /// Whose turn it is in a round-robin team: the member at the team's turn, moving the
    /// turn on, atomically (two servers never hand out the same turn). `None` for a team
    /// that does not exist or has no members.
    fn take_turn(&self, workspace_id: i64, name: &str) -> Result<Option<String>>;
    /// How many cases not resolved each of `members` holds in the workspace, in the order
    /// given (zero for those with none).
    fn open_load(&self, workspace_id: i64, members: &[String]) -> Result<Vec<u64>>;
}

pub mod conformance {
    //! What every [`TeamStore`] must do; run with `team_store_conformance_tests!`.

    use super::*;
    use crate::Store;
    use crate::cases::{CaseChange, CaseStore, CaseTouch, Priority};

    #[macro_export]
    macro_rules! team_store_conformance_tests {
        ($open:expr) => {
            $crate::team_store_conformance_tests!(@each $open;
                teams_are_kept_per_workspace_and_replaced_whole,
                turns_go_round_the_members_in_order,
                load_counts_cases_not_resolved_per_member);
        };
        (@each $open:expr; $($check:ident),*) => {
            $(
                #[test]
                fn $check() {
                    let (store, _guard) = ($open)();
                    $crate::teams::conformance::$check(&*store);
                }
            )*
        };
    }

    /// A backend under test: all three traits at once.
    pub trait All: Store + CaseStore + TeamStore {}
    impl<T: Store + CaseStore + TeamStore> All for T {}

    fn emails(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn spec<'a>(name: &'a str, members: &'a [String], channels: &'a [String]) -> TeamSpec<'a> {
        TeamSpec {
            name,
            members,
            hours: "Mon-Fri 09:00-17:00 +01:00",
            assignment: Assignment::RoundRobin,
            channels,
        }
    }

    pub fn teams_are_kept_per_workspace_and_replaced_whole(store: &dyn All) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let other = store.ensure_workspace("globex", false).unwrap().id;
        let (members, channels) = (emails(&["kim@x", "ann@x"]), emails(&["email"]));
        assert!(
            store
                .put_team(ws, &spec("care", &members, &channels))
                .unwrap()
        );
        assert!(store.put_team(other, &spec("care", &members, &[])).unwrap());
        let teams = store.teams(ws).unwrap();
        assert_eq!(teams.len(), 1);
        let care = &teams[0];
        assert_eq!(
            (
                care.name.as_str(),
                &care.members,
                &care.channels,
                care.hours.as_str()
            ),
            ("care", &members, &channels, "Mon-Fri 09:00-17:00 +01:00")
        );
        assert_eq!(care.assignment, Assignment::RoundRobin);

        let fewer = emails(&["ann@x"]);
        let replaced = TeamSpec {
            assignment: Assignment::LeastLoaded,
            ..spec("care", &fewer, &[])
        };
        assert!(
            !store.put_team(ws, &replaced).unwrap(),
            "replaced, not created"
        );
        let care = &store.teams(ws).unwrap()[0];
        assert_eq!(
            (&care.members, care.assignment),
            (&fewer, Assignment::LeastLoaded)
        );
        assert!(care.channels.is_empty());
        assert!(store.remove_team(ws, "care").unwrap());
        assert!(!store.remove_team(ws, "care").unwrap());
        assert!(store.teams(ws).unwrap().is_empty());
        assert_eq!(
            store.teams(other).unwrap().len(),
            1,
            "the other workspace keeps its own"
        );
    }

    pub fn turns_go_round_the_members_in_order(store: &dyn All) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let members = emails(&["kim@x", "ann@x", "bo@x"]);
        store.put_team(ws, &spec("care", &members, &[])).unwrap();
        let turns: Vec<String> = (0..5)
            .map(|_| store.take_turn(ws, "care").unwrap().unwrap())
            .collect();
        assert_eq!(turns, ["kim@x", "ann@x", "bo@x", "kim@x", "ann@x"]);
        store.put_team(ws, &spec("care", &members, &[])).unwrap();
        assert_eq!(
            store.take_turn(ws, "care").unwrap().as_deref(),
            Some("kim@x"),
            "a replaced team starts again"
        );
        assert_eq!(store.take_turn(ws, "nobody").unwrap(), None);
        store.put_team(ws, &spec("empty", &[], &[])).unwrap();
        assert_eq!(store.take_turn(ws, "empty").unwrap(), None);
    }

    pub fn load_counts_cases_not_resolved_per_member(store: &dyn All) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let at = OffsetDateTime::now_utc();
        let mut ids = Vec::new();
        for thread in ["a", "b", "c", "d"] {
            let touch = CaseTouch {
                channel: "email",
                thread_id: thread,
                subject: "s",
                customer: "c",
                at,
                inbound: true,
                priority: Priority::Normal,
                first_response_due: at,
                resolution_due: at,
                team: None,
            };
            ids.push(store.record_case_message(ws, &touch).unwrap().unwrap());
        }
        let assign = |id: i64, who: &str| {
            let change = CaseChange {
                assignee: Some(Some(who.to_string())),
                ..CaseChange::default()
            };
            store
                .update_case(ws, id, &change, "test", at)
                .unwrap()
                .unwrap();
        };
        assign(ids[0], "kim@x");
        assign(ids[1], "kim@x");
        assign(ids[2], "ann@x");
        assign(ids[3], "ann@x");
        let resolve = CaseChange {
            status: Some(crate::cases::CaseStatus::Resolved),
            ..CaseChange::default()
        };
        store.update_case(ws, ids[3], &resolve, "test", at).unwrap();
        let load = store
            .open_load(ws, &emails(&["kim@x", "ann@x", "bo@x"]))
            .unwrap();
        assert_eq!(load, [2, 1, 0], "resolved cases do not count");
        assert!(store.open_load(ws, &[]).unwrap().is_empty());
    }
}
