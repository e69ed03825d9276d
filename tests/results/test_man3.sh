#!/bin/sh
# qshm_results(3) documents every function of <qshm/results.h>, groff reads
# it without warnings, and every function has its pointer page.
# Usage: test_man3.sh INCLUDE_DIR MAN3_DIR BUILT_ALIAS_DIR
set -u
inc=$1 man=$2 built=$3
page=$man/qshm_results.3
fail=0
funcs=$(grep -o '^[a-z_0-9 *]*qshm_[a-z_0-9]*(' "$inc/qshm/results.h" |
	grep -o 'qshm_[a-z_0-9]*($' | tr -d '(' | sort -u)
[ -n "$funcs" ] || { echo "no functions found in results.h"; exit 1; }
for f in $funcs; do
	grep -q "$f(" "$page" || { echo "FAIL: $page lacks $f()"; fail=1; }
	[ -f "$built/$f.3" ] || { echo "FAIL: no page $f.3"; fail=1; }
done
if command -v groff >/dev/null 2>&1; then
	warn=$(groff -man -Tutf8 -ww "$page" 2>&1 >/dev/null)
	[ -z "$warn" ] || { echo "FAIL: groff: $warn"; fail=1; }
fi
[ $fail = 0 ] && echo "ok: $(echo "$funcs" | wc -l) functions documented"
exit $fail
