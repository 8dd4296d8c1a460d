-- wrk: Add Credit form POSTs, each for another customer with its own idempotency key.
-- The benchmark fills in the session cookie, CSRF token, customer range and date below.
local cookie = "__COOKIE__"
local csrf = "__CSRF__"
local first_customer = __FIRST__
local per_thread = __PER_THREAD__
local date = "__DATE__"
local run = "__RUN__"
local threads = {}
local counter = 0
thread_number = 0  -- set per thread by setup()

function setup(thread)
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end

function request()
  counter = counter + 1
  local customer = first_customer + thread_number * per_thread + (counter % per_thread)
  local body = "customer=" .. customer .. "&date=" .. date .. "&amount=" .. (5 + counter % 20) .. ".00"
    .. "&reason=goodwill&note=" .. run .. "&auto_apply=on&idempotency_key=" .. run .. "-" .. thread_number .. "-" .. counter
  return wrk.format("POST", "/billing/add-credit/", {
    ["Cookie"] = cookie,
    ["X-CSRFToken"] = csrf,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

function done(summary, latency, requests)
  io.write(string.format('BENCH {"requests": %d, "duration_us": %d, "status_errors": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
