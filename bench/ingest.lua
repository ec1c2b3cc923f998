-- wrk script for bench/ingest.py: POST /api/v1/alerts with an integration key.
--
-- Environment (set by bench/ingest.py):
--   VIGIL_BENCH_KEY     the generic integration key (sent as Authorization: Bearer KEY)
--   VIGIL_BENCH_MODE    "duplicate": the same dedup_key on every request (one incident)
--                       "new": a unique dedup_key per request (one incident per request)
--   VIGIL_BENCH_PREFIX  dedup keys are PREFIX (duplicate) or PREFIX-<thread>-<n> (new)
--
-- done() prints one machine-readable line: BENCH_RESULT {json}.
-- "sent" counts requests generated, "ok" 2xx answers, "non2xx" other answers; a request still in
-- flight when wrk stops is sent but unanswered (the server may still store it).

local key = os.getenv("VIGIL_BENCH_KEY") or ""
local mode = os.getenv("VIGIL_BENCH_MODE") or "duplicate"
local prefix = os.getenv("VIGIL_BENCH_PREFIX") or "bench"

local threads = {}
local next_id = 1

function setup(thread)
   thread:set("thread_id", next_id)
   table.insert(threads, thread)
   next_id = next_id + 1
end

local static_body

function init(args)
   sent, ok, non2xx = 0, 0, 0
   statuses = {}
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["Authorization"] = "Bearer " .. key
   static_body = string.format(
      '{"summary":"Disk almost full on db-%d","source":"bench","severity":"warning","dedup_key":"%s"}',
      thread_id, prefix)
end

function request()
   sent = sent + 1
   local body = static_body
   if mode == "new" then
      body = string.format(
         '{"summary":"Disk almost full on db-%d","source":"bench","severity":"warning","dedup_key":"%s-%d-%d"}',
         thread_id, prefix, thread_id, sent)
   end
   return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      ok = ok + 1
   else
      non2xx = non2xx + 1
      statuses[status] = (statuses[status] or 0) + 1
   end
end

function done(summary, latency, requests)
   local sent_total, ok_total, non2xx_total = 0, 0, 0
   for _, thread in ipairs(threads) do
      sent_total = sent_total + thread:get("sent")
      ok_total = ok_total + thread:get("ok")
      non2xx_total = non2xx_total + thread:get("non2xx")
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"duration_us":%d,"requests":%d,"bytes":%d,"sent":%d,"ok":%d,"non2xx":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
      summary.duration, summary.requests, summary.bytes, sent_total, ok_total, non2xx_total,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      latency.mean))
end
