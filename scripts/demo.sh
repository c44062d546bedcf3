#!/usr/bin/env bash
# The main job on this machine: builds the binaries, gives the local native node its identity,
# starts the relay on 127.0.0.1 serving the demo site, and prints the URL. Ctrl-C stops it.
#   EDGENET_LISTEN=127.0.0.1:9000 scripts/demo.sh    another address
# State lives in .edgenet-demo/ (relay key, node key); delete it to start afresh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

export EDGENET_LISTEN="${EDGENET_LISTEN:-127.0.0.1:8080}"
state="$ROOT/.edgenet-demo"

step "building relay and node (release)"
cargo build --release -q -p edgenet-relay -p edgenet-node

step "native node identity"
node_id="$(EDGENET_KEY_FILE="$state/node.key" target/release/edgenet-node id)"
note "node $node_id  (key: $state/node.key)"

step "relay"
EDGENET_DATA_DIR="$state/relay" target/release/edgenet-relay &
relay=$!
trap 'kill $relay 2>/dev/null; wait $relay 2>/dev/null' EXIT INT TERM
for _ in $(seq 50); do
    curl -fsS "http://$EDGENET_LISTEN/api/status" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "http://$EDGENET_LISTEN/api/status" >/dev/null || { echo "relay did not come up" >&2; exit 1; }
note "open http://$EDGENET_LISTEN/  (status: http://$EDGENET_LISTEN/api/status)"
note "Ctrl-C to stop"
wait $relay
