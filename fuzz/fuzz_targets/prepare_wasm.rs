#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| edgenet_sandbox::fuzz_targets::prepare_untrusted(data));
