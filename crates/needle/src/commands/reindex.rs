//! `needle reindex`: rebuild the search index from the store.

use needle_search::SearchIndex;
use needle_store::sqlite::SqliteStore;

use crate::cli::DataArgs;
use crate::failure::{CliResult, Failure};

pub fn run(data: &DataArgs) -> CliResult<i32> {
    let db = data.data.join("needle.db");
    if !db.exists() {
        return Err(Failure::bad_input(format!(
            "no Needle data in {}",
            data.data.display()
        )));
    }
    let store = SqliteStore::open(db)?;
    let started = std::time::Instant::now();
    let count = SearchIndex::rebuild(data.data.join("index"), &store)?;
    println!(
        "reindexed {count} messages in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(0)
}
