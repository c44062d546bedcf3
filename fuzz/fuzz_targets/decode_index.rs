#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| edgenet_kernels::fuzz_targets::decode_index(data));
