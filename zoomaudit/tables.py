"""Interactive tables for notebooks and HTML reports (itables/DataTables, offline).

Place in the flow: analysis DataFrames -> **tables** -> notebooks -> HTML reports. :func:`init`
injects the DataTables bundle once per notebook (no CDN); :func:`show` renders one searchable,
sortable, filterable table. Large tables are shown downsampled (itables ``maxBytes``): the
complete table is always in the CSV/XLSX/Parquet files ``report.save_table`` writes beside the
HTML, and the table caption says so.
"""

from __future__ import annotations

import json

import pandas as pd

#: columns of the failed-events explorer (``provlogs.failures`` output)
FAILED_EVENT_COLUMNS = [
    "activity_at",
    "user_principal_name",
    "action",
    "error_code_normalized",
    "error_reason",
    "cause",
    "fix",
]
#: largest table (bytes of JSON data) embedded in a report before downsampling
MAX_BYTES = 2_000_000


def init() -> None:
    """Load DataTables into the running notebook once, offline (no external URL)."""
    import itables

    itables.options.maxBytes = MAX_BYTES
    itables.options.display_logo_when_loading = False
    itables.options.warn_on_unexpected_types = False
    itables.init_notebook_mode(all_interactive=False, connected=False)


def displayable(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with nested values (dicts, lists, arrays) as JSON text.

    Returns:
        The same columns and rows; object columns holding containers become ``str``.
    """
    out = frame.copy()
    out.attrs = {}  # analysis frames may carry DataFrames in attrs; files cannot
    for name in out.columns:
        if out[name].dtype == object:
            sample = out[name].dropna().head(50)
            if any(
                isinstance(v, (dict, list, tuple, set)) or hasattr(v, "tolist") for v in sample
            ):
                out[name] = out[name].map(_to_json).astype("str")
    return out


def _to_json(value: object) -> object:
    if value is None or (isinstance(value, float) and value != value):
        return pd.NA
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (set, tuple)):
        value = list(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return str(value)


def show(frame: pd.DataFrame, caption: str | None = None, *, filters: bool = True) -> None:
    """Display ``frame`` as an interactive table (search box, sorting, per-column filters)."""
    import itables

    data = displayable(frame)
    if data.empty:
        from IPython.display import Markdown, display

        display(Markdown(f"*{caption or 'table'}: no rows.*"))
        return
    itables.show(
        data,
        caption=caption,
        showIndex=False,
        column_filters="footer" if filters and len(data.columns) <= 30 else False,
        classes="display compact nowrap cell-border",
        scrollX=True,
        lengthMenu=[10, 25, 50, 100, 500],
        pageLength=10,
    )


def explode(frame: pd.DataFrame, column: str, *, name: str, sep: str = ",") -> pd.DataFrame:
    """One row per item of a list-valued or ``sep``-separated text column.

    Returns:
        ``frame``'s columns with ``column`` replaced by ``name`` (one item per row, stripped;
        rows with no item are dropped).
    """
    if frame.empty or column not in frame.columns:
        return frame.rename(columns={column: name}).iloc[0:0]
    items = frame[column].map(
        lambda v: (
            [str(x).strip() for x in v]
            if isinstance(v, (list, tuple)) or hasattr(v, "tolist")
            else (
                [] if v is None or v is pd.NA or v != v else [p.strip() for p in str(v).split(sep)]
            )
        )
    )
    out = frame.drop(columns=[column]).assign(**{name: items}).explode(name)
    out = out[out[name].notna() & (out[name].astype("str") != "")]
    return out.reset_index(drop=True)


def with_user_column(findings: pd.DataFrame, snap, column: str) -> pd.DataFrame:
    """``findings`` (with ``entra_id``) plus one column of the snapshot's ``entra_users``.

    ``column`` may also be ``domain`` (of the UPN). Returns the findings' columns plus
    ``column`` (NA for findings without an Entra user).
    """
    users = snap.table("entra_users").drop_duplicates("entra_id").set_index("entra_id")
    if column == "domain":
        values = users["user_principal_name"].astype("str").str.rsplit("@", n=1).str[-1]
        values = values.str.lower()
    elif column in users.columns:
        values = users[column]
    else:
        raise KeyError(f"entra_users has no column {column!r}")
    out = findings.copy()
    out[column] = out["entra_id"].map(values).astype("str") if len(out) else pd.Series(dtype="str")
    return out


def wave_table(plan: dict | None) -> pd.DataFrame:
    """One row per wave of a rollout plan (``rollout.plan``): its selectors and counts.

    Returns:
        Columns wave, name, role, assign, max_users, selected, ready, blocked,
        already_assigned, to_assign, nested_not_provisioned (empty without a plan).
    """
    cols = [
        "wave",
        "name",
        "role",
        "assign",
        "max_users",
        "selected",
        "ready",
        "blocked",
        "already_assigned",
        "to_assign",
        "nested_not_provisioned",
    ]
    if not plan:
        return pd.DataFrame(columns=cols)
    rows = []
    for wave in plan.get("waves") or []:
        counts = wave.get("counts", {})
        rows.append(
            [
                wave.get("number"),
                wave.get("name"),
                wave.get("role"),
                wave.get("assign"),
                wave.get("max_users"),
                counts.get("selected"),
                counts.get("ready"),
                counts.get("blocked"),
                counts.get("already_assigned"),
                counts.get("to_assign"),
                counts.get("nested_not_provisioned"),
            ]
        )
    return pd.DataFrame(rows, columns=cols)


def no_plan() -> pd.DataFrame:
    """An empty table standing in for wave progress when no wave configuration was given."""
    return pd.DataFrame(columns=["wave", "wave_name", "members"])
