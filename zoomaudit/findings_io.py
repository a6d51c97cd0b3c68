"""Writing findings tables to files: ``.csv``, ``.parquet`` or ``.xlsx`` by suffix.

Place in the flow: output of the analysis areas (reconcile, licences, readiness) and their
CLI commands. Writes atomically (a temporary file renamed into place) so a failed export never
leaves a half-written file; list columns become ``;``-joined text for CSV/Excel, and
timezone-aware times become naive UTC for Excel (which has no time zones).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from zoomaudit.errors import ReportError

SUFFIXES = (".csv", ".parquet", ".xlsx")


def _flatten(df: pd.DataFrame, *, excel: bool) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object:
            if s.map(lambda v: isinstance(v, list | tuple)).any():
                out[col] = s.map(
                    lambda v: ";".join(map(str, v)) if isinstance(v, list | tuple) else v
                )
        if excel and isinstance(s.dtype, pd.DatetimeTZDtype):
            out[col] = s.dt.tz_convert("UTC").dt.tz_localize(None)
        if excel and str(s.dtype) == "category":
            out[col] = s.astype("str")
    return out


def write_findings(df: pd.DataFrame, path: Path | str, *, sheet_name: str = "findings") -> Path:
    """Write a findings DataFrame to ``path``; the suffix picks the format.

    Args:
        df: the findings (any columns).
        path: target file ending in .csv, .parquet or .xlsx (parents are created).
        sheet_name: worksheet name for .xlsx.

    Returns:
        The path written. Raises ReportError for an unknown suffix or a failed write.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ReportError(f"cannot write {path.name}: use a .csv, .parquet or .xlsx file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        if suffix == ".csv":
            _flatten(df, excel=False).to_csv(tmp, index=False, encoding="utf-8")
        elif suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            _flatten(df, excel=True).to_excel(tmp, index=False, sheet_name=sheet_name[:31])
        os.replace(tmp, path)
    except ReportError:
        raise
    except Exception as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ReportError(f"could not write {path}: {type(exc).__name__}: {exc}") from None
    return path
