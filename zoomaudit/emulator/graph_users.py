"""Graph emulator routes for users: ``/users``, ``/users/$count``, ``/users/{id|upn}``,
``/users/{id}/appRoleAssignments``, ``/directory/deletedItems/microsoft.graph.user`` and
``/users/delta`` (graph.md §2, §9 items 4-7 and 9).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from zoomaudit.emulator.graph_base import GraphBase
from zoomaudit.emulator.graph_common import (
    DEFAULT_USER_PROPS,
    EXTRA_USER_PROPS,
    GRAPH_PREFIX,
    NOT_IN_COLLECTIONS,
    SIGNIN_FIELDS,
    Ctx,
    GraphError,
    Resp,
    decode_token,
    encode_token,
)
from zoomaudit.emulator.graph_filter import Filter, FilterError, evaluate, parse


class UsersRoutes(GraphBase):
    """Handlers: users (list, $count, by id or UPN, assignments), deleted users, delta."""

    # ---- users
    def _user_known(self) -> set[str]:
        cols = set(self.view.users.columns) - set(SIGNIN_FIELDS)
        return cols | set(DEFAULT_USER_PROPS) | set(EXTRA_USER_PROPS) | {"signInActivity"}

    def _user_props(self, ctx: Ctx, *, collection: bool = True) -> tuple[str, ...]:
        raw = ctx.q.get("$select")
        if not raw:
            return DEFAULT_USER_PROPS
        props = [p.strip() for p in raw.split(",") if p.strip()]
        known = self._user_known()
        for prop in props:
            if collection and prop in NOT_IN_COLLECTIONS:
                raise GraphError(
                    501, "NotImplemented", "This operation target is not yet supported."
                )
            if prop not in known and prop not in NOT_IN_COLLECTIONS:
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    f"Could not find a property named '{prop}' on type 'microsoft.graph.user'.",
                )
        return ("id", *[p for p in dict.fromkeys(props) if p != "id"])

    def _signin_gate(self) -> None:
        granted = self.state.options.graph_permissions
        if not self.state.options.premium or (
            granted is not None and "AuditLog.Read.All" not in granted
        ):
            raise GraphError(
                403,
                "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                "Neither tenant is B2C or tenant doesn't have premium license",
            )

    def _user_query(self, ctx: Ctx, base: str = "live") -> tuple[np.ndarray, bool]:
        """Positions of the users the query selects, and whether signInActivity is involved."""
        if "$skip" in ctx.q:
            raise GraphError(400, "Request_BadRequest", "'$skip' is not supported by the service.")
        flt = self._filter(ctx, self._user_known(), "User")
        orderby = ctx.q.get("$orderby", "").strip() or None
        search = ctx.q.get("$search", "").strip().strip('"') or None
        signin = "signInActivity" in (ctx.q.get("$select") or "")
        if flt is not None:
            if flt.advanced:
                ops = sorted(flt.operators & {"ne", "not", "endswith", "$count"})
                self._require_advanced(ctx, ops[0] if ops else "", "User")
            if "signInActivity" in flt.roots:
                signin = True
                if flt.roots - {"signInActivity"}:
                    raise GraphError(
                        400,
                        "Request_UnsupportedQuery",
                        "signInActivity filter cannot be combined with other properties.",
                    )
        if search and not ctx.eventual:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                "Request with $search query parameter only works through MSGraph with a "
                "special request header: 'ConsistencyLevel: eventual'",
            )
        if orderby and flt is not None and self.state.options.strict_advanced_queries:
            if not ctx.advanced:
                raise GraphError(
                    400, "Request_UnsupportedQuery", "Sorting not supported for current query."
                )
        if signin:
            self._signin_gate()
        key = ("userpos", base, flt.text if flt else None, orderby, search)
        return self.view.memo(key, lambda: self._compute_users(base, flt, orderby, search)), signin

    def _compute_users(
        self, base: str, flt: Filter | None, orderby: str | None, search: str | None
    ) -> np.ndarray:
        pos = self.view.live_positions() if base == "live" else self.view.deleted_positions()
        df = self.view.users
        if search:
            prop, _, term = search.partition(":")
            col = prop if term else "displayName"
            term = (term or prop).lower()
            if col not in df.columns:
                raise GraphError(400, "Request_UnsupportedQuery", f"Invalid $search '{search}'.")
            vals = df[col].iloc[pos].astype(object).fillna("").astype(str).str.lower()
            pos = pos[vals.str.contains(term, regex=False).to_numpy()]
        if flt is not None:
            rows = self.view.user_rows_for_filter(pos, flt)
            mask = np.fromiter((evaluate(flt, r) for r in rows), dtype=bool, count=len(rows))
            pos = pos[mask]
        if orderby:
            name, _, direction = orderby.partition(" ")
            if name not in ("displayName", "userPrincipalName", "mail", "id"):
                raise GraphError(
                    400, "Request_UnsupportedQuery", f"Sorting by '{name}' is not supported."
                )
            keys = df[name].iloc[pos].astype(object).fillna("").astype(str).str.lower()
            order = np.argsort(keys.to_numpy(), kind="stable")
            if direction.strip().lower() == "desc":
                order = order[::-1]
            pos = pos[order]
        return pos

    def users_list(self, ctx: Ctx) -> Resp:
        props = self._user_props(ctx)
        pos, signin = self._user_query(ctx)
        opts = self.state.options
        maximum = opts.graph_max_top
        top = self._top(ctx, opts.graph_default_page, maximum)
        if signin:
            top = min(top, opts.signin_max_top)
        sel = ctx.q.get("$select")
        return self.page(
            ctx,
            total=len(pos),
            fetch=lambda a, b: self.view.user_records(pos[a:b], props),
            top=top,
            context=self._context(ctx, f"users({sel})" if sel else "users"),
            count=len(pos) if ctx.count else None,
        )

    def users_count(self, ctx: Ctx) -> Resp:
        if not ctx.eventual:
            raise GraphError(400, "Request_BadRequest", "$count is not currently supported.")
        ctx.q.setdefault("$count", "true")
        pos, _ = self._user_query(ctx)
        return self.text(len(pos))

    def user_get(self, ctx: Ctx, key: str) -> Resp:
        pos = self.view.find_user(key)
        if pos is None:
            raise self._not_found(key)
        props = self._user_props(ctx, collection=False)
        if "signInActivity" in props:
            self._signin_gate()
            if key.lower() not in self.view.user_index():
                # [S] reported on Microsoft Q&A: signInActivity by UPN fails; use the object id
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    "Get By Key only supports UserId and the key has to be a valid Guid",
                )
        record = self.view.user_records([pos], props)[0]
        return self.json({"@odata.context": self._context(ctx, "users/$entity"), **record})

    @staticmethod
    def _not_found(key: str) -> GraphError:
        return GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{key}' does not exist or one of its queried reference-property objects "
            "are not present.",
        )

    def deleted_users(self, ctx: Ctx) -> Resp:
        raw = ctx.q.get("$select")
        props = self._user_props(ctx) if raw else (*DEFAULT_USER_PROPS, "deletedDateTime")
        pos, _ = self._user_query(ctx, base="deleted")
        top = self._top(
            ctx, self.state.options.graph_default_page, self.state.options.graph_max_top
        )

        def fetch(a: int, b: int) -> list[dict]:
            rows = self.view.user_records(pos[a:b], props)
            return [{"@odata.type": "#microsoft.graph.user", **r} for r in rows]

        return self.page(
            ctx,
            total=len(pos),
            fetch=fetch,
            top=top,
            context=self._context(ctx, "directory/deletedItems/microsoft.graph.user"),
            count=len(pos) if ctx.count else None,
        )

    def user_assignments(self, ctx: Ctx, key: str) -> Resp:
        pos = self.view.find_user(key)
        if pos is None:
            raise self._not_found(key)
        user_id = str(self.view.users["id"].iat[pos]).lower()
        groups = self.view.groups_of().get(user_id, set())
        rows = [
            a for a in self._visible_assignments()
            if str(a["principalId"]).lower() == user_id or str(a["principalId"]).lower() in groups
        ]  # fmt: skip
        flt = self._filter(ctx, {"resourceId", "appRoleId", "principalId"}, "AppRoleAssignment")
        if flt is not None:
            rows = [r for r in rows if evaluate(flt, r)]
        top = self._top(ctx, self.state.options.assignments_default_page, 999)
        return self.page(
            ctx,
            total=len(rows),
            fetch=lambda a, b: rows[a:b],
            top=top,
            context=self._context(ctx, f"users('{key}')/appRoleAssignments"),
            cacheable=False,
        )

    # ---- delta
    def _delta_snapshot(self, props: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        def build() -> tuple[np.ndarray, np.ndarray]:
            df = self.view.users
            pos = self.view.live_positions()
            cols = [c for c in props if c in df.columns]
            if "signInActivity" in props:
                cols += [c for c in SIGNIN_FIELDS if c in df.columns]
            sub = df.iloc[pos][cols].astype(object).astype(str)
            hashes = pd.util.hash_pandas_object(sub, index=False).to_numpy()
            ids = df["id"].iloc[pos].astype(object).astype(str).str.lower().to_numpy()
            return ids, hashes

        return self.view.memo(("delta", props), build)

    def _delta_current(
        self, props: tuple[str, ...], only: frozenset[str] | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, row hashes, positions) of the live users the delta query tracks."""
        ids, hashes = self._delta_snapshot(props)
        positions = self.view.live_positions()
        if only is not None:
            keep = np.isin(ids, list(only))
            ids, hashes, positions = ids[keep], hashes[keep], positions[keep]
        return ids, hashes, positions

    def _new_delta_state(self, props: tuple[str, ...], only: frozenset[str] | None) -> str:
        ids, hashes, _ = self._delta_current(props, only)
        token = uuid.uuid4().hex + uuid.uuid4().hex
        self.delta_states.put(
            token,
            {
                "created": self.state.clock.now(),
                "props": props,
                "only": only,
                "ids": ids,
                "hashes": hashes,
            },
        )
        return token

    def _delta_filter(self, ctx: Ctx) -> frozenset[str] | None:
        """The ids of ``$filter=id eq '...' or id eq '...'`` (at most 50), the only filter
        delta accepts."""
        text = ctx.q.get("$filter")
        if not text:
            return None
        bad = GraphError(
            400,
            "Request_UnsupportedQuery",
            "Unsupported query: delta accepts only 'id eq' clauses joined by 'or'.",
        )
        try:
            ast = parse(text).ast
        except FilterError as exc:
            raise bad from exc
        found: set[str] = set()
        stack = [ast]
        while stack:
            node = stack.pop()
            if node[0] == "or":
                stack += [node[1], node[2]]
            elif node[:3] == ("cmp", "eq", ("prop", ("id",))) and node[3][0] == "lit":
                found.add(str(node[3][1]).lower())
            else:
                raise bad
        if len(found) > 50:
            raise bad
        return frozenset(found)

    def users_delta(self, ctx: Ctx) -> Resp:
        skip = ctx.q.get("$skiptoken")
        if skip:
            return self._delta_page(ctx, decode_token(skip))
        dtok = ctx.q.get("$deltatoken")
        if dtok == "latest":
            token = self._new_delta_state(self._user_props(ctx), self._delta_filter(ctx))
            return self.json(
                {
                    "@odata.context": self._context(ctx, "users"),
                    "@odata.deltaLink": self._delta_link(ctx, token),
                    "value": [],
                }
            )
        if dtok:
            old = self.delta_states.get(dtok)
            days = self.state.options.delta_token_days
            if old is None or old["created"] + timedelta(days=days) <= self.state.clock.now():
                self.delta_states.pop(dtok, None)
                raise GraphError(
                    400,
                    "syncStateNotFound",
                    "The sync state is not found or has expired; restart the sync with an "
                    "initial delta request.",
                )
            props, only = old["props"], old["only"]
            ids, hashes, live = self._delta_current(props, only)
            before = pd.Series(old["hashes"], index=old["ids"])
            now_ser = pd.Series(hashes, index=ids)
            prior = before.reindex(ids)
            changed = np.flatnonzero(prior.isna().to_numpy() | (prior.to_numpy() != hashes))
            positions = live[changed]
            gone = np.setdiff1d(old["ids"], now_ser.index.to_numpy())
            deleted = {
                str(i).lower() for i in self.view.users["id"].iloc[self.view.deleted_positions()]
            }
            removed = [
                {"id": i, "@removed": {"reason": "changed" if i in deleted else "deleted"}}
                for i in gone.tolist()
            ]
        else:
            only = self._delta_filter(ctx)
            props = self._user_props(ctx)
            positions = self._delta_current(props, only)[2]
            removed = []
        session = uuid.uuid4().hex
        self.delta_sessions.put(
            session,
            {
                "positions": positions,
                "removed": removed,
                "props": props,
                "next": self._new_delta_state(props, only),
            },
        )
        return self._delta_page(ctx, {"s": session, "o": 0})

    def _delta_link(self, ctx: Ctx, token: str) -> str:
        return f"{ctx.base}{GRAPH_PREFIX}/users/delta?$deltatoken={token}"

    def _page_size(self, ctx: Ctx) -> int:
        m = re.search(r"odata\.maxpagesize=(\d+)", ctx.headers.get("prefer", ""))
        return max(1, int(m.group(1))) if m else self.state.options.graph_default_page

    def _delta_page(self, ctx: Ctx, tok: dict) -> Resp:
        session = self.delta_sessions.hit(tok.get("s"))
        if session is None:
            raise GraphError(400, "syncStateNotFound", "The paging state has expired.")
        positions, removed = session["positions"], session["removed"]
        offset, size = int(tok.get("o", 0)), self._page_size(ctx)
        total = len(positions) + len(removed)
        end = min(offset + size, total)
        items = self.view.user_records(positions[offset:end], session["props"])
        if end > len(positions):
            items += removed[max(0, offset - len(positions)) : end - len(positions)]
        body: dict[str, Any] = {"@odata.context": self._context(ctx, "users")}
        if end < total:
            body["@odata.nextLink"] = (
                f"{ctx.base}{GRAPH_PREFIX}/users/delta?$skiptoken="
                + encode_token({"s": tok["s"], "o": end})
            )
        else:
            body["@odata.deltaLink"] = self._delta_link(ctx, session["next"])
        body["value"] = items
        return self.json(body)
