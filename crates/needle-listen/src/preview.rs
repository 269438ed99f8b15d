//! A topic tried before it is saved: which of the workspace's most recent messages it would
//! match, and why. Bounded by the number of messages looked at, so it answers while the
//! analyst types.

use needle_nql::{Explanation, Scratch, Topic};
use needle_store::{ListFilter, StoredMessage};

use crate::{Listening, Result, document_of_stored};

/// Most recent messages one preview may look at.
pub const MAX_RECENT: usize = 5_000;

/// What a draft topic would have matched among recent messages.
#[derive(Debug)]
pub struct Preview {
    /// How many recent messages were looked at (fewer when the workspace has fewer).
    pub examined: usize,
    /// How many of them matched.
    pub matched: usize,
    /// The newest matches, at most the limit asked for, with why each matched.
    pub messages: Vec<(StoredMessage, Explanation)>,
}

impl Listening {
    /// Runs `topic` over the `recent` newest messages of a workspace (at most
    /// [`MAX_RECENT`]), keeping the first `limit` matches.
    pub fn preview(
        &self,
        workspace_id: i64,
        topic: &Topic,
        recent: usize,
        limit: usize,
    ) -> Result<Preview> {
        let recent = recent.clamp(1, MAX_RECENT);
        let newest = self
            .store()
            .list(workspace_id, &ListFilter::default(), None, recent)?;
        let examined = newest.len();
        let mut scratch = Scratch::default();
        let mut matched = 0;
        let mut messages = Vec::new();
        for stored in newest {
            let why = topic.matches_with(&document_of_stored(&stored), &mut scratch);
            if let Some(why) = why {
                matched += 1;
                if messages.len() < limit {
                    messages.push((stored, why));
                }
            }
        }
        Ok(Preview {
            examined,
            matched,
            messages,
        })
    }
}
