//! The encoder's input: each token's word, position and token-type embeddings summed (before the
//! embedding layer norm). Shared by the CPU encoder and the GPU one: a gather, not arithmetic
//! worth a kernel.

use crate::EmbedError;
use crate::config::BertConfig;
use crate::weights::Weights;

/// The word-embedding table, kept in the file's precision: in f16 it is half of an f16 model's
/// memory saved (23 MB for MiniLM), which is what lets a browser Worker hold the model in well
/// under 150 MB. A row is widened to f32 as a token is looked up.
enum WordTable {
    F32(Vec<f32>),
    F16(Vec<u16>),
}

/// The three embedding tables.
pub(crate) struct TokenEmbeddings {
    word: WordTable,
    position: Vec<f32>,
    /// Token type 0's row: every text is a single segment.
    token_type: Vec<f32>,
    hidden: usize,
    vocab: usize,
}

impl TokenEmbeddings {
    pub(crate) fn load(cfg: &BertConfig, weights: &Weights<'_>) -> Result<Self, EmbedError> {
        let h = cfg.hidden;
        let name = "embeddings.word_embeddings.weight";
        let word = match weights.get_f16_bits(name, &[cfg.vocab, h]) {
            Some(bits) => WordTable::F16(bits),
            None => WordTable::F32(weights.get(name, &[cfg.vocab, h])?),
        };
        let types = weights
            .rows("embeddings.token_type_embeddings.weight")
            .max(1);
        let token_type = weights.get("embeddings.token_type_embeddings.weight", &[types, h])?;
        Ok(Self {
            word,
            position: weights.get(
                "embeddings.position_embeddings.weight",
                &[cfg.max_positions, h],
            )?,
            token_type: token_type[..h].to_vec(),
            hidden: h,
            vocab: cfg.vocab,
        })
    }

    /// Writes the first `len` tokens of `ids` into `dst` (`len × hidden`); an id past the
    /// vocabulary reads row 0 (`[PAD]`), a missing one too.
    pub(crate) fn gather(&self, ids: &[u32], len: usize, dst: &mut [f32]) {
        let h = self.hidden;
        for pos in 0..len {
            let row = &mut dst[pos * h..(pos + 1) * h];
            let position = &self.position[pos * h..(pos + 1) * h];
            for ((d, p), t) in row.iter_mut().zip(position).zip(&self.token_type) {
                *d = p + t;
            }
            self.add_word(self.id(ids.get(pos).copied()), row);
        }
    }

    /// The sum of the word vectors of `ids` (the "model" of a lazy worker, in tests).
    pub(crate) fn word_sum(&self, ids: &[u32]) -> Vec<f32> {
        let mut sum = vec![0.0f32; self.hidden];
        for &id in ids {
            self.add_word(self.id(Some(id)), &mut sum);
        }
        sum
    }

    fn id(&self, id: Option<u32>) -> usize {
        id.map(|t| t as usize)
            .filter(|&i| i < self.vocab)
            .unwrap_or(0)
    }

    fn add_word(&self, id: usize, dst: &mut [f32]) {
        let h = self.hidden;
        match &self.word {
            WordTable::F32(t) => {
                for (d, w) in dst.iter_mut().zip(&t[id * h..(id + 1) * h]) {
                    *d += w;
                }
            }
            WordTable::F16(t) => {
                for (d, &w) in dst.iter_mut().zip(&t[id * h..(id + 1) * h]) {
                    *d += half::f16::from_bits(w).to_f32();
                }
            }
        }
    }
}
