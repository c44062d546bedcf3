#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| edgenet_proto::fuzz_targets::cluster_frames(data));
