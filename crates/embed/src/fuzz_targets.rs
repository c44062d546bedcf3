//! Body of the `tokenize` cargo-fuzz target (`fuzz/`), kept here so that plain tests replay its
//! regressions on stable (`tests/fuzz_regressions.rs`). It must return normally on any input.

use std::sync::OnceLock;

use crate::{Embedder, WordPiece};

/// The real tokenizer when the model is installed, else the small one of the doc tests.
fn tokenizer() -> Option<&'static WordPiece> {
    static TOKENIZER: OnceLock<Option<WordPiece>> = OnceLock::new();
    TOKENIZER
        .get_or_init(|| {
            let real =
                Embedder::default_dir().and_then(|d| std::fs::read(d.join("tokenizer.json")).ok());
            let json = real.unwrap_or_else(|| {
                include_bytes!("../tests/fixtures/tiny_tokenizer.json").to_vec()
            });
            WordPiece::from_json(&json).ok()
        })
        .as_ref()
}

/// Tokenizes untrusted text: `[CLS] … [SEP]`, never past the limit, every id in the vocabulary.
pub fn tokenize(data: &[u8]) {
    let Some(tokenizer) = tokenizer() else {
        return;
    };
    let text = String::from_utf8_lossy(data);
    let max = 2 + usize::from(data.first().copied().unwrap_or(0));
    let ids = tokenizer.encode(&text, max);
    assert!(
        ids.len() >= 2 && ids.len() <= max,
        "{} ids for a limit of {max}",
        ids.len()
    );
    assert!(
        ids.iter().all(|&id| tokenizer.has_id(id)),
        "an id outside the vocabulary"
    );
    assert_eq!(
        tokenizer.encode(&text, max),
        ids,
        "tokenizing is deterministic"
    );
}
