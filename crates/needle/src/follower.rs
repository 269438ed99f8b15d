//! A web process in a cluster keeps its own search index by following the store: it adds,
//! in seq order, every message stored since the last look. The store's seqs become visible
//! in order (PostgreSQL writers take a lock for that), so following never skips one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use needle_search::SearchIndex;
use needle_store::Backend;

pub struct Follower {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Follower {
    pub fn start(index: Arc<SearchIndex>, store: Arc<dyn Backend>, every: Duration) -> Follower {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("needle-follow".into())
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        let behind = match (store.max_seq(), index.added_seq()) {
                            (Ok(stored), Ok(added)) => stored > added,
                            _ => false,
                        };
                        if behind && let Err(e) = index.catch_up(store.as_ref()) {
                            tracing::warn!(error = %e, "could not follow the store; will retry");
                        }
                        std::thread::sleep(every);
                    }
                })
                .expect("spawn the index follower")
        };
        Follower {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
