-- wrk script for the webhook benchmark: cycles through pre-generated, distinct, signed callbacks.
--
--   wrk -t2 -c16 -d15s --latency -s bench/wrk_callback.lua http://127.0.0.1:PORT/callback -- BODIES THREADS
--
-- BODIES has one callback per line: "<X-WORKS-Signature>\t<X-WORKS-BotId>\t<raw JSON body>".
-- Thread k (0-based) of THREADS takes lines k, k+THREADS, k+2*THREADS..., so no two requests of a
-- run carry the same body unless a thread runs out of lines ("wraps" in the summary > 0).
-- done() prints one line "WRK_JSON {...}" that bench/webhook_bench.py parses.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local path, count = args[1], tonumber(args[2])
  reqs = {}
  sent = 0
  wraps = 0
  local index = 0
  for line in io.lines(path) do
    if index % count == id then
      local sig, bot, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
      reqs[#reqs + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/json; charset=UTF-8",
        ["X-WORKS-BotId"] = bot,
        ["X-WORKS-Signature"] = sig,
      }, body)
    end
    index = index + 1
  end
  position = 0
end

function request()
  position = position + 1
  if position > #reqs then
    position = 1
    wraps = wraps + 1
  end
  sent = sent + 1
  return reqs[position]
end

function done(summary, latency, requests)
  local issued, wrapped = 0, 0
  for _, thread in ipairs(threads) do
    issued = issued + thread:get("sent")
    wrapped = wrapped + thread:get("wraps")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},"issued":%d,"wraps":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    issued, wrapped))
end
