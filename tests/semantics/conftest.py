"""The semantics tests reuse the reconcile and readiness fixtures of their own test folders."""

import sys
from pathlib import Path

for folder in ("reconcile", "readiness"):
    sys.path.insert(0, str(Path(__file__).parent.parent / folder))
