#!/usr/bin/env bash
# Instructions per accepted event, counted by callgrind: a figure that does not move with the
# load of a shared machine, for comparing two builds of the ingest path.
#
#   bash bench/instructions.sh [FIREBREAK_BIN ...]
#
# For each binary (default: a release build of this tree): starts it under
# `valgrind --tool=callgrind` with counting off, on a fresh SQLite database, creates a service,
# warms up with 5 s of `wrk -t1 -c32` on /v2/enqueue, then counts instructions (every thread of
# the process, user space only) over MEASURE seconds of the same load and divides by the events
# accepted meanwhile. Under valgrind the server runs about fifty times slower and its threads take
# turns, so journal records and database transactions hold fewer events than at full speed:
# compare builds with each other, not with the CPU figures of bench/ingest.sh. Instructions in
# the kernel (the TCP stack, fdatasync) are not counted.
#
# Settings (environment): MEASURE=15 (seconds) MODE=distinct|repeat PORT=18600 KEEP=1 (keep the
# work directory, with callgrind's output for callgrind_annotate).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
MEASURE=${MEASURE:-15}
MODE=${MODE:-distinct}
PORT=${PORT:-18600}

for tool in valgrind callgrind_control wrk jq curl; do
    command -v "$tool" >/dev/null || { echo "error: $tool is missing (apt-get install valgrind wrk jq curl)" >&2; exit 1; }
done

if (($# == 0)); then
    (cd "$ROOT" && cargo build --release -p firebreak) >&2
    set -- "${CARGO_TARGET_DIR:-$ROOT/target}/release/firebreak"
fi

measure() { # BIN: prints one line of figures
    local bin=$1 work server
    work=$(mktemp -d /tmp/firebreak-instructions.XXXXXX)
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/callgrind.out" \
        "$bin" serve --listen "127.0.0.1:$PORT" --database "sqlite:$work/bench.db" >"$work/serve.log" 2>&1 &
    server=$!
    # shellcheck disable=SC2064
    trap "kill -INT $server 2>/dev/null || true; wait $server 2>/dev/null || true; [[ -n \${KEEP:-} ]] || rm -rf '$work'" RETURN
    local i
    for i in $(seq 300); do
        curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break
        kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; return 1; }
        sleep 0.2
    done
    local token key
    token=$("$bin" token create --name bench --database "sqlite:$work/bench.db" 2>/dev/null)
    local api=(-fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json')
    curl "${api[@]}" -d '{"name":"bench"}' "http://127.0.0.1:$PORT/api/v1/teams" >/dev/null
    key=$(curl "${api[@]}" -d '{"name":"svc","team":"bench","description":"bench"}' \
        "http://127.0.0.1:$PORT/api/v1/services" | jq -r .integration_key)
    accepted() {
        curl -fsS "http://127.0.0.1:$PORT/metrics" | awk '$1 == "firebreak_alert_events_accepted_total" {print $2}'
    }
    load() { # PREFIX SECONDS
        FB_ROUTING_KEY=$key FB_MODE=$MODE FB_PREFIX=$1 \
            wrk -t1 -c32 -d"$2"s -s "$HERE/enqueue.lua" "http://127.0.0.1:$PORT/v2/enqueue" >/dev/null 2>&1
        sleep 3 # the applier catches up
    }
    load warm 5
    local before after
    before=$(accepted)
    callgrind_control --instr=on "$server" >/dev/null 2>&1
    load measure "$MEASURE"
    callgrind_control --instr=off "$server" >/dev/null 2>&1
    after=$(accepted)
    callgrind_control --dump "$server" >/dev/null 2>&1
    local instructions
    instructions=$(cat "$work"/callgrind.out* | awk '/^(summary|totals):/ {n += $2} END {print n + 0}')
    echo "$bin $MODE: events=$((after - before)) instructions=$instructions per_event=$((instructions / (after - before)))"
}

for bin in "$@"; do
    measure "$bin"
done
