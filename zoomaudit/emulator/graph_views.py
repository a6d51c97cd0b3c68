"""Read-side views of the tenant for the Graph emulator, cached per ``tenant.version``.

Part of the emulator: the route modules ask these views for row positions, indexes and
Graph-shaped records, so a request touches only the rows of the page it serves.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from zoomaudit.emulator.core import EmulatorState
from zoomaudit.emulator.graph_common import EXTRA_USER_PROPS, SIGNIN_FIELDS, clean
from zoomaudit.emulator.graph_filter import Filter


class TenantView:
    """Read-side helpers over the tenant, rebuilt whenever ``tenant.version`` changes."""

    def __init__(self, state: EmulatorState):
        self.state = state
        self.version = -1
        self._cache: dict[str, Any] = {}

    def _fresh(self) -> None:
        version = self.state.tenant.version
        if version != self.version:
            self._cache = {}
            self.version = version

    def memo(self, key: Any, build) -> Any:
        self._fresh()
        if key not in self._cache:
            with self.state.tenant.lock:
                self._cache[key] = build()
        return self._cache[key]

    # ---- users
    @property
    def users(self) -> pd.DataFrame:
        return self.state.tenant.users

    def live_positions(self) -> np.ndarray:
        return self.memo("live", lambda: np.flatnonzero(self.users["deletedDateTime"].isna()))

    def deleted_positions(self) -> np.ndarray:
        return self.memo("deleted", lambda: np.flatnonzero(self.users["deletedDateTime"].notna()))

    def user_index(self) -> dict[str, int]:
        def build() -> dict[str, int]:
            ids = self.users["id"].astype(object).tolist()
            return {str(i).lower(): n for n, i in enumerate(ids)}

        return self.memo("uidx", build)

    def upn_index(self) -> dict[str, int]:
        def build() -> dict[str, int]:
            upns = self.users["userPrincipalName"].astype(object).tolist()
            return {str(u).lower(): n for n, u in enumerate(upns)}

        return self.memo("upnidx", build)

    def find_user(self, key: str, *, live: bool = True) -> int | None:
        key = key.lower()
        pos = self.user_index().get(key)
        if pos is None:
            pos = self.upn_index().get(key)
        if pos is None:
            return None
        deleted = pd.notna(self.users["deletedDateTime"].iat[pos])
        return None if (live and deleted) else pos

    def column(self, name: str):
        """A function: row positions -> Python values of column ``name`` (None for missing).

        Built once per tenant version. Arrow-backed text columns are taken with pyarrow (no
        pandas indexing per page); the others through an object array.
        """

        def build():
            series = self.users[name]
            if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
                arr = pa.array(series.array)
                arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
                return lambda pos: arr.take(pa.array(pos, type=pa.int64())).to_pylist()
            values = series.to_numpy(dtype=object, na_value=None)
            return lambda pos: values[pos].tolist()

        return self.memo(("col", name), build)

    def user_records(
        self, positions: np.ndarray | list[int], props: tuple[str, ...]
    ) -> list[dict]:
        """Graph JSON for the users at ``positions``, with only ``props``."""
        positions = np.asarray(positions, dtype=np.int64)
        n = len(positions)
        if n == 0:
            return []
        columns = set(self.users.columns)
        keys, values = [], []
        for prop in props:
            keys.append(prop)
            if prop == "signInActivity":
                parts = [
                    self.column(c)(positions) if c in columns else [None] * n
                    for c in SIGNIN_FIELDS
                ]
                values.append([_signin(*vals) for vals in zip(*parts, strict=True)])
            elif prop in columns:
                values.append(self.column(prop)(positions))
            else:
                maker = EXTRA_USER_PROPS.get(prop)
                values.append([maker() for _ in range(n)] if maker else [None] * n)
        return [dict(zip(keys, row, strict=True)) for row in zip(*values, strict=True)]

    def user_rows_for_filter(self, positions: np.ndarray, flt: Filter) -> list[dict]:
        return self.user_records(positions, tuple(sorted(flt.roots | {"id"})))

    # ---- groups
    def groups(self) -> list[dict]:
        return self.memo("groups", lambda: _records(self.state.tenant.groups))

    def group_index(self) -> dict[str, int]:
        return self.memo("gidx", lambda: {g["id"].lower(): n for n, g in enumerate(self.groups())})

    def direct_members(self) -> dict[str, list[tuple[str, str]]]:
        def build() -> dict[str, list[tuple[str, str]]]:
            out: dict[str, list[tuple[str, str]]] = {}
            m = self.state.tenant.members
            for g, mid, kind in zip(
                m["group_id"].astype(object), m["member_id"].astype(object),
                m["member_type"].astype(object), strict=True,
            ):  # fmt: skip
                out.setdefault(str(g).lower(), []).append((str(mid), str(kind)))
            return out

        return self.memo("members", build)

    def groups_of(self) -> dict[str, set[str]]:
        """member id (lower case) -> ids of the groups it is a direct member of."""

        def build() -> dict[str, set[str]]:
            out: dict[str, set[str]] = {}
            for group, members in self.direct_members().items():
                for mid, _ in members:
                    out.setdefault(mid.lower(), set()).add(group)
            return out

        return self.memo("groups_of", build)

    def transitive_members(self, group_id: str) -> list[tuple[str, str]]:
        def build() -> list[tuple[str, str]]:
            direct = self.direct_members()
            seen: dict[str, str] = {}
            stack = [group_id.lower()]
            visited = {group_id.lower()}
            while stack:
                for mid, kind in direct.get(stack.pop(), []):
                    if mid not in seen:
                        seen[mid] = kind
                    if kind == "group" and mid.lower() not in visited:
                        visited.add(mid.lower())
                        stack.append(mid.lower())
            return list(seen.items())

        return self.memo(("trans", group_id.lower()), build)

    # ---- service principals and assignments
    def service_principals(self) -> list[dict]:
        t = self.state.tenant
        return [t.service_principal, *t.other_service_principals]

    def assignments(self) -> list[dict]:
        def build() -> list[dict]:
            sp = self.state.tenant.service_principal
            rows = _records(self.state.tenant.assignments)
            for row in rows:
                row.setdefault("deletedDateTime", None)
                row["resourceDisplayName"] = sp.get("displayName")
                row["resourceId"] = sp["id"]
            return rows

        return self.memo("assignments", build)


def _signin(last: Any, success: Any, non_interactive: Any) -> dict | None:
    if last is None and success is None and non_interactive is None:
        return None  # never signed in (or before April 2020): Graph gives no activity
    return {
        "lastSignInDateTime": last,
        "lastSignInRequestId": None,
        "lastNonInteractiveSignInDateTime": non_interactive,
        "lastNonInteractiveSignInRequestId": None,
        "lastSuccessfulSignInDateTime": success,
        "lastSuccessfulSignInRequestId": None,
    }


def _records(df: pd.DataFrame) -> list[dict]:
    if df is None or len(df) == 0:
        return []
    cols = {c: clean(df[c]) for c in df.columns}
    keys = list(cols)
    return [dict(zip(keys, row, strict=True)) for row in zip(*cols.values(), strict=True)]
