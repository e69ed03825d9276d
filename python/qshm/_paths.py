# SPDX-License-Identifier: MIT
"""Where meson installed libqshm (rewritten at install; None in the
source tree)."""
from __future__ import annotations

LIBDIR: str | None = None
