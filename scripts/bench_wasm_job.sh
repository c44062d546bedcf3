#!/usr/bin/env bash
# custom_wasm jobs through the network: 1,000 inputs of the compute-bound `spin` guest, submitted
# as one job to a local relay with three native nodes (release builds), at redundancy 1 and 3,
# beside the anchor: the same inputs run one after another by one local wasmtime executor.
# Prints the seconds and throughput ratios (docs/BENCHMARKS.md). `scripts/bench.sh wasm-job`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
inputs=1000
fuel=200000000
work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --release -q --target wasm32-unknown-unknown -p edgenet-guest --example spin
cargo build --release -q -p edgenet-relay -p edgenet-node
cargo build --release -q -p edgenet-sandbox --features wasmtime --example local_job
guest="$ROOT/target/wasm32-unknown-unknown/release/examples/spin.wasm"
mkdir -p "$work/inputs"
for i in $(seq 0 $((inputs - 1))); do printf '%08d' "$i" >"$work/inputs/$(printf '%05d' "$i")"; done

step "anchor: one local wasmtime executor, $inputs inputs in a row"
"$ROOT/target/release/examples/local_job" "$guest" "$work/inputs" "$fuel" | tee "$work/local.json"

port=$((20000 + RANDOM % 20000))
"$ROOT/target/release/edgenet-relay" --listen "127.0.0.1:$port" --data-dir "$work/relay" \
    --www /nonexistent --pkg /nonexistent --canary-reward 0 >"$work/relay.log" 2>&1 &
pids+=($!)
for n in 1 2 3; do
    sleep 0.5
    "$ROOT/target/release/edgenet-node" --key-file "$work/n$n.key" run --no-model \
        --relay "ws://127.0.0.1:$port/ws" >"$work/n$n.log" 2>&1 &
    pids+=($!)
done
for _ in $(seq 1 100); do
    peers="$(curl -fsS "http://127.0.0.1:$port/api/peers" 2>/dev/null | grep -o node_id | wc -l || true)"
    [ "$peers" -ge 3 ] && break
    sleep 0.2
done
local_s="$(grep -o '"seconds": [0-9.]*' "$work/local.json" | grep -o '[0-9.]*$')"
for redundancy in 1 3; do
    step "the job through the relay: 3 nodes, redundancy $redundancy"
    start=$(date +%s.%N)
    EDGENET_LOG=warn "$ROOT/target/release/edgenet-node" --key-file "$work/submitter.key" submit --relay "ws://127.0.0.1:$port/ws" \
        --kind custom-wasm --module "$guest" --inputs "$work/inputs" --fuel "$fuel" --memory 16 \
        --redundancy "$redundancy" --timeout-s 600 --json >"$work/job$redundancy.json"
    end=$(date +%s.%N)
    python3 - "$work/job$redundancy.json" "$start" "$end" "$local_s" "$redundancy" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
secs = float(sys.argv[3]) - float(sys.argv[2])
local = float(sys.argv[4])
assert report["verified"] and len(report["runs"]) == 1000 and report["matches_local"], report.get("runs", [])[:1]
print(f"| relay, 3 nodes, redundancy {sys.argv[5]} | {secs:.2f} s | {local / secs:.2f}× the local executor's throughput ({local:.2f} s) | {report['tasks']} tasks |")
PY
done
