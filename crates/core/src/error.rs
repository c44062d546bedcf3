//! Stable error codes.
//!
//! Every error enum in the project implements [`ErrorCode`]; the code is what crosses the wire and
//! what `docs/errors.md` documents (meaning and what to do). Codes never change meaning once
//! published; retired codes are not reused.

/// An error with a stable, documented code of the form `EN-nnn`.
pub trait ErrorCode {
    /// The stable code, e.g. `"EN-101"`.
    fn code(&self) -> &'static str;
}
