"""Pull orchestration: Entra and Zoom, concurrently, into one immutable, complete snapshot.

Place in the flow: the first step. ``pull()`` runs ``sources.graph`` and ``sources.zoom``
concurrently (asyncio), writes their pages as received plus the ``convert``-ed tables into a
``snapshot.SnapshotWriter`` and renames it into place only when everything arrived. Expected
counts (``@odata.count``, SCIM ``totalResults``, REST ``total_records``) are compared with the
rows received after de-duplicating by id; a persistent mismatch raises
:class:`~zoomaudit.errors.IncompleteDataError` (or, with ``allow_incomplete``, writes a snapshot
marked ``complete: false``).

Counts in the manifest: ``counts`` (per table) and ``collections`` (per collection that feeds a
table) record ``expected`` and ``received``. ``expected`` is what the service announced, and
only that: where it announced nothing (Graph without ``@odata.count`` because the
``ConsistencyLevel`` advanced query was not honoured, SCIM without ``totalResults``, REST
without ``total_records``, or collections that have no count at all such as provisioning logs
and app role assignments), ``expected`` is ``null`` and a ``reason`` (per collection) /
``unverified`` (per table) says why. ``complete`` reflects only *verified* mismatches (an
announced count that differs from the rows received, or a listing that kept changing); an
unverifiable count does not make a snapshot incomplete, it is recorded as unverified.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import re
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from zoomaudit import __version__, convert, progress
from zoomaudit.config import Settings
from zoomaudit.errors import ConfigError, IncompleteDataError, ZoomAuditError
from zoomaudit.secrets import register
from zoomaudit.snapshot import SnapshotWriter
from zoomaudit.sources.http import RetryPolicy, Stats, relaxed_gc, safe_url

log = logging.getLogger("zoomaudit.pull")
SOURCES = ("entra", "zoom")


class _Counts:
    """expected/received per table (summed over the collections that feed it)."""

    def __init__(self) -> None:
        self.parts: dict[str, dict] = {}
        self.problems: list[str] = []

    def add(
        self, table: str, part: str, expected: int | None, received: int, reason: str = ""
    ) -> None:
        """Record one collection; ``reason`` says why ``expected`` is None (unverifiable)."""
        entry: dict = {"table": table, "expected": expected, "received": received}
        if expected is None:
            entry["reason"] = reason or "the service announced no count"
        self.parts[f"{table}.{part}" if part else table] = entry

    def tables(self) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for value in self.parts.values():
            t = out.setdefault(value["table"], {"expected": 0, "received": 0})
            t["received"] += value["received"]
            if value["expected"] is None:
                t["expected"] = None
                reasons = t.setdefault("_reasons", [])
                if value["reason"] not in reasons:
                    reasons.append(value["reason"])
            elif t["expected"] is not None:
                t["expected"] += value["expected"]
        for t in out.values():
            reasons = t.pop("_reasons", None)
            if reasons:
                t["unverified"] = "; ".join(reasons)
        return out

    def mismatches(self) -> list[str]:
        return self.problems + [
            f"{name}: expected {v['expected']}, received {v['received']}"
            for name, v in self.parts.items()
            if v["expected"] is not None and v["expected"] != v["received"]
        ]


def pull(
    settings: Settings,
    *,
    out: Path | str | None = None,
    since_days: int = 30,
    sources: Iterable[str] = SOURCES,
    candidate_groups: Iterable[str] = (),
    allow_incomplete: bool = False,
    policy: RetryPolicy | None = None,
    graph_credential=None,
    activities: bool = True,
    now: datetime | None = None,
) -> Path:
    """Pull Entra and/or Zoom into a new snapshot under ``out`` (default ``settings.data_dir``).

    Args:
        settings: where the services are and how to authenticate (``Settings.from_env()``).
        out: the data folder under which the snapshot directory is created.
        since_days: provisioning-log and activity-report window.
        sources: ``entra``, ``zoom`` or both.
        candidate_groups: extra groups (ids or display names) whose members to record.
        allow_incomplete: write a snapshot marked incomplete instead of raising.
        policy: retry policy (tests pass short delays).
        graph_credential: an async TokenCredential overriding the one settings select.
        activities: also read Zoom's sign-in activity report (skipped if not permitted).
        now: the as-of time: end of the log/report windows and the snapshot's ``taken_at``
            (default: the local clock; the demo and tests pass the emulator's clock, so
            "days since last login" means the same on both sides).

    Returns:
        The path of the new snapshot directory.
    """
    coro = pull_async(
        settings,
        out=out,
        since_days=since_days,
        sources=sources,
        candidate_groups=candidate_groups,
        allow_incomplete=allow_incomplete,
        policy=policy,
        graph_credential=graph_credential,
        activities=activities,
        now=now,
    )
    return run_sync(coro)


def run_sync(coro):
    """Run a coroutine to completion, also from inside a running loop (notebooks)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="zoomaudit-pull")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


async def pull_async(
    settings: Settings,
    *,
    out: Path | str | None = None,
    since_days: int = 30,
    sources: Iterable[str] = SOURCES,
    candidate_groups: Iterable[str] = (),
    allow_incomplete: bool = False,
    policy: RetryPolicy | None = None,
    graph_credential=None,
    activities: bool = True,
    now: datetime | None = None,
    graph_transport=None,
    zoom_transport=None,
) -> Path:
    """The coroutine behind :func:`pull` (same arguments; transports are for tests)."""
    sources = tuple(s.strip().lower() for s in sources if s.strip())
    unknown = set(sources) - set(SOURCES)
    if not sources or unknown:
        raise ConfigError(f"--sources must name entra and/or zoom, got {','.join(sources)!r}")
    if since_days < 1:
        raise ConfigError("--since must be at least 1 day")
    register(*settings.secret_values())
    if "entra" in sources and graph_credential is None and not settings.has_graph_credentials:
        raise ConfigError(
            "no Entra credentials: set ZOOMAUDIT_GRAPH_TOKEN or ZOOMAUDIT_TENANT_ID/"
            "CLIENT_ID/CLIENT_SECRET (or pull --sources zoom)"
        )
    if "zoom" in sources and not settings.has_zoom_credentials:
        raise ConfigError(
            "no Zoom credentials: set ZOOMAUDIT_ZOOM_ACCOUNT_ID/CLIENT_ID/CLIENT_SECRET or "
            "ZOOMAUDIT_ZOOM_TOKEN (or pull --sources entra)"
        )
    policy = policy or RetryPolicy()
    stats = Stats()
    label = settings.tenant_id or settings.zoom_account_id or "tenant"
    data_dir = Path(out) if out is not None else Path(settings.data_dir)
    started = time.monotonic()
    counts = _Counts()
    durations: dict[str, float] = {}
    manifest: dict = {
        "source": "api",
        "kit_version": __version__,
        "sources": list(sources),
        # taken_at is the as-of time (``now``, default the clock); pulled_at is always the clock
        "pulled_at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "options": {
            "since_days": since_days,
            "window_end": (now or datetime.now(UTC)).isoformat(),
            "candidate_groups": list(candidate_groups),
        },
        "tenant": {"tenant_id": settings.tenant_id, "zoom_account_id": settings.zoom_account_id},
        "base_urls": {},
        "queries": {},
        "unavailable": {},
    }
    # relaxed_gc: the default GC thresholds cost ~40 % of a large pull's CPU (see there)
    with relaxed_gc(), SnapshotWriter(data_dir, label, taken_at=now) as writer:
        bars = {s: progress.bar(None, f"{s} pages", unit="pages") for s in sources}

        def sink_for(source: str):
            def sink(name: str, content: bytes) -> None:
                writer.raw(source, name, content)
                bars[source].update(1)

            return sink

        try:
            async with asyncio.TaskGroup() as group:
                if "entra" in sources:
                    group.create_task(
                        _entra(
                            settings,
                            writer,
                            counts,
                            manifest,
                            durations,
                            stats,
                            policy,
                            sink_for("entra"),
                            (since_days, now),
                            tuple(candidate_groups),
                            graph_credential,
                            graph_transport,
                        )
                    )
                if "zoom" in sources:
                    group.create_task(
                        _zoom(
                            settings,
                            writer,
                            counts,
                            manifest,
                            durations,
                            stats,
                            policy,
                            sink_for("zoom"),
                            (since_days, now),
                            activities,
                            zoom_transport,
                        )
                    )
        except BaseExceptionGroup as eg:
            raise _first_error(eg) from None
        finally:
            for bar in bars.values():
                bar.close()
        durations["total"] = round(time.monotonic() - started, 3)
        mismatches = counts.mismatches()
        manifest.update(
            counts=counts.tables(),
            collections=counts.parts,
            complete=not mismatches,
            requests=stats.as_dict(),
            durations_s=durations,
        )
        if mismatches:
            reason = "; ".join(mismatches)
            if not allow_incomplete:
                raise IncompleteDataError(
                    f"received fewer or more rows than the services announced ({reason}); "
                    "no snapshot written. Pull again, or pass --allow-incomplete to keep a "
                    "snapshot marked incomplete"
                )
            manifest["incomplete_reason"] = reason
            log.warning("snapshot marked incomplete: %s", reason)
        path = writer.commit(manifest)
    log.info("snapshot written: %s", path)
    return path


def _first_error(group: BaseExceptionGroup) -> BaseException:
    """The most telling exception of a task group (ours first, then any other)."""
    flat: list[BaseException] = []

    def walk(eg: BaseExceptionGroup) -> None:
        for exc in eg.exceptions:
            if isinstance(exc, BaseExceptionGroup):
                walk(exc)
            else:
                flat.append(exc)

    walk(group)
    for exc in flat:
        if isinstance(exc, ZoomAuditError):
            return exc
    for exc in flat:
        if not isinstance(exc, asyncio.CancelledError):
            return exc
    return flat[0]


async def _entra(
    settings,
    writer,
    counts,
    manifest,
    durations,
    stats,
    policy,
    sink,
    since,
    candidate_groups,
    credential,
    transport,
) -> None:
    from zoomaudit.sources.graph import GraphSource

    t0 = time.monotonic()
    # msgraph's import takes ~1 s: do it off the loop so Zoom requests start meanwhile
    await asyncio.to_thread(importlib.import_module, "msgraph")
    g = GraphSource(
        settings, policy=policy, stats=stats, sink=sink, credential=credential, transport=transport
    )
    manifest["base_urls"]["graph"] = settings.graph_url
    try:

        async def users_complete():
            rows = convert.Chunks(convert.entra_users)  # pages converted as they arrive
            for attempt in range(1, 4):  # @odata.count is eventually consistent: re-read
                if attempt > 1:
                    await _settle(g.policy, attempt)
                rows.clear()
                _, expected = await g.users(into=rows)
                frame = rows.frame()
                frame["entra_id"] = _lower_guid_column(frame["entra_id"])
                frame = frame.drop_duplicates("entra_id", keep="last", ignore_index=True)
                if expected is None or expected == len(frame):
                    break
                log.warning(
                    "Graph users: %s received, %s announced; reading again", len(frame), expected
                )
            return frame, expected

        async def app_chain():
            sp = await g.service_principal()
            manifest["tenant"].update(
                app_display_name=sp.get("displayName"), app_id=sp.get("appId"), sp_id=sp.get("id")
            )
            results = await asyncio.gather(
                _groups(g, sp["id"], candidate_groups),
                g.provisioning_logs(sp["id"], since[0], now=since[1]),
                g.sync_jobs(sp["id"]),
            )
            return sp, results

        (users_frame, n_users), (deleted, n_deleted), (sp, chain) = await asyncio.gather(
            users_complete(), g.deleted_users(), app_chain()
        )
        (assignments, n_assign, groups, members, member_counts), (logs, _), (jobs, schemas) = chain
        received_users = len(users_frame)
        received_deleted = len({str(u.get("id")).lower() for u in deleted})
        users_frame, deleted = await _resolve_deleted_meanwhile(g, users_frame, deleted)
    finally:
        await g.aclose()

    # requests used the ids as Graph sent them; the tables get GUIDs in one casing
    _lower_guids([sp], "id", "appId")
    _lower_guids([r for r in sp.get("appRoles") or [] if isinstance(r, dict)], "id")
    _lower_guids(assignments, "principalId", "resourceId", "appRoleId")
    _lower_guids([gr for gr, _ in groups], "id")
    members = {_lower_guid(k): v for k, v in members.items()}
    member_counts = {_lower_guid(k): v for k, v in member_counts.items()}
    for direct, transitive in members.values():
        _lower_guids(direct, "id")
        _lower_guids(transitive, "id")

    def build_tables() -> None:  # CPU work: off the event loop, other requests go on
        deleted_unique = list({str(u.get("id")): u for u in _lower_guids(deleted, "id")}.values())
        counts.add("entra_users", "users", n_users, received_users, NO_ODATA_COUNT)
        counts.add("entra_users", "deleted", n_deleted, received_deleted, NO_ODATA_COUNT)
        deleted_frame = convert.entra_users(deleted_unique, soft_deleted=True)

        writer.table(
            "entra_users",
            pd.concat([users_frame, deleted_frame], ignore_index=True)
            if len(deleted_frame)
            else users_frame,
        )
        writer.table("entra_app", convert.entra_app(sp))
        writer.table("entra_app_roles", convert.entra_app_roles(sp))
        assign_unique = list({str(a.get("id")): a for a in assignments}.values())
        counts.add(
            "entra_assignments",
            "",
            n_assign,
            len(assign_unique),
            "appRoleAssignedTo is read without $count (an advanced query there)",
        )
        writer.table("entra_assignments", convert.entra_assignments(assign_unique))
        # ids are compared case-insensitively (GUIDs); the group object's own id is recorded
        assigned_keys = {
            str(a.get("principalId")).lower()
            for a in assign_unique
            if str(a.get("principalType", "")).lower() == "group"
        }
        candidate_ids = {str(gr["id"]) for gr, is_candidate in groups if is_candidate}
        group_objects = list({str(gr["id"]): gr for gr, _ in groups}.values())
        assigned_ids = {
            str(gr["id"]) for gr in group_objects if str(gr["id"]).lower() in assigned_keys
        }
        _classify_members(members, users_frame, group_objects)
        writer.table(
            "entra_groups",
            convert.entra_groups(group_objects, assigned=assigned_ids, candidate=candidate_ids),
        )
        member_frames = [convert.entra_group_members(gid, d, t) for gid, (d, t) in members.items()]
        for gid, (expected, received) in member_counts.items():
            counts.add("entra_group_members", gid, expected, received, NO_ODATA_COUNT)
        writer.table(
            "entra_group_members",
            pd.concat(member_frames, ignore_index=True)
            if member_frames
            else convert.entra_group_members("", [], []),
        )
        events = list({str(e.get("id")): e for e in logs}.values())
        _lower_guids(
            [e["sourceIdentity"] for e in events if isinstance(e.get("sourceIdentity"), dict)],
            "id",
        )
        counts.add(
            "provisioning_events", "", None, len(events), "Graph publishes no count for these"
        )
        writer.table("provisioning_events", convert.provisioning_events(events))
        writer.table("sync_jobs", convert.sync_jobs(jobs))
        mappings, scopes = [], []
        for job_id, schema in schemas.items():
            writer.schema(job_id, schema)
            mappings.append(convert.attribute_mappings(job_id, schema))
            scopes.append(convert.scoping_filters(job_id, schema))
        writer.table(
            "attribute_mappings",
            pd.concat(mappings, ignore_index=True)
            if mappings
            else convert.attribute_mappings("", {}),
        )
        writer.table(
            "scoping_filters",
            pd.concat(scopes, ignore_index=True) if scopes else convert.scoping_filters("", {}),
        )

    await writer.offload(build_tables)
    manifest["queries"]["graph"] = [safe_url(q) for q in g.queries]
    manifest["unavailable"].update(g.unavailable)
    durations["entra"] = round(time.monotonic() - t0, 3)


_GUID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


def _lower_guids(items: list[dict], *keys: str) -> list[dict]:
    """Spell GUID values of ``keys`` in lower case, in place (and return ``items``).

    GUIDs are case-insensitive and nothing promises that every Graph endpoint spells them
    alike; one casing in the snapshot keeps its tables joinable (ids that are not GUIDs,
    such as appRoleAssignment ids, are opaque and kept exactly as sent).
    """
    for item in items:
        for key in keys:
            value = item.get(key)
            if isinstance(value, str) and value != value.lower() and _GUID.match(value):
                item[key] = value.lower()
    return items


def _lower_guid(value: str) -> str:
    return value.lower() if _GUID.match(value) else value


def _lower_guid_column(ids: pd.Series) -> pd.Series:
    """:func:`_lower_guids` for a column of ids."""
    return ids.mask(ids.str.fullmatch(_GUID.pattern, na=False), ids.str.lower())


NO_ODATA_COUNT = (
    "Graph sent no @odata.count (the ConsistencyLevel: eventual advanced query was not "
    "honoured); the row count could not be verified"
)


async def _resolve_deleted_meanwhile(g, users_frame: pd.DataFrame, deleted: list[dict]):
    """Users in both /users and /directory/deletedItems (deleted or restored while the two
    were read at the same time): Graph is asked whether each is a user now, and only that
    row is kept. Returns ``(users_frame, deleted)``."""
    by_key = {str(u.get("id")).lower(): u for u in deleted}
    active = users_frame["entra_id"].astype(str).str.lower()
    both = sorted(set(active[active.isin(list(by_key))]))  # isin: no Python string per user
    if not both:
        return users_frame, deleted
    log.warning("%s users were deleted or restored during the pull; asking again", len(both))
    exists = await asyncio.gather(*(g.user_exists(str(by_key[k]["id"])) for k in both))
    now_deleted = {k for k, present in zip(both, exists, strict=True) if not present}
    users_frame = users_frame[~active.isin(now_deleted)].reset_index(drop=True)
    restored = set(both) - now_deleted
    deleted = [u for u in deleted if str(u.get("id")).lower() not in restored]
    return users_frame, deleted


async def _settle(policy: RetryPolicy, attempt: int) -> None:
    """Wait before re-reading a collection whose eventually consistent ``@odata.count``
    disagreed: an index that lags does not catch up in the milliseconds of an immediate
    re-read (a few seconds by default; the policy's test hooks make it instant)."""
    await policy.sleep(policy.backoff(attempt + 2, None))


def _classify_members(members: dict, users_frame: pd.DataFrame, groups: list[dict]) -> None:
    """Tag members Graph sent without ``@odata.type`` (bare directoryObjects): ids found in
    /users are users, ids of groups we read are groups; others stay unknown (NA)."""
    untyped = [
        item
        for direct, transitive in members.values()
        for item in (*direct, *transitive)
        if not item.get("@odata.type")
    ]
    if not untyped:
        return
    user_ids = set(users_frame["entra_id"].dropna().astype(str).str.lower())
    group_ids = {str(gr.get("id")).lower() for gr in groups}
    for item in untyped:
        key = str(item.get("id")).lower()
        if key in user_ids:
            item["@odata.type"] = "#microsoft.graph.user"
        elif key in group_ids:
            item["@odata.type"] = "#microsoft.graph.group"


async def _groups(g, sp_id: str, candidate_refs: tuple[str, ...]):
    """Assignments, then assigned + candidate groups with direct and transitive members."""
    assignments, n_assign = await g.assignments(sp_id)
    assigned = [
        str(a["principalId"])
        for a in assignments
        if str(a.get("principalType", "")).lower() == "group"
    ]
    # two at a time: these are few, and the users chain is the critical path
    sem = asyncio.Semaphore(2)
    resolved: list[tuple[dict, bool]] = []

    async def fetch_group(ref: str, is_candidate: bool):
        async with sem:
            # an assignment's principalId is an id (opaque: not necessarily a GUID)
            resolved.append((await g.group(ref, by_id=not is_candidate), is_candidate))

    await asyncio.gather(
        *(fetch_group(r, False) for r in dict.fromkeys(assigned)),
        *(fetch_group(r, True) for r in dict.fromkeys(candidate_refs)),
    )
    members: dict[str, tuple[list, list]] = {}
    member_counts: dict[str, tuple[int | None, int]] = {}

    async def fetch_members(gid: str):
        async with sem:
            direct, _ = await g.members(gid, transitive=False)
            for attempt in range(1, 4):  # @odata.count is eventually consistent: re-read
                if attempt > 1:
                    await _settle(g.policy, attempt)
                transitive, expected = await g.members(gid, transitive=True)
                received = len({str(m.get("id")) for m in transitive})
                if expected is None or expected == received:
                    break
                log.warning(
                    "Graph group %s: %s members received, %s announced; reading again",
                    gid,
                    received,
                    expected,
                )
        members[gid] = (direct, transitive)
        member_counts[gid] = (expected, received)

    await asyncio.gather(
        *(fetch_members(gid) for gid in dict.fromkeys(str(gr["id"]) for gr, _ in resolved))
    )
    return assignments, n_assign, resolved, members, member_counts


async def _zoom(
    settings,
    writer,
    counts,
    manifest,
    durations,
    stats,
    policy,
    sink,
    since,
    activities,
    transport,
) -> None:

    from zoomaudit.sources.zoom import ZoomSource

    t0 = time.monotonic()
    z = ZoomSource(settings, policy=policy, stats=stats, sink=sink, transport=transport)
    manifest["base_urls"].update(zoom_scim=settings.zoom_scim_url, zoom_api=settings.zoom_api_url)
    try:
        results = await asyncio.gather(
            z.scim_users(),
            z.rest_users("active"),
            z.rest_users("inactive"),
            z.rest_users("pending"),
            z.plans(),
            z.domains(),
            z.activities(since[0], now=since[1]) if activities else _none(),
        )
        (scim, n_scim), *rest, plans, domains, acts = results
        current = await _resolve_moved_users(z, [users for users, _ in rest])
    finally:
        await z.aclose()

    def build_tables() -> None:  # CPU work: off the event loop, other requests go on
        counts.add(
            "zoom_scim_users", "", n_scim, len(scim), "the SCIM ListResponse had no totalResults"
        )
        if z.scim_inconsistent:
            counts.problems.append(
                f"zoom_scim_users: the listing kept changing while it was read ({z.scim_passes} "
                "passes)"
            )
        writer.table("zoom_scim_users", scim)
        frames_ = []
        for status, (users, expected) in zip(("active", "inactive", "pending"), rest, strict=True):
            counts.add("zoom_users", status, expected, len(users), "Zoom sent no total_records")
            if current:  # the moved users' rows come from the re-read below
                users = users[~_email_keys(users).isin(list(current))]
            frames_.append(users)
        frames_.append(convert.zoom_users([u for u in current.values() if u is not None]))
        writer.table("zoom_users", pd.concat(frames_, ignore_index=True))
        writer.table("zoom_plans", convert.zoom_plans(plans))
        writer.table("zoom_domains", convert.zoom_domains(domains))
        if acts is not None:
            writer.table("zoom_activities", acts)
        elif not activities:
            manifest["unavailable"]["activities"] = "not requested"

    await writer.offload(build_tables)
    manifest["queries"]["zoom"] = [safe_url(q) for q in z.queries]
    manifest["unavailable"].update(z.unavailable)
    manifest["zoom_scim_passes"] = z.scim_passes
    durations["zoom"] = round(time.monotonic() - t0, 3)


def _email_keys(users: pd.DataFrame) -> pd.Series:
    """One key per ``zoom_users`` row: the lower-case e-mail, else ``id:<zoom_id>``."""
    email = users["email"].fillna("").str.strip().str.lower()
    return email.where(email != "", "id:" + users["zoom_id"].fillna("None"))


async def _resolve_moved_users(z, listings: list[pd.DataFrame]) -> dict[str, dict | None]:
    """Users found in more than one status listing (their status changed while the
    listings were read, e.g. Entra's provisioning cycle deactivated them meanwhile): asked
    for one at a time, so the snapshot holds one row with the status Zoom reports now
    (None: the user is gone). Keyed by lower-case e-mail."""
    keyed = pd.concat(
        [
            pd.DataFrame(
                {
                    "key": _email_keys(users),
                    "listing": index,
                    "zoom_id": users["zoom_id"],
                    "email": users["email"],
                }
            )
            for index, users in enumerate(listings)
        ],
        ignore_index=True,
    )
    keyed = keyed.drop_duplicates(["key", "listing"], keep="last")
    moved = keyed[keyed.duplicated("key", keep=False)]
    if moved.empty:
        return {}
    refs: dict[str, str] = {}
    for key, rows in moved.groupby("key", sort=False):  # rows in listing order
        ids = rows["zoom_id"].dropna()
        refs[str(key)] = ids.iloc[0] if len(ids) else rows["email"].iloc[0]
    log.warning("%s Zoom users changed status during the pull; reading them again", len(refs))
    found = await asyncio.gather(*(z.rest_user(str(ref)) for ref in refs.values()))
    return dict(zip(refs, found, strict=True))


async def _none():
    return None
