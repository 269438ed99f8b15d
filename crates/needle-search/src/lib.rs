//! The full-text index: a tantivy index kept in step with the store and rebuildable from it.
//!
//! The store is the source of truth. The index holds no message text of its own, only
//! postings and the fast fields needed to filter and sort; results are seqs that the caller
//! reads from the store. Each commit records, in tantivy's commit payload, the highest seq
//! it holds, atomically with the documents: after a crash [`SearchIndex::catch_up`] adds
//! exactly the messages the store has and the index does not, so the two always agree.

mod query;
mod tokenizer;

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use needle_core::{ErrorCode, Message};
use needle_store::{Cursor, Store, StoreError, StoredMessage, micros};
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

pub use query::{QueryError, TextQuery};
pub use tokenizer::NeedleTokenizer;

/// The name the Needle tokenizer is registered under in every index.
pub const TOKENIZER: &str = "needle";
/// Memory the writer may use before it flushes a segment.
const WRITER_MEMORY: usize = 128 * 1024 * 1024;
/// Messages read from the store per step of catch-up and reindex.
const SCAN_CHUNK: usize = 20_000;

/// Why the index could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(
        "the search index at {0} is in use by another needle process (is `needle serve` running?)"
    )]
    Locked(String),
    #[error(
        "the search index at {path} cannot be used: {reason}; run `needle reindex` to rebuild it"
    )]
    Unusable { path: String, reason: String },
    #[error("search index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("{0}")]
    Io(String),
}

impl IndexError {
    pub fn code(&self) -> ErrorCode {
        match self {
            IndexError::Query(_) => ErrorCode::BadRequest,
            IndexError::Store(e) => e.code(),
            IndexError::Io(m) if m.contains("No space left") => ErrorCode::StorageFull,
            IndexError::Tantivy(e) if e.to_string().contains("No space left") => {
                ErrorCode::StorageFull
            }
            _ => ErrorCode::Internal,
        }
    }
}

pub type Result<T, E = IndexError> = std::result::Result<T, E>;

#[derive(Clone, Copy)]
struct Fields {
    seq: Field,
    workspace: Field,
    channel: Field,
    created_at: Field,
    text: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text_options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        seq: builder.add_u64_field("seq", INDEXED | FAST),
        workspace: builder.add_u64_field("workspace", INDEXED | FAST),
        channel: builder.add_text_field("channel", STRING),
        created_at: builder.add_i64_field("created_at", INDEXED | FAST),
        text: builder.add_text_field("text", text_options),
    };
    (builder.build(), fields)
}

/// What to search for: a text query and filters, newest first from an optional cursor.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub workspace_id: i64,
    pub query: Option<TextQuery>,
    pub channel: Option<String>,
    pub since_us: Option<i64>,
    pub until_us: Option<i64>,
    pub cursor: Option<Cursor>,
    pub limit: usize,
}

/// One page of hits, newest first, as (created_at in µs, seq).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage {
    pub hits: Vec<Cursor>,
    /// Present when more hits follow.
    pub next: Option<Cursor>,
}

struct WriterState {
    writer: IndexWriter,
    /// Highest seq added (committed or not).
    added_seq: i64,
    /// Highest seq in the last commit.
    committed_seq: i64,
    uncommitted: u64,
    last_commit: Instant,
}

/// The search index of one data dir.
pub struct SearchIndex {
    path: PathBuf,
    index: Index,
    reader: IndexReader,
    writer: Option<Mutex<WriterState>>,
    fields: Fields,
}

fn open_index(path: &Path) -> Result<Index> {
    std::fs::create_dir_all(path)
        .map_err(|e| IndexError::Io(format!("{}: {e}", path.display())))?;
    let (schema, _) = schema();
    let dir = MmapDirectory::open(path).map_err(|e| IndexError::Unusable {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let index = Index::open_or_create(dir, schema).map_err(|e| IndexError::Unusable {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    index
        .tokenizers()
        .register(TOKENIZER, NeedleTokenizer::default());
    Ok(index)
}

fn committed_seq_of(index: &Index) -> Result<i64> {
    let metas = index.load_metas()?;
    Ok(metas
        .payload
        .as_deref()
        .and_then(|p| p.strip_prefix("last_seq="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}

impl SearchIndex {
    /// Opens the index for reading and writing. Only one process may write at a time.
    pub fn open(path: impl AsRef<Path>) -> Result<SearchIndex> {
        let path = path.as_ref().to_path_buf();
        let index = open_index(&path)?;
        let writer: IndexWriter = index
            .writer_with_num_threads(1, WRITER_MEMORY)
            .map_err(|e| match e {
                tantivy::TantivyError::LockFailure(..) => {
                    IndexError::Locked(path.display().to_string())
                }
                other => IndexError::Tantivy(other),
            })?;
        let committed_seq = committed_seq_of(&index)?;
        Self::finish_open(
            path,
            index,
            Some(WriterState {
                writer,
                added_seq: committed_seq,
                committed_seq,
                uncommitted: 0,
                last_commit: Instant::now(),
            }),
        )
    }

    /// Opens the index for searching only, beside a process that may be writing it.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<SearchIndex> {
        let path = path.as_ref().to_path_buf();
        let index = open_index(&path)?;
        Self::finish_open(path, index, None)
    }

    fn finish_open(
        path: PathBuf,
        index: Index,
        writer: Option<WriterState>,
    ) -> Result<SearchIndex> {
        let (_, fields) = schema();
        let reader = index
            .reader_builder()
            .reload_policy(if writer.is_some() {
                ReloadPolicy::Manual
            } else {
                ReloadPolicy::OnCommitWithDelay
            })
            .try_into()?;
        Ok(SearchIndex {
            path,
            index,
            reader,
            writer: writer.map(Mutex::new),
            fields,
        })
    }

    fn writer(&self) -> Result<std::sync::MutexGuard<'_, WriterState>> {
        let writer = self.writer.as_ref().ok_or_else(|| {
            IndexError::Io(format!("{} was opened read-only", self.path.display()))
        })?;
        Ok(writer.lock().expect("index writer"))
    }

    /// Adds stored messages; they become searchable at the next commit. Messages must come
    /// in seq order, and ones the index already holds are skipped.
    pub fn add(&self, messages: &[&StoredMessage]) -> Result<()> {
        self.add_messages(messages.iter().map(|s| (s.seq, s.workspace_id, &s.message)))
    }

    /// As [`SearchIndex::add`], for messages given as (seq, workspace id, message).
    pub fn add_messages<'m>(
        &self,
        messages: impl IntoIterator<Item = (i64, i64, &'m Message)>,
    ) -> Result<()> {
        let mut state = self.writer()?;
        for (seq, workspace_id, message) in messages {
            if seq <= state.added_seq {
                continue;
            }
            state
                .writer
                .add_document(self.document(seq, workspace_id, message))?;
            state.added_seq = seq;
            state.uncommitted += 1;
        }
        Ok(())
    }

    /// Replaces messages the index already holds by their current (say, redacted) version,
    /// by seq; messages it does not hold yet are left for the usual catch-up from the store.
    /// Commits, so that the old text is no longer found once this returns.
    pub fn replace(&self, messages: &[&StoredMessage]) -> Result<()> {
        let mut state = self.writer()?;
        for s in messages {
            if s.seq > state.added_seq {
                continue;
            }
            let term = tantivy::Term::from_field_u64(self.fields.seq, s.seq as u64);
            state.writer.delete_term(term);
            state
                .writer
                .add_document(self.document(s.seq, s.workspace_id, &s.message))?;
            state.uncommitted += 1;
        }
        drop(state);
        self.commit()
    }

    fn document(&self, seq: i64, workspace_id: i64, m: &Message) -> TantivyDocument {
        let f = self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_u64(f.seq, seq as u64);
        doc.add_u64(f.workspace, workspace_id as u64);
        doc.add_text(f.channel, &m.channel);
        doc.add_i64(f.created_at, micros(m.created_at));
        if let Some(title) = &m.title {
            doc.add_text(f.text, title);
        }
        doc.add_text(f.text, &m.text);
        doc
    }

    /// Commits what was added and makes it searchable; records the highest seq it holds.
    pub fn commit(&self) -> Result<()> {
        let mut state = self.writer()?;
        Self::commit_locked(&mut state)?;
        drop(state);
        self.reader.reload()?;
        Ok(())
    }

    fn commit_locked(state: &mut WriterState) -> Result<()> {
        if state.uncommitted == 0 && state.added_seq == state.committed_seq {
            state.last_commit = Instant::now();
            return Ok(());
        }
        let payload = format!("last_seq={}", state.added_seq);
        let mut prepared = state.writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        state.committed_seq = state.added_seq;
        state.uncommitted = 0;
        state.last_commit = Instant::now();
        Ok(())
    }

    /// Commits when there is something uncommitted and `interval` has passed since the last
    /// commit: near-real-time search without paying for a commit per batch.
    pub fn commit_if_due(&self, interval: Duration) -> Result<bool> {
        let due = {
            let state = self.writer()?;
            state.uncommitted > 0 && state.last_commit.elapsed() >= interval
        };
        if due {
            self.commit()?;
        }
        Ok(due)
    }

    /// The highest seq added (committed or not).
    pub fn added_seq(&self) -> Result<i64> {
        Ok(self.writer()?.added_seq)
    }

    /// The highest seq in the last commit.
    pub fn committed_seq(&self) -> Result<i64> {
        match &self.writer {
            Some(_) => Ok(self.writer()?.committed_seq),
            None => committed_seq_of(&self.index),
        }
    }

    /// Indexes every stored message the index does not hold yet (after a crash, or after
    /// another process wrote to the store), then commits. Returns how many were added.
    pub fn catch_up(&self, store: &dyn Store) -> Result<u64> {
        let added = self.add_from_store(store)?;
        self.commit()?;
        Ok(added)
    }

    /// Adds every stored message above the highest seq added, without committing.
    pub fn add_from_store(&self, store: &dyn Store) -> Result<u64> {
        let mut after = self.writer()?.added_seq;
        let mut added = 0u64;
        loop {
            let chunk = store.scan(after, SCAN_CHUNK)?;
            let Some(last) = chunk.last() else { break };
            after = last.seq;
            let refs: Vec<&StoredMessage> = chunk.iter().collect();
            self.add(&refs)?;
            added += chunk.len() as u64;
        }
        Ok(added)
    }

    /// Builds a fresh index from the store at `path`, replacing the one there only once the
    /// new one is complete, so an interrupted rebuild leaves the old index in place.
    pub fn rebuild(path: impl AsRef<Path>, store: &dyn Store) -> Result<u64> {
        let path = path.as_ref();
        let building = path.with_extension("rebuilding");
        if building.exists() {
            std::fs::remove_dir_all(&building)
                .map_err(|e| IndexError::Io(format!("{}: {e}", building.display())))?;
        }
        let count = {
            let fresh = SearchIndex::open(&building)?;
            fresh.catch_up(store)?
        };
        if path.exists() {
            // Fails with Locked if a server holds the old index: refuse rather than pull it away.
            drop(SearchIndex::open(path)?);
            std::fs::remove_dir_all(path)
                .map_err(|e| IndexError::Io(format!("{}: {e}", path.display())))?;
        }
        std::fs::rename(&building, path)
            .map_err(|e| IndexError::Io(format!("{}: {e}", path.display())))?;
        Ok(count)
    }

    /// How many messages are searchable now.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Makes the latest commit visible to this handle (read-only handles reload on their own).
    pub fn refresh(&self) -> Result<()> {
        self.reader.reload()?;
        Ok(())
    }

    /// Searches newest first. Ties on time are broken by seq, so pages never skip or repeat.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchPage> {
        let f = self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_u64(f.workspace, request.workspace_id as u64),
                IndexRecordOption::Basic,
            )),
        )];
        if let Some(query) = &request.query {
            clauses.push((Occur::Must, query.to_tantivy(f.text)));
        }
        if let Some(channel) = &request.channel {
            clauses.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(f.channel, channel),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        let upper = match (request.until_us, request.cursor) {
            (Some(until), Some(c)) if until <= c.created_at_us => Bound::Excluded(until),
            (_, Some(c)) => Bound::Included(c.created_at_us),
            (Some(until), None) => Bound::Excluded(until),
            (None, None) => Bound::Unbounded,
        };
        let lower = request.since_us.map_or(Bound::Unbounded, Bound::Included);
        if !matches!((&lower, &upper), (Bound::Unbounded, Bound::Unbounded)) {
            let term = |us: i64| Term::from_field_i64(f.created_at, us);
            clauses.push((
                Occur::Must,
                Box::new(RangeQuery::new(lower.map(term), upper.map(term))),
            ));
        }
        let query: Box<dyn Query> = if clauses.is_empty() {
            Box::new(AllQuery)
        } else {
            Box::new(BooleanQuery::new(clauses))
        };

        let cursor = request.cursor;
        let limit = request.limit.max(1);
        // Sort key (created_at, seq), highest first; anything at or past the cursor sinks to
        // the bottom and is dropped below.
        let by_time_then_seq = move |segment: &tantivy::SegmentReader| {
            let created = segment
                .fast_fields()
                .i64("created_at")
                .expect("created_at is a fast field");
            let seqs = segment
                .fast_fields()
                .u64("seq")
                .expect("seq is a fast field");
            move |doc: tantivy::DocId| {
                let key = (
                    created.first(doc).unwrap_or(i64::MIN),
                    seqs.first(doc).unwrap_or(0) as i64,
                );
                match cursor {
                    Some(c) if key >= (c.created_at_us, c.seq) => (i64::MIN, i64::MIN),
                    _ => key,
                }
            }
        };
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &query,
            &TopDocs::with_limit(limit + 1).order_by(by_time_then_seq),
        )?;
        let mut hits: Vec<Cursor> = top
            .into_iter()
            .map(|((created_at_us, seq), _)| Cursor { created_at_us, seq })
            .filter(|c| c.created_at_us != i64::MIN)
            .collect();
        let next = if hits.len() > limit {
            hits.truncate(limit);
            hits.last().copied()
        } else {
            None
        };
        Ok(SearchPage { hits, next })
    }

    /// How many messages of a workspace match, ignoring pagination.
    pub fn count(&self, workspace_id: i64, query: Option<&TextQuery>) -> Result<u64> {
        let f = self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_u64(f.workspace, workspace_id as u64),
                IndexRecordOption::Basic,
            )),
        )];
        if let Some(q) = query {
            clauses.push((Occur::Must, q.to_tantivy(f.text)));
        }
        let n = self
            .reader
            .searcher()
            .search(&BooleanQuery::new(clauses), &Count)?;
        Ok(n as u64)
    }
}

impl Drop for SearchIndex {
    /// Whatever was added is committed on a clean shutdown; a crash loses nothing either,
    /// since catch-up re-adds from the store.
    fn drop(&mut self) {
        if let Some(writer) = &self.writer
            && let Ok(mut state) = writer.lock()
        {
            let _ = Self::commit_locked(&mut state);
        }
    }
}

#[cfg(test)]
mod tests;
