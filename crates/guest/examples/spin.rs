//! A compute-bound `custom_wasm` guest (`edgenet_guest::samples::spin`), for the job throughput
//! benchmark (`scripts/bench.sh wasm-job`).

edgenet_guest::entry!(edgenet_guest::samples::spin);
