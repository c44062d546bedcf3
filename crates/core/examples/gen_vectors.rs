//! Writes the committed test vectors to stdout:
//! `cargo run -p edgenet-core --example gen_vectors --features test-vectors > crates/core/tests/vectors/core-v1.json`
//!
//! Only needed when the format changes on purpose; the tests fail if the committed file and the
//! code disagree.

fn main() -> Result<(), serde_json::Error> {
    let vectors = edgenet_core::test_vectors::generate();
    println!("{}", serde_json::to_string_pretty(&vectors)?);
    Ok(())
}
