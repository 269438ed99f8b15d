//! Search in the Needle Query Language: candidates from the full-text index, each verified
//! by the same matcher as live topics, newest first with cursors.
//!
//! The index narrows the messages down to those holding at least one term the query cannot
//! match without (`Query::required_any_of`); queries with no such term (fields only,
//! wildcards only) walk the workspace newest first. Verification makes the answer exact
//! either way. A request examines a bounded number of candidates; when it stops early it
//! returns a cursor to go on from, so no query can hold a server hostage.

use needle_nql::{Explanation, Query, Scratch, compile};
use needle_search::{SearchRequest, TextQuery};
use needle_store::{Cursor, StoredMessage};

use crate::{ListenError, Listening, Result, document_of_stored};

/// Candidates fetched from the index per step.
const CANDIDATE_PAGE: usize = 500;
/// Most candidates one request verifies before it returns what it has and a cursor.
const MAX_EXAMINED: usize = 100_000;

/// What to search for.
#[derive(Debug, Clone, Default)]
pub struct NqlSearch<'a> {
    pub workspace_id: i64,
    pub query: &'a str,
    pub channel: Option<String>,
    pub since_us: Option<i64>,
    pub until_us: Option<i64>,
    pub cursor: Option<Cursor>,
    pub limit: usize,
}

/// One page of verified matches, newest first.
#[derive(Debug)]
pub struct Found {
    pub messages: Vec<(StoredMessage, Explanation)>,
    /// Present when there may be more: pass it back as the cursor.
    pub next: Option<Cursor>,
    /// Warnings about the query (it ran anyway).
    pub warnings: Vec<needle_nql::Diagnostic>,
}

/// Compiles a search query, or explains what is wrong.
pub fn compile_search(query: &str) -> Result<Query> {
    compile(query).map_err(|report| ListenError::Query {
        part: "query",
        report,
    })
}

impl Listening {
    pub fn search(&self, request: &NqlSearch<'_>) -> Result<Found> {
        let query = compile_search(request.query)?;
        let candidates = query
            .required_any_of()
            .filter(|terms| !terms.is_empty())
            .map(TextQuery::any_of);
        let limit = request.limit.max(1);
        let mut scratch = Scratch::default();
        let mut found = Vec::with_capacity(limit);
        let mut cursor = request.cursor;
        let mut examined = 0;
        loop {
            let page = self.index().search(&SearchRequest {
                workspace_id: request.workspace_id,
                query: candidates.clone(),
                channel: request.channel.clone(),
                since_us: request.since_us,
                until_us: request.until_us,
                cursor,
                limit: CANDIDATE_PAGE,
            })?;
            let seqs: Vec<i64> = page.hits.iter().map(|c| c.seq).collect();
            let messages = self.store().get_many(&seqs)?;
            if let Some(last) = page.hits.last() {
                cursor = Some(*last);
            }
            for stored in messages {
                examined += 1;
                let here = Cursor::after(&stored);
                if let Some(why) = query.matches_with(&document_of_stored(&stored), &mut scratch) {
                    found.push((stored, why));
                    if found.len() == limit {
                        return Ok(Found {
                            messages: found,
                            next: Some(here),
                            warnings: query.warnings().to_vec(),
                        });
                    }
                }
            }
            if page.next.is_none() || examined >= MAX_EXAMINED {
                let next = page.next.and(cursor);
                return Ok(Found {
                    messages: found,
                    next,
                    warnings: query.warnings().to_vec(),
                });
            }
        }
    }
}
