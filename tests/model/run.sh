#!/usr/bin/env bash
# Model checks of the ring protocol with spin (docs/model.md).
#
# Usage: tests/model/run.sh [--list] [CHECK...]
#   no CHECK: run every check; --list: print the check names.
# Each check generates a verifier (spin -a) from one model with some
# switches, compiles it and runs an exhaustive search. The table gives the
# states stored, the search's own time (pan's) and the check's wall time
# (generating and compiling the verifier included). A "pass" check must
# find no error; a "finds" check is a negative check: the protocol variant
# is broken on purpose and the check passes only if spin finds the expected
# counterexample (its trail summary is printed). Exit 0 when every check
# does what it should, 1 otherwise, 77 (skip) when spin is not installed.
# Environment: SPIN, CC (defaults spin, cc), MODEL_KEEP=1 keeps the work
# directories (pan, trails) under $TMPDIR.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SPIN=${SPIN:-spin}
CC=${CC:-cc}

# name | model | switches | expect: pass, or finds:<regex of pan's error>
checks=(
"ring_reliable|ring.pml|-DNR=2 -DLOSSY=0|pass"
"ring_lossy|ring.pml|-DNR=0 -DLOSSY=1|pass"
"ring_mixed|ring.pml|-DNR=1 -DLOSSY=1 -DNREC=4|pass"
"ring_no_pad_mark|ring.pml|-DNR=1 -DLOSSY=1 -DNREC=4 -DNO_PAD_MARK|pass"
"ring_no_mark|ring.pml|-DNR=1 -DLOSSY=0 -DNO_MARK|finds:assertion violated .*rpos\[e\]==pos"
"ring_no_mark_lossy|ring.pml|-DNR=0 -DLOSSY=1 -DNO_MARK|finds:assertion violated .*s!=255"
"ring_no_reserve|ring.pml|-DNR=1 -DLOSSY=0 -DNO_RESERVE|finds:invalid end state"
"register|register.pml|-DNP=7 -DCAP=3|pass"
"register_no_p2|register.pml|-DNO_P2|finds:assertion violated .*top<="
"register_no_r5|register.pml|-DNO_R5|finds:assertion violated .*top<="
"slots|slots.pml||pass"
"slots_two_deaths|slots.pml|-DDEATHS=2 -DEVICT_TRIES=3|pass"
"slots_start_before_gen|slots.pml|-DSTART_BEFORE_GEN -DDEATHS=0|finds:assertion violated .*alive\[((w>>3)&3)\]"
"slots_format1_two_owners|slots.pml|-DFORMAT1_SLOTS -DEVICT_TRIES=0|finds:assertion violated .*owns\[1\]"
"slots_format1_evict_live|slots.pml|-DFORMAT1_SLOTS -DDEATHS=0 -DNO_OWNER_CHECK|finds:assertion violated .*alive\[cur_owner\]"
"wake|wake.pml|-DPARK=3 -DWAKER_TAKES=2 -DV_FIRST -DNO_CLEANUP|pass"
"wake_two_deaths|wake.pml|-DPARK=3 -DWAKER_TAKES=2 -DV_FIRST -DDEATHS=2|pass"
"wake_format2_text|wake.pml|-DPARK=1 -DWAKER_TAKES=1 -DDEATHS=0 -DNC=1|finds:invalid end state"
"wake_flag_then_count|wake.pml|-DPARK=1 -DWAKER_TAKES=2 -DV_FIRST -DDEATHS=0|finds:invalid end state"
"wake_count_then_flag_killed|wake.pml|-DPARK=2 -DWAKER_TAKES=2 -DV_FIRST -DNO_CLEANUP|finds:assertion violated .*sleepers"
"wake_waker_takes_none|wake.pml|-DPARK=3 -DWAKER_TAKES=0 -DV_FIRST -DNO_CLEANUP|finds:assertion violated .*parked"
"wake_format1|wake.pml|-DPARK=0|finds:assertion violated .*sleepers"
"wake_tso|wake.pml|-DPARK=3 -DWAKER_TAKES=2 -DV_FIRST -DNO_CLEANUP -DTSO|pass"
"wake_tso_no_c2_fence|wake.pml|-DPARK=3 -DWAKER_TAKES=2 -DV_FIRST -DNO_CLEANUP -DTSO -DNO_C2_FENCE -DDEATHS=0 -DNC=1|finds:invalid end state"
"wake_demand|wake.pml|-DPARK=3 -DWAKER_TAKES=2 -DV_FIRST -DTSO -DDEMAND -DNREC=2|pass"
"wake_demand_two_deaths|wake.pml|-DPARK=3 -DWAKER_TAKES=2 -DV_FIRST -DTSO -DDEMAND -DDEATHS=2 -DNREC=2|pass"
"wake_demand_three_records|wake.pml|-DPARK=3 -DWAKER_TAKES=2 -DV_FIRST -DTSO -DDEMAND -DDEATHS=0|pass"
"wake_demand_c1d_first|wake.pml|-DPARK=3 -DWAKER_TAKES=2 -DV_FIRST -DTSO -DDEMAND -DC1D_FIRST -DDEATHS=0|finds:invalid end state"
"wake_demand_rearm_no_barrier|wake.pml|-DPARK=3 -DWAKER_TAKES=2 -DV_FIRST -DTSO -DDEMAND -DREARM_NO_BARRIER -DDEATHS=0|finds:invalid end state"
"wake_demand_no_barrier|wake.pml|-DPARK=3 -DWAKER_TAKES=2 -DV_FIRST -DTSO -DDEMAND -DNO_BARRIER -DDEATHS=0 -DNC=1|finds:invalid end state"
"wake_demand_after_barrier|wake.pml|-DPARK=3 -DWAKER_TAKES=2 -DV_FIRST -DTSO -DDEMAND -DDEMAND_AFTER -DDEATHS=0 -DNC=1|finds:invalid end state"
"evict_park|evict_park.pml||pass"
"evict_park_no_recheck|evict_park.pml|-DNO_RECHECK|finds:invalid end state"
"space|space.pml|-DV_FIRST|pass"
"space_format1|space.pml|-DFORMAT1|pass"
"space_tso|space.pml|-DV_FIRST -DTSO -DNEED=3|pass"
"space_demand|space.pml|-DV_FIRST -DTSO -DDEMAND -DNEED=3|pass"
"space_demand_no_barrier|space.pml|-DV_FIRST -DTSO -DDEMAND -DNO_BARRIER|finds:invalid end state"
"space_format2_text|space.pml|-DNC=1|finds:invalid end state"
)

if [ "${1:-}" = --list ]; then
	for c in "${checks[@]}"; do echo "${c%%|*}"; done
	exit 0
fi
if ! command -v "$SPIN" >/dev/null 2>&1; then
	echo "SKIP: spin is not installed (Debian package 'spin'; tools/setup-deps.sh installs it): model checks not run"
	exit 77
fi
if ! command -v "$CC" >/dev/null 2>&1; then
	echo "SKIP: no C compiler ($CC) to build spin's verifiers"
	exit 77
fi

want=("$@")
selected() {
	[ ${#want[@]} -eq 0 ] && return 0
	local w
	for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done
	return 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/qshm-model.XXXXXX")
[ "${MODEL_KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
# Verifier: safety properties (assertions, invalid end states), state
# vectors compressed (COLLAPSE), memory bounded (MEMLIM, MB).
panflags="-O1 -w -DSAFETY -DCOLLAPSE -DMEMLIM=2048"
fail=0 ran=0
printf '%-30s %-6s %-7s %10s %9s %8s\n' check expect result states search_s total_s
for c in "${checks[@]}"; do
	IFS='|' read -r name model defs expect <<<"$c"
	selected "$name" || continue
	ran=$((ran + 1))
	d="$work/$name"
	mkdir -p "$d"
	cp "$here/$model" "$d/"
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086
	if ! (cd "$d" && "$SPIN" -a $defs "$model" >spin.log 2>&1 &&
	      $CC $panflags -o pan pan.c >cc.log 2>&1); then
		echo "$name: could not build the verifier:"
		cat "$d/spin.log" "$d/cc.log" 2>/dev/null | head -20
		fail=1
		continue
	fi
	(cd "$d" && ./pan -m100000 >pan.out 2>&1)
	t1=$(date +%s.%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$d/pan.out" | head -1)
	states=$(awk '/states, stored/ { print $1; exit }' "$d/pan.out")
	search=$(sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p' "$d/pan.out" | head -1)
	if grep -q "max search depth too small\|out of memory\|memory limit" "$d/pan.out"; then
		result=INCOMPLETE
	elif [ "$expect" = pass ]; then
		[ "$errors" = 0 ] && result=ok || result=FAILED
	else
		re=${expect#finds:}
		if [ "${errors:-0}" -ge 1 ] && grep -q "^pan:1: .*" "$d/pan.out" &&
		   grep "^pan:1: " "$d/pan.out" | grep -q -- "$re"; then
			result=found
		else
			result=NOTFOUND
		fi
	fi
	printf '%-30s %-6s %-7s %10s %9s %8s\n' "$name" "${expect%%:*}" "$result" \
		"${states:-?}" "${search:-?}" "$secs"
	case $result in
	ok) ;;
	found)
		# the counterexample: pan's verdict and the model's MSG lines
		grep "^pan:1: " "$d/pan.out" | sed 's/^/    /'
		# shellcheck disable=SC2086
		(cd "$d" && "$SPIN" -t $defs "$model" 2>&1) |
			sed -n 's/^ *MSG: /    trail: /p' | head -40
		;;
	*)
		fail=1
		echo "--- $name: pan output (expected $expect)"
		sed 's/^/    /' "$d/pan.out" | head -40
		;;
	esac
done
if [ "$ran" -eq 0 ]; then
	echo "no such check: ${want[*]} (see --list)"
	exit 1
fi
exit $fail
