-- wrk script: PagerDuty Events API v2 triggers against firebreak's POST /v2/enqueue.
--
-- Parameters come from the environment (wrk reads the script in its main state too, before any
-- thread starts, so they must be known when the file is loaded):
--   FB_ROUTING_KEY  the service's integration key (required)
--   FB_MODE         "distinct": a new dedup key per request (<prefix>-<thread>-<counter>)
--                   "repeat":   the same dedup key on every request
--   FB_PREFIX       dedup key prefix, so that runs against one database do not collide
--   FB_LIMIT        stop each thread after this many 2xx answers (0 = run for -d)
-- done() prints one machine-readable line: "BENCH key=value ...".

local routing_key = os.getenv("FB_ROUTING_KEY") or error("FB_ROUTING_KEY is not set")
local mode = os.getenv("FB_MODE") or "distinct"
local prefix = os.getenv("FB_PREFIX") or "bench"
local limit = tonumber(os.getenv("FB_LIMIT") or "0")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local head = '{"routing_key":"' .. routing_key .. '","event_action":"trigger","dedup_key":"'
local tail = '","payload":{"summary":"bench: disk almost full","source":"bench-host",'
    .. '"severity":"critical"}}'

local thread_count = 0
function setup(thread)
    thread_count = thread_count + 1
    thread:set("id", thread_count)
end

if mode == "repeat" then
    -- A static request: wrk formats it once.
    wrk.body = head .. prefix .. "-repeated" .. tail
elseif mode == "distinct" then
    -- Built by hand rather than with wrk.format, which walks the header table on every call:
    -- the load generator shares the machine with the server, so its CPU time is the server's loss.
    local n = 0
    local start
    function request()
        if not start then
            start = "POST " .. wrk.path .. " HTTP/1.1\r\nHost: " .. wrk.headers["Host"]
                .. "\r\nContent-Type: application/json\r\nContent-Length: "
        end
        n = n + 1
        local body = head .. prefix .. "-" .. id .. "-" .. n .. tail
        return start .. #body .. "\r\n\r\n" .. body
    end
else
    error("FB_MODE must be distinct or repeat")
end

if limit > 0 then
    local ok = 0
    function response(status, headers, body)
        if status >= 200 and status < 300 then
            ok = ok + 1
            if ok >= limit then
                wrk.thread:stop()
            end
        end
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d non2xx=%d connect=%d read=%d write=%d timeout=%d duration_us=%d " ..
        "p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
        summary.requests, e.status, e.connect, e.read, e.write, e.timeout, summary.duration,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
