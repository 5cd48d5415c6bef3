"""The bench scripts import each other as top-level modules (bench/ is sys.path[0] when one runs): so do the tests."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
