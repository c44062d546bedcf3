//! A `custom_wasm` module in Rust. Write one function from input bytes to output bytes, and let
//! [`entry!`] export the entry-point ABI around it (docs/custom-wasm.md):
//!
//! ```
//! fn shout(input: &[u8]) -> Vec<u8> {
//!     input.to_ascii_uppercase()
//! }
//! edgenet_guest::entry!(shout);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-unknown-unknown` as a `cdylib`; the
//! module imports nothing as long as the function does no I/O (no files, clocks or randomness:
//! the sandbox has none). `examples/word_count.rs` is one.
// The ABI hands raw addresses across the wasm boundary: the two functions below are the only
// place, and they are what the runner calls, with an input it wrote where `alloc` said.
#![allow(unsafe_code)]

pub mod samples;

/// Exports `alloc` and `run` around `f: fn(&[u8]) -> Vec<u8>`.
#[macro_export]
macro_rules! entry {
    ($f:path) => {
        /// The ABI's allocator: room for `len` input bytes.
        #[unsafe(no_mangle)]
        pub extern "C" fn alloc(len: i32) -> i32 {
            $crate::alloc(len)
        }

        /// The ABI's entry point: the output's place as `ptr << 32 | len`.
        #[unsafe(no_mangle)]
        pub extern "C" fn run(ptr: i32, len: i32) -> i64 {
            // SAFETY: the runner wrote `len` bytes at `ptr`, which `alloc(len)` returned.
            unsafe { $crate::run(ptr, len, $f) }
        }
    };
}

/// Room for `len` bytes, left allocated for the runner to fill (the module lives for one call).
pub fn alloc(len: i32) -> i32 {
    let mut room = Vec::<u8>::with_capacity(usize::try_from(len).unwrap_or(0));
    let at = room.as_mut_ptr();
    std::mem::forget(room);
    at as usize as i32
}

/// Calls `f` on the input at `ptr` and leaves its output in memory for the runner to read.
///
/// # Safety
/// `ptr` and `len` must be what `alloc(len)` returned, with `len` bytes written there.
pub unsafe fn run(ptr: i32, len: i32, f: fn(&[u8]) -> Vec<u8>) -> i64 {
    let len = usize::try_from(len).unwrap_or(0);
    // SAFETY: the caller's promise above.
    let input = unsafe { std::slice::from_raw_parts(ptr as usize as *const u8, len) };
    let output = f(input).into_boxed_slice();
    let (at, n) = (output.as_ptr() as usize as u64, output.len() as u64);
    std::mem::forget(output);
    ((at << 32) | (n & 0xffff_ffff)) as i64
}
