"""Plotly figure builders for the notebooks: analysis DataFrames in, ``go.Figure`` out.

Place in the flow: analysis (reconcile, licences, readiness, rollout, trends) -> **charts** ->
notebooks -> HTML reports. Builders are pure (no display, no I/O); :func:`init` is the one call
that prepares a notebook for offline, self-contained HTML.

Offline and once: :func:`init` injects plotly.js into the notebook ONE time and registers a
renderer (``zoomaudit``) that emits each figure's ``<div>`` + ``Plotly.newPlot`` call without the
library and without plotly's MathJax CDN tag. Figures are therefore interactive in JupyterLab
and in the nbconvert HTML, and the HTML fetches no external URL.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import plotly.io as pio
from plotly.io._base_renderers import HtmlRenderer

RENDERER = "zoomaudit"
_TEMPLATE = "plotly_white"


class OfflineRenderer(HtmlRenderer):
    """Figures as ``text/html`` relying on a plotly.js injected once by :func:`init`."""

    def __init__(self) -> None:
        super().__init__(
            connected=False, full_html=False, global_init=False, include_plotlyjs=False
        )

    def to_mimebundle(self, fig_dict: dict) -> dict:
        html = pio.to_html(
            fig_dict,
            include_plotlyjs=False,
            include_mathjax=False,  # plotly's default here is a MathJax CDN <script>
            full_html=False,
            default_width="100%",
            default_height=460,
            validate=False,
            config={"displaylogo": False, "responsive": True},
        )
        # JupyterLab renders the plotly mimetype with its bundled extension (also in untrusted
        # notebooks); nbconvert prefers text/html, which works offline in the exported page
        return {"text/html": html, "application/vnd.plotly.v1+json": _plotly_json(fig_dict)}


def _plotly_json(fig_dict: dict) -> dict:
    import json

    from plotly.utils import PlotlyJSONEncoder

    data = json.loads(json.dumps(fig_dict, cls=PlotlyJSONEncoder))
    data.setdefault("config", {}).update(displaylogo=False, responsive=True)
    return data


def init() -> None:
    """Inject plotly.js once into the running notebook and make figures render offline."""
    from IPython.display import display_html
    from plotly.offline import get_plotlyjs

    pio.renderers[RENDERER] = OfflineRenderer()
    pio.renderers.default = RENDERER
    pio.templates.default = _TEMPLATE
    # window.PlotlyConfig as plotly's own notebook init sets it; no require.js, no CDN
    display_html(
        "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>"
        f'<script type="text/javascript">{get_plotlyjs()}</script>',
        raw=True,
    )


def _empty(title: str, message: str = "nothing to show") -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font={"size": 16})
    fig.update_layout(title=title, xaxis_visible=False, yaxis_visible=False, height=260)
    return fig


def counts_bar(
    frame: pd.DataFrame, column: str, *, title: str, color: str | None = None, top: int = 30
) -> go.Figure:
    """Horizontal bar chart of row counts per value of ``column`` (optionally split by ``color``).

    Args:
        frame: any DataFrame holding ``column`` (and ``color``).
        column: the column whose values are counted.
        title: chart title.
        color: optional second column to stack by.
        top: at most this many values (largest first).
    """
    if frame.empty or column not in frame.columns:
        return _empty(title)
    keys = [column] + ([color] if color else [])
    counts = (
        frame[keys].astype("str").fillna("(none)").value_counts().rename("count").reset_index()
    )
    order = counts.groupby(column)["count"].sum().sort_values(ascending=False).head(top)
    counts = counts[counts[column].isin(order.index)]
    fig = px.bar(
        counts,
        x="count",
        y=column,
        color=color,
        orientation="h",
        title=title,
        category_orders={column: list(order.index)},
        text_auto=True,
    )
    if not color:
        fig.update_traces(textposition="outside", cliponaxis=False)
    fig.update_layout(height=max(340, 140 + 34 * len(order)), yaxis_title=None)
    return fig


def category_counts(findings: pd.DataFrame, *, title: str = "Findings by category") -> go.Figure:
    """Bar chart of findings per ``category`` (a findings table of reconcile or licences)."""
    return counts_bar(findings, "category", title=title)


def over_time(
    frame: pd.DataFrame, time: str, *, title: str, color: str | None = None, freq: str = "D"
) -> go.Figure:
    """Stacked bars of rows per period of the datetime column ``time``, split by ``color``."""
    if frame.empty or time not in frame.columns or frame[time].isna().all():
        return _empty(title)
    data = frame.dropna(subset=[time]).copy()
    data["period"] = (
        data[time].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period(freq).dt.start_time
    )
    keys = ["period"] + ([color] if color else [])
    if color:
        data[color] = data[color].astype("str").fillna("(none)")
    counts = data.groupby(keys, dropna=False).size().rename("count").reset_index()
    fig = px.bar(counts, x="period", y="count", color=color, title=title)
    fig.update_layout(xaxis_title=None, barmode="stack")
    return fig


def funnel(stages: pd.DataFrame, *, title: str = "Seats") -> go.Figure:
    """Funnel of a ``stage``/``count`` table (purchased -> assigned -> active -> reclaimable)."""
    if stages.empty:
        return _empty(title)
    fig = go.Figure(
        go.Funnel(
            y=stages["stage"].astype(str), x=stages["count"], textinfo="value+percent initial"
        )
    )
    fig.update_layout(title=title, height=360)
    return fig


def stacked_share(
    frame: pd.DataFrame, index: str, column: str, *, title: str, value: str | None = None
) -> go.Figure:
    """100 %-stacked bars: for each ``index`` value, the share of each ``column`` value.

    Counts rows, or sums ``value`` when given (e.g. readiness status per cohort).
    """
    if frame.empty or index not in frame.columns or column not in frame.columns:
        return _empty(title)
    data = frame.assign(
        **{
            index: frame[index].astype("str").fillna("(none)"),
            column: frame[column].astype("str").fillna("(none)"),
        }
    )
    if value:
        counts = data.groupby([index, column])[value].sum().rename("count").reset_index()
    else:
        counts = data.groupby([index, column]).size().rename("count").reset_index()
    fig = px.bar(
        counts, x="count", y=index, color=column, orientation="h", title=title, text_auto=True
    )
    fig.update_layout(
        barmode="stack",
        barnorm="percent",
        yaxis_title=None,
        xaxis_title="% of users",
        height=max(260, 60 + 30 * data[index].nunique()),
    )
    return fig


def lines(frame: pd.DataFrame, x: str, y: str, *, color: str | None, title: str) -> go.Figure:
    """Lines with markers of ``y`` over ``x`` per ``color`` (e.g. findings per snapshot)."""
    if frame.empty:
        return _empty(title)
    fig = px.line(frame, x=x, y=y, color=color, markers=True, title=title)
    fig.update_layout(xaxis_title=None)
    return fig


def grouped_bars(
    frame: pd.DataFrame, index: str, *, title: str, skip: tuple[str, ...] = ("users",)
) -> go.Figure:
    """Stacked bars of every numeric column of a wide table per ``index`` value.

    For ``LicenceAudit.by_department``: users per licence type (``users`` total skipped) and
    ``reclaimable``, per department.
    """
    if frame.empty or index not in frame.columns:
        return _empty(title)
    values = [
        c
        for c in frame.columns
        if c != index and c not in skip and pd.api.types.is_numeric_dtype(frame[c])
    ]
    long = frame.melt(id_vars=[index], value_vars=values, var_name="series", value_name="count")
    long[index] = long[index].astype("str").fillna("(none)")
    fig = px.bar(
        long, x="count", y=index, color="series", orientation="h", barmode="group", title=title
    )
    fig.update_layout(yaxis_title=None, height=max(300, 60 + 22 * len(frame) * 2))
    return fig


def wave_progress(progress: pd.DataFrame, *, title: str = "Wave progress") -> go.Figure:
    """Stacked bars of wave members per state (``rollout.status`` output)."""
    from zoomaudit.rollout import STATES

    if progress.empty or "wave_name" not in progress.columns:
        return _empty(title, "no wave plan (set the waves parameter)")
    states = [s for s in STATES if s in progress.columns]
    long = progress.melt(
        id_vars=["wave_name"], value_vars=states, var_name="state", value_name="users"
    )
    fig = px.bar(
        long,
        x="users",
        y="wave_name",
        color="state",
        orientation="h",
        title=title,
        category_orders={"state": states, "wave_name": list(progress["wave_name"])},
    )
    fig.update_layout(barmode="stack", yaxis_title=None)
    return fig


def failures_over_time(failed: pd.DataFrame, freq: str = "D") -> go.Figure:
    """Failed provisioning events per period, stacked by normalised error code
    (``provlogs.failures`` output)."""
    return over_time(
        failed,
        "activity_at",
        color="error_code_normalized",
        freq=freq,
        title="Failed provisioning events",
    )
