"""Explain one user: why the reconciliation put them where it did, with the evidence.

Place in the flow: analysis/notebook helper over a snapshot and (optionally) a
:class:`~zoomaudit.reconcile.ReconcileResult`. ``explain(snapshot, "ana@contoso.com")`` finds the
person by UPN, e-mail, proxy address, Entra object id, Zoom id or Zoom userName and returns an
:class:`Explanation` that prints as text and renders as HTML in Jupyter.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

from zoomaudit.errors import LookupFailedError
from zoomaudit.matching import normalize_key
from zoomaudit.snapshot import Snapshot


@dataclass
class Explanation:
    """What we know about one person, section by section (each a dict of label -> value)."""

    query: str
    entra_id: str | None
    zoom_key: str | None
    category: str | None
    detail: str | None
    sections: dict[str, dict] = field(default_factory=dict)
    events: pd.DataFrame = field(default_factory=pd.DataFrame)

    def as_dict(self) -> dict:
        return {
            "query": self.query,
            "entra_id": self.entra_id,
            "zoom_key": self.zoom_key,
            "category": self.category,
            "detail": self.detail,
            "sections": self.sections,
            "events": self.events.to_dict("records"),
        }

    def __str__(self) -> str:
        lines = [f"{self.query}: {self.category or 'no finding'}"]
        if self.detail:
            lines.append(f"  {self.detail}")
        for title, values in self.sections.items():
            lines.append(f"{title}:")
            for k, v in values.items():
                lines.append(f"  {k}: {_fmt(v)}")
        if len(self.events):
            lines.append("provisioning events (latest last):")
            for e in self.events.itertuples(index=False):
                code = f" {e.error_code}" if isinstance(e.error_code, str) else ""
                lines.append(f"  {e.activity_at} {e.action} {e.status}{code}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        parts = [f"<h4>{esc(self.query)}: <code>{esc(self.category or 'no finding')}</code></h4>"]
        if self.detail:
            parts.append(f"<p>{esc(self.detail)}</p>")
        for title, values in self.sections.items():
            rows = "".join(
                f"<tr><th style='text-align:left'>{esc(str(k))}</th><td>{esc(_fmt(v))}</td></tr>"
                for k, v in values.items()
            )
            parts.append(f"<h5>{esc(title)}</h5><table>{rows}</table>")
        if len(self.events):
            cols = ["activity_at", "action", "status", "error_code", "error_reason"]
            parts.append("<h5>provisioning events</h5>" + self.events[cols].to_html(index=False))
        return "\n".join(parts)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
        return "—"
    if isinstance(v, list):
        return ", ".join(map(str, v)) or "—"
    return str(v)


def _find(snapshot: Snapshot, query: str, zoom: pd.DataFrame) -> tuple[str | None, str | None]:
    users = snapshot.table("entra_users")
    q = query.strip()
    key = normalize_key(pd.Series([q])).iloc[0]
    hit = users[users["entra_id"] == q]
    if hit.empty:
        for col in ("user_principal_name", "mail"):
            hit = users[(normalize_key(users[col]) == key).fillna(False)]
            if len(hit):
                break
    if hit.empty:
        addrs = users[["entra_id", "proxy_addresses", "other_mails"]]
        for col in ("proxy_addresses", "other_mails"):
            ex = addrs[["entra_id", col]].explode(col).dropna()
            vals = ex[col].astype("str").str.replace(r"^smtp:", "", case=False, regex=True)
            ex = ex[(normalize_key(vals) == key).fillna(False).to_numpy()]
            if len(ex):
                hit = users[users["entra_id"].isin(ex["entra_id"])]
                break
    if len(hit.drop_duplicates("entra_id")) > 1:
        raise LookupFailedError(f"{query!r} matches {len(hit)} Entra users; use the object id")
    entra_id = hit["entra_id"].iloc[0] if len(hit) else None
    z = zoom[(zoom["zoom_id"] == q) | (normalize_key(zoom["user_name"]) == key).fillna(False)]
    zoom_key = z["zoom_key"].iloc[0] if len(z) else None
    return entra_id, zoom_key


def explain(snapshot: Snapshot, user: str, result=None, *, sync_all: bool = False) -> Explanation:
    """Explain one person (UPN, e-mail, proxy address, Entra id, Zoom id or Zoom userName).

    Args:
        snapshot: the snapshot.
        user: how to find the person.
        result: a :class:`~zoomaudit.reconcile.ReconcileResult` of this snapshot (computed when
            omitted; pass it when explaining many users).
        sync_all: scope setting used when ``result`` is computed here.

    Raises:
        LookupFailedError: nobody (or several Entra users) matches ``user``.
    """
    if result is None:
        from zoomaudit.reconcile import reconcile

        result = reconcile(snapshot, sync_all=sync_all, allow_incomplete=True)
    zoom = result.zoom
    entra_id, zoom_key = _find(snapshot, user, zoom)
    if entra_id is not None:
        # the Zoom user of the person's story is the one the reconcile matched (or named in
        # an email_conflict row), not whichever Zoom user happens to hold the query text
        m = result.matches[result.matches["entra_id"] == entra_id]
        named = result.findings.loc[result.findings["entra_id"] == entra_id, "zoom_id"].dropna()
        if len(m):
            zoom_key = m["zoom_key"].iloc[0]
        elif len(named):
            hit = zoom.loc[zoom["zoom_id"] == named.iloc[0], "zoom_key"]
            zoom_key = hit.iloc[0] if len(hit) else zoom_key
    elif zoom_key is not None:
        # found on the Zoom side (Zoom id or userName): the story is the matched Entra user's
        m = result.matches[result.matches["zoom_key"] == zoom_key]
        if m["entra_id"].nunique() == 1:
            entra_id = m["entra_id"].iloc[0]
    if entra_id is None and zoom_key is None:
        raise LookupFailedError(
            f"no Entra or Zoom user matches {user!r} in snapshot {snapshot.id}"
        )
    f = result.findings
    if entra_id is not None:
        row = f[f["entra_id"] == entra_id]
    else:
        row = f[f["entra_id"].isna() & (f["zoom_id"].fillna("") == (zoom_key or ""))]
        if row.empty:
            zrow = zoom[zoom["zoom_key"] == zoom_key]
            row = f[f["entra_id"].isna() & f["zoom_user_name"].isin(zrow["user_name"])]
    finding = row.iloc[0].to_dict() if len(row) else {}
    sections: dict[str, dict] = {}
    events = pd.DataFrame()
    if entra_id is not None:
        u = snapshot.table("entra_users")
        u = u[u["entra_id"] == entra_id].iloc[0]
        sections["Entra user"] = {
            k: u[k] for k in ("entra_id", "user_principal_name", "display_name", "mail",
                              "account_enabled", "soft_deleted", "user_type", "department",
                              "proxy_addresses", "other_mails")
        }  # fmt: skip
        sc = result.scope[result.scope["entra_id"] == entra_id].iloc[0]
        sections["Scope"] = sc.drop("entra_id").to_dict()
        ex = result.expected[result.expected["entra_id"] == entra_id].iloc[0]
        sections["What Entra would send"] = ex.drop("entra_id").to_dict()
        ev = snapshot.table("provisioning_events")
        events = ev[ev["source_id"] == entra_id].sort_values("activity_at").tail(10)
    if zoom_key is not None:
        z = zoom[zoom["zoom_key"] == zoom_key]
        if len(z):
            sections["Zoom user"] = z.iloc[0].to_dict()
    return Explanation(
        query=user,
        entra_id=entra_id,
        zoom_key=zoom_key,
        category=finding.get("category"),
        detail=finding.get("detail"),
        sections=sections,
        events=events.reset_index(drop=True),
    )
