-- wrk script: one alert per request against Prometheus Alertmanager's POST /api/v2/alerts, with
-- distinct labels per request (alertname + i=<prefix>-<thread>-<counter>), so every request is a
-- new alert. It carries what enqueue.lua's events carry (a summary, a source and a severity), and
-- builds each request the way enqueue.lua does, so that both servers get the same load from a
-- load generator that costs the same.
-- AM_PREFIX (optional) keeps runs apart. done() prints "BENCH key=value ..." like enqueue.lua.

local prefix = os.getenv("AM_PREFIX") or "bench"
local starts_at = os.date("!%Y-%m-%dT%H:%M:%SZ")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local head = '[{"labels":{"alertname":"BenchDiskAlmostFull","instance":"bench-host","severity":"critical","i":"'
    .. prefix .. "-"
local tail = '"},"annotations":{"summary":"bench: disk almost full"},"startsAt":"' .. starts_at .. '"}]'

local thread_count = 0
function setup(thread)
    thread_count = thread_count + 1
    thread:set("id", thread_count)
end

local n = 0
local start
function request()
    if not start then
        start = "POST " .. wrk.path .. " HTTP/1.1\r\nHost: " .. wrk.headers["Host"]
            .. "\r\nContent-Type: application/json\r\nContent-Length: "
    end
    n = n + 1
    local body = head .. id .. "-" .. n .. tail
    return start .. #body .. "\r\n\r\n" .. body
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d non2xx=%d connect=%d read=%d write=%d timeout=%d duration_us=%d " ..
        "p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
        summary.requests, e.status, e.connect, e.read, e.write, e.timeout, summary.duration,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
