"""The synthetic tenant generator: a seeded Entra tenant + Zoom account with planted mess.

First step of the emulator flow: ``generate_tenant`` builds a
:class:`~zoomaudit.emulator.model.Tenant`; the Graph and Zoom servers serve it; ``answer_key``
says what the analysis must find in it. How it is built:

1. a population of users (numpy-vectorised columns) split into *situations* (blocks of a seeded
   permutation: in sync, drift, pending invite, nested only, disabled, soft-deleted, ...);
2. groups, memberships and app role assignments, each valid over a range of *phases*;
3. :func:`~zoomaudit.emulator.cycle.run_cycle` at four moments in the past (the first 200
   days ago without logs, then 21 days, 4 days and 25 minutes ago) so Zoom and the
   provisioning logs come from the simulated Entra engine;
4. mess planted after the last cycle (Zoom edits, deactivations, new assignments, disabled and
   deleted users) so it is visible as drift;
5. the answer key, derived from the situations (``answer_key.build``).

Deterministic: same ``users``/``seed``/``scenario``/``now`` -> identical tenant.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import resource
import threading
import time
import unicodedata
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zoomaudit.emulator import answer_key
from zoomaudit.emulator import cycle as cyc
from zoomaudit.emulator import names as pools
from zoomaudit.emulator import schema as sch
from zoomaudit.emulator.model import Tenant

DEFAULT_NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SCENARIOS = ("default", "mail-username", "quarantine")
MIN_USERS, MAX_USERS = 50, 1_000_000
DOMAINS = ("contoso.example", "fabrikam.example")
UNVERIFIED = "northwind.example"
#: (situation, fraction of users, minimum count); "sync" and "free" take the rest
SITUATIONS = (
    ("drift", 0.02, 4),
    ("mailalt", 0.01, 2),
    ("pending", 0.003, 2),
    ("zinactive", 0.005, 2),
    ("econflict", 0.002, 2),
    ("np_new", 0.003, 2),
    ("np_domain", 0.002, 2),
    ("np_guest", 0.001, 1),
    ("np_foreign", 0.001, 1),
    ("np_license", 0.001, 1),
    ("np_badrole", 0.001, 2),
    ("throttled", 0.001, 1),
    ("sync_recent", 0.01, 2),
    ("nested_none", 0.01, 3),
    ("nested_active", 0.002, 2),
    ("nested_inactive", 0.002, 1),
    ("nested_disabled", 0.0005, 1),
    ("dis_post", 0.003, 3),
    ("dis_pre", 0.005, 2),
    ("dis_never", 0.003, 2),
    ("sdel_post", 0.002, 2),
    ("sdel_pre", 0.002, 1),
    ("unasg_post", 0.002, 2),
    ("unasg_pre", 0.002, 1),
    ("filter_post", 0.002, 2),
    ("filter_never", 0.002, 2),
    ("champion", 0.001, 1),
    ("champion_lc", 0.001, 1),
    ("free_zoom_active", 0.002, 2),
    ("free_zoom_inactive", 0.001, 1),
    ("cand_fin", 0.01, 9),
    ("cand_fin_nested", 0.004, 2),
    ("cand_fin_nested2", 0.002, 1),
    ("cand_legal", 0.004, 2),
)
SCALE_CAP = 100_000  # situations are sized on min(users, this); sync/free take the rest
#: what each situation plants (answer_key.BY_SITUATION gives its reconcile category)
SITUATION_DOCS = {
    "sync": "assigned (direct or direct member of an assigned group), provisioned, unchanged; "
    "some with NFD names, Title-case e-mail or a trailing space in Zoom (still in sync)",
    "sync_recent": "assigned 23 days ago, created by the cycle 21 days ago (create events)",
    "throttled": "assigned 4 days ago; that cycle got 429 (TooManyRequests), next one created",
    "drift": "provisioned, then edited in Zoom: display name, department, family name or type",
    "mailalt": "mail != UPN (default: work e-mail drift; mail-username: in sync)",
    "pending": "a hand-made pending invite holds the userName; every cycle fails on it",
    "zinactive": "provisioned, then deactivated in Zoom by an admin",
    "econflict": "assigned after the last cycle; a hand-made Zoom account holds an smtp alias",
    "np_new": "assigned after the last cycle (no event yet)",
    "np_domain": "userName on northwind.example (pending in Zoom): create fails",
    "np_guest": "#EXT# guest: create fails (onmicrosoft.com / external domain not in Zoom)",
    "np_foreign": "e-mail owned by another Zoom account: create fails with ZoomEntryConflict",
    "np_license": "Licensed role, assigned before the last cycle with no free seat",
    "np_badrole": "legacy Pro/Corp role: create fails (invalid userType)",
    "nested_none": "only in a nested group of an assigned group; never provisioned",
    "nested_active": "moved into a nested group after the last cycle; Zoom still active",
    "nested_inactive": "moved into a nested group earlier; the cycle disabled Zoom",
    "nested_disabled": "nested and disabled, hand-made active Zoom account",
    "dis_post": "disabled after the last cycle; Zoom still active",
    "dis_pre": "disabled 3 weeks ago; the cycle disabled Zoom",
    "dis_never": "disabled before provisioning started (some miss surname or mail)",
    "sdel_post": "soft-deleted after the last cycle; Zoom still active",
    "sdel_pre": "soft-deleted earlier; the cycle disabled Zoom",
    "unasg_post": "direct assignment removed after the last cycle; Zoom still active",
    "unasg_pre": "direct assignment removed earlier; the cycle disabled Zoom",
    "filter_post": "mail-username: department set to Contractors after the last cycle",
    "filter_never": "Contractors (mail-username: half with no department): never in scope",
    "champion": "Contractors with jobTitle 'Zoom Champion' (second OR-ed filter group)",
    "champion_lc": "jobTitle 'zoom champion' (case-sensitive filter: excluded)",
    "free_zoom_active": "not assigned, hand-made active Zoom account with their userName",
    "free_zoom_inactive": "not assigned, hand-made deactivated Zoom account",
    "cand_fin": "direct members of 'Zoom Wave 2 - Finance' (disabled, guest, missing surname, "
    "no mail, unverified domain, existing Zoom account, two sharing one mail, ready)",
    "cand_fin_nested": "in 'Finance - Payroll' (nested under the Finance candidates group)",
    "cand_fin_nested2": "in 'Finance - Payroll - Contractors' (two levels down)",
    "cand_legal": "members of 'Zoom Wave 2 - Legal' (one with a deactivated Zoom account)",
    "free": "not assigned, no Zoom account (some without mail)",
    "hard": "assigned and provisioned, hard-deleted 3 weeks ago (delete events; not in users)",
}
ASSIGNED_SHARE = 0.55  # share of users assigned to Zoom (sync absorbs the remainder)
PHASE_AGE = (timedelta(days=200), timedelta(days=21), timedelta(days=4), timedelta(minutes=25))
FINAL = 4  # phase index of the state after the last cycle
GROUPS = {  # key: (displayName, assigned role value or None, description)
    "lic": ("Zoom - Licensed Users", "Licensed", "Zoom licensed seats"),
    "sales": ("Zoom - Sales", "Basic", "Sales staff with Zoom Basic"),
    "support": ("Zoom - Support", "Basic", "Support staff with Zoom Basic"),
    "dyn": ("Zoom - Webinar Hosts (dynamic)", "Licensed", "Dynamic: webinar hosts"),
    "emea": ("Zoom - Sales - EMEA", None, "Nested in Zoom - Sales"),
    "interns": ("Zoom - Sales - EMEA Interns", None, "Nested in Zoom - Sales - EMEA"),
    "fin": ("Zoom Wave 2 - Finance", None, "Rollout wave 2 candidates"),
    "payroll": ("Finance - Payroll", None, "Nested in Zoom Wave 2 - Finance"),
    "payroll_ext": ("Finance - Payroll - Contractors", None, "Nested in Finance - Payroll"),
    "legal": ("Zoom Wave 2 - Legal", None, "Rollout wave 2 candidates"),
    "itadm": ("IT Admins", None, "Administrators"),
    "phoenix": ("Project Phoenix", None, "Microsoft 365 group"),
}
CANDIDATE_GROUPS = ("fin", "legal")
#: (stage, CPU seconds since start, peak RSS MB) of the last generation (for the bench)
LAST_MARKS: list[tuple[str, float, int]] = []


def generate_tenant(
    users: int = 1000, seed: int = 0, *, scenario: str = "default", now: datetime | None = None
) -> Tenant:
    """Build a deterministic synthetic tenant with ``users`` Entra users (50 to 1,000,000).

    Args:
        users: number of Entra users (live and soft-deleted).
        seed: RNG seed; same arguments give an identical tenant.
        scenario: ``default`` (userName from userPrincipalName, no scoping filter),
            ``mail-username`` (userName from mail, scoping filter on department/mail/jobTitle)
            or ``quarantine`` (as default, but the job is in quarantine after repeated
            escrow failures; the data and answer key rules are those of default).
        now: the tenant's "current time" (default 2026-11-01T12:00:00Z, never wall time).

    Returns:
        The tenant, with ``answer_key`` filled (see :mod:`zoomaudit.emulator.answer_key`).
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    if not MIN_USERS <= users <= MAX_USERS:
        raise ValueError(f"users must be between {MIN_USERS} and {MAX_USERS}, got {users}")
    now = (now or DEFAULT_NOW).astimezone(UTC).replace(microsecond=0)
    return _Builder(users, seed, scenario, now).build()


def copy_tenant(tenant: Tenant) -> Tenant:
    """An independent copy of a tenant (frames, JSON parts and cycle state; a new lock)."""
    frames = {
        name: getattr(tenant, name).copy(deep=True)
        for name in ("users", "groups", "members", "assignments", "zoom_users")
    }
    plain = {
        name: copy.deepcopy(getattr(tenant, name))
        for name in (
            "verified_domains",
            "service_principal",
            "other_service_principals",
            "provisioning_events",
            "sync_jobs",
            "sync_schemas",
            "zoom_plans",
            "zoom_domains",
            "zoom_activities",
        )
    }
    out = dataclasses.replace(
        tenant,
        **frames,
        **plain,
        lock=threading.RLock(),
        answer_key={k: v.copy() for k, v in tenant.answer_key.items()},
    )
    state = getattr(tenant, "cycle_state", None)
    if state is not None:
        out.cycle_state = {
            k: (v.copy() if isinstance(v, pd.DataFrame) else copy.deepcopy(v))
            for k, v in state.items()
        }
    return out


def quarantine(job: dict, now: datetime) -> None:
    """Put a synchronizationJob into quarantine (graph.md §6 shapes)."""
    began = iso(now - timedelta(days=2, hours=3))
    status = job["status"]
    status["code"] = "Quarantine"
    status["countSuccessiveCompleteFailures"] = 3
    status["quarantine"] = {
        "currentBegan": began,
        "nextAttempt": iso(now + timedelta(hours=9)),
        "reason": "EncounteredEscrowProportionThreshold",
        "seriesBegan": began,
        "seriesCount": 3,
        "error": {
            "code": "SystemForCrossDomainIdentityManagementBadResponse",
            "message": "More than 40% of the exports in the last cycle failed.",
            "tenantActionable": True,
        },
    }
    status["lastExecution"] = dict(status["lastExecution"], state="Failed")


# ------------------------------------------------------------------ small vectorised helpers
def _guids(rng: np.random.Generator, n: int) -> np.ndarray:
    b = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    h = b.tobytes().hex()
    return np.array(
        [
            f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-"
            f"{h[i + 16 : i + 20]}-{h[i + 20 : i + 32]}"
            for i in range(0, 32 * n, 32)
        ],
        dtype=object,
    )


def _b64ids(rng: np.random.Generator, n: int, nbytes: int, length: int) -> np.ndarray:
    raw = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8).tobytes()
    return np.array(
        [
            base64.urlsafe_b64encode(raw[i : i + nbytes]).decode()[:length]
            for i in range(0, n * nbytes, nbytes)
        ],
        dtype=object,
    )


def _iso(values: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(values.astype("datetime64[s]"), unit="s", timezone="UTC")


def _np_time(t: datetime) -> np.datetime64:
    return np.datetime64(t.replace(tzinfo=None), "s")


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Builder:
    def __init__(self, n: int, seed: int, scenario: str, now: datetime):
        self.n, self.seed, self.scenario, self.now = n, seed, scenario, now
        self.rng = np.random.default_rng([seed, n, SCENARIOS.index(scenario)])
        self.mail_username = scenario == "mail-username"
        self.t = [now - age for age in PHASE_AGE]

    # -------------------------------------------------------------- situations
    def situations(self) -> None:
        n = self.n
        small = n < 200
        scale = min(n, SCALE_CAP)  # planted mess stops growing past this (bounded events)
        sizes = {name: max(1 if small else lo, int(frac * scale)) for name, frac, lo in SITUATIONS}
        if small:
            sizes["cand_fin"] = 9 if n >= 120 else 4
        n_hard = max(1, int(0.001 * scale))
        assigned_other = sum(v for k, v in sizes.items() if not k.startswith(("cand", "free")))
        sizes["sync"] = max(5, int(ASSIGNED_SHARE * n) - assigned_other)
        used = sum(sizes.values())
        if used > n:
            raise ValueError(f"{n} users are too few for the planted situations ({used})")
        sizes["free"] = n - used
        order = list(sizes)
        perm = self.rng.permutation(n)
        self.sit = np.empty(n + n_hard, dtype=object)
        start = 0
        self.block: dict[str, np.ndarray] = {}
        for name in order:
            idx = np.sort(perm[start : start + sizes[name]])
            self.sit[idx] = name
            self.block[name] = idx
            start += sizes[name]
        self.block["hard"] = np.arange(n, n + n_hard)
        self.sit[n:] = "hard"
        self.N = n + n_hard

    def isin(self, *names: str) -> np.ndarray:
        return np.isin(self.sit, names)

    # -------------------------------------------------------------- people
    def people(self) -> None:
        rng, N = self.rng, self.N
        G, S = pools.GIVEN, pools.SURNAME
        # names from one culture per person: CJK given names with CJK family names
        cjk_g = np.array(sorted(pools.CJK_GIVEN))
        cjk_s = np.array(sorted(pools.CJK_SURNAME))
        west_g = np.setdiff1d(np.arange(len(G)), cjk_g)
        west_s = np.setdiff1d(np.arange(len(S)), cjk_s)
        east = rng.random(N) < 0.08
        gi = np.where(
            east, cjk_g[rng.integers(0, len(cjk_g), N)], west_g[rng.integers(0, len(west_g), N)]
        )
        si = np.where(
            east, cjk_s[rng.integers(0, len(cjk_s), N)], west_s[rng.integers(0, len(west_s), N)]
        )
        given = np.array([g for g, _ in G], object)[gi]
        surname = np.array([s for s, _ in S], object)[si]
        ga = np.array([a for _, a in G], object)[gi]
        sa = np.array([a for _, a in S], object)[si]
        cjk = np.isin(gi, list(pools.CJK_GIVEN)) & np.isin(si, list(pools.CJK_SURNAME))
        display = np.where(cjk, surname + given, given + " " + surname)
        local = pd.Series(ga + "." + sa)
        dup = local.groupby(local).cumcount().to_numpy()
        local = np.where(dup > 0, local + (dup + 1).astype(str).astype(object), local.to_numpy())
        caps = rng.random(N) < 0.1
        cap_local = np.array(
            [
                x[:1].upper() + x[1 : x.index(".") + 1] + x[x.index(".") + 1 :].capitalize()
                for x in local[caps]
            ],
            object,
        )
        upn_local = local.copy()
        upn_local[caps] = cap_local
        domain = np.where(rng.random(N) < 0.7, DOMAINS[0], DOMAINS[1]).astype(object)
        for name in ("np_domain",):
            domain[self.block[name]] = UNVERIFIED
        cf = self.block["cand_fin"]
        if len(cf) > 4:
            domain[cf[4]] = UNVERIFIED
        self.empno = np.arange(10_001, 10_001 + N)
        emp = self.empno.astype(str).astype(object)
        upn = upn_local + "@" + domain
        mail = upn.copy()
        # mail != UPN (a second naming scheme); unique through the employee number
        alt = self.block["mailalt"]
        mail[alt] = ga[alt] + "_" + sa[alt] + "." + emp[alt] + "@" + DOMAINS[1]
        # aliases (smtp:) and personal otherMails
        alias = np.full(N, None, object)
        has_alias = (rng.random(N) < 0.15) | self.isin("econflict")
        alias[has_alias] = (
            np.array([a[:1] for a in ga[has_alias]], object)
            + sa[has_alias]
            + emp[has_alias]
            + "@"
            + DOMAINS[1]
        )
        other = np.full(N, None, object)
        has_other = rng.random(N) < 0.1
        other[has_other] = (
            ga[has_other] + "." + sa[has_other] + "." + emp[has_other] + "@outlook.example"
        )
        user_type = np.full(N, "Member", object)
        guests = np.concatenate([self.block["np_guest"], cf[1:2]])
        ext = np.array(pools.EXTERNAL_DOMAINS, object)[rng.integers(0, 4, len(guests))]
        ext_mail = local[guests] + "." + emp[guests] + "@" + ext
        tenant_short = f"contoso{self.seed % 1000:03d}"
        self.onmicrosoft = f"{tenant_short}.onmicrosoft.com"
        upn[guests] = (
            np.array([m.replace("@", "_") for m in ext_mail], object) + "#EXT#@" + self.onmicrosoft
        )
        mail[guests] = ext_mail
        user_type[guests] = "Guest"
        alias[guests] = None
        dept_idx = rng.choice(
            len(pools.DEPARTMENTS),
            N,
            p=np.array(pools.DEPARTMENT_WEIGHTS) / sum(pools.DEPARTMENT_WEIGHTS),
        )
        dept = np.array(pools.DEPARTMENTS, object)[dept_idx]
        dept[self.isin("cand_fin", "cand_fin_nested", "cand_fin_nested2")] = "Finance"
        dept[self.isin("cand_legal")] = "Legal"
        contractors = self.isin("filter_never", "champion", "champion_lc")
        dept[contractors] = "Contractors"
        fnev = self.block["filter_never"]
        if self.mail_username:
            dept[fnev[::2]] = None  # null department fails NOT EQUALS too
        job = np.array(pools.JOB_TITLES, object)[rng.integers(0, len(pools.JOB_TITLES), N)]
        job[self.block["champion"]] = "Zoom Champion"
        job[self.block["champion_lc"]] = "zoom champion"
        country_idx = rng.choice(
            len(pools.COUNTRIES), N, p=np.array(pools.COUNTRY_WEIGHTS) / sum(pools.COUNTRY_WEIGHTS)
        )
        # planted missing attributes (candidates and never-provisioned disabled users only)
        surname = surname.astype(object)
        for idx in (cf[2:3], self.block["dis_never"][:1]):
            surname[idx] = None
            display[idx] = given[idx]
        for idx in (cf[3:4], self.block["dis_never"][1:2]):
            mail[idx] = None
            alias[idx] = None
        free = self.block["free"]
        nomail = free[rng.random(len(free)) < 0.03]
        mail[nomail] = None
        alias[nomail] = None
        # duplicate expected userName: two candidates share one mailbox address
        if len(cf) > 7:
            p, a = cf[6], cf[7]
            mail[a] = mail[p][:1].upper() + mail[p][1:]
            alias[a] = None
            self.dup_pair = (p, a)
        else:
            self.dup_pair = None
        self.given, self.surname, self.display = given, surname, display
        self.upn, self.mail, self.alias, self.other = upn, mail, alias, other
        self.user_type, self.dept, self.job = user_type, dept, job
        self.country_idx = country_idx
        self.final_dept = dept.copy()
        if self.mail_username:
            self.final_dept[self.block["filter_post"]] = "Contractors"
        self.uname = mail if self.mail_username else upn

    # -------------------------------------------------------------- Entra tables
    def users_frame(self) -> pd.DataFrame:
        rng, N, now = self.rng, self.N, self.now
        ids = _guids(rng, N)
        self.ids = ids
        created = _np_time(now) - (rng.integers(210, 2000, N) * 86400).astype("timedelta64[s]")
        signin = _np_time(now) - rng.integers(0, 60 * 86400, N).astype("timedelta64[s]")
        never = rng.random(N) < 0.05
        signin_iso = _iso(signin).astype(object)
        signin_iso[never] = None
        # list cells: empty lists (and licence lists) are shared objects; treat as read-only
        empty: list = []
        proxy = [
            ([f"SMTP:{m}", f"smtp:{a}"] if a else [f"SMTP:{m}"]) if m and t == "Member" else empty
            for m, a, t in zip(self.mail, self.alias, self.user_type, strict=True)
        ]
        other = [[o] if o else empty for o in self.other]
        skus = [[{"skuId": s, "disabledPlans": []}] for s in pools.SKUS]
        upn = pd.Series(self.upn, dtype="str")
        nickname = pc.replace_substring_regex(pa.array(upn), pattern="@.*$", replacement="")
        lic = rng.integers(0, len(skus) + 1, N)
        countries = pools.COUNTRIES
        frame = pd.DataFrame(
            {
                "id": ids,
                "userPrincipalName": upn,
                "displayName": self.display,
                "givenName": self.given,
                "surname": self.surname,
                "mail": self.mail,
                "mailNickname": pd.Series(nickname, dtype="str"),
                "otherMails": other,
                "proxyAddresses": proxy,
                "accountEnabled": True,
                "department": self.final_dept,
                "jobTitle": self.job,
                "employeeId": "E" + self.empno.astype(str).astype(object),
                "country": np.array([c[0] for c in countries], object)[self.country_idx],
                "usageLocation": np.array([c[1] for c in countries], object)[self.country_idx],
                "userType": self.user_type,
                "createdDateTime": _iso(created),
                "onPremisesSyncEnabled": np.where(rng.random(N) < 0.6, True, None),
                "assignedLicenses": [skus[k] if k < len(skus) else empty for k in lic],
                "lastSignInDateTime": signin_iso,
                "lastSuccessfulSignInDateTime": signin_iso,
                "lastNonInteractiveSignInDateTime": signin_iso,
                "deletedDateTime": None,
            }
        )
        for col in frame.columns:
            if col in ("accountEnabled",):
                frame[col] = frame[col].astype(bool)
            elif col == "onPremisesSyncEnabled":
                frame[col] = frame[col].astype("boolean")
            elif col not in ("otherMails", "proxyAddresses", "assignedLicenses"):
                frame[col] = frame[col].astype("str")
        # phase-dependent state: enabled from / deleted from
        self.disabled_from = np.full(N, 99)
        for name, ph in (
            ("dis_never", 0),
            ("nested_disabled", 0),
            ("dis_pre", 1),
            ("dis_post", FINAL),
        ):
            self.disabled_from[self.block[name]] = ph
        cf = self.block["cand_fin"]
        self.disabled_from[cf[0:1]] = 0
        self.deleted_from = np.full(N, 99)
        self.deleted_from[self.block["sdel_pre"]] = 2
        self.deleted_from[self.block["sdel_post"]] = FINAL
        self.hard_from = np.full(N, 99)
        self.hard_from[self.block["hard"]] = 1
        return frame

    def users_at(self, phase: int) -> pd.DataFrame:
        keep = self.hard_from > phase  # hard-deleted users are the last rows
        frame = self.users.iloc[: int(keep.sum())]
        enabled = self.disabled_from[keep] > phase
        when = np.full(len(frame), None, object)
        dflag = self.deleted_from[keep] <= phase
        when[dflag] = [
            iso(self.t[1] + timedelta(days=3) if p < FINAL else self.now - timedelta(minutes=10))
            for p in self.deleted_from[keep][dflag]
        ]
        dept = self.final_dept[keep] if phase >= FINAL else self.dept[keep]
        return frame.assign(
            accountEnabled=enabled,
            deletedDateTime=pd.Series(when, dtype="str"),
            department=pd.Series(dept, dtype="str"),
        )

    def structure(self) -> None:
        """Groups, memberships and assignments, each with a [start, end) phase range."""
        rng = self.rng
        keys = list(GROUPS)
        gids = _guids(rng, len(keys))
        self.gid = dict(zip(keys, gids, strict=True))
        mem: list[tuple[str, np.ndarray, str, int, int]] = []  # group, member idx, type, s, e
        asg: list[tuple[np.ndarray, str, int, int]] = []  # user idx, role, start, end
        b = self.block
        # how ordinary assigned users get Zoom: direct or through one of the assigned groups
        pool = np.concatenate(
            [
                b[k]
                for k in (
                    "sync",
                    "drift",
                    "mailalt",
                    "pending",
                    "zinactive",
                    "np_domain",
                    "np_guest",
                    "np_foreign",
                    "dis_post",
                    "dis_pre",
                    "dis_never",
                    "sdel_post",
                    "sdel_pre",
                    "filter_post",
                    "filter_never",
                    "champion",
                    "champion_lc",
                    "hard",
                )
            ]
        )
        pool.sort()
        how = rng.choice(5, len(pool), p=[0.3, 0.2, 0.2, 0.2, 0.1])
        how[np.isin(pool, np.concatenate([b["champion"], b["champion_lc"]])) & (how == 4)] = 1
        drift_idx = np.isin(pool, b["drift"])
        how[drift_idx & (how == 0)] = 1  # drift users: Licensed or Basic role only
        direct = pool[how == 0]
        dr = rng.random(len(direct))
        roles = np.where(dr < 0.6, "Licensed", np.where(dr < 0.95, "Basic", "On-Prem"))
        roles[np.isin(direct, b["drift"])] = "Licensed"
        for role in ("Licensed", "Basic", "On-Prem"):
            asg.append((direct[roles == role], role, 0, 99))
        for k, g in ((1, "lic"), (2, "sales"), (3, "support"), (4, "dyn")):
            mem.append((g, pool[how == k], "user", 0, 99))
        self.job[pool[how == 4]] = "Webinar Host"
        self.users["jobTitle"] = pd.Series(self.job, dtype="str")
        # both direct and via a group (same role), both direct and in a nested group
        lic_direct = direct[roles == "Licensed"]
        mem.append(("lic", lic_direct[: max(1, len(lic_direct) // 20)], "user", 0, 99))
        mem.append(("emea", lic_direct[-max(1, len(lic_direct) // 20) :], "user", 0, 99))
        # situations with a fixed route
        asg.append((b["sync_recent"][::2], "Licensed", 1, 99))
        asg.append((b["sync_recent"][1::2], "Basic", 1, 99))
        mem.append(("sales", b["throttled"], "user", 2, 99))
        asg.append((b["np_license"], "Licensed", 3, 99))
        bad = b["np_badrole"]
        asg.append((bad[::2], "Pro", 0, 99))
        asg.append((bad[1::2], "Corp", 0, 99))
        asg.append((b["np_new"], "Basic", FINAL, 99))
        asg.append((b["econflict"], "Licensed", FINAL, 99))
        asg.append((b["unasg_post"], "Licensed", 0, FINAL))
        asg.append((b["unasg_pre"], "Basic", 0, 2))
        nn = b["nested_none"]
        mem.append(("emea", nn[::2], "user", 0, 99))
        mem.append(("interns", nn[1::2], "user", 0, 99))
        mem.append(("sales", b["nested_active"], "user", 0, FINAL))
        mem.append(("emea", b["nested_active"], "user", FINAL, 99))
        mem.append(("sales", b["nested_inactive"], "user", 0, 2))
        mem.append(("interns", b["nested_inactive"], "user", 2, 99))
        mem.append(("emea", b["nested_disabled"], "user", 0, 99))
        # candidate groups (not assigned) and nesting
        mem.append(("fin", b["cand_fin"], "user", 0, 99))
        mem.append(("payroll", b["cand_fin_nested"], "user", 0, 99))
        mem.append(("payroll_ext", b["cand_fin_nested2"], "user", 0, 99))
        mem.append(("legal", b["cand_legal"], "user", 0, 99))
        free = b["free"]
        mem.append(("itadm", free[:5], "user", 0, 99))
        mem.append(("phoenix", free[5:25], "user", 0, 99))
        # soft-deleted users lose memberships and assignments when deleted; hard ones too
        gone = np.minimum(self.deleted_from, self.hard_from)
        rows = []
        for g, idx, _typ, s, e in mem:
            for i in idx.tolist():
                rows.append((self.gid[g], int(i), s, min(e, int(gone[i]))))
        for parent, child in (
            ("sales", "emea"),
            ("emea", "interns"),
            ("fin", "payroll"),
            ("payroll", "payroll_ext"),
        ):
            rows.append((self.gid[parent], -1 - keys.index(child), 0, 99))
        self.mem_rows = pd.DataFrame(rows, columns=["group_id", "member", "start", "end"])
        arows = []
        for idx, role, s, e in asg:
            for i in idx.tolist():
                arows.append(("User", int(i), role, s, min(e, int(gone[i]))))
        for key, (_name, role, _d) in GROUPS.items():
            if role:
                arows.append(("Group", -1 - keys.index(key), role, 0, 99))
        self.asg_rows = pd.DataFrame(arows, columns=["ptype", "principal", "role", "start", "end"])
        self.asg_rows["id"] = _b64ids(rng, len(arows), 32, 43)
        self.asg_rows["created"] = [
            iso(
                self.t[0] - timedelta(days=30)
                if s == 0
                else (
                    self.t[s] - timedelta(hours=6)
                    if s < FINAL
                    else self.now - timedelta(minutes=15)
                )
            )
            for s in self.asg_rows["start"]
        ]

    def groups_frame(self) -> pd.DataFrame:
        rows = []
        for key, (name, _role, desc) in GROUPS.items():
            dynamic = key == "dyn"
            unified = key == "phoenix"
            rows.append(
                {
                    "id": self.gid[key],
                    "displayName": name,
                    "description": desc,
                    "securityEnabled": not unified,
                    "mailEnabled": unified,
                    "mail": "phoenix@contoso.example" if unified else None,
                    "groupTypes": ["DynamicMembership"]
                    if dynamic
                    else (["Unified"] if unified else []),
                    "membershipRule": 'user.jobTitle -eq "Webinar Host"' if dynamic else None,
                    "membershipRuleProcessingState": "On" if dynamic else None,
                    "createdDateTime": iso(self.t[0] - timedelta(days=60)),
                }
            )
        frame = pd.DataFrame(rows)
        for col in (
            "id",
            "displayName",
            "description",
            "mail",
            "membershipRule",
            "membershipRuleProcessingState",
            "createdDateTime",
        ):
            frame[col] = frame[col].astype("str")
        return frame

    def members_at(self, phase: int) -> pd.DataFrame:
        rows = self.mem_rows[(self.mem_rows["start"] <= phase) & (phase < self.mem_rows["end"])]
        member = rows["member"].to_numpy()
        keys = list(GROUPS)
        is_group = member < 0
        mid = np.empty(len(rows), object)
        mid[~is_group] = self.ids[member[~is_group]]
        mid[is_group] = [self.gid[keys[-1 - m]] for m in member[is_group]]
        return pd.DataFrame(
            {
                "group_id": rows["group_id"].to_numpy(object),
                "member_id": mid,
                "member_type": np.where(is_group, "group", "user"),
            }
        ).astype("str")

    def assignments_at(self, phase: int) -> pd.DataFrame:
        rows = self.asg_rows[(self.asg_rows["start"] <= phase) & (phase < self.asg_rows["end"])]
        keys = list(GROUPS)
        principal = rows["principal"].to_numpy()
        is_group = rows["ptype"].to_numpy() == "Group"
        pid = np.empty(len(rows), object)
        pname = np.empty(len(rows), object)
        pid[~is_group] = self.ids[principal[~is_group]]
        pname[~is_group] = self.display[principal[~is_group]]
        gk = [keys[-1 - p] for p in principal[is_group]]
        pid[is_group] = [self.gid[k] for k in gk]
        pname[is_group] = [GROUPS[k][0] for k in gk]
        return pd.DataFrame(
            {
                "id": rows["id"].to_numpy(object),
                "appRoleId": rows["role"].map(sch.ROLE_ID).to_numpy(object),
                "principalId": pid,
                "principalType": rows["ptype"].to_numpy(object),
                "principalDisplayName": pname,
                "createdDateTime": rows["created"].to_numpy(object),
            }
        ).astype("str")

    def final_routes(self) -> None:
        """Per final user: direct/group_direct/nested flags and the SingleAppRoleAssignment role,
        straight from the construction rows (not from the tenant tables)."""
        n = self.n
        a = self.asg_rows[(self.asg_rows["start"] <= FINAL) & (FINAL < self.asg_rows["end"])]
        m = self.mem_rows[(self.mem_rows["start"] <= FINAL) & (FINAL < self.mem_rows["end"])]
        self.f_direct = np.zeros(n, bool)
        self.f_group = np.zeros(n, bool)
        self.f_nested = np.zeros(n, bool)
        self.f_role = np.full(n, None, object)
        du = a[a["ptype"] == "User"]
        self.f_direct[du["principal"].to_numpy()] = True
        self.f_role[du["principal"].to_numpy()] = du["role"].to_numpy()
        assigned = {self.gid[k]: r for k, (_n, r, _d) in GROUPS.items() if r}
        nested_groups = {self.gid["emea"], self.gid["interns"]}
        users_m = m[m["member"] >= 0]
        ing = users_m[users_m["group_id"].isin(assigned.keys())]
        idx = ing["member"].to_numpy()
        self.f_group[idx] = True
        grole = ing["group_id"].map(assigned).to_numpy()
        unset = pd.isna(self.f_role[idx])
        self.f_role[idx[unset]] = grole[unset]
        nest = users_m[users_m["group_id"].isin(nested_groups)]["member"].to_numpy()
        self.f_nested[nest] = True
        self.f_nested &= ~(self.f_direct | self.f_group)
        self.cand_sets = {}
        for key in CANDIDATE_GROUPS:
            below = {self.gid[key]}
            for parent, child in (("fin", "payroll"), ("payroll", "payroll_ext")):
                if self.gid[parent] in below:
                    below.add(self.gid[child])
            direct = users_m[users_m["group_id"] == self.gid[key]]["member"].to_numpy()
            allm = users_m[users_m["group_id"].isin(below)]["member"].to_numpy()
            self.cand_sets[GROUPS[key][0]] = (np.unique(allm), np.unique(direct))

    # -------------------------------------------------------------- Zoom side
    def _zrow(
        self,
        email: str,
        *,
        status: str,
        ztype: int,
        created: datetime,
        first=None,
        last=None,
        display=None,
        dept=None,
        sso=False,
        role_id="2",
    ) -> dict:
        return {
            "id": None,
            "email": email,
            "first_name": first,
            "last_name": last,
            "display_name": display,
            "type": ztype,
            "status": status,
            "dept": dept,
            "role_id": role_id,
            "last_login_time": None,
            "created_at": iso(created),
            "user_created_at": iso(created),
            "last_modified": iso(created),
            "login_sso": sso,
            "last_client_version": None,
            "timezone": "",
            "pmi": None,
        }

    def _person(self, i: int, email: str, **kw) -> dict:
        return self._zrow(
            email,
            first=self.given[i],
            last=self.surname[i],
            display=self.display[i],
            dept=self.dept[i],
            **kw,
        )

    def handmade(self) -> pd.DataFrame:
        """Zoom accounts made by hand before provisioning started (owner/kind recorded)."""
        b, n = self.block, self.n
        t = self.t[0] - timedelta(days=10)
        rows, owner, kind = [], [], []

        def add(row: dict, who: int, what: str) -> None:
            rows.append(row)
            owner.append(who)
            kind.append(what)

        role_type = {"Licensed": 2, "Basic": 1, "On-Prem": 3}
        for i in b["pending"]:
            add(
                self._person(
                    i,
                    self.uname[i].lower(),
                    status="pending",
                    ztype=role_type.get(self.f_role[i], 1),
                    created=t,
                ),
                i,
                "pending",
            )
        for i in b["nested_disabled"]:
            add(
                self._person(i, self.uname[i].lower(), status="active", ztype=1, created=t),
                i,
                "owned",
            )
        for k, i in enumerate(b["free_zoom_active"]):
            add(
                self._person(i, self.uname[i], status="active", ztype=1 + k % 2, created=t),
                i,
                "owned",
            )
        for i in b["free_zoom_inactive"]:
            add(
                self._person(i, self.uname[i].lower(), status="inactive", ztype=1, created=t),
                i,
                "owned",
            )
        cf, cl = b["cand_fin"], b["cand_legal"]
        if len(cf) > 5:
            add(
                self._person(
                    cf[5], self.uname[cf[5]].lower(), status="active", ztype=1, created=t
                ),
                cf[5],
                "owned",
            )
        add(
            self._person(cl[0], self.uname[cl[0]].lower(), status="inactive", ztype=2, created=t),
            cl[0],
            "owned",
        )
        for i in b["econflict"]:
            add(self._person(i, self.alias[i], status="active", ztype=1, created=t), i, "conflict")
        k_un = max(4, int(0.003 * n))
        types = (2, 1, 4, 99, 1, 2)
        add(
            self._zrow(
                "zoom.admin@contoso.example",
                status="active",
                ztype=2,
                created=t,
                first="Zoom",
                last="Admin",
                display="Zoom Admin",
                dept="IT",
                role_id="0",
            ),
            -1,
            "unmanaged",
        )
        for k in range(1, k_un):
            add(
                self._zrow(
                    f"zoom.room.{k:03d}@{DOMAINS[k % 2]}",
                    status="active",
                    ztype=types[k % len(types)],
                    created=t - timedelta(days=k),
                    first="Room",
                    last=f"{k:03d}",
                    display=f"Meeting Room {k:03d}",
                ),
                -1,
                "unmanaged",
            )
        for k in range(max(2, int(0.001 * n))):
            add(
                self._zrow(f"invite.{k:03d}@{DOMAINS[1]}", status="pending", ztype=1, created=t),
                -1,
                "pending",
            )
        for k in range(max(2, int(0.001 * n))):
            add(
                self._zrow(
                    f"former.staff.{k:03d}@{DOMAINS[0]}",
                    status="inactive",
                    ztype=2,
                    created=t,
                    first="Former",
                    last=f"Staff {k}",
                    display=f"Former Staff {k}",
                ),
                -1,
                "inactive",
            )
        frame = pd.DataFrame(rows)
        frame["id"] = _b64ids(self.rng, len(frame), 16, 22)
        frame["pmi"] = self.rng.integers(2_000_000_000, 9_999_999_999, len(frame))
        self.hand_owner = dict(zip(frame["id"], owner, strict=True))
        self.hand_kind = dict(zip(frame["id"], kind, strict=True))
        return cyc.zoom_dtypes(frame)

    def plans(self, hosts: int) -> dict:
        return {
            "plan_base": {"type": "yearly", "hosts": hosts, "usage": 0, "pending": 0},
            "plan_webinar": [
                {"type": "webinar500_yearly", "hosts": 3, "usage": 2, "pending": 0},
                {"type": "webinar1000_yearly", "hosts": 1, "usage": 1, "pending": 0},
            ],
            "plan_large_meeting": [
                {"type": "large500_yearly", "hosts": 2, "usage": 1, "pending": 0}
            ],
            "plan_recording": {
                "type": "cmr_yearly_commitment_40",
                "free_storage": "5 GB",
                "free_storage_usage": "1.2 GB",
                "plan_storage": "10 GB",
                "plan_storage_usage": "3 GB",
                "plan_storage_exceed": "0",
                "max_exceed_date": "",
            },
            "plan_whiteboard": {"type": "zwb_yearly", "hosts": 10, "usage": 6, "pending": 0},
            "plan_zoom_quantum": {
                "type": "zq_future_plan",
                "hosts": 1,
                "usage": 0,
                "note": "unknown plan key: carry it as it comes",
            },
        }

    # -------------------------------------------------------------- build
    def mark(self, label: str) -> None:
        """Record CPU seconds and peak RSS after a stage (read by bench/bench_generate.py)."""
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        LAST_MARKS.append((label, round(time.process_time() - self.cpu0, 2), round(rss)))

    def build(self) -> Tenant:
        rng = self.rng
        LAST_MARKS.clear()
        self.cpu0 = time.process_time()
        self.situations()
        self.people()
        self.mark("people")
        self.users = self.users_frame()
        self.mark("users frame")
        self.structure()
        self.final_routes()
        self.mark("groups and assignments")
        tenant_id, sp_id, job_guid, rule_id = _guids(rng, 4)
        job_id = f"{sch.TEMPLATE_ID}.{tenant_id.replace('-', '')}.{job_guid}"
        base = iso(self.t[0])
        tenant = Tenant(
            seed=self.seed,
            tenant_id=tenant_id,
            now=self.now,
            verified_domains=[*DOMAINS, UNVERIFIED, self.onmicrosoft],
            users=self.users_at(0),
            groups=self.groups_frame(),
            members=self.members_at(0),
            service_principal=sch.service_principal(sp_id, tenant_id),
            other_service_principals=sch.other_service_principals(),
            assignments=self.assignments_at(0),
            provisioning_events=[],
            sync_jobs=[
                sch.job(
                    job_id,
                    last_began=base,
                    last_ended=base,
                    first_steady=base,
                    entitled=0,
                    exported=0,
                    escrowed=0,
                    synced=0,
                )
            ],
            sync_schemas={job_id: sch.sync_schema(job_id, self.scenario, rule_id)},
            zoom_account_id=str(_b64ids(rng, 1, 16, 22)[0]),
            zoom_users=self.handmade(),
            zoom_plans=self.plans(10 * self.N + 100),
            zoom_domains=[
                {"domain": DOMAINS[0], "status": "verified"},
                {"domain": DOMAINS[1], "status": "verified"},
                {"domain": UNVERIFIED, "status": "pending"},
            ],
            zoom_activities=[],
            scenario=self.scenario,
        )
        state = cyc.settings(tenant)
        state["foreign_emails"] = frozenset(
            self.uname[i].lower() for i in self.block["np_foreign"]
        )
        for phase in range(4):
            if phase == 1:
                self.early_drift(tenant)
            if phase:
                tenant.users = self.users_at(phase)
                tenant.members = self.members_at(phase)
                tenant.assignments = self.assignments_at(phase)
            state["throttle_limit"] = 0 if phase == 2 else None
            if phase == 3:  # no free Licensed seat in the last cycle
                z = tenant.zoom_users
                used = int(((z["type"] == 2) & (z["status"] != "pending")).sum())
                tenant.zoom_plans["plan_base"]["hosts"] = used
            cyc.run_cycle(
                tenant, self.t[phase], events=self.t[phase] >= self.now - timedelta(days=30)
            )
            self.mark(f"cycle {phase}")
        state["throttle_limit"] = None
        tenant.users = self.users_at(FINAL)
        tenant.members = self.members_at(FINAL)
        tenant.assignments = self.assignments_at(FINAL)
        self.mess(tenant)
        self.logins(tenant)
        self.mark("mess and logins")
        z = tenant.zoom_users
        usage = int(((z["type"] == 2) & (z["status"] != "pending")).sum())
        plan = tenant.zoom_plans["plan_base"]
        plan.update(
            hosts=usage + max(2, usage // 25),
            usage=usage,
            pending=int((z["status"] == "pending").sum()),
        )
        if self.scenario == "quarantine":
            quarantine(tenant.sync_jobs[0], self.now)
        tenant.answer_key = answer_key.build(tenant, self.facts(tenant))
        self.mark("answer key")
        tenant.touch()
        return tenant

    def early_drift(self, tenant: Tenant) -> None:
        """Zoom edits made before the recent cycles; the cycles repair them (update events)."""
        z = tenant.zoom_users
        zr = self.zoom_rows(tenant)
        sync = self.block["sync"]
        sync = sync[zr[sync] >= 0][: max(2, len(sync) // 200)]
        pos = zr[sync]
        z.loc[pos[::2], "dept"] = "Unknown"
        z.loc[pos[1::2], "status"] = "inactive"
        tenant.zoom_users = z

    # -------------------------------------------------------------- after the last cycle
    def zoom_rows(self, tenant: Tenant) -> np.ndarray:
        """Per final user: position in ``tenant.zoom_users`` of the row holding their expected
        userName (-1 when none): the cycle's anchors plus the hand-made rows' owners."""
        z = tenant.zoom_users
        zpos = pd.Series(np.arange(len(z)), index=z["id"].to_numpy(object))
        anchors = cyc.settings(tenant)["anchors"]
        a_user = cyc.positions(anchors["entra_id"], self.ids[: self.n])
        a_z = cyc.positions(anchors["zoom_id"], z["id"])
        rows = np.full(self.n, -1, np.int64)
        ok = (a_user >= 0) & (a_z >= 0)
        rows[a_user[ok]] = a_z[ok]
        self.conflict = np.full(self.n, -1, np.int64)
        for zid, who in self.hand_owner.items():
            if who >= 0 and zid in zpos.index:
                target = self.conflict if self.hand_kind[zid] == "conflict" else rows
                target[who] = zpos[zid]
        return rows

    def mess(self, tenant: Tenant) -> None:
        rng, b, now = self.rng, self.block, self.now
        z = tenant.zoom_users.copy()
        zr = self.zoom_rows(tenant)
        edits: dict[str, dict[int, object]] = {}

        def put(col: str, pos: int, value: object) -> None:
            edits.setdefault(col, {})[int(pos)] = value
            edits.setdefault("last_modified", {})[int(pos)] = iso(now - timedelta(minutes=5))

        deps = pools.DEPARTMENTS
        for k, i in enumerate(b["drift"]):
            p = zr[i]
            kind = k % 4
            if kind == 0:
                put("display_name", p, f"{z.at[p, 'display_name']} (Zoom)")
            elif kind == 1:
                put(
                    "dept",
                    p,
                    deps[(deps.index(z.at[p, "dept"]) + 1) % len(deps)]
                    if z.at[p, "dept"] in deps
                    else "Sales",
                )
            elif kind == 2:
                put("last_name", p, f"{z.at[p, 'last_name']}-Okafor")
            else:
                put("type", p, 3 - int(z.at[p, "type"]))
        for i in b["zinactive"]:
            put("status", zr[i], "inactive")
        sync = b["sync"]
        sync = sync[zr[sync] >= 0]
        accented = [
            i
            for i in sync.tolist()
            if unicodedata.normalize("NFD", self.display[i]) != self.display[i]
        ]
        for i in accented[: max(2, len(sync) // 100)]:
            p = zr[i]
            for col in ("display_name", "first_name", "last_name"):
                value = z.at[p, col]
                if isinstance(value, str):
                    put(col, p, unicodedata.normalize("NFD", value))
        rest = np.setdiff1d(sync, np.array(accented, np.int64))
        pick = rng.permutation(rest)
        k_case = max(2, len(rest) // 100)
        for i in pick[:k_case]:
            put("email", zr[i], z.at[zr[i], "email"].title())
        for i in pick[k_case : k_case + max(1, len(rest) // 200)]:
            put("display_name", zr[i], f"{z.at[zr[i], 'display_name']} ")
        for col, vals in edits.items():
            pos = np.fromiter(vals, np.int64)
            z.loc[pos, col] = pd.Series(list(vals.values()), index=pos).astype(z[col].dtype)
        # licensed, never signed in, created 1, 30 and 31 days ago (inactive-rule boundaries)
        extra = [
            self._zrow(
                f"zoom.trial.{d:02d}@{DOMAINS[0]}",
                status="active",
                ztype=2,
                created=now - timedelta(days=d),
                first="Trial",
                last=f"{d:02d}",
                display=f"Trial {d:02d}",
            )
            for d in (1, 30, 31)
        ]
        frame = pd.DataFrame(extra)
        frame["id"] = _b64ids(rng, len(extra), 16, 22)
        frame["pmi"] = rng.integers(2_000_000_000, 9_999_999_999, len(extra))
        for zid in frame["id"]:
            self.hand_owner[zid] = -1
            self.hand_kind[zid] = "unmanaged"
        tenant.zoom_users = pd.concat([z, cyc.zoom_dtypes(frame)], ignore_index=True)
        self.never_login = set(frame["id"])

    def logins(self, tenant: Tenant) -> None:
        rng, now = self.rng, self.now
        z = tenant.zoom_users
        m = len(z)
        zr = self.zoom_rows(tenant)
        u = rng.random(m)
        day = 86400
        offset = np.select(
            [u < 0.78, u < 0.88, u < 0.95],
            [
                rng.integers(600, 30 * day, m),
                rng.integers(30 * day, 89 * day, m),
                rng.integers(92 * day, 400 * day, m),
            ],
            -1,
        )
        now64 = _np_time(now)
        login = now64 - np.maximum(offset, 0).astype("timedelta64[s]")
        created = pd.to_datetime(z["created_at"], utc=True).dt.tz_localize(None)
        created = created.to_numpy().astype("datetime64[s]")
        late = login < created
        login[late] = created[late] + np.timedelta64(3600, "s")
        never = (offset < 0) | (login > now64) | (z["status"] == "pending").to_numpy()
        never |= z["id"].isin(self.never_login).to_numpy()
        recent = self.block["sync_recent"][::2]
        never[zr[recent][zr[recent] >= 0]] = True
        # boundaries: licensed users last seen exactly 90 and 91 days ago
        sync = self.block["sync"]
        sync = sync[zr[sync] >= 0]
        ztype = z["type"].to_numpy(np.int64, na_value=0)
        lic_sync = sync[(self.f_role[sync] == "Licensed") & (ztype[zr[sync]] == 2)].tolist()
        for i, days in zip(lic_sync[:2], (90, 91), strict=False):
            login[zr[i]] = now64 - np.timedelta64(days * day, "s")
            never[zr[i]] = False
        text = _iso(login).astype(object)
        text[never] = None
        versions = np.array(pools.CLIENT_VERSIONS, object)[rng.integers(0, 8, m)]
        versions[never] = None
        tz = np.full(m, "", object)
        owners = np.flatnonzero(zr >= 0)
        tz[zr[owners]] = np.array([c[2] for c in pools.COUNTRIES], object)[
            self.country_idx[owners]
        ]
        tenant.zoom_users = z.assign(
            last_login_time=pd.Series(text, dtype="str"),
            last_client_version=pd.Series(versions, dtype="str"),
            timezone=pd.Series(tz, dtype="str"),
        )
        # report/activities: sign-ins of the most recent users (bounded)
        recent_pos = np.flatnonzero(~never & (login >= now64 - np.timedelta64(30 * day, "s")))
        recent_pos = recent_pos[np.argsort(login[recent_pos], kind="stable")][-2000:]
        acts = []
        clients = ("Windows", "Mac", "Android", "iOS", "Web")
        for p in recent_pos.tolist():
            t = str(text[p])
            email = z.at[p, "email"]
            client = clients[p % 5]
            ip = f"198.51.100.{p % 250 + 1}"
            acts.append(
                {
                    "email": email,
                    "time": t,
                    "type": "Sign in",
                    "ip_address": ip,
                    "client_type": client,
                    "version": versions[p].split("(")[0],
                }
            )
            if p % 2 == 0:
                out = login[p] + np.timedelta64(3600 * (1 + p % 7), "s")
                if out < now64:
                    acts.append(
                        {
                            "email": email,
                            "time": str(_iso(np.array([out]))[0]),
                            "type": "Sign out",
                            "ip_address": ip,
                            "client_type": client,
                            "version": versions[p].split("(")[0],
                        }
                    )
        acts.sort(key=lambda a: (a["time"], a["email"], a["type"]))
        tenant.zoom_activities = acts

    def facts(self, tenant: Tenant) -> dict:
        """What the answer key is derived from: the planted situations and links."""
        z = tenant.zoom_users
        zr = self.zoom_rows(tenant)
        zid = z["id"].to_numpy(object)
        n = self.n
        return {
            "scenario": self.scenario,
            "situation": self.sit[:n],
            "entra_id": self.ids[:n],
            "user_name": self.uname[:n],
            "zoom_row": np.where(zr >= 0, zid[np.maximum(zr, 0)], None),
            "conflict_row": np.where(self.conflict >= 0, zid[np.maximum(self.conflict, 0)], None),
            "zoom_only_kind": {k: v for k, v in self.hand_kind.items() if self.hand_owner[k] < 0},
            "direct": self.f_direct,
            "group_direct": self.f_group,
            "nested": self.f_nested,
            "role": self.f_role,
            "candidate_sets": self.cand_sets,
        }
