//! fastText's supervised models, read and run for prediction: enough of fastText (format
//! version 12, `.bin` and quantized `.ftz`) to run `lid.176.ftz`, its language identifier,
//! as fastText's own `predict` runs it.
//!
//! Why our own reader: the crates that run fastText bind its C++ library. Owning reading
//! and prediction lets us decode the quantized rows once at load, keep each known word's
//! rows pre-summed, rank the kept n-gram buckets in a bitmap and cache unknown words' sums
//! per thread, so a message costs a few microseconds.
//!
//! What prediction does, as fastText does it:
//! - the text is split on ASCII whitespace and ends with the end-of-line token `</s>`;
//! - a known word contributes its own row and the rows of its character n-grams; an unknown
//!   word the rows of its n-grams (of `<word>`, `minn..=maxn` characters, hashed with 32-bit
//!   FNV-1a into `bucket` buckets, kept only when pruning kept the bucket);
//! - the hidden vector is the mean of those rows;
//! - labels come from a hierarchical softmax (a Huffman tree over label counts) or a plain
//!   softmax, and a label's probability is `exp` of its log score.

/// Why a model file could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("not a fastText model (magic number {0:#x})")]
    Magic(u32),
    #[error("fastText format version {0} is not supported (only 12)")]
    Version(i32),
    #[error("the file ends early, at byte {0}")]
    Truncated(usize),
    #[error("{0}")]
    Invalid(String),
}

const MAGIC: u32 = 793_712_314;
const MAX_BUCKETS: i32 = 1 << 27;
/// Capacity reserved ahead of reading a count from the file (a corrupt count must not
/// allocate before the file runs out).
const MAX_RESERVE: usize = 1 << 16;
const VERSION: i32 = 12;
const END_OF_LINE: &[u8] = b"</s>";
const LABEL_PREFIX: &str = "__label__";
/// Product quantisation always uses 256 centroids per sub-vector (8-bit codes).
const CENTROIDS: usize = 256;

/// A fastText classifier, ready to predict.
pub struct Model {
    /// Tells this model's entries in a thread's [`WordCache`] from another model's.
    id: u64,
    dim: usize,
    minn: usize,
    maxn: usize,
    bucket: u32,
    word_ngrams: usize,
    /// Known words, found by their fastText hash.
    words: WordTable,
    /// Per known word: its own row plus its n-grams' rows, summed, and how many rows that is.
    word_sums: Vec<f32>,
    word_parts: Vec<u32>,
    /// Kept n-gram buckets, to their row in `input`.
    ngrams: BucketTable,
    /// The input matrix, decoded: one `dim`-float row per word, then per kept bucket.
    input: Vec<f32>,
    labels: Vec<String>,
    output: Output,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("fasttext::Model")
            .field("dim", &self.dim)
            .field("words", &self.word_parts.len())
            .field("labels", &self.labels.len())
            .finish_non_exhaustive()
    }
}

/// A label and its probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction<'m> {
    /// Without fastText's `__label__` prefix.
    pub label: &'m str,
    pub probability: f32,
}

impl Model {
    /// Reads a model from the bytes of its file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, FormatError> {
        let mut r = Reader { bytes, at: 0 };
        let magic = r.i32()? as u32;
        if magic != MAGIC {
            return Err(FormatError::Magic(magic));
        }
        let version = r.i32()?;
        if version != VERSION {
            return Err(FormatError::Version(version));
        }
        let args = Args::read(&mut r)?;
        let dictionary = Dictionary::read(&mut r)?;
        let quantized_input = r.u8()? != 0;
        let input = if quantized_input {
            Matrix::read_quantized(&mut r)?
        } else {
            Matrix::read_dense(&mut r)?
        };
        let quantized_output = r.u8()? != 0;
        let output = if quantized_output && quantized_input {
            Matrix::read_quantized(&mut r)?
        } else {
            Matrix::read_dense(&mut r)?
        };
        if r.at != bytes.len() {
            return Err(invalid(format!(
                "{} bytes follow the output matrix",
                bytes.len() - r.at
            )));
        }
        Model::assemble(args, dictionary, input, output)
    }

    fn assemble(
        args: Args,
        dictionary: Dictionary,
        input: Matrix,
        output: Matrix,
    ) -> Result<Model, FormatError> {
        let dim = args.dim;
        let nwords = dictionary.words.len();
        let nlabels = dictionary.labels.len();
        if input.cols != dim || output.cols != dim {
            return Err(invalid("matrix widths differ from the model's dimension"));
        }
        if nlabels == 0 || output.rows < nlabels {
            return Err(invalid("the output matrix has fewer rows than labels"));
        }
        // Rows: words first, then n-gram buckets (pruned to `pruned`, or all of `bucket`).
        let ngram_rows = match &dictionary.pruned {
            Some(pruned) => pruned.len(),
            None => args.bucket as usize,
        };
        if input.rows != nwords + ngram_rows {
            return Err(invalid(format!(
                "the input matrix has {} rows, the dictionary needs {}",
                input.rows,
                nwords + ngram_rows
            )));
        }
        let mut input = input.data;
        let ngrams = match dictionary.pruned {
            Some(pruned) => {
                if pruned
                    .iter()
                    .any(|&(bucket, row)| row as usize >= ngram_rows || bucket >= args.bucket)
                {
                    return Err(invalid("a pruned bucket points past the input matrix"));
                }
                let (table, order) = BucketTable::pruned(args.bucket, pruned);
                // Row `rank` of the n-gram rows is now the `rank`-th kept bucket's.
                let words = &input[..nwords * dim];
                let mut moved = Vec::with_capacity((nwords + order.len()) * dim);
                moved.extend_from_slice(words);
                for row in order {
                    let at = (nwords + row as usize) * dim;
                    moved.extend_from_slice(&input[at..at + dim]);
                }
                input = moved;
                table
            }
            None => BucketTable::All,
        };
        let output = match args.loss {
            Loss::HierarchicalSoftmax => Output::Tree {
                nodes: huffman_tree(&dictionary.label_counts),
                rows: output.data,
            },
            Loss::Softmax => Output::Softmax { rows: output.data },
        };
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let mut model = Model {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            dim,
            minn: args.minn,
            maxn: args.maxn,
            bucket: args.bucket,
            word_ngrams: args.word_ngrams,
            words: WordTable::new(&dictionary.words),
            word_sums: vec![0.0; nwords * dim],
            word_parts: vec![0; nwords],
            ngrams,
            input,
            labels: dictionary.labels,
            output,
        };
        let mut rows = Vec::new();
        for (id, word) in dictionary.words.iter().enumerate() {
            rows.clear();
            rows.push(id as u32);
            // fastText gives the end-of-line token no n-grams.
            if word != END_OF_LINE {
                model.push_subwords(word, &mut rows);
            }
            let mut sum = vec![0.0f32; dim];
            for &row in &rows {
                add(&mut sum, model.row(row));
            }
            model.word_sums[id * dim..(id + 1) * dim].copy_from_slice(&sum);
            model.word_parts[id] = rows.len() as u32;
        }
        Ok(model)
    }

    /// The labels the model can give, without their prefix.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.labels.iter().map(String::as_str)
    }

    /// The most probable label, or `None` when the text holds nothing the model knows.
    pub fn predict(&self, text: &str) -> Option<Prediction<'_>> {
        self.predict_top(text, 1).into_iter().next()
    }

    /// The `k` most probable labels, most probable first; none when the text holds nothing
    /// the model knows.
    pub fn predict_top(&self, text: &str, k: usize) -> Vec<Prediction<'_>> {
        // The hidden vector, and room to sum an unknown word's rows before adding them.
        let mut vectors = vec![0.0f32; 2 * self.dim];
        let (hidden, word_sum) = vectors.split_at_mut(self.dim);
        let mut parts = 0u32;
        let mut word_hashes = Vec::new();
        // An unknown word's n-grams: about three per character.
        let mut rows = Vec::with_capacity(96);
        let tokens = text
            .as_bytes()
            .split(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c | 0))
            .filter(|t| !t.is_empty())
            .chain(std::iter::once(END_OF_LINE));
        for token in tokens {
            let hash = fnv1a(token);
            if self.word_ngrams > 1 {
                word_hashes.push(hash);
            }
            match self.words.find(token, hash) {
                Some(id) => {
                    let id = id as usize;
                    add(hidden, &self.word_sums[id * self.dim..(id + 1) * self.dim]);
                    parts += self.word_parts[id];
                }
                None => {
                    // Labels in the text are skipped, as in fastText; unknown words give
                    // their n-grams.
                    if token.starts_with(LABEL_PREFIX.as_bytes()) {
                        continue;
                    }
                    parts += self.add_unknown_word(token, hash, hidden, word_sum, &mut rows);
                }
            }
        }
        if self.word_ngrams > 1 {
            rows.clear();
            self.push_word_ngrams(&word_hashes, &mut rows);
            for &row in &rows {
                add(hidden, self.row(row));
            }
            parts += rows.len() as u32;
        }
        if parts == 0 || k == 0 {
            return Vec::new();
        }
        let scale = 1.0 / parts as f32;
        hidden.iter_mut().for_each(|x| *x *= scale);
        self.output
            .top(hidden, self.dim, k)
            .into_iter()
            .map(|(label, log_probability)| Prediction {
                label: &self.labels[label],
                probability: log_probability.exp(),
            })
            .collect()
    }

    /// Adds an unknown word's n-gram rows to `hidden`, summed first (so a cached and a
    /// computed sum add the same floats in the same order), and returns how many rows.
    fn add_unknown_word(
        &self,
        word: &[u8],
        hash: u32,
        hidden: &mut [f32],
        sum: &mut [f32],
        rows: &mut Vec<u32>,
    ) -> u32 {
        UNKNOWN_WORDS.with_borrow_mut(|cache| {
            let cache = cache.for_model(self.id, self.dim);
            if let Some((sum, parts)) = cache.get(word, hash) {
                add(hidden, sum);
                return parts;
            }
            rows.clear();
            self.push_subwords(word, rows);
            sum.fill(0.0);
            for &row in rows.iter() {
                add(sum, self.row(row));
            }
            add(hidden, sum);
            let parts = rows.len() as u32;
            cache.put(word, hash, sum, parts);
            parts
        })
    }

    fn row(&self, row: u32) -> &[f32] {
        let at = row as usize * self.dim;
        &self.input[at..at + self.dim]
    }

    /// The rows of the character n-grams of `<word>`, as fastText's `computeSubwords`. FNV-1a
    /// runs byte by byte, so each start's n-grams are hashed in one pass, longest last.
    fn push_subwords(&self, word: &[u8], rows: &mut Vec<u32>) {
        let at = |k: usize| match k {
            0 => b'<',
            k if k <= word.len() => word[k - 1],
            _ => b'>',
        };
        let len = word.len() + 2;
        let continuation = |b: u8| b & 0xC0 == 0x80;
        for i in 0..len {
            if continuation(at(i)) {
                continue;
            }
            let mut hash = FNV_OFFSET;
            let mut j = i;
            for n in 1..=self.maxn {
                if j >= len {
                    break;
                }
                hash = fnv1a_step(hash, at(j));
                j += 1;
                while j < len && continuation(at(j)) {
                    hash = fnv1a_step(hash, at(j));
                    j += 1;
                }
                if n >= self.minn && !(n == 1 && (i == 0 || j == len)) {
                    self.push_bucket(hash % self.bucket, rows);
                }
            }
        }
    }

    fn push_word_ngrams(&self, hashes: &[u32], rows: &mut Vec<u32>) {
        for i in 0..hashes.len() {
            let mut h = u64::from(hashes[i]);
            for &next in hashes.iter().skip(i + 1).take(self.word_ngrams - 1) {
                h = h.wrapping_mul(116_049_371).wrapping_add(u64::from(next));
                self.push_bucket((h % u64::from(self.bucket)) as u32, rows);
            }
        }
    }

    fn push_bucket(&self, bucket: u32, rows: &mut Vec<u32>) {
        let nwords = self.word_parts.len() as u32;
        match &self.ngrams {
            BucketTable::All => rows.push(nwords + bucket),
            BucketTable::Pruned(blocks) => {
                let block = blocks[bucket as usize / 64];
                let bit = 1u64 << (bucket % 64);
                if block.kept & bit != 0 {
                    let rank = block.before + (block.kept & (bit - 1)).count_ones();
                    rows.push(nwords + rank);
                }
            }
        }
    }
}

thread_local! {
    static UNKNOWN_WORDS: std::cell::RefCell<WordCache> = std::cell::RefCell::new(WordCache::default());
}

/// Per thread, the n-gram sums of recently seen words the model does not know. Social text
/// repeats its rare words (names, tags, misspellings), and each costs about twenty n-gram
/// look-ups across tables too big for the cache; a hit costs one compare and one addition.
/// Direct-mapped by the word's hash, keyed by its bytes (words of up to 23 bytes), so a hit
/// gives exactly the sum a miss computes.
#[derive(Default)]
struct WordCache {
    model: u64,
    dim: usize,
    slots: Vec<CachedWord>,
    sums: Vec<f32>,
}

#[derive(Clone, Copy, Default)]
struct CachedWord {
    len: u8,
    bytes: [u8; 23],
    parts: u32,
    hash: u32,
}

impl WordCache {
    const SLOTS: usize = 2048;

    fn for_model(&mut self, model: u64, dim: usize) -> &mut Self {
        if self.model != model || self.dim != dim {
            self.model = model;
            self.dim = dim;
            self.slots = vec![CachedWord::default(); Self::SLOTS];
            self.sums = vec![0.0; Self::SLOTS * dim];
        }
        self
    }

    fn get(&self, word: &[u8], hash: u32) -> Option<(&[f32], u32)> {
        let slot = hash as usize % Self::SLOTS;
        let cached = &self.slots[slot];
        let hit = cached.len > 0
            && cached.hash == hash
            && usize::from(cached.len) == word.len()
            && cached.bytes[..word.len()] == *word;
        hit.then(|| {
            (
                &self.sums[slot * self.dim..(slot + 1) * self.dim],
                cached.parts,
            )
        })
    }

    fn put(&mut self, word: &[u8], hash: u32, sum: &[f32], parts: u32) {
        let mut cached = CachedWord {
            len: 0,
            bytes: [0; 23],
            parts,
            hash,
        };
        if word.is_empty() || word.len() > cached.bytes.len() {
            return;
        }
        cached.len = word.len() as u8;
        cached.bytes[..word.len()].copy_from_slice(word);
        let slot = hash as usize % Self::SLOTS;
        self.slots[slot] = cached;
        self.sums[slot * self.dim..(slot + 1) * self.dim].copy_from_slice(sum);
    }
}

/// The widest model read; fastText's supervised models use 10 to a few hundred dimensions.
const MAX_DIM: usize = 512;

fn add(into: &mut [f32], row: &[f32]) {
    for (x, r) in into.iter_mut().zip(row) {
        *x += r;
    }
}

/// fastText's hash: 32-bit FNV-1a, with each byte sign-extended first (its `int8_t` cast),
/// so bytes above 0x7f hash as fastText hashes them.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(FNV_OFFSET, |h, &b| fnv1a_step(h, b))
}

const FNV_OFFSET: u32 = 2_166_136_261;

fn fnv1a_step(hash: u32, byte: u8) -> u32 {
    (hash ^ byte as i8 as i32 as u32).wrapping_mul(16_777_619)
}

/// Known words, open-addressed by their fastText hash (already computed for the n-grams'
/// sake). Slots keep the hash, so a miss rarely touches a word's bytes.
struct WordTable {
    slots: Vec<(u32, u32)>,
    words: Vec<Box<[u8]>>,
}

impl WordTable {
    const EMPTY: u32 = u32::MAX;

    fn new(words: &[Vec<u8>]) -> WordTable {
        let size = (words.len() * 2).next_power_of_two().max(16);
        let mut table = WordTable {
            slots: vec![(0, Self::EMPTY); size],
            words: words.iter().map(|w| w.clone().into_boxed_slice()).collect(),
        };
        for (id, word) in words.iter().enumerate() {
            let hash = fnv1a(word);
            let mut slot = hash as usize & (size - 1);
            while table.slots[slot].1 != Self::EMPTY {
                slot = (slot + 1) & (size - 1);
            }
            table.slots[slot] = (hash, id as u32);
        }
        table
    }

    fn find(&self, word: &[u8], hash: u32) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut slot = hash as usize & mask;
        loop {
            let (slot_hash, id) = self.slots[slot];
            if id == Self::EMPTY {
                return None;
            }
            if slot_hash == hash && *self.words[id as usize] == *word {
                return Some(id);
            }
            slot = (slot + 1) & mask;
        }
    }
}

/// Which n-gram buckets have rows.
enum BucketTable {
    /// An unpruned model: every bucket.
    All,
    /// A quantized model keeps some buckets (lid.176: 42,765 of 2,000,000). Their rows are
    /// put in bucket order at load, so a kept bucket's row is its rank among the kept ones:
    /// a bit per bucket and a running count per 64 buckets (500 KB, one cache line per
    /// look-up) replace fastText's hash map.
    Pruned(Vec<Block>),
}

#[derive(Debug, Clone, Copy, Default)]
struct Block {
    kept: u64,
    /// Kept buckets in the blocks before this one.
    before: u32,
}

impl BucketTable {
    /// The table for `pruned` (bucket, row) pairs, and the rows in the order it ranks them.
    /// A bucket listed twice keeps its last row, as fastText's map does.
    fn pruned(buckets: u32, mut pruned: Vec<(u32, u32)>) -> (BucketTable, Vec<u32>) {
        pruned.reverse();
        pruned.sort_by_key(|&(bucket, _)| bucket);
        pruned.dedup_by_key(|&mut (bucket, _)| bucket);
        let mut blocks = vec![Block::default(); (buckets as usize).div_ceil(64)];
        for &(bucket, _) in &pruned {
            blocks[bucket as usize / 64].kept |= 1 << (bucket % 64);
        }
        let mut before = 0;
        for block in &mut blocks {
            block.before = before;
            before += block.kept.count_ones();
        }
        let order = pruned.into_iter().map(|(_, row)| row).collect();
        (BucketTable::Pruned(blocks), order)
    }
}

/// How the model turns the hidden vector into label scores.
enum Output {
    /// fastText's hierarchical softmax: internal node `i` (from `labels` up) has row
    /// `i - labels`; leaves are labels.
    Tree {
        nodes: Vec<Node>,
        rows: Vec<f32>,
    },
    Softmax {
        rows: Vec<f32>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Node {
    left: i32,
    right: i32,
}

impl Output {
    /// The `k` best labels and their log probabilities, best first.
    fn top(&self, hidden: &[f32], dim: usize, k: usize) -> Vec<(usize, f32)> {
        let dot = |rows: &[f32], row: usize| -> f32 {
            rows[row * dim..(row + 1) * dim]
                .iter()
                .zip(hidden)
                .map(|(a, b)| a * b)
                .sum()
        };
        let mut best: Vec<(usize, f32)> = Vec::with_capacity(k + 1);
        // fastText's `predict` drops labels below its threshold, 0 by default, which its
        // `std_log` makes a floor of log(1e-5).
        let floor = log(0.0);
        let keep = |best: &mut Vec<(usize, f32)>, label: usize, score: f32| {
            if score < floor {
                return;
            }
            let at = best.partition_point(|&(_, s)| s >= score);
            best.insert(at, (label, score));
            best.truncate(k);
        };
        match self {
            Output::Tree { nodes, rows } => {
                let labels = nodes.len().div_ceil(2);
                // Depth first from the root, as fastText's `dfs`, pruning branches already
                // below the k-th best leaf (log probabilities only fall going down).
                let mut stack = vec![(nodes.len() - 1, 0.0f32)];
                while let Some((node, score)) = stack.pop() {
                    if score < floor || best.len() == k && score < best[k - 1].1 {
                        continue;
                    }
                    let Node { left, right } = nodes[node];
                    if left < 0 {
                        keep(&mut best, node, score);
                        continue;
                    }
                    let f = 1.0 / (1.0 + (-dot(rows, node - labels)).exp());
                    stack.push((right as usize, score + log(f)));
                    stack.push((left as usize, score + log(1.0 - f)));
                }
            }
            Output::Softmax { rows } => {
                let scores: Vec<f32> = (0..rows.len() / dim).map(|l| dot(rows, l)).collect();
                let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let total: f32 = scores.iter().map(|s| (s - max).exp()).sum();
                for (label, score) in scores.iter().enumerate() {
                    keep(&mut best, label, log((score - max).exp() / total));
                }
            }
        }
        best
    }
}

/// fastText's `std_log`: the log, kept finite.
fn log(x: f32) -> f32 {
    (x + 1e-5).ln()
}

/// fastText's Huffman tree over the label counts (labels sorted by falling count, as the
/// dictionary stores them): leaves `0..n`, internal nodes `n..2n-1`, the root last.
fn huffman_tree(counts: &[i64]) -> Vec<Node> {
    let n = counts.len();
    let mut nodes = vec![
        Node {
            left: -1,
            right: -1
        };
        2 * n - 1
    ];
    let mut count = vec![i64::MAX / 4; 2 * n - 1];
    count[..n].copy_from_slice(counts);
    let mut leaf = n as i64 - 1;
    let mut next = n;
    for i in n..2 * n - 1 {
        let mut pick = [0usize; 2];
        for p in &mut pick {
            if leaf >= 0 && count[leaf as usize] < count[next] {
                *p = leaf as usize;
                leaf -= 1;
            } else {
                *p = next;
                next += 1;
            }
        }
        nodes[i] = Node {
            left: pick[0] as i32,
            right: pick[1] as i32,
        };
        count[i] = count[pick[0]] + count[pick[1]];
    }
    nodes
}

#[derive(Debug, Clone, Copy)]
enum Loss {
    HierarchicalSoftmax,
    Softmax,
}

struct Args {
    dim: usize,
    word_ngrams: usize,
    loss: Loss,
    bucket: u32,
    minn: usize,
    maxn: usize,
}

impl Args {
    fn read(r: &mut Reader) -> Result<Args, FormatError> {
        let dim = r.i32()?;
        let _window = r.i32()?;
        let _epochs = r.i32()?;
        let _min_count = r.i32()?;
        let _negatives = r.i32()?;
        let word_ngrams = r.i32()?;
        let loss = r.i32()?;
        let model = r.i32()?;
        let bucket = r.i32()?;
        let minn = r.i32()?;
        let maxn = r.i32()?;
        let _lr_update_rate = r.i32()?;
        let _sampling = r.f64()?;
        // fastText numbers its losses hs = 1, ns, softmax, ova; models sup = 3.
        let loss = match loss {
            1 => Loss::HierarchicalSoftmax,
            3 => Loss::Softmax,
            other => return Err(invalid(format!("loss {other} is not supported"))),
        };
        if model != 3 {
            return Err(invalid("not a supervised (classifier) model"));
        }
        if !(1..=MAX_DIM as i32).contains(&dim) {
            return Err(invalid(format!("dimension {dim} is out of range")));
        }
        // fastText's buckets number millions (lid.176: two); a corrupt count must not size
        // the bucket table.
        if !(0..=MAX_BUCKETS).contains(&bucket)
            || !(0..=16).contains(&minn)
            || !(0..=16).contains(&maxn)
            || !(1..=5).contains(&word_ngrams)
        {
            return Err(invalid("negative or out-of-range arguments"));
        }
        if bucket == 0 && (maxn > 0 || word_ngrams > 1) {
            return Err(invalid("n-grams without buckets"));
        }
        Ok(Args {
            dim: dim as usize,
            word_ngrams: word_ngrams as usize,
            loss,
            bucket: bucket as u32,
            minn: minn as usize,
            maxn: maxn as usize,
        })
    }
}

struct Dictionary {
    words: Vec<Vec<u8>>,
    labels: Vec<String>,
    label_counts: Vec<i64>,
    /// Kept bucket → row, for a pruned model; `None` when every bucket has its row.
    pruned: Option<Vec<(u32, u32)>>,
}

impl Dictionary {
    fn read(r: &mut Reader) -> Result<Dictionary, FormatError> {
        let size = r.i32()?;
        let nwords = r.i32()?;
        let nlabels = r.i32()?;
        let _tokens = r.i64()?;
        let pruned_size = r.i64()?;
        if size < 0
            || nwords < 0
            || nlabels < 0
            || i64::from(nwords) + i64::from(nlabels) != i64::from(size)
        {
            return Err(invalid("the dictionary's sizes disagree"));
        }
        let mut dictionary = Dictionary {
            words: Vec::with_capacity((nwords as usize).min(MAX_RESERVE)),
            labels: Vec::with_capacity((nlabels as usize).min(MAX_RESERVE)),
            label_counts: Vec::with_capacity((nlabels as usize).min(MAX_RESERVE)),
            pruned: None,
        };
        for _ in 0..size {
            let entry = r.c_string()?;
            let count = r.i64()?;
            let kind = r.u8()?;
            match kind {
                0 => dictionary.words.push(entry.to_vec()),
                1 => {
                    let label =
                        std::str::from_utf8(entry).map_err(|_| invalid("a label is not UTF-8"))?;
                    let label = label.strip_prefix(LABEL_PREFIX).unwrap_or(label);
                    dictionary.labels.push(label.to_string());
                    dictionary.label_counts.push(count);
                }
                other => return Err(invalid(format!("dictionary entry of kind {other}"))),
            }
        }
        if dictionary.words.len() != nwords as usize {
            return Err(invalid(
                "the dictionary's word count disagrees with its entries",
            ));
        }
        if pruned_size >= 0 {
            let mut pruned = Vec::with_capacity((pruned_size as usize).min(MAX_RESERVE));
            for _ in 0..pruned_size {
                let bucket = r.i32()?;
                let row = r.i32()?;
                if bucket < 0 || row < 0 {
                    return Err(invalid("a negative pruned bucket"));
                }
                pruned.push((bucket as u32, row as u32));
            }
            dictionary.pruned = Some(pruned);
        }
        Ok(dictionary)
    }
}

/// A matrix, decoded to f32 rows.
struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Matrix {
    fn read_dense(r: &mut Reader) -> Result<Matrix, FormatError> {
        let (rows, cols) = r.shape()?;
        let data = r.f32s(rows * cols)?;
        Ok(Matrix { rows, cols, data })
    }

    /// A product-quantized matrix (`.ftz`): 8-bit codes per sub-vector, and optionally a
    /// quantized norm per row.
    fn read_quantized(r: &mut Reader) -> Result<Matrix, FormatError> {
        let with_norms = r.u8()? != 0;
        let (rows, cols) = r.shape()?;
        let code_size = r.i32()?;
        let codes = r.take(usize::try_from(code_size).map_err(|_| invalid("code size"))?)?;
        let quantizer = Quantizer::read(r)?;
        if quantizer.dim != cols || codes.len() != rows * quantizer.subvectors {
            return Err(invalid("the quantizer does not fit the matrix"));
        }
        let norms = if with_norms {
            let codes = r.take(rows)?;
            let quantizer = Quantizer::read(r)?;
            if quantizer.dim != 1 {
                return Err(invalid("the norm quantizer is not one-dimensional"));
            }
            Some(codes.iter().map(|&c| quantizer.centroid(0, c)[0]).collect())
        } else {
            None
        };
        let mut data = vec![0.0f32; rows * cols];
        for (row, out) in data.chunks_exact_mut(cols).enumerate() {
            let norm: f32 = norms.as_ref().map_or(1.0, |n: &Vec<f32>| n[row]);
            let code = &codes[row * quantizer.subvectors..(row + 1) * quantizer.subvectors];
            for (m, &c) in code.iter().enumerate() {
                let at = m * quantizer.sub_dim;
                for (o, v) in out[at..].iter_mut().zip(quantizer.centroid(m, c)) {
                    *o = norm * v;
                }
            }
        }
        Ok(Matrix { rows, cols, data })
    }
}

struct Quantizer {
    dim: usize,
    subvectors: usize,
    sub_dim: usize,
    last_sub_dim: usize,
    centroids: Vec<f32>,
}

impl Quantizer {
    fn read(r: &mut Reader) -> Result<Quantizer, FormatError> {
        let dim = r.i32()?;
        let subvectors = r.i32()?;
        let sub_dim = r.i32()?;
        let last_sub_dim = r.i32()?;
        if dim <= 0 || subvectors <= 0 || sub_dim <= 0 || last_sub_dim <= 0 {
            return Err(invalid("a quantizer with no dimensions"));
        }
        let (dim, subvectors, sub_dim, last_sub_dim) = (
            dim as usize,
            subvectors as usize,
            sub_dim as usize,
            last_sub_dim as usize,
        );
        if (subvectors - 1) * sub_dim + last_sub_dim != dim {
            return Err(invalid(
                "the quantizer's sub-vectors do not cover its dimension",
            ));
        }
        let centroids = r.f32s(dim * CENTROIDS)?;
        Ok(Quantizer {
            dim,
            subvectors,
            sub_dim,
            last_sub_dim,
            centroids,
        })
    }

    /// Centroid `code` of sub-vector `m`, laid out as fastText's `get_centroids`.
    fn centroid(&self, m: usize, code: u8) -> &[f32] {
        let code = code as usize;
        if m == self.subvectors - 1 {
            let at = m * CENTROIDS * self.sub_dim + code * self.last_sub_dim;
            &self.centroids[at..at + self.last_sub_dim]
        } else {
            let at = (m * CENTROIDS + code) * self.sub_dim;
            &self.centroids[at..at + self.sub_dim]
        }
    }
}

fn invalid(why: impl Into<String>) -> FormatError {
    FormatError::Invalid(why.into())
}

/// Little-endian reads that fail with the offset instead of panicking.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(FormatError::Truncated(self.bytes.len()))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], FormatError> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    fn u8(&mut self) -> Result<u8, FormatError> {
        Ok(self.take(1)?[0])
    }

    fn i32(&mut self) -> Result<i32, FormatError> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, FormatError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    fn f64(&mut self) -> Result<f64, FormatError> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    fn f32s(&mut self, n: usize) -> Result<Vec<f32>, FormatError> {
        let bytes = self.take(n.checked_mul(4).ok_or_else(|| invalid("matrix size"))?)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect())
    }

    fn shape(&mut self) -> Result<(usize, usize), FormatError> {
        let rows = self.i64()?;
        let cols = self.i64()?;
        let rows = usize::try_from(rows).map_err(|_| invalid("negative row count"))?;
        let cols = usize::try_from(cols).map_err(|_| invalid("negative column count"))?;
        if rows.checked_mul(cols).is_none_or(|n| n > self.bytes.len()) {
            return Err(invalid(format!(
                "a {rows}×{cols} matrix cannot fit the file"
            )));
        }
        Ok((rows, cols))
    }

    fn c_string(&mut self) -> Result<&'a [u8], FormatError> {
        let rest = &self.bytes[self.at..];
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(FormatError::Truncated(self.bytes.len()))?;
        let out = &rest[..len];
        self.at += len + 1;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_sign_extends_bytes_as_fasttext_does() {
        // FNV-1a's published 32-bit values for ASCII.
        assert_eq!(fnv1a(b""), 0x811c_9dc5);
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
        // Above 0x7f fastText xors 0xffffff80 | b, not b.
        let mut expected: u32 = 2_166_136_261;
        expected ^= 0xffff_ffc3;
        expected = expected.wrapping_mul(16_777_619);
        assert_eq!(fnv1a(&[0xc3]), expected);
    }

    #[test]
    fn the_huffman_tree_pairs_the_rarest_first() {
        // Counts 5, 3, 1: the two rarest (labels 2 and 1) join first, then with label 0.
        let tree = huffman_tree(&[5, 3, 1]);
        assert_eq!(tree[3], Node { left: 2, right: 1 });
        assert_eq!(tree[4], Node { left: 3, right: 0 });
    }

    /// The header of a supervised model with these arguments, and an empty dictionary.
    fn header(dim: i32, bucket: i32, words: i32) -> Vec<u8> {
        let mut out = MAGIC.to_le_bytes().to_vec();
        out.extend(VERSION.to_le_bytes());
        // dim, ws, epoch, minCount, neg, wordNgrams, loss (hs), model (sup), bucket, minn,
        // maxn, lrUpdateRate, then t.
        for v in [dim, 5, 5, 1, 5, 1, 1, 3, bucket, 2, 4, 100] {
            out.extend(v.to_le_bytes());
        }
        out.extend(1e-4f64.to_le_bytes());
        out.extend(words.to_le_bytes()); // size
        out.extend(words.to_le_bytes()); // words
        out.extend(0i32.to_le_bytes()); // labels
        out.extend(0i64.to_le_bytes()); // tokens
        out.extend((-1i64).to_le_bytes()); // not pruned
        out
    }

    #[test]
    fn corrupt_counts_are_refused_before_they_allocate() {
        assert!(matches!(
            Model::from_bytes(&header(16, i32::MAX, 0)),
            Err(FormatError::Invalid(_))
        ));
        assert!(matches!(
            Model::from_bytes(&header(100_000, 10, 0)),
            Err(FormatError::Invalid(_))
        ));
        // Counts that do not add up, even past i32.
        let mut overflow = header(16, 10, i32::MAX);
        let at = overflow.len() - 20; // the label count: i32::MAX words and one label
        overflow[at..at + 4].copy_from_slice(&1i32.to_le_bytes());
        assert!(matches!(
            Model::from_bytes(&overflow),
            Err(FormatError::Invalid(_))
        ));
        // Two billion words announced, none there: the file ends, nothing is reserved for them.
        assert!(matches!(
            Model::from_bytes(&header(16, 10, i32::MAX)),
            Err(FormatError::Truncated(_))
        ));
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        assert_eq!(
            Model::from_bytes(b"").unwrap_err(),
            FormatError::Truncated(0)
        );
        assert_eq!(
            Model::from_bytes(&[1, 2, 3, 4, 5, 6, 7, 8]).unwrap_err(),
            FormatError::Magic(0x0403_0201)
        );
        let mut old = MAGIC.to_le_bytes().to_vec();
        old.extend(11i32.to_le_bytes());
        assert_eq!(
            Model::from_bytes(&old).unwrap_err(),
            FormatError::Version(11)
        );
    }
}
