#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_damaged.sh - what is not a usable ring: a corrupt header, a corrupt
# record, another format version, a truncated ring, an object still being
# created (size 0), objects in /dev/shm that are not qshm rings at all, and
# a name that is not a valid ring name. ls names each state; dump and stat
# give a clear error naming the ring (exit 3, or 1 for a corrupt record)
# and never crash; rm removes what cannot belong to a live producer and
# refuses the rest without --force; dump never writes.
. "$(dirname "$0")/common.sh"

# A closed ring whose producer is gone, to damage: 64 consumer slots, so
# the data area starts at 12288.
mkring() {
	"$RINGCTL" produce "$P-$1" --records 4 --hold 0 --keep >/dev/null ||
		fail "ringctl produce $1"
}
mkring hdr
"$RINGCTL" poke "$P-hdr" 32 12345 # capacity: not a power of two
mkring rec
"$RINGCTL" poke "$P-rec" 16384 0xfffffff0 4 # first record's length
mkring ver
"$RINGCTL" poke "$P-ver" 8 1 2 # format major 1, the one before
mkring cut
truncate -s 6000 "/dev/shm/qshm.$P-cut"
"$RINGCTL" junk "$P-junk" 8192
"$RINGCTL" junk "$P-tiny" 100
"$RINGCTL" junk "$P-empty" 0
# Size 0, nobody holds the creator's lock, untouched for longer than the
# 2 s grace: abandoned by a creator that died.
touch -d "@$(( $(date +%s) - 10 ))" "/dev/shm/qshm.$P-empty"
printf 'x' >"/dev/shm/qshm.$P-bad name"

for r in hdr rec ver cut junk tiny empty; do
	cp "/dev/shm/qshm.$P-$r" "$T/seg.$r"
done

# ---- ls ----
expect_rc 0 "$QSHM" ls --json "$P-*"
jcheck "$T/out" \
	"{r['name']: r['state'] for r in d} == {'$P-hdr': 'corrupt', '$P-rec': 'closed', '$P-ver': 'version', '$P-cut': 'corrupt', '$P-junk': 'not-qshm', '$P-tiny': 'not-qshm', '$P-empty': 'stale', '$P-bad name': 'bad-name'}" \
	"[r['format'] for r in d if r['name'] == '$P-ver'] == [{'major': 1, 'minor': 0}]" \
	"[r['size'] for r in d if r['name'] == '$P-junk'] == [8192]"
expect_rc 0 "$QSHM" ls "$P-*"
expect_grep "^$P-junk +not-qshm +8\\.0 KiB " "$T/out"
expect_grep "^$P-bad name +bad-name " "$T/out"
ok "ls: corrupt, version, not-qshm, creating, bad-name"

# ---- dump and stat: clear errors, no crash ----
check_err() { # RING RC PATTERN
	expect_rc "$2" "$QSHM" dump "$P-$1"
	expect_grep "^qshm dump: .*$3" "$T/err"
	expect_grep "'$P-$1'" "$T/err"
	expect_rc "$2" "$QSHM" dump --json "$P-$1"
	if [ "$1" != rec ]; then
		expect_rc "$2" "$QSHM" stat --interval 0 "$P-$1"
		expect_grep "^qshm stat: .*'$P-$1'" "$T/err"
	fi
}
check_err hdr 3 'capacity 12345 not a power of two'
check_err ver 3 "is format 1\.0; this library reads format 3\.x"
check_err cut 3 "truncated|object has 6000"
check_err junk 3 'not a qshm ring'
check_err tiny 3 'too small for a qshm ring'
check_err empty 3 'size 0 and no creator'
# A corrupt record: the header is fine, the report comes out, then the
# bad record is named with its position.
expect_rc 1 "$QSHM" dump "$P-rec"
expect_grep "^  state +closed\$" "$T/out"
expect_grep "^qshm dump: ring '$P-rec': reading records: .*QSHM_ECORRUPT|^qshm dump: ring '$P-rec': reading records: .*(length|len)" "$T/err"
expect_rc 0 "$QSHM" stat --interval 0 "$P-rec"
ok "dump and stat: clear errors naming the ring (exit 3; a bad record: 1)"

for r in hdr rec ver cut junk tiny empty; do
	cmp "/dev/shm/qshm.$P-$r" "$T/seg.$r" || fail "dump or stat wrote to $r"
done
ok "dump and stat never wrote to a damaged segment"

# ---- rm ----
expect_rc 3 "$QSHM" rm "$P-junk"
expect_grep "'$P-junk' \\(/dev/shm/qshm\\.$P-junk\\) is not a qshm ring; not removed" "$T/err"
# An empty object with no creator (one killed before it sized it) is
# stale, and removed without --force.
expect_rc 0 "$QSHM" rm "$P-empty"
[ ! -e "/dev/shm/qshm.$P-empty" ] || fail "half-created ring not removed"
expect_rc 3 "$QSHM" rm "$P-ver"
expect_grep "format 1\\.0" "$T/err"
expect_rc 3 "$QSHM" rm "$P-junk" "$P-hdr"
[ -e "/dev/shm/qshm.$P-junk" ] || fail "refused object removed"
[ ! -e "/dev/shm/qshm.$P-hdr" ] || fail "corrupt ring not removed"
expect_rc 0 "$QSHM" rm "$P-cut" "$P-rec"
expect_rc 0 "$QSHM" rm --force "$P-junk" "$P-ver" "$P-tiny"
expect_rc 0 "$QSHM" ls --json "$P-*"
jcheck "$T/out" "[r['name'] for r in d] == ['$P-bad name']"
expect_rc 2 "$QSHM" rm "$P-bad name"
ok "rm: corrupt and half-created rings removed; foreign, versioned ones need --force"
