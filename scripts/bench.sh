#!/usr/bin/env bash
# Benchmarks, bounded in time (about 1 minute on 2 cores), with anchors measured in the same run.
# Prints a table with ratios; copy it into docs/BENCHMARKS.md with the date and machine.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

step "edgenet-core: identity and envelopes"
cargo bench -p edgenet-core --bench crypto -- --noplot
python3 "$ROOT/scripts/bench_report.py" "$ROOT/target/criterion"
