//! `needle reindex`: rebuild the search index from the store.

use needle_search::SearchIndex;

use crate::cli::DataArgs;
use crate::context::open_store;
use crate::failure::{CliResult, Failure};

pub fn run(data: &DataArgs) -> CliResult<i32> {
    if data.store.is_none() && !data.data.join("needle.db").exists() {
        return Err(Failure::bad_input(format!(
            "no Needle data in {}",
            data.data.display()
        )));
    }
    let store = open_store(data)?;
    let started = std::time::Instant::now();
    let count = SearchIndex::rebuild(data.data.join("index"), store.as_ref())?;
    println!(
        "reindexed {count} messages in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(0)
}
