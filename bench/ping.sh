#!/usr/bin/env bash
# Ping benchmark: firebreak's GET /ping/{uuid} (Healthchecks-compatible heartbeats), durable: each
# `200 OK` only after the ping is committed to the database (SQLite, synchronous=FULL).
#
#   bash bench/ping.sh
#
# Builds firebreak in release mode (or uses $FIREBREAK_BIN), and RUNS times: starts it on a fresh
# SQLite database, creates $CHECKS checks, runs `wrk -t$THREADS -c$CONNS -d$DURATION --latency`
# pinging them in turn (bench/ping.lua), and reads how many pings the database holds for the
# first check. Prints pings/s, p50 and p99 per run and their medians.
#
# Settings (environment): RUNS=3 DURATION=15s THREADS=2 CONNS=64 CHECKS=100 FB_PORT=18490
#   FIREBREAK_BIN=path (skip the build)  CARGO_TARGET_DIR (for the build)  WORK=dir  KEEP=1
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
RUNS=${RUNS:-3}
DURATION=${DURATION:-15s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
CHECKS=${CHECKS:-100}
FB_PORT=${FB_PORT:-18490}
WORK=${WORK:-$(mktemp -d /tmp/firebreak-ping.XXXXXX)}
mkdir -p "$WORK"
PIDS=()

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
    [[ -n ${KEEP:-} ]] || find "$WORK" -name 'bench.db*' -delete 2>/dev/null || true
}
trap cleanup EXIT

missing=()
for tool in wrk jq curl; do command -v $tool >/dev/null || missing+=($tool); done
if ((${#missing[@]})); then
    sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
    log "installing ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
        || { $sudo apt-get update && $sudo env DEBIAN_FRONTEND=noninteractive \
                 apt-get install -y --no-install-recommends "${missing[@]}"; }
fi

if [[ -n ${FIREBREAK_BIN:-} ]]; then
    FB=$FIREBREAK_BIN
else
    target=${CARGO_TARGET_DIR:-$ROOT/target}
    log "building firebreak (release) into $target"
    (cd "$ROOT" && CARGO_TARGET_DIR=$target cargo build --release -p firebreak) >"$WORK/build.log" 2>&1 \
        || die "cargo build failed, see $WORK/build.log"
    FB=$target/release/firebreak
fi

median() { sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

printf 'run\tpings/s\tp50_ms\tp99_ms\tnon2xx\tload\n' >"$WORK/results.tsv"
for run in $(seq "$RUNS"); do
    dir=$WORK/run-$run
    mkdir -p "$dir"
    db=sqlite:$dir/bench.db
    "$FB" serve --listen "127.0.0.1:$FB_PORT" --database "$db" >"$dir/serve.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    for _ in $(seq 300); do curl -fsS -o /dev/null "http://127.0.0.1:$FB_PORT/healthz" 2>/dev/null && break; sleep 0.1; done
    token=$("$FB" token create --name bench --database "$db" 2>>"$dir/serve.log")
    api=(-fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json')
    base=http://127.0.0.1:$FB_PORT/api/v1
    curl "${api[@]}" -d '{"name":"bench"}' "$base/teams" >/dev/null
    curl "${api[@]}" -d '{"name":"jobs","team":"bench","description":"bench"}' "$base/services" >/dev/null
    ids=()
    for i in $(seq "$CHECKS"); do
        url=$(curl "${api[@]}" -d "{\"name\":\"job-$i\",\"service\":\"jobs\",\"period_seconds\":3600,\"grace_seconds\":600}" \
            "$base/heartbeats" | jq -r .ping_url)
        ids+=("${url##*/}")
    done
    FB_PING_IDS=$(IFS=,; echo "${ids[*]}")
    export FB_PING_IDS
    load=$(cut -d' ' -f1 /proc/loadavg)
    log "run $run: wrk -t$THREADS -c$CONNS -d$DURATION over $CHECKS checks (load $load)"
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$HERE/ping.lua" "http://127.0.0.1:$FB_PORT" >"$dir/wrk.out" 2>&1
    line=$(grep '^BENCH' "$dir/wrk.out" | tail -1) || die "wrk failed: $(cat "$dir/wrk.out")"
    requests=$(field requests "$line"); non2xx=$(field non2xx "$line"); us=$(field duration_us "$line")
    rate=$(awk -v r="$requests" -v n="$non2xx" -v us="$us" 'BEGIN {printf "%.0f", (r - n) / (us / 1e6)}')
    p50=$(awk -v us="$(field p50_us "$line")" 'BEGIN {printf "%.2f", us / 1000}')
    p99=$(awk -v us="$(field p99_us "$line")" 'BEGIN {printf "%.2f", us / 1000}')
    kept=$(curl "${api[@]}" "$base/heartbeats/$(curl "${api[@]}" "$base/heartbeats" | jq '.[0].id')" | jq '.pings | length')
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$rate" "$p50" "$p99" "$non2xx" "$load" >>"$WORK/results.tsv"
    log "run $run: $rate pings/s, p50 $p50 ms, p99 $p99 ms, $non2xx non-2xx; first check shows $kept pings"
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
done

column -t "$WORK/results.tsv"
printf 'median: %s pings/s, p99 %s ms (%s runs; results in %s)\n' \
    "$(tail -n +2 "$WORK/results.tsv" | cut -f2 | median)" "$(tail -n +2 "$WORK/results.tsv" | cut -f4 | median)" "$RUNS" "$WORK"
