//! all-MiniLM-L6-v2 in pure Rust, computed the way sentence-transformers computes it: word
//! pieces truncated to 256 (the model's `max_seq_length`), BERT, mean pooling over the
//! attention mask, L2 normalisation.
//!
//! Two engines run the BERT layers ([`Engine`]): Needle's own over packed texts (`bert`,
//! the default) and candle's, kept as the reference the first is measured against.
//! Batching and the thread pool are shared with the other encoders (`encoder`).

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, HiddenAct};
use safetensors::SafeTensors;
use tokenizers::Tokenizer;

use crate::bert;

pub use crate::encoder::{MAX_CHARS, Options};
use crate::encoder::{embed_by_length, mean_pool_normalized, padded, truncate_chars};
use crate::models::{MINILM, ModelsDir};
use crate::{EmbedError, Embedder};

/// Word pieces per text, `[CLS]` and `[SEP]` included (sentence-transformers' `max_seq_length`).
pub const MAX_TOKENS: usize = 256;

/// What runs the BERT layers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Engine {
    /// Needle's own forward pass over packed texts (`bert`): no padding, gemm's kernels.
    #[default]
    Packed,
    /// candle's BERT over padded, masked batches: the reference the packed one is measured
    /// against (`needle bench embed --levers`).
    Candle,
}

enum Model {
    Packed(bert::Bert),
    Candle(BertModel),
}

/// The loaded model.
pub struct MiniLm {
    model: Model,
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
        MiniLm::load_on(models, options, Engine::default())
    }

    /// [`MiniLm::load`] with the engine chosen.
    pub fn load_on(
        models: &ModelsDir,
        options: Options,
        engine: Engine,
    ) -> Result<MiniLm, EmbedError> {
        // Every file is read once, checked against its pin as it is read.
        let read = |name| models.read_verified(&MINILM, name);
        let config: Config = serde_json::from_slice(&read("config.json")?).map_err(load_error)?;
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?).map_err(load_error)?;
        // Mean pooling is what sentence-transformers' pooling config says; it is checked,
        // not read for settings.
        read("pooling.json")?;
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(load_error)?;
        tokenizer.with_padding(None);
        let weights = read("model.safetensors")?;
        let model = match engine {
            Engine::Packed => {
                let tensors = SafeTensors::deserialize(&weights).map_err(load_error)?;
                Model::Packed(packed_bert(&tensors, &config).map_err(load_error)?)
            }
            Engine::Candle => {
                let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
                    .map_err(load_error)?;
                Model::Candle(BertModel::load(vb, &config).map_err(load_error)?)
            }
        };
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

    /// One forward pass of candle's BERT over texts of similar length, padded to the longest
    /// of them, the padding masked.
    fn candle_batch(
        &self,
        model: &BertModel,
        batch: &[&[u32]],
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let (ids, mask) = padded(batch, 0)?;
            let types = ids.zeros_like()?;
            let hidden = model.forward(&ids, &types, Some(&mask))?;
            mean_pool_normalized(&hidden, &mask)
        };
        self.pool.install(run).map_err(inference_error)
    }
}

/// The BERT of `config` from its safetensors, for the packed engine.
fn packed_bert(tensors: &SafeTensors<'_>, config: &Config) -> Result<bert::Bert, String> {
    if !matches!(config.hidden_act, HiddenAct::Gelu) {
        return Err(format!("activation {:?} (only GELU)", config.hidden_act));
    }
    let hidden = config.hidden_size;
    let eps = config.layer_norm_eps as f32;
    let tensor = |name: &str, shape: &[usize]| -> Result<Vec<f32>, String> {
        let view = tensors
            .tensor(name)
            .map_err(|e| format!("tensor {name}: {e}"))?;
        if view.dtype() != safetensors::Dtype::F32 || view.shape() != shape {
            return Err(format!(
                "tensor {name} is {:?} {:?}, expected F32 {shape:?}",
                view.dtype(),
                view.shape()
            ));
        }
        Ok(view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    };
    let linear = |name: &str, outputs: usize, inputs: usize| {
        bert::Linear::new(
            tensor(&format!("{name}.weight"), &[outputs, inputs])?,
            tensor(&format!("{name}.bias"), &[outputs])?,
        )
    };
    let norm = |name: &str| -> Result<bert::LayerNorm, String> {
        Ok(bert::LayerNorm {
            weight: tensor(&format!("{name}.weight"), &[hidden])?,
            bias: tensor(&format!("{name}.bias"), &[hidden])?,
            eps,
        })
    };
    let embeddings = bert::Embeddings {
        word: bert::Words::F32(tensor(
            "embeddings.word_embeddings.weight",
            &[config.vocab_size, hidden],
        )?),
        position: tensor(
            "embeddings.position_embeddings.weight",
            &[config.max_position_embeddings, hidden],
        )?,
        token_type: tensor(
            "embeddings.token_type_embeddings.weight",
            &[config.type_vocab_size, hidden],
        )?[..hidden]
            .to_vec(),
        norm: norm("embeddings.LayerNorm")?,
    };
    let inner = config.intermediate_size;
    let layers = (0..config.num_hidden_layers)
        .map(|i| {
            let at = format!("encoder.layer.{i}");
            Ok(bert::Layer {
                qkv: bert::Linear::side_by_side(vec![
                    linear(&format!("{at}.attention.self.query"), hidden, hidden)?,
                    linear(&format!("{at}.attention.self.key"), hidden, hidden)?,
                    linear(&format!("{at}.attention.self.value"), hidden, hidden)?,
                ])?,
                attention_out: linear(&format!("{at}.attention.output.dense"), hidden, hidden)?,
                attention_norm: norm(&format!("{at}.attention.output.LayerNorm"))?,
                intermediate: linear(&format!("{at}.intermediate.dense"), inner, hidden)?,
                output: linear(&format!("{at}.output.dense"), hidden, inner)?,
                output_norm: norm(&format!("{at}.output.LayerNorm"))?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let encoder = bert::Encoder::new(hidden, config.num_attention_heads, layers)?;
    Ok(bert::Bert {
        embeddings,
        encoder,
    })
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
        match &self.model {
            Model::Packed(bert) => bert.embed(&tokens, &self.options, &self.pool),
            Model::Candle(model) => embed_by_length(&tokens, &self.options, |batch| {
                self.candle_batch(model, batch)
            }),
        }
    }
}
