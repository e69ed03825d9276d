#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_http.sh - `qshm stat --listen`: serves GET /metrics (and HEAD) on
# loopback, refuses other addresses unless --allow-remote, answers bad
# requests with 4xx, outlives a client that sends nothing, handles several
# scrapes in a row and concurrent ones, picks up a ring created after it
# started, and stops cleanly on SIGTERM, --max-requests and --duration.
. "$(dirname "$0")/common.sh"

R="$P-http"
bg "$T/prod" "$RINGCTL" produce "$R" --records 7 --len 50 --user 0=4096
PROD=$BG
wait_for "$T/prod" '^ready'

bg "$T/srv" "$QSHM" stat --listen 127.0.0.1:0 --interval 0.2 "$R" "$P-late"
SRV=$BG
wait_for "$T/srv" '^listening on http://127\.0\.0\.1:[0-9]+/metrics$'
URL=$(sed -n 's/^listening on //p' "$T/srv")
PORT=$(echo "$URL" | sed 's/.*:\([0-9]*\)\/metrics/\1/')

# A tiny HTTP client: METHOD PATH [RAW] -> prints status, headers, body.
http() {
	timeout 20 "$PY" - "$PORT" "$@" <<'PYEOF'
import socket, sys
port, method, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
raw = sys.argv[4].encode().decode("unicode_escape").encode("latin-1") if len(sys.argv) > 4 else None
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(raw if raw is not None else
          ("%s %s HTTP/1.1\r\nHost: x\r\n\r\n" % (method, path)).encode())
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
sys.stdout.write(data.decode("utf-8", "replace"))
PYEOF
}

http GET /metrics >"$T/m1"
expect_grep "^HTTP/1\\.1 200 OK" "$T/m1"
expect_grep "^Content-Type: text/plain; version=0\\.0\\.4; charset=utf-8" "$T/m1"
expect_grep "^qshm_records_total\\{ring=\"$R\"\\} 7" "$T/m1"
expect_grep "^qshm_payload_bytes_total\\{ring=\"$R\"\\} 350" "$T/m1"
expect_grep "^qshm_producer_allocated_bytes\\{ring=\"$R\"\\} 4096" "$T/m1"
expect_grep "^qshm_up\\{ring=\"$P-late\"\\} 0" "$T/m1"
expect_grep "^qshm_ring_state\\{ring=\"$P-late\",state=\"absent\"\\} 1" "$T/m1"
expect_grep "^qshm_exporter_scrapes_total 1" "$T/m1"
if command -v promtool >/dev/null; then
	sed '1,/^\r\?$/d' "$T/m1" | tr -d '\r' >"$T/m1.body"
	promtool check metrics <"$T/m1.body" || fail "promtool rejects /metrics"
fi
ok "GET /metrics: 200, exposition format, the ring's numbers, absent ring up=0"

http HEAD /metrics >"$T/h"
expect_grep "^HTTP/1\\.1 200 OK" "$T/h"
expect_grep "^Content-Length: [1-9][0-9]*" "$T/h"
grep -q '^qshm_' "$T/h" && fail "HEAD returned a body"
http GET '/metrics?x=1' >"$T/q"
expect_grep "^HTTP/1\\.1 200 OK" "$T/q"
http GET / >"$T/root"
expect_grep "^HTTP/1\\.1 200 OK" "$T/root"
expect_grep 'href="/metrics"' "$T/root"
http GET /nope >"$T/404"
expect_grep "^HTTP/1\\.1 404 Not Found" "$T/404"
http POST /metrics >"$T/405"
expect_grep "^HTTP/1\\.1 405 Method Not Allowed" "$T/405"
expect_grep "^Allow: GET, HEAD" "$T/405"
http X X 'garbage\r\n\r\n' >"$T/400"
expect_grep "^HTTP/1\\.1 400 Bad Request" "$T/400"
http X X 'GET /metrics HTTP/2.0\r\n\r\n' >"$T/505"
expect_grep "^HTTP/1\\.1 505" "$T/505"
http X X "GET /metrics HTTP/1.1\\r\\nX: $(head -c 9000 /dev/zero | tr '\0' a)\\r\\n\\r\\n" >"$T/431"
expect_grep "^HTTP/1\\.1 431" "$T/431"
ok "HEAD, query strings, /, 404, 405, 400, 505, 431"

# A client that connects and sends nothing holds the server for at most
# its deadline (2 s); a scrape behind it is answered.
timeout 20 "$PY" - "$PORT" <<'PYEOF' || fail "a silent client blocked the server"
import socket, sys, time, threading, urllib.request
port = int(sys.argv[1])
silent = socket.create_connection(("127.0.0.1", port))
time.sleep(0.1)
t0 = time.time()
body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read()
assert b"qshm_records_total" in body
assert time.time() - t0 < 5, time.time() - t0
# Eight concurrent scrapes: all answered, one after the other.
res = []
def scrape():
    res.append(urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=15).status)
th = [threading.Thread(target=scrape) for _ in range(8)]
[t.start() for t in th]
[t.join() for t in th]
assert res == [200] * 8, res
silent.close()
PYEOF
ok "a silent client delays, never blocks, the next scrape; concurrent scrapes all answered"

# A ring named on the command line that appears later is picked up.
bg "$T/late" "$RINGCTL" produce "$P-late" --records 3 --len 10
wait_for "$T/late" '^ready'
http GET /metrics >"$T/m2"
expect_grep "^qshm_up\\{ring=\"$P-late\"\\} 1" "$T/m2"
expect_grep "^qshm_records_total\\{ring=\"$P-late\"\\} 3" "$T/m2"
ok "a ring created after the server started is exported"

kill -TERM "$SRV"
rc=0
timeout 10 tail --pid="$SRV" -f /dev/null || fail "server did not stop on SIGTERM"
wait "$SRV" || rc=$?
[ "$rc" -eq 0 ] || fail "server exited $rc on SIGTERM"
expect_grep "^qshm stat: stopping \\(signal\\) after [0-9]+ responses" "$T/srv.err"
ok "SIGTERM stops the server cleanly (exit 0)"

# --max-requests and --duration.
bg "$T/srv2" "$QSHM" stat --listen localhost:0 --max-requests 2 "$R"
SRV=$BG
wait_for "$T/srv2" '^listening on '
PORT=$(sed -n 's/.*:\([0-9]*\)\/metrics$/\1/p' "$T/srv2")
http GET /metrics >/dev/null
http GET /metrics >/dev/null
timeout 10 tail --pid="$SRV" -f /dev/null || fail "--max-requests 2 did not stop it"
wait "$SRV" || fail "exit status after --max-requests"
expect_grep "max-requests reached" "$T/srv2.err"
expect_rc 0 "$QSHM" stat --listen 127.0.0.1:0 --duration 0.5 "$R"
expect_grep "duration elapsed" "$T/err"
ok "--max-requests and --duration"

# Only loopback unless asked; a port in use is an error.
expect_rc 1 "$QSHM" stat --listen 0.0.0.0:0 --duration 1 "$R"
expect_grep "not a loopback address" "$T/err"
expect_rc 1 "$QSHM" stat --listen '[::]:0' --duration 1 "$R"
expect_grep "not a loopback address" "$T/err"
expect_rc 1 "$QSHM" stat --listen example.org:80 --duration 1 "$R"
expect_grep "not an IP address" "$T/err"
expect_rc 1 "$QSHM" stat --listen 127.0.0.1 --duration 1 "$R"
expect_rc 1 "$QSHM" stat --listen 127.0.0.1:99999 --duration 1 "$R"
bg "$T/srv3" "$QSHM" stat --listen 127.0.0.1:0 --duration 20 "$R"
wait_for "$T/srv3" '^listening on '
USED=$(sed -n 's/^listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/srv3")
expect_rc 1 "$QSHM" stat --listen "127.0.0.1:$USED" --duration 1 "$R"
expect_grep "bind 127\\.0\\.0\\.1:$USED: Address already in use" "$T/err"
ok "non-loopback addresses refused; bad addresses and busy ports are errors"
