//! [`LabelStore`] for the PostgreSQL store: the same behaviour as the SQLite one
//! (`sqlite_labels.rs`), proven by the same conformance suite. A label is one row upserted
//! on `(topic_id, message_seq)`, so two agents labelling the same message at once leave one
//! row with the last verdict.

use ::postgres::Row;

use crate::labels::{Label, LabelStore};
use crate::postgres::PostgresStore;
use crate::{Result, from_micros, micros};

macro_rules! label_columns {
    () => {
        "id, workspace_id, topic_id, message_seq, text, relevant, created_at"
    };
}

const PUT_LABEL: &str = concat!(
    "INSERT INTO relevance_labels (workspace_id, topic_id, message_seq, text, relevant, created_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (topic_id, message_seq) DO UPDATE
         SET text = excluded.text, relevant = excluded.relevant, created_at = excluded.created_at
     RETURNING ",
    label_columns!()
);
const LABELS: &str = concat!(
    "SELECT ",
    label_columns!(),
    " FROM relevance_labels WHERE topic_id = $1 ORDER BY id"
);
const DELETE_LABEL: &str = "DELETE FROM relevance_labels WHERE topic_id = $1 AND id = $2";

fn label_row(row: &Row) -> std::result::Result<Label, ::postgres::Error> {
    Ok(Label {
        id: row.try_get(0)?,
        workspace_id: row.try_get(1)?,
        topic_id: row.try_get(2)?,
        message_seq: row.try_get(3)?,
        text: row.try_get(4)?,
        relevant: row.try_get(5)?,
        created_at: from_micros(row.try_get(6)?),
    })
}

impl LabelStore for PostgresStore {
    fn put_label(
        &self,
        workspace_id: i64,
        topic_id: i64,
        message_seq: i64,
        text: &str,
        relevant: bool,
    ) -> Result<Label> {
        let now = micros(time::OffsetDateTime::now_utc());
        self.with_conn(|conn| {
            let put = conn.prepare(PUT_LABEL)?;
            let row = conn.client.query_one(
                &put,
                &[
                    &workspace_id,
                    &topic_id,
                    &message_seq,
                    &text,
                    &relevant,
                    &now,
                ],
            )?;
            Ok(label_row(&row)?)
        })
    }

    fn labels(&self, topic_id: i64) -> Result<Vec<Label>> {
        self.with_conn(|conn| {
            let labels = conn.prepare(LABELS)?;
            let rows = conn.client.query(&labels, &[&topic_id])?;
            Ok(rows
                .iter()
                .map(label_row)
                .collect::<std::result::Result<_, _>>()?)
        })
    }

    fn delete_label(&self, topic_id: i64, label_id: i64) -> Result<bool> {
        self.with_conn(|conn| {
            let delete = conn.prepare(DELETE_LABEL)?;
            Ok(conn.client.execute(&delete, &[&topic_id, &label_id])? > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestPostgres;

    // As in `postgres.rs`: skipped when no PostgreSQL is installed, an empty database each.
    crate::label_store_conformance_tests!({
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        move || {
            let url = pg.fresh_database();
            (Box::new(PostgresStore::connect(&url).unwrap()), ())
        }
    });
}
