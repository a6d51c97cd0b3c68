"""Progress bars on a terminal, silence under papermill/CI, JSON log lines for schedulers."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime

_QUIET = {"value": False}


def configure(*, quiet: bool) -> None:
    _QUIET["value"] = quiet


def enabled() -> bool:
    """Bars only on an interactive terminal, never in CI, papermill or with --quiet/--json."""
    if _QUIET["value"] or os.environ.get("CI") or os.environ.get("PAPERMILL_EXECUTION"):
        return False
    return sys.stderr.isatty()


def bar(total: int | None, desc: str, unit: str = "rows"):
    """A tqdm bar (pages, rows, rate, ETA) or a no-op stand-in."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled(), leave=False)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("source", "table", "rows", "expected", "received", "url", "status"):
            if hasattr(record, key):
                data[key] = getattr(record, key)
        return json.dumps(data, ensure_ascii=False)
