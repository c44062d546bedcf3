//! Why a module is refused, each with its stable code.

use edgenet_core::ErrorCode;
use thiserror::Error;

/// A module [`crate::prepare`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SandboxError {
    /// It does not validate, or uses a feature outside the allowed set.
    #[error("the module does not validate with the allowed features: {0}")]
    Invalid(String),
    /// It imports something: a task's module computes on its input only.
    #[error("the module imports {0}: a custom_wasm module may import nothing")]
    Import(String),
    /// It has a start function (which would run before the fuel is set).
    #[error("the module has a start function")]
    Start,
    /// It is larger than a bound of [`crate::Limits`].
    #[error("the module is too large: {0}")]
    TooLarge(String),
    /// Its memory starts larger than the task's memory limit, or there is more than one.
    #[error("the module's memory: {0}")]
    Memory(String),
    /// It exports a name the sandbox reserves.
    #[error("the module exports {0}, a name the sandbox reserves")]
    Reserved(String),
}

impl ErrorCode for SandboxError {
    fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "EN-601",
            Self::Import(_) => "EN-602",
            Self::Start => "EN-603",
            Self::TooLarge(_) => "EN-604",
            Self::Memory(_) => "EN-605",
            Self::Reserved(_) => "EN-606",
        }
    }
}
