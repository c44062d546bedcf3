#!/usr/bin/env bash
# The main job on this machine: builds the binaries and the browser package, starts the relay on
# 127.0.0.1 (serving the demo pages, the package and the HTTP API) with three native worker nodes
# attached (the consumer page's searches ask for three agreeing workers), and prints the URLs.
# Ctrl-C stops everything.
#   EDGENET_LISTEN=127.0.0.1:9000 scripts/demo.sh    another address
# State lives in .edgenet-demo/ (relay key, node keys, node status); delete it to start afresh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

export EDGENET_LISTEN="${EDGENET_LISTEN:-127.0.0.1:8080}"
state="$ROOT/.edgenet-demo"
node=(target/release/edgenet-node --key-file "$state/node.key")
workers=3

# The browser package needs wasm-pack, esbuild and binaryen: setup installs what is missing (quick
# when everything is there).
"$ROOT/scripts/setup.sh" >/dev/null
step "building the browser package, then relay and node (release)"
# The package first: the relay is built with its own copy of it (and of www/).
"$ROOT/scripts/build.sh" >/dev/null
cargo build --release -q -p edgenet-relay -p edgenet-node

step "relay"
EDGENET_DATA_DIR="$state/relay" target/release/edgenet-relay &
relay=$!
pids=("$relay")
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
for _ in $(seq 50); do
    curl -fsS "http://$EDGENET_LISTEN/api/status" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "http://$EDGENET_LISTEN/api/status" >/dev/null || { echo "relay did not come up" >&2; exit 1; }

step "native nodes"
# One identity each: the relay keeps one connection per identity.
"${node[@]}" run --relay "ws://$EDGENET_LISTEN/ws" &
pids+=("$!")
for i in $(seq 2 "$workers"); do
    target/release/edgenet-node --key-file "$state/node$i.key" run --relay "ws://$EDGENET_LISTEN/ws" &
    pids+=("$!")
done
for _ in $(seq 100); do
    [ "$(curl -fsS "http://$EDGENET_LISTEN/api/peers" | grep -o node_id | wc -l)" -ge "$workers" ] && break
    sleep 0.1
done
note "$workers nodes joined the relay; the first is $("${node[@]}" id)"

step "ready"
note "open http://$EDGENET_LISTEN/contributor.html   (this tab lends idle CPU once you allow it)"
note "open http://$EDGENET_LISTEN/consumer.html      (submit a search, see who verified it)"
note "open http://$EDGENET_LISTEN/vector-search.html (embed texts on the nodes, search them by meaning)"
note "open http://$EDGENET_LISTEN/dashboard.html     (live: tasks, peers, credits, latency, leaderboard)"
note "metrics: http://$EDGENET_LISTEN/metrics   events: ws://$EDGENET_LISTEN/events   API reference: http://$EDGENET_LISTEN/api/openapi.json"
note "API: http://$EDGENET_LISTEN/api/status, /api/peers, /api/tasks, /api/ledger/<node id>"
note "the first node's credits (a canary task, paid once it proved its work):  ${node[*]} earnings --relay ws://$EDGENET_LISTEN/ws"
note "submit a search to the nodes:  target/release/edgenet-node submit --redundancy 3 --relay ws://$EDGENET_LISTEN/ws"
note "embed texts (one per line) on the nodes' all-MiniLM-L6-v2:  target/release/edgenet-node submit --kind embedding --file TEXTS --redundancy 3 --output json --relay ws://$EDGENET_LISTEN/ws"
note "Ctrl-C to stop"
wait "$relay"
