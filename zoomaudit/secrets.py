"""Keeping secrets out of logs, exceptions and files.

``SecretFilter`` is a logging filter that replaces every known secret value (and bearer tokens
in general) with ``***``; ``scrub`` does the same for any text about to be written.
"""

from __future__ import annotations

import logging
import re

_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_BASIC = re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]{8,}")
_KNOWN: set[str] = set()


def register(*values: str | None) -> None:
    """Remember secret values so that ``scrub`` and the log filter hide them."""
    for value in values:
        if value and len(value) >= 4:
            _KNOWN.add(value)


def scrub(text: str) -> str:
    """Return ``text`` with registered secrets and bearer/basic credentials masked."""
    for value in sorted(_KNOWN, key=len, reverse=True):
        if value in text:
            text = text.replace(value, "***")
    text = _BEARER.sub(r"\1***", text)
    return _BASIC.sub(r"\1***", text)


class SecretFilter(logging.Filter):
    """Mask secrets in every record that passes through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
