"""The semantics tests reuse the reconcile fixtures (tests/reconcile/fixtures.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "reconcile"))
