#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| edgenet_embed::fuzz_targets::tokenize(data));
