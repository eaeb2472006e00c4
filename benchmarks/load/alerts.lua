-- wrk script: every request a distinct standard alert stamped with the current time (so none is stale and
-- none is a duplicate), round-robin over a few tickers; done() prints one JSON line for the bench to read.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local passphrase = os.getenv("BENCH_PASSPHRASE") or "pw"
local run = os.getenv("BENCH_RUN") or "r"
local tickers = {"AAPL", "MSFT", "IBM", "GOOG"}
local counter = 0

request = function()
  counter = counter + 1
  local ticker = tickers[(counter % #tickers) + 1]
  local body = string.format(
    '{"passphrase":"%s","signal":"BUY","ticker":"%s","entryPrice":"150.25","stopLoss":"147.25",' ..
    '"riskAmount":"%d","timestamp":"%s","strategy":"bench-%s-%d","timeframe":"1D"}',
    passphrase, ticker, 50 + (counter % 1000), os.date("!%Y-%m-%dT%H:%M:%SZ"), run, counter)
  return wrk.format(nil, nil, nil, body)
end

done = function(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non2xx": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"timeouts": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, non2xx, summary.errors.connect, summary.errors.read,
    summary.errors.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
