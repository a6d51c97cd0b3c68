"""Snapshots: raw payloads + typed tables + manifest, written atomically, never edited.

Layout of one snapshot directory (``<data_dir>/<YYYYMMDDTHHMMSSZ>_<tenant>/``)::

    manifest.json          when, which tenant/account, kit version, queries, counts, complete
    raw/<source>/<name>.jsonl.gz   the pages as received, one JSON document per line
    tables/<table>.parquet the typed tables of ``zoomaudit.frames.TABLES``
    schema/<job>.json      synchronization schema(s) as received (nested; also flattened
                           into the attribute_mappings and scoping_filters tables)

Analysis code only ever sees :class:`Snapshot` objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from zoomaudit import frames
from zoomaudit.errors import SnapshotError


@dataclass
class Snapshot:
    """A loaded snapshot: its manifest and its tables (DataFrames conforming to ``frames``)."""

    id: str
    manifest: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    path: Path | None = None
    schemas: dict[str, dict] = field(default_factory=dict)

    @property
    def taken_at(self) -> datetime:
        value = self.manifest.get("taken_at")
        if not value:
            raise SnapshotError(f"snapshot {self.id} has no taken_at in its manifest")
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)

    @property
    def complete(self) -> bool:
        return bool(self.manifest.get("complete", False))

    def table(self, name: str) -> pd.DataFrame:
        """The named table (an empty, typed frame when the snapshot does not hold it)."""
        if name not in frames.TABLES:
            raise KeyError(f"unknown table {name!r}; see zoomaudit.frames.TABLES")
        if name not in self.tables:
            return frames.empty(name)
        return self.tables[name]

    def has(self, name: str) -> bool:
        return name in self.tables

    @classmethod
    def from_tables(
        cls,
        tables: dict[str, pd.DataFrame | list[dict]],
        *,
        taken_at: datetime | str = "2026-01-15T12:00:00Z",
        id: str = "test",
        manifest: dict | None = None,
        schemas: dict[str, dict] | None = None,
    ) -> Snapshot:
        """Build an in-memory snapshot from plain records (tests, notebooks, offline imports)."""
        if isinstance(taken_at, datetime):
            taken_at = taken_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        conformed = {
            name: frames.conform(
                value if isinstance(value, pd.DataFrame) else pd.DataFrame(value), name
            )
            for name, value in tables.items()
        }
        base = {"taken_at": taken_at, "complete": True, "snapshot_id": id}
        base.update(manifest or {})
        return cls(id=id, manifest=base, tables=conformed, schemas=dict(schemas or {}))


def load(path: Path | str, *, allow_incomplete: bool = False) -> Snapshot:
    """Load a snapshot directory. An incomplete snapshot is refused unless allowed."""
    path = Path(path)
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise SnapshotError(f"{path} is not a snapshot (no manifest.json)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if not manifest.get("complete", False) and not allow_incomplete:
        raise SnapshotError(
            f"snapshot {path.name} is marked incomplete "
            f"({manifest.get('incomplete_reason', '?')});"
            " pass allow_incomplete=True (or --allow-incomplete) to analyse it anyway"
        )
    tables = {}
    for file in sorted((path / "tables").glob("*.parquet")):
        if file.stem in frames.TABLES:
            tables[file.stem] = frames.conform(pd.read_parquet(file), file.stem)
    schemas = {}
    for file in sorted((path / "schema").glob("*.json")):
        schemas[file.stem] = json.loads(file.read_text(encoding="utf-8"))
    return Snapshot(
        id=manifest.get("snapshot_id", path.name),
        manifest=manifest,
        tables=tables,
        path=path,
        schemas=schemas,
    )
