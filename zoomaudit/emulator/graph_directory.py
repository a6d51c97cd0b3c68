"""Graph emulator routes for service principals, app role assignments (read and write) and
groups with their members (graph.md §3-§4, §9 items 8, 10 and 15).
"""

from __future__ import annotations

from datetime import UTC

import pandas as pd

from zoomaudit.emulator.graph_base import GraphBase
from zoomaudit.emulator.graph_common import (
    GRAPH_PREFIX,
    ZERO_GUID,
    Ctx,
    GraphError,
    Resp,
    assignment_id,
)
from zoomaudit.emulator.graph_filter import FilterError, evaluate, parse


class DirectoryRoutes(GraphBase):
    """Handlers: service principals, appRoleAssignedTo (GET/POST/DELETE), groups, members."""

    # ---- service principals and app role assignments
    def _find_sp(self, key: str) -> dict:
        for sp in self.view.service_principals():
            if key.startswith("appId="):
                if str(sp.get("appId", "")).lower() == key[6:].lower():
                    return sp
            elif str(sp.get("id", "")).lower() == key.lower():
                return sp
        raise self._not_found(key.removeprefix("appId="))

    def sp_list(self, ctx: Ctx) -> Resp:
        sps = self.view.service_principals()
        flt = self._filter(
            ctx,
            {"appId", "displayName", "id", "servicePrincipalType", "tags", "accountEnabled",
             "appDisplayName", "preferredSingleSignOnMode", "applicationTemplateId"},
            "ServicePrincipal",
        )  # fmt: skip
        if flt is not None:
            sps = [sp for sp in sps if evaluate(flt, sp)]
        sel = ctx.q.get("$select")
        if sel:
            props = ["id", *[p.strip() for p in sel.split(",") if p.strip() and p != "id"]]
            sps = [{p: sp.get(p) for p in props} for sp in sps]
        top = self._top(ctx, 100, 999)
        return self.page(
            ctx,
            total=len(sps),
            fetch=lambda a, b: sps[a:b],
            top=top,
            context=self._context(ctx, "servicePrincipals"),
            count=len(sps) if ctx.count else None,
            cacheable=False,
        )

    def sp_get(self, ctx: Ctx, key: str) -> Resp:
        sp = self._find_sp(key)
        return self.json({"@odata.context": self._context(ctx, "servicePrincipals/$entity"), **sp})

    def _visible_assignments(self) -> list[dict]:
        rows = self.view.assignments()
        if not self.visible_after:
            return rows
        now = self.state.clock.monotonic()
        return [r for r in rows if self.visible_after.get(r["id"], 0.0) <= now]

    def assigned_list(self, ctx: Ctx, key: str) -> Resp:
        sp = self._find_sp(key)
        is_zoom = sp["id"] == self.state.tenant.service_principal["id"]
        rows = self._visible_assignments() if is_zoom else []
        text = ctx.q.get("$filter")
        if text:
            try:
                flt = parse(text)
            except FilterError as exc:
                raise GraphError(400, "Request_BadRequest", "Invalid filter clause") from exc
            if flt.properties - {"principalDisplayName"}:
                # Graph cannot filter appRoleAssignedTo by principalId/appRoleId (graph.md §3)
                raise GraphError(400, "Request_BadRequest", "Invalid filter clause")
            rows = [r for r in rows if evaluate(flt, r)]
        top = self._top(ctx, self.state.options.assignments_default_page, 999)
        return self.page(
            ctx,
            total=len(rows),
            fetch=lambda a, b: rows[a:b],
            top=top,
            context=self._context(ctx, f"servicePrincipals('{sp['id']}')/appRoleAssignedTo"),
            count=len(rows) if ctx.count else None,
            cacheable=not self.visible_after,
        )

    def assign_get(self, ctx: Ctx, key: str, aid: str) -> Resp:
        self._find_sp(key)
        for row in self._visible_assignments():
            if row["id"] == aid:
                return self.json(
                    {"@odata.context": self._context(ctx, "appRoleAssignment"), **row}
                )
        raise self._not_found(aid)

    def assign_create(self, ctx: Ctx, key: str) -> Resp:
        sp = self._find_sp(key)
        body = self._body(ctx)  # "@odata.type" (the SDK sends it) is ignored
        principal = str(body.get("principalId") or "")
        role = str(body.get("appRoleId") or "").lower()
        resource = str(body.get("resourceId") or sp["id"]).lower()
        if not principal or not role:
            raise GraphError(
                400, "Request_BadRequest", "principalId and appRoleId are required properties."
            )
        if resource != str(sp["id"]).lower():
            raise GraphError(400, "Request_BadRequest", "resourceId does not match the target.")
        roles = {str(r.get("id", "")).lower() for r in sp.get("appRoles") or []}
        if role != ZERO_GUID and role not in roles:
            raise GraphError(
                400,
                "Request_BadRequest",
                f"Permission being assigned was not found on application '{sp.get('appId')}'.",
            )
        upos = self.view.find_user(principal)
        if upos is not None:
            ptype = "User"
            principal = str(self.view.users["id"].iat[upos])
            pname = self.view.users["displayName"].iat[upos]
        else:
            gidx = self.view.group_index().get(principal.lower())
            if gidx is None:
                raise self._not_found(principal)
            group = self.view.groups()[gidx]
            ptype, principal, pname = "Group", group["id"], group.get("displayName")
        tenant = self.state.tenant
        with tenant.lock:
            existing = tenant.assignments
            dup = (existing["principalId"].astype(str).str.lower() == principal.lower()) & (
                existing["appRoleId"].astype(str).str.lower() == role
            )
            if bool(dup.any()):
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    "Permission being assigned already exists on the object.",
                )
            created = self.state.clock.now().astimezone(UTC)
            row = {
                "id": assignment_id(principal, role),
                "appRoleId": role,
                "principalId": principal,
                "principalType": ptype,
                "principalDisplayName": None if pd.isna(pname) else str(pname),
                "createdDateTime": created.strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
            }
            new = pd.DataFrame([row]).astype(existing.dtypes.to_dict(), errors="ignore")
            tenant.assignments = pd.concat([existing, new], ignore_index=True)
            tenant.touch()
        delay = self.state.options.replication_delay
        if delay > 0:
            self.visible_after[row["id"]] = self.state.clock.monotonic() + delay
        full = {
            "@odata.context": self._context(
                ctx, f"servicePrincipals('{sp['id']}')/appRoleAssignedTo/$entity"
            ),
            "id": row["id"],
            "deletedDateTime": None,
            "appRoleId": role,
            "createdDateTime": row["createdDateTime"],
            "principalDisplayName": row["principalDisplayName"],
            "principalId": principal,
            "principalType": ptype,
            "resourceDisplayName": sp.get("displayName"),
            "resourceId": sp["id"],
        }
        resp = self.json(full, 201)
        resp.headers["Location"] = (
            f"{ctx.base}{GRAPH_PREFIX}/servicePrincipals/{sp['id']}/appRoleAssignedTo/{row['id']}"
        )
        return resp

    def assign_delete(self, ctx: Ctx, key: str, aid: str) -> Resp:
        self._find_sp(key)
        tenant = self.state.tenant
        with tenant.lock:
            mask = tenant.assignments["id"].astype(str) == aid
            if not bool(mask.any()):
                raise self._not_found(aid)
            tenant.assignments = tenant.assignments.loc[~mask].reset_index(drop=True)
            tenant.touch()
        self.visible_after.pop(aid, None)
        return Resp(204, b"", "text/plain")

    # ---- groups and members
    def groups_list(self, ctx: Ctx) -> Resp:
        groups = self.view.groups()
        allowed = set(groups[0]) if groups else {"id", "displayName"}
        flt = self._filter(ctx, allowed | {"displayName", "id"}, "Group")
        if flt is not None:
            if flt.advanced:
                self._require_advanced(ctx, "", "Group")
            groups = [g for g in groups if evaluate(flt, g)]
        groups = self._select(ctx, groups)
        top = self._top(ctx, 100, 999)
        return self.page(
            ctx,
            total=len(groups),
            fetch=lambda a, b: groups[a:b],
            top=top,
            context=self._context(ctx, "groups"),
            count=len(groups) if ctx.count else None,
        )

    @staticmethod
    def _select(ctx: Ctx, rows: list[dict]) -> list[dict]:
        sel = ctx.q.get("$select")
        if not sel:
            return rows
        props = ["id", *[p.strip() for p in sel.split(",") if p.strip() and p.strip() != "id"]]
        return [{p: r.get(p) for p in props if p in r} for r in rows]

    def group_get(self, ctx: Ctx, gid: str) -> Resp:
        idx = self.view.group_index().get(gid.lower())
        if idx is None:
            raise self._not_found(gid)
        group = self._select(ctx, [self.view.groups()[idx]])[0]
        return self.json({"@odata.context": self._context(ctx, "groups/$entity"), **group})

    def group_members(
        self, ctx: Ctx, gid: str, which: str, cast: str | None, count_seg: str | None
    ) -> Resp:
        if self.view.group_index().get(gid.lower()) is None:
            raise self._not_found(gid)
        if which == "members":
            members = self.view.direct_members().get(gid.lower(), [])
        else:
            # [U] Graph documents casts on transitiveMembers as advanced queries; whether it
            # enforces that is unverified, so the emulator accepts both.
            members = self.view.transitive_members(gid)
        user_idx = self.view.user_index()
        live = self.view.memo(
            "livemask", lambda: self.view.users["deletedDateTime"].isna().to_numpy()
        )
        entries = []
        for mid, kind in members:
            if kind == "user":
                pos = user_idx.get(mid.lower())
                if pos is not None and live[pos] and cast in (None, "user"):
                    entries.append(("user", pos))
            elif kind == "group" and cast in (None, "group"):
                gidx = self.view.group_index().get(mid.lower())
                if gidx is not None:
                    entries.append(("group", gidx))
        flt = self._filter(ctx, None, "DirectoryObject")
        if count_seg:
            if not ctx.eventual:
                raise GraphError(400, "Request_BadRequest", "$count is not currently supported.")
            return self.text(len(entries))
        props = self._user_props(ctx)
        sel = ctx.q.get("$select")

        def records(chunk: list[tuple[str, int]]) -> list[dict]:
            upos = [p for k, p in chunk if k == "user"]
            users = iter(self.view.user_records(upos, props))
            out = []
            for kind, p in chunk:
                if kind == "user":
                    out.append({"@odata.type": "#microsoft.graph.user", **next(users)})
                else:
                    group = self.view.groups()[p]
                    if sel:
                        group = {k: group.get(k) for k in props if k in group}
                    out.append({"@odata.type": "#microsoft.graph.group", **group})
            return out

        if flt is not None:
            if flt.advanced:
                self._require_advanced(ctx, "", "DirectoryObject")
            full = [r for r in records(entries) if evaluate(flt, r)]
            fetch = lambda a, b: full[a:b]  # noqa: E731
            total = len(full)
        else:
            fetch = lambda a, b: records(entries[a:b])  # noqa: E731
            total = len(entries)
        kind_ctx = {None: "directoryObjects", "user": "users", "group": "groups"}[cast]
        return self.page(
            ctx,
            total=total,
            fetch=fetch,
            top=self._top(ctx, 100, 999),
            context=self._context(ctx, kind_ctx),
            count=total if ctx.count else None,
        )
