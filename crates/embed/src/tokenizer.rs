//! BERT's tokenizer, read from a Hugging Face `tokenizer.json`: the added (special) tokens, the
//! `BertNormalizer`, the `BertPreTokenizer` and greedy longest-match WordPiece.
//!
//! It gives the ids the `tokenizers` library gives (the fixture `wordpiece_reference.json` holds
//! that library's output for a few thousand varied texts, and `tests/tokenizer.rs` compares every
//! one). To get there it follows the library step by step, with the same Unicode tables: the
//! `unicode_categories` crate decides control, punctuation and non-spacing marks (its tables
//! predate recent emoji, which it therefore counts as unassigned, and the cleaning step drops
//! them — exactly as the reference does), and `unicode-normalization-alignments` decomposes.
//!
//! ```
//! # let json = include_bytes!("../tests/fixtures/tiny_tokenizer.json");
//! let tokenizer = edgenet_embed::WordPiece::from_json(json).unwrap();
//! // [CLS] hello , world ! [SEP]
//! assert_eq!(tokenizer.encode("Héllo, WORLD!", 16), vec![1, 5, 8, 6, 9, 2]);
//! ```

use std::collections::HashMap;

use serde::Deserialize;
use unicode_categories::UnicodeCategories;
use unicode_normalization_alignments::UnicodeNormalization;

use crate::EmbedError;

/// A BERT WordPiece tokenizer.
#[derive(Debug, Clone)]
pub struct WordPiece {
    vocab: HashMap<String, u32>,
    /// The largest id the vocabulary or an added token holds.
    max_id: u32,
    unk: u32,
    cls: u32,
    sep: u32,
    prefix: String,
    max_word_chars: usize,
    /// Added tokens matched in the raw text before normalization.
    specials: Vec<(String, u32)>,
    clean_text: bool,
    chinese_chars: bool,
    strip_accents: bool,
    lowercase: bool,
}

#[derive(Deserialize)]
struct TokenizerJson {
    added_tokens: Vec<AddedToken>,
    normalizer: Normalizer,
    pre_tokenizer: TypeOnly,
    model: Model,
}

#[derive(Deserialize)]
struct AddedToken {
    id: u32,
    content: String,
    #[serde(default)]
    normalized: bool,
}

#[derive(Deserialize)]
struct Normalizer {
    #[serde(rename = "type")]
    kind: String,
    clean_text: bool,
    handle_chinese_chars: bool,
    strip_accents: Option<bool>,
    lowercase: bool,
}

#[derive(Deserialize)]
struct TypeOnly {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct Model {
    #[serde(rename = "type")]
    kind: String,
    unk_token: String,
    continuing_subword_prefix: String,
    max_input_chars_per_word: usize,
    vocab: HashMap<String, u32>,
}

impl WordPiece {
    /// Reads a `tokenizer.json` of a BERT WordPiece tokenizer.
    pub fn from_json(bytes: &[u8]) -> Result<Self, EmbedError> {
        let bad = |m: String| EmbedError::Tokenizer(m);
        let json: TokenizerJson = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if json.model.kind != "WordPiece"
            || json.normalizer.kind != "BertNormalizer"
            || json.pre_tokenizer.kind != "BertPreTokenizer"
        {
            return Err(bad(format!(
                "only BERT's WordPiece runs here, not {} / {} / {}",
                json.model.kind, json.normalizer.kind, json.pre_tokenizer.kind
            )));
        }
        let vocab = json.model.vocab;
        let id = |token: &str| {
            vocab
                .get(token)
                .copied()
                .ok_or_else(|| bad(format!("the vocabulary has no {token}")))
        };
        let (unk, cls, sep) = (id(&json.model.unk_token)?, id("[CLS]")?, id("[SEP]")?);
        let specials: Vec<(String, u32)> = json
            .added_tokens
            .into_iter()
            .filter(|t| !t.normalized && !t.content.is_empty())
            .map(|t| (t.content, t.id))
            .collect();
        let max_id = vocab
            .values()
            .chain(specials.iter().map(|(_, id)| id))
            .copied()
            .max()
            .unwrap_or(0);
        Ok(Self {
            vocab,
            max_id,
            unk,
            cls,
            sep,
            prefix: json.model.continuing_subword_prefix,
            max_word_chars: json.model.max_input_chars_per_word,
            specials,
            clean_text: json.normalizer.clean_text,
            chinese_chars: json.normalizer.handle_chinese_chars,
            strip_accents: json
                .normalizer
                .strip_accents
                .unwrap_or(json.normalizer.lowercase),
            lowercase: json.normalizer.lowercase,
        })
    }

    /// Whether `id` is a token of the vocabulary or an added token.
    pub fn has_id(&self, id: u32) -> bool {
        self.max_id >= id
    }

    /// The ids of `text` as the model sees it: `[CLS]`, the text's tokens, `[SEP]`, truncated to
    /// `max_tokens` in all (the text's first `max_tokens − 2` tokens are kept).
    pub fn encode(&self, text: &str, max_tokens: usize) -> Vec<u32> {
        let mut ids = vec![self.cls];
        let budget = max_tokens.saturating_sub(1).max(1);
        self.tokens_into(text, &mut ids, budget);
        ids.truncate(budget);
        ids.push(self.sep);
        ids
    }

    /// Appends the tokens of `text` (no `[CLS]`/`[SEP]`) until `out` holds `limit` ids: work
    /// stops at the truncation point, so a long text costs only what is kept.
    fn tokens_into(&self, text: &str, out: &mut Vec<u32>, limit: usize) {
        let mut rest = text;
        while !rest.is_empty() && out.len() < limit {
            // The earliest special token, the longest one where several start at the same place.
            let next = self
                .specials
                .iter()
                .filter_map(|(s, id)| rest.find(s.as_str()).map(|at| (at, s.len(), *id)))
                .min_by_key(|&(at, len, _)| (at, std::cmp::Reverse(len)));
            match next {
                Some((at, len, id)) => {
                    self.plain_into(&rest[..at], out, limit);
                    if out.len() < limit {
                        out.push(id);
                    }
                    rest = &rest[at + len..];
                }
                None => {
                    self.plain_into(rest, out, limit);
                    rest = "";
                }
            }
        }
    }

    /// Normalizes, pre-tokenizes and WordPiece-splits text that holds no special token.
    fn plain_into(&self, text: &str, out: &mut Vec<u32>, limit: usize) {
        let normalized = self.normalize(text);
        let mut word = String::new();
        for c in normalized.chars() {
            if out.len() >= limit {
                return;
            }
            if c.is_whitespace() {
                self.word_into(&word, out);
                word.clear();
            } else if c.is_ascii_punctuation() || c.is_punctuation() {
                self.word_into(&word, out);
                word.clear();
                word.push(c);
                self.word_into(&word, out);
                word.clear();
            } else {
                word.push(c);
            }
        }
        self.word_into(&word, out);
    }

    /// `BertNormalizer`: drop controls, map whitespace to ' ', space out CJK ideographs, strip
    /// accents (NFD, then drop non-spacing marks), lowercase char by char.
    fn normalize(&self, text: &str) -> String {
        let mut s: String = if self.clean_text {
            text.chars()
                .filter(|&c| !(c == '\0' || c == '\u{fffd}' || is_control(c)))
                .map(|c| if is_whitespace(c) { ' ' } else { c })
                .collect()
        } else {
            text.to_owned()
        };
        if self.chinese_chars && s.chars().any(is_chinese_char) {
            let mut spaced = String::with_capacity(s.len() + 16);
            for c in s.chars() {
                if is_chinese_char(c) {
                    spaced.extend([' ', c, ' ']);
                } else {
                    spaced.push(c);
                }
            }
            s = spaced;
        }
        if self.strip_accents {
            s = s
                .nfd()
                .map(|(c, _)| c)
                .filter(|c| !c.is_mark_nonspacing())
                .collect();
        }
        if self.lowercase {
            s = s.chars().flat_map(char::to_lowercase).collect();
        }
        s
    }

    /// Greedy longest-match-first WordPiece; a word with a piece not in the vocabulary, or longer
    /// than the per-word limit, is one `[UNK]`.
    fn word_into(&self, word: &str, out: &mut Vec<u32>) {
        if word.is_empty() {
            return;
        }
        if word.chars().count() > self.max_word_chars {
            out.push(self.unk);
            return;
        }
        let mark = out.len();
        let mut start = 0;
        let mut piece = String::new();
        while start < word.len() {
            let mut end = word.len();
            let found = loop {
                piece.clear();
                if start > 0 {
                    piece.push_str(&self.prefix);
                }
                piece.push_str(&word[start..end]);
                if let Some(&id) = self.vocab.get(&piece) {
                    break Some(id);
                }
                match word[start..end].char_indices().last() {
                    Some((i, _)) if i > 0 => end = start + i,
                    _ => break None,
                }
            };
            match found {
                Some(id) => out.push(id),
                None => {
                    out.truncate(mark);
                    out.push(self.unk);
                    return;
                }
            }
            start = end;
        }
    }
}

/// `\t`, `\n`, `\r` count as whitespace (they are controls in Unicode).
fn is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

/// Unicode's "other" categories (Cc, Cf, Co, Cn), except the three whitespace controls.
fn is_control(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r') && c.is_other()
}

/// The CJK Unified Ideographs blocks (not Hiragana, Katakana or Hangul, which separate words).
fn is_chinese_char(c: char) -> bool {
    matches!(
        c as u32,
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B920..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}
