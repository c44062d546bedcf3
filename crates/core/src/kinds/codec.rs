//! What every kind's types share: the error of task data, and postcard encoding with the kind's
//! own validation before anything is sent and after anything is received.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::ErrorCode;

/// Errors from encoding and decoding task data.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TaskError {
    /// The bytes are not a valid encoding.
    #[error("task data does not decode: {0}")]
    Malformed(String),
    /// The data breaks a limit or a shape rule.
    #[error("task data out of bounds: {0}")]
    OutOfBounds(String),
    /// The task names a model the network does not serve (`text::MODELS` lists those served).
    #[error("model {0:?} is not served (EN-143 in docs/errors.md names those that are)")]
    UnknownModel(String),
}

impl ErrorCode for TaskError {
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "EN-140",
            Self::OutOfBounds(_) => "EN-141",
            Self::UnknownModel(_) => "EN-143",
        }
    }
}

/// Validates, then encodes.
pub(crate) fn encode_checked<T: Serialize>(
    value: &T,
    validate: impl FnOnce(&T) -> Result<(), TaskError>,
) -> Result<Vec<u8>, TaskError> {
    validate(value)?;
    to_bytes(value)
}

/// Decodes untrusted bytes, then validates.
pub(crate) fn decode_checked<'a, T: Deserialize<'a>>(
    bytes: &'a [u8],
    validate: impl FnOnce(&T) -> Result<(), TaskError>,
) -> Result<T, TaskError> {
    let value = from_bytes(bytes)?;
    validate(&value)?;
    Ok(value)
}

pub(crate) fn to_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, TaskError> {
    postcard::to_allocvec(value).map_err(|e| TaskError::Malformed(e.to_string()))
}

pub(crate) fn from_bytes<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, TaskError> {
    postcard::from_bytes(bytes).map_err(|e| TaskError::Malformed(e.to_string()))
}
