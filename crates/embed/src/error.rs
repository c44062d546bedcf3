//! Why a model could not be loaded. Task-level refusals (too many texts, an unknown model) are
//! `core::task`'s errors; these are about the model files themselves.

use edgenet_core::ErrorCode;
use thiserror::Error;

/// A model file is missing, unreadable or not the model it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EmbedError {
    /// A file of the model directory could not be read.
    #[error("cannot read the model file {path}: {reason} (scripts/setup.sh fetches the model)")]
    Missing {
        /// The file.
        path: String,
        /// The IO error.
        reason: String,
    },
    /// `config.json` or a sentence-transformers config is malformed or describes another model.
    #[error("model config: {0}")]
    Config(String),
    /// `tokenizer.json` is malformed or not a BERT WordPiece tokenizer.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The weights do not parse, or a tensor is missing or has the wrong shape or type.
    #[error("weights: {0}")]
    Weights(String),
}

impl ErrorCode for EmbedError {
    fn code(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "EN-410",
            Self::Config(_) => "EN-411",
            Self::Tokenizer(_) => "EN-412",
            Self::Weights(_) => "EN-413",
        }
    }
}
