"""Phased rollout, pure part: wave configuration -> reviewable plan; plan + snapshot -> status.

Place in the flow: snapshot -> frames -> **rollout** (planning and progress, no network) ->
``zoomaudit.apply`` (the only module that writes, from a plan) -> journal -> next snapshot ->
``rollout.status``. This module never imports httpx or ``zoomaudit.sources``.

Wave configuration (YAML or a dict; see ``examples/waves.yaml``)::

    role: Basic              # app role value assigned by default (Basic, Licensed, ...)
    assign: users            # users (default) | groups: how a wave's members are assigned
    max_users: 500           # default size cap of every wave (the pilot defaults to 50)
    gates:                   # what must hold before the next wave opens
      min_provisioned_pct: 95  # provisioned (active or invited) / assigned members
      max_failed: 0            # provisioning failures allowed in the wave
    waves:
      - name: pilot          # the first wave is the pilot
        groups: ["Zoom Pilot"]           # display names or object ids
        users: ["ana@contoso.example"]   # UPNs or object ids
        departments: ["IT"]              # exact department values (case-insensitive)
        countries: ["DE", "Germany"]     # usageLocation codes or country values
        max_users: 50
        role: Licensed                   # overrides the default role
        assign: users

Assignment mode (the decision the issue asks for):

* ``assign: users`` (default) - every selected user is assigned individually (one
  appRoleAssignment per user). Blocked users are left out, a wave can be capped exactly,
  rollback removes exactly those users, and members reached only through a *nested* group of a
  selected group are included on purpose: a direct assignment is provisioned.
* ``assign: groups`` - the wave's groups themselves are assigned (plus any ``users`` entries
  individually). Entra then provisions **direct members only; members of nested groups will
  NOT be provisioned** (the plan lists them under ``nested_not_provisioned``), and blocked
  members cannot be left out (the plan warns). ``departments``/``countries`` need ``users``.

Users already in provisioning scope (assigned directly, or direct members of an assigned group)
appear with status ``already_assigned`` and cause no write.

Plan file (JSON, sorted keys, 2-space indent, no timestamps except the snapshot's)::

    {"format": "zoomaudit.rollout-plan/1", "hash": "sha256:<hex>",
     "snapshot": {"id", "path", "taken_at"}, "app": {"sp_id", "app_id", "display_name"},
     "config": {...normalised configuration...}, "gates": [{"name", "ok", "detail"}],
     "provisioning": {"job_id", "rule_id", "cycle_minutes"},
     "seats": {"licensed_hosts", "licensed_used", "licensed_available", "basic_users",
               "basic_cap"},
     "waves": [{"number", "name", "pilot", "assign", "role", "app_role_id", "max_users",
                "description", "selectors", "principals": [{"principal_id",
                "principal_type", "display_name", "app_role_id"}], "gates": [{"name", "ok",
                "detail"}], "users": [{"entra_id", "user_principal_name", "display_name",
                "status", "reasons", "warnings", "selected_by", "nested", "seat"}],
                "counts", "seats", "nested_not_provisioned", "notes"}]}

``principals`` is exactly what ``apply`` assigns. A user's ``status`` is ``ready``,
``blocked`` (``reasons``: readiness categories, see ``zoomaudit.readiness.CATEGORIES``, plus
``scoping_filter``) or ``already_assigned``; ``warnings`` hold non-blocking categories
(:data:`WARNING_CATEGORIES`). ``seat`` is ``licensed`` / ``basic`` when the user will take a
new seat of that kind. Wave ``gates`` are readiness's gates for the wave's ready members
(seats, Basic cap, required mappings, job health); ``apply --apply`` refuses a wave with a
failing gate unless ``--ignore-gates``. Seats are also counted cumulatively across waves: a wave
that would exceed the Licensed seats left, or Zoom's 9,999 Basic users, is a plan error.

``hash`` is the sha256 of the canonical JSON of everything else (sorted keys, compact
separators, UTF-8). ``apply`` refuses a plan whose hash does not match.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from zoomaudit import licences, readiness
from zoomaudit.errors import PlanError
from zoomaudit.scope import compute_scope
from zoomaudit.snapshot import Snapshot

PLAN_FORMAT = "zoomaudit.rollout-plan/1"
TOP_KEYS = ("role", "assign", "max_users", "gates", "waves", "description")
WAVE_KEYS = (
    "name",
    "groups",
    "users",
    "departments",
    "countries",
    "max_users",
    "role",
    "assign",
    "description",
)
GATE_KEYS = ("min_provisioned_pct", "max_failed")
ASSIGN_MODES = ("users", "groups")
PILOT_MAX_DEFAULT = 50
WAVE_MAX_DEFAULT = 5000
BASIC_CAP = (
    licences.BASIC_USER_CAP
)  # "Zoom only allows a maximum of 9,999 basic users" (Entra connector)
LICENSED_ROLES = frozenset({"licensed", "pro", "corp", "on-prem", "onprem", "on prem"})
BASIC_ROLES = frozenset({"basic"})
DEFAULT_CYCLE_MINUTES = 40
ALREADY = "already_assigned"


# ---------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class WaveConfig:
    name: str
    groups: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    max_users: int = WAVE_MAX_DEFAULT
    role: str = "Basic"
    assign: str = "users"
    description: str | None = None


@dataclass(frozen=True)
class RolloutConfig:
    role: str
    waves: tuple[WaveConfig, ...]
    min_provisioned_pct: float = 95.0
    max_failed: int = 0
    description: str | None = None

    def as_dict(self) -> dict:
        return {
            "role": self.role,
            "description": self.description,
            "gates": {
                "min_provisioned_pct": self.min_provisioned_pct,
                "max_failed": self.max_failed,
            },
            "waves": [
                {k: (list(v) if isinstance(v, tuple) else v) for k, v in w.__dict__.items()}
                for w in self.waves
            ],
        }


def load_config(source: Path | str | dict) -> RolloutConfig:
    """Parse a wave configuration (a YAML file path or an already-parsed dict).

    Raises:
        PlanError: unknown key (naming it and the wave), wrong type, duplicate wave name.
    """
    if isinstance(source, dict):
        raw, where = source, "configuration"
    else:
        import yaml

        path = Path(source)
        if not path.is_file():
            raise PlanError(f"wave configuration {path} does not exist")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise PlanError(f"wave configuration {path} is not valid YAML: {exc}") from None
        where = str(path)
    if not isinstance(raw, dict):
        raise PlanError(f"{where}: expected a mapping with 'waves', got {type(raw).__name__}")
    _unknown(raw, TOP_KEYS, "the top level")
    role = _text(raw.get("role", "Basic"), "role", "the top level")
    assign = raw.get("assign", "users")
    default_max = _int(raw.get("max_users", WAVE_MAX_DEFAULT), "max_users", "the top level")
    gates = raw.get("gates") or {}
    if not isinstance(gates, dict):
        raise PlanError("'gates' must be a mapping of " + ", ".join(GATE_KEYS))
    _unknown(gates, GATE_KEYS, "gates")
    waves_raw = raw.get("waves")
    if not isinstance(waves_raw, list) or not waves_raw:
        raise PlanError(f"{where}: 'waves' must be a non-empty list")
    waves, seen = [], set()
    for index, item in enumerate(waves_raw, 1):
        label = f"wave {index}"
        if not isinstance(item, dict):
            raise PlanError(f"{label}: expected a mapping, got {type(item).__name__}")
        name = _text(item.get("name", f"wave{index}"), "name", label)
        label = f"wave {index} ({name!r})"
        _unknown(item, WAVE_KEYS, label)
        if name.casefold() in seen:
            raise PlanError(f"{label}: duplicate wave name")
        if name.isdigit():
            raise PlanError(f"{label}: a wave name cannot be a number (--wave takes numbers)")
        seen.add(name.casefold())
        mode = item.get("assign", assign)
        if mode not in ASSIGN_MODES:
            raise PlanError(
                f"{label}: assign must be one of {', '.join(ASSIGN_MODES)}, got {mode!r}"
            )
        lists = {
            k: _strings(item.get(k), k, label)
            for k in ("groups", "users", "departments", "countries")
        }
        if not any(lists.values()):
            raise PlanError(f"{label}: names no groups, users, departments or countries")
        if mode == "groups" and (lists["departments"] or lists["countries"]):
            raise PlanError(f"{label}: assign: groups cannot select by departments or countries")
        if mode == "groups" and not lists["groups"]:
            raise PlanError(f"{label}: assign: groups needs at least one group")
        cap = PILOT_MAX_DEFAULT if index == 1 and "max_users" not in raw else default_max
        waves.append(
            WaveConfig(
                name=name,
                max_users=_int(item.get("max_users", cap), "max_users", label),
                role=_text(item.get("role", role), "role", label),
                assign=mode,
                description=item.get("description"),
                **lists,
            )
        )
    return RolloutConfig(
        role=role,
        waves=tuple(waves),
        min_provisioned_pct=float(gates.get("min_provisioned_pct", 95.0)),
        max_failed=_int(gates.get("max_failed", 0), "max_failed", "gates", minimum=0),
        description=raw.get("description"),
    )


def _unknown(mapping: dict, allowed: tuple[str, ...], where: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise PlanError(f"unknown key {key!r} in {where}; allowed: {', '.join(allowed)}")


def _text(value: object, key: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PlanError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
    return value.strip()


def _int(value: object, key: str, where: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PlanError(f"{where}: {key!r} must be an integer >= {minimum}, got {value!r}")
    return value


def _strings(value: object, key: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise PlanError(f"{where}: {key!r} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


# ---------------------------------------------------------------------------- planning
def plan(snapshot: Snapshot, config: RolloutConfig | dict | Path | str) -> dict:
    """Build the rollout plan (a JSON-ready dict with its ``hash``) for ``config``.

    Raises:
        PlanError: configuration errors (unknown group/user/department/country/role,
            overlapping waves, a wave over its ``max_users`` or over the seats available).
    """
    if not isinstance(config, RolloutConfig):
        config = load_config(config)
    tenant = _Facts.build(snapshot)
    selections, taken = [], {}
    for number, wave in enumerate(config.waves, 1):
        sel = _select_wave(tenant, wave, number)
        for uid in sorted(sel.picked):
            other = taken.get(uid)
            if other is not None:
                raise PlanError(
                    f"waves {other!r} and {wave.name!r} overlap: {tenant.upn.get(uid) or uid} "
                    "is in both; remove them from one wave"
                )
            taken[uid] = wave.name
        selections.append(sel)
    role_values = {
        uid: sel.role_value
        for sel in selections
        for uid in sel.picked
        if uid not in tenant.in_scope
    }
    reasons, warnings, findings = _readiness(tenant, role_values, selections, config.role)
    waves = []
    seat_state = dict(tenant.seats)
    for number, (wave, sel) in enumerate(zip(config.waves, selections, strict=True), 1):
        entry = _plan_wave(tenant, wave, number, sel, reasons, warnings, findings)
        _consume_seats(entry, seat_state, wave.name)
        waves.append(entry)
    body = {
        "format": PLAN_FORMAT,
        "snapshot": {
            "id": snapshot.id,
            "path": str(snapshot.path) if snapshot.path else None,
            "taken_at": snapshot.manifest.get("taken_at"),
        },
        "app": tenant.app,
        "config": config.as_dict(),
        "gates": tenant.gates,
        "provisioning": tenant.provisioning,
        "seats": tenant.seats,
        "waves": waves,
    }
    body["hash"] = plan_hash(body)
    return body


def canonical(body: dict) -> bytes:
    """The canonical bytes of a plan without its hash (what the hash covers)."""
    data = {k: v for k, v in body.items() if k != "hash"}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def plan_hash(body: dict) -> str:
    return "sha256:" + hashlib.sha256(canonical(body)).hexdigest()


def dumps(body: dict) -> str:
    """The plan as reviewable text: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(body, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write_plan(body: dict, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dumps(body), encoding="utf-8")
    tmp.replace(path)
    return path


def read_plan(path: Path | str, *, verify: bool = True) -> dict:
    """Load a plan file; with ``verify`` its hash must match its content."""
    path = Path(path)
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"plan {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise PlanError(f"plan {path} is not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(body, dict) or body.get("format") != PLAN_FORMAT:
        raise PlanError(f"{path} is not a zoomaudit rollout plan ({PLAN_FORMAT})")
    if verify and body.get("hash") != plan_hash(body):
        raise PlanError(
            f"plan {path} was modified after it was made (hash mismatch); re-run rollout plan"
        )
    return body


def select_wave(body: dict, wave: str | int) -> dict:
    """The wave named ``wave`` or numbered ``wave`` (1-based)."""
    waves = body.get("waves") or []
    text = str(wave).strip()
    if text.isdigit():
        number = int(text)
        if not 1 <= number <= len(waves):
            raise PlanError(f"no wave {number}: the plan has waves 1..{len(waves)}")
        return waves[number - 1]
    for item in waves:
        if item["name"].casefold() == text.casefold():
            return item
    names = ", ".join(w["name"] for w in waves)
    raise PlanError(f"no wave named {text!r}; the plan has: {names}")


# ---------------------------------------------------------------------------- progress
STATES = (
    "provisioned",
    "invited",
    "deactivated",
    "failed",
    "skipped",
    "pending",
    "not_provisioned",
    "not_assigned",
    "blocked",
)


def status_detail(plan_body: dict, snapshot: Snapshot) -> pd.DataFrame:
    """Per wave member, what the snapshot says happened.

    Columns: wave (int), wave_name, entra_id, user_principal_name, plan_status (ready, blocked,
    already_assigned), state (one of :data:`STATES`), reason (provisioning log reason or
    blocking reasons), assigned_at (UTC, NA when not in scope), zoom_id.
    """
    return _detail(plan_body, _Facts.build(snapshot, for_status=True))


def _detail(plan_body: dict, facts: _Facts) -> pd.DataFrame:
    rows = []
    for wave in plan_body.get("waves") or []:
        for user in wave["users"]:
            rows.append(_user_state(facts, wave, user))
    return pd.DataFrame(rows, columns=DETAIL_COLUMNS).astype(DETAIL_DTYPES)


def status(plan_body: dict, snapshot: Snapshot) -> pd.DataFrame:
    """Per wave progress and the gate to open the next wave.

    Columns: wave (int), wave_name, role, members, already_assigned, and one count column per
    state in :data:`STATES`, provisioned_pct (float, of members assigned and not blocked),
    gate_open (bool: the next wave may start), gate (text: why or why not).
    """
    facts = _Facts.build(snapshot, for_status=True)
    return _summarise(plan_body, facts, _detail(plan_body, facts))


def parse_time(text: str) -> datetime:
    """An ISO 8601 time (``Z`` allowed) as an aware UTC datetime."""
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(UTC)


def cycle_minutes(interval: object) -> float:
    """Minutes of an ISO 8601 duration like ``PT40M`` (default 40 when absent or odd)."""
    if not isinstance(interval, str):
        return float(DEFAULT_CYCLE_MINUTES)
    m = re.fullmatch(r"P(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?", interval)
    if not m or not any(m.groups()):
        return float(DEFAULT_CYCLE_MINUTES)
    d, h, mi, s = (float(x) if x else 0.0 for x in m.groups())
    minutes = timedelta(days=d, hours=h, minutes=mi, seconds=s).total_seconds() / 60
    return minutes if 0 < minutes < 24 * 60 else float(DEFAULT_CYCLE_MINUTES)


# ---------------------------------------------------------------------------- snapshot facts
DETAIL_COLUMNS = [
    "wave",
    "wave_name",
    "entra_id",
    "user_principal_name",
    "plan_status",
    "state",
    "reason",
    "assigned_at",
    "zoom_id",
]
DETAIL_DTYPES = {
    "wave": "Int64",
    "wave_name": "str",
    "entra_id": "str",
    "user_principal_name": "str",
    "plan_status": "str",
    "state": "str",
    "reason": "str",
    "assigned_at": "datetime64[us, UTC]",
    "zoom_id": "str",
}


def _key(value: object) -> str:
    return "" if value is None or value is pd.NA or value != value else str(value).casefold()


def _is(value: object, target: bool) -> bool:
    """``value`` is a (nullable) boolean equal to ``target``; NA is neither."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return False
    return bool(value) == target


def _opt(value: object) -> object:
    """A JSON-friendly scalar (NA -> None)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


@dataclass
class _Facts:
    """The snapshot reduced to what planning and status need (built once per call)."""

    snapshot: Snapshot
    users: pd.DataFrame  # entra_users indexed by entra_id
    by_upn: dict[str, str]
    by_id: dict[str, str]  # casefolded object id -> id
    groups: pd.DataFrame  # entra_groups indexed by group_id
    group_names: dict[str, list[str]]
    members: pd.DataFrame
    roles: dict[str, tuple[str, str]]  # value.casefold() -> (app_role_id, value)
    in_scope: dict[str, pd.Timestamp | None]  # user id -> earliest assignment time
    assigned_groups: set[str]
    zoom: dict[str, dict]  # e-mail casefold -> {zoom_id, type, status}
    app: dict
    seats: dict
    provisioning: dict
    gates: list[dict]
    scope: pd.DataFrame  # zoomaudit.scope.compute_scope of the snapshot
    out_of_scope: dict[str, str | None]  # entra_id -> compute_scope's out_of_scope_reason
    upn: dict[str, str | None]  # entra_id -> userPrincipalName
    display: dict[str, str | None]
    mail: dict[str, str | None]

    @classmethod
    def build(cls, snapshot: Snapshot, *, for_status: bool = False) -> _Facts:
        users = snapshot.table("entra_users").drop_duplicates("entra_id").set_index("entra_id")
        by_upn = {}
        for uid, upn in users["user_principal_name"].items():
            if _key(upn):
                by_upn[_key(upn)] = uid
        groups = snapshot.table("entra_groups").drop_duplicates("group_id").set_index("group_id")
        names: dict[str, list[str]] = {}
        for gid, name in groups["display_name"].items():
            names.setdefault(_key(name), []).append(gid)
        app_rows = snapshot.table("entra_app")
        if app_rows.empty and not for_status:
            raise PlanError(
                f"snapshot {snapshot.id} has no Zoom enterprise app (entra_app is empty); "
                "pull with ZOOMAUDIT_APP_ID or ZOOMAUDIT_APP_NAME set"
            )
        app = {"sp_id": None, "app_id": None, "display_name": None}
        if not app_rows.empty:
            first = app_rows.iloc[0]
            app = {k: _opt(first[k]) for k in ("sp_id", "app_id", "display_name")}
        roles = {}
        for row in snapshot.table("entra_app_roles").itertuples():
            if _key(row.value) and not _is(row.is_enabled, False):
                roles[_key(row.value)] = (row.app_role_id, row.value)
        members = snapshot.table("entra_group_members")
        assignments = snapshot.table("entra_assignments")
        assigned_groups = set(
            assignments.loc[assignments["principal_type"] == "Group", "principal_id"].dropna()
        )
        scope = compute_scope(snapshot)
        held = scope[scope["assigned_direct"] | scope["assigned_via_group"]]
        in_scope = {
            uid: (None if pd.isna(when) else when)
            for uid, when in zip(held["entra_id"], held["assigned_at"], strict=True)
        }
        return cls(
            snapshot=snapshot,
            users=users,
            by_upn=by_upn,
            by_id={_key(uid): uid for uid in users.index},
            groups=groups,
            group_names=names,
            members=members,
            roles=roles,
            in_scope=in_scope,
            assigned_groups=assigned_groups,
            scope=scope,
            out_of_scope=_column(scope.set_index("entra_id"), "out_of_scope_reason"),
            upn=_column(users, "user_principal_name"),
            display=_column(users, "display_name"),
            mail=_column(users, "mail"),
            zoom=_zoom_index(snapshot),
            app=app,
            seats=_seats(snapshot),
            provisioning=_provisioning(snapshot),
            gates=[_job_gate(snapshot)],
        )

    def zoom_user(self, entra_id: str) -> dict | None:
        for value in (self.upn.get(entra_id), self.mail.get(entra_id)):
            hit = self.zoom.get(_key(value))
            if hit:
                return hit
        return None


def _column(frame: pd.DataFrame, name: str) -> dict[str, object]:
    values = frame[name].astype(object)
    values = values.where(frame[name].notna(), None)
    return dict(zip(frame.index.tolist(), values.tolist(), strict=True))


def _zoom_index(snapshot: Snapshot) -> dict[str, dict]:
    out: dict[str, dict] = {}
    rest = snapshot.table("zoom_users")
    for row in rest.itertuples():
        if _key(row.email):
            out[_key(row.email)] = {
                "zoom_id": _opt(row.zoom_id),
                "type": _opt(row.type),
                "status": _opt(row.status) or "active",
            }
    if rest.empty:
        for row in snapshot.table("zoom_scim_users").itertuples():
            kind = {"basic": 1, "licensed": 2}.get(_key(row.user_type))
            status = "active" if not _is(row.active, False) else "inactive"
            for email in (row.user_name, row.work_email):
                if _key(email):
                    out.setdefault(
                        _key(email), {"zoom_id": _opt(row.zoom_id), "type": kind, "status": status}
                    )
    return out


def _seats(snapshot: Snapshot) -> dict:
    """Licensed seats of ``plan_base`` (``zoomaudit.licences.seats``) and Basic users now."""
    table = licences.seats(snapshot)
    base = table[table["plan_key"] == "plan_base"]
    cap = licences.basic_cap(snapshot, BASIC_CAP).iloc[0]
    out = {
        "licensed_hosts": None,
        "licensed_used": None,
        "licensed_pending": None,
        "licensed_available": None,
        "basic_users": int(cap["basic_users"]),
        "basic_cap": BASIC_CAP,
    }
    if not base.empty and not pd.isna(base["purchased"].iloc[0]):
        first = base.iloc[0]
        out["licensed_hosts"] = int(first["purchased"])
        out["licensed_used"] = _opt(first["assigned"])
        out["licensed_pending"] = _opt(first["pending"])
        out["licensed_available"] = _opt(first["available"])
    return out


def _provisioning(snapshot: Snapshot) -> dict:
    jobs = snapshot.table("sync_jobs")
    out = {"job_id": None, "rule_id": None, "cycle_minutes": float(DEFAULT_CYCLE_MINUTES)}
    if jobs.empty:
        return out
    job = jobs.iloc[0]
    out["job_id"] = _opt(job["job_id"])
    out["cycle_minutes"] = cycle_minutes(_opt(job["schedule_interval"]))
    schema = snapshot.schemas.get(str(job["job_id"])) or (
        next(iter(snapshot.schemas.values())) if len(snapshot.schemas) == 1 else {}
    )
    for rule in schema.get("synchronizationRules") or []:
        maps = rule.get("objectMappings") or []
        if not maps or any(_key(m.get("sourceObjectName")) == "user" for m in maps):
            out["rule_id"] = rule.get("id")
            break
    return out


def _job_gate(snapshot: Snapshot) -> dict:
    """The provisioning job's health (readiness's gate, reduced to name/ok/detail)."""
    empty = pd.DataFrame({c: pd.Series(dtype="str") for c in readiness.FINDING_COLUMNS})
    rows = _gate_rows(readiness.gates(snapshot, empty))
    return next(g for g in rows if g["name"] == "provisioning_job_healthy")


def _gate_rows(frame: pd.DataFrame) -> list[dict]:
    return [
        {"name": str(r.gate), "ok": bool(r.ok), "detail": str(r.detail)}
        for r in frame.itertuples(index=False)
    ]


#: readiness categories that do not stop a user from being assigned (reported as warnings):
#: an existing Zoom account with the same userName is matched and updated by Entra;
#: nesting does not matter when users are assigned individually (and nested-only members of
#: a group-assigned wave are listed apart, never assigned)
WARNING_CATEGORIES = frozenset({"existing_zoom_account", "nested_group_only"})


def _readiness(
    facts: _Facts, role_values: dict[str, str], selections: list, default_role: str
) -> tuple[dict[str, list[str]], dict[str, list[str]], pd.DataFrame]:
    """(blocking reasons, warnings, findings) for every new member of every wave at once.

    One :func:`zoomaudit.readiness.evaluate` call over all waves (each user simulated with
    its wave's role), so duplicate userNames across waves are caught too. Reasons are
    readiness categories (``zoomaudit.readiness.CATEGORIES``) plus ``scoping_filter`` when the
    job's scoping filter would leave the user out.
    """
    ids = sorted(role_values)
    reasons: dict[str, list[str]] = {uid: [] for uid in ids}
    warnings: dict[str, list[str]] = {uid: [] for uid in ids}
    via = {
        uid: ";".join(sorted(sel.picked[uid]["by"])) for sel in selections for uid in sel.picked
    }
    cands = pd.DataFrame(
        {"entra_id": ids, "via": [via[u] for u in ids], "nested_only": False},
        columns=["entra_id", "via", "nested_only"],
    ).astype({"entra_id": "str", "via": "str", "nested_only": bool})
    findings = readiness.evaluate(
        facts.snapshot, cands, role_values, role=default_role, scope=facts.scope
    )
    for uid, category in zip(findings["entra_id"], findings["category"], strict=True):
        if category == "ready" or uid not in reasons:
            continue
        target = warnings if category in WARNING_CATEGORIES else reasons
        if category not in target[uid]:
            target[uid].append(category)
    passes = dict(zip(facts.scope["entra_id"], facts.scope["passes_filter"], strict=True))
    for uid in ids:
        if uid in passes and not bool(passes[uid]):
            reasons[uid].append("scoping_filter")
    return reasons, warnings, findings


def _wave_gates(facts: _Facts, findings: pd.DataFrame, ready_ids: list[str]) -> list[dict]:
    """readiness's gates for the wave's ready new members."""
    part = findings[findings["entra_id"].isin(ready_ids)]
    part.attrs = dict(findings.attrs)
    return _gate_rows(readiness.gates(facts.snapshot, part))


# ---------------------------------------------------------------------------- one wave
def _resolve_group(facts: _Facts, selector: str, label: str) -> str:
    by_id = {_key(g): g for g in facts.groups.index}
    if _key(selector) in by_id:
        gid = by_id[_key(selector)]
    else:
        hits = facts.group_names.get(_key(selector), [])
        if not hits:
            raise PlanError(
                f"{label}: unknown group {selector!r} (not in the snapshot; pull with "
                f"--candidate-groups {selector!r})"
            )
        if len(hits) > 1:
            raise PlanError(
                f"{label}: group name {selector!r} is ambiguous ({', '.join(sorted(hits))}); "
                "use the group id"
            )
        gid = hits[0]
    row = facts.groups.loc[gid]
    pulled = _is(row["candidate"], True) or _is(row["assigned"], True)
    if not pulled and not (facts.members["group_id"] == gid).any():
        raise PlanError(
            f"{label}: members of group {selector!r} were not pulled; pull with "
            f"--candidate-groups {selector!r}"
        )
    return gid


def _resolve_user(facts: _Facts, selector: str, label: str) -> str:
    if selector in facts.upn:
        return selector
    uid = facts.by_upn.get(_key(selector)) or facts.by_id.get(_key(selector))
    if uid is None:
        raise PlanError(f"{label}: unknown user {selector!r} (no such UPN or id in the snapshot)")
    return uid


def _live(users: pd.DataFrame) -> pd.Series:
    return users["soft_deleted"] != True  # noqa: E712


@dataclass
class _Selection:
    """Who a wave selects, before readiness."""

    app_role_id: str
    role_value: str
    picked: dict[str, dict]  # user id -> {"by": set of selectors, "nested": bool}
    groups: list[str]
    nested_out: dict[str, object]  # group mode: nested-only members (not provisioned)


def _select_wave(facts: _Facts, wave: WaveConfig, number: int) -> _Selection:
    label = f"wave {number} ({wave.name!r})"
    role = facts.roles.get(_key(wave.role))
    if role is None:
        known = ", ".join(sorted(v for _, v in facts.roles.values())) or "none"
        raise PlanError(f"{label}: unknown app role {wave.role!r}; the Zoom app has: {known}")
    app_role_id, role_value = role
    picked: dict[str, dict] = {}  # user id -> {"by": set, "nested": bool}

    def pick(uid: str, by: str, nested: bool = False) -> None:
        entry = picked.setdefault(uid, {"by": set(), "nested": True})
        entry["by"].add(by)
        entry["nested"] = entry["nested"] and nested

    groups, nested_out = [], {}
    for selector in wave.groups:
        gid = _resolve_group(facts, selector, label)
        groups.append(gid)
        rows = facts.members[
            (facts.members["group_id"] == gid) & (facts.members["member_type"] == "user")
        ]
        direct = set(rows.loc[rows["direct"] != False, "member_id"])  # noqa: E712
        for uid in sorted(set(rows["member_id"])):
            if uid not in facts.upn:
                continue
            if uid in direct:
                pick(uid, f"group:{facts.groups.loc[gid, 'display_name']}")
            elif wave.assign == "users":
                pick(uid, f"group:{facts.groups.loc[gid, 'display_name']}", nested=True)
            else:
                nested_out[uid] = facts.upn.get(uid)
    for selector in wave.users:
        pick(_resolve_user(facts, selector, label), "user")
    live = facts.users[_live(facts.users)]
    for dept in wave.departments:
        hits = live.index[live["department"].map(_key) == _key(dept)]
        if len(hits) == 0:
            raise PlanError(f"{label}: unknown department {dept!r} (no user has it)")
        for uid in hits:
            pick(uid, f"department:{dept}")
    for country in wave.countries:
        mask = (live["usage_location"].map(_key) == _key(country)) | (
            live["country"].map(_key) == _key(country)
        )
        if not mask.any():
            raise PlanError(f"{label}: unknown country {country!r} (no user has it)")
        for uid in live.index[mask]:
            pick(uid, f"country:{country}")
    if not picked:
        raise PlanError(f"{label}: selects no users")
    for uid in list(nested_out):
        if uid in picked:
            nested_out.pop(uid)
    return _Selection(app_role_id, role_value, picked, groups, nested_out)


def _plan_wave(
    facts: _Facts,
    wave: WaveConfig,
    number: int,
    sel: _Selection,
    reasons: dict[str, list[str]],
    warnings: dict[str, list[str]],
    findings: pd.DataFrame,
) -> dict:
    app_role_id, role_value, picked = sel.app_role_id, sel.role_value, sel.picked
    groups, nested_out = sel.groups, sel.nested_out
    ids = sorted(picked)
    gates = _wave_gates(
        facts, findings, [u for u in ids if u not in facts.in_scope and not reasons[u]]
    )
    users = []
    for uid in ids:
        status = ALREADY if uid in facts.in_scope else ("blocked" if reasons[uid] else "ready")
        users.append(
            {
                "entra_id": uid,
                "user_principal_name": facts.upn.get(uid),
                "display_name": facts.display.get(uid),
                "status": status,
                "reasons": list(reasons.get(uid, [])),
                "warnings": list(warnings.get(uid, [])),
                "selected_by": sorted(picked[uid]["by"]),
                "nested": bool(picked[uid]["nested"]),
                "seat": "none",
            }
        )
    users.sort(key=lambda u: (_key(u["user_principal_name"]), u["entra_id"]))
    principals = _principals(facts, wave, users, groups, app_role_id)
    assigned_users = {p["principal_id"] for p in principals if p["principal_type"] == "User"}
    by_group = wave.assign == "groups"
    for user in users:
        gets_assigned = user["entra_id"] in assigned_users or (
            by_group
            and user["status"] != ALREADY
            and any(s.startswith("group:") for s in user["selected_by"])
        )
        if gets_assigned and user["status"] == "ready":
            user["seat"] = _seat(facts, user["entra_id"], role_value)
    to_assign = sum(
        1 for u in users if u["status"] == "ready" or (by_group and u["status"] == "blocked")
    )
    if to_assign > wave.max_users:
        raise PlanError(
            f"wave {number} ({wave.name!r}): selects {to_assign} users to assign, more than "
            "max_users "
            f"{wave.max_users}; split the wave or raise max_users"
        )
    counts = {s: sum(1 for u in users if u["status"] == s) for s in ("ready", "blocked", ALREADY)}
    counts.update(
        selected=len(users),
        principals=len(principals),
        to_assign=to_assign,
        nested_not_provisioned=len(nested_out),
    )
    notes = [
        "assign: groups - the groups are assigned; Entra provisions their DIRECT members only, "
        "members of nested groups will NOT be provisioned; blocked members are assigned too "
        "and will fail or be skipped"
        if by_group
        else "assign: users - each ready user is assigned individually; blocked users are not "
        "assigned; members of nested groups are included because direct assignments are "
        "provisioned"
    ]
    if number == 1:
        notes.append("pilot wave: check it with rollout status before opening the next wave")
    return {
        "number": number,
        "name": wave.name,
        "pilot": number == 1,
        "assign": wave.assign,
        "role": role_value,
        "app_role_id": app_role_id,
        "max_users": wave.max_users,
        "description": wave.description,
        "selectors": {
            "groups": [
                {"id": gid, "display_name": _opt(facts.groups.loc[gid, "display_name"])}
                for gid in groups
            ],
            "users": list(wave.users),
            "departments": list(wave.departments),
            "countries": list(wave.countries),
        },
        "principals": principals,
        "gates": gates,
        "users": users,
        "counts": counts,
        "nested_not_provisioned": sorted(
            ({"entra_id": k, "user_principal_name": _opt(v)} for k, v in nested_out.items()),
            key=lambda d: (_key(d["user_principal_name"]), d["entra_id"]),
        ),
        "notes": notes,
    }


def _principals(
    facts: _Facts, wave: WaveConfig, users: list[dict], groups: list[str], app_role_id: str
) -> list[dict]:
    out = []
    if wave.assign == "groups":
        for gid in groups:
            if gid in facts.assigned_groups:
                continue
            out.append(
                {
                    "principal_id": gid,
                    "principal_type": "Group",
                    "display_name": _opt(facts.groups.loc[gid, "display_name"]),
                    "app_role_id": app_role_id,
                }
            )
        explicit = [u for u in users if u["selected_by"] == ["user"]]
    else:
        explicit = users
    for user in explicit:
        if user["status"] == "ready":
            out.append(
                {
                    "principal_id": user["entra_id"],
                    "principal_type": "User",
                    "display_name": user["user_principal_name"],
                    "app_role_id": app_role_id,
                }
            )
    out.sort(key=lambda p: (p["principal_type"], _key(p["display_name"]), p["principal_id"]))
    return out


def _seat(facts: _Facts, uid: str, role_value: str) -> str:
    zoom = facts.zoom_user(uid)
    if _key(role_value) in LICENSED_ROLES:
        return "none" if zoom and zoom.get("type") == 2 else "licensed"
    if _key(role_value) in BASIC_ROLES:
        return "none" if zoom else "basic"
    return "none"


def _consume_seats(entry: dict, state: dict, name: str) -> None:
    licensed = sum(1 for u in entry["users"] if u["seat"] == "licensed")
    basic = sum(1 for u in entry["users"] if u["seat"] == "basic")
    before = state.get("licensed_available")
    if licensed and before is not None and licensed > before:
        raise PlanError(
            f"wave {entry['number']} ({name!r}) needs {licensed} Licensed seats but only "
            f"{before} remain (plan_base: {state.get('licensed_hosts')} hosts, "
            f"{state.get('licensed_used')} used, earlier waves counted); buy seats or shrink it"
        )
    basic_before = state.get("basic_users")
    if basic and basic_before is not None and basic_before + basic > BASIC_CAP:
        raise PlanError(
            f"wave {entry['number']} ({name!r}) would bring Basic users to "
            f"{basic_before + basic}, over Zoom's cap of {BASIC_CAP}"
        )
    if before is not None:
        state["licensed_available"] = before - licensed
    if basic_before is not None:
        state["basic_users"] = basic_before + basic
    entry["seats"] = {
        "licensed_needed": licensed,
        "basic_needed": basic,
        "licensed_available_before": before,
        "licensed_available_after": state.get("licensed_available"),
        "basic_users_after": state.get("basic_users"),
    }


# ---------------------------------------------------------------------------- status
def _latest_events(snapshot: Snapshot) -> dict[str, dict]:
    events = snapshot.table("provisioning_events")
    events = events[events["status"].isin(["success", "failure", "skipped", "warning"])]
    events = events.sort_values("activity_at", kind="stable", na_position="first")
    out = {}
    for row in events.itertuples():
        out[row.source_id] = {
            "status": row.status,
            "at": row.activity_at,
            "reason": " ".join(str(x) for x in (_opt(row.error_code), _opt(row.error_reason)) if x)
            or None,
        }
    return out


def _user_state(facts: _Facts, wave: dict, user: dict) -> dict:
    if not hasattr(facts, "_events"):
        facts._events = _latest_events(facts.snapshot)
    uid = user["entra_id"]
    row = {
        "wave": wave["number"],
        "wave_name": wave["name"],
        "entra_id": uid,
        "user_principal_name": user["user_principal_name"],
        "plan_status": user["status"],
        "state": None,
        "reason": None,
        "assigned_at": facts.in_scope.get(uid),
        "zoom_id": None,
    }
    zoom = facts.zoom_user(uid)
    event = facts._events.get(uid)
    assigned = uid in facts.in_scope
    if zoom:
        row["zoom_id"] = zoom.get("zoom_id")
        status = zoom.get("status")
        row["state"] = {"active": "provisioned", "pending": "invited"}.get(status, "deactivated")
        if row["state"] == "deactivated" and not assigned:
            row["state"] = "not_assigned"
        return row
    if user["status"] == "blocked" and not assigned:
        row.update(state="blocked", reason="; ".join(user["reasons"]) or None)
        return row
    out_reason = facts.out_of_scope.get(uid)
    if assigned and out_reason in ("disabled", "soft_deleted", "scoping_filter"):
        # assigned (e.g. with its group) but Entra will never provision it
        row.update(state="blocked", reason=f"assigned but out of scope: {out_reason}")
        return row
    if not assigned:
        row["state"] = "not_assigned"
        return row
    when = row["assigned_at"]
    if (
        event
        and event["status"] in ("failure", "skipped")
        and (when is None or pd.isna(event["at"]) or event["at"] >= when)
    ):
        row.update(
            state="failed" if event["status"] == "failure" else "skipped", reason=event["reason"]
        )
        return row
    cycle = timedelta(minutes=facts.provisioning["cycle_minutes"])
    if when is not None and facts.snapshot.taken_at - when.to_pydatetime() < cycle:
        row["state"] = "pending"
        return row
    row.update(
        state="not_provisioned",
        reason="assigned more than a cycle ago; no Zoom user and no failure logged",
    )
    return row


def _summarise(plan_body: dict, facts: _Facts, detail: pd.DataFrame) -> pd.DataFrame:
    gates_cfg = (plan_body.get("config") or {}).get("gates") or {}
    min_pct = float(gates_cfg.get("min_provisioned_pct", 95.0))
    max_failed = int(gates_cfg.get("max_failed", 0))
    job = _job_gate(facts.snapshot)
    rows = []
    for wave in plan_body.get("waves") or []:
        part = detail[detail["wave"] == wave["number"]]
        counts = {s: int((part["state"] == s).sum()) for s in STATES}
        members = len(part)
        base = members - counts["blocked"]
        done = counts["provisioned"] + counts["invited"]
        pct = round(100.0 * done / base, 1) if base else 100.0
        why = []
        if counts["not_assigned"]:
            why.append(f"{counts['not_assigned']} not assigned yet (run rollout apply)")
        if counts["pending"]:
            why.append(f"{counts['pending']} pending (assigned less than a cycle ago)")
        bad = counts["failed"] + counts["skipped"]
        if bad > max_failed:
            why.append(f"{bad} failed or skipped (max {max_failed})")
        if counts["not_provisioned"]:
            why.append(f"{counts['not_provisioned']} not provisioned after a cycle")
        if pct < min_pct:
            why.append(f"provisioned {pct}% < {min_pct}%")
        if job is not None and job["ok"] is False:
            why.append(f"provisioning job unhealthy ({job['detail']})")
        rows.append(
            {
                "wave": wave["number"],
                "wave_name": wave["name"],
                "role": wave["role"],
                "members": members,
                "already_assigned": int((part["plan_status"] == ALREADY).sum()),
                **counts,
                "provisioned_pct": pct,
                "gate_open": not why,
                "gate": "open" if not why else "; ".join(why),
            }
        )
    columns = [
        "wave",
        "wave_name",
        "role",
        "members",
        "already_assigned",
        *STATES,
        "provisioned_pct",
        "gate_open",
        "gate",
    ]
    return pd.DataFrame(rows, columns=columns)
