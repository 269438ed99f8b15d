//! all-MiniLM-L6-v2 in pure Rust (candle), computed the way sentence-transformers computes
//! it: word pieces truncated to 256 (the model's `max_seq_length`), BERT, mean pooling over
//! the attention mask, L2 normalisation.
//!
//! Batching, the thread pool and pooling are shared with the other encoders
//! (`encoder`).

use std::path::Path;

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::Tokenizer;

pub use crate::encoder::{MAX_CHARS, Options};
use crate::encoder::{embed_by_length, mean_pool_normalized, padded, truncate_chars};
use crate::models::{MINILM, ModelsDir};
use crate::{EmbedError, Embedder};

/// Word pieces per text, `[CLS]` and `[SEP]` included (sentence-transformers' `max_seq_length`).
pub const MAX_TOKENS: usize = 256;

/// The loaded model.
pub struct MiniLm {
    model: BertModel,
    tokenizer: Tokenizer,
    pool: rayon::ThreadPool,
    options: Options,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLm")
            .field("options", &self.options)
            .finish()
    }
}

fn load_error(reason: impl std::fmt::Display) -> EmbedError {
    EmbedError::Load {
        model: MINILM.model.to_string(),
        reason: reason.to_string(),
    }
}

fn inference_error(reason: impl std::fmt::Display) -> EmbedError {
    EmbedError::Inference(reason.to_string())
}

impl MiniLm {
    /// Loads the model from a models directory, after checking every file's sha256.
    pub fn load(models: &ModelsDir, options: Options) -> Result<MiniLm, EmbedError> {
        let dir = models.verified(&MINILM)?;
        MiniLm::load_checked(&dir, options)
    }

    fn load_checked(dir: &Path, options: Options) -> Result<MiniLm, EmbedError> {
        let config_path = dir.join("config.json");
        let config =
            std::fs::read_to_string(&config_path).map_err(|e| EmbedError::io(&config_path, e))?;
        let config: Config = serde_json::from_str(&config).map_err(load_error)?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).map_err(load_error)?;
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(load_error)?;
        tokenizer.with_padding(None);
        let weights = dir.join("model.safetensors");
        // SAFETY: the file was just checked against its pin; the map is read-only and Needle
        // never writes model files while a model is loaded.
        let vb = unsafe {
            VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, &Device::Cpu)
                .map_err(load_error)?
        };
        let model = BertModel::load(vb, &config).map_err(load_error)?;
        let pool = options.thread_pool().map_err(load_error)?;
        Ok(MiniLm {
            model,
            tokenizer,
            pool,
            options,
        })
    }

    /// Word-piece ids of each text, truncated to [`MAX_TOKENS`].
    fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>, EmbedError> {
        texts
            .iter()
            .map(|text| {
                let head = truncate_chars(text, MAX_CHARS);
                self.tokenizer
                    .encode(head, true)
                    .map(|e| e.get_ids().to_vec())
                    .map_err(inference_error)
            })
            .collect()
    }

    /// One forward pass over texts of similar length, padded to the longest of them.
    fn embed_batch(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let (ids, mask) = padded(batch, 0)?;
            let types = ids.zeros_like()?;
            let hidden = self.model.forward(&ids, &types, Some(&mask))?;
            mean_pool_normalized(&hidden, &mask)
        };
        self.pool.install(run).map_err(inference_error)
    }
}

impl Embedder for MiniLm {
    fn name(&self) -> &str {
        MINILM.model
    }

    fn dimension(&self) -> usize {
        384
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let tokens = self.tokenize(texts)?;
        embed_by_length(&tokens, &self.options, |batch| self.embed_batch(batch))
    }
}
