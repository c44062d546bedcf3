#!/usr/bin/env bash
# The one test command: installs what is missing, then runs every test suite.
#   scripts/test.sh            everything
# Each suite is also runnable alone: scripts/ci/<suite>.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
# One pass over everything: incremental caches would only fill the disk (CI's is small).
export CARGO_INCREMENTAL=0

"$ROOT/scripts/setup.sh"

suites=(lint native wasm wasm-xplat browser)
passed=0
failed=0
failures=()
for suite in "${suites[@]}"; do
    step "suite: $suite"
    if "$ROOT/scripts/ci/$suite.sh"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$suite")
    fi
done

step "summary"
[ $failed -eq 0 ] || note "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed"
[ $failed -eq 0 ]
