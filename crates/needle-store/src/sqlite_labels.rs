//! [`LabelStore`] for the embedded SQLite store.

use rusqlite::params;

use crate::labels::{Label, LabelStore};
use crate::sqlite::SqliteStore;
use crate::{Result, from_micros, micros};

const LABEL_COLUMNS: &str = "id, workspace_id, topic_id, message_seq, text, relevant, created_at";

fn label_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Label> {
    Ok(Label {
        id: row.get(0)?,
        workspace_id: row.get(1)?,
        topic_id: row.get(2)?,
        message_seq: row.get(3)?,
        text: row.get(4)?,
        relevant: row.get(5)?,
        created_at: from_micros(row.get(6)?),
    })
}

impl LabelStore for SqliteStore {
    fn put_label(
        &self,
        workspace_id: i64,
        topic_id: i64,
        message_seq: i64,
        text: &str,
        relevant: bool,
    ) -> Result<Label> {
        let now = micros(time::OffsetDateTime::now_utc());
        let conn = self.writer.lock().expect("writer");
        conn.query_row(
            &format!(
                "INSERT INTO relevance_labels
                     (workspace_id, topic_id, message_seq, text, relevant, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (topic_id, message_seq) DO UPDATE
                     SET text = excluded.text, relevant = excluded.relevant,
                         created_at = excluded.created_at
                 RETURNING {LABEL_COLUMNS}"
            ),
            params![workspace_id, topic_id, message_seq, text, relevant, now],
            label_row,
        )
        .map_err(|e| self.err(e))
    }

    fn labels(&self, topic_id: i64) -> Result<Vec<Label>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {LABEL_COLUMNS} FROM relevance_labels WHERE topic_id = ?1 ORDER BY id"
            ))?;
            stmt.query_map(params![topic_id], label_row)?.collect()
        })
    }

    fn delete_label(&self, topic_id: i64, label_id: i64) -> Result<bool> {
        let conn = self.writer.lock().expect("writer");
        let deleted = conn
            .execute(
                "DELETE FROM relevance_labels WHERE topic_id = ?1 AND id = ?2",
                params![topic_id, label_id],
            )
            .map_err(|e| self.err(e))?;
        Ok(deleted > 0)
    }
}

#[cfg(test)]
mod tests {
    use crate::sqlite::SqliteStore;

    crate::label_store_conformance_tests!(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("needle.db")).unwrap();
        (Box::new(store), dir)
    });
}
