//! A BERT encoder's forward pass on the CPU, over packed texts: Needle's own, because
//! candle's BERT pads, masks and copies heads, and ran at about 0.85× of this one here
//! (measured side by side with `needle bench embed --levers`; the figures are in
//! CHANGELOG.md).
//!
//! What it does differently:
//! - The texts of a batch are laid end to end, `tokens × hidden`, with no padding and so no
//!   attention mask: no work is spent on padding, whatever the lengths.
//! - Every linear layer is one matrix product over all of the batch's tokens (the `gemm`
//!   crate, whose kernels candle uses too), which accumulates onto its output: the output
//!   starts as the bias, or as the residual plus the bias, so the residual costs no pass of
//!   its own.
//! - Attention, a few percent of the work at message length, runs text by text and head by
//!   head on the fused query-key-value rows; only each head's keys are copied, transposed,
//!   so that every inner loop runs along a row.
//! - GELU uses Eigen's rational approximation of erf (within 5e-7 of libm's `erff`, tested),
//!   which the compiler turns into vector instructions, where a call per element would not
//!   be.

use gemm::Parallelism;

use crate::EmbedError;
use crate::encoder::{Options, embed_by_length_on};

/// `x · weightᵀ + bias`, with `weight` as PyTorch stores it (`outputs × inputs`, row-major).
pub(crate) struct Linear {
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
}

impl Linear {
    pub(crate) fn new(weight: Vec<f32>, bias: Vec<f32>) -> Result<Linear, String> {
        let outputs = bias.len();
        if outputs == 0 || !weight.len().is_multiple_of(outputs) {
            return Err(format!(
                "a matrix of {} values does not fit {outputs} outputs",
                weight.len()
            ));
        }
        let inputs = weight.len() / outputs;
        Ok(Linear {
            weight,
            bias,
            inputs,
        })
    }

    /// Linear layers over the same input as one, their outputs side by side (a layer's query,
    /// key and value: one matrix product instead of three).
    pub(crate) fn side_by_side(parts: Vec<Linear>) -> Result<Linear, String> {
        let inputs = parts.first().map_or(0, |p| p.inputs);
        if parts.iter().any(|p| p.inputs != inputs) {
            return Err("layers side by side must read the same input".into());
        }
        let weight = parts
            .iter()
            .flat_map(|p| p.weight.iter().copied())
            .collect();
        let bias = parts.iter().flat_map(|p| p.bias.iter().copied()).collect();
        Linear::new(weight, bias)
    }

    fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// `out = x · weightᵀ + bias` for `rows` rows of `x`.
    fn forward(&self, x: &[f32], rows: usize, out: &mut [f32], parallelism: Parallelism) {
        for row in out.chunks_exact_mut(self.outputs()) {
            row.copy_from_slice(&self.bias);
        }
        self.accumulate(x, rows, out, parallelism);
    }

    /// `acc += x · weightᵀ + bias` for `rows` rows of `x`: the residual connection for free.
    fn add_forward(&self, x: &[f32], rows: usize, acc: &mut [f32], parallelism: Parallelism) {
        for row in acc.chunks_exact_mut(self.outputs()) {
            for (a, b) in row.iter_mut().zip(&self.bias) {
                *a += b;
            }
        }
        self.accumulate(x, rows, acc, parallelism);
    }

    /// `acc += x · weightᵀ` for `rows` rows of `x`.
    fn accumulate(&self, x: &[f32], rows: usize, acc: &mut [f32], parallelism: Parallelism) {
        let (inputs, outputs) = (self.inputs, self.outputs());
        assert_eq!(x.len(), rows * inputs, "input rows");
        assert_eq!(acc.len(), rows * outputs, "output rows");
        if rows == 0 {
            return;
        }
        // SAFETY: the asserts above bound every element gemm touches. `acc` is
        // rows × outputs and `x` rows × inputs, both row-major; the right-hand side is the
        // weight's transpose, inputs × outputs read with a row stride of 1 and a column stride
        // of `inputs`, which stays inside the outputs × inputs weight.
        unsafe {
            gemm::gemm(
                rows,
                outputs,
                inputs,
                acc.as_mut_ptr(),
                1,
                outputs as isize,
                true,
                x.as_ptr(),
                1,
                inputs as isize,
                self.weight.as_ptr(),
                inputs as isize,
                1,
                1.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
    }
}

/// Layer normalisation over each row.
pub(crate) struct LayerNorm {
    pub(crate) weight: Vec<f32>,
    pub(crate) bias: Vec<f32>,
    pub(crate) eps: f32,
}

impl LayerNorm {
    #[inline(always)]
    fn apply(&self, x: &mut [f32]) {
        let width = self.weight.len();
        for row in x.chunks_exact_mut(width) {
            let mean = row.iter().sum::<f32>() / width as f32;
            let variance = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / width as f32;
            let scale = 1.0 / (variance + self.eps).sqrt();
            for ((v, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
                *v = (*v - mean) * scale * w + b;
            }
        }
    }
}

/// One transformer layer (post-norm, as BERT).
pub(crate) struct Layer {
    /// Query, key and value side by side.
    pub(crate) qkv: Linear,
    pub(crate) attention_out: Linear,
    pub(crate) attention_norm: LayerNorm,
    pub(crate) intermediate: Linear,
    pub(crate) output: Linear,
    pub(crate) output_norm: LayerNorm,
}

/// A model's word embeddings, one row of `hidden` values per token id.
pub(crate) enum Words {
    F32(Vec<f32>),
    /// Rows of Q4_0 blocks (32 values each: an f16 scale, then 16 bytes of 4-bit values
    /// offset by 8, the first 16 values in the low halves), expanded as tokens are looked up:
    /// a big multilingual vocabulary stays an eighth of its f32 size.
    Q4_0(Vec<u8>),
}

/// Values in one Q4_0 block.
pub(crate) const Q4_0_BLOCK: usize = 32;
/// Bytes of one Q4_0 block: an f16 scale and 16 bytes of 4-bit values.
pub(crate) const Q4_0_BLOCK_BYTES: usize = 18;

/// Adds the values of the Q4_0 blocks in `blocks` to `out` (32 values a block).
fn add_q4_0(blocks: &[u8], out: &mut [f32]) {
    let blocks = blocks.chunks_exact(Q4_0_BLOCK_BYTES);
    for (block, out) in blocks.zip(out.chunks_exact_mut(Q4_0_BLOCK)) {
        let scale = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
        let (low, high) = out.split_at_mut(Q4_0_BLOCK / 2);
        for ((&q, l), h) in block[2..].iter().zip(low).zip(high) {
            *l += (f32::from(q & 0x0F) - 8.0) * scale;
            *h += (f32::from(q >> 4) - 8.0) * scale;
        }
    }
}

/// The f32 values of a matrix stored in Q4_0 blocks.
pub(crate) fn dequantize_q4_0(blocks: &[u8]) -> Vec<f32> {
    let mut values = vec![0.0; blocks.len() / Q4_0_BLOCK_BYTES * Q4_0_BLOCK];
    add_q4_0(blocks, &mut values);
    values
}

impl Words {
    fn count(&self, hidden: usize) -> usize {
        match self {
            Words::F32(values) => values.len() / hidden,
            Words::Q4_0(bytes) => bytes.len() / (hidden / Q4_0_BLOCK * Q4_0_BLOCK_BYTES),
        }
    }

    /// Adds row `id` to `out` (`hidden` values).
    fn add_row(&self, id: usize, out: &mut [f32]) {
        let hidden = out.len();
        match self {
            Words::F32(values) => {
                for (o, v) in out.iter_mut().zip(&values[id * hidden..][..hidden]) {
                    *o += v;
                }
            }
            Words::Q4_0(bytes) => {
                let row = hidden / Q4_0_BLOCK * Q4_0_BLOCK_BYTES;
                add_q4_0(&bytes[id * row..][..row], out);
            }
        }
    }
}

/// BERT's token embeddings: word, position and the first token type, summed and
/// normalised.
pub(crate) struct Embeddings {
    pub(crate) word: Words,
    pub(crate) position: Vec<f32>,
    pub(crate) token_type: Vec<f32>,
    pub(crate) norm: LayerNorm,
}

impl Embeddings {
    fn hidden(&self) -> usize {
        self.token_type.len()
    }

    /// The packed `tokens × hidden` input of `texts`.
    pub(crate) fn lookup(&self, texts: &[&[u32]]) -> Result<Vec<f32>, String> {
        let hidden = self.hidden();
        let (words, positions) = (self.word.count(hidden), self.position.len() / hidden);
        let total = texts.iter().map(|t| t.len()).sum::<usize>();
        let mut x = vec![0.0; total * hidden];
        let mut rows = x.chunks_exact_mut(hidden);
        for text in texts {
            if text.len() > positions {
                return Err(format!(
                    "a text of {} tokens is longer than the model's {positions} positions",
                    text.len()
                ));
            }
            for (at, &id) in text.iter().enumerate() {
                let id = id as usize;
                if id >= words {
                    return Err(format!(
                        "token id {id} is outside the vocabulary of {words}"
                    ));
                }
                let row = rows.next().expect("a row per token");
                let position = &self.position[at * hidden..][..hidden];
                for ((r, p), t) in row.iter_mut().zip(position).zip(&self.token_type) {
                    *r = p + t;
                }
                self.word.add_row(id, row);
            }
        }
        self.norm.apply(&mut x);
        Ok(x)
    }
}

/// The work space of a forward pass, kept per thread between batches: fresh buffers of
/// megabytes each cost the kernel a page clearing per batch.
#[derive(Default)]
struct Scratch {
    qkv: Vec<f32>,
    context: Vec<f32>,
    inner: Vec<f32>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// The layers of an encoder and the shape they share.
pub(crate) struct Encoder {
    pub(crate) hidden: usize,
    pub(crate) heads: usize,
    pub(crate) layers: Vec<Layer>,
}

impl Encoder {
    /// Checks that the layers fit `hidden` and `heads`.
    pub(crate) fn new(hidden: usize, heads: usize, layers: Vec<Layer>) -> Result<Encoder, String> {
        if heads == 0 || !hidden.is_multiple_of(heads) {
            return Err(format!(
                "{hidden} hidden values do not split into {heads} heads"
            ));
        }
        for (i, layer) in layers.iter().enumerate() {
            let fits = layer.qkv.inputs == hidden
                && layer.qkv.outputs() == 3 * hidden
                && layer.attention_out.inputs == hidden
                && layer.attention_out.outputs() == hidden
                && layer.attention_norm.weight.len() == hidden
                && layer.intermediate.inputs == hidden
                && layer.output.inputs == layer.intermediate.outputs()
                && layer.output.outputs() == hidden
                && layer.output_norm.weight.len() == hidden;
            if !fits {
                return Err(format!(
                    "layer {i}'s matrices do not fit {hidden} hidden values"
                ));
            }
        }
        Ok(Encoder {
            hidden,
            heads,
            layers,
        })
    }

    /// Runs every layer over `x`, the packed texts of `lengths` tokens each, in place.
    pub(crate) fn forward(&self, x: &mut [f32], lengths: &[usize], parallelism: Parallelism) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU was just found to have both features.
            return unsafe { self.forward_avx2(x, lengths, parallelism) };
        }
        self.forward_portable(x, lengths, parallelism);
    }

    /// [`Encoder::forward`] compiled for AVX2: the loops outside gemm's kernels (attention,
    /// GELU, layer norm), inlined into it, get 8-wide vectors instead of the x86-64
    /// baseline's 4. gemm chooses its own kernels at run time either way.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn forward_avx2(&self, x: &mut [f32], lengths: &[usize], parallelism: Parallelism) {
        self.forward_portable(x, lengths, parallelism);
    }

    #[inline(always)]
    fn forward_portable(&self, x: &mut [f32], lengths: &[usize], parallelism: Parallelism) {
        let tokens: usize = lengths.iter().sum();
        assert_eq!(x.len(), tokens * self.hidden, "packed input");
        let widest = self.layers.iter().map(|l| l.intermediate.outputs());
        let widest = widest.max().unwrap_or(0);
        // Taken out of the thread local rather than used in a closure of it: a closure would
        // be compiled outside this function, without its target features.
        let Scratch {
            mut qkv,
            mut context,
            mut inner,
        } = SCRATCH.take();
        // `resize` keeps the capacity: the lengths are exact, the memory reused.
        qkv.resize(tokens * 3 * self.hidden, 0.0);
        context.resize(tokens * self.hidden, 0.0);
        inner.resize(tokens * widest, 0.0);
        for layer in &self.layers {
            layer.qkv.forward(x, tokens, &mut qkv, parallelism);
            self.attention(&qkv, lengths, &mut context);
            layer
                .attention_out
                .add_forward(&context, tokens, x, parallelism);
            layer.attention_norm.apply(x);
            let inner = &mut inner[..tokens * layer.intermediate.outputs()];
            layer.intermediate.forward(x, tokens, inner, parallelism);
            gelu(inner);
            layer.output.add_forward(inner, tokens, x, parallelism);
            layer.output_norm.apply(x);
        }
        SCRATCH.set(Scratch {
            qkv,
            context,
            inner,
        });
    }

    /// Scaled dot-product attention of each text over its own tokens, every head.
    ///
    /// A head's keys are first copied transposed (`width × len`), so that a query's scores
    /// are `width` multiply-adds along a row of the text's length, and its output `len` of
    /// them along a value: both in the order vector units want, with no per-score
    /// horizontal sum.
    #[inline(always)]
    fn attention(&self, qkv: &[f32], lengths: &[usize], context: &mut [f32]) {
        let hidden = self.hidden;
        let width = hidden / self.heads;
        let scale = 1.0 / (width as f32).sqrt();
        let row = 3 * hidden;
        let longest = lengths.iter().copied().max().unwrap_or(0);
        let mut scores = vec![0.0; longest];
        let mut keys = vec![0.0; longest * width];
        let mut start = 0;
        for &len in lengths {
            let scores = &mut scores[..len];
            let keys = &mut keys[..len * width];
            for head in 0..self.heads {
                let at = |token: usize, part: usize| {
                    &qkv[(start + token) * row + part * hidden + head * width..][..width]
                };
                for j in 0..len {
                    for (d, &k) in at(j, 1).iter().enumerate() {
                        keys[d * len + j] = k * scale;
                    }
                }
                for i in 0..len {
                    scores.fill(0.0);
                    for (&q, keys) in at(i, 0).iter().zip(keys.chunks_exact(len)) {
                        for (s, k) in scores.iter_mut().zip(keys) {
                            *s += q * k;
                        }
                    }
                    softmax(scores);
                    let out = &mut context[(start + i) * hidden + head * width..][..width];
                    out.fill(0.0);
                    for (j, &p) in scores.iter().enumerate() {
                        for (o, v) in out.iter_mut().zip(at(j, 2)) {
                            *o += p * v;
                        }
                    }
                }
            }
            start += len;
        }
    }
}

/// A whole model: its embeddings and its layers.
pub(crate) struct Bert {
    pub(crate) embeddings: Embeddings,
    pub(crate) encoder: Encoder,
}

impl Bert {
    /// One mean-pooled unit vector per text of token ids, in order, batched by length on
    /// `pool` (see [`embed_by_length_on`]).
    pub(crate) fn embed(
        &self,
        tokens: &[Vec<u32>],
        options: &Options,
        pool: &rayon::ThreadPool,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        embed_by_length_on(tokens, options, pool, |batch, parallelism| {
            self.embed_batch(batch, parallelism)
        })
    }

    /// One forward pass over a batch, on the calling thread unless `parallelism` says.
    fn embed_batch(
        &self,
        batch: &[&[u32]],
        parallelism: Parallelism,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut x = self
            .embeddings
            .lookup(batch)
            .map_err(EmbedError::Inference)?;
        let lengths: Vec<usize> = batch.iter().map(|ids| ids.len()).collect();
        self.encoder.forward(&mut x, &lengths, parallelism);
        Ok(mean_pool_normalized(&x, &lengths, self.encoder.hidden))
    }
}

/// One unit vector per text: the mean of its rows of `x` (`lengths` tokens each), scaled to
/// length 1 (a text of no tokens gets zeros).
fn mean_pool_normalized(x: &[f32], lengths: &[usize], hidden: usize) -> Vec<Vec<f32>> {
    let mut rows = x.chunks_exact(hidden);
    lengths
        .iter()
        .map(|&len| {
            let mut mean = vec![0.0f32; hidden];
            for row in rows.by_ref().take(len) {
                for (m, v) in mean.iter_mut().zip(row) {
                    *m += v;
                }
            }
            let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                mean.iter_mut().for_each(|m| *m /= norm);
            }
            mean
        })
        .collect()
}

#[inline(always)]
fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    x.iter_mut().for_each(|v| *v /= sum);
}

/// GELU as BERT defines it, `x · Φ(x)` with the exact normal CDF (through erf).
#[inline(always)]
fn gelu(x: &mut [f32]) {
    for v in x {
        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// erf in f32: Eigen's rational approximation (as XLA and oneDNN use), within 5e-7 of libm's
/// `erff` (tested); beyond ±4 erf is ±1 in f32. The coefficients are written as Eigen publishes them.
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.72614225801306e-10 + 2.77068142495902e-08;
    p = x2 * p - 2.10102402082508e-06;
    p = x2 * p - 5.69250639462346e-05;
    p = x2 * p - 7.34990630326855e-04;
    p = x2 * p - 2.95459980854025e-03;
    p = x2 * p - 1.60960333262415e-02;
    let mut q = x2 * -1.45660718464996e-05 - 2.13374055278905e-04;
    q = x2 * q - 1.68282697438203e-03;
    q = x2 * q - 7.37332916720468e-03;
    q = x2 * q - 1.42647390514189e-02;
    x * p / q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_agrees_with_libm_everywhere() {
        let worst = (-60_000..=60_000)
            .map(|i| i as f32 / 10_000.0)
            .map(|x| (erf(x) - libm::erff(x)).abs())
            .fold(0.0, f32::max);
        assert!(worst < 5e-7, "worst error {worst}");
    }

    /// A naive reference: padded per text, every product written out.
    fn reference_linear(l: &Linear, x: &[f32]) -> Vec<f32> {
        x.chunks_exact(l.inputs)
            .flat_map(|row| {
                (0..l.outputs()).map(move |o| {
                    let w = &l.weight[o * l.inputs..][..l.inputs];
                    l.bias[o] + row.iter().zip(w).map(|(a, b)| a * b).sum::<f32>()
                })
            })
            .collect()
    }

    fn numbers(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let h = (i as u32 ^ seed)
                    .wrapping_mul(2_654_435_761)
                    .rotate_left(13);
                (h % 2000) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn the_linear_layer_matches_the_written_out_product() {
        let l = Linear::new(numbers(7 * 5, 1), numbers(7, 2)).unwrap();
        let x = numbers(3 * 5, 3);
        let mut out = vec![9.0; 3 * 7];
        l.forward(&x, 3, &mut out, Parallelism::None);
        for (a, b) in out.iter().zip(reference_linear(&l, &x)) {
            assert!((a - b).abs() < 1e-5, "{a} against {b}");
        }
        let mut acc = vec![1.0; 3 * 7];
        l.add_forward(&x, 3, &mut acc, Parallelism::None);
        for (a, b) in acc.iter().zip(&out) {
            assert!((a - 1.0 - b).abs() < 1e-5);
        }
    }

    #[test]
    fn mismatched_shapes_are_refused() {
        assert!(Linear::new(numbers(10, 1), numbers(3, 2)).is_err());
        let a = Linear::new(numbers(6, 1), numbers(3, 2)).unwrap();
        let b = Linear::new(numbers(9, 1), numbers(3, 2)).unwrap();
        assert!(Linear::side_by_side(vec![a, b]).is_err());
        assert!(Encoder::new(10, 3, Vec::new()).is_err());
    }

    #[test]
    fn a_text_attends_only_to_itself() {
        // Two texts packed together give the vectors each gives alone: nothing leaks
        // across the packing.
        let hidden = 8;
        let norm = || LayerNorm {
            weight: numbers(hidden, 7).iter().map(|v| v + 1.5).collect(),
            bias: numbers(hidden, 8),
            eps: 1e-12,
        };
        let layer = |seed| Layer {
            qkv: Linear::new(
                numbers(3 * hidden * hidden, seed),
                numbers(3 * hidden, seed + 1),
            )
            .unwrap(),
            attention_out: Linear::new(numbers(hidden * hidden, seed + 2), numbers(hidden, 3))
                .unwrap(),
            attention_norm: norm(),
            intermediate: Linear::new(numbers(4 * hidden * hidden, seed + 4), numbers(32, 5))
                .unwrap(),
            output: Linear::new(numbers(4 * hidden * hidden, seed + 6), numbers(hidden, 6))
                .unwrap(),
            output_norm: norm(),
        };
        let encoder = Encoder::new(hidden, 2, vec![layer(10), layer(20)]).unwrap();
        let embeddings = Embeddings {
            word: Words::F32(numbers(50 * hidden, 30)),
            position: numbers(16 * hidden, 31),
            token_type: numbers(hidden, 32),
            norm: norm(),
        };
        let run = |texts: &[&[u32]]| {
            let mut x = embeddings.lookup(texts).unwrap();
            let lengths: Vec<usize> = texts.iter().map(|t| t.len()).collect();
            encoder.forward(&mut x, &lengths, Parallelism::None);
            mean_pool_normalized(&x, &lengths, hidden)
        };
        let (a, b): (&[u32], &[u32]) = (&[1, 4, 9, 16], &[2, 3]);
        let together = run(&[a, b, &[]]);
        for (alone, packed) in [run(&[a]), run(&[b])].iter().zip(&together) {
            for (x, y) in alone[0].iter().zip(packed) {
                assert!((x - y).abs() < 1e-5, "{x} against {y}");
            }
        }
        assert!(
            together[2].iter().all(|&v| v == 0.0),
            "no tokens, no vector"
        );
        let norm: f32 = together[0].iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        assert!(
            embeddings.lookup(&[&[50]]).is_err(),
            "outside the vocabulary"
        );
        // 16 positions: 16 tokens fit, 17 do not.
        assert!(embeddings.lookup(&[&[1; 16]]).is_ok());
        assert!(
            embeddings.lookup(&[&[1; 17]]).is_err(),
            "past the positions"
        );
    }
}
