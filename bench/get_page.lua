-- wrk: a logged-in GET of one page; the benchmark fills in the session cookie.
wrk.headers["Cookie"] = "__COOKIE__"

function done(summary, latency, requests)
  io.write(string.format('BENCH {"requests": %d, "duration_us": %d, "status_errors": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
