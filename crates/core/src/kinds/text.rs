//! What the text kinds (those that need a model) share: the served models and the limits
//! on texts. A text past the model's 256 tokens is truncated by the model, so
//! [`MAX_TEXT_BYTES`] only bounds what travels; the result of the largest payload (256 vectors
//! of 384 floats) is 384 KiB.

use super::codec::TaskError;

/// Models the network serves, by the name tasks use (all-MiniLM-L6-v2).
pub const MODELS: &[&str] = &["minilm"];
/// Most texts in one task (every text it carries, a query included).
pub const MAX_TEXTS: usize = 256;
/// Longest text, in UTF-8 bytes.
pub const MAX_TEXT_BYTES: usize = 8192;
/// Most text bytes in one task.
pub const MAX_TOTAL_BYTES: usize = 256 * 1024;
/// Widest embedding a result may carry.
pub const MAX_EMBEDDING_DIM: u32 = 1024;

/// Checks a model name and a list of texts against the limits.
pub(crate) fn validate_texts<'a>(
    model: &str,
    texts: impl ExactSizeIterator<Item = &'a String>,
) -> Result<(), TaskError> {
    if !MODELS.contains(&model) {
        return Err(TaskError::UnknownModel(model.chars().take(64).collect()));
    }
    let count = texts.len();
    if count == 0 || count > MAX_TEXTS {
        return Err(TaskError::OutOfBounds(format!(
            "{count} texts; a task takes 1 to {MAX_TEXTS}"
        )));
    }
    let mut total = 0usize;
    for (i, t) in texts.enumerate() {
        if t.len() > MAX_TEXT_BYTES {
            return Err(TaskError::OutOfBounds(format!(
                "text {i} is {} bytes; the most is {MAX_TEXT_BYTES}",
                t.len()
            )));
        }
        total += t.len();
    }
    if total > MAX_TOTAL_BYTES {
        return Err(TaskError::OutOfBounds(format!(
            "{total} bytes of text; the most is {MAX_TOTAL_BYTES}"
        )));
    }
    Ok(())
}
