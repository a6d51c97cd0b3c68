"""Exclusions: known, accepted findings that are marked (kept and counted), never dropped.

Place in the flow: analysis post-processing. ``reconcile`` and the licence audit call
:func:`apply` on their findings. An exclusion file (YAML or CSV) lists entries with either
``user`` (a UPN, e-mail, Entra object id or Zoom id, compared case-insensitively) or
``pattern`` (a glob such as ``svc-*@contoso.com`` matching the whole value, or ``re:<regex>``
searched anywhere in the value, as Entra's REGEX MATCH does), a ``reason`` and an
optional ``expires`` date (ISO ``YYYY-MM-DD``; the exclusion applies up to and including that
day). Optional ``category`` limits the entry to one finding category.

YAML::

    exclusions:
      - user: room-1@contoso.com
        reason: conference room account, provisioned by hand
        expires: 2026-06-30
      - pattern: "svc-*@contoso.com"
        reason: service accounts
CSV: columns ``user,pattern,reason,expires,category``.
"""

from __future__ import annotations

import csv
import fnmatch
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from zoomaudit.errors import ConfigError

#: finding columns an exclusion is compared with (whichever exist)
KEY_COLUMNS = (
    "user_principal_name",
    "entra_id",
    "zoom_id",
    "zoom_user_name",
    "email",
    "expected_user_name",
)


@dataclass(frozen=True)
class Exclusion:
    reason: str
    user: str | None = None
    pattern: str | None = None
    expires: date | None = None
    category: str | None = None
    line: int = 0

    def label(self) -> str:
        return self.user or self.pattern or "?"

    def regex(self) -> re.Pattern:
        if self.user is not None:
            return re.compile(re.escape(self.user.strip()), re.IGNORECASE)
        p = (self.pattern or "").strip()
        if p.startswith("re:"):
            # a regex is a search, like Entra's REGEX MATCH: "re:^svc-" covers svc-x@...
            # (compiled for fullmatch, as the other forms are)
            re.compile(p[3:])  # report an invalid regex on its own
            return re.compile(r".*?(?:" + p[3:] + r").*", re.IGNORECASE | re.DOTALL)
        return re.compile(fnmatch.translate(p), re.IGNORECASE)


@dataclass(frozen=True)
class Exclusions:
    entries: tuple[Exclusion, ...]
    source: str = ""

    def __len__(self) -> int:
        return len(self.entries)

    def as_frame(self) -> pd.DataFrame:
        return pd.DataFrame([e.__dict__ for e in self.entries])


def _parse_date(value, where: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(f"{where}: expires {value!r} is not a date (YYYY-MM-DD)") from None


def _entry(raw: dict, where: str, line: int) -> Exclusion:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: each exclusion must be a mapping with user/pattern + reason")
    user = (str(raw.get("user") or "").strip()) or None
    pattern = (str(raw.get("pattern") or "").strip()) or None
    reason = str(raw.get("reason") or "").strip()
    if (user is None) == (pattern is None):
        raise ConfigError(f"{where}: give exactly one of 'user' or 'pattern'")
    if not reason:
        raise ConfigError(f"{where}: a reason is required for {user or pattern!r}")
    e = Exclusion(
        reason=reason,
        user=user,
        pattern=pattern,
        expires=_parse_date(raw.get("expires") or raw.get("expiry"), where),
        category=(str(raw.get("category") or "").strip() or None),
        line=line,
    )
    try:
        e.regex()
    except re.error as exc:
        raise ConfigError(f"{where}: invalid pattern {pattern!r} ({exc})") from None
    return e


def load(path: Path | str) -> Exclusions:
    """Read an exclusion file (.yaml/.yml or .csv). Bad content raises ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"exclusion file {path} does not exist")
    suffix = path.suffix.lower()
    entries: list[Exclusion] = []
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
        items = doc.get("exclusions", []) if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise ConfigError(f"{path}: expected a list under 'exclusions'")
        for i, raw in enumerate(items, 1):
            entries.append(_entry(raw, f"{path} entry {i}", i))
    elif suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for i, raw in enumerate(csv.DictReader(fh), 2):
                raw = {(k or "").strip().lower(): v for k, v in raw.items()}
                entries.append(_entry(raw, f"{path} line {i}", i))
    else:
        raise ConfigError(f"{path}: exclusion files must be .yaml, .yml or .csv")
    return Exclusions(tuple(entries), source=str(path))


def apply(
    findings: pd.DataFrame, exclusions: Exclusions, today: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mark findings covered by an exclusion that has not expired.

    Returns:
        (findings with ``excluded`` (bool) and ``exclusion_reason`` set, expired report).
        The expired report lists entries past their date: user_or_pattern, reason, expires,
        line, would_match (Int64: findings it would still cover).
    """
    out = findings.copy()
    if "excluded" not in out.columns:
        out["excluded"] = False
    if "exclusion_reason" not in out.columns:
        out["exclusion_reason"] = pd.Series(pd.NA, index=out.index, dtype="str")
    out["excluded"] = out["excluded"].fillna(False).astype(bool)
    cols = [c for c in KEY_COLUMNS if c in out.columns]
    expired_rows = []
    for e in exclusions.entries:
        rx = e.regex()
        hit = pd.Series(False, index=out.index)
        for c in cols:
            hit |= out[c].astype("str").str.fullmatch(rx).fillna(False).astype(bool)
        if e.category is not None and "category" in out.columns:
            hit &= out["category"] == e.category
        if e.expires is not None and e.expires < today:
            expired_rows.append(
                {"user_or_pattern": e.label(), "reason": e.reason, "expires": e.expires,
                 "line": e.line, "would_match": int(hit.sum())}
            )  # fmt: skip
            continue
        new = hit & ~out["excluded"]
        out.loc[new, "excluded"] = True
        out.loc[new, "exclusion_reason"] = e.reason
    expired = pd.DataFrame(
        expired_rows, columns=["user_or_pattern", "reason", "expires", "line", "would_match"]
    )
    expired["would_match"] = expired["would_match"].astype("Int64")
    return out, expired
