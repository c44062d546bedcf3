//! A WAT guest written out as a module (the browser tests run `guests/*.wat` this way):
//!   cargo run -p edgenet-sandbox --example wat2wasm -- IN.wat OUT.wasm
#![allow(clippy::unwrap_used, clippy::expect_used)] // a tool for tests: failing loudly is the point

fn main() {
    let mut args = std::env::args().skip(1);
    let (input, output) = (args.next().expect("IN.wat"), args.next().expect("OUT.wasm"));
    let bytes = wat::parse_file(&input).unwrap();
    std::fs::write(output, bytes).unwrap();
}
