-- wrk script for P3 (bench/serving.py): GET /v1/people/{id}/audiences over random person ids.
--
--   wrk -t2 -c64 -d10s -s bench/lookups.lua http://127.0.0.1:PORT -- IDS_FILE BEARER_TOKEN
--
-- IDS_FILE holds one person identifier per line (the people that are in at least one saved
-- audience, the same people whose memberships Redis holds). With WRK_DELAY_MS set, each
-- connection waits that many milliseconds between a response and its next request (wrk's
-- `delay()` hook): the paced "half load" run. With WRK_PATH set (e.g. /healthz), every request is
-- a GET of that path instead: the control run. done() prints one JSON line with the figures.

local ids = {}
local token = ""

function init(args)
   for line in io.lines(args[1]) do
      if #line > 0 then
         ids[#ids + 1] = line
      end
   end
   token = args[2]
   -- A different sequence per thread: each thread has its own Lua state.
   local seed = tonumber(tostring({}):match("0x(%x+)") or "1", 16) or 1
   math.randomseed(os.time() + seed % 1000003)
end

-- WRK_PATH: request that fixed path instead (bench/serving.py's paced control, GET /healthz).
local fixed_path = os.getenv("WRK_PATH")
if fixed_path == "" then
   fixed_path = nil
end

function request()
   if fixed_path then
      return wrk.format("GET", fixed_path)
   end
   local id = ids[math.random(#ids)]
   return wrk.format("GET", "/v1/people/" .. id .. "/audiences",
      { ["Authorization"] = "Bearer " .. token })
end

local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "")
if delay_ms and delay_ms > 0 then
   function delay()
      return delay_ms
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '{"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,'
         .. '"read_errors":%d,"write_errors":%d,"timeouts":%d,"mean_us":%.1f,"p50_us":%d,'
         .. '"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d}\n',
      summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max))
end
