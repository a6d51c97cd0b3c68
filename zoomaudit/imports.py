"""Offline imports: files downloaded from the Entra and Zoom admin portals -> a snapshot.

Place in the flow: an alternative first step to ``pull`` for teams that cannot grant API
access. The Entra portal's provisioning-log download (JSON or CSV) becomes the
``provisioning_events`` table and Zoom's user export CSV the ``zoom_users`` table, in a
snapshot whose manifest says ``"source": "import"``. Column names are matched leniently
(case, spaces, punctuation and a few synonyms); what cannot be mapped is left NA.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from zoomaudit import __version__, convert, frames
from zoomaudit.errors import ConfigError
from zoomaudit.snapshot import SnapshotWriter


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


#: provisioning_events column -> accepted (normalised) header names, best first
PROVISIONING_COLUMNS = {
    "event_id": ("id", "activityid", "eventid", "logid"),
    "activity_at": ("date", "dateutc", "activitydatetime", "activitydate", "datetime", "time"),
    "job_id": ("jobid",),
    "cycle_id": ("cycleid",),
    "change_id": ("changeid",),
    "action": ("action", "provisioningaction"),
    "status": ("status", "provisioningstatus"),
    "error_code": ("errorcode", "statuscode"),
    "error_reason": ("statusreason", "reason", "errorreason", "errordescription"),
    "error_category": ("errorcategory",),
    "source_id": ("sourceid", "sourceidentityid", "sourceobjectid"),
    "source_display_name": (
        "identity",
        "sourceidentity",
        "sourcedisplayname",
        "sourceidentitydisplayname",
        "sourcename",
    ),
    "source_identity_type": ("sourceidentitytype", "identitytype", "type"),
    "target_id": ("targetid", "targetidentityid", "targetobjectid"),
    "target_display_name": ("targetidentity", "targetdisplayname", "targetidentitydisplayname"),
    "duration_ms": ("durationms", "durationinmilliseconds", "duration"),
}

#: zoom_users column -> accepted header names of Zoom's admin-portal user export
ZOOM_COLUMNS = {
    "zoom_id": ("userid", "id", "zoomid"),
    "email": ("email", "emailaddress"),
    "first_name": ("firstname",),
    "last_name": ("lastname",),
    "display_name": ("displayname", "name"),
    "type": ("usertype", "type", "licensetype", "license"),
    "status": ("status", "userstatus"),
    "dept": ("department", "dept"),
    "role_id": ("roleid", "role"),
    "last_login_time": ("lastlogintime", "lastlogin", "lastsignin"),
    "created_at": ("createdon", "createdat", "datejoined", "created"),
    "user_created_at": ("usercreatedat",),
    "last_client_version": ("lastclientversion", "clientversion"),
}
ZOOM_TYPES = {"basic": 1, "licensed": 2, "onprem": 3, "on-prem": 3, "unassigned": 4, "none": 99}
ZOOM_ROLES = {"owner": "0", "admin": "1", "member": "2"}


def _pick(columns: list[str], wanted: dict[str, tuple[str, ...]]) -> dict[str, str]:
    by_norm = {}
    for col in columns:
        by_norm.setdefault(_norm(col), col)
    out = {}
    for target, names in wanted.items():
        for name in names:
            if name in by_norm and by_norm[name] not in out.values():
                out[target] = by_norm[name]
                break
    return out


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig", errors="replace")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        sep = dialect.delimiter
    except csv.Error:
        sep = ","
    return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)


def _blank_to_na(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.replace({"": None, "-": None})


def _stable_id(row: dict) -> str:
    digest = hashlib.sha256(json.dumps(row, sort_keys=True, default=str).encode())
    return "import-" + digest.hexdigest()[:24]


def provisioning_events_from_file(path: Path | str) -> pd.DataFrame:
    """An Entra portal provisioning-log download (JSON or CSV) -> ``provisioning_events``."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        items = data.get("value", data.get("items", [])) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ConfigError(f"{path.name}: expected a JSON array of provisioning log entries")
        if items and any(k in items[0] for k in ("provisioningStatusInfo", "activityDateTime")):
            return convert.provisioning_events(items)
        frame = pd.DataFrame(items)
    else:
        frame = _read_csv(path)
    frame = _blank_to_na(frame)
    mapping = _pick(list(frame.columns), PROVISIONING_COLUMNS)
    if "activity_at" not in mapping and "action" not in mapping and "status" not in mapping:
        raise ConfigError(
            f"{path.name} does not look like an Entra provisioning log export (no Date, "
            f"Action or Status column; found {', '.join(map(str, frame.columns[:8]))})"
        )
    out = pd.DataFrame({target: frame[col] for target, col in mapping.items()})
    if "event_id" not in out:
        out["event_id"] = [_stable_id(r) for r in frame.to_dict("records")]
    for col in ("action", "status"):
        if col in out:
            out[col] = out[col].map(lambda v: _lower_first(v))
    if "duration_ms" in out:
        out["duration_ms"] = pd.to_numeric(
            out["duration_ms"].astype(str).str.replace(r"[^0-9.]", "", regex=True),
            errors="coerce",
        )
    return frames.conform(out, "provisioning_events")


def _lower_first(value: object) -> object:
    """Portal exports show ``Create``/``Success``; the API sends ``create``/``success``
    (camelCase values such as ``stagedDelete`` keep their inner capitals)."""
    if not isinstance(value, str) or not value:
        return value
    v = value.strip().replace(" ", "")
    return v[:1].lower() + v[1:]


def zoom_users_from_csv(path: Path | str) -> pd.DataFrame:
    """Zoom's admin-portal user export CSV -> ``zoom_users``."""
    path = Path(path)
    frame = _blank_to_na(_read_csv(path))
    mapping = _pick(list(frame.columns), ZOOM_COLUMNS)
    if "email" not in mapping:
        raise ConfigError(
            f"{path.name} does not look like a Zoom user export (no Email column; found "
            f"{', '.join(map(str, frame.columns[:8]))})"
        )
    out = pd.DataFrame({target: frame[col] for target, col in mapping.items()})
    if "type" in out:
        out["type"] = out["type"].map(_zoom_type)
    if "status" in out:
        out["status"] = out["status"].map(lambda v: v.strip().lower() if isinstance(v, str) else v)
    if "role_id" in out:
        out["role_id"] = out["role_id"].map(
            lambda v: ZOOM_ROLES.get(v.strip().lower(), v) if isinstance(v, str) else v
        )
    for col in ("last_login_time", "created_at", "user_created_at"):
        if col in out:
            out[col] = pd.to_datetime(out[col], utc=True, errors="coerce", format="mixed")
    if "display_name" not in out and {"first_name", "last_name"} <= set(out):
        out["display_name"] = (
            out["first_name"].fillna("") + " " + out["last_name"].fillna("")
        ).str.strip()
    return frames.conform(out, "zoom_users")


def _zoom_type(value: object) -> object:
    if not isinstance(value, str):
        return value
    v = value.strip().lower()
    if v.isdigit():
        return int(v)
    return ZOOM_TYPES.get(v.replace(" ", ""), ZOOM_TYPES.get(v))


def detect(path: Path) -> str:
    """``provisioning`` or ``zoom_users``: what kind of export a file is (by its columns)."""
    if path.suffix.lower() == ".json":
        return "provisioning"
    head = _read_csv(path).columns
    names = {_norm(c) for c in head}
    if "email" in names and ({"usertype", "firstname", "lastlogintime"} & names):
        return "zoom_users"
    return "provisioning"


def import_files(paths: list[Path | str], *, out: Path | str, label: str = "import") -> Path:
    """Import portal exports into a new snapshot under ``out``; returns its path.

    Each file is recognised by its columns (provisioning-log JSON/CSV or Zoom user CSV).
    """
    if not paths:
        raise ConfigError("give at least one file to import")
    tables: dict[str, list[pd.DataFrame]] = {}
    files = []
    for p in map(Path, paths):
        if not p.is_file():
            raise ConfigError(f"{p} does not exist")
        kind = detect(p)
        frame = (
            provisioning_events_from_file(p) if kind == "provisioning" else zoom_users_from_csv(p)
        )
        table = "provisioning_events" if kind == "provisioning" else "zoom_users"
        tables.setdefault(table, []).append(frame)
        files.append(
            {
                "name": p.name,
                "table": table,
                "rows": len(frame),
                "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
            }
        )
    with SnapshotWriter(out, label, taken_at=datetime.now(UTC)) as writer:
        counts = {}
        for table, parts in tables.items():
            frame = pd.concat(parts, ignore_index=True)
            writer.table(table, frame)
            counts[table] = {"expected": None, "received": len(frame)}
        return writer.commit(
            {
                "source": "import",
                "kit_version": __version__,
                "files": files,
                "counts": counts,
                "complete": True,
                "unavailable": {
                    t: "not in the imported files" for t in frames.TABLES if t not in tables
                },
            }
        )
