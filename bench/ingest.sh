#!/usr/bin/env bash
# Ingest benchmark: firebreak's POST /v2/enqueue against Prometheus Alertmanager's POST /api/v2/alerts.
#
#   bash bench/ingest.sh
#
# What it does (see bench/README.md):
#   1. builds firebreak in release mode (or uses $FIREBREAK_BIN), starts it on a fresh SQLite
#      database (durable mode: each 202 after the events are synced to the ingest journal; the
#      database applies them behind) and creates a service;
#   2. wrk -t2 -c32 -d20s --latency, a distinct dedup key per request  -> events/s, p99;
#   3. the same with one repeated dedup key                             -> events/s, p99;
#   4. the same load against Alertmanager (null receiver), one new alert per request
#                                                                       -> alerts/s, p99, RSS/alert;
#   5. the load of 2. against http_floor, an HTTP responder that does no work (the example in
#      crates/server/examples)          -> requests/s: the most that wrk and loopback TCP allow here;
#   6. firebreak RSS before/after $ALERTS open alerts, then an overload run with
#      $OVERLOAD_CONNS connections: counts 429s and watches RSS;
#   7. prints the medians of $RUNS runs.
#
# Settings (environment): RUNS=3 DURATION=20s THREADS=2 CONNS=32 ALERTS=1000000
#   OVERLOAD_CONNS=16000 (0: no overload run) OVERLOAD_DURATION=15s FB_PORT=18480 AM_PORT=18493
#   AM_CONFIG=bench/alertmanager.yml (Alertmanager's configuration file)
#   FIREBREAK_BIN=path (skip the build)  FLOOR_BIN=path  CARGO_TARGET_DIR (for the build)
#   SKIP_ALERTMANAGER=1  SKIP_FLOOR=1  SKIP_MEMORY=1  KEEP=1 (keep the work directory)  WORK=dir
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
RUNS=${RUNS:-3}
DURATION=${DURATION:-20s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
ALERTS=${ALERTS:-1000000}
OVERLOAD_CONNS=${OVERLOAD_CONNS:-16000}
OVERLOAD_DURATION=${OVERLOAD_DURATION:-15s}
FB_PORT=${FB_PORT:-18480}
AM_PORT=${AM_PORT:-18493}
FLOOR_PORT=${FLOOR_PORT:-18482}
AM_BIN=${AM_BIN:-/usr/bin/prometheus-alertmanager}
AM_CONFIG=${AM_CONFIG:-$HERE/alertmanager.yml}
WORK=${WORK:-$(mktemp -d /tmp/firebreak-bench.XXXXXX)}
mkdir -p "$WORK"
RESULTS=$WORK/results.tsv
LOG=$WORK/bench.log
PIDS=()

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$LOG" >&2; }
die() { log "error: $*"; exit 1; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [[ -z ${KEEP:-} ]]; then
        # Keep the logs and results, drop the databases.
        find "$WORK" -name 'bench.db*' -delete 2>/dev/null || true
        find "$WORK" -path '*/am-*/*' -type f ! -name '*.log' -delete 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop() { # PID: stop a process this script started and wait for it
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# Prerequisites

need_packages() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    [[ -x $AM_BIN || -n ${SKIP_ALERTMANAGER:-} ]] || missing+=(prometheus-alertmanager)
    command -v jq >/dev/null || missing+=(jq)
    command -v curl >/dev/null || missing+=(curl)
    command -v sqlite3 >/dev/null || missing+=(sqlite3)
    ((${#missing[@]} == 0)) && return
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo=sudo
    log "installing ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
        || { $sudo apt-get update && $sudo env DEBIAN_FRONTEND=noninteractive \
                 apt-get install -y --no-install-recommends "${missing[@]}"; }
}

build_firebreak() {
    if [[ -n ${FIREBREAK_BIN:-} ]]; then
        FB=$FIREBREAK_BIN
    else
        local target=${CARGO_TARGET_DIR:-$ROOT/target}
        log "building firebreak (release) into $target"
        (cd "$ROOT" && CARGO_TARGET_DIR=$target cargo build --release -p firebreak) >>"$LOG" 2>&1 \
            || die "cargo build failed, see $LOG"
        FB=$target/release/firebreak
    fi
    [[ -x $FB ]] || die "no firebreak binary at $FB"
    [[ -z ${SKIP_FLOOR:-} ]] || return 0
    if [[ -n ${FLOOR_BIN:-} ]]; then
        FLOOR=$FLOOR_BIN
    else
        local target=${CARGO_TARGET_DIR:-$ROOT/target}
        (cd "$ROOT" && CARGO_TARGET_DIR=$target cargo build --release -p firebreak-server --example http_floor) \
            >>"$LOG" 2>&1 || die "cargo build of the http_floor example failed, see $LOG"
        FLOOR=$target/release/examples/http_floor
    fi
    [[ -x $FLOOR ]] || die "no http_floor binary at $FLOOR"
}

# ---------------------------------------------------------------------------------------------
# Helpers

wait_http() { # URL [curl arguments...]: wait until it answers 2xx (30 s)
    local url=$1 i
    shift
    for i in $(seq 300); do
        curl -fsS -o /dev/null "$@" "$url" 2>/dev/null && return 0
        sleep 0.1
    done
    die "$url did not come up"
}

port_free() { ! curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" 2>/dev/null; }

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
CLK_TCK=$(getconf CLK_TCK)
cpu_seconds() { # TICKS: seconds of CPU
    awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", t / hz}'
}
per_event_us() { # TICKS EVENTS: microseconds of CPU per event
    awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN {if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "nan"}'
}

metric() { # NAME: a counter from firebreak's /metrics
    curl -fsS "http://127.0.0.1:$FB_PORT/metrics" | awk -v n="$1" '$1 == n {print $2}'
}

field() { # KEY LINE: value of key=value in a BENCH line
    sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"
}

median() { # numbers on stdin -> median
    sort -g | awk '{a[NR] = $1} END {
        if (NR == 0) print "nan";
        else if (NR % 2) print a[(NR + 1) / 2];
        else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# run_wrk NAME SCRIPT URL CONNS DURATION [wrk args...]: runs wrk, leaves the BENCH line in $BENCH,
# the load average before the run in $LOAD, and wrk's CPU seconds (user+sys) in $WRK_CPU.
run_wrk() {
    local name=$1 script=$2 url=$3 conns=$4 duration=$5
    shift 5
    local out=$WORK/$name.wrk
    LOAD=$(load)
    log "wrk $name: -t$THREADS -c$conns -d$duration (load $LOAD)"
    if [[ -n ${UNTIL_EVENTS:-} ]]; then
        # wrk's main thread sleeps for the whole -d even when every thread has stopped (the Lua
        # script stops each thread after its share of 2xx answers), so end it with SIGINT, which
        # makes it print its report, once firebreak has accepted UNTIL_EVENTS events.
        wrk -t"$THREADS" -c"$conns" -d"$duration" --latency "$@" -s "$script" "$url" >"$out" 2>&1 &
        local wrk_pid=$!
        PIDS+=("$wrk_pid")
        while kill -0 "$wrk_pid" 2>/dev/null; do
            sleep 1
            (($(metric firebreak_alert_events_accepted_total) >= UNTIL_EVENTS)) && break
        done
        sleep 1
        kill -INT "$wrk_pid" 2>/dev/null || true
        wait "$wrk_pid" 2>/dev/null || true
        echo "WRKCPU 0 0" >"$out.time"
    else
        /usr/bin/time -f 'WRKCPU %U %S' -o "$out.time" \
            wrk -t"$THREADS" -c"$conns" -d"$duration" --latency "$@" -s "$script" "$url" >"$out" 2>&1 || true
    fi
    BENCH=$(grep '^BENCH' "$out" | tail -1) || die "wrk $name failed: $(cat "$out")"
    WRK_CPU=$(awk '/^WRKCPU/ {print $2 + $3}' "$out.time")
}

# ok_rate: 2xx answers per second of the last run_wrk
ok_count() { echo $(($(field requests "$BENCH") - $(field non2xx "$BENCH"))); }
ok_rate() { awk -v ok="$(ok_count)" -v us="$(field duration_us "$BENCH")" 'BEGIN {printf "%.0f", ok / (us / 1e6)}'; }
p99_ms() { awk -v us="$(field p99_us "$BENCH")" 'BEGIN {printf "%.2f", us / 1000}'; }
p50_ms() { awk -v us="$(field p50_us "$BENCH")" 'BEGIN {printf "%.2f", us / 1000}'; }

record() { # RUN SCENARIO RATE P99_MS P50_MS NON2XX EXTRA
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$LOAD" "$7" >>"$RESULTS"
}

# ---------------------------------------------------------------------------------------------
# firebreak

start_firebreak() { # DIR: fresh database in DIR; sets FB_PID and ROUTING_KEY
    local dir=$1 db
    mkdir -p "$dir"
    db=sqlite:$dir/bench.db
    port_free "$FB_PORT" || die "port $FB_PORT is taken (set FB_PORT)"
    "$FB" serve --listen "127.0.0.1:$FB_PORT" --database "$db" >"$dir/serve.log" 2>&1 &
    FB_PID=$!
    PIDS+=("$FB_PID")
    wait_http "http://127.0.0.1:$FB_PORT/healthz"
    local token
    token=$("$FB" token create --name bench --database "$db" 2>>"$dir/serve.log")
    local api=(-fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json')
    curl "${api[@]}" -d '{"name":"bench"}' "http://127.0.0.1:$FB_PORT/api/v1/teams" >/dev/null
    ROUTING_KEY=$(curl "${api[@]}" -d '{"name":"svc","team":"bench","description":"bench"}' \
        "http://127.0.0.1:$FB_PORT/api/v1/services" | jq -r .integration_key)
    [[ -n $ROUTING_KEY && $ROUTING_KEY != null ]] || die "no integration key"
    # One event through the whole path before measuring.
    curl -fsS -o /dev/null -H 'Content-Type: application/json' \
        -d "{\"routing_key\":\"$ROUTING_KEY\",\"event_action\":\"trigger\",\"dedup_key\":\"warm\",\"payload\":{\"summary\":\"warm\",\"source\":\"bench\",\"severity\":\"critical\"}}" \
        "http://127.0.0.1:$FB_PORT/v2/enqueue"
}

wait_applied() { # until firebreak's database holds every accepted event (60 s at most)
    local i
    for i in $(seq 600); do
        local backlog
        backlog=$(metric firebreak_ingest_backlog_events)
        # A build without a journal has no such metric: its database is always up to date.
        ((${backlog:-0} == 0)) && return 0
        sleep 0.1
    done
    die "firebreak did not apply its backlog within 60 s"
}

# fb_run RUN SCENARIO MODE PREFIX: one wrk run against /v2/enqueue, recorded
fb_run() {
    local run=$1 scenario=$2 mode=$3 prefix=$4
    local events0 batches0 records0 cpu0 events1 batches1 records1 cpu1
    events0=$(metric firebreak_alert_events_accepted_total)
    batches0=$(metric firebreak_ingest_batches_committed_total)
    records0=$(metric firebreak_ingest_journal_records_total)
    cpu0=$(cpu_ticks "$FB_PID")
    FB_ROUTING_KEY=$ROUTING_KEY FB_MODE=$mode FB_PREFIX=$prefix \
        run_wrk "fb-$scenario-$run" "$HERE/enqueue.lua" "http://127.0.0.1:$FB_PORT/v2/enqueue" "$CONNS" "$DURATION"
    cpu1=$(cpu_ticks "$FB_PID")
    # Accepted events are journaled; the database applies them behind. Sustained means it keeps up:
    # report what is still to apply when the load stops, and how long that takes.
    local backlog drain_started=$SECONDS
    backlog=$(metric firebreak_ingest_backlog_events)
    backlog=${backlog:-0}
    wait_applied
    local drain_s=$((SECONDS - drain_started))
    local cpu2
    cpu2=$(cpu_ticks "$FB_PID")
    events1=$(metric firebreak_alert_events_accepted_total)
    batches1=$(metric firebreak_ingest_batches_committed_total)
    records1=$(metric firebreak_ingest_journal_records_total)
    local per_batch per_record fb_cpu
    per_record=$(awk -v e=$((events1 - events0)) -v r=$((${records1:-0} - ${records0:-0})) 'BEGIN {printf "%.1f", r ? e / r : 0}')
    per_batch=$(awk -v e=$((events1 - events0)) -v b=$((batches1 - batches0)) 'BEGIN {printf "%.1f", b ? e / b : 0}')
    fb_cpu=$(cpu_seconds $((cpu1 - cpu0)))
    # CPU per event counts the drain too: storing what was accepted is part of accepting it.
    local cpu_us
    cpu_us=$(per_event_us $((cpu2 - cpu0)) $((events1 - events0)))
    record "$run" "fb-$scenario" "$(ok_rate)" "$(p99_ms)" "$(p50_ms)" "$(field non2xx "$BENCH")" \
        "events/batch=$per_batch events/journal_record=$per_record backlog_at_end=$backlog drain_s=$drain_s firebreak_cpu_s=$fb_cpu cpu_us_per_event=$cpu_us wrk_cpu_s=$WRK_CPU rss_kb=$(rss_kb "$FB_PID")"
    log "  fb-$scenario: $(ok_rate) events/s, p99 $(p99_ms) ms, p50 $(p50_ms) ms, non-2xx $(field non2xx "$BENCH"), $per_batch events/transaction, $per_record events/journal record, $backlog events left to apply at the end (applied within ${drain_s}s), firebreak CPU ${fb_cpu}s, wrk CPU ${WRK_CPU}s"
}

firebreak_throughput() { # RUN
    local run=$1 dir=$WORK/fb-$1
    start_firebreak "$dir"
    fb_run "$run" distinct distinct "r$run"
    fb_run "$run" repeat repeat "r$run"
    stop "$FB_PID"
}

# ---------------------------------------------------------------------------------------------
# Alertmanager

alertmanager_throughput() { # RUN
    local run=$1 dir=$WORK/am-$1
    mkdir -p "$dir"
    port_free "$AM_PORT" || die "port $AM_PORT is taken (set AM_PORT)"
    "$AM_BIN" --config.file="$AM_CONFIG" --storage.path="$dir" \
        --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= >"$dir/am.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait_http "http://127.0.0.1:$AM_PORT/-/ready"
    sleep 1
    local rss0 rss1 cpu0 cpu1
    rss0=$(rss_kb "$pid")
    cpu0=$(cpu_ticks "$pid")
    AM_PREFIX="r$run" run_wrk "am-$run" "$HERE/alertmanager.lua" "http://127.0.0.1:$AM_PORT/api/v2/alerts" \
        "$CONNS" "$DURATION"
    cpu1=$(cpu_ticks "$pid")
    sleep 1
    rss1=$(rss_kb "$pid")
    local ok per_alert am_cpu
    ok=$(ok_count)
    per_alert=$(awk -v a="$rss0" -v b="$rss1" -v n="$ok" 'BEGIN {printf "%.0f", n ? (b - a) * 1024 / n : 0}')
    am_cpu=$(cpu_seconds $((cpu1 - cpu0)))
    record "$run" am "$(ok_rate)" "$(p99_ms)" "$(p50_ms)" "$(field non2xx "$BENCH")" \
        "rss_before_kb=$rss0 rss_after_kb=$rss1 alerts=$ok rss_bytes_per_alert=$per_alert am_cpu_s=$am_cpu cpu_us_per_event=$(per_event_us $((cpu1 - cpu0)) "$ok") wrk_cpu_s=$WRK_CPU"
    printf '%s\n' "$per_alert" >>"$WORK/am-rss-per-alert"
    log "  alertmanager: $(ok_rate) alerts/s, p99 $(p99_ms) ms, non-2xx $(field non2xx "$BENCH"), RSS $rss0 -> $rss1 kB for $ok alerts = $per_alert B/alert, CPU ${am_cpu}s, wrk CPU ${WRK_CPU}s"
    stop "$pid"
}

# ---------------------------------------------------------------------------------------------
# The floor: the same load against a responder that does no work

floor_throughput() { # RUN
    local run=$1
    port_free "$FLOOR_PORT" || die "port $FLOOR_PORT is taken (set FLOOR_PORT)"
    "$FLOOR" "127.0.0.1:$FLOOR_PORT" >"$WORK/floor-$run.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait_http "http://127.0.0.1:$FLOOR_PORT/v2/enqueue" -d '{}'
    local cpu0 cpu1
    cpu0=$(cpu_ticks "$pid")
    FB_ROUTING_KEY=floor FB_MODE=distinct FB_PREFIX="r$run" \
        run_wrk "floor-$run" "$HERE/enqueue.lua" "http://127.0.0.1:$FLOOR_PORT/v2/enqueue" "$CONNS" "$DURATION"
    cpu1=$(cpu_ticks "$pid")
    local floor_cpu
    floor_cpu=$(cpu_seconds $((cpu1 - cpu0)))
    record "$run" floor "$(ok_rate)" "$(p99_ms)" "$(p50_ms)" "$(field non2xx "$BENCH")" \
        "floor_cpu_s=$floor_cpu wrk_cpu_s=$WRK_CPU"
    log "  http_floor: $(ok_rate) requests/s, p99 $(p99_ms) ms, CPU ${floor_cpu}s, wrk CPU ${WRK_CPU}s"
    stop "$pid"
}

# ---------------------------------------------------------------------------------------------
# firebreak memory per open alert, and overload

firebreak_memory() {
    local dir=$WORK/fb-memory
    start_firebreak "$dir"
    sleep 1
    local rss0 rss1 hwm1 per_thread open
    rss0=$(rss_kb "$FB_PID")
    per_thread=$(((ALERTS + THREADS - 1) / THREADS))
    log "inserting $ALERTS open alerts ($per_thread 202s per wrk thread), firebreak RSS before: $rss0 kB"
    local started=$SECONDS target
    target=$(($(metric firebreak_alert_events_accepted_total) + per_thread * THREADS))
    FB_ROUTING_KEY=$ROUTING_KEY FB_MODE=distinct FB_PREFIX=mem FB_LIMIT=$per_thread UNTIL_EVENTS=$target \
        run_wrk fb-memory "$HERE/enqueue.lua" "http://127.0.0.1:$FB_PORT/v2/enqueue" "$CONNS" 3600s
    # wrk's duration includes the wait for SIGINT; the rate over the wall clock is close enough.
    BENCH=$(sed "s/duration_us=[0-9]*/duration_us=$(((SECONDS - started) * 1000000))/" <<<"$BENCH")
    record 1 fb-memory-load "$(ok_rate)" "$(p99_ms)" "$(p50_ms)" "$(field non2xx "$BENCH")" "during the $ALERTS-alert insert"
    log "  insert: $(ok_rate) events/s, p99 $(p99_ms) ms, non-2xx $(field non2xx "$BENCH")"
    wait_applied
    sleep 2
    rss1=$(rss_kb "$FB_PID")
    hwm1=$(hwm_kb "$FB_PID")
    open=$(sqlite3 "$dir/bench.db" "SELECT COUNT(*) FROM alerts WHERE status <> 'resolved'")
    local per_alert
    per_alert=$(awk -v a="$rss0" -v b="$rss1" -v n="$open" 'BEGIN {printf "%.1f", n ? (b - a) * 1024 / n : 0}')
    local db_bytes
    db_bytes=$(du -cb "$dir"/bench.db* | tail -1 | cut -f1)
    record 1 fb-memory "" "" "" "" "open_alerts=$open rss_before_kb=$rss0 rss_after_kb=$rss1 vmhwm_kb=$hwm1 rss_bytes_per_open_alert=$per_alert db_bytes=$db_bytes"
    printf '%s\n' "$per_alert" >"$WORK/fb-rss-per-alert"
    log "  $open open alerts: RSS $rss0 -> $rss1 kB (peak $hwm1 kB) = $per_alert B/open alert; database $db_bytes bytes"

    if ((OVERLOAD_CONNS == 0)); then
        stop "$FB_PID"
        return
    fi
    # Overload: more connections than firebreak serves at once (CONNECTIONS_MAX = 1024); 429s only
    # if the database falls BACKLOG_EVENTS_MAX events behind the journal.
    local limit
    limit=$(ulimit -n)
    if ((OVERLOAD_CONNS + 200 > limit)); then
        ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
        limit=$(ulimit -n)
    fi
    local conns=$OVERLOAD_CONNS
    ((conns + 200 <= limit)) || conns=$((limit - 200))
    local throttled0 throttled1 rss2 hwm2
    throttled0=$(metric firebreak_ingest_requests_throttled_total)
    FB_ROUTING_KEY=$ROUTING_KEY FB_MODE=distinct FB_PREFIX=overload \
        run_wrk fb-overload "$HERE/enqueue.lua" "http://127.0.0.1:$FB_PORT/v2/enqueue" "$conns" "$OVERLOAD_DURATION" \
        --timeout 30s
    sleep 2
    throttled1=$(metric firebreak_ingest_requests_throttled_total)
    rss2=$(rss_kb "$FB_PID")
    hwm2=$(hwm_kb "$FB_PID")
    local status_429
    status_429=$((throttled1 - throttled0))
    record 1 fb-overload "$(ok_rate)" "$(p99_ms)" "$(p50_ms)" "$(field non2xx "$BENCH")" \
        "connections=$conns requests=$(field requests "$BENCH") throttled_429=$status_429 socket_errors=$(field connect "$BENCH")/$(field read "$BENCH")/$(field write "$BENCH")/$(field timeout "$BENCH") rss_before_kb=$rss1 rss_after_kb=$rss2 vmhwm_kb=$hwm2"
    log "  overload ($conns connections): $(field requests "$BENCH") requests, $(ok_rate) 2xx/s, non-2xx $(field non2xx "$BENCH") (429 by the server's counter: $status_429), RSS $rss1 -> $rss2 kB (peak $hwm2 kB)"
    printf '%s %s %s %s %s %s\n' "$conns" "$(field requests "$BENCH")" "$(field non2xx "$BENCH")" "$status_429" "$rss1" "$hwm2" \
        >"$WORK/fb-overload"
    stop "$FB_PID"
}

# ---------------------------------------------------------------------------------------------
# Summary

col() { # SCENARIO COLUMN: that column of every run of a scenario
    awk -F'\t' -v s="$1" -v c="$2" '$2 == s {print $c}' "$RESULTS"
}

detail() { # SCENARIO KEY: that key=value of the details of every run of a scenario
    col "$1" 8 | tr ' ' '\n' | sed -n "s/^$2=//p"
}

summary() {
    local fbd fbd99 fbr fbr99 am am99 ratio fbmem ammem floor floor99
    fbd=$(col fb-distinct 3 | median)
    fbd99=$(col fb-distinct 4 | median)
    fbr=$(col fb-repeat 3 | median)
    fbr99=$(col fb-repeat 4 | median)
    am=$( [[ -s $WORK/am-rss-per-alert ]] && col am 3 | median || echo nan)
    am99=$( [[ -s $WORK/am-rss-per-alert ]] && col am 4 | median || echo nan)
    ammem=$( [[ -s $WORK/am-rss-per-alert ]] && median <"$WORK/am-rss-per-alert" || echo nan)
    fbmem=$( [[ -s $WORK/fb-rss-per-alert ]] && cat "$WORK/fb-rss-per-alert" || echo nan)
    ratio=$(awk -v a="$fbd" -v b="$am" 'BEGIN {if (b + 0 > 0) printf "%.2f", a / b; else print "nan"}')
    local fbcpu amcpu cpu_ratio
    fbcpu=$(detail fb-distinct cpu_us_per_event | median)
    amcpu=$( [[ -s $WORK/am-rss-per-alert ]] && detail am cpu_us_per_event | median || echo nan)
    cpu_ratio=$(awk -v a="$amcpu" -v b="$fbcpu" 'BEGIN {if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "nan"}')
    floor=$(col floor 3 | median)
    floor99=$(col floor 4 | median)
    {
        echo
        echo "firebreak ingest benchmark: median of $RUNS runs, wrk -t$THREADS -c$CONNS -d$DURATION, $(nproc) CPUs"
        echo "(firebreak: SQLite durable mode; $("$FB" --version 2>/dev/null || echo firebreak); $("$AM_BIN" --version 2>&1 | head -1 || true))"
        echo
        printf '%-60s %14s %10s\n' "measurement" "value" "p99 ms"
        printf '%-60s %14s %10s\n' "firebreak /v2/enqueue, distinct dedup keys (events/s)" "$fbd" "$fbd99"
        printf '%-60s %14s %10s\n' "firebreak /v2/enqueue, one repeated dedup key (events/s)" "$fbr" "$fbr99"
        printf '%-60s %14s %10s\n' "Alertmanager /api/v2/alerts, distinct alerts (alerts/s)" "$am" "$am99"
        printf '%-60s %14s\n' "ratio firebreak distinct / Alertmanager" "$ratio"
        printf '%-60s %14s\n' "server CPU per new alert, firebreak (us, with the drain)" "$fbcpu"
        printf '%-60s %14s\n' "server CPU per new alert, Alertmanager (us)" "$amcpu"
        printf '%-60s %14s\n' "ratio Alertmanager CPU per alert / firebreak's" "$cpu_ratio"
        printf '%-60s %14s %10s\n' "http_floor (answers, does nothing), same load (requests/s)" "$floor" "$floor99"
        printf '%-60s %14s\n' "firebreak RSS per open alert (bytes, $ALERTS alerts)" "$fbmem"
        printf '%-60s %14s\n' "Alertmanager RSS growth per alert (bytes)" "$ammem"
        if [[ -s $WORK/fb-overload ]]; then
            read -r conns requests non2xx s429 rss hwm <"$WORK/fb-overload"
            printf '%-60s %14s\n' "overload ($conns conns): requests / non-2xx / 429" "$requests / $non2xx / $s429"
            printf '%-60s %14s\n' "overload: RSS before / peak (kB)" "$rss / $hwm"
        fi
        echo
        echo "per run (run, scenario, rate/s, p99 ms, p50 ms, non-2xx, load average before, details):"
        column -t -s $'\t' "$RESULTS" 2>/dev/null || cat "$RESULTS"
        echo
        echo "logs and wrk outputs: $WORK"
    } | tee "$WORK/summary.txt"
}

# ---------------------------------------------------------------------------------------------

main() {
    need_packages
    build_firebreak
    : >"$RESULTS"
    log "work directory $WORK, firebreak $FB, load $(load)"
    local run
    for run in $(seq "$RUNS"); do
        log "run $run of $RUNS"
        firebreak_throughput "$run"
        [[ -n ${SKIP_ALERTMANAGER:-} ]] || alertmanager_throughput "$run"
        [[ -n ${SKIP_FLOOR:-} ]] || floor_throughput "$run"
    done
    [[ -n ${SKIP_MEMORY:-} ]] || firebreak_memory
    summary
}

main "$@"
