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


# ---------------------------------------------------------------------------- writing, listing
TMP_PREFIX = ".tmp-"


def snapshot_name(taken_at: datetime, label: str) -> str:
    """``<UTC YYYYmmddTHHMMSSZ>_<label>`` with the label reduced to safe characters."""
    safe = "".join(c if c.isalnum() or c in "-." else "-" for c in (label or "tenant"))
    safe = safe.strip("-.")[:60] or "tenant"
    return f"{taken_at.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}_{safe}"


class SnapshotWriter:
    """Writes one snapshot into a temporary directory and renames it into place on ``commit``.

    Use as a context manager: leaving the block without ``commit`` (an exception, Ctrl-C)
    removes the temporary directory, so an interrupted pull leaves no half snapshot and never
    touches earlier ones. Files are created 0o600 and directories 0o700 (owner only).
    """

    def __init__(self, data_dir: Path | str, label: str, *, taken_at: datetime | None = None):
        import os
        import secrets as _secrets

        self.data_dir = Path(data_dir)
        self.taken_at = (taken_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        self.name = snapshot_name(self.taken_at, label)
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.tmp = self.data_dir / f"{TMP_PREFIX}{self.name}-{_secrets.token_hex(4)}"
        os.mkdir(self.tmp, 0o700)
        os.chmod(self.tmp, 0o700)
        self._raw: dict[str, tuple] = {}
        self._pool = None
        self._pending: list = []
        self._raw_error: BaseException | None = None
        self._work = None  # threads doing table work for an async caller (see ``offload``)
        self._aborted = False
        self.path: Path | None = None
        self.tables_written: dict[str, int] = {}

    def __enter__(self) -> SnapshotWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if self.path is None:
                self.abort()
            else:
                self.close_raw()
        except Exception:
            if exc_type is None:
                raise

    async def offload(self, fn) -> None:
        """Run ``fn()`` (conversions, table writes) on a writer thread and await it.

        ``abort`` waits for these threads, so nothing is written after the directory is gone.
        """
        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        if self._work is None:
            self._work = ThreadPoolExecutor(max_workers=2, thread_name_prefix="snapshot-work")
        await asyncio.wrap_future(self._work.submit(fn))

    def _dir(self, *parts: str) -> Path:
        import os

        if self._aborted:
            raise SnapshotError("the snapshot being written was abandoned")

        path = self.tmp
        for part in parts:
            path = path / part
            if not path.is_dir():
                try:
                    os.mkdir(path, 0o700)
                except FileExistsError:  # another writer thread made it since the check
                    continue
                os.chmod(path, 0o700)  # whatever the umask
        return path

    def _open(self, path: Path, mode: str = "wb"):
        import os

        if self._aborted:
            raise SnapshotError("the snapshot being written was abandoned")

        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        return os.fdopen(fd, mode)

    def raw(self, source: str, name: str, content: bytes) -> None:
        """Append one page, as received, to ``raw/<source>/<name>.jsonl.gz`` (one per line).

        Compression runs on a single background thread (zlib releases the GIL), in order.
        """
        from concurrent.futures import ThreadPoolExecutor

        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot-raw")
        if self._raw_error is not None:
            raise self._raw_error
        self._pending.append(self._pool.submit(self._write_raw, source, name, content))
        if len(self._pending) > 64:  # bound the memory held by queued pages
            self._pending.pop(0).result()

    def _write_raw(self, source: str, name: str, content: bytes) -> None:
        import orjson

        try:
            key = f"{source}/{name}"
            entry = self._raw.get(key)
            if entry is None:
                file = self._open(self._dir("raw", source) / f"{name}.jsonl.gz")
                entry = (_gzip_writer(file), file)
                self._raw[key] = entry
            if b"\n" in content or b"\r" in content:
                content = orjson.dumps(orjson.loads(content))  # keep one page per line
            entry[0].write(content.strip() + b"\n")
        except BaseException as exc:
            self._raw_error = exc
            raise

    def close_raw(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        pending, self._pending = self._pending, []
        for future in pending:
            if future.exception() is not None and self._raw_error is None:
                self._raw_error = future.exception()
        for handle, file in self._raw.values():
            handle.close()
            file.close()
        self._raw.clear()
        if self._raw_error is not None and self.path is None:
            error, self._raw_error = self._raw_error, None
            raise error

    def table(self, name: str, frame: pd.DataFrame) -> None:
        """Write ``tables/<name>.parquet`` (conformed to the contract first)."""
        if name not in frames.TABLES:
            raise KeyError(f"unknown table {name!r}")
        if not _conforms(frame, name):
            frame = frames.conform(frame, name)
        with self._open(self._dir("tables") / f"{name}.parquet") as fh:
            frame.to_parquet(fh, index=False)
        self.tables_written[name] = len(frame)

    def schema(self, job_id: str, schema: dict) -> None:
        """Write ``schema/<job>.json`` as received (nested)."""
        safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in job_id)
        with self._open(self._dir("schema") / f"{safe}.json") as fh:
            fh.write(json.dumps(schema, indent=1, ensure_ascii=False).encode())

    def commit(self, manifest: dict) -> Path:
        """Write manifest.json and rename the directory into place; returns the final path."""
        import os

        if self._work is not None:
            self._work.shutdown(wait=True)
            self._work = None
        self.close_raw()
        manifest = dict(manifest)
        manifest.setdefault("snapshot_id", self.name)
        manifest.setdefault("taken_at", self.taken_at.isoformat().replace("+00:00", "Z"))
        with self._open(self.tmp / "manifest.json") as fh:
            fh.write(json.dumps(manifest, indent=2, ensure_ascii=False, default=str).encode())
        final = self.data_dir / self.name
        n = 1
        while final.exists():
            n += 1
            final = self.data_dir / f"{self.name}-{n}"
        if final.name != self.name:
            manifest["snapshot_id"] = final.name
            with self._open(self.tmp / "manifest.json") as fh:
                fh.write(json.dumps(manifest, indent=2, ensure_ascii=False, default=str).encode())
        os.rename(self.tmp, final)
        self.path = final
        return final

    def abort(self) -> None:
        import shutil

        self._aborted = True
        if self._work is not None:
            self._work.shutdown(wait=True, cancel_futures=True)
            self._work = None
        try:
            self.close_raw()
        except Exception:  # the directory goes anyway
            self._raw_error = None
        shutil.rmtree(self.tmp, ignore_errors=True)


def _gzip_writer(file):
    """A gzip stream at the fastest level, by Intel ISA-L (``isal``): ~4x zlib's speed on JSON
    pages, plain gzip output any tool reads."""
    from isal import igzip

    return igzip.IGzipFile(fileobj=file, mode="wb", compresslevel=1)


def _conforms(frame: pd.DataFrame, name: str) -> bool:
    """True when ``frame`` already has exactly the contract's columns and dtypes."""
    columns = frames.TABLES[name]
    if list(frame.columns) != [c.name for c in columns]:
        return False
    return all(
        str(frame[c.name].dtype) == str(pd.Series([], dtype=c.dtype).dtype) for c in columns
    )


@dataclass
class SnapshotInfo:
    """One line of ``list_snapshots``: read from the manifest only (tables are not loaded)."""

    id: str
    path: Path
    taken_at: datetime | None
    complete: bool
    source: str
    counts: dict
    incomplete_reason: str | None = None


def list_snapshots(data_dir: Path | str) -> list[SnapshotInfo]:
    """The snapshots under ``data_dir``, oldest first (temporary and foreign dirs skipped)."""
    data_dir = Path(data_dir)
    out: list[SnapshotInfo] = []
    if not data_dir.is_dir():
        return out
    for path in data_dir.iterdir():
        if path.name.startswith(TMP_PREFIX) or not (path / "manifest.json").is_file():
            continue
        try:
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        taken = manifest.get("taken_at")
        try:
            when = datetime.fromisoformat(taken.replace("Z", "+00:00")) if taken else None
        except ValueError:
            when = None
        out.append(
            SnapshotInfo(
                id=manifest.get("snapshot_id", path.name),
                path=path,
                taken_at=when,
                complete=bool(manifest.get("complete", False)),
                source=manifest.get("source", "api"),
                counts=manifest.get("counts", {}),
                incomplete_reason=manifest.get("incomplete_reason"),
            )
        )
    out.sort(key=lambda s: (s.taken_at or datetime.min.replace(tzinfo=UTC), s.path.name))
    return out


def latest(data_dir: Path | str, *, allow_incomplete: bool = False) -> Snapshot:
    """The most recent snapshot under ``data_dir`` (complete ones only unless allowed)."""
    candidates = [s for s in list_snapshots(data_dir) if s.complete or allow_incomplete]
    if not candidates:
        raise SnapshotError(
            f"no {'' if allow_incomplete else 'complete '}snapshot under {data_dir}; "
            "run `zoomaudit pull` first"
        )
    return load(candidates[-1].path, allow_incomplete=allow_incomplete)


def resolve(spec: str | Path, data_dir: Path | str, *, allow_incomplete: bool = False) -> Path:
    """The snapshot directory ``spec`` names: a folder, an id under ``data_dir``, or "latest".

    "latest" is the most recent complete snapshot (any snapshot with ``allow_incomplete``).
    """
    spec = str(spec)
    if spec == "latest":
        found = [s for s in list_snapshots(data_dir) if s.complete or allow_incomplete]
        if not found:
            raise SnapshotError(
                f"no {'' if allow_incomplete else 'complete '}snapshot under {data_dir}; "
                "run `zoomaudit pull` first or name one"
            )
        return found[-1].path
    path = Path(spec).expanduser()
    if (path / "manifest.json").is_file():
        return path
    if (Path(data_dir) / spec / "manifest.json").is_file():
        return Path(data_dir) / spec
    raise SnapshotError(f"snapshot {spec!r} not found (neither a folder nor an id in {data_dir})")


def open_snapshot(
    spec: str | Path, data_dir: Path | str, *, allow_incomplete: bool = False
) -> Snapshot:
    """Load the snapshot ``spec`` names (see :func:`resolve`)."""
    return load(
        resolve(spec, data_dir, allow_incomplete=allow_incomplete),
        allow_incomplete=allow_incomplete,
    )


def save(snap: Snapshot, dest: Path | str) -> Path:
    """Write an in-memory snapshot (manifest, tables, schemas; no raw pages) as a folder.

    For derived snapshots (redacted copies, offline imports, fixtures), not for pulls: a pull
    writes through :class:`SnapshotWriter`, atomically and with its raw payloads.
    """
    dest = Path(dest)
    (dest / "tables").mkdir(parents=True, exist_ok=True)
    for name, frame in snap.tables.items():
        frame.to_parquet(dest / "tables" / f"{name}.parquet", index=False)
    if snap.schemas:
        (dest / "schema").mkdir(exist_ok=True)
        for name, doc in snap.schemas.items():
            (dest / "schema" / f"{name}.json").write_text(json.dumps(doc), encoding="utf-8")
    (dest / "manifest.json").write_text(json.dumps(snap.manifest, indent=1), encoding="utf-8")
    return dest
