//! Collaborate: the conversations that need the team become cases. [`rules`] decides which
//! messages open a case, how urgent it is and when it is due; [`CasesStage`] applies them to
//! every stored message, right after the store, so a case exists by the time the message is
//! acknowledged. The case itself (status, assignee, labels, history) lives in the store
//! (`needle_store::cases`).

pub mod canned;
pub mod rules;
mod stage;

pub use rules::Policy;
pub use stage::CasesStage;
