-- wrk script: Healthchecks-style pings against firebreak's GET /ping/{uuid}, spread over checks.
--
-- Parameters (environment): FB_PING_IDS, the checks' ping ids separated by commas (required).
-- Each request pings the next check in turn, starting at a different one per thread.
-- done() prints one machine-readable line: "BENCH key=value ...".

local ids = {}
for id in string.gmatch(os.getenv("FB_PING_IDS") or error("FB_PING_IDS is not set"), "[^,]+") do
    ids[#ids + 1] = id
end

local thread_count = 0
function setup(thread)
    thread_count = thread_count + 1
    thread:set("id", thread_count)
end

local n = 0
function request()
    n = n + 1
    local ping = ids[((n + (id or 0) * 7) % #ids) + 1]
    return wrk.format("GET", "/ping/" .. ping)
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d non2xx=%d connect=%d read=%d write=%d timeout=%d duration_us=%d " ..
        "p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
        summary.requests, e.status, e.connect, e.read, e.write, e.timeout, summary.duration,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
