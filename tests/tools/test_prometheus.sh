#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_prometheus.sh - a real Prometheus server (Debian's `prometheus`,
# run here as a plain process: loopback only, its own config file and a
# temporary data directory) scrapes `qshm stat --listen` every second;
# the ring's numbers come back through Prometheus's HTTP query API, the
# scrape itself is healthy (up == 1), and `promtool check metrics` accepts
# the exposition. Skipped (77) only when prometheus is not installed.
. "$(dirname "$0")/common.sh"

command -v prometheus >/dev/null ||
	skip "prometheus is not installed (apt-get install prometheus)"

R="$P-prom"
bg "$T/prod" "$RINGCTL" produce "$R" --records 42 --len 64 \
	--user 0=123456 --consumers 1
PROD=$BG
bg "$T/cons" "$RINGCTL" consume "$R" --read 40
wait_for "$T/prod" '^ready'
wait_for "$T/cons" '^ready'

# A `qshm serve` control ring too: the service's counters and its latency
# histogram (when this qshm has the simulator).
S="$P-svc"
HAVE_SERVE=0
if "$QSHM" serve --help >/dev/null 2>&1; then
	HAVE_SERVE=1
	bg "$T/serve" "$QSHM" serve "$S" --workers 1
	SERVE=$BG
	wait_for "$T/serve.err" 'serving'
	printf 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n' >"$T/bell.qasm"
	for i in 1 2 3; do
		timeout 30 "$QSHM" submit "$S" "$T/bell.qasm" --shots 100 >/dev/null ||
			fail "qshm submit $i"
	done
	# (a worker counts a job just after its reply: look for up to 30 s)
	for _ in $(seq 600); do
		"$QSHM" stat --interval 0 --prometheus "$S" >"$T/svc.txt" ||
			fail "qshm stat --prometheus on a service"
		grep -q "^qshm_service_job_latency_seconds_count{ring=\"$S\"} 3\$" "$T/svc.txt" && break
		sleep 0.05
	done
	grep -q '^# TYPE qshm_service_job_latency_seconds histogram$' "$T/svc.txt" ||
		fail "no latency histogram: $(cat "$T/svc.txt")"
	grep -q "^qshm_service_job_latency_seconds_count{ring=\"$S\"} 3\$" "$T/svc.txt" ||
		fail "latency count is not 3"
	grep -q "^qshm_service_job_latency_seconds_bucket{ring=\"$S\",le=\"+Inf\"} 3\$" "$T/svc.txt" ||
		fail "+Inf bucket is not 3"
	grep -q "^qshm_service_jobs_done_total{ring=\"$S\"} 3\$" "$T/svc.txt" ||
		fail "done is not 3"
	! grep -q "^qshm_producer_allocated_bytes{ring=\"$S\"}" "$T/svc.txt" ||
		fail "a service's counters exported as a producer's memory"
	if command -v promtool >/dev/null; then
		promtool check metrics <"$T/svc.txt" ||
			fail "promtool check metrics rejects the service's exposition"
	fi
	"$QSHM" stat --interval 0 "$S" >"$T/svc-text.txt"
	grep -q "jobs         3 done, 0 failed" "$T/svc-text.txt" ||
		fail "qshm stat text: $(cat "$T/svc-text.txt")"
	ok "qshm stat on a service: its counters and a latency histogram (text, --prometheus; promtool accepts it)"
	bg "$T/srv" "$QSHM" stat --listen 127.0.0.1:0 --interval 0.5 "$R" "$S"
else
	bg "$T/srv" "$QSHM" stat --listen 127.0.0.1:0 --interval 0.5 "$R"
fi
SRV=$BG
wait_for "$T/srv" '^listening on '
PORT=$(sed -n 's/^listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/srv")

timeout 10 "$PY" - "$PORT" "$T/scrape.txt" <<'PYEOF' || fail "scrape failed"
import sys, urllib.request
body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read()
open(sys.argv[2], "wb").write(body)
PYEOF
if command -v promtool >/dev/null; then
	promtool check metrics <"$T/scrape.txt" || fail "promtool check metrics rejects the exposition"
	ok "promtool check metrics accepts /metrics"
fi

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

cat >"$T/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: qshm
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ['127.0.0.1:$PORT']
YAML
if command -v promtool >/dev/null; then
	promtool check config "$T/prometheus.yml" >/dev/null ||
		fail "promtool rejects the test's prometheus.yml"
fi

# Start Prometheus on a free loopback port (retry if another process
# takes the port between our probe and its bind).
for attempt in 1 2 3; do
	PP=$(free_port)
	mkdir -p "$T/data$attempt"
	bg "$T/prometheus$attempt" prometheus \
		--config.file="$T/prometheus.yml" \
		--storage.tsdb.path="$T/data$attempt" \
		--web.listen-address="127.0.0.1:$PP" \
		--log.level=warn
	PROM=$BG
	started=0
	for _ in $(seq 150); do
		if ! kill -0 "$PROM" 2>/dev/null; then
			break
		fi
		if "$PY" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PP/-/ready', timeout=1)" 2>/dev/null; then
			started=1
			break
		fi
		sleep 0.2
	done
	[ "$started" -eq 1 ] && break
	kill -KILL "$PROM" 2>/dev/null || true
done
[ "$started" -eq 1 ] || fail "prometheus did not start (see $T/prometheus*.err)"
ok "prometheus is up on 127.0.0.1:$PP, scraping 127.0.0.1:$PORT"

# query EXPR WANT: until Prometheus returns WANT for EXPR (30 s).
query() {
	timeout 60 "$PY" - "$PP" "$1" "$2" <<'PYEOF'
import json, sys, time, urllib.parse, urllib.request
port, expr, want = sys.argv[1], sys.argv[2], sys.argv[3]
url = "http://127.0.0.1:%s/api/v1/query?query=%s" % (port, urllib.parse.quote(expr))
last = None
deadline = time.time() + 30
while time.time() < deadline:
    try:
        d = json.load(urllib.request.urlopen(url, timeout=5))
        last = d
        res = d["data"]["result"]
        if d["status"] == "success" and len(res) == 1 and res[0]["value"][1] == want:
            print("%s = %s" % (expr, want))
            sys.exit(0)
    except Exception as e:
        last = repr(e)
    time.sleep(0.5)
sys.exit("%s: wanted %s, last answer: %s" % (expr, want, last))
PYEOF
}

query 'up{job="qshm"}' 1 || fail "Prometheus could not scrape the exporter"
query "qshm_records_total{ring=\"$R\"}" 42 || fail "records through Prometheus"
query "qshm_payload_bytes_total{ring=\"$R\"}" $((42 * 64)) || fail "bytes through Prometheus"
query "qshm_producer_allocated_bytes{ring=\"$R\"}" 123456 || fail "memory through Prometheus"
query "qshm_consumer_records_total{ring=\"$R\",kind=\"reliable\"}" 40 || fail "consumer through Prometheus"
query "qshm_producer_alive{ring=\"$R\"}" 1 || fail "producer liveness through Prometheus"
query "qshm_records_per_second{ring=\"$R\"}" 0 || fail "rate through Prometheus"
ok "Prometheus scraped the ring's numbers: records, bytes, memory, consumer, rate"
if [ "$HAVE_SERVE" -eq 1 ]; then
	query "qshm_service_job_latency_seconds_count{ring=\"$S\"}" 3 ||
		fail "service latency count through Prometheus"
	query "qshm_service_jobs_done_total{ring=\"$S\"}" 3 ||
		fail "service jobs through Prometheus"
	# histogram_quantile only works on a histogram's buckets: a number
	# within the buckets' range comes back.
	query "histogram_quantile(0.5, qshm_service_job_latency_seconds_bucket{ring=\"$S\"}) <= bool 1" 1 ||
		fail "histogram_quantile over the service's latency buckets"
	ok "Prometheus scraped the service: jobs and the latency histogram (histogram_quantile works)"
	kill -TERM "$SERVE"
	wait "$SERVE" || fail "qshm serve did not stop cleanly"
fi

# The producer dies: the next scrapes say so.
kill -KILL "$PROD"
wait "$PROD" 2>/dev/null || true
query "qshm_producer_alive{ring=\"$R\"}" 0 || fail "dead producer through Prometheus"
query "qshm_ring_state{ring=\"$R\",state=\"stale\"}" 1 || fail "stale state through Prometheus"
ok "Prometheus sees the producer die and the ring turn stale"

kill -TERM "$PROM"
timeout 20 tail --pid="$PROM" -f /dev/null || true
kill -TERM "$SRV"
rc=0
wait "$SRV" || rc=$?
[ "$rc" -eq 0 ] || fail "exporter exited $rc"
