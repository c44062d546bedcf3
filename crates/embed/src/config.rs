//! The model's shape, read from Hugging Face's `config.json` and sentence-transformers'
//! `sentence_bert_config.json` (the latter sets the truncation length: 256 for all-MiniLM-L6-v2,
//! below the tokenizer file's own 128 and the position table's 512).

use serde::Deserialize;

use crate::EmbedError;

/// A BERT encoder's hyperparameters.
#[derive(Debug, Clone, PartialEq)]
pub struct BertConfig {
    /// Width of every token's hidden state.
    pub hidden: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Attention heads per layer (`hidden` divides evenly among them).
    pub heads: usize,
    /// Width of the feed-forward block.
    pub intermediate: usize,
    /// Rows of the word-embedding table.
    pub vocab: usize,
    /// Rows of the position table.
    pub max_positions: usize,
    /// Layer norms' epsilon.
    pub layer_norm_eps: f32,
    /// Tokens per text, `[CLS]` and `[SEP]` included; longer texts are truncated.
    pub max_tokens: usize,
}

#[derive(Deserialize)]
struct HfConfig {
    model_type: String,
    hidden_act: String,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    vocab_size: usize,
    max_position_embeddings: usize,
    layer_norm_eps: f32,
    #[serde(default = "absolute")]
    position_embedding_type: String,
}

fn absolute() -> String {
    "absolute".into()
}

#[derive(Deserialize)]
struct SbertConfig {
    max_seq_length: usize,
}

impl BertConfig {
    /// Parses `config.json` and, when there is one, `sentence_bert_config.json`.
    pub fn parse(config: &[u8], sbert: Option<&[u8]>) -> Result<Self, EmbedError> {
        let bad = |m: String| EmbedError::Config(m);
        let hf: HfConfig = serde_json::from_slice(config).map_err(|e| bad(e.to_string()))?;
        if hf.model_type != "bert"
            || hf.hidden_act != "gelu"
            || hf.position_embedding_type != "absolute"
        {
            return Err(bad(format!(
                "only BERT with exact GELU and absolute positions runs here, not {} / {} / {}",
                hf.model_type, hf.hidden_act, hf.position_embedding_type
            )));
        }
        let max_tokens = match sbert {
            Some(bytes) => {
                serde_json::from_slice::<SbertConfig>(bytes)
                    .map_err(|e| bad(e.to_string()))?
                    .max_seq_length
            }
            None => hf.max_position_embeddings,
        };
        let cfg = Self {
            hidden: hf.hidden_size,
            layers: hf.num_hidden_layers,
            heads: hf.num_attention_heads,
            intermediate: hf.intermediate_size,
            vocab: hf.vocab_size,
            max_positions: hf.max_position_embeddings,
            layer_norm_eps: hf.layer_norm_eps,
            max_tokens,
        };
        // Bounds that keep a hostile or broken config from asking for absurd allocations.
        let sane = (1..=4096).contains(&cfg.hidden)
            && (1..=48).contains(&cfg.layers)
            && cfg.heads >= 1
            && cfg.hidden.is_multiple_of(cfg.heads)
            && (1..=16384).contains(&cfg.intermediate)
            && (1..=1_000_000).contains(&cfg.vocab)
            && (2..=8192).contains(&cfg.max_positions)
            && (2..=cfg.max_positions).contains(&cfg.max_tokens)
            && cfg.layer_norm_eps.is_finite()
            && cfg.layer_norm_eps > 0.0;
        if !sane {
            return Err(bad(format!("out of range: {cfg:?}")));
        }
        Ok(cfg)
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }
}
