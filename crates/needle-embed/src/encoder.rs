//! What Needle's sentence encoders share: how they run ([`Options`] and their thread pool),
//! the character cap on what a tokenizer sees, batches built by length, and mean pooling.
//!
//! Batches are built by length: texts are sorted by their number of tokens and cut into
//! batches, so each batch pads only to its own longest text and short messages never pay
//! for a long one. Inference runs on a thread pool of its own (one thread by default: this
//! class of machine gives about one core of throughput, and BERT ran faster single-threaded
//! here).

use candle_core::{DType, Device, Tensor};
use gemm::Parallelism;

use crate::EmbedError;

/// Characters of a text a tokenizer sees at most. A model's token limit never spans more
/// than this in practice (a piece is at most a few dozen characters), and it keeps a 1 MB
/// message from costing a 1 MB tokenisation.
pub const MAX_CHARS: usize = 16 * 1024;

/// How to run a model.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Threads for inference.
    pub threads: usize,
    /// Texts per forward pass.
    pub batch_size: usize,
    /// Tokens per forward pass, counted as if every text were padded to the batch's longest
    /// (what candle's engine computes; the packed engine computes only the real ones): a
    /// batch of long texts holds fewer of them, which bounds a pass's working memory.
    pub max_batch_tokens: usize,
    /// Sort texts by length before batching (off only to measure what it gives).
    pub bucket_by_length: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            threads: 1,
            batch_size: 32,
            max_batch_tokens: 2048,
            bucket_by_length: true,
        }
    }
}

impl Options {
    /// The pool a model runs its forward passes on.
    pub(crate) fn thread_pool(&self) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads.max(1))
            .thread_name(|i| format!("embed-{i}"))
            .build()
    }
}

/// The first `max` characters of `text`, cut at a character boundary.
pub(crate) fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// How `tokens` is cut into batches: at most `batch_size` texts and `max_batch_tokens`
/// padded tokens each (or one text), in length order when `options` says so; each batch
/// holds indices into `tokens`.
fn length_batches(tokens: &[Vec<u32>], options: &Options) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..tokens.len()).collect();
    if options.bucket_by_length {
        order.sort_by_key(|&i| tokens[i].len());
    }
    let mut batches = Vec::new();
    let mut rest = order.as_slice();
    while !rest.is_empty() {
        let mut taken = 1;
        let mut width = tokens[rest[0]].len();
        while taken < rest.len().min(options.batch_size.max(1)) {
            let wider = width.max(tokens[rest[taken]].len());
            if wider * (taken + 1) > options.max_batch_tokens {
                break;
            }
            width = wider;
            taken += 1;
        }
        let (batch, after) = rest.split_at(taken);
        batches.push(batch.to_vec());
        rest = after;
    }
    batches
}

/// The texts of `batch`, indices into `tokens`.
fn texts_of<'a>(tokens: &'a [Vec<u32>], batch: &[usize]) -> Vec<&'a [u32]> {
    batch.iter().map(|&i| tokens[i].as_slice()).collect()
}

/// Each batch's vectors put back in the order of the texts.
fn in_text_order(
    texts: usize,
    batches: &[Vec<usize>],
    embedded: Vec<Vec<Vec<f32>>>,
) -> Vec<Vec<f32>> {
    let mut vectors = vec![Vec::new(); texts];
    for (batch, batch_vectors) in batches.iter().zip(embedded) {
        for (&i, vector) in batch.iter().zip(batch_vectors) {
            vectors[i] = vector;
        }
    }
    vectors
}

/// One vector per tokenised text, in order: `embed_batch` gets the texts a batch at a time
/// (see [`length_batches`]) and returns a vector for each.
pub(crate) fn embed_by_length(
    tokens: &[Vec<u32>],
    options: &Options,
    mut embed_batch: impl FnMut(&[&[u32]]) -> Result<Vec<Vec<f32>>, EmbedError>,
) -> Result<Vec<Vec<f32>>, EmbedError> {
    let batches = length_batches(tokens, options);
    let embedded = batches
        .iter()
        .map(|batch| embed_batch(&texts_of(tokens, batch)))
        .collect::<Result<Vec<_>, EmbedError>>()?;
    Ok(in_text_order(tokens.len(), &batches, embedded))
}

/// [`embed_by_length`] on `pool`, for an `embed_batch` that can split its matrix products
/// as the [`Parallelism`] it is given says. Everything runs on the pool, so callers share
/// its threads (a server's one-thread pool takes its callers in turn, and only its thread
/// keeps work buffers). With more than one thread, each thread takes whole batches (they
/// need no locks and no hand-offs inside a layer, which splitting every product does), and
/// a lone batch splits its products between the threads instead.
pub(crate) fn embed_by_length_on(
    tokens: &[Vec<u32>],
    options: &Options,
    pool: &rayon::ThreadPool,
    embed_batch: impl Fn(&[&[u32]], Parallelism) -> Result<Vec<Vec<f32>>, EmbedError> + Sync,
) -> Result<Vec<Vec<f32>>, EmbedError> {
    use rayon::prelude::*;
    let batches = length_batches(tokens, options);
    let threads = pool.current_num_threads();
    let embed =
        |batch: &Vec<usize>, parallelism| embed_batch(&texts_of(tokens, batch), parallelism);
    let embedded = pool.install(|| {
        if threads > 1 && batches.len() > 1 {
            batches
                .par_iter()
                .map(|batch| embed(batch, Parallelism::None))
                .collect::<Result<Vec<_>, EmbedError>>()
        } else {
            let parallelism = if threads > 1 {
                Parallelism::Rayon(threads)
            } else {
                Parallelism::None
            };
            batches
                .iter()
                .map(|batch| embed(batch, parallelism))
                .collect::<Result<Vec<_>, EmbedError>>()
        }
    })?;
    Ok(in_text_order(tokens.len(), &batches, embedded))
}

/// A batch as `(ids, mask)` tensors of shape `(texts, longest)`: each text padded with
/// `pad` to the longest one, the mask 1 on real tokens and 0 on padding.
pub(crate) fn padded(batch: &[&[u32]], pad: u32) -> candle_core::Result<(Tensor, Tensor)> {
    let width = batch.iter().map(|ids| ids.len()).max().unwrap_or(0);
    let mut ids = Vec::with_capacity(batch.len() * width);
    let mut mask = Vec::with_capacity(batch.len() * width);
    for piece_ids in batch {
        ids.extend_from_slice(piece_ids);
        ids.extend(std::iter::repeat_n(pad, width - piece_ids.len()));
        mask.extend(std::iter::repeat_n(1u32, piece_ids.len()));
        mask.extend(std::iter::repeat_n(0u32, width - piece_ids.len()));
    }
    let shape = (batch.len(), width);
    Ok((
        Tensor::from_vec(ids, shape, &Device::Cpu)?,
        Tensor::from_vec(mask, shape, &Device::Cpu)?,
    ))
}

/// The mean of `hidden` (`(texts, tokens, dim)`) over the tokens the mask keeps, scaled to
/// unit length: one vector per text.
pub(crate) fn mean_pool_normalized(
    hidden: &Tensor,
    mask: &Tensor,
) -> candle_core::Result<Vec<Vec<f32>>> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let counts = mask.sum(1)?;
    let mean = summed.broadcast_div(&counts)?;
    let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
    mean.broadcast_div(&norms)?.to_vec2::<f32>()
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

    #[test]
    fn batches_follow_length_and_vectors_come_back_in_order() {
        let tokens = vec![vec![1, 2, 3], vec![1], vec![1, 2], vec![], vec![1; 9]];
        let options = Options {
            batch_size: 2,
            max_batch_tokens: 5,
            ..Options::default()
        };
        let mut widths = Vec::new();
        let vectors = embed_by_length(&tokens, &options, |batch| {
            widths.push(batch.iter().map(|ids| ids.len()).collect::<Vec<_>>());
            Ok(batch.iter().map(|ids| vec![ids.len() as f32]).collect())
        })
        .unwrap();
        // Two 3-token texts would pad to 6 tokens, over the budget; a text longer than the
        // budget still goes, alone.
        assert_eq!(widths, [vec![0, 1], vec![2], vec![3], vec![9]]);
        assert_eq!(
            vectors,
            [vec![3.0], vec![1.0], vec![2.0], vec![0.0], vec![9.0]]
        );
        // On a pool: the same vectors, each batch told how to split its products.
        for threads in [1, 2] {
            let pool = Options { threads, ..options }.thread_pool().unwrap();
            let told = std::sync::Mutex::new(Vec::new());
            let on_pool = embed_by_length_on(&tokens, &options, &pool, |batch, parallelism| {
                told.lock().unwrap().push(parallelism);
                Ok(batch.iter().map(|ids| vec![ids.len() as f32]).collect())
            })
            .unwrap();
            assert_eq!(on_pool, vectors);
            let told = told.into_inner().unwrap();
            assert_eq!(told.len(), 4);
            assert!(
                told.iter().all(|p| matches!(p, Parallelism::None)),
                "{threads}"
            );
        }
        // A lone batch on two threads splits its products instead.
        let pool = Options {
            threads: 2,
            ..options
        }
        .thread_pool()
        .unwrap();
        let told = std::sync::Mutex::new(Vec::new());
        embed_by_length_on(&[vec![1, 2]], &options, &pool, |batch, parallelism| {
            told.lock().unwrap().push(parallelism);
            Ok(batch.iter().map(|_| vec![0.0]).collect())
        })
        .unwrap();
        let told = told.into_inner().unwrap();
        assert!(matches!(told[..], [Parallelism::Rayon(2)]), "{told:?}");
    }

    #[test]
    fn padding_is_masked_out_of_the_mean() {
        let (ids, mask) = padded(&[&[5, 6], &[7]], 1).unwrap();
        assert_eq!(ids.to_vec2::<u32>().unwrap(), [[5, 6], [7, 1]]);
        assert_eq!(mask.to_vec2::<u32>().unwrap(), [[1, 1], [1, 0]]);
        // Text 2's padding position holds a huge value the mask must drop.
        let hidden = Tensor::new(
            &[[[3f32, 0.0], [3.0, 0.0]], [[0.0, 2.0], [100.0, 100.0]]],
            &Device::Cpu,
        )
        .unwrap();
        let pooled = mean_pool_normalized(&hidden, &mask).unwrap();
        assert_eq!(pooled, [vec![1.0, 0.0], vec![0.0, 1.0]]);
    }
}
