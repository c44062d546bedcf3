//! Functions the example guests export (`examples/`), here so that tests can run them natively
//! and compare with the same code run in the sandbox.

use std::collections::BTreeMap;

/// The words of a UTF-8 text (lossy), counted: one `word count` line each, in byte order of the
/// words.
pub fn word_count(input: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(input);
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        *counts.entry(word).or_default() += 1;
    }
    counts
        .iter()
        .map(|(w, n)| format!("{w} {n}\n"))
        .collect::<String>()
        .into_bytes()
}
