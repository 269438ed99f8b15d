//! all-MiniLM-L6-v2 in pure Rust (candle), computed the way sentence-transformers computes
//! it: word pieces truncated to 256 (the model's `max_seq_length`), BERT, mean pooling over
//! the attention mask, L2 normalisation.
//!
//! Batches are built by length: texts are sorted by their number of word pieces and cut
//! into batches, so each batch pads only to its own longest text and short messages never
//! pay for a long one. Inference runs on a thread pool of its own (one thread by default:
//! this class of machine gives about one core of throughput, and BERT ran faster
//! single-threaded here).

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::Tokenizer;

use crate::models::{MINILM, ModelsDir};
use crate::{EmbedError, Embedder};

/// Word pieces per text, [CLS] and [SEP] included (sentence-transformers' `max_seq_length`).
pub const MAX_TOKENS: usize = 256;
/// Characters of a text the tokenizer sees at most. 256 word pieces never span more than
/// this in practice (a word piece is at most 100 characters, and words are split at
/// spaces), and it keeps a 1 MB message from costing a 1 MB tokenisation.
pub const MAX_CHARS: usize = 16 * 1024;

/// How to run the model.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Threads for inference.
    pub threads: usize,
    /// Texts per forward pass.
    pub batch_size: usize,
    /// Sort texts by length before batching (off only to measure what it gives).
    pub bucket_by_length: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            threads: 1,
            batch_size: 32,
            bucket_by_length: true,
        }
    }
}

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
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(options.threads.max(1))
            .thread_name(|i| format!("embed-{i}"))
            .build()
            .map_err(load_error)?;
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
        let width = batch.iter().map(|ids| ids.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(batch.len() * width);
        let mut mask = Vec::with_capacity(batch.len() * width);
        for piece_ids in batch {
            ids.extend_from_slice(piece_ids);
            ids.extend(std::iter::repeat_n(0u32, width - piece_ids.len()));
            mask.extend(std::iter::repeat_n(1u32, piece_ids.len()));
            mask.extend(std::iter::repeat_n(0u32, width - piece_ids.len()));
        }
        let shape = (batch.len(), width);
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let ids = Tensor::from_vec(ids, shape, &Device::Cpu)?;
            let mask = Tensor::from_vec(mask, shape, &Device::Cpu)?;
            let types = ids.zeros_like()?;
            let hidden = self.model.forward(&ids, &types, Some(&mask))?;
            // Mean over the real word pieces only, then unit length.
            let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
            let counts = mask.sum(1)?;
            let mean = summed.broadcast_div(&counts)?;
            let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
            mean.broadcast_div(&norms)?.to_vec2::<f32>()
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
        let mut order: Vec<usize> = (0..texts.len()).collect();
        if self.options.bucket_by_length {
            order.sort_by_key(|&i| tokens[i].len());
        }
        let mut vectors = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(self.options.batch_size.max(1)) {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| tokens[i].as_slice()).collect();
            for (&i, vector) in chunk.iter().zip(self.embed_batch(&batch)?) {
                vectors[i] = vector;
            }
        }
        Ok(vectors)
    }
}

/// The first `max` characters of `text`, cut at a character boundary.
fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_cuts_at_character_boundaries() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("abc", 10), "abc");
        assert_eq!(truncate_chars("", 3), "");
    }
}
