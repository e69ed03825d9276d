#!/bin/bash
# The examples/ programs against live producers (suite 'examples'):
#   1. example-producer -> example-consumer: every record, then closed;
#   2. example-results-consumer on a live `qshm sim --ring` run: the same
#      counts as `qshm sim --counts` with the same seed;
#   3. example-poll over two rings at once;
#   4. the SDK as installed: `meson install --destdir`, then a consumer
#      built outside the tree with `pkg-config --cflags --libs` alone, run
#      against a live `qshm sim`.
# Rings are named te<pid>-..., removed on exit; every step under timeout.
# Usage: test_examples.sh BUILD_DIR SOURCE_DIR
set -u
B=$1 S=$2
QSHM=$B/tools/qshm EX=$B/examples
QASM=$S/tests/qasm/small/bell_n4.qasm
P=te$$
TMP=$(mktemp -d)
pass=0 failed=0
cleanup() {
	jobs -p | xargs -r kill 2>/dev/null
	rm -f /dev/shm/qshm.$P-*
	rm -rf "$TMP"
}
trap cleanup EXIT
ok() { echo "ok: $*"; pass=$((pass + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

# sim --counts output -> "outcome count" lines, sorted as the examples
# print them (by outcome).
counts_lines() {
	python3 -c 'import json,sys
for k, v in json.load(sys.stdin)["counts"].items(): print(k, v)'
}

# 1. producer and consumer
timeout 20 "$EX/example-consumer" $P-pc >"$TMP/c.out" 2>&1 &
cpid=$!
timeout 20 "$EX/example-producer" $P-pc 100 >"$TMP/p.out" 2>&1
prc=$?
wait $cpid
crc=$?
if [ $prc = 0 ] && [ $crc = 0 ] &&
   [ "$(grep -c '^seq .* type 0x4242 len 56$' "$TMP/c.out")" = 100 ] &&
   grep -q '^100 records; QSHM_ECLOSED' "$TMP/c.out"; then
	ok "example-producer -> example-consumer: 100 records, then closed"
else
	fail "producer rc $prc, consumer rc $crc: $(tail -3 "$TMP/c.out")"
fi

# 2. results consumer against qshm sim
want=$(timeout 60 "$QSHM" sim "$QASM" --shots 20000 --seed 11 --counts |
       counts_lines)
timeout 60 "$QSHM" sim "$QASM" --shots 20000 --seed 11 --ring $P-sim \
	--wait-consumers 1 -q 2>"$TMP/sim.err" &
spid=$!
got=$(timeout 60 "$EX/example-results-consumer" $P-sim 2>"$TMP/rc.err")
rrc=$?
wait $spid
src=$?
if [ $rrc = 0 ] && [ $src = 0 ] &&
   [ "$(echo "$got" | grep -v '^run ')" = "$want" ] &&
   echo "$got" | grep -q "joined at shot 0 of 20000; counted 20000; ok"; then
	ok "example-results-consumer == qshm sim --counts (20000 shots)"
else
	fail "results consumer rc $rrc, sim rc $src: $(cat "$TMP/rc.err")"
	echo "$got" | tail -3
fi

# 3. qshm_poll over two rings
timeout 30 "$EX/example-poll" $P-a $P-b >"$TMP/poll.out" 2>&1 &
ppid=$!
timeout 20 "$EX/example-producer" $P-a 50 >/dev/null 2>&1 &
timeout 20 "$EX/example-producer" $P-b 70 >/dev/null 2>&1
wait $ppid
prc=$?
if [ $prc = 77 ] || grep -q ENOSYS "$TMP/poll.out"; then
	echo "skip: qshm_poll needs io_uring futex waits (Linux 6.7)"
elif [ $prc = 0 ] && grep -q "^$P-a: 50 records (QSHM_ECLOSED" "$TMP/poll.out" &&
     grep -q "^$P-b: 70 records (QSHM_ECLOSED" "$TMP/poll.out"; then
	ok "example-poll: both rings read to their close in one thread"
else
	fail "example-poll rc $prc: $(cat "$TMP/poll.out")"
fi

# 5 (before the install). example-service-client: a sweep through a
# `qshm serve`, by its descriptor; <Z0> = cos(theta) at every step.
if [ -x "$EX/example-service-client" ] && "$QSHM" serve --help >/dev/null 2>&1; then
	"$QSHM" serve $P-svc -q &
	svpid=$!
	# its control ring live (not just there), 30 s at most
	for _ in $(seq 600); do
		[[ "$("$QSHM" stat --json -i 0 $P-svc 2>/dev/null)" =~ \"state\":\"live\" ]] && break
		sleep 0.05
	done
	got=$(timeout 60 "$EX/example-service-client" $P-svc 8 2>&1)
	src=$?
	kill -TERM $svpid; wait $svpid
	bad=$(echo "$got" | awk '/^theta/ { if ($4 != $6) print }')
	if [ $src = 0 ] && [ "$(echo "$got" | grep -c '^theta')" = 8 ] && [ -z "$bad" ]; then
		ok "example-service-client: 8 steps of a registered circuit, <Z0> = cos(theta)"
	else
		fail "example-service-client rc $src: $got"
	fi
fi

# 4. the installed SDK, used with pkg-config alone
D=$TMP/destdir
if ! timeout 120 meson install -C "$B" --destdir "$D" --no-rebuild \
	>"$TMP/install.log" 2>&1; then
	fail "meson install --destdir: $(tail -3 "$TMP/install.log")"
else
	pc=$(dirname "$(find "$D" -name qshm-results.pc | head -1)")
	# The installed .pc files first; the system's for liburing.
	export PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$D
	mkdir "$TMP/outside"
	cp "$S/examples/results_consumer.c" "$TMP/outside/"
	flags=$(pkg-config --cflags --libs qshm-results qshm)
	# A sanitized build's libraries need the sanitizer's runtime too.
	san=$(meson introspect "$B" --buildoptions 2>/dev/null | python3 -c \
		'import json, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
v = o.get("b_sanitize", "none")
print("" if v == "none" else "-fsanitize=" + v)' 2>/dev/null)
	if ! (cd "$TMP/outside" && timeout 60 cc -std=c11 -Wall -Wextra \
		-Werror $san -o rc results_consumer.c $flags) >"$TMP/cc.log" 2>&1; then
		fail "building against the installed prefix ($flags): $(cat "$TMP/cc.log")"
	else
		libdir=$(dirname "$(find "$D" -name 'libqshmresults.so' | head -1)")
		timeout 60 "$QSHM" sim "$QASM" --shots 5000 --seed 3 \
			--ring $P-inst --wait-consumers 1 -q 2>/dev/null &
		spid=$!
		got=$(LD_LIBRARY_PATH=$libdir timeout 60 "$TMP/outside/rc" \
		      $P-inst 2>&1)
		rrc=$?
		wait $spid
		want=$(timeout 60 "$QSHM" sim "$QASM" --shots 5000 --seed 3 \
		       --counts | counts_lines)
		used=$(LD_LIBRARY_PATH=$libdir ldd "$TMP/outside/rc" |
		       grep -c "$D")
		if [ $rrc = 0 ] && [ "$used" -ge 1 ] &&
		   [ "$(echo "$got" | grep -v '^run ')" = "$want" ]; then
			ok "a consumer built outside the tree with pkg-config alone counts a live run"
		else
			fail "installed consumer rc $rrc, libs from destdir: $used: $got"
		fi
	fi
	# The service client, with pkg-config qshmclient alone.
	if [ -x "$EX/example-service-client" ]; then
		cp "$S/examples/service_client.c" "$TMP/outside/"
		cflags=$(pkg-config --cflags --libs qshmclient)
		if (cd "$TMP/outside" && timeout 60 cc -std=c11 -Wall -Wextra \
			-Werror $san -o sc service_client.c $cflags -lm) >"$TMP/cc2.log" 2>&1; then
			ok "the service client builds outside the tree with pkg-config qshmclient alone"
		else
			fail "building the service client ($cflags): $(cat "$TMP/cc2.log")"
		fi
	fi
fi

echo "$pass passed, $failed failed"
[ $failed = 0 ]
