//! Accounts: the people who sign in, what role each holds in which workspace, their sessions,
//! the API tokens scripts use, and the audit log.
//!
//! The store never sees a secret: sessions and tokens arrive as hashes of the random values
//! handed out, passwords as Argon2id PHC strings (hashing lives in `needle-http`). A trait of
//! its own beside [`crate::Store`]; [`conformance`] says what every backend must do.

use serde_json::Value;
use time::OffsetDateTime;

use crate::Result;

/// The `workspace_id` of a role or token that holds in every workspace, and of audit entries
/// that belong to none (a sign-in).
pub const EVERY_WORKSPACE: i64 = 0;

/// What a person may do in a workspace. Agents answer customers; analysts run listening;
/// admins also configure channels, people and tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Agent,
    Analyst,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Analyst, Role::Agent];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A role in one workspace, or in every one ([`EVERY_WORKSPACE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub workspace_id: i64,
    pub role: Role,
}

/// The role `grants` give in `workspace_id`: the higher of the role there and the role held
/// in every workspace.
pub fn role_in(grants: &[Grant], workspace_id: i64) -> Option<Role> {
    grants
        .iter()
        .filter(|g| g.workspace_id == workspace_id || g.workspace_id == EVERY_WORKSPACE)
        .map(|g| g.role)
        .max()
}

/// A person who signs in.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    /// Lower-cased; unique.
    pub email: String,
    pub created_at: OffsetDateTime,
    /// By workspace id.
    pub grants: Vec<Grant>,
    /// The password was made up by Needle and shown once: the user must choose their own
    /// before doing anything else.
    pub must_change_password: bool,
}

/// A user to create.
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub must_change_password: bool,
    pub grant: Grant,
}

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user: User,
    /// The token every form and unsafe request of this session must carry.
    pub csrf: String,
    pub expires_at: OffsetDateTime,
}

/// An API token; the token itself was shown once and only its hash is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub grant: Grant,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

/// One line of the audit log: who did what to what, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Ignored when recording.
    pub id: i64,
    pub at: OffsetDateTime,
    /// [`EVERY_WORKSPACE`] for things that belong to no workspace (sign-ins, users).
    pub workspace_id: i64,
    /// `user:kim@example.com`, `token:ci`, `cli`.
    pub actor: String,
    /// `signin`, `signin.failed`, `user.added`, `role.changed`, `reply.sent`, …
    pub action: String,
    pub subject: String,
    pub detail: Value,
}

impl AuditEntry {
    /// An entry for something that happened just now (the store gives it its id).
    pub fn now(
        workspace_id: i64,
        actor: &str,
        action: &str,
        subject: &str,
        detail: Value,
    ) -> AuditEntry {
        AuditEntry {
            id: 0,
            at: OffsetDateTime::now_utc(),
            workspace_id,
            actor: actor.to_string(),
            action: action.to_string(),
            subject: subject.to_string(),
            detail,
        }
    }
}

/// Everything Needle asks of a store about accounts.
pub trait AccountStore: Send + Sync {
    /// Creates a user with one grant; `None` when the email is taken.
    fn add_user(&self, new: &NewUser<'_>) -> Result<Option<User>>;
    /// The user with this email, and their password hash.
    fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>>;
    fn user(&self, id: i64) -> Result<Option<User>>;
    /// Every user, by email.
    fn users(&self) -> Result<Vec<User>>;
    /// Sets a new password (one to change at the next sign-in when `must_change`) and ends
    /// every session of the user; false when there is no user.
    fn set_password(&self, user_id: i64, password_hash: &str, must_change: bool) -> Result<bool>;
    /// Gives the user `grant.role` in `grant.workspace_id`, replacing the role held there.
    fn set_role(&self, user_id: i64, grant: Grant) -> Result<bool>;

    fn start_session(
        &self,
        id_hash: &str,
        user_id: i64,
        csrf: &str,
        expires_at: OffsetDateTime,
    ) -> Result<()>;
    /// The session, unless it is unknown or expired at `now`.
    fn session(&self, id_hash: &str, now: OffsetDateTime) -> Result<Option<Session>>;
    /// False when there was no such session.
    fn end_session(&self, id_hash: &str) -> Result<bool>;

    fn add_token(&self, token_hash: &str, name: &str, grant: Grant) -> Result<ApiToken>;
    /// The token, unless it is unknown or revoked.
    fn token(&self, token_hash: &str) -> Result<Option<ApiToken>>;
    /// Every token, revoked ones too, by id.
    fn tokens(&self) -> Result<Vec<ApiToken>>;
    /// False when there is no such token or it was revoked already.
    fn revoke_token(&self, id: i64, at: OffsetDateTime) -> Result<bool>;

    fn record_audit(&self, entry: &AuditEntry) -> Result<()>;
    /// Newest first: a workspace's entries and those of no workspace (`None`: all), with ids
    /// below `before` when given.
    fn audit_log(
        &self,
        workspace_id: Option<i64>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>>;
}

pub mod conformance {
    //! What every [`AccountStore`] must do; run with `account_store_conformance_tests!`.

    use serde_json::json;

    use super::*;
    use crate::Store;

    /// Generates one `#[test]` per check, like `connection_store_conformance_tests!`.
    #[macro_export]
    macro_rules! account_store_conformance_tests {
        ($open:expr) => {
            $crate::account_store_conformance_tests!(@each $open;
                users_hold_one_role_per_workspace,
                sessions_expire_end_and_die_with_a_new_password,
                tokens_are_found_by_hash_until_revoked,
                the_audit_log_is_newest_first_per_workspace);
        };
        (@each $open:expr; $($check:ident),*) => {
            $(
                #[test]
                fn $check() {
                    let (store, _guard) = ($open)();
                    $crate::accounts::conformance::$check(&*store);
                }
            )*
        };
    }

    /// A backend under test: both traits at once.
    pub trait All: Store + AccountStore {}
    impl<T: Store + AccountStore> All for T {}

    fn t(s: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + s).unwrap()
    }

    pub fn users_hold_one_role_per_workspace(store: &dyn All) {
        let acme = store.ensure_workspace("acme", false).unwrap().id;
        let kim = store
            .add_user(&NewUser {
                email: "kim@example.com",
                password_hash: "$argon2id$kim",
                must_change_password: true,
                grant: Grant {
                    workspace_id: acme,
                    role: Role::Agent,
                },
            })
            .unwrap()
            .unwrap();
        assert!(kim.must_change_password);
        assert_eq!(kim.email, "kim@example.com");
        assert_eq!(
            kim.grants,
            [Grant {
                workspace_id: acme,
                role: Role::Agent
            }]
        );
        let taken = store.add_user(&NewUser {
            email: "kim@example.com",
            password_hash: "$argon2id$other",
            must_change_password: false,
            grant: Grant {
                workspace_id: EVERY_WORKSPACE,
                role: Role::Admin,
            },
        });
        assert_eq!(taken.unwrap(), None, "an email belongs to one user");

        let (found, hash) = store.user_by_email("kim@example.com").unwrap().unwrap();
        assert_eq!((found.id, hash.as_str()), (kim.id, "$argon2id$kim"));
        assert!(found.must_change_password);
        assert!(store.user_by_email("nobody@example.com").unwrap().is_none());

        let promoted = Grant {
            workspace_id: acme,
            role: Role::Admin,
        };
        assert!(store.set_role(kim.id, promoted).unwrap());
        let everywhere = Grant {
            workspace_id: EVERY_WORKSPACE,
            role: Role::Analyst,
        };
        assert!(store.set_role(kim.id, everywhere).unwrap());
        let grants = store.user(kim.id).unwrap().unwrap().grants;
        assert_eq!(
            grants,
            [everywhere, promoted],
            "by workspace, one role in each"
        );
        assert!(!store.set_role(kim.id + 100, promoted).unwrap());

        store
            .add_user(&NewUser {
                email: "ann@example.com",
                password_hash: "$argon2id$ann",
                must_change_password: false,
                grant: everywhere,
            })
            .unwrap()
            .unwrap();
        let emails: Vec<String> = store
            .users()
            .unwrap()
            .into_iter()
            .map(|u| u.email)
            .collect();
        assert_eq!(emails, ["ann@example.com", "kim@example.com"]);
    }

    pub fn sessions_expire_end_and_die_with_a_new_password(store: &dyn All) {
        let grant = Grant {
            workspace_id: EVERY_WORKSPACE,
            role: Role::Admin,
        };
        let kim = store
            .add_user(&NewUser {
                email: "kim@example.com",
                password_hash: "$argon2id$old",
                must_change_password: true,
                grant,
            })
            .unwrap()
            .unwrap();
        store
            .start_session("hash-a", kim.id, "csrf-a", t(100))
            .unwrap();
        store
            .start_session("hash-b", kim.id, "csrf-b", t(100))
            .unwrap();
        let a = store.session("hash-a", t(0)).unwrap().unwrap();
        assert_eq!((a.user.id, a.csrf.as_str()), (kim.id, "csrf-a"));
        assert_eq!(a.user.grants, [grant]);
        assert_eq!(a.expires_at, t(100));
        assert!(
            store.session("hash-a", t(100)).unwrap().is_none(),
            "expired"
        );
        assert!(store.session("unknown", t(0)).unwrap().is_none());

        assert!(store.end_session("hash-a").unwrap());
        assert!(!store.end_session("hash-a").unwrap());
        assert!(store.session("hash-a", t(0)).unwrap().is_none());

        assert!(store.set_password(kim.id, "$argon2id$new", false).unwrap());
        assert!(
            store.session("hash-b", t(0)).unwrap().is_none(),
            "a new password signs every browser out"
        );
        let (user, hash) = store.user_by_email("kim@example.com").unwrap().unwrap();
        assert_eq!(hash, "$argon2id$new");
        assert!(!user.must_change_password, "chosen by the user");
        assert!(!store.set_password(kim.id + 100, "x", false).unwrap());
    }

    pub fn tokens_are_found_by_hash_until_revoked(store: &dyn All) {
        let acme = store.ensure_workspace("acme", false).unwrap().id;
        let grant = Grant {
            workspace_id: acme,
            role: Role::Analyst,
        };
        let made = store.add_token("hash-ci", "ci", grant).unwrap();
        assert_eq!((made.name.as_str(), made.grant), ("ci", grant));
        assert_eq!(made.revoked_at, None);
        assert_eq!(store.token("hash-ci").unwrap(), Some(made.clone()));
        assert!(store.token("hash-other").unwrap().is_none());
        let second = store
            .add_token(
                "hash-bot",
                "bot",
                Grant {
                    workspace_id: EVERY_WORKSPACE,
                    role: Role::Admin,
                },
            )
            .unwrap();

        assert!(store.revoke_token(made.id, t(5)).unwrap());
        assert!(!store.revoke_token(made.id, t(6)).unwrap(), "revoked once");
        assert!(store.token("hash-ci").unwrap().is_none());
        let all = store.tokens().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].revoked_at, Some(t(5)));
        assert_eq!(all[1], second);
    }

    pub fn the_audit_log_is_newest_first_per_workspace(store: &dyn All) {
        let acme = store.ensure_workspace("acme", false).unwrap().id;
        let other = store.ensure_workspace("other", false).unwrap().id;
        let entry = |s, workspace_id, action: &str| AuditEntry {
            id: 0,
            at: t(s),
            workspace_id,
            actor: "user:kim@example.com".into(),
            action: action.into(),
            subject: "m1".into(),
            detail: json!({"n": s}),
        };
        store
            .record_audit(&entry(1, EVERY_WORKSPACE, "signin"))
            .unwrap();
        store.record_audit(&entry(2, acme, "reply.sent")).unwrap();
        store.record_audit(&entry(3, other, "reply.sent")).unwrap();
        store.record_audit(&entry(4, acme, "role.changed")).unwrap();

        let acme_log = store.audit_log(Some(acme), None, 10).unwrap();
        let actions: Vec<_> = acme_log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["role.changed", "reply.sent", "signin"]);
        assert_eq!(acme_log[0].detail, json!({"n": 4}));
        assert_eq!(acme_log[0].at, t(4));
        let older = store
            .audit_log(Some(acme), Some(acme_log[0].id), 1)
            .unwrap();
        assert_eq!(older.len(), 1);
        assert_eq!(older[0].id, acme_log[1].id);
        assert_eq!(store.audit_log(None, None, 10).unwrap().len(), 4);
    }
}
