#!/usr/bin/env bash
# Runs the Python package's tests with Debian's python3; exit 77 (meson's
# "skipped") with the reason when something they need is missing.
# Usage: run_pytest.sh TESTS_DIR [pytest args...]
dir=$1
shift
PY=/usr/bin/python3
if [ -n "${QSHM_PY_SKIP:-}" ]; then
	echo "SKIP: $QSHM_PY_SKIP"
	exit 77
fi
if [ ! -x "$PY" ]; then
	echo "SKIP: $PY not found: the Python package's tests need Debian's python3"
	exit 77
fi
if ! missing=$("$PY" - <<'PYEOF' 2>&1
import importlib.util, sys
need = ["numpy", "cffi", "pytest", "pytest_asyncio", "hypothesis"]
gone = [m for m in need if importlib.util.find_spec(m) is None]
if gone:
    print(" ".join(gone))
    sys.exit(1)
PYEOF
); then
	echo "SKIP: python3 modules missing: $missing (tools/setup-deps.sh installs them)"
	exit 77
fi
exec "$PY" -m pytest -q -p no:cacheprovider "$dir" "$@"
