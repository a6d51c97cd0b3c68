"""The write journal of ``rollout apply`` / ``rollout rollback``: append-only JSON lines.

Place in the flow: ``rollout.plan`` (pure) -> ``apply`` (the only writer) -> **journal** <-
``rollout.status`` / a later ``apply`` (resume) / ``rollback``. Every state-changing request is
written ahead (``intent``) and then with its outcome, one JSON object per line, flushed and
fsync'ed before the next request goes out, so a crash, a 500 or an expired token leaves a file
from which the wave can be resumed or rolled back with nothing lost.

Line format (keys sorted; ``seq`` counts from 1 in each file)::

    {"seq": 7, "time": "2026-01-15T12:00:03Z", "run_id": "3f2a...", "kind": "assign",
     "status": "created", "plan_hash": "sha256:...", "wave": 2, "wave_name": "finance",
     "principal_id": "...", "principal_type": "User", "principal_name": "ana@contoso.example",
     "app_role_id": "...", "resource_id": "...", "assignment_id": "...", "http_status": 201,
     "error": null, "ref": 6}

``kind`` is one of ``run`` (start/end of a run), ``baseline`` (assignments of the wave's
principals that already existed when the wave was first applied; never removed by rollback),
``assign``, ``unassign`` and ``provision_on_demand``. ``status`` values: ``intent`` (about to
send), ``created`` / ``deleted`` / ``ok`` (done), ``exists`` (already there, nothing sent, or
Graph answered "already exists"), ``duplicate`` (Graph said it exists but it is not listed yet
and we cannot tell whose it is; an earlier unresolved intent stays open), ``adopted`` (found an
assignment an earlier interrupted run of ours created), ``gone`` (already deleted), ``error``
(the request failed; ``outcome_unknown`` says whether it may nevertheless have taken effect),
``started`` / ``finished`` / ``aborted`` for ``run`` lines. ``ref`` points from an outcome line
to the ``seq`` of its intent. Rollback lines carry ``created_token`` (``run_id:seq`` of the
apply line that created or adopted the assignment), because Graph may reuse assignment ids.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from zoomaudit.errors import ApplyError
from zoomaudit.secrets import scrub

#: kinds of journal lines
KINDS = ("run", "baseline", "assign", "unassign", "provision_on_demand")


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class Journal:
    """An append-only JSONL file. Open with :func:`open_journal`; one writer at a time."""

    path: Path
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    clock: object = None  # callable returning an ISO string (tests); default: wall clock
    _seq: int = 0

    def __post_init__(self) -> None:
        self._seq = sum(1 for _ in read(self.path)) if self.path.exists() else 0

    def append(self, kind: str, status: str, **fields: object) -> dict:
        """Write one line (flushed and fsync'ed) and return it."""
        if kind not in KINDS:
            raise ValueError(f"unknown journal kind {kind!r}")
        self._seq += 1
        line = {
            "seq": self._seq,
            "time": self.clock() if callable(self.clock) else _now(),
            "run_id": self.run_id,
            "kind": kind,
            "status": status,
        }
        for key, value in fields.items():
            line[key] = scrub(value) if isinstance(value, str) else value
        text = json.dumps(line, sort_keys=True, ensure_ascii=False, default=str)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (text + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        return line

    def lines(self) -> list[dict]:
        return list(read(self.path))


@contextmanager
def exclusive(path: Path | str) -> Iterator[None]:
    """Hold ``<journal>.lock`` so two runs never interleave one journal (POSIX ``flock``)."""
    import fcntl

    lock_path = Path(str(path) + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ApplyError(
                f"another run holds {lock_path}; wait for it to finish (or remove the file if "
                "no zoomaudit process is running)"
            ) from None
        yield
    finally:
        os.close(fd)


def open_journal(path: Path | str, *, clock: object = None) -> Journal:
    """Open (or create on first append) the journal at ``path``."""
    return Journal(Path(path), clock=clock)


def read(path: Path | str) -> Iterator[dict]:
    """The journal's lines in order. A torn last line (crash mid-write) is skipped; a damaged
    line elsewhere is an error, since the journal is what a rollback relies on."""
    path = Path(path)
    if not path.exists():
        return
    raw = path.read_text(encoding="utf-8").splitlines()
    for number, text in enumerate(raw, 1):
        if not text.strip():
            continue
        try:
            yield json.loads(text)
        except json.JSONDecodeError as exc:
            if number == len(raw):
                return
            raise ApplyError(f"journal {path} line {number} is not JSON ({exc.msg})") from exc


def default_path(plan_path: Path | str, suffix: str = "journal") -> Path:
    """``<plan>.journal.jsonl`` (or ``<plan>.rollback.journal.jsonl``) beside the plan."""
    plan_path = Path(plan_path)
    stem = plan_path.name[:-5] if plan_path.name.endswith(".json") else plan_path.name
    return plan_path.with_name(f"{stem}.{suffix}.jsonl")


def token(line: dict) -> str:
    """A stable reference to one journal line (``run_id:seq``)."""
    return f"{line.get('run_id')}:{line.get('seq')}"


@dataclass
class WaveLedger:
    """What a wave's journals say about its assignments (derived, never stored).

    Assignment ids can repeat (Graph derives them from the principal), so creations are
    identified by the token of the journal line that recorded them, and a rollback line names
    the token it undid (``created_token``).

    Attributes:
        baseline: assignment ids that existed before the wave's first apply (never ours).
        baseline_taken: a baseline line exists for the wave.
        created: (principal_id, app_role_id) -> (assignment id, token) for assignments our
            runs created or adopted and no rollback has removed yet.
        unresolved: key -> the ``intent`` line of a request whose outcome is unknown (a crash,
            a 5xx or a network error after the request may have reached the service).
        applied: the apply journal has lines for this wave.
    """

    baseline: set[str] = field(default_factory=set)
    baseline_taken: bool = False
    created: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    unresolved: dict[tuple[str, str], dict] = field(default_factory=dict)
    applied: bool = False


def ledger(
    lines: list[dict], wave: int, *, rollback_lines: list[dict] | None = None
) -> WaveLedger:
    """Fold the apply journal (and the rollback journal) of one wave into a :class:`WaveLedger`.

    Keys are ``(principal_id, app_role_id)``.
    """
    out = WaveLedger()
    undone = {
        line.get("created_token")
        for line in rollback_lines or []
        if line.get("wave") == wave
        and line.get("kind") == "unassign"
        and line.get("status") in ("deleted", "gone")
    }
    for line in lines:
        if line.get("wave") != wave:
            continue
        out.applied = True
        kind, status = line.get("kind"), line.get("status")
        if kind == "baseline":
            out.baseline_taken = True
            out.baseline.update(line.get("assignment_ids") or [])
            continue
        if kind != "assign":
            continue
        key = (line.get("principal_id"), line.get("app_role_id"))
        if status == "intent":
            out.unresolved[key] = line
        elif status in ("created", "adopted"):
            out.unresolved.pop(key, None)
            if line.get("assignment_id"):
                out.created[key] = (line["assignment_id"], token(line))
        elif status == "exists":
            out.unresolved.pop(key, None)
        elif status == "error" and not line.get("outcome_unknown"):
            out.unresolved.pop(key, None)
    for key in [k for k, (_, tok) in out.created.items() if tok in undone]:
        out.created.pop(key)
    for key in [k for k, line in out.unresolved.items() if token(line) in undone]:
        out.unresolved.pop(key)
    return out
