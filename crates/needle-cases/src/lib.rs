//! Collaborate: the conversations that need the team become cases. [`rules`] decides which
//! messages open a case, how urgent it is and when it is due; [`routing`] which team takes a
//! new case, when it is due in that team's [`hours`], and who in the team gets it;
//! [`CasesStage`] applies them to every stored message, right after the store, so a case
//! exists by the time the message is acknowledged. The case itself (status, assignee, team,
//! labels, history) lives in the store (`needle_store::cases`).

pub mod canned;
pub mod hours;
pub mod routing;
pub mod rules;
mod stage;

pub use rules::Policy;
pub use stage::CasesStage;
