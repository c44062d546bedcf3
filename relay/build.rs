//! The relay embeds `www/` and `pkg/` (src/assets.rs). A release build copies them in at compile
//! time, so it must be rebuilt when they change: cargo watches the folders (recursively).
fn main() {
    for dir in ["../www", "../pkg/dist", "../pkg/wasm", "../pkg/src"] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
