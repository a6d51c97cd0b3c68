"""Redaction: names and addresses replaced by stable pseudonyms before any analysis runs.

Place in the flow: snapshot -> **redact** -> analysis -> notebooks -> report. ``zoomaudit report
--redact`` writes redacted copies of the snapshot(s) into a private scratch folder and runs the
notebooks on those copies, so no personal value can reach a notebook, an HTML page or a CSV.

Pseudonyms are keyed HMAC-SHA256 (the key comes from ``ZOOMAUDIT_REDACT_KEY`` or the keyring and
is never written anywhere): the same value gets the same pseudonym in every report, so joins
across tables and snapshots still work. What is kept so the analysis stays meaningful:

* e-mail addresses keep their domain (domain checks still work); the local part becomes
  ``u<hex>``; values equal ignoring case and surrounding blanks get the same pseudonym, with the
  original's case pattern (all lower/all upper/mixed) and blanks, so case and whitespace drift
  is still found;
* names are pseudonymised word by word after Unicode NFC normalisation (``John Doe`` ->
  ``Nab12cd Nef34gh``), so a display name built from given name + surname still matches;
* ids (Entra object ids, Zoom ids), departments, job titles, countries and group names are kept.

Free text (error reasons, modified properties, provisioning steps) has every e-mail address and
every known name word replaced. Known gap: a name that occurs only in free text and in no name
column is not recognised.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

import pandas as pd

from zoomaudit import frames
from zoomaudit.errors import ConfigError
from zoomaudit.snapshot import Snapshot, load

_EMAIL = re.compile(r"[A-Za-z0-9._%+'\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_WORD = re.compile(r"\w+", re.UNICODE)

EMAIL, NAME, LOCAL, ID, TEXT, JSON_TEXT, PROXY = (
    "email",
    "name",
    "local",
    "id",
    "text",
    "json",
    "proxy",
)

#: (table, column) -> kind of value
COLUMNS: dict[tuple[str, str], str] = {
    ("entra_users", "user_principal_name"): EMAIL,
    ("entra_users", "mail"): EMAIL,
    ("entra_users", "other_mails"): EMAIL,
    ("entra_users", "proxy_addresses"): PROXY,
    ("entra_users", "display_name"): NAME,
    ("entra_users", "given_name"): NAME,
    ("entra_users", "surname"): NAME,
    ("entra_users", "mail_nickname"): LOCAL,
    ("entra_users", "employee_id"): ID,
    ("entra_assignments", "principal_display_name"): NAME,  # users only, see _row_filter
    ("provisioning_events", "source_display_name"): NAME,
    ("provisioning_events", "target_display_name"): NAME,
    ("provisioning_events", "error_reason"): TEXT,
    ("provisioning_events", "modified_properties"): JSON_TEXT,
    ("provisioning_events", "steps"): JSON_TEXT,
    ("zoom_scim_users", "user_name"): EMAIL,
    ("zoom_scim_users", "work_email"): EMAIL,
    ("zoom_scim_users", "display_name"): NAME,
    ("zoom_scim_users", "given_name"): NAME,
    ("zoom_scim_users", "family_name"): NAME,
    ("zoom_users", "email"): EMAIL,
    ("zoom_users", "first_name"): NAME,
    ("zoom_users", "last_name"): NAME,
    ("zoom_users", "display_name"): NAME,
    ("zoom_activities", "email"): EMAIL,
    ("scoping_filters", "values"): TEXT,
}


def require_key(key: object) -> str:
    """The redaction key as text, or a ConfigError saying how to configure one."""
    value = key.get_secret_value() if hasattr(key, "get_secret_value") else key
    if not value or len(str(value)) < 16:
        raise ConfigError(
            "--redact needs a key of at least 16 characters in ZOOMAUDIT_REDACT_KEY (or the "
            "keyring entry zoomaudit/ZOOMAUDIT_REDACT_KEY); create one with "
            '`python -c "import secrets; print(secrets.token_hex(32))"` and keep it: the '
            "same key gives the same pseudonyms across reports"
        )
    return str(value)


class Pseudonymizer:
    """Stable keyed pseudonyms for e-mail addresses, names, ids and free text."""

    def __init__(self, key: str):
        self._key = key.encode("utf-8")
        self._cache: dict[tuple[str, str], str] = {}
        self.name_words: set[str] = set()

    def digest(self, kind: str, value: str, size: int = 10) -> str:
        """Hex HMAC-SHA256 of ``kind:value`` (value normalised: stripped, lower-cased)."""
        hit = self._cache.get((kind, value))
        if hit is None:
            norm = value.strip().casefold().encode("utf-8")
            hit = hmac.new(self._key, kind.encode() + b":" + norm, hashlib.sha256).hexdigest()
            self._cache[(kind, value)] = hit
        return hit[:size]

    def local(self, value: str) -> str:
        return _like(value, "u" + self.digest("local", value))

    def email(self, value: str) -> str:
        if "@" not in value:
            return self.local(value)
        local, _, domain = value.rpartition("@")
        lead = value[: len(value) - len(value.lstrip())]
        trail = domain[len(domain.rstrip()) :]
        return f"{lead}{self.local(local.strip())}@{domain.strip()}{trail}"

    def word(self, value: str) -> str:
        return _like(value, "N" + self.digest("word", value, 6))

    def name(self, value: str) -> str:
        return self._segments(value, lambda m: self.word(m.group(0)))

    def ident(self, value: str) -> str:
        return "E" + self.digest("id", value, 12)

    def proxy(self, value: str) -> str:
        prefix, sep, address = value.partition(":")
        return f"{prefix}{sep}{self.email(address)}" if sep else self.email(value)

    def text(self, value: str) -> str:
        """Free text with every e-mail address and every known name word replaced."""
        return self._segments(
            value,
            lambda m: (
                self.word(m.group(0)) if m.group(0).casefold() in self.name_words else m.group(0)
            ),
        )

    def _segments(self, value: str, on_word) -> str:
        """Replace e-mail addresses, and words outside them through ``on_word``."""
        out, pos = [], 0
        for match in _EMAIL.finditer(value):
            out.append(_WORD.sub(on_word, value[pos : match.start()]))
            out.append(self.email(match.group(0)))
            pos = match.end()
        out.append(_WORD.sub(on_word, value[pos:]))
        return "".join(out)

    def json_text(self, value: str) -> str:
        try:
            doc = json.loads(value)
        except ValueError:
            return self.text(value)
        return json.dumps(_walk(doc, self.text), ensure_ascii=False)

    def apply(self, kind: str, value: object) -> object:
        if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
            items = value.tolist() if hasattr(value, "tolist") else list(value)
            return [self.apply(kind, v) for v in items]
        if not isinstance(value, str):
            return value
        # NFC first: Zoom may hold the decomposed form of a name Entra holds composed, and the
        # analysis compares names after NFC, so their pseudonyms must be equal too
        value = unicodedata.normalize("NFC", value)
        return {
            EMAIL: self.email,
            NAME: self.name,
            LOCAL: self.local,
            ID: self.ident,
            TEXT: self.text,
            JSON_TEXT: self.json_text,
            PROXY: self.proxy,
        }[kind](value)


def _like(original: str, pseudonym: str) -> str:
    """The pseudonym with the original's surrounding blanks and case pattern."""
    core = original.strip()
    if core and core == core.upper() and core != core.lower():
        pseudonym = pseudonym.upper()
    elif core != core.lower():
        pseudonym = pseudonym[:1].upper() + pseudonym[1:].lower()
    else:
        pseudonym = pseudonym.lower()
    lead = original[: len(original) - len(original.lstrip())]
    trail = original[len(original.rstrip()) :]
    return f"{lead}{pseudonym}{trail}"


def _walk(doc: object, fn) -> object:
    if isinstance(doc, str):
        return fn(doc)
    if isinstance(doc, list):
        return [_walk(v, fn) for v in doc]
    if isinstance(doc, dict):
        return {k: _walk(v, fn) for k, v in doc.items()}
    return doc


def _collect_name_words(snap: Snapshot, pseudo: Pseudonymizer) -> None:
    for (table, column), kind in COLUMNS.items():
        if kind == NAME and snap.has(table):
            values = _row_filter(snap.table(table), table)[column].dropna().unique()
            for value in values:
                value = unicodedata.normalize("NFC", str(value))
                words = _WORD.findall(_EMAIL.sub(" ", value))
                pseudo.name_words.update(
                    w.casefold() for w in words if len(w) >= 2 and not w.isdigit()
                )


def _row_filter(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Rows whose name columns name people (group names stay readable)."""
    if table == "entra_assignments":
        return frame[frame["principal_type"].fillna("User") == "User"]
    if table == "provisioning_events":
        return frame[frame["source_identity_type"].fillna("User") != "Group"]
    return frame


def redact_snapshot(snap: Snapshot, key: str, *, pseudo: Pseudonymizer | None = None) -> Snapshot:
    """A copy of ``snap`` with names and addresses pseudonymised (ids and structure kept)."""
    pseudo = pseudo or Pseudonymizer(require_key(key))
    _collect_name_words(snap, pseudo)
    tables = {}
    for table, frame in snap.tables.items():
        frame = frame.copy()
        people = frame.index.isin(_row_filter(frame, table).index)
        for (t, column), kind in COLUMNS.items():
            if t != table or column not in frame.columns:
                continue
            values = frame[column].tolist()
            frame[column] = pd.Series(
                [pseudo.apply(kind, v) if m else v for v, m in zip(values, people, strict=True)],
                index=frame.index,
                dtype=object,
            )
        tables[table] = frames.conform(frame, table)
    manifest = json.loads(json.dumps(snap.manifest, default=str))
    manifest = _walk(manifest, pseudo.text)
    manifest["redacted"] = True
    return Snapshot(
        id=snap.id, manifest=manifest, tables=tables, path=None, schemas=dict(snap.schemas)
    )


def redact_params(params: dict, key: str) -> dict:
    """Notebook parameters with every e-mail address (e.g. ``explain_user``) pseudonymised."""
    pseudo = Pseudonymizer(require_key(key))
    return {k: pseudo.text(v) if isinstance(v, str) else v for k, v in params.items()}


def write_snapshot(snap: Snapshot, dest: Path) -> Path:
    """Write ``snap`` (manifest, tables, schemas; never raw payloads) as a snapshot folder."""
    from zoomaudit.snapshot import save

    return save(snap, dest)


def redacted_copies(
    snap_path: Path, data_dir: Path, key: str, *, history: int = 12
) -> tuple[Path, Path, Path]:
    """Redacted copies of a snapshot and of up to ``history`` earlier ones (for trends).

    Returns:
        ``(scratch, snapshot_copy, data_dir_copy)``; the caller removes ``scratch``. The scratch
        folder is private (0700) in the system temp folder, never under ``reports/``.
    """
    from zoomaudit.report import snapshot_dirs

    key = require_key(key)
    pseudo = Pseudonymizer(key)
    target = load(snap_path)
    earlier = [
        p
        for p in snapshot_dirs(data_dir)
        if p.resolve() != snap_path.resolve()
        and json.loads((p / "manifest.json").read_text()).get("taken_at", "")
        <= target.manifest.get("taken_at", "")
    ]
    scratch = Path(tempfile.mkdtemp(prefix="zoomaudit-redacted-"))
    scratch.chmod(0o700)
    try:
        out_dir = scratch / "snapshots"
        copy = write_snapshot(
            redact_snapshot(target, key, pseudo=pseudo), out_dir / snap_path.name
        )
        for path in earlier[-history:]:
            try:
                snap = load(path)
            except Exception:  # incomplete or unreadable history is skipped, as trends does
                continue
            write_snapshot(redact_snapshot(snap, key, pseudo=pseudo), out_dir / path.name)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return scratch, copy, out_dir
