"""The package's public surface and the one-way layering of its modules."""

from __future__ import annotations

import ast
from pathlib import Path

import zoomaudit

PACKAGE = Path(zoomaudit.__file__).parent
#: analysis modules must never reach the network
PURE = (
    "frames",
    "scope",
    "mapping",
    "matching",
    "expressions",
    "reconcile",
    "licences",
    "readiness",
    "rollout",
    "provlogs",
    "exclusions",
    "trends",
    "explain",
)
NETWORK = (
    "httpx",
    "zoomaudit.sources",
    "msgraph",
    "azure",
    "requests",
    "aiohttp",
    "urllib3",
    "zoomaudit.apply",
    "zoomaudit.pull",
    "zoomaudit.auth",
)


def test_all_is_sorted_and_defined():
    assert list(zoomaudit.__all__) == sorted(zoomaudit.__all__, key=str.lower)
    for name in zoomaudit.__all__:
        assert hasattr(zoomaudit, name)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_analysis_modules_never_import_a_network_client():
    checked = 0
    for name in PURE:
        path = PACKAGE / f"{name}.py"
        if not path.exists():
            continue
        checked += 1
        bad = [m for m in _imports(path) if m.startswith(NETWORK)]
        assert not bad, f"zoomaudit/{name}.py imports {bad}: analysis must stay offline"
    assert checked >= 1
