#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| edgenet_core::fuzz_targets::decode_untrusted(data));
