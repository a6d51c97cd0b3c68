"""Trends: the same findings across all snapshots of a data folder.

Place in the flow: snapshots -> analysis (reconcile, licences) per snapshot -> **trends** ->
the trends notebook. Pure apart from loading snapshots; never talks to a service.

A finding is keyed by ``(key, category)`` where ``key`` is the Entra object id when the finding
has one, else ``zoom:<zoom id>`` (else ``name:<zoom userName>`` for pending invites, which Zoom
returns without an id). Comparing a snapshot with the one before it, a finding is

* ``new``        present now, absent before, never seen in any earlier snapshot;
* ``regressed``  present now, absent in the previous snapshot, but seen in an earlier one;
* ``persisting`` present now and in the previous snapshot;
* ``resolved``   present in the previous snapshot, absent now.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from zoomaudit import snapshot as snapshot_mod
from zoomaudit.errors import ZoomAuditError

log = logging.getLogger(__name__)

STATUSES = ("new", "regressed", "persisting", "resolved")
#: columns carried along to describe each finding in a comparison
DESCRIBE = (
    "source",
    "category",
    "entra_id",
    "user_principal_name",
    "zoom_id",
    "zoom_user_name",
    "detail",
)


@dataclass
class Point:
    """The findings of one snapshot."""

    snapshot_id: str
    taken_at: pd.Timestamp
    findings: pd.DataFrame


def snapshot_findings(snap: snapshot_mod.Snapshot) -> pd.DataFrame:
    """Reconcile (without ``in_sync``) and licence findings of one snapshot, keyed.

    Returns:
        Columns :data:`DESCRIBE` plus ``key`` (see the module docstring); ``source`` is
        ``reconcile`` or ``licences``.
    """
    from zoomaudit import licences, reconcile

    result = reconcile.reconcile(snap)
    parts = [result.findings[result.findings["category"] != "in_sync"].assign(source="reconcile")]
    parts.append(licences.audit(snap, reconcile_result=result).findings.assign(source="licences"))
    return keyed(pd.concat([p.reindex(columns=list(DESCRIBE)) for p in parts], ignore_index=True))


def keyed(findings: pd.DataFrame) -> pd.DataFrame:
    """``findings`` with a ``key`` column (Entra id, else ``zoom:<id>``, else ``name:<userName>``)
    and duplicate ``(key, category)`` rows dropped."""
    out = findings.reindex(columns=list(DESCRIBE)).copy()
    for col in DESCRIBE:
        out[col] = out[col].astype("str")
    key = out["entra_id"]
    key = key.where(key.notna() & (key != ""), "zoom:" + out["zoom_id"])
    key = key.where(key.notna(), "name:" + out["zoom_user_name"].str.lower())
    out["key"] = key.fillna("unknown")
    return out.drop_duplicates(["key", "category"]).reset_index(drop=True)


def history(
    data_dir: Path | str,
    *,
    until: str | Path | None = None,
    limit: int = 12,
    analyse: Callable[[snapshot_mod.Snapshot], pd.DataFrame] = snapshot_findings,
    cache_dir: Path | str | None = "auto",
) -> list[Point]:
    """Findings of the most recent ``limit`` complete snapshots of ``data_dir``, oldest first.

    Args:
        data_dir: the folder of snapshots.
        until: a snapshot folder or id; later snapshots are ignored (default: all).
        limit: at most this many snapshots (the most recent ones).
        analyse: snapshot -> keyed findings (default :func:`snapshot_findings`).
        cache_dir: where the findings of each snapshot are cached (snapshots never change;
            the cache key includes a hash of the kit's code, so a new version recomputes).
            "auto": ``<data_dir>/.trends-cache`` with the default ``analyse``, else no cache;
            None: no cache.
    """
    from zoomaudit.report import data_folder, resolve_snapshot

    root = data_folder(data_dir)
    infos = snapshot_mod.list_snapshots(root)  # manifests read once, oldest first
    if until is not None:
        stop = resolve_snapshot(until, data_dir).resolve()
        names = [i.path.resolve() for i in infos]
        infos = infos[: names.index(stop) + 1] if stop in names else infos
    points = [i for i in infos if i.complete][-limit:]
    if cache_dir == "auto":
        cache_dir = root / ".trends-cache" if analyse is snapshot_findings else None
    out = []
    for info in points:
        path = info.path
        cached = Path(cache_dir) / f"{path.name}-{code_signature()}.parquet" if cache_dir else None
        if cached is not None and cached.is_file() and info.taken_at is not None:
            taken = pd.Timestamp(info.taken_at).tz_convert("UTC")
            out.append(Point(info.id, taken, pd.read_parquet(cached)))
            continue
        try:
            snap = snapshot_mod.load(path)
        except ZoomAuditError as exc:  # unreadable snapshots do not count
            log.warning("trends: skipping %s (%s)", path.name, exc)
            continue
        found = analyse(snap)
        out.append(Point(snap.id, pd.Timestamp(snap.taken_at), found))
        if cached is not None:
            _write_cache(found, cached)
    return out


def _write_cache(found: pd.DataFrame, path: Path) -> None:
    """Best effort: a read-only data folder just means no cache."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        found.to_parquet(tmp, index=False)
        tmp.replace(path)
    except OSError as exc:
        log.info("trends: not caching %s (%s)", path.name, exc)


@functools.cache
def code_signature() -> str:
    """A short hash of the kit's version and source code (invalidates cached findings)."""
    import hashlib

    from zoomaudit import __version__

    digest = hashlib.sha256(__version__.encode())
    for file in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(file.name.encode() + file.read_bytes())
    return digest.hexdigest()[:12]


def compare(
    previous: pd.DataFrame, current: pd.DataFrame, earlier: set[tuple[str, str]] | None = None
) -> pd.DataFrame:
    """Classify findings between two consecutive snapshots (keyed frames, see :func:`keyed`).

    Args:
        previous: findings of the previous snapshot.
        current: findings of the current snapshot.
        earlier: ``(key, category)`` pairs seen in any snapshot before ``previous``.

    Returns:
        One row per finding in either snapshot: ``status`` (:data:`STATUSES`), ``key`` and the
        :data:`DESCRIBE` columns (from the current snapshot, or the previous for resolved).
    """
    earlier = earlier or set()
    prev_keys = set(zip(previous["key"], previous["category"], strict=True))
    cur_keys = set(zip(current["key"], current["category"], strict=True))

    def status(pair: tuple[str, str]) -> str:
        if pair in prev_keys:
            return "persisting"
        return "regressed" if pair in earlier else "new"

    now = current.assign(
        status=[status(p) for p in zip(current["key"], current["category"], strict=True)]
    )
    gone = previous[
        [p not in cur_keys for p in zip(previous["key"], previous["category"], strict=True)]
    ].assign(status="resolved")
    out = pd.concat([now, gone], ignore_index=True)
    out["status"] = pd.Categorical(out["status"], categories=list(STATUSES))
    out = out.sort_values(["status", "category", "key"], kind="stable").reset_index(drop=True)
    return out[["status", "key", *DESCRIBE]]


def changes(points: list[Point]) -> pd.DataFrame:
    """:func:`compare` for every consecutive pair of snapshots.

    Returns:
        The :func:`compare` columns plus ``snapshot_id`` and ``taken_at`` of the later snapshot.
    """
    frames, seen = [], set()
    for before, after in zip(points, points[1:], strict=False):
        diff = compare(before.findings, after.findings, seen)
        frames.append(diff.assign(snapshot_id=after.snapshot_id, taken_at=after.taken_at))
        seen |= set(zip(before.findings["key"], before.findings["category"], strict=True))
    if not frames:
        return pd.DataFrame(columns=["snapshot_id", "taken_at", "status", "key", *DESCRIBE])
    out = pd.concat(frames, ignore_index=True)
    return out[["snapshot_id", "taken_at", "status", "key", *DESCRIBE]]


def latest_changes(points: list[Point]) -> pd.DataFrame:
    """New, regressed and resolved findings of the last snapshot versus the one before it.

    Returns:
        :func:`changes` columns (status, category and the user first), only the last
        snapshot, without ``persisting`` rows.
    """
    diff = changes(points)
    if diff.empty:
        return diff
    last = diff[diff["snapshot_id"] == points[-1].snapshot_id]
    order = [
        "status",
        "category",
        "user_principal_name",
        "zoom_user_name",
        "detail",
        "source",
        "key",
        "entra_id",
        "zoom_id",
        "snapshot_id",
        "taken_at",
    ]
    return last.loc[last["status"] != "persisting", order].reset_index(drop=True)


def counts(points: list[Point]) -> pd.DataFrame:
    """Findings per category in every snapshot (zeros included).

    Returns:
        Columns snapshot_id, taken_at, source, category, count.
    """
    rows = []
    pairs = sorted(
        {
            (s, c)
            for p in points
            for s, c in zip(p.findings["source"], p.findings["category"], strict=True)
        }
    )
    for p in points:
        have = p.findings.groupby(["source", "category"]).size()
        for source, category in pairs:
            rows.append(
                (p.snapshot_id, p.taken_at, source, category, int(have.get((source, category), 0)))
            )
    return pd.DataFrame(rows, columns=["snapshot_id", "taken_at", "source", "category", "count"])


def status_counts(points: list[Point]) -> pd.DataFrame:
    """New/regressed/resolved/persisting per snapshot (from the second snapshot on).

    Returns:
        Columns snapshot_id, taken_at, plus one column per status.
    """
    diff = changes(points)
    if diff.empty:
        return pd.DataFrame(columns=["snapshot_id", "taken_at", *STATUSES])
    table = diff.pivot_table(
        index=["snapshot_id", "taken_at"],
        columns="status",
        values="key",
        aggfunc="count",
        observed=False,
        fill_value=0,
    )
    table = table.reindex(columns=list(STATUSES), fill_value=0).reset_index()
    table.columns.name = None
    return table.sort_values("taken_at").reset_index(drop=True)


def history_table(points: list[Point]) -> pd.DataFrame:
    """The snapshots compared: snapshot_id, taken_at, findings (count)."""
    return pd.DataFrame(
        [(p.snapshot_id, p.taken_at, len(p.findings)) for p in points],
        columns=["snapshot_id", "taken_at", "findings"],
    )


def headlines(points: list[Point], latest: pd.DataFrame) -> dict:
    """Headline numbers: snapshots compared, findings now, new/regressed/resolved since the
    previous snapshot."""
    out = {
        "snapshots compared": len(points),
        "findings now": len(points[-1].findings) if points else 0,
    }
    for status in ("new", "regressed", "resolved"):
        out[status] = int((latest["status"] == status).sum()) if len(latest) else 0
    return out
