"""Reports: run the parameterized notebooks with papermill and publish them as offline HTML.

Place in the flow: snapshot -> analysis -> notebooks -> **report** (the last step). Two halves:

* helpers the notebooks call (:func:`setup`, :func:`open_snapshot`, :func:`save_table`,
  :func:`glue`, :func:`snapshot_summary`), so notebooks stay one call per cell;
* the runner behind ``zoomaudit report`` (:func:`run`): executes each notebook into
  ``reports/<snapshot_id>/`` (the executed ``.ipynb`` is kept), exports HTML without code cells
  through an nbconvert template that loads nothing from the network, and writes ``index.html``
  (both in :mod:`zoomaudit.report_html`).

Layout of one report folder::

    index.html                 every report, its headline numbers, the snapshot manifest
    report.json                the same, machine-readable, plus timings
    NN_verb_object.ipynb|.html executed notebook and its HTML (plotly.js inlined once per HTML)
    findings/<table>.csv|.xlsx|.parquet   every findings table, linked from its HTML
    headlines/<notebook>.json  headline numbers a notebook glued

Secrets never travel as papermill parameters: the runner passes paths only, removes the secret
``ZOOMAUDIT_*`` variables from the kernel's environment, and checks every written file for the
secret values it knows before publishing the folder.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

import pandas as pd

from zoomaudit import snapshot as snapshot_mod
from zoomaudit.config import PROJECT_ROOT
from zoomaudit.errors import ReportError, SnapshotError
from zoomaudit.report_html import FINDINGS_DIR, export_html, index_html, notebook_title

log = logging.getLogger(__name__)

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"

HEADLINES_DIR = "headlines"
#: seconds one notebook cell may run before its notebook is failed
CELL_TIMEOUT_S = 3600
#: Excel files are written for tables up to this many rows (CSV/Parquet always)
XLSX_MAX_ROWS = 50_000


# ----------------------------------------------------------------- helpers for the notebooks
def setup() -> None:
    """Prepare a notebook for offline HTML: plotly.js and DataTables injected once, no CDN."""
    from zoomaudit import charts, tables

    pd.set_option("display.max_columns", 50)
    pd.set_option("display.width", 200)
    charts.init()
    tables.init()


def data_folder(data_dir: Path | str = "") -> Path:
    """The snapshot folder a notebook parameter names.

    Empty: ``ZOOMAUDIT_DATA_DIR`` or ``data/snapshots`` of the project. A relative path that
    does not exist from the working directory (JupyterLab runs notebooks from ``notebooks/``)
    is taken relative to the project root.
    """
    import os

    if not str(data_dir):
        data_dir = os.environ.get("ZOOMAUDIT_DATA_DIR") or PROJECT_ROOT / "data" / "snapshots"
    path = Path(data_dir).expanduser()
    if not path.is_absolute() and not path.exists() and (PROJECT_ROOT / path).exists():
        return PROJECT_ROOT / path
    return path


def snapshot_dirs(data_dir: Path | str) -> list[Path]:
    """Snapshot directories under ``data_dir`` (those holding a manifest), oldest first."""
    return [info.path for info in snapshot_mod.list_snapshots(data_folder(data_dir))]


def resolve_snapshot(spec: str | Path, data_dir: Path | str) -> Path:
    """The snapshot directory named by ``spec``: a path, an id under ``data_dir``, or "latest".

    "latest" is the most recent *complete* snapshot under ``data_dir``.
    """
    return snapshot_mod.resolve(spec, data_folder(data_dir))


def _manifest(path: Path) -> dict:
    return json.loads((path / "manifest.json").read_text(encoding="utf-8"))


def open_snapshot(snapshot: str, data_dir: str = "data/snapshots") -> snapshot_mod.Snapshot:
    """Load the snapshot a notebook's parameters name (a path, an id or "latest")."""
    return snapshot_mod.load(resolve_snapshot(snapshot, data_dir))


def snapshot_summary(snap: snapshot_mod.Snapshot) -> pd.DataFrame:
    """What the report is based on: one row per manifest fact and per table's row count.

    Returns:
        Columns ``item``, ``value`` (text).
    """
    rows = [
        ("snapshot", snap.id),
        ("taken at (UTC)", snap.manifest.get("taken_at", "?")),
        ("complete", str(snap.complete)),
    ]
    for key in (
        "tenant",
        "tenant_id",
        "tenant_label",
        "zoom_account_id",
        "kit_version",
        "redacted",
    ):
        if key in snap.manifest:
            rows.append((key.replace("_", " "), str(snap.manifest[key])))
    for name, frame in sorted(snap.tables.items()):
        rows.append((f"rows in {name}", f"{len(frame):,}"))
    return pd.DataFrame(rows, columns=["item", "value"])


def save_table(frame: pd.DataFrame, name: str, out_dir: str = "") -> None:
    """Write ``frame`` as CSV, XLSX and Parquet into ``<out_dir>/findings/`` and link them.

    Nested values are written as JSON text. Does nothing but show a note when ``out_dir`` is
    empty (an interactive session). XLSX is skipped above ``XLSX_MAX_ROWS`` rows.
    """
    from IPython.display import HTML, display

    from zoomaudit import tables

    if not out_dir:
        display(HTML(f"<p><em>{name}: {len(frame):,} rows (no out_dir, not written)</em></p>"))
        return
    folder = Path(out_dir) / FINDINGS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    flat = tables.displayable(frame)
    flat.to_csv(folder / f"{name}.csv", index=False)
    flat.to_parquet(folder / f"{name}.parquet", index=False)
    links = [f"{FINDINGS_DIR}/{name}.csv", f"{FINDINGS_DIR}/{name}.parquet"]
    if len(flat) <= XLSX_MAX_ROWS:
        _write_xlsx(flat, folder / f"{name}.xlsx")
        links.insert(1, f"{FINDINGS_DIR}/{name}.xlsx")
    anchors = " · ".join(
        f'<a href="{link}" download>{Path(link).suffix[1:].upper()}</a>' for link in links
    )
    display(
        HTML(
            f'<p class="zoomaudit-downloads">Download <strong>{name}</strong> '
            f"({len(frame):,} rows): {anchors}</p>"
        )
    )


def _write_xlsx(frame: pd.DataFrame, path: Path) -> None:
    data = frame.copy()
    for col in data.columns:  # Excel has no time zones
        if isinstance(data[col].dtype, pd.DatetimeTZDtype):
            data[col] = data[col].dt.tz_convert("UTC").dt.tz_localize(None)
    data.to_excel(path, index=False, sheet_name=path.stem[:31])


def glue(out_dir: str, notebook: str, headlines: dict) -> dict:
    """Record a notebook's headline numbers for the index page (``headlines/<notebook>.json``).

    Returns the headlines (so the cell also shows them).
    """
    clean = {str(k): _plain(v) for k, v in headlines.items()}
    if out_dir:
        folder = Path(out_dir) / HEADLINES_DIR
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{notebook}.json").write_text(json.dumps(clean, indent=1), encoding="utf-8")
    return clean


def counts(findings: pd.DataFrame, column: str = "category", *, skip=("in_sync",)) -> dict:
    """Headline numbers: rows per ``column`` value (largest first), without ``skip`` values."""
    if findings.empty or column not in findings.columns:
        return {}
    values = findings[column].astype("str")
    series = values[~values.isin(list(skip))].value_counts()
    return {str(k): int(v) for k, v in series.items()}


def pick_user(findings: pd.DataFrame, user: str = "") -> str:
    """``user`` when given, else an identifier of the first finding that is not ``in_sync``."""
    if user:
        return user
    if findings.empty:
        return ""
    rows = (
        findings[findings["category"].astype("str") != "in_sync"]
        if ("category" in findings.columns)
        else findings
    )
    for _, row in rows.iterrows():
        for key in ("user_principal_name", "entra_id", "zoom_user_name", "zoom_id"):
            value = row.get(key)
            if isinstance(value, str) and value:
                return value
    return ""


def failure_headlines(failed: pd.DataFrame) -> dict:
    """Headline numbers of ``provlogs.failures``: events, users, codes, most frequent code."""
    if failed.empty:
        return {"failed events": 0, "users affected": 0}
    codes = failed["error_code_normalized"].astype("str").value_counts()
    return {
        "failed events": len(failed),
        "users affected": int(failed["source_id"].nunique()),
        "error codes": len(codes),
        "most frequent code": str(codes.index[0]),
    }


def seat_stages(audit, snap: snapshot_mod.Snapshot) -> pd.DataFrame:
    """Licensed seats purchased -> assigned -> active -> reclaimable (a ``LicenceAudit``).

    purchased/assigned come from the base plan's usage (``plans/usage``), or count Licensed
    Zoom users when the account reports none; active = Licensed, active in Zoom and not
    ``licensed_inactive``; reclaimable = users in the audit's estimate.

    Returns:
        Columns stage, count.
    """
    seats = audit.seats
    base = seats[seats["plan_key"] == "plan_base"] if "plan_key" in seats.columns else seats
    zoom = snap.table("zoom_users")
    licensed = zoom[(zoom["type"] == 2) & zoom["status"].isin(["active", "pending"])]
    purchased = pd.to_numeric(base.get("purchased"), errors="coerce").sum() if len(base) else 0
    assigned = pd.to_numeric(base.get("assigned"), errors="coerce").sum() if len(base) else 0
    inactive = audit.findings.loc[audit.findings["category"] == "licensed_inactive", "zoom_id"]
    active = licensed[(licensed["status"] == "active") & ~licensed["zoom_id"].isin(inactive)]
    total = audit.estimate[audit.estimate["category"] == "total"]["users"]
    rows = [
        ("purchased", int(purchased) if purchased else len(licensed)),
        ("assigned", int(assigned) if assigned else len(licensed)),
        ("active", len(active)),
        ("reclaimable", int(total.iloc[0]) if len(total) else 0),
    ]
    return pd.DataFrame(rows, columns=["stage", "count"])


def licence_headlines(audit, stages: pd.DataFrame) -> dict:
    """Headline numbers of a licence audit: the seat stages and the yearly estimate."""
    out = {f"seats {k}": int(v) for k, v in zip(stages["stage"], stages["count"], strict=True)}
    total = audit.estimate[audit.estimate["category"] == "total"]
    if len(total) and pd.notna(total["per_year"].iloc[0]):
        out["reclaimable per year"] = (
            f"{total['per_year'].iloc[0]:,.0f} {total['currency'].iloc[0]}"
        )
    return out


def rollout_headlines(ready, progress: pd.DataFrame) -> dict:
    """Headline numbers of readiness and wave progress."""
    findings = ready.findings
    ready_ids = findings.loc[findings["category"] == "ready", "entra_id"].nunique()
    out = {
        "candidates": int(ready.candidates["entra_id"].nunique()),
        "ready": int(ready_ids),
        "gates failing": int((~ready.gates["ok"].fillna(False).astype(bool)).sum()),
    }
    if "wave_name" in progress.columns and len(progress):
        out["waves"] = len(progress)
        if "provisioned" in progress.columns:
            out["provisioned in waves"] = int(progress["provisioned"].sum())
    return out


def _plain(value: object) -> object:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, (int, str, bool)) or value is None:
        return value
    return str(value)


# ----------------------------------------------------------------- the runner
def list_notebooks(names: list[str] | None = None, folder: Path | None = None) -> list[Path]:
    """The report notebooks (``NN_*.ipynb``), all or those whose name starts with one of
    ``names`` (``10`` or ``10_reconcile_users`` or ``10_reconcile_users.ipynb``)."""
    available = sorted((folder or NOTEBOOKS_DIR).glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return available
    chosen = []
    for name in names:
        stem = name.removesuffix(".ipynb")
        hits = [
            p
            for p in available
            if p.stem == stem or p.stem.startswith(stem + "_") or p.stem.split("_", 1)[0] == stem
        ]
        if not hits:
            known = ", ".join(p.stem for p in available)
            raise ReportError(f"no notebook named {name!r}; available: {known}")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def run(
    snapshot: str | Path = "latest",
    *,
    data_dir: Path,
    reports_dir: Path,
    notebooks: list[str] | None = None,
    redact_key: str | None = None,
    secrets: list[str] | None = None,
    params: dict[str, object] | None = None,
    jobs: int = 1,
    notebooks_dir: Path | None = None,
) -> dict:
    """Run the report notebooks for one snapshot and publish ``reports/<snapshot_id>/``.

    Args:
        snapshot: a snapshot folder, an id under ``data_dir``, or "latest".
        data_dir: the folder of snapshots (also the history the trends notebook reads).
        reports_dir: where report folders go.
        notebooks: names to run (default: all).
        redact_key: pseudonymise names and addresses with this key (see ``zoomaudit.redact``);
            the folder is then ``<snapshot_id>-redacted``.
        secrets: secret values that must appear in no written file (checked before publishing).
        params: extra notebook parameters (only passed to notebooks that declare them).
        jobs: notebooks executed in parallel.
        notebooks_dir: where the notebooks are (tests use their own).

    Returns:
        The report summary also written to ``report.json`` (``status`` is "ok" or "failed").
    """
    nb_paths = list_notebooks(notebooks, Path(notebooks_dir or NOTEBOOKS_DIR))
    snap_path = resolve_snapshot(snapshot, data_dir)
    snap = _light(snap_path)  # the manifest only: the notebooks load the tables themselves
    report_id = snap.id + ("-redacted" if redact_key else "")
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    staging = reports_dir / f".{report_id}.partial-{int(time.time() * 1000)}"
    staging.mkdir()
    scratch = None
    try:
        if redact_key:
            from zoomaudit import redact

            scratch, snap_path, data_dir = redact.redacted_copies(
                snap_path, Path(data_dir), redact_key
            )
            # a parameter naming a person (explain_user) must name their pseudonym, too
            params = redact.redact_params(params or {}, redact_key)
            snap = _light(snap_path)
        with _kernel_environment():
            results = _execute_all(nb_paths, staging, snap_path, Path(data_dir), params, jobs)
        summary = _summary(snap, report_id, results, redacted=bool(redact_key))
        summary["findings"] = sorted(
            f"{FINDINGS_DIR}/{p.name}" for p in (staging / FINDINGS_DIR).glob("*.*")
        )
        (staging / "report.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
        (staging / "index.html").write_text(index_html(summary), encoding="utf-8")
        _check_no_secrets(staging, secrets or [])
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    final = reports_dir / report_id
    publish(staging, final)
    summary["path"] = str(final / "index.html")
    return summary


def _light(path: Path) -> snapshot_mod.Snapshot:
    """A snapshot's id and manifest without its tables; incomplete snapshots are refused."""
    manifest = _manifest(path)
    if not manifest.get("complete", False):
        raise SnapshotError(
            f"snapshot {path.name} is marked incomplete "
            f"({manifest.get('incomplete_reason', '?')}); pull again before reporting on it"
        )
    return snapshot_mod.Snapshot(id=manifest.get("snapshot_id", path.name), manifest=manifest)


def publish(staging: Path, final: Path) -> None:
    """Replace ``final`` by ``staging`` (the old folder is removed only once the new is there)."""
    old = final.with_name(final.name + f".old-{int(time.time())}")
    if final.exists():
        final.rename(old)
    staging.rename(final)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


# ----------------------------------------------------------------- execution
#: variables removed from the kernel's environment: notebooks read snapshots, never services
_SECRET_VARIABLES = (
    "CLIENT_SECRET",
    "GRAPH_TOKEN",
    "ZOOM_CLIENT_SECRET",
    "ZOOM_TOKEN",
    "REDACT_KEY",
    "CLIENT_CERTIFICATE",
)


class _kernel_environment:
    """Remove secret ``ZOOMAUDIT_*`` variables while kernels start; restore them afterwards."""

    def __enter__(self) -> None:
        import os

        self._saved = {}
        for name in [
            *(f"ZOOMAUDIT_{v}" for v in _SECRET_VARIABLES),
            "ZOOMAUDIT_NO_KEYRING",
            "PAPERMILL_EXECUTION",
            "PYDEVD_DISABLE_FILE_VALIDATION",
        ]:
            self._saved[name] = os.environ.pop(name, None)
        os.environ.update(
            ZOOMAUDIT_NO_KEYRING="1", PAPERMILL_EXECUTION="1", PYDEVD_DISABLE_FILE_VALIDATION="1"
        )
        _ensure_kernel()

    def __exit__(self, *exc: object) -> None:
        import os

        for name, value in self._saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


def _ensure_kernel() -> None:
    """Make sure the ``python3`` kernel spec exists (installing it into this venv if not).

    Jupyter's own ``python3`` spec starts ``python``, which jupyter_client maps to the running
    interpreter, so kernels use this venv.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        import sys

        from ipykernel.kernelspec import install

        install(prefix=sys.prefix)


def _execute_all(
    nb_paths: list[Path], out: Path, snap_path: Path, data_dir: Path, params: dict, jobs: int
) -> list[dict]:
    args = [(p, out, snap_path, data_dir, params) for p in nb_paths]
    if jobs <= 1 or len(args) <= 1:
        return [_execute_one(*a) for a in args]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda a: _execute_one(*a), args))


def notebook_parameters(nb_path: Path) -> dict[str, dict]:
    """The parameters a notebook declares (papermill's inspection: name, type, default, help)."""
    import papermill

    return papermill.inspect_notebook(str(nb_path))


def _execute_one(nb_path: Path, out: Path, snap_path: Path, data_dir: Path, params: dict) -> dict:
    import papermill

    declared = notebook_parameters(nb_path)
    values = dict(params or {})  # the runner's own three parameters win over -p values
    values |= {
        "snapshot": str(snap_path.resolve()),
        "data_dir": str(data_dir.resolve()),
        # relative to the kernel's working directory (the report folder), so the executed
        # notebook, re-run from its published folder, writes beside itself
        "out_dir": ".",
    }
    values = {k: v for k, v in values.items() if k in declared}
    executed = out / nb_path.name
    result = {
        "notebook": nb_path.stem,
        "title": notebook_title(nb_path),
        "status": "ok",
        "error": None,
        "parameters": sorted(values),
    }
    began = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(nb_path),
            str(executed),
            parameters=values,
            kernel_name="python3",
            progress_bar=False,
            # the kernel's working directory, set per kernel: papermill's own ``cwd=`` does a
            # process-wide chdir, which races when notebooks run in parallel threads
            resources={"metadata": {"path": str(out.resolve())}},
            log_output=False,
            start_timeout=120,
            execution_timeout=CELL_TIMEOUT_S,  # a hung cell fails its notebook, not the schedule
            request_save_on_cell_execute=False,
            # ipykernel 7 logs its local TCP transport and the shutdown interrupt on stderr; cell
            # errors still reach the notebook and the report, so keep scheduled logs clean
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
    except papermill.PapermillExecutionError as exc:
        result.update(status="failed", error=f"{exc.ename}: {exc.evalue}"[:500])
    except Exception as exc:  # kernel died, notebook unreadable, ...
        result.update(status="failed", error=f"{type(exc).__name__}: {exc}"[:500])
    result["execute_s"] = round(time.perf_counter() - began, 2)
    result.update(_cell_seconds(executed, result["execute_s"]))
    began = time.perf_counter()
    if executed.is_file():
        try:
            export_html(executed, executed.with_suffix(".html"))
        except Exception as exc:
            result.update(status="failed", error=f"HTML export: {type(exc).__name__}: {exc}")
    if result["error"]:
        from zoomaudit.secrets import scrub

        result["error"] = scrub(result["error"])
    result["export_s"] = round(time.perf_counter() - began, 2)
    headline = out / HEADLINES_DIR / f"{nb_path.stem}.json"
    result["headlines"] = json.loads(headline.read_text()) if headline.is_file() else {}
    log.info("%s: %s in %.1f s", nb_path.stem, result["status"], result["execute_s"])
    return result


def _cell_seconds(executed: Path, total: float) -> dict:
    """Split execution time into kernel start (+ papermill overhead) and the cells' own time."""
    if not executed.is_file():
        return {"analysis_s": None, "kernel_start_s": None}
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    cells = sum(c.get("metadata", {}).get("papermill", {}).get("duration") or 0 for c in nb.cells)
    return {"analysis_s": round(cells, 2), "kernel_start_s": round(max(total - cells, 0), 2)}


def _summary(
    snap: snapshot_mod.Snapshot, report_id: str, results: list[dict], *, redacted: bool
) -> dict:
    from datetime import UTC, datetime

    from zoomaudit import __version__

    manifest = {
        k: v
        for k, v in snap.manifest.items()
        if isinstance(v, (str, int, float, bool)) or v is None
    }
    # which tenant, what was not available (e.g. sign-in activity without Entra P1), which
    # sources and options: one level flattened, for the index page
    for key in ("tenant", "unavailable", "options"):
        value = snap.manifest.get(key)
        if isinstance(value, dict):
            for sub, item in value.items():
                if isinstance(item, (str, int, float, bool)) or item is None:
                    manifest[f"{key}.{sub}"] = item
                elif isinstance(item, (list, dict)):
                    manifest[f"{key}.{sub}"] = json.dumps(item, ensure_ascii=False)
    if isinstance(snap.manifest.get("sources"), list):
        manifest["sources"] = ", ".join(map(str, snap.manifest["sources"]))
    if isinstance(snap.manifest.get("counts"), dict):
        manifest["counts"] = snap.manifest["counts"]
    failed = [r["notebook"] for r in results if r["status"] != "ok"]
    return {
        "report_id": report_id,
        "snapshot_id": snap.id,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "kit_version": __version__,
        "redacted": redacted,
        "status": "failed" if failed else "ok",
        "failed": failed,
        "manifest": manifest,
        "notebooks": results,
    }


def _check_no_secrets(folder: Path, secrets: list[str]) -> None:
    """Refuse to publish a report folder in which any known secret value appears."""
    needles = [s.encode() for s in secrets if s and len(s) >= 4]
    if not needles:
        return
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in (".ipynb", ".html", ".json", ".csv", ".txt"):
            data = path.read_bytes()
            if any(n in data for n in needles):
                raise ReportError(
                    f"a secret value appeared in {path.name}; the report was not published"
                )
