//! Our WordPiece against the `tokenizers` library's ids (`fixtures/wordpiece_reference.json`,
//! written by `scripts/make_embedding_fixture.py`): a few thousand texts in many scripts, with
//! accents, emoji, controls, odd whitespace, special tokens and words around the length limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_embed::{Embedder, WordPiece};

fn tokenizer() -> WordPiece {
    let dir = Embedder::default_dir().expect("no model directory: run scripts/setup.sh");
    let json = std::fs::read(dir.join("tokenizer.json"))
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup.sh)", dir.display()));
    WordPiece::from_json(&json).unwrap()
}

#[derive(serde::Deserialize)]
struct Reference {
    texts: Vec<String>,
    ids: Vec<Vec<u32>>,
}

#[test]
fn wordpiece_gives_the_reference_ids_for_every_text() {
    let tokenizer = tokenizer();
    let reference: Reference =
        serde_json::from_str(include_str!("fixtures/wordpiece_reference.json")).unwrap();
    assert!(reference.texts.len() >= 2000, "the corpus shrank");
    let mut wrong = Vec::new();
    for (text, want) in reference.texts.iter().zip(&reference.ids) {
        let got = tokenizer.encode(text, usize::MAX);
        if &got != want {
            wrong.push(format!("{text:?}\n  got  {got:?}\n  want {want:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} differ:\n{}",
        wrong.len(),
        reference.texts.len(),
        wrong[..wrong.len().min(8)].join("\n")
    );
}

#[test]
fn truncation_keeps_the_first_tokens_and_the_separator() {
    let tokenizer = tokenizer();
    let long = "word ".repeat(1000);
    let ids = tokenizer.encode(&long, 256);
    let full = tokenizer.encode(&long, usize::MAX);
    assert_eq!(ids.len(), 256);
    assert_eq!(ids[..255], full[..255]);
    assert_eq!(ids.last(), full.last(), "[SEP] closes a truncated text too");
    assert_eq!(tokenizer.encode("", 256), vec![101, 102]);
}
